package cpu

import (
	"fmt"
	"math"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu/kernels"
	"github.com/golem-llm/golem/gguf"
)

// ropeJob rotates tokens [lo, hi) of x [n, heads, headDim].
type ropeJob struct {
	b          *Backend
	x          []float32
	pos        []int32
	heads, hd  int
	p          backend.RoPEParams
	thetaScale float32
	freqScale  float32
	mscale     float32
	corr       [2]float32
}

// RoPE rotates the first p.Dims dimensions of every head in place.
func (b *Backend) RoPE(x backend.Tensor, pos []int32, p backend.RoPEParams) error {
	xt, err := b.own(x, "rope x")
	if err != nil {
		return err
	}
	if xt.dt != gguf.TypeF32 || len(xt.shape) != 3 {
		return fmt.Errorf("rope: x %s must be F32 [tokens, heads, head_dim]", xt)
	}
	n, heads, hd := xt.shape[0], xt.shape[1], xt.shape[2]
	switch {
	case len(pos) != n:
		return fmt.Errorf("rope: %d positions for %d tokens", len(pos), n)
	case p.Dims <= 0 || p.Dims > hd || p.Dims%2 != 0:
		return fmt.Errorf("rope: %d rotated dims for head size %d (want an even number ≤ head size)", p.Dims, hd)
	case p.Base <= 0:
		return fmt.Errorf("rope: frequency base %g must be positive", p.Base)
	case p.Freqs != nil && len(p.Freqs) < p.Dims/2:
		return fmt.Errorf("rope: %d frequency factors for %d pairs", len(p.Freqs), p.Dims/2)
	case p.Mode != backend.RoPENormal && p.Mode != backend.RoPENeoX:
		return fmt.Errorf("rope: unknown mode %d", p.Mode)
	}
	j := &b.jobs.rope
	*j = ropeJob{b: b, x: xt.f32, pos: pos, heads: heads, hd: hd, p: p}
	j.freqScale = p.FreqScale
	if j.freqScale == 0 {
		j.freqScale = 1
	}
	j.mscale = p.AttnFactor
	if j.mscale == 0 {
		j.mscale = 1
	}
	j.thetaScale = float32(math.Pow(float64(p.Base), -2/float64(p.Dims)))
	j.corr = yarnCorrDims(p.Dims, p.OrigCtx, p.Base, p.BetaFast, p.BetaSlow)
	return b.run(n, 4, j)
}

// yarnCorrDims is the range of dimensions YaRN blends over (ggml_rope_yarn_corr_dims).
func yarnCorrDims(nDims, origCtx int, base, betaFast, betaSlow float32) [2]float32 {
	if origCtx <= 0 {
		return [2]float32{0, 0}
	}
	dim := func(nRot float32) float32 {
		return float32(nDims) * float32(math.Log(float64(float32(origCtx)/(nRot*2*math.Pi)))) / (2 * float32(math.Log(float64(base))))
	}
	start := float32(math.Floor(float64(dim(betaFast))))
	end := float32(math.Ceil(float64(dim(betaSlow))))
	return [2]float32{max(0, start), min(float32(nDims-1), end)}
}

// yarnRamp is 1 below the correction range, 0 above it, linear between.
func yarnRamp(low, high float32, i0 int) float32 {
	y := (float32(i0/2) - low) / max(0.001, high-low)
	return 1 - min(1, max(0, y))
}

func (j *ropeJob) run(w, lo, hi int) {
	pairs := j.p.Dims / 2
	cs := j.b.scratch.worker(w, 0, 2*pairs)
	for t := lo; t < hi; t++ {
		// Angles by repeated float32 multiplication, as ggml does (not powf per pair).
		theta := float32(j.pos[t])
		for i := range pairs {
			ff := float32(1)
			if j.p.Freqs != nil {
				ff = j.p.Freqs[i]
			}
			c, s := j.yarn(theta/ff, 2*i)
			cs[2*i], cs[2*i+1] = c, s
			theta *= j.thetaScale
		}
		for h := range j.heads {
			x := j.x[(t*j.heads+h)*j.hd : (t*j.heads+h+1)*j.hd]
			for i := range pairs {
				a, b := 2*i, 2*i+1
				if j.p.Mode == backend.RoPENeoX {
					a, b = i, i+pairs
				}
				c, s := cs[2*i], cs[2*i+1]
				x0, x1 := x[a], x[b]
				// ggml's `x0*cos - x1*sin` and `x0*sin + x1*cos` as GCC contracts them
				// (-ffp-contract=fast): the second product rounded, the first fused.
				x[a] = kernels.FMA32(x0, c, -float32(x1*s))
				x[b] = kernels.FMA32(x0, s, float32(x1*c))
			}
		}
	}
}

// yarn returns cos and sin of the angle for dimension i0 (ggml's rope_yarn): linear
// interpolation by freqScale, blended with extrapolation over YaRN's ramp.
func (j *ropeJob) yarn(thetaExtrap float32, i0 int) (float32, float32) {
	thetaInterp := j.freqScale * thetaExtrap
	theta := thetaInterp
	mscale := j.mscale
	if j.p.ExtFactor != 0 {
		mix := yarnRamp(j.corr[0], j.corr[1], i0) * j.p.ExtFactor
		theta = float32(thetaInterp*(1-mix)) + float32(thetaExtrap*mix)
		mscale *= 1 + 0.1*float32(math.Log(float64(1/j.freqScale)))
	}
	return float32(math.Cos(float64(theta))) * mscale, float32(math.Sin(float64(theta))) * mscale
}
