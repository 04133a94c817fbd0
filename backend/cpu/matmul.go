package cpu

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu/kernels"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// kernel is the fast path's dot-product kernel for weights of type t (nil for the
// reference path).
func (b *Backend) kernel(t gguf.Type) kernels.MatVecFunc {
	if b.ref {
		return nil
	}
	k, _ := kernels.MatVecKernel(t)
	return k
}

// vecDotType is the type llama.cpp quantizes activations to before multiplying them by
// a weight of type t (ggml's vec_dot_type), which decides the rounding our results
// must reproduce (NUMERICS.md, "Activations").
func vecDotType(t gguf.Type) (gguf.Type, error) {
	switch t {
	case gguf.TypeF32:
		return gguf.TypeF32, nil
	case gguf.TypeF16:
		return gguf.TypeF16, nil
	case gguf.TypeBF16:
		return gguf.TypeBF16, nil
	case gguf.TypeQ4_0, gguf.TypeQ5_0, gguf.TypeQ8_0, gguf.TypeIQ4_NL:
		return gguf.TypeQ8_0, nil
	case gguf.TypeQ4_1, gguf.TypeQ5_1:
		return gguf.TypeQ8_1, nil
	case gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeIQ4_XS:
		return gguf.TypeQ8_K, nil
	}
	return 0, fmt.Errorf("weight type %s is not supported yet", t)
}

// quantizeActivations rounds one activation row to type vt, as llama.cpp does before
// a matmul.
func quantizeActivations(vt gguf.Type, src []float32, dst []byte) error {
	switch vt {
	case gguf.TypeF32:
		for i, x := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(x))
		}
		return nil
	case gguf.TypeF16:
		for i, x := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], quant.FP32ToFP16(x))
		}
		return nil
	case gguf.TypeBF16:
		for i, x := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], quant.FP32ToBF16(x))
		}
		return nil
	case gguf.TypeQ8_0:
		return quant.QuantizeActivationsQ8_0(src, dst)
	case gguf.TypeQ8_1:
		return quant.QuantizeActivationsQ8_1(src, dst)
	case gguf.TypeQ8_K:
		return quant.QuantizeActivationsQ8_K(src, dst)
	}
	return fmt.Errorf("no activation quantizer for %s", vt)
}

// matmulShapes checks MatMul's operands and returns n, in, out.
func (b *Backend) matmulShapes(dst, x, w backend.Tensor) (d, xt, wt *tensor, n, in, out int, err error) {
	if d, err = b.own(dst, "matmul dst"); err != nil {
		return
	}
	if xt, err = b.own(x, "matmul x"); err != nil {
		return
	}
	if wt, err = b.own(w, "matmul w"); err != nil {
		return
	}
	if len(wt.shape) != 2 {
		err = fmt.Errorf("matmul: weight %s is not a matrix", wt)
		return
	}
	out, in = wt.shape[0], wt.shape[1]
	if xt.dt != gguf.TypeF32 || d.dt != gguf.TypeF32 {
		err = fmt.Errorf("matmul: x %s and dst %s must be F32", xt, d)
		return
	}
	if xt.rowLen() != in {
		err = fmt.Errorf("matmul: x %s rows have %d values, weight %s wants %d", xt, xt.rowLen(), wt, in)
		return
	}
	n = xt.rows()
	if d.rowLen() != out || d.rows() != n {
		err = fmt.Errorf("matmul: dst %s, want %d rows of %d", d, n, out)
		return
	}
	return
}

// MatMul computes dst[n, out] = x[n, in] · w[out, in]ᵀ.
func (b *Backend) MatMul(dst, x, w backend.Tensor) error {
	d, xt, wt, n, in, out, err := b.matmulShapes(dst, x, w)
	if err != nil {
		return err
	}
	vt, err := vecDotType(wt.dt)
	if err != nil {
		return fmt.Errorf("matmul %s: %w", wt.name, err)
	}
	xq, err := b.quantizeRows(vt, xt.f32, n, in)
	if err != nil {
		return fmt.Errorf("matmul %s: %w", wt.name, err)
	}
	j := &b.jobs.matmul
	*j = matmulJob{b: b, w: wt.data, wt: wt.dt, vt: vt, xq: xq, n: n, in: in, out: out, dst: d.f32, dstStride: out, kern: b.kernel(wt.dt)}
	j.prepare()
	return b.run(out, matmulGrain(n), j)
}

// matmulGrain is the chunk of weight rows a product by n activation rows is split
// into (a multiple of 8, the repacked Q4_0 tile). Chunks of 16 rows keep a batch's tile
// in cache across its activation rows. A single row (decode) streams every weight once:
// larger chunks cost fewer hand-offs (TinyLlama Q4_0, one thread: 26.1 tokens/s with
// 16 rows, 27.0 with 128).
func matmulGrain(n int) int {
	if n == 1 {
		return 128
	}
	return 16
}

// quantizeRows quantizes n rows of in activations to vt into the backend's scratch: the
// first row on the caller (a quantizer's error depends only on vt and in, so it shows
// there), the rest of a batch spread over the pool.
func (b *Backend) quantizeRows(vt gguf.Type, x []float32, n, in int) ([]byte, error) {
	rb, err := vt.RowBytes(uint64(in))
	if err != nil {
		return nil, err
	}
	buf := b.scratch.actBytes(n * int(rb))
	if n == 0 {
		return buf, nil
	}
	if err := quantizeActivations(vt, x[:in], buf[:rb]); err != nil {
		return nil, err
	}
	if n > 1 {
		j := &b.jobs.quant
		*j = quantJob{vt: vt, x: x, dst: buf, in: in, rb: int(rb)}
		err := b.run(n-1, 1, j)
		*j = quantJob{}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// quantJob quantizes activation rows 1+[lo, hi) (row 0 is done by the caller).
type quantJob struct {
	vt     gguf.Type
	x      []float32
	dst    []byte
	in, rb int
}

func (j *quantJob) run(_, lo, hi int) {
	for i := lo + 1; i < hi+1; i++ {
		_ = quantizeActivations(j.vt, j.x[i*j.in:(i+1)*j.in], j.dst[i*j.rb:(i+1)*j.rb])
	}
}

// run executes j over [0, n) on the pool (the reference backend's pool has one thread:
// the caller). Faults on mapped weights come back as errors.
func (b *Backend) run(n, grain int, j job) error {
	return b.pool.parallel(n, grain, j)
}

// matmulJob multiplies weight rows [lo, hi) by every quantized activation row.
type matmulJob struct {
	b         *Backend
	w         []byte // weight rows, out × rowBytes(in)
	wt, vt    gguf.Type
	xq        []byte // n activation rows quantized to vt
	kern      kernels.MatVecFunc
	n         int
	in, out   int
	dst       []float32
	dstStride int
	dstRows   []int32 // when set, activation row i's results go to dst row dstRows[i]

	// Set by prepare, once per product rather than per chunk.
	wrb, xrb int                // weight and activation row bytes
	fast     kernels.MatVecFunc // the fast path's row kernel
	gemm     kernels.GemmFunc   // and its tile kernel for a batch, if any
}

// prepare sizes the rows and picks the fast path's kernels; call it once the job's
// fields are set, before running it.
func (j *matmulJob) prepare() {
	j.wrb = j.in / j.wt.BlockSize() * j.wt.BlockBytes()
	j.xrb = j.in / j.vt.BlockSize() * j.vt.BlockBytes()
	if j.kern != nil {
		j.fast, j.gemm = j.fastKernel()
	}
}

// dstIndex is where the result for activation row i and weight row r goes.
func (j *matmulJob) dstIndex(i, r int) int {
	if j.dstRows != nil {
		i = int(j.dstRows[i])
	}
	return i*j.dstStride + r
}

func (j *matmulJob) run(w, lo, hi int) {
	if j.kern == nil {
		j.runReference(w, lo, hi, j.wrb, j.xrb)
		return
	}
	j.runFast(w, lo, hi, j.wrb, j.xrb)
}

// runReference is the oracle: dequantize both sides exactly and sum in float64.
func (j *matmulJob) runReference(w, lo, hi, wrb, xrb int) {
	wf := j.b.scratch.worker(w, 0, j.in)
	xf := j.b.scratch.worker(w, 1, j.in)
	for r := lo; r < hi; r++ {
		_ = quant.Dequantize(j.wt, j.w[r*wrb:(r+1)*wrb], wf)
		for i := range j.n {
			_ = quant.Dequantize(j.vt, j.xq[i*xrb:(i+1)*xrb], xf)
			var s float64
			for k := range wf {
				s += float64(wf[k]) * float64(xf[k])
			}
			j.dst[j.dstIndex(i, r)] = float32(s)
		}
	}
}
