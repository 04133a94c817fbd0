//go:build amd64 && !purego

#include "textflag.h"
#include "macros_amd64.h"

// REDUCE4 is GGML_F32x8_REDUCE of Y0..Y3 into the low lane of X0 (Y1 clobbered):
// (0+2) + (1+3), high half onto low half, two horizontal adds.
#define REDUCE4 \
	VADDPS       Y2, Y0, Y0; \
	VADDPS       Y3, Y1, Y1; \
	VADDPS       Y1, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS       X1, X0, X0; \
	VHADDPS      X0, X0, X0; \
	VHADDPS      X0, X0, X0

// func dotF32AVX2(a, b *float32, n int) float32
// ggml_vec_dot_f32's vector part: n is a multiple of 32; four 8-lane accumulators.
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

f32loop32:
	CMPQ        CX, $32
	JLT         f32reduce
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         f32loop32

f32reduce:
	REDUCE4
	VMOVSS     X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotF16AVX2(w, x *byte, n int) float32
// ggml_vec_dot_f16's vector part: n is a multiple of 32; four 8-lane accumulators.
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

f16loop32:
	CMPQ        CX, $32
	JLT         f16reduce
	VCVTPH2PS   (SI), Y4
	VCVTPH2PS   16(SI), Y5
	VCVTPH2PS   32(SI), Y6
	VCVTPH2PS   48(SI), Y7
	VCVTPH2PS   (DI), Y8
	VCVTPH2PS   16(DI), Y9
	VCVTPH2PS   32(DI), Y10
	VCVTPH2PS   48(DI), Y11
	VFMADD231PS Y8, Y4, Y0
	VFMADD231PS Y9, Y5, Y1
	VFMADD231PS Y10, Y6, Y2
	VFMADD231PS Y11, Y7, Y3
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $32, CX
	JMP         f16loop32

f16reduce:
	REDUCE4
	VMOVSS     X0, ret+24(FP)
	VZEROUPPER
	RET

// func tinyF32AVX2(a, b *float32, n int) float32
// tinyBLAS's F32 dot product: n is a multiple of 8; one 8-lane accumulator, hsum.
TEXT ·tinyF32AVX2(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0

tf32loop:
	CMPQ        CX, $8
	JLT         tf32done
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         tf32loop

tf32done:
	HSUM8(Y0, X0, X1)
	VMOVSS     X0, ret+24(FP)
	VZEROUPPER
	RET

// func tinyF16AVX2(w, x *byte, n int) float32
// tinyBLAS's F16 dot product: n is a multiple of 8; one 8-lane accumulator, hsum.
TEXT ·tinyF16AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0

tf16loop:
	CMPQ        CX, $8
	JLT         tf16done
	VCVTPH2PS   (SI), Y4
	VCVTPH2PS   (DI), Y8
	VFMADD231PS Y8, Y4, Y0
	ADDQ        $16, SI
	ADDQ        $16, DI
	SUBQ        $8, CX
	JMP         tf16loop

tf16done:
	HSUM8(Y0, X0, X1)
	VMOVSS     X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX2(dst, x *float32, a float32, n int)
// dst[i] = fma(x[i], a, dst[i]), each rounded once.
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	VBROADCASTSS a+16(FP), Y0
	MOVQ         n+24(FP), CX

axpyloop8:
	CMPQ        CX, $8
	JLT         axpytail
	VMOVUPS     (SI), Y1
	VFMADD213PS (DI), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         axpyloop8

axpytail:
	TESTQ       CX, CX
	JEQ         axpydone
	VMOVSS      (SI), X1
	VFMADD213SS (DI), X0, X1
	VMOVSS      X1, (DI)
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         axpytail

axpydone:
	VZEROUPPER
	RET

// F16_ROW converts the eight F16 weights at R+DX to float32 in W.
#define F16_ROW(R, W) VCVTPH2PS (R)(DX*1), W

// func tinyF16x4x2AVX2(dst *float32, dstStride int, w *byte, rowStride int, x *byte, xStride int, n int)
// tinyBLAS's F16 dot product for four weight rows by two activation rows: each of the
// eight outputs has its own 8-lane accumulator, acc = fma(w, x, acc) eight elements at a
// time, then hsum — tinyF16AVX2's steps, with every converted row shared by two outputs
// and every converted activation by four (one accumulator chain alone waits on the
// fused multiply-add's latency; eight independent ones keep the units busy).
TEXT ·tinyF16x4x2AVX2(SB), NOSPLIT, $0-56
	MOVQ   w+16(FP), SI
	MOVQ   rowStride+24(FP), BX
	MOVQ   x+32(FP), DI
	MOVQ   xStride+40(FP), R11
	MOVQ   n+48(FP), CX
	LEAQ   (SI)(BX*1), R8
	LEAQ   (R8)(BX*1), R9
	LEAQ   (R9)(BX*1), R10
	ADDQ   DI, R11
	XORQ   DX, DX // byte offset into every row
	SHRQ   $3, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	TESTQ  CX, CX
	JEQ    tf16x4x2done

tf16x4x2loop:
	F16_ROW(SI, Y8)
	F16_ROW(R8, Y9)
	F16_ROW(R9, Y10)
	F16_ROW(R10, Y11)
	VCVTPH2PS   (DI)(DX*1), Y12
	VCVTPH2PS   (R11)(DX*1), Y13
	VFMADD231PS Y12, Y8, Y0
	VFMADD231PS Y12, Y9, Y1
	VFMADD231PS Y12, Y10, Y2
	VFMADD231PS Y12, Y11, Y3
	VFMADD231PS Y13, Y8, Y4
	VFMADD231PS Y13, Y9, Y5
	VFMADD231PS Y13, Y10, Y6
	VFMADD231PS Y13, Y11, Y7
	ADDQ        $16, DX
	DECQ        CX
	JNZ         tf16x4x2loop

tf16x4x2done:
	STORE4X2
	VZEROUPPER
	RET
