package cpu

import (
	"fmt"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// GetRows copies (dequantizing) table rows ids into dst.
func (b *Backend) GetRows(dst, table backend.Tensor, ids []int32) error {
	d, err := b.own(dst, "get_rows dst")
	if err != nil {
		return err
	}
	t, err := b.own(table, "get_rows table")
	if err != nil {
		return err
	}
	if d.dt != gguf.TypeF32 || d.rowLen() != t.rowLen() || d.rows() != len(ids) {
		return fmt.Errorf("get_rows: dst %s, want F32 [%d %d]", d, len(ids), t.rowLen())
	}
	rows := t.rows()
	for i, id := range ids {
		if id < 0 || int(id) >= rows {
			return fmt.Errorf("get_rows: id %d at %d outside the %d rows of %s", id, i, rows, t.name)
		}
	}
	return gguf.Guard(func() error {
		for i, id := range ids {
			if err := quant.Dequantize(t.dt, t.row(int(id)), d.f32row(i)); err != nil {
				return fmt.Errorf("get_rows %s: %w", t.name, err)
			}
		}
		return nil
	})
}

// TopK picks each row's k largest probabilities (lower index first on ties).
func (b *Backend) TopK(weights, ids, probs backend.Tensor, k int, renorm bool) error {
	wt, err := b.own(weights, "top_k weights")
	if err != nil {
		return err
	}
	it, err := b.own(ids, "top_k ids")
	if err != nil {
		return err
	}
	pt, err := b.own(probs, "top_k probs")
	if err != nil {
		return err
	}
	n, e := pt.rows(), pt.rowLen()
	switch {
	case pt.dt != gguf.TypeF32:
		return fmt.Errorf("top_k: probs %s must be F32", pt)
	case k <= 0 || k > e:
		return fmt.Errorf("top_k: k=%d outside 1..%d", k, e)
	case wt.dt != gguf.TypeF32 || wt.rows() != n || wt.rowLen() != k:
		return fmt.Errorf("top_k: weights %s, want F32 [%d %d]", wt, n, k)
	case it.dt != gguf.TypeI32 || it.rows() != n || it.rowLen() != k:
		return fmt.Errorf("top_k: ids %s, want I32 [%d %d]", it, n, k)
	}
	for r := range n {
		p := pt.f32row(r)
		sel := it.i32[r*k : (r+1)*k]
		w := wt.f32[r*k : (r+1)*k]
		// Selection by repeated scans: k and the expert count are small.
		for j := range k {
			best := -1
			for c, v := range p {
				if taken(sel[:j], c) {
					continue
				}
				if best < 0 || v > p[best] {
					best = c
				}
			}
			sel[j] = int32(best)
			w[j] = p[best]
		}
		if renorm {
			var sum float32
			for _, v := range w {
				sum += v
			}
			for j := range w {
				w[j] /= sum
			}
		}
	}
	return nil
}

func taken(sel []int32, c int) bool {
	for _, s := range sel {
		if int(s) == c {
			return true
		}
	}
	return false
}

// MatMulID multiplies each token's input by the weights of its selected experts.
func (b *Backend) MatMulID(dst, x, w, ids backend.Tensor) error {
	d, err := b.own(dst, "mul_mat_id dst")
	if err != nil {
		return err
	}
	xt, err := b.own(x, "mul_mat_id x")
	if err != nil {
		return err
	}
	wt, err := b.own(w, "mul_mat_id w")
	if err != nil {
		return err
	}
	it, err := b.own(ids, "mul_mat_id ids")
	if err != nil {
		return err
	}
	if len(wt.shape) != 3 {
		return fmt.Errorf("mul_mat_id: weight %s is not [experts, out, in]", wt)
	}
	nExp, out, in := wt.shape[0], wt.shape[1], wt.shape[2]
	if it.dt != gguf.TypeI32 || len(it.shape) != 2 {
		return fmt.Errorf("mul_mat_id: ids %s must be I32 [n, k]", it)
	}
	n, k := it.shape[0], it.shape[1]
	if xt.dt != gguf.TypeF32 || len(xt.shape) != 3 || xt.shape[0] != n || (xt.shape[1] != 1 && xt.shape[1] != k) || xt.shape[2] != in {
		return fmt.Errorf("mul_mat_id: x %s, want F32 [%d 1|%d %d]", xt, n, k, in)
	}
	if d.dt != gguf.TypeF32 || !d.shape.Equal(backend.Shape{n, k, out}) {
		return fmt.Errorf("mul_mat_id: dst %s, want F32 [%d %d %d]", d, n, k, out)
	}
	for i, e := range it.i32 {
		if e < 0 || int(e) >= nExp {
			return fmt.Errorf("mul_mat_id: expert id %d at %d outside 0..%d", e, i, nExp-1)
		}
	}
	vt, err := vecDotType(wt.dt)
	if err != nil {
		return fmt.Errorf("mul_mat_id %s: %w", wt.name, err)
	}
	xs := xt.shape[1]
	xq, err := b.quantizeRows(vt, xt.f32, n*xs, in)
	if err != nil {
		return fmt.Errorf("mul_mat_id %s: %w", wt.name, err)
	}
	xrb := in / vt.BlockSize() * vt.BlockBytes()
	expBytes := len(wt.data) / nExp
	// One expert at a time: gather the (token, slot) rows routed to it and multiply them
	// as one batch, so each expert's weights are read once per call.
	g := &b.scratch.gather
	for e := range nExp {
		g.reset()
		for t := range n {
			for s := range k {
				if int(it.i32[t*k+s]) != e {
					continue
				}
				xr := t*xs + min(s, xs-1)
				g.dstRows = append(g.dstRows, int32(t*k+s))
				g.xq = append(g.xq, xq[xr*xrb:(xr+1)*xrb]...)
			}
		}
		if len(g.dstRows) == 0 {
			continue
		}
		j := &b.jobs.matmul
		*j = matmulJob{
			b: b, w: wt.data[e*expBytes : (e+1)*expBytes], wt: wt.dt, vt: vt,
			xq: g.xq, n: len(g.dstRows), in: in, out: out,
			dst: d.f32, dstStride: out, dstRows: g.dstRows, kern: b.kernel(wt.dt),
		}
		j.prepare()
		if err := b.run(out, 16, j); err != nil {
			return err
		}
	}
	return nil
}

// WeightedSum combines each token's k expert outputs with its routing weights, as
// llama.cpp does: each output scaled in float32, then added in slot order.
func (b *Backend) WeightedSum(dst, x, w backend.Tensor) error {
	d, err := b.own(dst, "weighted_sum dst")
	if err != nil {
		return err
	}
	xt, err := b.own(x, "weighted_sum x")
	if err != nil {
		return err
	}
	wt, err := b.own(w, "weighted_sum w")
	if err != nil {
		return err
	}
	if xt.dt != gguf.TypeF32 || len(xt.shape) != 3 {
		return fmt.Errorf("weighted_sum: x %s must be F32 [n, k, d]", xt)
	}
	n, k, dim := xt.shape[0], xt.shape[1], xt.shape[2]
	if wt.dt != gguf.TypeF32 || wt.rows() != n || wt.rowLen() != k {
		return fmt.Errorf("weighted_sum: w %s, want F32 [%d %d]", wt, n, k)
	}
	if d.dt != gguf.TypeF32 || d.rows() != n || d.rowLen() != dim {
		return fmt.Errorf("weighted_sum: dst %s, want F32 [%d %d]", d, n, dim)
	}
	for t := range n {
		out := d.f32[t*dim : (t+1)*dim]
		for j := range k {
			wj := wt.f32[t*k+j]
			row := xt.f32[(t*k+j)*dim : (t*k+j+1)*dim]
			if j == 0 {
				for i, v := range row {
					out[i] = v * wj
				}
				continue
			}
			for i, v := range row {
				out[i] += v * wj
			}
		}
	}
	return nil
}
