//go:build amd64 && !purego

#include "textflag.h"
#include "macros_amd64.h"

#define BCAST32(c, X, Y) \
	MOVL         c, AX; \
	VMOVD        AX, X; \
	VPBROADCASTD X, Y

// Q4_K block (144 bytes): d f16, dmin f16, scales[12] (eight 6-bit scales and mins),
// qs[128]: 64-element groups of 32 bytes, low nibbles the first 32 elements, high
// nibbles the next 32. Q8_K block (292 bytes): d f32, qs[256] int8, bsums[16] int16.
//
// Q4_K_CHUNK handles elements 64k..64k+63: wo = offset of its 32 bytes of nibbles, xo =
// offset of its 64 activation quants, so/so2 = stack offsets of its two int16 scales.
// Y4 accumulates scale*sum(q*y) as eight int32.
#define Q4_K_CHUNK(wo, xo, xo2, so, so2) \
	VMOVDQU      wo(SI), Y0;        \
	VPSRLW       $4, Y0, Y6;        \
	VPAND        Y15, Y0, Y0;       \
	VPAND        Y15, Y6, Y6;       \
	VPMADDUBSW   xo(DI), Y0, Y0;    \
	VPMADDUBSW   xo2(DI), Y6, Y6;   \
	VPBROADCASTW so(SP), Y7;        \
	VPMADDWD     Y7, Y0, Y0;        \
	VPBROADCASTW so2(SP), Y7;       \
	VPMADDWD     Y7, Y6, Y6;        \
	VPADDD       Y0, Y4, Y4;        \
	VPADDD       Y6, Y4, Y4

// func dotQ4_KAVX2(w, x *byte, nBlocks int) float32
TEXT ·dotQ4_KAVX2(SB), NOSPLIT, $16-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nBlocks+16(FP), CX
	BCAST32($0x0f0f0f0f, X15, Y15)
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9 // the mins' 4-lane accumulator (X9)
	TESTQ  CX, CX
	JEQ    q4kdone

q4kloop:
	// Unpack the 6-bit scales (to 0(SP) as eight int16) and mins (to X1 as bytes).
	MOVL 4(SI), AX
	MOVL 8(SI), BX
	MOVL 12(SI), DX
	MOVL DX, R8
	SHRL $4, R8
	ANDL $0x0f0f0f0f, R8
	MOVL BX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, R8                 // mins 4..7
	MOVL DX, R10
	ANDL $0x0f0f0f0f, R10
	MOVL AX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, R10                // scales 4..7
	ANDL $0x3f3f3f3f, BX        // mins 0..3
	ANDL $0x3f3f3f3f, AX        // scales 0..3
	SHLQ $32, R10
	ORQ  R10, AX
	SHLQ $32, R8
	ORQ  R8, BX
	VMOVQ      AX, X0
	VPMOVZXBW  X0, X0
	VMOVDQU    X0, 0(SP)

	// The mins meet the activations' sums of 16: min_j * (bsum_2j + bsum_2j+1).
	VMOVQ      BX, X1
	VPUNPCKLBW X1, X1, X1
	VPMOVZXBW  X1, Y1
	VPMADDWD   260(DI), Y1, Y1
	VEXTRACTI128 $1, Y1, X6
	VPHADDD    X6, X1, X1       // ggml's four lanes: mp[2m] + mp[2m+1]
	VCVTDQ2PS  X1, X1

	VBROADCASTSS 0(DI), Y5
	VPBROADCASTW 0(SI), X2
	VCVTPH2PS    X2, Y2
	VMULPS       Y5, Y2, Y2     // d * yd
	VPBROADCASTW 2(SI), X3
	VCVTPH2PS    X3, Y3
	VMULPS       X5, X3, X3     // dmin * yd
	VFNMADD231PS X3, X1, X9     // acc_m += -(dmin*yd) * mins

	VPXOR Y4, Y4, Y4
	Q4_K_CHUNK(16, 4, 36, 0, 2)
	Q4_K_CHUNK(48, 68, 100, 4, 6)
	Q4_K_CHUNK(80, 132, 164, 8, 10)
	Q4_K_CHUNK(112, 196, 228, 12, 14)
	VCVTDQ2PS   Y4, Y4
	VFMADD231PS Y2, Y4, Y8

	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q4kloop

q4kdone:
	HSUM8(Y8, X8, X0)
	VMOVHLPS   X9, X9, X0
	VADDPS     X0, X9, X9
	VMOVSHDUP  X9, X0
	VADDSS     X0, X9, X9
	VADDSS     X9, X8, X8
	VMOVSS     X8, ret+24(FP)
	VZEROUPPER
	RET

// q6kShuf<>+32j picks, from a ymm holding the same eight int16 scales in both lanes,
// scale 2j for the low lane and scale 2j+1 for the high lane: the scales of the 32
// elements 32j..32j+31 of a 128-element half.
DATA q6kShuf<>+0(SB)/8, $0x0100010001000100
DATA q6kShuf<>+8(SB)/8, $0x0100010001000100
DATA q6kShuf<>+16(SB)/8, $0x0302030203020302
DATA q6kShuf<>+24(SB)/8, $0x0302030203020302
DATA q6kShuf<>+32(SB)/8, $0x0504050405040504
DATA q6kShuf<>+40(SB)/8, $0x0504050405040504
DATA q6kShuf<>+48(SB)/8, $0x0706070607060706
DATA q6kShuf<>+56(SB)/8, $0x0706070607060706
DATA q6kShuf<>+64(SB)/8, $0x0908090809080908
DATA q6kShuf<>+72(SB)/8, $0x0908090809080908
DATA q6kShuf<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q6kShuf<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q6kShuf<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q6kShuf<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q6kShuf<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q6kShuf<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL q6kShuf<>(SB), RODATA|NOPTR, $128

// Q6_K block (210 bytes): ql[128], qh[64], scales[16] int8, d f16. Each 128-element
// half h reads ql[64h:64h+64] and qh[32h:32h+32]; element 128h+32j+l is
// (ql nibble) | (2 bits of qh[l] at 2j) << 4, minus 32. The quants are used unsigned
// (0..63) and 32*y is subtracted from each pair sum before the scales, as ggml does, so
// every int32 lane holds what ggml's holds.
//
// Q6_K_VEC finishes one 32-element vector: V holds its 6-bit quants, xo is the offset of
// its activations, S the scales source (Y10 or Y11) and sh the shuffle for it.
#define Q6_K_VEC(V, xo, S, sh) \
	VPMADDUBSW xo(DI), V, V;            \
	VPMADDUBSW xo(DI), Y13, Y12;        \
	VPSUBW     Y12, V, V;               \
	VPSHUFB    q6kShuf<>+sh(SB), S, Y7; \
	VPMADDWD   Y7, V, V;                \
	VPADDD     V, Y4, Y4

// Q6_K_HALF does elements 128h..128h+127: qlo = 64h, qho = 128+32h, xo = 4+128h.
#define Q6_K_HALF(qlo, qlo2, qho, x0, x1, x2, x3, S) \
	VMOVDQU qlo(SI), Y2;       \
	VMOVDQU qlo2(SI), Y3;      \
	VMOVDQU qho(SI), Y5;       \
	VPAND   Y15, Y2, Y6;       \
	VPSLLW  $4, Y5, Y7;        \
	VPAND   Y14, Y7, Y7;       \
	VPOR    Y7, Y6, Y6;        \
	Q6_K_VEC(Y6, x0, S, 0);    \
	VPAND   Y15, Y3, Y6;       \
	VPSLLW  $2, Y5, Y7;        \
	VPAND   Y14, Y7, Y7;       \
	VPOR    Y7, Y6, Y6;        \
	Q6_K_VEC(Y6, x1, S, 32);   \
	VPSRLW  $4, Y2, Y6;        \
	VPAND   Y15, Y6, Y6;       \
	VPAND   Y14, Y5, Y7;       \
	VPOR    Y7, Y6, Y6;        \
	Q6_K_VEC(Y6, x2, S, 64);   \
	VPSRLW  $4, Y3, Y6;        \
	VPAND   Y15, Y6, Y6;       \
	VPSRLW  $2, Y5, Y7;        \
	VPAND   Y14, Y7, Y7;       \
	VPOR    Y7, Y6, Y6;        \
	Q6_K_VEC(Y6, x3, S, 96)

// func dotQ6_KAVX2(w, x *byte, nBlocks int) float32
TEXT ·dotQ6_KAVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nBlocks+16(FP), CX
	BCAST32($0x0f0f0f0f, X15, Y15)
	BCAST32($0x30303030, X14, Y14)
	BCAST32($0x20202020, X13, Y13)
	VXORPS Y8, Y8, Y8
	TESTQ  CX, CX
	JEQ    q6kdone

q6kloop:
	VPMOVSXBW 192(SI), Y0
	VPERMQ    $0x44, Y0, Y10    // scales 0..7 in both lanes
	VPERMQ    $0xee, Y0, Y11    // scales 8..15 in both lanes
	VPXOR     Y4, Y4, Y4
	Q6_K_HALF(0, 32, 128, 4, 36, 68, 100, Y10)
	Q6_K_HALF(64, 96, 160, 132, 164, 196, 228, Y11)
	VCVTDQ2PS Y4, Y4

	VPBROADCASTW 208(SI), X2
	VCVTPH2PS    X2, Y2
	VBROADCASTSS 0(DI), Y3
	VMULPS       Y3, Y2, Y2
	VFMADD231PS  Y2, Y4, Y8

	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q6kloop

q6kdone:
	HSUM8(Y8, X8, X0)
	VMOVSS     X8, ret+24(FP)
	VZEROUPPER
	RET
