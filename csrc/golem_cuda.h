/*
 * golem_cuda.h: the C API of libgolem_cuda, golem's CUDA kernel library.
 *
 * The library is built by CMake (CMakeLists.txt at the top of the repository) with
 * the machine's own nvcc and cuBLAS; the Go side (backend/cuda, build tag cuda) has
 * no CUDA headers or libraries at link time: it dlopens the library and resolves
 * the functions below by name (GOLEM_CUDA_FUNCS), after checking golem_cuda_abi().
 *
 * Conventions:
 *   - Every function returns 0 on success or a nonzero status (a cudaError_t, a
 *     cublasStatus_t + GOLEM_CUBLAS_BASE, or a GOLEM_ERR_* code); golem_cuda_strerror
 *     names it. Kernels are queued on the given stream and return without waiting;
 *     an error inside a kernel shows at the next synchronisation.
 *   - Device pointers are plain void*. Host pointers given to the *_async copies must
 *     be pinned (golem_cuda_host_alloc).
 *   - Matrices are row-major, outermost dimension first, as in backend.Shape:
 *     x[n][k] means n rows of k contiguous values.
 *   - Weight types are ggml's type numbers (GOLEM_TYPE_*); quantized weights stay in
 *     their GGUF block layout on the device.
 *
 * This header includes no CUDA header, so that cgo can read it anywhere.
 */
#ifndef GOLEM_CUDA_H
#define GOLEM_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bump when a signature below changes; the Go side refuses a library of another ABI. */
#define GOLEM_CUDA_ABI 1

/* ggml type numbers of the types the kernels take. */
enum {
	GOLEM_TYPE_F32 = 0,
	GOLEM_TYPE_F16 = 1,
	GOLEM_TYPE_Q4_0 = 2,
	GOLEM_TYPE_Q8_0 = 8,
	GOLEM_TYPE_Q4_K = 12,
	GOLEM_TYPE_Q6_K = 14,
	GOLEM_TYPE_I32 = 26,
};

/* Status codes of the library's own (beside cudaError_t's). */
enum {
	GOLEM_ERR_TYPE = 10001,  /* a type the kernel does not take */
	GOLEM_ERR_SHAPE = 10002, /* sizes the kernel does not take */
	GOLEM_ERR_NO_DEVICE = 10003,
};
#define GOLEM_CUBLAS_BASE 20000

typedef struct golem_device_info {
	char name[256];
	int major, minor;           /* compute capability */
	int multiprocessors;
	int clock_khz;              /* cudaDevAttrClockRate */
	int memory_clock_khz;       /* cudaDevAttrMemoryClockRate */
	int memory_bus_width;       /* bits */
	int l2_bytes;
	int max_shared_per_block;   /* opt-in maximum, bytes */
	size_t total_memory, free_memory;
	int driver_version, runtime_version; /* 13000 = 13.0 */
} golem_device_info;

/* RoPE configuration, with ggml's meaning (backend.RoPEParams). */
typedef struct golem_rope_params {
	int neox;          /* pairing (i, i+dims/2) instead of (2i, 2i+1) */
	int dims;          /* rotated dimensions per head */
	float theta_scale; /* base^(-2/dims) */
	float freq_scale;  /* 1 when none */
	float ext_factor;  /* YaRN mix (0: none) */
	float attn_factor; /* multiplies cos and sin (1: none); with YaRN, times 1+0.1·ln(1/freq_scale) */
	float corr_low, corr_high; /* YaRN correction range */
	const float *freqs; /* device, dims/2 frequency factors, or NULL */
} golem_rope_params;

/* Attention configuration (backend.AttnParams) and shapes. */
typedef struct golem_attn_params {
	int n_tokens, heads, heads_kv, head_dim, head_dim_v;
	int cells;      /* cells to scan: the cache's first `cells` */
	int k_dim, v_dim; /* cache row lengths (heads_kv*head_dim, heads_kv*head_dim_v) */
	int cache_type; /* GOLEM_TYPE_F32 or GOLEM_TYPE_F16 */
	float scale;
	int causal;
	int window;     /* > 0: sliding window */
	float softcap;  /* > 0: cap*tanh(s/cap), before scale */
	float alibi_m0, alibi_m1; /* ALiBi slope bases (0: no ALiBi) */
	int alibi_nlog2;
} golem_attn_params;

/*
 * The function list: X(return type, name, (parameters), (argument names)).
 * The library defines each; the Go side's loader resolves each by name.
 */
#define GOLEM_CUDA_FUNCS(X) \
	X(int, golem_cuda_abi, (void), ()) \
	X(const char *, golem_cuda_strerror, (int status), (status)) \
	X(int, golem_cuda_device_count, (int *count), (count)) \
	X(int, golem_cuda_device_info, (int device, golem_device_info *info), (device, info)) \
	X(int, golem_cuda_set_device, (int device), (device)) \
	X(int, golem_cuda_malloc, (void **ptr, size_t bytes), (ptr, bytes)) \
	X(int, golem_cuda_free, (void *ptr), (ptr)) \
	X(int, golem_cuda_host_alloc, (void **ptr, size_t bytes), (ptr, bytes)) \
	X(int, golem_cuda_host_free, (void *ptr), (ptr)) \
	X(int, golem_cuda_mem_info, (size_t *free_bytes, size_t *total_bytes), (free_bytes, total_bytes)) \
	X(int, golem_cuda_stream_create, (void **stream), (stream)) \
	X(int, golem_cuda_stream_destroy, (void *stream), (stream)) \
	X(int, golem_cuda_stream_sync, (void *stream), (stream)) \
	X(int, golem_cuda_last_error, (void), ()) \
	X(int, golem_cuda_memset_async, (void *dst, int value, size_t bytes, void *stream), (dst, value, bytes, stream)) \
	X(int, golem_cuda_h2d_async, (void *dst, const void *src, size_t bytes, void *stream), (dst, src, bytes, stream)) \
	X(int, golem_cuda_d2h_async, (void *dst, const void *src, size_t bytes, void *stream), (dst, src, bytes, stream)) \
	X(int, golem_cuda_d2d_async, (void *dst, const void *src, size_t bytes, void *stream), (dst, src, bytes, stream)) \
	X(int, golem_cuda_blas_create, (void **handle, void *stream), (handle, stream)) \
	X(int, golem_cuda_blas_destroy, (void *handle), (handle)) \
	X(int, golem_cuda_dequantize_f16, (void *dst, const void *src, int type, int64_t n, void *stream), (dst, src, type, n, stream)) \
	X(int, golem_cuda_dequantize_f32, (float *dst, const void *src, int type, int64_t n, void *stream), (dst, src, type, n, stream)) \
	X(int, golem_cuda_f32_to_f16, (void *dst, const float *src, int64_t n, void *stream), (dst, src, n, stream)) \
	X(int, golem_cuda_quantize_q8_1, (void *dst, const float *x, int rows, int k, void *stream), (dst, x, rows, k, stream)) \
	X(int, golem_cuda_matvec_q, (float *dst, const void *w, int type, const void *xq, int n, int out, int k, void *stream), (dst, w, type, xq, n, out, k, stream)) \
	X(int, golem_cuda_matvec_f, (float *dst, const void *w, int type, const float *x, int n, int out, int k, void *stream), (dst, w, type, x, n, out, k, stream)) \
	X(int, golem_cuda_gemm_f16, (void *blas, float *dst, const void *w16, const void *x16, int n, int out, int k, int ldc, void *stream), (blas, dst, w16, x16, n, out, k, ldc, stream)) \
	X(int, golem_cuda_get_rows, (float *dst, const void *table, int type, const int32_t *ids, int n, int k, void *stream), (dst, table, type, ids, n, k, stream)) \
	X(int, golem_cuda_rms_norm, (float *dst, const float *x, const float *w, int rows, int cols, float eps, void *stream), (dst, x, w, rows, cols, eps, stream)) \
	X(int, golem_cuda_rope, (float *x, const int32_t *pos, int n, int heads, int head_dim, const golem_rope_params *p, void *stream), (x, pos, n, heads, head_dim, p, stream)) \
	X(int, golem_cuda_softmax, (float *dst, const float *x, int rows, int cols, void *stream), (dst, x, rows, cols, stream)) \
	X(int, golem_cuda_unary, (int op, float *dst, const float *x, int64_t n, float s, void *stream), (op, dst, x, n, s, stream)) \
	X(int, golem_cuda_binary, (int op, float *dst, const float *a, const float *b, int64_t n, int64_t nb, void *stream), (op, dst, a, b, n, nb, stream)) \
	X(int, golem_cuda_kv_store, (void *cache, int cache_type, const float *src, const int32_t *cells, int n, int dim, void *stream), (cache, cache_type, src, cells, n, dim, stream)) \
	X(int, golem_cuda_attention, (float *dst, const float *q, const void *kc, const void *vc, const int32_t *cell_pos, const int32_t *cell_seq, const int32_t *tok_pos, const int32_t *tok_seq, const golem_attn_params *p, float *scratch, size_t scratch_floats, void *stream), (dst, q, kc, vc, cell_pos, cell_seq, tok_pos, tok_seq, p, scratch, scratch_floats, stream)) \
	X(size_t, golem_cuda_attention_scratch, (const golem_attn_params *p), (p))

/* golem_cuda_unary ops: dst[i] = f(x[i]). */
enum { GOLEM_UNARY_SILU = 0, GOLEM_UNARY_SCALE = 1 };
/* golem_cuda_binary ops: dst[i] = a[i] op b[i % nb] (nb = n, or one row broadcast). */
enum { GOLEM_BINARY_ADD = 0, GOLEM_BINARY_MUL = 1, GOLEM_BINARY_SWIGLU = 2 };

/* Bytes of one Q8_1 block (32 int8 values, half d, half d*sum) and per row of k values. */
#define GOLEM_Q8_1_BLOCK 36

#if defined(GOLEM_CUDA_BUILDING)
#define GOLEM_CUDA_DECLARE(ret, name, params, args) __attribute__((visibility("default"))) ret name params;
GOLEM_CUDA_FUNCS(GOLEM_CUDA_DECLARE)
#undef GOLEM_CUDA_DECLARE
#endif

#ifdef __cplusplus
}
#endif

#endif /* GOLEM_CUDA_H */
