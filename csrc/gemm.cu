// Large-batch matmul: cuBLAS GemmEx on F16 operands (weights dequantized to F16
// tiles by the caller, activations converted to F16) with F32 accumulation.
#include "common.cuh"

#include <cublas_v2.h>

// dst[j][r] (row stride ldc) = Σ_i w16[r][i]·x16[j][i], for r < out, j < n. In cuBLAS's
// column-major terms: D (out×n, ld ldc) = Wᵀ (W stored k×out, ld k) · X (k×n, ld k).
extern "C" int golem_cuda_gemm_f16(void *blas, float *dst, const void *w16, const void *x16, int n, int out, int k, int ldc, void *stream) {
	(void)stream; // the handle is bound to the stream
	if (n == 0 || out == 0) return 0;
	const float alpha = 1.0f, beta = 0.0f;
	cublasStatus_t st = cublasGemmEx((cublasHandle_t)blas, CUBLAS_OP_T, CUBLAS_OP_N, out, n, k, &alpha, w16, CUDA_R_16F, k,
	                                 x16, CUDA_R_16F, k, &beta, dst, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
	return st == CUBLAS_STATUS_SUCCESS ? 0 : GOLEM_CUBLAS_BASE + (int)st;
}
