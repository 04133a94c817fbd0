// Quantized weights: dequantization (to F16 for cuBLAS, to F32 for GetRows and
// reads), Q8_1 activation quantization, and the quantized mat-vec kernels of decode
// and small batches. Block layouts and dequantization arithmetic are ggml's (the
// products rounded in ggml's order, never fused), so GetRows matches the CPU exactly.
#include "common.cuh"

// The 32 values of 32-value block b of a tensor (flat: rows are whole blocks). For the
// K-quants b is a sub-block: super-block b/8, sub-block b%8.
template <int T>
static __device__ __forceinline__ void load32(const void *base, long long b, float *v);

template <>
__device__ __forceinline__ void load32<GOLEM_TYPE_F32>(const void *base, long long b, float *v) {
	const float *x = (const float *)base + b * 32;
#pragma unroll
	for (int i = 0; i < 32; i++) v[i] = x[i];
}

template <>
__device__ __forceinline__ void load32<GOLEM_TYPE_F16>(const void *base, long long b, float *v) {
	const __half *x = (const __half *)base + b * 32;
#pragma unroll
	for (int i = 0; i < 32; i++) v[i] = __half2float(x[i]);
}

template <>
__device__ __forceinline__ void load32<GOLEM_TYPE_Q4_0>(const void *base, long long b, float *v) {
	const block_q4_0 *x = (const block_q4_0 *)base + b;
	float d = __half2float(x->d);
#pragma unroll
	for (int j = 0; j < 16; j++) {
		v[j] = __fmul_rn((float)((int)(x->qs[j] & 0xF) - 8), d);
		v[j + 16] = __fmul_rn((float)((int)(x->qs[j] >> 4) - 8), d);
	}
}

template <>
__device__ __forceinline__ void load32<GOLEM_TYPE_Q8_0>(const void *base, long long b, float *v) {
	const block_q8_0 *x = (const block_q8_0 *)base + b;
	float d = __half2float(x->d);
#pragma unroll
	for (int j = 0; j < 32; j++) v[j] = __fmul_rn((float)x->qs[j], d);
}

template <>
__device__ __forceinline__ void load32<GOLEM_TYPE_Q4_K>(const void *base, long long b, float *v) {
	const block_q4_K *x = (const block_q4_K *)base + b / 8;
	int j = (int)(b % 8);
	int sc, m;
	q4k_scale_min(j, x->scales, &sc, &m);
	float d1 = __fmul_rn(__half2float(x->d), (float)sc);
	float m1 = __fmul_rn(__half2float(x->dmin), (float)m);
	const uint8_t *q = x->qs + 32 * (j / 2);
	int shift = (j & 1) * 4;
#pragma unroll
	for (int l = 0; l < 32; l++) v[l] = __fsub_rn(__fmul_rn(d1, (float)((q[l] >> shift) & 0xF)), m1);
}

template <>
__device__ __forceinline__ void load32<GOLEM_TYPE_Q6_K>(const void *base, long long b, float *v) {
	const block_q6_K *x = (const block_q6_K *)base + b / 8;
	int j = (int)(b % 8), n = j / 4, sub = j % 4;
	const uint8_t *ql = x->ql + 64 * n + (sub & 1) * 32;
	const uint8_t *qh = x->qh + 32 * n;
	const int8_t *sc = x->scales + 8 * n + 2 * sub;
	float d = __half2float(x->d);
	int lshift = (sub >> 1) * 4, hshift = 2 * sub;
#pragma unroll
	for (int l = 0; l < 32; l++) {
		int q = (int)(((ql[l] >> lshift) & 0xF) | (((qh[l] >> hshift) & 3) << 4)) - 32;
		v[l] = __fmul_rn(__fmul_rn(d, (float)sc[l / 16]), (float)q);
	}
}

template <int T>
static __global__ void dequant_f16_kernel(__half *dst, const void *src, long long nb) {
	long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x;
	if (b >= nb) return;
	float v[32];
	load32<T>(src, b, v);
#pragma unroll
	for (int i = 0; i < 32; i += 2) ((__half2 *)(dst + b * 32))[i / 2] = __floats2half2_rn(v[i], v[i + 1]);
}

template <int T>
static __global__ void dequant_f32_kernel(float *dst, const void *src, long long nb) {
	long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x;
	if (b >= nb) return;
	float v[32];
	load32<T>(src, b, v);
#pragma unroll
	for (int i = 0; i < 32; i++) dst[b * 32 + i] = v[i];
}

#define GOLEM_DISPATCH_TYPE(type, KERNEL, ...)                     \
	switch (type) {                                                \
	case GOLEM_TYPE_F32: KERNEL<GOLEM_TYPE_F32> __VA_ARGS__; break;   \
	case GOLEM_TYPE_F16: KERNEL<GOLEM_TYPE_F16> __VA_ARGS__; break;   \
	case GOLEM_TYPE_Q4_0: KERNEL<GOLEM_TYPE_Q4_0> __VA_ARGS__; break; \
	case GOLEM_TYPE_Q8_0: KERNEL<GOLEM_TYPE_Q8_0> __VA_ARGS__; break; \
	case GOLEM_TYPE_Q4_K: KERNEL<GOLEM_TYPE_Q4_K> __VA_ARGS__; break; \
	case GOLEM_TYPE_Q6_K: KERNEL<GOLEM_TYPE_Q6_K> __VA_ARGS__; break; \
	default: return GOLEM_ERR_TYPE;                                \
	}

static int block_elems(int type) {
	return (type == GOLEM_TYPE_Q4_K || type == GOLEM_TYPE_Q6_K) ? QK_K : 32;
}

extern "C" int golem_cuda_dequantize_f16(void *dst, const void *src, int type, int64_t n, void *stream) {
	if (n % block_elems(type) != 0) return GOLEM_ERR_SHAPE;
	long long nb = n / 32;
	if (nb == 0) return 0;
	GOLEM_DISPATCH_TYPE(type, dequant_f16_kernel, <<<cdiv(nb, 128), 128, 0, GOLEM_STREAM(stream)>>>((__half *)dst, src, nb))
	GOLEM_LAUNCHED();
}

extern "C" int golem_cuda_dequantize_f32(float *dst, const void *src, int type, int64_t n, void *stream) {
	if (n % block_elems(type) != 0) return GOLEM_ERR_SHAPE;
	long long nb = n / 32;
	if (nb == 0) return 0;
	GOLEM_DISPATCH_TYPE(type, dequant_f32_kernel, <<<cdiv(nb, 128), 128, 0, GOLEM_STREAM(stream)>>>(dst, src, nb))
	GOLEM_LAUNCHED();
}

static __global__ void f32_to_f16_kernel(__half *dst, const float *src, long long n) {
	long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) dst[i] = __float2half_rn(src[i]);
}

extern "C" int golem_cuda_f32_to_f16(void *dst, const float *src, int64_t n, void *stream) {
	if (n == 0) return 0;
	f32_to_f16_kernel<<<cdiv(n, 256), 256, 0, GOLEM_STREAM(stream)>>>((__half *)dst, src, n);
	GOLEM_LAUNCHED();
}

// Q8_1: one warp per 32-value block; d = max|x|/127, q = round(x/d), s = d·Σq (ggml's
// CUDA quantize_q8_1 keeps the sum of x; d·Σq is what the integer dot product used).
static __global__ void quantize_q8_1_kernel(block_q8_1 *dst, const float *x, long long nb) {
	long long b = (long long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
	int lane = threadIdx.x & 31;
	if (b >= nb) return;
	float v = x[b * 32 + lane];
	float amax = warp_max(fabsf(v));
	float d = amax / 127.0f;
	int q = amax == 0.0f ? 0 : (int)roundf(v / d);
	float sum = warp_sum((float)q);
	dst[b].qs[lane] = (int8_t)q;
	if (lane == 0) dst[b].ds = __floats2half2_rn(d, d * sum);
}

extern "C" int golem_cuda_quantize_q8_1(void *dst, const float *x, int rows, int k, void *stream) {
	if (k % 32 != 0) return GOLEM_ERR_SHAPE;
	long long nb = (long long)rows * (k / 32);
	if (nb == 0) return 0;
	quantize_q8_1_kernel<<<cdiv(nb, 8), 256, 0, GOLEM_STREAM(stream)>>>((block_q8_1 *)dst, x, nb);
	GOLEM_LAUNCHED();
}

// An int of 4 bytes from 2-byte aligned memory.
static __device__ __forceinline__ int get_int_b2(const void *p, int i) {
	const uint16_t *h = (const uint16_t *)p;
	return (int)h[2 * i] | ((int)h[2 * i + 1] << 16);
}
static __device__ __forceinline__ int get_int_b4(const void *p, int i) { return ((const int *)p)[i]; }

// dot32: the product of 32-value block b of a weight row with one Q8_1 block.
template <int T>
static __device__ __forceinline__ float dot32(const void *row, int b, const block_q8_1 *y);

template <>
__device__ __forceinline__ float dot32<GOLEM_TYPE_Q4_0>(const void *row, int b, const block_q8_1 *y) {
	const block_q4_0 *x = (const block_q4_0 *)row + b;
	int isum = 0;
#pragma unroll
	for (int i = 0; i < 4; i++) {
		int v = get_int_b2(x->qs, i);
		isum = __dp4a(v & 0x0F0F0F0F, get_int_b4(y->qs, i), isum);
		isum = __dp4a((v >> 4) & 0x0F0F0F0F, get_int_b4(y->qs, i + 4), isum);
	}
	float2 ds = __half22float2(y->ds);
	return __half2float(x->d) * (ds.x * (float)isum - 8.0f * ds.y);
}

template <>
__device__ __forceinline__ float dot32<GOLEM_TYPE_Q8_0>(const void *row, int b, const block_q8_1 *y) {
	const block_q8_0 *x = (const block_q8_0 *)row + b;
	int isum = 0;
#pragma unroll
	for (int i = 0; i < 8; i++) isum = __dp4a(get_int_b2(x->qs, i), get_int_b4(y->qs, i), isum);
	return __half2float(x->d) * __low2float(y->ds) * (float)isum;
}

template <>
__device__ __forceinline__ float dot32<GOLEM_TYPE_Q4_K>(const void *row, int b, const block_q8_1 *y) {
	const block_q4_K *x = (const block_q4_K *)row + b / 8;
	int j = b % 8;
	int sc, m;
	q4k_scale_min(j, x->scales, &sc, &m);
	const uint8_t *q = x->qs + 32 * (j / 2);
	int shift = (j & 1) * 4;
	int isum = 0;
#pragma unroll
	for (int i = 0; i < 8; i++) isum = __dp4a((get_int_b4(q, i) >> shift) & 0x0F0F0F0F, get_int_b4(y->qs, i), isum);
	float2 ds = __half22float2(y->ds);
	return __half2float(x->d) * (float)sc * ds.x * (float)isum - __half2float(x->dmin) * (float)m * ds.y;
}

template <>
__device__ __forceinline__ float dot32<GOLEM_TYPE_Q6_K>(const void *row, int b, const block_q8_1 *y) {
	const block_q6_K *x = (const block_q6_K *)row + b / 8;
	int j = b % 8, n = j / 4, sub = j % 4;
	const uint8_t *ql = x->ql + 64 * n + (sub & 1) * 32;
	const uint8_t *qh = x->qh + 32 * n;
	const int8_t *sc = x->scales + 8 * n + 2 * sub;
	int lshift = (sub >> 1) * 4, hshift = 2 * sub;
	int isum0 = 0, isum1 = 0;
#pragma unroll
	for (int i = 0; i < 8; i++) {
		int lo = (get_int_b2(ql, i) >> lshift) & 0x0F0F0F0F;
		int hi = ((get_int_b2(qh, i) >> hshift) & 0x03030303) << 4;
		int q = __vsubss4(lo | hi, 0x20202020);
		if (i < 4)
			isum0 = __dp4a(q, get_int_b4(y->qs, i), isum0);
		else
			isum1 = __dp4a(q, get_int_b4(y->qs, i), isum1);
	}
	return __half2float(x->d) * __low2float(y->ds) * ((float)sc[0] * (float)isum0 + (float)sc[1] * (float)isum1);
}

static int row_bytes(int type, int k) {
	switch (type) {
	case GOLEM_TYPE_F32: return 4 * k;
	case GOLEM_TYPE_F16: return 2 * k;
	case GOLEM_TYPE_Q4_0: return k / 32 * 18;
	case GOLEM_TYPE_Q8_0: return k / 32 * 34;
	case GOLEM_TYPE_Q4_K: return k / 256 * 144;
	case GOLEM_TYPE_Q6_K: return k / 256 * 210;
	}
	return 0;
}

#define MATVEC_MAX_N 8
#define MATVEC_WARPS 4

// dst[j][r] = w[r]·x[j] for j < n ≤ 8: one warp per weight row, its lanes over the
// row's 32-value blocks, each block read once for all n activation rows.
template <int T>
static __global__ void matvec_q_kernel(float *dst, const char *w, const block_q8_1 *xq, int n, int out, int k, int rb) {
	int r = blockIdx.x * MATVEC_WARPS + threadIdx.x / 32;
	int lane = threadIdx.x & 31;
	if (r >= out) return;
	const char *row = w + (long long)r * rb;
	int nb = k / 32;
	float acc[MATVEC_MAX_N] = {0};
	for (int b = lane; b < nb; b += 32) {
#pragma unroll
		for (int j = 0; j < MATVEC_MAX_N; j++)
			if (j < n) acc[j] += dot32<T>(row, b, xq + (long long)j * nb + b);
	}
#pragma unroll
	for (int j = 0; j < MATVEC_MAX_N; j++) {
		if (j < n) {
			float s = warp_sum(acc[j]);
			if (lane == 0) dst[(long long)j * out + r] = s;
		}
	}
}

extern "C" int golem_cuda_matvec_q(float *dst, const void *w, int type, const void *xq, int n, int out, int k, void *stream) {
	if (n < 1 || n > MATVEC_MAX_N || k % block_elems(type) != 0) return GOLEM_ERR_SHAPE;
	if (out == 0) return 0;
	int rb = row_bytes(type, k);
	dim3 grid(cdiv(out, MATVEC_WARPS)), block(32 * MATVEC_WARPS);
	cudaStream_t s = GOLEM_STREAM(stream);
	const block_q8_1 *y = (const block_q8_1 *)xq;
	switch (type) {
	case GOLEM_TYPE_Q4_0: matvec_q_kernel<GOLEM_TYPE_Q4_0><<<grid, block, 0, s>>>(dst, (const char *)w, y, n, out, k, rb); break;
	case GOLEM_TYPE_Q8_0: matvec_q_kernel<GOLEM_TYPE_Q8_0><<<grid, block, 0, s>>>(dst, (const char *)w, y, n, out, k, rb); break;
	case GOLEM_TYPE_Q4_K: matvec_q_kernel<GOLEM_TYPE_Q4_K><<<grid, block, 0, s>>>(dst, (const char *)w, y, n, out, k, rb); break;
	case GOLEM_TYPE_Q6_K: matvec_q_kernel<GOLEM_TYPE_Q6_K><<<grid, block, 0, s>>>(dst, (const char *)w, y, n, out, k, rb); break;
	default: return GOLEM_ERR_TYPE;
	}
	GOLEM_LAUNCHED();
}

// Float weights (F32, F16) with F32 activations: one warp per row, lanes over k.
template <typename W>
static __global__ void matvec_f_kernel(float *dst, const W *w, const float *x, int n, int out, int k) {
	int r = blockIdx.x * MATVEC_WARPS + threadIdx.x / 32;
	int lane = threadIdx.x & 31;
	if (r >= out) return;
	const W *row = w + (long long)r * k;
	float acc[MATVEC_MAX_N] = {0};
	for (int i = lane; i < k; i += 32) {
		float wv = (float)row[i];
#pragma unroll
		for (int j = 0; j < MATVEC_MAX_N; j++)
			if (j < n) acc[j] += wv * x[(long long)j * k + i];
	}
#pragma unroll
	for (int j = 0; j < MATVEC_MAX_N; j++) {
		if (j < n) {
			float s = warp_sum(acc[j]);
			if (lane == 0) dst[(long long)j * out + r] = s;
		}
	}
}

extern "C" int golem_cuda_matvec_f(float *dst, const void *w, int type, const float *x, int n, int out, int k, void *stream) {
	if (n < 1 || n > MATVEC_MAX_N) return GOLEM_ERR_SHAPE;
	if (out == 0) return 0;
	dim3 grid(cdiv(out, MATVEC_WARPS)), block(32 * MATVEC_WARPS);
	cudaStream_t s = GOLEM_STREAM(stream);
	switch (type) {
	case GOLEM_TYPE_F32: matvec_f_kernel<float><<<grid, block, 0, s>>>(dst, (const float *)w, x, n, out, k); break;
	case GOLEM_TYPE_F16: matvec_f_kernel<__half><<<grid, block, 0, s>>>(dst, (const __half *)w, x, n, out, k); break;
	default: return GOLEM_ERR_TYPE;
	}
	GOLEM_LAUNCHED();
}

// GetRows: dst[i] = table[ids[i]] as F32; one thread block per row, threads over its
// 32-value blocks.
template <int T>
static __global__ void get_rows_kernel(float *dst, const char *table, const int32_t *ids, int k, int rb) {
	int i = blockIdx.x;
	const char *row = table + (long long)ids[i] * rb;
	for (int b = threadIdx.x; b < k / 32; b += blockDim.x) {
		float v[32];
		load32<T>(row, b, v);
#pragma unroll
		for (int l = 0; l < 32; l++) dst[(long long)i * k + b * 32 + l] = v[l];
	}
}

extern "C" int golem_cuda_get_rows(float *dst, const void *table, int type, const int32_t *ids, int n, int k, void *stream) {
	if (k % block_elems(type) != 0 || k % 32 != 0) return GOLEM_ERR_SHAPE;
	if (n == 0) return 0;
	int rb = row_bytes(type, k);
	GOLEM_DISPATCH_TYPE(type, get_rows_kernel, <<<n, 64, 0, GOLEM_STREAM(stream)>>>(dst, (const char *)table, ids, k, rb))
	GOLEM_LAUNCHED();
}
