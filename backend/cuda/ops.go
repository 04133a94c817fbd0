//go:build cuda

package cuda

import (
	"fmt"
	"math"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu"
	"github.com/golem-llm/golem/gguf"
)

// Kernels exist for these weight types (MatMul, GetRows).
func kernelType(t gguf.Type) bool {
	switch t {
	case gguf.TypeF32, gguf.TypeF16, gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ6_K:
		return true
	}
	return false
}

func quantized(t gguf.Type) bool { return t != gguf.TypeF32 && t != gguf.TypeF16 }

// matvecMaxRows is the largest batch the mat-vec kernels take (MATVEC_MAX_N); larger
// batches go to cuBLAS.
const matvecMaxRows = 8

// gemmTileElems bounds the F16 weight tile dequantized for one GEMM (64 MiB).
const gemmTileElems = 32 << 20

func (b *Backend) f32(t backend.Tensor, what string) (*tensor, error) {
	ct, err := b.own(t, what)
	if err != nil {
		return nil, err
	}
	if ct.dt != gguf.TypeF32 {
		return nil, fmt.Errorf("cuda: %s %s must be F32", what, ct)
	}
	return ct, nil
}

// MatMul: dst[n, out] = x[n, in] · w[out, in]ᵀ. Batches of up to 8 rows use the
// mat-vec kernels (quantized weights against Q8_1 activations, float weights against
// F32); larger ones dequantize the weight in tiles to F16 for cuBLAS (F32 accumulation).
func (b *Backend) MatMul(dst, x, w backend.Tensor) error {
	d, err := b.f32(dst, "matmul dst")
	if err != nil {
		return err
	}
	xt, err := b.f32(x, "matmul x")
	if err != nil {
		return err
	}
	wt, err := b.own(w, "matmul w")
	if err != nil {
		return err
	}
	if len(wt.shape) != 2 {
		return fmt.Errorf("cuda: matmul: weight %s must be 2-D", wt)
	}
	out, k := wt.shape[0], wt.shape[1]
	n := xt.shape.Rows()
	if xt.shape.Last() != k || d.shape.Last() != out || d.shape.Rows() != n {
		return fmt.Errorf("cuda: matmul: x %s, w %s, dst %s do not fit", xt, wt, d)
	}
	if !kernelType(wt.dt) || (quantized(wt.dt) && k%32 != 0) {
		return b.onHost("MatMul/"+wt.dt.String(), func(c *cpu.Backend, h func(backend.Tensor) backend.Tensor) error {
			return c.MatMul(h(dst), h(x), h(w))
		}, dst)
	}
	if n == 0 || out == 0 {
		return nil
	}
	if n <= matvecMaxRows {
		if !quantized(wt.dt) {
			return cMatVecF(d.ptr(), wt.ptr(), int(wt.dt), xt.ptr(), n, out, k, b.stream)
		}
		xq, err := b.scratchBuf("q8_1", n*(k/32)*36)
		if err != nil {
			return err
		}
		if err := cQuantizeQ8_1(xq, xt.ptr(), n, k, b.stream); err != nil {
			return err
		}
		return cMatVecQ(d.ptr(), wt.ptr(), int(wt.dt), xq, n, out, k, b.stream)
	}
	x16, err := b.scratchBuf("x16", 2*n*k)
	if err != nil {
		return err
	}
	if err := cF32ToF16(x16, xt.ptr(), n*k, b.stream); err != nil {
		return err
	}
	if wt.dt == gguf.TypeF16 {
		return cGemmF16(b.blas, d.ptr(), wt.ptr(), x16, n, out, k, out, b.stream)
	}
	rb, err := rowBytes(wt.dt, k)
	if err != nil {
		return err
	}
	tile := max(1, min(out, gemmTileElems/k))
	w16, err := b.scratchBuf("w16", 2*tile*k)
	if err != nil {
		return err
	}
	for r0 := 0; r0 < out; r0 += tile {
		rows := min(tile, out-r0)
		src := wt.ptr()
		src = addBytes(src, r0*rb)
		if wt.dt == gguf.TypeF32 {
			err = cF32ToF16(w16, src, rows*k, b.stream)
		} else {
			err = cDequantF16(w16, src, int(wt.dt), rows*k, b.stream)
		}
		if err != nil {
			return err
		}
		if err := cGemmF16(b.blas, addBytes(d.ptr(), 4*r0), w16, x16, n, rows, k, out, b.stream); err != nil {
			return err
		}
	}
	return nil
}

// GetRows: dst[i] = table[ids[i]] as F32.
func (b *Backend) GetRows(dst, table backend.Tensor, ids []int32) error {
	d, err := b.f32(dst, "get_rows dst")
	if err != nil {
		return err
	}
	tt, err := b.own(table, "get_rows table")
	if err != nil {
		return err
	}
	if len(tt.shape) != 2 {
		return fmt.Errorf("cuda: get_rows: table %s must be 2-D", tt)
	}
	rows, k := tt.shape[0], tt.shape[1]
	if d.shape.Last() != k || d.shape.Rows() != len(ids) {
		return fmt.Errorf("cuda: get_rows: dst %s for %d ids of %s", d, len(ids), tt)
	}
	for i, id := range ids {
		if id < 0 || int(id) >= rows {
			return fmt.Errorf("cuda: get_rows: id %d (index %d) outside the %d rows of %s", id, i, rows, tt)
		}
	}
	if !kernelType(tt.dt) || k%32 != 0 {
		return b.onHost("GetRows/"+tt.dt.String(), func(c *cpu.Backend, h func(backend.Tensor) backend.Tensor) error {
			return c.GetRows(h(dst), h(table), ids)
		}, dst)
	}
	if len(ids) == 0 {
		return nil
	}
	p, err := b.uploadInt32("ids", ids)
	if err != nil {
		return err
	}
	return cGetRows(d.ptr(), tt.ptr(), int(tt.dt), p, len(ids), k, b.stream)
}

// rowPair checks dst and x for a row-wise op: same shape, F32.
func (b *Backend) rowPair(op string, dst, x backend.Tensor) (*tensor, *tensor, error) {
	d, err := b.f32(dst, op+" dst")
	if err != nil {
		return nil, nil, err
	}
	xt, err := b.f32(x, op+" x")
	if err != nil {
		return nil, nil, err
	}
	if !d.shape.Equal(xt.shape) {
		return nil, nil, fmt.Errorf("cuda: %s: dst %s and x %s differ in shape", op, d, xt)
	}
	return d, xt, nil
}

// RMSNorm: dst = x / sqrt(mean(x²) + eps) · w.
func (b *Backend) RMSNorm(dst, x, w backend.Tensor, eps float32) error {
	d, xt, err := b.rowPair("rms_norm", dst, x)
	if err != nil {
		return err
	}
	var wp dptr
	if w != nil {
		wt, err := b.f32(w, "rms_norm w")
		if err != nil {
			return err
		}
		if wt.shape.Elements() != xt.shape.Last() {
			return fmt.Errorf("cuda: rms_norm: w %s for rows of %d", wt, xt.shape.Last())
		}
		wp = wt.ptr()
	}
	return cRMSNorm(d.ptr(), xt.ptr(), wp, xt.shape.Rows(), xt.shape.Last(), eps, b.stream)
}

// RoPE rotates x [n, heads, headDim] in place (backend/cpu/rope.go's formulas).
func (b *Backend) RoPE(x backend.Tensor, pos []int32, p backend.RoPEParams) error {
	xt, err := b.f32(x, "rope x")
	if err != nil {
		return err
	}
	if len(xt.shape) != 3 {
		return fmt.Errorf("cuda: rope: x %s must be [tokens, heads, head_dim]", xt)
	}
	n, heads, hd := xt.shape[0], xt.shape[1], xt.shape[2]
	switch {
	case len(pos) != n:
		return fmt.Errorf("cuda: rope: %d positions for %d tokens", len(pos), n)
	case p.Dims <= 0 || p.Dims > hd || p.Dims%2 != 0:
		return fmt.Errorf("cuda: rope: %d rotated dims for head size %d (want an even number ≤ head size)", p.Dims, hd)
	case p.Base <= 0:
		return fmt.Errorf("cuda: rope: frequency base %g must be positive", p.Base)
	case p.Freqs != nil && len(p.Freqs) < p.Dims/2:
		return fmt.Errorf("cuda: rope: %d frequency factors for %d pairs", len(p.Freqs), p.Dims/2)
	case p.Mode != backend.RoPENormal && p.Mode != backend.RoPENeoX:
		return fmt.Errorf("cuda: rope: unknown mode %d", p.Mode)
	}
	rp := ropeParams{dims: p.Dims, freqScale: p.FreqScale, extFact: p.ExtFactor, attnFactor: p.AttnFactor}
	if p.Mode == backend.RoPENeoX {
		rp.neox = 1
	}
	if rp.freqScale == 0 {
		rp.freqScale = 1
	}
	if rp.attnFactor == 0 {
		rp.attnFactor = 1
	}
	if rp.extFact != 0 {
		rp.attnFactor *= 1 + 0.1*float32(math.Log(float64(1/rp.freqScale)))
	}
	rp.thetaScale = float32(math.Pow(float64(p.Base), -2/float64(p.Dims)))
	corr := yarnCorrDims(p.Dims, p.OrigCtx, p.Base, p.BetaFast, p.BetaSlow)
	rp.corrLow, rp.corrHigh = corr[0], corr[1]
	if p.Freqs != nil {
		fp, err := b.scratchBuf("rope_freqs", 4*len(p.Freqs))
		if err != nil {
			return err
		}
		if err := b.upload(fp, f32Bytes(p.Freqs)); err != nil {
			return err
		}
		rp.freqs = fp
	}
	pp, err := b.uploadInt32("rope_pos", pos)
	if err != nil {
		return err
	}
	return cRoPE(xt.ptr(), pp, n, heads, hd, rp, b.stream)
}

// yarnCorrDims is backend/cpu's (ggml_rope_yarn_corr_dims).
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

// Softmax over each row.
func (b *Backend) Softmax(dst, x backend.Tensor) error {
	d, xt, err := b.rowPair("softmax", dst, x)
	if err != nil {
		return err
	}
	return cSoftmax(d.ptr(), xt.ptr(), xt.shape.Rows(), xt.shape.Last(), b.stream)
}

// SiLU: dst = x·sigmoid(x).
func (b *Backend) SiLU(dst, x backend.Tensor) error {
	d, xt, err := b.rowPair("silu", dst, x)
	if err != nil {
		return err
	}
	return cUnary(unarySiLU, d.ptr(), xt.ptr(), xt.shape.Elements(), 0, b.stream)
}

// Scale: dst = x·s.
func (b *Backend) Scale(dst, x backend.Tensor, s float32) error {
	d, xt, err := b.rowPair("scale", dst, x)
	if err != nil {
		return err
	}
	return cUnary(unaryScale, d.ptr(), xt.ptr(), xt.shape.Elements(), s, b.stream)
}

func (b *Backend) binary(op int, name string, dst, a, c backend.Tensor, broadcast bool) error {
	d, at, err := b.rowPair(name, dst, a)
	if err != nil {
		return err
	}
	ct, err := b.f32(c, name+" b")
	if err != nil {
		return err
	}
	n, nb := at.shape.Elements(), ct.shape.Elements()
	if !(ct.shape.Equal(at.shape) || (broadcast && nb == at.shape.Last())) {
		return fmt.Errorf("cuda: %s: b %s does not fit a %s", name, ct, at)
	}
	return cBinary(op, d.ptr(), at.ptr(), ct.ptr(), n, nb, b.stream)
}

// Add: dst = a + b (b of a's shape, or one row broadcast).
func (b *Backend) Add(dst, a, c backend.Tensor) error {
	return b.binary(binaryAdd, "add", dst, a, c, true)
}

// Mul: dst = a·b, with Add's broadcasting.
func (b *Backend) Mul(dst, a, c backend.Tensor) error {
	return b.binary(binaryMul, "mul", dst, a, c, true)
}

// SwiGLU: dst = silu(gate)·up.
func (b *Backend) SwiGLU(dst, gate, up backend.Tensor) error {
	return b.binary(binarySwiGLU, "swiglu", dst, gate, up, false)
}

// The ops below have no CUDA kernel yet: they run on the CPU over host copies.

// LayerNorm runs on the host (no kernel yet).
func (b *Backend) LayerNorm(dst, x, w, bias backend.Tensor, eps float32) error {
	return b.onHost("LayerNorm", func(c *cpu.Backend, h func(backend.Tensor) backend.Tensor) error {
		return c.LayerNorm(h(dst), h(x), h(w), h(bias), eps)
	}, dst)
}

// GELU runs on the host (no kernel yet: ggml's numerics, NUMERICS.md).
func (b *Backend) GELU(dst, x backend.Tensor) error {
	return b.onHost("GELU", func(c *cpu.Backend, h func(backend.Tensor) backend.Tensor) error { return c.GELU(h(dst), h(x)) }, dst)
}

// QuickGELU runs on the host (no kernel yet).
func (b *Backend) QuickGELU(dst, x backend.Tensor) error {
	return b.onHost("QuickGELU", func(c *cpu.Backend, h func(backend.Tensor) backend.Tensor) error {
		return c.QuickGELU(h(dst), h(x))
	}, dst)
}

// GeGLU runs on the host (no kernel yet).
func (b *Backend) GeGLU(dst, gate, up backend.Tensor) error {
	return b.onHost("GeGLU", func(c *cpu.Backend, h func(backend.Tensor) backend.Tensor) error {
		return c.GeGLU(h(dst), h(gate), h(up))
	}, dst)
}

// MatMulID runs on the host (no kernel yet).
func (b *Backend) MatMulID(dst, x, w, ids backend.Tensor) error {
	return b.onHost("MatMulID", func(c *cpu.Backend, h func(backend.Tensor) backend.Tensor) error {
		return c.MatMulID(h(dst), h(x), h(w), h(ids))
	}, dst)
}

// WeightedSum runs on the host (no kernel yet).
func (b *Backend) WeightedSum(dst, x, w backend.Tensor) error {
	return b.onHost("WeightedSum", func(c *cpu.Backend, h func(backend.Tensor) backend.Tensor) error {
		return c.WeightedSum(h(dst), h(x), h(w))
	}, dst)
}

// TopK runs on the host (no kernel yet).
func (b *Backend) TopK(weights, ids, probs backend.Tensor, k int, renorm bool) error {
	return b.onHost("TopK", func(c *cpu.Backend, h func(backend.Tensor) backend.Tensor) error {
		return c.TopK(h(weights), h(ids), h(probs), k, renorm)
	}, weights, ids)
}

// RoPEShift runs on the host (no kernel yet).
func (b *Backend) RoPEShift(x backend.Tensor, rows, delta []int32, p backend.RoPEParams) error {
	return b.onHost("RoPEShift", func(c *cpu.Backend, h func(backend.Tensor) backend.Tensor) error {
		return c.RoPEShift(h(x), rows, delta, p)
	}, x)
}

// SSMConv runs on the host (no kernel yet).
func (b *Backend) SSMConv(dst, x, w, state backend.Tensor, slots []int32) error {
	return b.onHost("SSMConv", func(c *cpu.Backend, h func(backend.Tensor) backend.Tensor) error {
		return c.SSMConv(h(dst), h(x), h(w), h(state), slots)
	}, dst, state)
}

// SSMScan runs on the host (no kernel yet).
func (b *Backend) SSMScan(dst, x, dt, a, bb, cc, state backend.Tensor, slots []int32) error {
	return b.onHost("SSMScan", func(c *cpu.Backend, h func(backend.Tensor) backend.Tensor) error {
		return c.SSMScan(h(dst), h(x), h(dt), h(a), h(bb), h(cc), h(state), slots)
	}, dst, state)
}

// SeqMean runs on the host (no kernel yet).
func (b *Backend) SeqMean(dst, x backend.Tensor, seqs []int32) error {
	return b.onHost("SeqMean", func(c *cpu.Backend, h func(backend.Tensor) backend.Tensor) error {
		return c.SeqMean(h(dst), h(x), seqs)
	}, dst)
}
