package cpu

import (
	"fmt"
	"math"
	"sync"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// rowOp names the row-wise ops that share rowJob.
type rowOp int

const (
	opRMSNorm rowOp = iota
	opLayerNorm
	opSiLU
	opGELU
	opSwiGLU
	opGeGLU
	opAdd
	opMul
	opScale
	opSoftmax
)

// rowJob runs a row-wise op over rows [lo, hi). a and b are the operands (b may be one
// row broadcast over a's rows, or nil), w and bias the optional norm parameters. When
// cols is set (an element-wise op on a few long rows: decode's SwiGLU), items are
// column chunks instead: item k is chunk k%nc of row k/nc, cols values wide.
type rowJob struct {
	op       rowOp
	dst      []float32
	a, b     []float32
	bRows    int
	w, bias  []float32
	d        int
	eps, s   float32
	cols, nc int
}

func (j *rowJob) run(_, lo, hi int) {
	if j.cols > 0 {
		for k := lo; k < hi; k++ {
			c := k % j.nc * j.cols
			j.span(k/j.nc, c, min(c+j.cols, j.d))
		}
		return
	}
	for r := lo; r < hi; r++ {
		j.span(r, 0, j.d)
	}
}

// splitsRows reports whether op's rows may be split into column chunks: it computes
// each output from the same position of its inputs alone, and costs enough per value
// (an exp, a table look-up) to be worth sharing one row out. (Add, Mul and Scale are
// element-wise too but cost less than the hand-off.)
func (op rowOp) splitsRows() bool {
	switch op {
	case opSiLU, opGELU, opSwiGLU, opGeGLU:
		return true
	}
	return false
}

// span computes columns [c0, c1) of row r (the whole row for the row-wise ops).
func (j *rowJob) span(r, c0, c1 int) {
	y := j.dst[r*j.d+c0 : r*j.d+c1]
	x := j.a[r*j.d+c0 : r*j.d+c1]
	var x2 []float32
	if j.b != nil {
		br := r % j.bRows
		x2 = j.b[br*j.d+c0 : br*j.d+c1]
	}
	// siluRow takes the vectorised exp for the row's whole groups of 8.
	vec := min(max(j.d&^7-c0, 0), len(x))
	switch j.op {
	case opRMSNorm:
		rmsNorm(y, x, j.w, j.eps)
	case opLayerNorm:
		layerNorm(y, x, j.w, j.bias, j.eps)
	case opSiLU:
		siluRow(y, x, vec)
	case opGELU:
		for i, v := range x {
			y[i] = gelu(v)
		}
	case opSwiGLU:
		siluRow(y, x, vec)
		for i := range y {
			y[i] *= x2[i]
		}
	case opGeGLU:
		for i, v := range x {
			y[i] = gelu(v) * x2[i]
		}
	case opAdd:
		for i, v := range x {
			y[i] = v + x2[i]
		}
	case opMul:
		for i, v := range x {
			y[i] = v * x2[i]
		}
	case opScale:
		for i, v := range x {
			y[i] = v * j.s
		}
	case opSoftmax:
		softmax(y, x)
	}
}

// rmsNorm follows ggml: the sum of squares in float64, the scale in float32, then the
// weight multiplied in float32.
func rmsNorm(y, x, w []float32, eps float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		y[i] = v * scale
	}
	if w != nil {
		for i := range y {
			y[i] *= w[i]
		}
	}
}

// layerNorm follows ggml's norm: mean and variance summed in float64, rounded to
// float32, then weight and bias applied in float32.
func layerNorm(y, x, w, b []float32, eps float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mean := float32(sum / float64(len(x)))
	var sum2 float64
	for i, v := range x {
		c := v - mean
		y[i] = c
		sum2 += float64(c * c)
	}
	variance := float32(sum2 / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(variance+eps)))
	for i := range y {
		y[i] *= scale
	}
	if w != nil {
		for i := range y {
			y[i] *= w[i]
		}
	}
	if b != nil {
		for i := range y {
			y[i] += b[i]
		}
	}
}

// softmax follows ggml: subtract the max, exp in float32, sum in float64, then scale
// by the float32 reciprocal of the sum.
func softmax(y, x []float32) {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	var sum float64
	for i, v := range x {
		e := expf(v - m)
		y[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range y {
		y[i] *= inv
	}
}

func expf(x float32) float32 { return float32(math.Exp(float64(x))) }

func silu(x float32) float32 { return x / (1 + expf(-x)) }

// gelu is ggml's CPU GELU: the input rounded to fp16 and looked up in a table of fp16
// results of the tanh approximation; beyond ±10 it is 0 or x.
func gelu(x float32) float32 {
	switch {
	case x <= -10:
		return 0
	case x >= 10:
		return x
	}
	geluOnce.Do(buildGELUTable)
	return quant.FP16ToFP32(geluTable[quant.FP32ToFP16(x)])
}

var (
	geluOnce  sync.Once
	geluTable []uint16
)

const (
	geluCoefA   = 0.044715
	sqrt2OverPi = 0.79788456080286535587989211986876
)

// geluTanh is the tanh approximation in float32, as ggml_gelu_f32 writes it.
func geluTanh(x float32) float32 {
	inner := float32(sqrt2OverPi) * x * (1 + float32(geluCoefA)*x*x)
	return 0.5 * x * (1 + float32(math.Tanh(float64(inner))))
}

func buildGELUTable() {
	geluTable = make([]uint16, 1<<16)
	for i := range geluTable {
		geluTable[i] = quant.FP32ToFP16(geluTanh(quant.FP16ToFP32(uint16(i))))
	}
}

// rowOperands checks dst, a and the optional b for a row-wise op; b must match a's
// shape or be a single row of a's row length.
func (b *Backend) rowOperands(name string, dst, a, bt backend.Tensor) (d, x, y *tensor, err error) {
	if d, err = b.own(dst, name+" dst"); err != nil {
		return
	}
	if x, err = b.own(a, name+" input"); err != nil {
		return
	}
	if d.dt != gguf.TypeF32 || x.dt != gguf.TypeF32 {
		err = fmt.Errorf("%s: dst %s and input %s must be F32", name, d, x)
		return
	}
	if d.shape.Elements() != x.shape.Elements() || d.rowLen() != x.rowLen() {
		err = fmt.Errorf("%s: dst %s does not match input %s", name, d, x)
		return
	}
	if bt == nil {
		return
	}
	if y, err = b.own(bt, name+" second operand"); err != nil {
		return
	}
	if y.dt != gguf.TypeF32 {
		err = fmt.Errorf("%s: %s must be F32", name, y)
		return
	}
	if y.rowLen() != x.rowLen() || (y.rows() != x.rows() && y.rows() != 1) {
		err = fmt.Errorf("%s: %s does not match %s (same shape or one row)", name, y, x)
	}
	return
}

// colChunk is the width of the column chunks an element-wise op on a few long rows is
// split into (a multiple of 8, so siluRow's groups of 8 stay whole).
const colChunk = 1024

func (b *Backend) rowOp(op rowOp, name string, dst, a, bt backend.Tensor, fill func(*rowJob) error) error {
	d, x, y, err := b.rowOperands(name, dst, a, bt)
	if err != nil {
		return err
	}
	j := &b.jobs.rows
	*j = rowJob{op: op, dst: d.f32, a: x.f32, d: x.rowLen()}
	if y != nil {
		j.b, j.bRows = y.f32, y.rows()
	}
	if fill != nil {
		if err := fill(j); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if rows := x.rows(); op.splitsRows() && rows < b.threads && j.d >= 2*colChunk {
		// Too few rows to share out (decode): split them into column chunks.
		j.cols = colChunk
		j.nc = (j.d + colChunk - 1) / colChunk
		return b.run(rows*j.nc, 1, j)
	}
	grain := max(1, 16384/max(j.d, 1))
	return b.run(x.rows(), grain, j)
}

// normParam returns the F32 values of an optional norm weight or bias of length d.
func (b *Backend) normParam(t backend.Tensor, d int, what string) ([]float32, error) {
	if t == nil {
		return nil, nil
	}
	ct, err := b.own(t, what)
	if err != nil {
		return nil, err
	}
	if ct.dt != gguf.TypeF32 || ct.shape.Elements() != d {
		return nil, fmt.Errorf("%s %s: want F32 of %d values", what, ct, d)
	}
	return ct.f32, nil
}

// RMSNorm normalises each row by its root mean square, then multiplies by w.
func (b *Backend) RMSNorm(dst, x, w backend.Tensor, eps float32) error {
	return b.rowOp(opRMSNorm, "rms_norm", dst, x, nil, func(j *rowJob) (err error) {
		j.eps = eps
		j.w, err = b.normParam(w, j.d, "weight")
		return err
	})
}

// LayerNorm normalises each row to zero mean and unit variance, then applies w and b.
func (b *Backend) LayerNorm(dst, x, w, bias backend.Tensor, eps float32) error {
	return b.rowOp(opLayerNorm, "layer_norm", dst, x, nil, func(j *rowJob) (err error) {
		j.eps = eps
		if j.w, err = b.normParam(w, j.d, "weight"); err != nil {
			return err
		}
		j.bias, err = b.normParam(bias, j.d, "bias")
		return err
	})
}

// SiLU computes x·sigmoid(x).
func (b *Backend) SiLU(dst, x backend.Tensor) error { return b.rowOp(opSiLU, "silu", dst, x, nil, nil) }

// GELU computes ggml's table-based tanh GELU.
func (b *Backend) GELU(dst, x backend.Tensor) error { return b.rowOp(opGELU, "gelu", dst, x, nil, nil) }

// SwiGLU computes silu(gate)·up.
func (b *Backend) SwiGLU(dst, gate, up backend.Tensor) error {
	return b.rowOp(opSwiGLU, "swiglu", dst, gate, up, nil)
}

// GeGLU computes gelu(gate)·up.
func (b *Backend) GeGLU(dst, gate, up backend.Tensor) error {
	return b.rowOp(opGeGLU, "geglu", dst, gate, up, nil)
}

// Add computes a + b.
func (b *Backend) Add(dst, a, bt backend.Tensor) error { return b.rowOp(opAdd, "add", dst, a, bt, nil) }

// Mul computes a · b.
func (b *Backend) Mul(dst, a, bt backend.Tensor) error { return b.rowOp(opMul, "mul", dst, a, bt, nil) }

// Scale computes x · s.
func (b *Backend) Scale(dst, x backend.Tensor, s float32) error {
	return b.rowOp(opScale, "scale", dst, x, nil, func(j *rowJob) error { j.s = s; return nil })
}

// Softmax normalises each row.
func (b *Backend) Softmax(dst, x backend.Tensor) error {
	return b.rowOp(opSoftmax, "softmax", dst, x, nil, nil)
}
