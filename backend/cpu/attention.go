package cpu

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu/kernels"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// attnJob computes attention for (token, head) pairs [lo, hi).
type attnJob struct {
	b            *Backend
	q, dst       []float32
	kc, vc       *tensor // the layer's cache
	kv           *backend.KVCache
	batch        *backend.Batch
	p            backend.AttnParams
	heads, group int // group = heads per KV head
	hd, hdv      int
	nkv          int     // llama.cpp's n_kv: used cells padded to 32, at most the cache size
	m0, m1       float32 // ALiBi slope bases
	nHeadLog2    int
}

// Attention stores the batch's K and V in the cache, then attends.
func (b *Backend) Attention(dst, q, k, v backend.Tensor, kv *backend.KVCache, layer int, batch *backend.Batch, p backend.AttnParams) error {
	d, err := b.own(dst, "attention dst")
	if err != nil {
		return err
	}
	qt, err := b.own(q, "attention q")
	if err != nil {
		return err
	}
	kt, err := b.own(k, "attention k")
	if err != nil {
		return err
	}
	vt, err := b.own(v, "attention v")
	if err != nil {
		return err
	}
	ad, err := backend.CheckAttention(dst, q, k, v, kv, layer, batch)
	if err != nil {
		return err
	}
	n, heads, headsKV, hd, hdv := ad.Tokens, ad.Heads, ad.HeadsKV, ad.HeadDim, ad.HeadDimV
	kc, err := b.own(kv.K[layer], "cache k")
	if err != nil {
		return err
	}
	vc, err := b.own(kv.V[layer], "cache v")
	if err != nil {
		return err
	}
	storeRows(kc, kt.f32, batch.Cells, kv.KDim)
	storeRows(vc, vt.f32, batch.Cells, kv.VDim)

	j := &b.jobs.attn
	*j = attnJob{b: b, q: qt.f32, dst: d.f32, kc: kc, vc: vc, kv: kv, batch: batch, p: p,
		heads: heads, group: heads / headsKV, hd: hd, hdv: hdv, nkv: usedCells(kv)}
	if p.MaxALiBiBias > 0 {
		j.nHeadLog2 = 1 << int(math.Floor(math.Log2(float64(heads))))
		j.m0 = float32(math.Pow(2, -float64(p.MaxALiBiBias)/float64(j.nHeadLog2)))
		j.m1 = float32(math.Pow(2, -float64(p.MaxALiBiBias)/2/float64(j.nHeadLog2)))
	}
	return b.run(n*heads, 1, j)
}

// usedCells is llama.cpp's n_kv: one past the last used cell, padded to 32 (its padding
// without flash attention), at least 32 and at most the cache size.
func usedCells(kv *backend.KVCache) int {
	last := 0
	for c, cl := range kv.Cells {
		if cl.Seq >= 0 {
			last = c + 1
		}
	}
	return min(kv.Size(), max(32, (last+31)&^31))
}

// storeRows writes row i of src into cache row cells[i], converting to F16 if needed.
func storeRows(c *tensor, src []float32, cells []int32, dim int) {
	for i, cell := range cells {
		row := src[i*dim : (i+1)*dim]
		switch c.dt {
		case gguf.TypeF32:
			copy(c.f32[int(cell)*dim:], row)
		case gguf.TypeF16:
			h := bytesAs[uint16](c.data)[int(cell)*dim:]
			for k, x := range row {
				h[k] = quant.FP32ToFP16(x)
			}
		}
	}
}

// alibiSlope is head h's ALiBi slope, as ggml's soft_max computes it.
func (j *attnJob) alibiSlope(h int) float32 {
	if h < j.nHeadLog2 {
		return float32(math.Pow(float64(j.m0), float64(h+1)))
	}
	return float32(math.Pow(float64(j.m1), float64(2*(h-j.nHeadLog2)+1)))
}

// run follows what llama.cpp's CPU backend computes for attention without flash
// attention (kq = mul_mat(k, q); soft_max_ext; kqv = mul_mat(v, kq), V transposed in the
// cache) over its n_kv cells, in the same float32 orders:
//   - kq: ggml_vec_dot_f32 (four 8-lane accumulators) for an F32 cache; for an F16 cache
//     q is rounded to fp16 and tinyBLAS's F16 product (batches of two or more) or
//     ggml_vec_dot_f16 takes it;
//   - softmax: scaled, ALiBi bias added with a fused multiply-add, ggml's vectorised expf
//     on whole groups of 8 cells (libm's on the rest), each group summed in
//     hsum_float_8's order into a double;
//   - kqv: for batches of two or more (n_kv % 8 == 0, hdv % 4 == 0), tinyBLAS: lane c%8 of
//     an 8-lane accumulator per output dim, then hsum; otherwise ggml_vec_dot (lanes
//     c%32, GGML_F32x8_REDUCE, leftovers one by one).
func (j *attnJob) run(w, lo, hi int) {
	nkv := j.nkv
	scores := j.b.scratch.worker(w, 0, nkv)
	qhf := j.b.scratch.worker(w, 1, (j.hd+1)/2)
	qh := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(qhf))), 4*len(qhf))[:2*j.hd]
	batched := j.batch.Len() >= 2
	tiny := batched && nkv%8 == 0 && j.hdv%4 == 0
	nl := 32
	if tiny {
		nl = 8
	}
	lanes := j.b.scratch.worker(w, 2, nl*j.hdv)
	vbuf := j.b.scratch.worker(w, 3, j.hdv)
	f16 := j.kc.dt == gguf.TypeF16
	tinyK := f16 && batched && j.hd%8 == 0 && nkv%4 == 0
	var kb []byte
	var vh []uint16
	if f16 {
		kb, vh = j.kc.data, bytesAs[uint16](j.vc.data)
	}
	for item := lo; item < hi; item++ {
		t, h := item/j.heads, item%j.heads
		kvh := h / j.group
		q := j.q[item*j.hd : (item+1)*j.hd]
		if f16 {
			// llama.cpp multiplies an F16 cache by Q rounded to F16.
			for i, x := range q {
				binary.LittleEndian.PutUint16(qh[2*i:], quant.FP32ToFP16(x))
			}
		}
		var slope float32
		if j.p.MaxALiBiBias > 0 {
			slope = j.alibiSlope(h)
		}
		seq, pos := j.batch.Seq[t], j.batch.Pos[t]
		maxS := float32(math.Inf(-1))
		for c := range nkv {
			if !j.kv.Visible(c, seq, pos, j.p) {
				scores[c] = float32(math.Inf(-1))
				continue
			}
			off := c*j.kv.KDim + kvh*j.hd
			var s float32
			switch {
			case tinyK:
				s = kernels.TinyDotF16(kb[2*off:2*(off+j.hd)], qh, j.hd)
			case f16:
				s = kernels.DotF16(kb[2*off:2*(off+j.hd)], qh, j.hd)
			default:
				s = kernels.DotF32(j.kc.f32[off:off+j.hd], q)
			}
			if j.p.SoftCap > 0 {
				// ggml_scale by 1/cap, ggml_tanh, ggml_scale by cap.
				s = mul32(float32(math.Tanh(float64(mul32(s, 1/j.p.SoftCap)))), j.p.SoftCap)
			}
			s = mul32(s, j.p.Scale)
			if slope != 0 {
				s = kernels.FMA32(slope, -float32(abs32(pos-j.kv.Cells[c].Pos)), s)
			}
			scores[c] = s
			maxS = max(maxS, s)
		}
		out := j.dst[item*j.hdv : (item+1)*j.hdv]
		if math.IsInf(float64(maxS), -1) {
			clear(out)
			continue
		}
		// ggml_vec_soft_max_f32.
		vec := nkv &^ 7
		var sum float64
		for g := 0; g < vec; g += 8 {
			var e [8]float32
			for l := range 8 {
				if x := scores[g+l]; !math.IsInf(float64(x), -1) {
					e[l] = vExpf(x - maxS)
				}
				scores[g+l] = e[l]
			}
			sum += float64(kernels.HSum8(&e))
		}
		for c := vec; c < nkv; c++ {
			var e float32
			if x := scores[c]; !math.IsInf(float64(x), -1) {
				e = expf(x - maxS)
			}
			scores[c] = e
			sum += float64(e)
		}
		inv := float32(1 / sum)
		clear(lanes)
		np := nkv
		if !tiny {
			np = nkv &^ 31
		}
		for c := range np {
			if scores[c] == 0 {
				continue // a masked cell adds exact zeros
			}
			p, v := j.vrow(c, kvh, mul32(scores[c], inv), f16, vh, vbuf)
			l := c % nl
			kernels.AxpyF32(lanes[l*j.hdv:(l+1)*j.hdv], v, p)
		}
		reduceLanes(out, lanes, nl, j.hdv)
		// ggml_vec_dot's leftovers (n_kv not a multiple of 32: a cache smaller than 32
		// cells or of an odd size): one at a time, float32 fused for F32, double for F16.
		if np < nkv {
			if f16 {
				acc64 := make([]float64, j.hdv)
				for i, x := range out {
					acc64[i] = float64(x)
				}
				for c := np; c < nkv; c++ {
					if scores[c] == 0 {
						continue
					}
					p, v := j.vrow(c, kvh, mul32(scores[c], inv), f16, vh, vbuf)
					for i := range acc64 {
						acc64[i] += float64(mul32(v[i], p))
					}
				}
				for i := range out {
					out[i] = float32(acc64[i])
				}
			} else {
				for c := np; c < nkv; c++ {
					if scores[c] == 0 {
						continue
					}
					p, v := j.vrow(c, kvh, mul32(scores[c], inv), f16, vh, vbuf)
					kernels.AxpyF32(out, v, p)
				}
			}
		}
	}
}

// vrow returns cell c's V values for KV head kvh and the weight p as the product with V
// sees them: for an F16 cache, the weights rounded to fp16 and V converted into buf.
func (j *attnJob) vrow(c, kvh int, p float32, f16 bool, vh []uint16, buf []float32) (float32, []float32) {
	off := c*j.kv.VDim + kvh*j.hdv
	if !f16 {
		return p, j.vc.f32[off : off+j.hdv]
	}
	for i := range buf {
		buf[i] = quant.FP16ToFP32(vh[off+i])
	}
	return quant.FP16ToFP32(quant.FP32ToFP16(p)), buf
}

func abs32(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

// reduceLanes sets out[i] to the reduction of lanes[l*hdv+i] over the nl lanes l:
// kernels.HSum8 for 8 lanes, kernels.Reduce4x8 (lanes 8a+b as accumulator a, lane b) for
// 32. The same additions in the same order, but done a step at a time across all i
// over whole lane rows instead of by a strided gather per output. It overwrites lanes.
func reduceLanes(out, lanes []float32, nl, hdv int) {
	row := func(l int) []float32 { return lanes[l*hdv : (l+1)*hdv : (l+1)*hdv][:len(out)] }
	if nl == 32 {
		// GGML_F32x8_REDUCE's accumulator adds (0+2, 1+3, then 0+1), into rows 0..7.
		for l := range 8 {
			x, a1, a2, a3 := row(l), row(8+l), row(16+l), row(24+l)
			for i := range x {
				x[i] = add32(add32(x[i], a2[i]), add32(a1[i], a3[i]))
			}
		}
		x0, x1, x2, x3 := row(0), row(1), row(2), row(3)
		x4, x5, x6, x7 := row(4), row(5), row(6), row(7)
		for i := range out {
			t0, t1 := add32(x0[i], x4[i]), add32(x1[i], x5[i])
			t2, t3 := add32(x2[i], x6[i]), add32(x3[i], x7[i])
			out[i] = add32(add32(t0, t1), add32(t2, t3))
		}
		return
	}
	v0, v1, v2, v3 := row(0), row(1), row(2), row(3)
	v4, v5, v6, v7 := row(4), row(5), row(6), row(7)
	for i := range out {
		r0, r1 := add32(v4[i], v0[i]), add32(v5[i], v1[i])
		r2, r3 := add32(v6[i], v2[i]), add32(v7[i], v3[i])
		out[i] = add32(add32(r0, r2), add32(r1, r3))
	}
}

// add32 is a float32 sum (a named step, as in package kernels).
func add32(a, b float32) float32 { return float32(a + b) }
