package cpu

import (
	"fmt"
	"math"

	"github.com/golem-llm/golem/backend"
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
	if kv == nil || layer < 0 || layer >= len(kv.K) {
		return fmt.Errorf("attention: layer %d outside the cache", layer)
	}
	kc, err := b.own(kv.K[layer], "cache k")
	if err != nil {
		return err
	}
	vc, err := b.own(kv.V[layer], "cache v")
	if err != nil {
		return err
	}
	if len(qt.shape) != 3 || len(kt.shape) != 3 || len(vt.shape) != 3 || len(d.shape) != 3 {
		return fmt.Errorf("attention: q %s, k %s, v %s, dst %s must be [tokens, heads, head_dim]", qt, kt, vt, d)
	}
	n, heads, hd := qt.shape[0], qt.shape[1], qt.shape[2]
	headsKV, hdv := kt.shape[1], vt.shape[2]
	switch {
	case qt.dt != gguf.TypeF32 || kt.dt != gguf.TypeF32 || vt.dt != gguf.TypeF32 || d.dt != gguf.TypeF32:
		return fmt.Errorf("attention: q, k, v and dst must be F32")
	case kt.shape[0] != n || vt.shape[0] != n || kt.shape[2] != hd || vt.shape[1] != headsKV:
		return fmt.Errorf("attention: k %s and v %s do not match q %s", kt, vt, qt)
	case headsKV <= 0 || heads%headsKV != 0:
		return fmt.Errorf("attention: %d heads are not a multiple of %d KV heads", heads, headsKV)
	case !d.shape.Equal(backend.Shape{n, heads, hdv}):
		return fmt.Errorf("attention: dst %s, want [%d %d %d]", d, n, heads, hdv)
	case kv.KDim != headsKV*hd || kv.VDim != headsKV*hdv:
		return fmt.Errorf("attention: cache rows of %d/%d values, k and v rows have %d/%d", kv.KDim, kv.VDim, headsKV*hd, headsKV*hdv)
	case batch == nil || batch.Len() != n:
		return fmt.Errorf("attention: batch describes %d tokens, q has %d", batchLen(batch), n)
	}
	if err := batch.Validate(kv.Size()); err != nil {
		return fmt.Errorf("attention: %w", err)
	}
	for i, c := range batch.Cells {
		if cl := kv.Cells[c]; cl.Seq != batch.Seq[i] || cl.Pos != batch.Pos[i] {
			return fmt.Errorf("attention: token %d (seq %d, pos %d) goes to cell %d, which is marked seq %d, pos %d",
				i, batch.Seq[i], batch.Pos[i], c, cl.Seq, cl.Pos)
		}
	}
	storeRows(kc, kt.f32, batch.Cells, kv.KDim)
	storeRows(vc, vt.f32, batch.Cells, kv.VDim)

	j := &b.jobs.attn
	*j = attnJob{b: b, q: qt.f32, dst: d.f32, kc: kc, vc: vc, kv: kv, batch: batch, p: p,
		heads: heads, group: heads / headsKV, hd: hd, hdv: hdv}
	if p.MaxALiBiBias > 0 {
		j.nHeadLog2 = 1 << int(math.Floor(math.Log2(float64(heads))))
		j.m0 = float32(math.Pow(2, -float64(p.MaxALiBiBias)/float64(j.nHeadLog2)))
		j.m1 = float32(math.Pow(2, -float64(p.MaxALiBiBias)/2/float64(j.nHeadLog2)))
	}
	return b.run(n*heads, 1, j)
}

func batchLen(b *backend.Batch) int {
	if b == nil {
		return 0
	}
	return b.Len()
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

func (j *attnJob) run(w, lo, hi int) {
	cells := j.kv.Size()
	scores := j.b.scratch.worker(w, 0, cells)
	qbuf := j.b.scratch.worker(w, 1, j.hd)
	acc := j.b.scratch.worker(w, 2, j.hdv)
	f16 := j.kc.dt == gguf.TypeF16
	var kh, vh []uint16
	if f16 {
		kh, vh = bytesAs[uint16](j.kc.data), bytesAs[uint16](j.vc.data)
	}
	for item := lo; item < hi; item++ {
		t, h := item/j.heads, item%j.heads
		kvh := h / j.group
		q := j.q[item*j.hd : (item+1)*j.hd]
		if f16 {
			// llama.cpp multiplies an F16 cache by Q rounded to F16.
			for i, x := range q {
				qbuf[i] = quant.FP16ToFP32(quant.FP32ToFP16(x))
			}
			q = qbuf
		}
		var slope float32
		if j.p.MaxALiBiBias > 0 {
			slope = j.alibiSlope(h)
		}
		seq, pos := j.batch.Seq[t], j.batch.Pos[t]
		maxS := float32(math.Inf(-1))
		for c := range cells {
			if !j.kv.Visible(c, seq, pos, j.p) {
				scores[c] = float32(math.Inf(-1))
				continue
			}
			off := c*j.kv.KDim + kvh*j.hd
			var s float32
			if f16 {
				s = dotF32F16(q, kh[off:off+j.hd])
			} else {
				s = dotF32(q, j.kc.f32[off:off+j.hd])
			}
			if j.p.SoftCap > 0 {
				s = j.p.SoftCap * float32(math.Tanh(float64(s/j.p.SoftCap)))
			}
			s *= j.p.Scale
			if slope != 0 {
				s += slope * -float32(abs32(pos-j.kv.Cells[c].Pos))
			}
			scores[c] = s
			maxS = max(maxS, s)
		}
		out := j.dst[item*j.hdv : (item+1)*j.hdv]
		clear(acc)
		if math.IsInf(float64(maxS), -1) {
			copy(out, acc)
			continue
		}
		var sum float64
		for c, s := range scores {
			if math.IsInf(float64(s), -1) {
				scores[c] = 0
				continue
			}
			e := expf(s - maxS)
			scores[c] = e
			sum += float64(e)
		}
		inv := float32(1 / sum)
		for c, s := range scores {
			if s == 0 {
				continue
			}
			p := s * inv
			off := c*j.kv.VDim + kvh*j.hdv
			if f16 {
				p = quant.FP16ToFP32(quant.FP32ToFP16(p))
				for i := range acc {
					acc[i] += p * quant.FP16ToFP32(vh[off+i])
				}
			} else {
				v := j.vc.f32[off : off+j.hdv]
				for i := range acc {
					acc[i] += p * v[i]
				}
			}
		}
		copy(out, acc)
	}
}

func abs32(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

func dotF32F16(a []float32, b []uint16) float32 {
	var s float32
	for i, x := range a {
		s += x * quant.FP16ToFP32(b[i])
	}
	return s
}
