// Shared definitions of the kernel library: block layouts (ggml's, byte for byte),
// launch helpers and warp reductions.
#pragma once

#define GOLEM_CUDA_BUILDING 1
#include "golem_cuda.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

// Returns the status of the last launch (or the call) from a library function.
#define GOLEM_CHECK(call)                     \
	do {                                      \
		cudaError_t e_ = (call);              \
		if (e_ != cudaSuccess) return (int)e_; \
	} while (0)
#define GOLEM_LAUNCHED() return (int)cudaGetLastError()

#define GOLEM_STREAM(s) ((cudaStream_t)(s))

// ggml's block layouts.
#define QK4_0 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256

struct block_q4_0 {
	__half d;
	uint8_t qs[QK4_0 / 2];
};
struct block_q8_0 {
	__half d;
	int8_t qs[QK8_0];
};
struct block_q8_1 {
	__half2 ds; // d and d*sum(qs)
	int8_t qs[QK8_1];
};
struct block_q4_K {
	__half d, dmin;
	uint8_t scales[12];
	uint8_t qs[QK_K / 2];
};
struct block_q6_K {
	uint8_t ql[QK_K / 2];
	uint8_t qh[QK_K / 4];
	int8_t scales[QK_K / 16];
	__half d;
};
static_assert(sizeof(block_q4_0) == 18, "q4_0 block");
static_assert(sizeof(block_q8_0) == 34, "q8_0 block");
static_assert(sizeof(block_q8_1) == GOLEM_Q8_1_BLOCK, "q8_1 block");
static_assert(sizeof(block_q4_K) == 144, "q4_K block");
static_assert(sizeof(block_q6_K) == 210, "q6_K block");

static __device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
	for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
	return x;
}

static __device__ __forceinline__ float warp_max(float x) {
#pragma unroll
	for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
	return x;
}

// Block-wide sum for blocks of up to 1024 threads (a multiple of 32); every thread
// gets the result. sh must hold 32 floats.
static __device__ __forceinline__ float block_sum(float x, float *sh) {
	int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	x = warp_sum(x);
	__syncthreads();
	if (lane == 0) sh[warp] = x;
	__syncthreads();
	int nw = blockDim.x >> 5;
	x = lane < nw ? sh[lane] : 0.0f;
	return warp_sum(x);
}

static __device__ __forceinline__ float block_max(float x, float *sh) {
	int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	x = warp_max(x);
	__syncthreads();
	if (lane == 0) sh[warp] = x;
	__syncthreads();
	int nw = blockDim.x >> 5;
	x = lane < nw ? sh[lane] : -INFINITY;
	return warp_max(x);
}

// Q4_K's 6-bit scale and min of sub-block j (ggml's get_scale_min_k4).
static __device__ __forceinline__ void q4k_scale_min(int j, const uint8_t *q, int *sc, int *m) {
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
		*m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
	}
}

static inline unsigned cdiv(long long a, long long b) { return (unsigned)((a + b - 1) / b); }
