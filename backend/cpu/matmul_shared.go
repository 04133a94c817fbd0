package cpu

import (
	"fmt"

	"github.com/golem-llm/golem/backend"
)

// maxShared is the most weights MatMulShared takes in one pass (attention's Q, K, V).
const maxShared = 4

// MatMulShared computes dst[i] = x · w[i]ᵀ for every i: the products of one input by
// several weights (attention's Q, K and V; the MLP's gate and up). x is quantized once
// and all the weights' rows go through the pool in one pass, so the threads meet once
// instead of once per weight. Each output is computed exactly as MatMul computes it.
func (b *Backend) MatMulShared(dst []backend.Tensor, x backend.Tensor, w []backend.Tensor) error {
	if len(dst) != len(w) || len(w) == 0 || len(w) > maxShared {
		return fmt.Errorf("matmul_shared: %d outputs for %d weights (1 to %d)", len(dst), len(w), maxShared)
	}
	j := &b.jobs.shared
	*j = sharedJob{}
	var xt *tensor
	for i := range w {
		d, x1, wt, n, in, out, err := b.matmulShapes(dst[i], x, w[i])
		if err != nil {
			return err
		}
		vt, err := vecDotType(wt.dt)
		if err != nil {
			return fmt.Errorf("matmul %s: %w", wt.name, err)
		}
		if i > 0 && vt != j.parts[0].vt {
			// Activations rounded differently for each weight: one product at a time.
			for k := range w {
				if err := b.MatMul(dst[k], x, w[k]); err != nil {
					return err
				}
			}
			return nil
		}
		xt = x1
		j.parts[i] = matmulJob{b: b, w: wt.data, wt: wt.dt, vt: vt, n: n, in: in, out: out, dst: d.f32, dstStride: out, kern: b.kernel(wt.dt)}
	}
	p0 := &j.parts[0]
	xq, err := b.quantizeRows(p0.vt, xt.f32, p0.n, p0.in)
	if err != nil {
		return fmt.Errorf("matmul %s: %w", w[0].Name(), err)
	}
	j.grain = matmulGrain(p0.n)
	total := 0
	for i := range w {
		p := &j.parts[i]
		p.xq = xq
		p.prepare()
		total += (p.out + j.grain - 1) / j.grain
		j.ends[i] = total
	}
	err = b.run(total, 1, j)
	*j = sharedJob{}
	return err
}

// sharedJob runs MatMulShared's products: item k is a chunk of grain rows of one
// weight, the weights' chunks one after another (ends[i] is the item after weight i's).
type sharedJob struct {
	parts [maxShared]matmulJob
	ends  [maxShared]int
	grain int
}

func (j *sharedJob) run(w, lo, hi int) {
	for k := lo; k < hi; k++ {
		i := 0
		for k >= j.ends[i] {
			i++
		}
		first := 0
		if i > 0 {
			first = j.ends[i-1]
		}
		p := &j.parts[i]
		r := (k - first) * j.grain
		p.run(w, r, min(r+j.grain, p.out))
	}
}
