// Attention over the KV cache, with per-sequence masking, causal and sliding-window
// limits, GQA/MQA, soft-capping and ALiBi (backend.AttnParams; formulas as
// backend/cpu/attention.go).
//
// One kernel serves both phases. A thread block holds ATTN_WARPS warps, one query row
// (token) each, all of the same head; the block streams the cache through shared
// memory in tiles of cells, so every K/V tile it loads serves ATTN_WARPS queries (the
// tiled form for prefill). Each warp keeps an online softmax (running max, sum and
// output row) over the cells it may see. When there are too few (token, head) rows to
// fill the device — decode — the cells are split among several blocks as well
// (flash-decoding): each writes a partial (max, sum, row) and a second kernel
// combines them.
#include "common.cuh"

#define ATTN_WARPS 4
#define ATTN_MAX_D 256
#define ATTN_SHARED_FLOATS 12288 // 48 KiB of K and V tile

static int attn_tile(const golem_attn_params *p) {
	int t = ATTN_SHARED_FLOATS / (p->head_dim + p->head_dim_v);
	return t > 32 ? 32 : t;
}

static int attn_splits(const golem_attn_params *p) {
	long long rows = (long long)p->heads * ((p->n_tokens + ATTN_WARPS - 1) / ATTN_WARPS);
	if (rows >= 256 || p->cells < 512) return 1;
	int s = (int)((256 + rows - 1) / rows);
	int by_cells = (p->cells + 255) / 256;
	if (s > by_cells) s = by_cells;
	if (s > 32) s = 32;
	return s < 1 ? 1 : s;
}

extern "C" size_t golem_cuda_attention_scratch(const golem_attn_params *p) {
	int s = attn_splits(p);
	if (s == 1) return 0;
	return (size_t)p->n_tokens * p->heads * s * (p->head_dim_v + 2);
}

template <typename C>
static __device__ __forceinline__ float cache_val(const C *c, long long i) {
	if constexpr (sizeof(C) == 2)
		return __half2float(c[i]);
	else
		return c[i];
}

template <typename C>
static __global__ void attn_kernel(float *dst, float *part, const float *q, const C *kc, const C *vc, const int32_t *cell_pos,
                                   const int32_t *cell_seq, const int32_t *tok_pos, const int32_t *tok_seq, golem_attn_params p,
                                   int tile, int splits) {
	extern __shared__ float sh[];
	float *Ks = sh, *Vs = sh + tile * p.head_dim;
	const int h = blockIdx.x, warp = threadIdx.x / 32, lane = threadIdx.x & 31;
	const int t = blockIdx.y * ATTN_WARPS + warp;
	const int sp = blockIdx.z;
	const int kvh = h / (p.heads / p.heads_kv);
	const int hd = p.head_dim, hdv = p.head_dim_v;
	const bool active = t < p.n_tokens;

	// This block's range of cells.
	int chunk = (p.cells + splits - 1) / splits;
	chunk = (chunk + tile - 1) / tile * tile;
	const int c0 = sp * chunk, c1 = min(p.cells, c0 + chunk);

	float qv[ATTN_MAX_D / 32], acc[ATTN_MAX_D / 32];
	int32_t tpos = 0, tseq = -1;
	float slope = 0.0f;
	if (active) {
		const float *qr = q + ((long long)t * p.heads + h) * hd;
#pragma unroll
		for (int i = 0; i < ATTN_MAX_D / 32; i++) {
			int d = lane + 32 * i;
			float v = d < hd ? qr[d] : 0.0f;
			if constexpr (sizeof(C) == 2) v = __half2float(__float2half_rn(v)); // q rounded to F16 for an F16 cache, as on CPU
			qv[i] = v;
		}
		tpos = tok_pos[t];
		tseq = tok_seq[t];
		if (p.alibi_m0 != 0.0f)
			slope = h < p.alibi_nlog2 ? powf(p.alibi_m0, (float)(h + 1)) : powf(p.alibi_m1, (float)(2 * (h - p.alibi_nlog2) + 1));
	}
#pragma unroll
	for (int i = 0; i < ATTN_MAX_D / 32; i++) acc[i] = 0.0f;
	float m = -INFINITY, l = 0.0f;

	for (int base = c0; base < c1; base += tile) {
		int nt = min(tile, c1 - base);
		__syncthreads();
		for (int e = threadIdx.x; e < nt * hd; e += blockDim.x) {
			int c = e / hd, d = e % hd;
			Ks[e] = cache_val(kc, (long long)(base + c) * p.k_dim + kvh * hd + d);
		}
		for (int e = threadIdx.x; e < nt * hdv; e += blockDim.x) {
			int c = e / hdv, d = e % hdv;
			Vs[e] = cache_val(vc, (long long)(base + c) * p.v_dim + kvh * hdv + d);
		}
		__syncthreads();
		if (!active) continue;
		for (int c = 0; c < nt; c++) {
			int cell = base + c;
			int32_t cseq = cell_seq[cell], cpos = cell_pos[cell];
			if (cseq < 0 || cseq != tseq) continue;
			if (p.causal && cpos > tpos) continue;
			if (p.window > 0 && tpos - cpos >= p.window) continue;
			float s = 0.0f;
#pragma unroll
			for (int i = 0; i < ATTN_MAX_D / 32; i++) {
				int d = lane + 32 * i;
				if (d < hd) s += qv[i] * Ks[c * hd + d];
			}
			s = warp_sum(s);
			if (p.softcap > 0.0f) s = tanhf(s * (1.0f / p.softcap)) * p.softcap;
			s *= p.scale;
			if (slope != 0.0f) s = fmaf(slope, -(float)abs(tpos - cpos), s);
			float mn = fmaxf(m, s);
			float corr = expf(m - mn), e = expf(s - mn);
			l = l * corr + e;
#pragma unroll
			for (int i = 0; i < ATTN_MAX_D / 32; i++) {
				int d = lane + 32 * i;
				if (d < hdv) acc[i] = acc[i] * corr + e * Vs[c * hdv + d];
			}
			m = mn;
		}
	}
	if (!active) return;
	long long row = (long long)t * p.heads + h;
	if (splits == 1) {
		float inv = l > 0.0f ? 1.0f / l : 0.0f;
		float *o = dst + row * hdv;
#pragma unroll
		for (int i = 0; i < ATTN_MAX_D / 32; i++) {
			int d = lane + 32 * i;
			if (d < hdv) o[d] = acc[i] * inv;
		}
		return;
	}
	float *pp = part + (row * splits + sp) * (hdv + 2);
	if (lane == 0) {
		pp[0] = m;
		pp[1] = l;
	}
#pragma unroll
	for (int i = 0; i < ATTN_MAX_D / 32; i++) {
		int d = lane + 32 * i;
		if (d < hdv) pp[2 + d] = acc[i];
	}
}

// Combines the splits' partial rows: one block per (token, head).
static __global__ void attn_combine_kernel(float *dst, const float *part, int splits, int hdv) {
	long long row = blockIdx.x;
	const float *pp = part + row * splits * (hdv + 2);
	float M = -INFINITY;
	for (int s = 0; s < splits; s++)
		if (pp[s * (hdv + 2) + 1] > 0.0f) M = fmaxf(M, pp[s * (hdv + 2)]);
	float L = 0.0f;
	for (int s = 0; s < splits; s++) {
		float ls = pp[s * (hdv + 2) + 1];
		if (ls > 0.0f) L += ls * expf(pp[s * (hdv + 2)] - M);
	}
	for (int d = threadIdx.x; d < hdv; d += blockDim.x) {
		float o = 0.0f;
		for (int s = 0; s < splits; s++) {
			const float *ps = pp + s * (hdv + 2);
			if (ps[1] > 0.0f) o += ps[2 + d] * expf(ps[0] - M);
		}
		dst[row * hdv + d] = L > 0.0f ? o / L : 0.0f;
	}
}

extern "C" int golem_cuda_attention(float *dst, const float *q, const void *kc, const void *vc, const int32_t *cell_pos,
                                    const int32_t *cell_seq, const int32_t *tok_pos, const int32_t *tok_seq,
                                    const golem_attn_params *p, float *scratch, size_t scratch_floats, void *stream) {
	if (p->head_dim > ATTN_MAX_D || p->head_dim_v > ATTN_MAX_D || p->heads_kv <= 0 || p->heads % p->heads_kv != 0)
		return GOLEM_ERR_SHAPE;
	if (p->n_tokens == 0) return 0;
	int tile = attn_tile(p), splits = attn_splits(p);
	if (splits > 1 && scratch_floats < golem_cuda_attention_scratch(p)) return GOLEM_ERR_SHAPE;
	dim3 grid(p->heads, (p->n_tokens + ATTN_WARPS - 1) / ATTN_WARPS, splits), block(32 * ATTN_WARPS);
	size_t shmem = (size_t)tile * (p->head_dim + p->head_dim_v) * sizeof(float);
	cudaStream_t s = GOLEM_STREAM(stream);
	switch (p->cache_type) {
	case GOLEM_TYPE_F32:
		attn_kernel<float><<<grid, block, shmem, s>>>(dst, scratch, q, (const float *)kc, (const float *)vc, cell_pos, cell_seq,
		                                              tok_pos, tok_seq, *p, tile, splits);
		break;
	case GOLEM_TYPE_F16:
		attn_kernel<__half><<<grid, block, shmem, s>>>(dst, scratch, q, (const __half *)kc, (const __half *)vc, cell_pos, cell_seq,
		                                               tok_pos, tok_seq, *p, tile, splits);
		break;
	default: return GOLEM_ERR_TYPE;
	}
	GOLEM_CHECK(cudaGetLastError());
	if (splits > 1) {
		attn_combine_kernel<<<p->n_tokens * p->heads, 64, 0, s>>>(dst, scratch, splits, p->head_dim_v);
	}
	GOLEM_LAUNCHED();
}
