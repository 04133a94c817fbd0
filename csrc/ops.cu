// Row-wise and element-wise ops: RMSNorm, RoPE, softmax, SiLU/scale, add/mul/SwiGLU,
// and the KV cache write. Formulas follow backend/cpu (ggml's), in float32.
#include "common.cuh"

// RMSNorm: one block per row.
static __global__ void rms_norm_kernel(float *dst, const float *x, const float *w, int cols, float eps) {
	__shared__ float sh[32];
	const float *xr = x + (long long)blockIdx.x * cols;
	float *yr = dst + (long long)blockIdx.x * cols;
	float s = 0.0f;
	for (int i = threadIdx.x; i < cols; i += blockDim.x) s += xr[i] * xr[i];
	s = block_sum(s, sh);
	float scale = 1.0f / sqrtf(s / (float)cols + eps);
	for (int i = threadIdx.x; i < cols; i += blockDim.x) {
		float y = __fmul_rn(xr[i], scale);
		yr[i] = w ? __fmul_rn(y, w[i]) : y;
	}
}

extern "C" int golem_cuda_rms_norm(float *dst, const float *x, const float *w, int rows, int cols, float eps, void *stream) {
	if (rows == 0) return 0;
	int threads = cols >= 1024 ? 1024 : (cols >= 256 ? 256 : 32);
	rms_norm_kernel<<<rows, threads, 0, GOLEM_STREAM(stream)>>>(dst, x, w, cols, eps);
	GOLEM_LAUNCHED();
}

// RoPE: one thread per (token, head, pair). The angle is built by repeated float32
// multiplication, as ggml's CPU code and backend/cpu do.
static __global__ void rope_kernel(float *x, const int32_t *pos, int n, int heads, int hd, golem_rope_params p) {
	int pairs = p.dims / 2;
	long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
	long long total = (long long)n * heads * pairs;
	if (idx >= total) return;
	int i = (int)(idx % pairs);
	long long th = idx / pairs; // token*heads + head
	int t = (int)(th / heads);
	float theta = (float)pos[t];
	for (int j = 0; j < i; j++) theta = __fmul_rn(theta, p.theta_scale);
	if (p.freqs) theta = __fdiv_rn(theta, p.freqs[i]);
	float interp = __fmul_rn(p.freq_scale, theta);
	float ang = interp;
	float mscale = p.attn_factor;
	if (p.ext_factor != 0.0f) {
		float y = ((float)i - p.corr_low) / fmaxf(0.001f, p.corr_high - p.corr_low);
		float mix = (1.0f - fminf(1.0f, fmaxf(0.0f, y))) * p.ext_factor;
		ang = __fadd_rn(__fmul_rn(interp, 1.0f - mix), __fmul_rn(theta, mix));
	}
	float c = (float)cos((double)ang) * mscale, s = (float)sin((double)ang) * mscale;
	float *xr = x + th * hd;
	int a = 2 * i, b = 2 * i + 1;
	if (p.neox) a = i, b = i + pairs;
	float x0 = xr[a], x1 = xr[b];
	xr[a] = fmaf(x0, c, -__fmul_rn(x1, s));
	xr[b] = fmaf(x0, s, __fmul_rn(x1, c));
}

extern "C" int golem_cuda_rope(float *x, const int32_t *pos, int n, int heads, int head_dim, const golem_rope_params *p, void *stream) {
	if (p->dims <= 0 || p->dims > head_dim || p->dims % 2 != 0) return GOLEM_ERR_SHAPE;
	long long total = (long long)n * heads * (p->dims / 2);
	if (total == 0) return 0;
	rope_kernel<<<cdiv(total, 256), 256, 0, GOLEM_STREAM(stream)>>>(x, pos, n, heads, head_dim, *p);
	GOLEM_LAUNCHED();
}

// Softmax: one block per row.
static __global__ void softmax_kernel(float *dst, const float *x, int cols) {
	__shared__ float sh[32];
	const float *xr = x + (long long)blockIdx.x * cols;
	float *yr = dst + (long long)blockIdx.x * cols;
	float m = -INFINITY;
	for (int i = threadIdx.x; i < cols; i += blockDim.x) m = fmaxf(m, xr[i]);
	m = block_max(m, sh);
	float s = 0.0f;
	for (int i = threadIdx.x; i < cols; i += blockDim.x) {
		float e = expf(xr[i] - m);
		yr[i] = e;
		s += e;
	}
	s = block_sum(s, sh);
	float inv = 1.0f / s;
	for (int i = threadIdx.x; i < cols; i += blockDim.x) yr[i] *= inv;
}

extern "C" int golem_cuda_softmax(float *dst, const float *x, int rows, int cols, void *stream) {
	if (rows == 0) return 0;
	int threads = cols >= 1024 ? 1024 : (cols >= 256 ? 256 : 32);
	softmax_kernel<<<rows, threads, 0, GOLEM_STREAM(stream)>>>(dst, x, cols);
	GOLEM_LAUNCHED();
}

static __device__ __forceinline__ float silu(float x) { return x / (1.0f + expf(-x)); }

static __global__ void unary_kernel(int op, float *dst, const float *x, long long n, float s) {
	long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n) return;
	float v = x[i];
	dst[i] = op == GOLEM_UNARY_SILU ? silu(v) : __fmul_rn(v, s);
}

extern "C" int golem_cuda_unary(int op, float *dst, const float *x, int64_t n, float s, void *stream) {
	if (op != GOLEM_UNARY_SILU && op != GOLEM_UNARY_SCALE) return GOLEM_ERR_TYPE;
	if (n == 0) return 0;
	unary_kernel<<<cdiv(n, 256), 256, 0, GOLEM_STREAM(stream)>>>(op, dst, x, n, s);
	GOLEM_LAUNCHED();
}

static __global__ void binary_kernel(int op, float *dst, const float *a, const float *b, long long n, long long nb) {
	long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n) return;
	float x = a[i], y = b[nb == n ? i : i % nb];
	switch (op) {
	case GOLEM_BINARY_ADD: dst[i] = __fadd_rn(x, y); break;
	case GOLEM_BINARY_MUL: dst[i] = __fmul_rn(x, y); break;
	default: dst[i] = __fmul_rn(silu(x), y); break;
	}
}

extern "C" int golem_cuda_binary(int op, float *dst, const float *a, const float *b, int64_t n, int64_t nb, void *stream) {
	if (op < GOLEM_BINARY_ADD || op > GOLEM_BINARY_SWIGLU) return GOLEM_ERR_TYPE;
	if (nb <= 0 || n % nb != 0) return GOLEM_ERR_SHAPE;
	if (n == 0) return 0;
	binary_kernel<<<cdiv(n, 256), 256, 0, GOLEM_STREAM(stream)>>>(op, dst, a, b, n, nb);
	GOLEM_LAUNCHED();
}

// KV cache write: row i of src goes to cache row cells[i], converted to the cache type.
template <typename C>
static __global__ void kv_store_kernel(C *cache, const float *src, const int32_t *cells, int dim) {
	int i = blockIdx.y;
	int j = blockIdx.x * blockDim.x + threadIdx.x;
	if (j >= dim) return;
	float v = src[(long long)i * dim + j];
	C *row = cache + (long long)cells[i] * dim;
	if constexpr (sizeof(C) == 2)
		row[j] = __float2half_rn(v);
	else
		row[j] = v;
}

extern "C" int golem_cuda_kv_store(void *cache, int cache_type, const float *src, const int32_t *cells, int n, int dim, void *stream) {
	if (n == 0 || dim == 0) return 0;
	dim3 grid(cdiv(dim, 256), n);
	cudaStream_t s = GOLEM_STREAM(stream);
	switch (cache_type) {
	case GOLEM_TYPE_F32: kv_store_kernel<float><<<grid, 256, 0, s>>>((float *)cache, src, cells, dim); break;
	case GOLEM_TYPE_F16: kv_store_kernel<__half><<<grid, 256, 0, s>>>((__half *)cache, src, cells, dim); break;
	default: return GOLEM_ERR_TYPE;
	}
	GOLEM_LAUNCHED();
}
