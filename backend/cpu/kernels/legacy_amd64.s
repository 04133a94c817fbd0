//go:build amd64 && !purego

#include "textflag.h"
#include "macros_amd64.h"

// BCAST32 fills every byte of Y with the byte c (X is Y's low half).
#define BCAST32(c, X, Y) \
	MOVL         c, AX; \
	VMOVD        AX, X; \
	VPBROADCASTD X, Y

// Q8_0 activation block (34 bytes): d f16, 32 int8 quants. The activation side of a
// block is loaded once per block: Y1 = quants, Y12 = d broadcast as float32.
#define LOADX(off) \
	VMOVDQU      off+2(DI), Y1; \
	VPBROADCASTW off(DI), X12;  \
	VCVTPH2PS    X12, Y12

// Q4_0 block (18 bytes): d f16, 16 bytes of nibbles (element j low, j+16 high).
// The nibbles are used unsigned (0..15) against the signed activations, and
// 8*sum(activations), computed once per block in Y3 (Y13 = bytes of 8), is subtracted:
// sum((q-8)*y) = sum(q*y) - sum(8*y). Y15 = bytes of 0x0f, Y14 = words of 1.
#define Q4_0_ROW(R, off, acc) \
	VMOVDQU      off+2(R), X0;     \
	VPSRLW       $4, X0, X2;       \
	VINSERTI128  $1, X2, Y0, Y0;   \
	VPAND        Y15, Y0, Y0;      \
	VPMADDUBSW   Y1, Y0, Y0;       \
	VPSUBW       Y3, Y0, Y0;       \
	VPMADDWD     Y14, Y0, Y0;      \
	VCVTDQ2PS    Y0, Y0;           \
	VPBROADCASTW off(R), X2;       \
	VCVTPH2PS    X2, Y2;           \
	VMULPS       Y12, Y2, Y2;      \
	VFMADD231PS  Y2, Y0, acc

#define Q4_0_CONSTS \
	BCAST32($0x0f0f0f0f, X15, Y15); \
	BCAST32($0x00010001, X14, Y14); \
	BCAST32($0x08080808, X13, Y13)

// func dotQ4_0AVX2(w, x *byte, nBlocks int) float32
// ggml_vec_dot_q4_0_q8_0: one 8-lane accumulator, block after block, then hsum.
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nBlocks+16(FP), CX
	Q4_0_CONSTS
	VXORPS Y8, Y8, Y8
	TESTQ  CX, CX
	JEQ    q40done

q40loop:
	LOADX(0)
	VPMADDUBSW Y1, Y13, Y3
	Q4_0_ROW(SI, 0, Y8)
	ADDQ       $18, SI
	ADDQ       $34, DI
	DECQ       CX
	JNZ        q40loop

q40done:
	HSUM8(Y8, X8, X0)
	VMOVSS     X8, ret+24(FP)
	VZEROUPPER
	RET

// func q4_0x4AVX2(dst *float32, w *byte, rowStride int, x *byte, nBlocks int)
TEXT ·q4_0x4AVX2(SB), NOSPLIT, $0-40
	MOVQ   w+8(FP), SI
	MOVQ   rowStride+16(FP), DX
	MOVQ   x+24(FP), DI
	MOVQ   nBlocks+32(FP), CX
	LEAQ   (SI)(DX*1), R8
	LEAQ   (R8)(DX*1), R9
	LEAQ   (R9)(DX*1), R10
	SHLQ   $2, DX
	ADDQ   SI, DX // prefetch pointer: the start of the next tile of four rows
	Q4_0_CONSTS
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	TESTQ  CX, CX
	JEQ    q40x4done

q40x4loop:
	// The next tile, front to back, 72 bytes (4 rows x 18) per block (see
	// gemvQ4_0x8AVX2).
	PREFETCHT0 (DX)
	PREFETCHT0 64(DX)
	ADDQ       $72, DX
	LOADX(0)
	VPMADDUBSW Y1, Y13, Y3
	Q4_0_ROW(SI, 0, Y8)
	Q4_0_ROW(R8, 0, Y9)
	Q4_0_ROW(R9, 0, Y10)
	Q4_0_ROW(R10, 0, Y11)
	ADDQ       $18, SI
	ADDQ       $18, R8
	ADDQ       $18, R9
	ADDQ       $18, R10
	ADDQ       $34, DI
	DECQ       CX
	JNZ        q40x4loop

q40x4done:
	MOVQ       dst+0(FP), AX
	HSUM8(Y8, X8, X0)
	HSUM8(Y9, X9, X0)
	HSUM8(Y10, X10, X0)
	HSUM8(Y11, X11, X0)
	VMOVSS     X8, (AX)
	VMOVSS     X9, 4(AX)
	VMOVSS     X10, 8(AX)
	VMOVSS     X11, 12(AX)
	VZEROUPPER
	RET

// Q8_0 block (34 bytes): d f16, 32 int8. vpmaddubsw wants one unsigned operand: |w| and
// y with w's sign. Quants of -128 are outside the contract (ggml's quantizers never write
// them).
#define Q8_0_ROW(R, off, acc) \
	VMOVDQU      off+2(R), Y0;  \
	VPSIGNB      Y0, Y0, Y2;    \
	VPSIGNB      Y0, Y1, Y0;    \
	VPMADDUBSW   Y0, Y2, Y0;    \
	VPMADDWD     Y14, Y0, Y0;   \
	VCVTDQ2PS    Y0, Y0;        \
	VPBROADCASTW off(R), X2;    \
	VCVTPH2PS    X2, Y2;        \
	VMULPS       Y12, Y2, Y2;   \
	VFMADD231PS  Y2, Y0, acc

// func dotQ8_0AVX2(w, x *byte, nBlocks int) float32
// ggml_vec_dot_q8_0_q8_0 (and tinyBLAS): one 8-lane accumulator, then hsum.
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nBlocks+16(FP), CX
	BCAST32($0x00010001, X14, Y14)
	VXORPS Y8, Y8, Y8
	TESTQ  CX, CX
	JEQ    q80done

q80loop:
	LOADX(0)
	Q8_0_ROW(SI, 0, Y8)
	ADDQ   $34, SI
	ADDQ   $34, DI
	DECQ   CX
	JNZ    q80loop

q80done:
	HSUM8(Y8, X8, X0)
	VMOVSS     X8, ret+24(FP)
	VZEROUPPER
	RET

// func q8_0x4AVX2(dst *float32, w *byte, rowStride int, x *byte, nBlocks int)
TEXT ·q8_0x4AVX2(SB), NOSPLIT, $0-40
	MOVQ   w+8(FP), SI
	MOVQ   rowStride+16(FP), DX
	MOVQ   x+24(FP), DI
	MOVQ   nBlocks+32(FP), CX
	LEAQ   (SI)(DX*1), R8
	LEAQ   (R8)(DX*1), R9
	LEAQ   (R9)(DX*1), R10
	SHLQ   $2, DX
	ADDQ   SI, DX // prefetch pointer: the start of the next tile of four rows
	BCAST32($0x00010001, X14, Y14)
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	TESTQ  CX, CX
	JEQ    q80x4done

q80x4loop:
	// The next tile, front to back, 136 bytes (4 rows x 34) per block (see
	// gemvQ4_0x8AVX2).
	PREFETCHT0 (DX)
	PREFETCHT0 64(DX)
	PREFETCHT0 128(DX)
	ADDQ       $136, DX
	LOADX(0)
	Q8_0_ROW(SI, 0, Y8)
	Q8_0_ROW(R8, 0, Y9)
	Q8_0_ROW(R9, 0, Y10)
	Q8_0_ROW(R10, 0, Y11)
	ADDQ   $34, SI
	ADDQ   $34, R8
	ADDQ   $34, R9
	ADDQ   $34, R10
	ADDQ   $34, DI
	DECQ   CX
	JNZ    q80x4loop

q80x4done:
	MOVQ       dst+0(FP), AX
	HSUM8(Y8, X8, X0)
	HSUM8(Y9, X9, X0)
	HSUM8(Y10, X10, X0)
	HSUM8(Y11, X11, X0)
	VMOVSS     X8, (AX)
	VMOVSS     X9, 4(AX)
	VMOVSS     X10, 8(AX)
	VMOVSS     X11, 12(AX)
	VZEROUPPER
	RET

// The repacked-Q4_0 path (ggml_gemv_q4_0_8x8_q8_0): each row's block dot product is
// summed exactly as an integer, converted to float32 and accumulated with one scalar
// fused multiply-add by dw*dx, block after block.
//
// Q4_0_IDOT leaves in Y0 the eight int32 partial sums of one row's block at R+off
// against the activation block loaded by LOADX (Y1) with Y3 = 8*y pair sums.
#define Q4_0_IDOT(R, off, V) \
	VMOVDQU      off+2(R), X0;     \
	VPSRLW       $4, X0, X2;       \
	VINSERTI128  $1, X2, Y0, Y0;   \
	VPAND        Y15, Y0, Y0;      \
	VPMADDUBSW   Y1, Y0, Y0;       \
	VPSUBW       Y3, Y0, Y0;       \
	VPMADDWD     Y14, Y0, V

// func gemvQ4_0AVX2(w, x *byte, nBlocks int) float32
TEXT ·gemvQ4_0AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nBlocks+16(FP), CX
	Q4_0_CONSTS
	VXORPS X8, X8, X8
	TESTQ  CX, CX
	JEQ    g40done

g40loop:
	VMOVDQU      2(DI), Y1
	VPMADDUBSW   Y1, Y13, Y3
	Q4_0_IDOT(SI, 0, Y4)
	VEXTRACTI128 $1, Y4, X2
	VPADDD       X2, X4, X4
	VPSHUFD      $0x4e, X4, X2
	VPADDD       X2, X4, X4
	VPSHUFD      $0xb1, X4, X2
	VPADDD       X2, X4, X4
	VCVTDQ2PS    X4, X4
	MOVWLZX      (SI), AX
	VMOVD        AX, X5
	VCVTPH2PS    X5, X5
	MOVWLZX      (DI), BX
	VMOVD        BX, X6
	VCVTPH2PS    X6, X6
	VMULSS       X6, X5, X5
	VFMADD231SS  X5, X4, X8
	ADDQ         $18, SI
	ADDQ         $34, DI
	DECQ         CX
	JNZ          g40loop

g40done:
	VMOVSS     X8, ret+24(FP)
	VZEROUPPER
	RET

// func gemvQ4_0x4AVX2(dst *float32, w *byte, rowStride int, x *byte, nBlocks int)
// Four rows of gemvQ4_0AVX2 at once: lane r of X8 is row r's accumulator.
TEXT ·gemvQ4_0x4AVX2(SB), NOSPLIT, $0-40
	MOVQ   w+8(FP), SI
	MOVQ   rowStride+16(FP), DX
	MOVQ   x+24(FP), DI
	MOVQ   nBlocks+32(FP), CX
	LEAQ   (SI)(DX*1), R8
	LEAQ   (R8)(DX*1), R9
	LEAQ   (R9)(DX*1), R10
	SHLQ   $2, DX
	ADDQ   SI, DX // prefetch pointer: the start of the next tile of four rows
	Q4_0_CONSTS
	VXORPS X8, X8, X8
	TESTQ  CX, CX
	JEQ    g40x4done

g40x4loop:
	// The next tile, front to back, 72 bytes (4 rows x 18) per block (see
	// gemvQ4_0x8AVX2).
	PREFETCHT0   (DX)
	PREFETCHT0   64(DX)
	ADDQ         $72, DX
	VMOVDQU      2(DI), Y1
	VPMADDUBSW   Y1, Y13, Y3
	Q4_0_IDOT(SI, 0, Y4)
	Q4_0_IDOT(R8, 0, Y5)
	Q4_0_IDOT(R9, 0, Y6)
	Q4_0_IDOT(R10, 0, Y7)
	VPHADDD      Y5, Y4, Y4
	VPHADDD      Y7, Y6, Y6
	VPHADDD      Y6, Y4, Y4
	VEXTRACTI128 $1, Y4, X2
	VPADDD       X2, X4, X4
	VCVTDQ2PS    X4, X4

	// dw of the four rows, times dx.
	MOVWLZX      (SI), AX
	VMOVD        AX, X5
	VPINSRW      $1, (R8), X5, X5
	VPINSRW      $2, (R9), X5, X5
	VPINSRW      $3, (R10), X5, X5
	VCVTPH2PS    X5, X5
	VPBROADCASTW (DI), X6
	VCVTPH2PS    X6, X6
	VMULPS       X6, X5, X5
	VFMADD231PS  X5, X4, X8
	ADDQ         $18, SI
	ADDQ         $18, R8
	ADDQ         $18, R9
	ADDQ         $18, R10
	ADDQ         $34, DI
	DECQ         CX
	JNZ          g40x4loop

g40x4done:
	MOVQ    dst+0(FP), AX
	VMOVUPS X8, (AX)
	VZEROUPPER
	RET


// Q4_0_PAIR2 leaves in V the int32 partial sums of two rows' blocks at Ra and Rb: lanes
// 0..3 row a's, 4..7 row b's. Both rows are loaded into one register, so each 256-bit
// instruction does two rows' work: the low nibbles (elements 0..15) meet Y8 = the
// activation's elements 0..15 in both halves, the high nibbles (16..31) meet Y9 =
// elements 16..31; the int16 sums stay below 2^14, and Y10 = 8*y over the same pairs.
#define Q4_0_PAIR2(Ra, Rb, V) \
	VMOVDQU     2(Ra), X0;         \
	VINSERTI128 $1, 2(Rb), Y0, Y0; \
	VPAND       Y15, Y0, Y1;       \
	VPSRLW      $4, Y0, Y0;        \
	VPAND       Y15, Y0, Y0;       \
	VPMADDUBSW  Y8, Y1, Y1;        \
	VPMADDUBSW  Y9, Y0, Y0;        \
	VPADDW      Y0, Y1, Y1;        \
	VPSUBW      Y10, Y1, Y1;       \
	VPMADDWD    Y14, Y1, V

// func gemvQ4_0x8AVX2(dst *float32, w *byte, rowStride int, x *byte, nBlocks int)
// Eight rows of gemvQ4_0AVX2 at once. Three vphaddd reduce the four two-row vectors to
// one register whose lanes hold rows 0,2,4,6,1,3,5,7 (the scales are gathered in the same
// order), each lane its row's block sum; the lanes go back in order when stored.
TEXT ·gemvQ4_0x8AVX2(SB), NOSPLIT, $0-40
	MOVQ   w+8(FP), SI
	MOVQ   rowStride+16(FP), DX
	MOVQ   x+24(FP), DI
	MOVQ   nBlocks+32(FP), CX
	LEAQ   (SI)(DX*1), R8
	LEAQ   (R8)(DX*1), R9
	LEAQ   (R9)(DX*1), R10
	LEAQ   (R10)(DX*1), R11
	LEAQ   (R11)(DX*1), R12
	LEAQ   (R12)(DX*1), R13
	LEAQ   (R13)(DX*1), BX
	SHLQ   $3, DX
	ADDQ   SI, DX // prefetch pointer: the start of the next tile of eight rows
	Q4_0_CONSTS
	VXORPS Y12, Y12, Y12
	TESTQ  CX, CX
	JEQ    g40x8done

g40x8loop:
	// The next tile, front to back, 144 bytes (8 rows x 18) per block: one sequential
	// stream, which the eight rows read in parallel are not to the hardware prefetcher.
	PREFETCHT0     (DX)
	PREFETCHT0     64(DX)
	PREFETCHT0     128(DX)
	ADDQ           $144, DX
	VBROADCASTI128 2(DI), Y8
	VBROADCASTI128 18(DI), Y9
	VPMADDUBSW     Y8, Y13, Y10
	VPMADDUBSW     Y9, Y13, Y11
	VPADDW         Y11, Y10, Y10
	Q4_0_PAIR2(SI, R8, Y2)
	Q4_0_PAIR2(R9, R10, Y3)
	Q4_0_PAIR2(R11, R12, Y4)
	Q4_0_PAIR2(R13, BX, Y5)
	VPHADDD        Y3, Y2, Y2
	VPHADDD        Y5, Y4, Y4
	VPHADDD        Y4, Y2, Y2
	VCVTDQ2PS      Y2, Y2

	// dw of rows 0,2,4,6,1,3,5,7, times dx.
	MOVWLZX      (SI), AX
	VMOVD        AX, X6
	VPINSRW      $1, (R9), X6, X6
	VPINSRW      $2, (R11), X6, X6
	VPINSRW      $3, (R13), X6, X6
	VPINSRW      $4, (R8), X6, X6
	VPINSRW      $5, (R10), X6, X6
	VPINSRW      $6, (R12), X6, X6
	VPINSRW      $7, (BX), X6, X6
	VCVTPH2PS    X6, Y6
	VPBROADCASTW (DI), X7
	VCVTPH2PS    X7, Y7
	VMULPS       Y7, Y6, Y6
	VFMADD231PS  Y6, Y2, Y12
	ADDQ         $18, SI
	ADDQ         $18, R8
	ADDQ         $18, R9
	ADDQ         $18, R10
	ADDQ         $18, R11
	ADDQ         $18, R12
	ADDQ         $18, R13
	ADDQ         $18, BX
	ADDQ         $34, DI
	DECQ         CX
	JNZ          g40x8loop

g40x8done:
	MOVQ         dst+0(FP), AX
	VEXTRACTF128 $1, Y12, X1
	VUNPCKLPS    X1, X12, X0
	VUNPCKHPS    X1, X12, X2
	VMOVUPS      X0, (AX)
	VMOVUPS      X2, 16(AX)
	VZEROUPPER
	RET

// Q8_0_ROWX2 is Q8_0_ROW for weight row r at R+DX against two activation blocks (Y8, Y9 =
// quants; Y15 = words of 1): |w| is shared, and each output gets exactly Q8_0_ROW's steps
// (same int32 lanes, then one fused multiply-add by dw*dx into its own accumulator). The
// eight dw*dx of a block are computed together beforehand and stored at 0(SP) (act 0,
// rows 0..3) and 16(SP) (act 1); broadcasting one from memory is a load, no arithmetic.
// Y10, Y13, Y14 are scratch.
#define Q8_0_ROWX2(R, r, accA, accB) \
	VMOVDQU      2(R)(DX*1), Y10;     \
	VPSIGNB      Y10, Y10, Y13;       \
	VPSIGNB      Y10, Y8, Y14;        \
	VPSIGNB      Y10, Y9, Y10;        \
	VPMADDUBSW   Y14, Y13, Y14;       \
	VPMADDUBSW   Y10, Y13, Y10;       \
	VPMADDWD     Y15, Y14, Y14;       \
	VPMADDWD     Y15, Y10, Y10;       \
	VCVTDQ2PS    Y14, Y14;            \
	VCVTDQ2PS    Y10, Y10;            \
	VBROADCASTSS (4*r)(SP), Y13;      \
	VFMADD231PS  Y13, Y14, accA;      \
	VBROADCASTSS (16+4*r)(SP), Y13;   \
	VFMADD231PS  Y13, Y10, accB

// func tinyQ8_0x4x2AVX2(dst *float32, dstStride int, w *byte, rowStride int, x *byte, xStride int, nBlocks int)
// tinyBLAS's Q8_0 dot product (dotQ8_0AVX2's steps) for four weight rows by two
// activation rows: each of the eight outputs has its own 8-lane accumulator, block after
// block, then hsum. dst[0..3] are activation row 0's outputs, dst[dstStride..+3] row 1's.
TEXT ·tinyQ8_0x4x2AVX2(SB), NOSPLIT, $32-56
	MOVQ   w+16(FP), SI
	MOVQ   rowStride+24(FP), BX
	MOVQ   x+32(FP), DI
	MOVQ   xStride+40(FP), R11
	MOVQ   nBlocks+48(FP), CX
	LEAQ   (SI)(BX*1), R8
	LEAQ   (R8)(BX*1), R9
	LEAQ   (R9)(BX*1), R10
	ADDQ   DI, R11
	XORQ   DX, DX // byte offset into every row, weights and activations alike
	BCAST32($0x00010001, X15, Y15)
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	TESTQ  CX, CX
	JEQ    tq80x4x2done

tq80x4x2loop:
	// The four rows' scales as one vector of f16 (row r in word r), to float32, times
	// each activation's scale: lanes 0..3 dw[r]*dx0, lanes 4..7 dw[r]*dx1.
	MOVWQZX      (SI)(DX*1), AX
	MOVWQZX      (R8)(DX*1), BX
	SHLQ         $16, BX
	ORQ          BX, AX
	MOVWQZX      (R9)(DX*1), BX
	SHLQ         $32, BX
	ORQ          BX, AX
	MOVWQZX      (R10)(DX*1), BX
	SHLQ         $48, BX
	ORQ          BX, AX
	VMOVQ        AX, X10
	VCVTPH2PS    X10, X10
	VPBROADCASTW (DI)(DX*1), X11
	VCVTPH2PS    X11, X11
	VPBROADCASTW (R11)(DX*1), X12
	VCVTPH2PS    X12, X12
	VMULPS       X11, X10, X11
	VMULPS       X12, X10, X12
	VINSERTF128  $1, X12, Y11, Y11
	VMOVUPS      Y11, (SP)
	VMOVDQU      2(DI)(DX*1), Y8
	VMOVDQU      2(R11)(DX*1), Y9
	Q8_0_ROWX2(SI, 0, Y0, Y4)
	Q8_0_ROWX2(R8, 1, Y1, Y5)
	Q8_0_ROWX2(R9, 2, Y2, Y6)
	Q8_0_ROWX2(R10, 3, Y3, Y7)
	ADDQ         $34, DX
	DECQ         CX
	JNZ          tq80x4x2loop

tq80x4x2done:
	STORE4X2
	VZEROUPPER
	RET
