// Macros shared by the AVX2 kernels (float_amd64.s, legacy_amd64.s, kquants_amd64.s).

// HSUM8 adds the eight floats of Y (X is its low half) into the low lane of X; T is
// clobbered. It is ggml's hsum_float_8 (and tinyBLAS's hsum).
#define HSUM8(Y, X, T) \
	VEXTRACTF128 $1, Y, T; \
	VADDPS       T, X, X;  \
	VMOVHLPS     X, X, T;  \
	VADDPS       T, X, X;  \
	VMOVSHDUP    X, T;     \
	VADDSS       T, X, X

// STORE4X2 finishes a 4-weight-row × 2-activation-row tile kernel: Y0..Y3 hold the first
// activation row's four outputs and Y4..Y7 the second's; each is summed (HSUM8, X8
// clobbered) and stored to dst and dst+dstStride (the frame's dst and dstStride).
#define STORE4X2 \
	MOVQ   dst+0(FP), AX;          \
	MOVQ   dstStride+8(FP), BX;    \
	LEAQ   (AX)(BX*4), BX;         \
	HSUM8(Y0, X0, X8);             \
	HSUM8(Y1, X1, X8);             \
	HSUM8(Y2, X2, X8);             \
	HSUM8(Y3, X3, X8);             \
	HSUM8(Y4, X4, X8);             \
	HSUM8(Y5, X5, X8);             \
	HSUM8(Y6, X6, X8);             \
	HSUM8(Y7, X7, X8);             \
	VMOVSS X0, (AX);               \
	VMOVSS X1, 4(AX);              \
	VMOVSS X2, 8(AX);              \
	VMOVSS X3, 12(AX);             \
	VMOVSS X4, (BX);               \
	VMOVSS X5, 4(BX);              \
	VMOVSS X6, 8(BX);              \
	VMOVSS X7, 12(BX)
