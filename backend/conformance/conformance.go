// Package conformance checks every backend compiled in against the CPU backend's
// scalar reference path, op by op, on one table of cases: seeded inputs, nice and odd
// prime shapes, real model head shapes, and a normalised mean squared error bound per
// op. The test in this package runs it; other backends' tests can call Run directly.
package conformance

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// Case is one row of the table: an op, its weight type where it has one, its shape
// parameters, and the largest NMSE allowed against the reference.
type Case struct {
	Op      string
	Type    gguf.Type // weight or table type (MUL_MAT, MUL_MAT_ID, GET_ROWS)
	Shape   Shape
	Variant string // op-specific: "neox", "yarn", "f16cache", "window", ...
	MaxNMSE float64
}

// Shape holds the sizes a case uses; each op reads the ones it needs.
type Shape struct {
	M, N, K          int // matmul: out rows, batch rows, inner size
	Rows, Cols       int // row-wise ops
	Tokens, Heads    int // rope, attention
	HeadsKV, HeadDim int
	RotDims          int
	Cells            int // attention cache size
	Experts, Used    int // mul_mat_id, top_k
}

// Name is a readable identifier for a case.
func (c Case) Name() string {
	s := c.Op
	if c.Type != 0 || c.Op == "MUL_MAT" || c.Op == "GET_ROWS" || c.Op == "MUL_MAT_ID" {
		s += "/" + c.Type.String()
	}
	if c.Variant != "" {
		s += "/" + c.Variant
	}
	return s + fmt.Sprintf("/%+v", c.Shape)
}

// Result is what running one case on one backend gave.
type Result struct {
	Case    Case
	NMSE    float64
	Skipped string // why the case does not apply, if it does not
	Err     error
}

// NMSE is sum((a-b)²)/sum(a²), with a the reference. NaN and Inf must appear at the
// same places in both; a mismatch gives +Inf.
func NMSE(ref, got []float32) float64 {
	if len(ref) != len(got) {
		return math.Inf(1)
	}
	var num, den float64
	for i := range ref {
		r, g := float64(ref[i]), float64(got[i])
		rBad, gBad := math.IsNaN(r) || math.IsInf(r, 0), math.IsNaN(g) || math.IsInf(g, 0)
		if rBad || gBad {
			if !(math.IsNaN(r) && math.IsNaN(g)) && r != g {
				return math.Inf(1)
			}
			continue
		}
		num += (r - g) * (r - g)
		den += r * r
	}
	if den == 0 {
		if num == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return num / den
}

// Compare runs c with the same seeded inputs on the reference and on b and returns
// the NMSE between them.
func Compare(ref, b backend.Backend, c Case, seed uint64) Result {
	r := Result{Case: c}
	want, skip, err := Execute(ref, c, seed)
	if skip != "" {
		r.Skipped = skip
		return r
	}
	if err != nil {
		r.Err = fmt.Errorf("reference: %w", err)
		return r
	}
	got, skip, err := Execute(b, c, seed)
	if skip != "" {
		r.Skipped = skip
		return r
	}
	if err != nil {
		r.Err = err
		return r
	}
	r.NMSE = NMSE(want, got)
	return r
}

// inputs makes seeded random data.
type inputs struct {
	rng *rand.Rand
	b   backend.Backend
}

func (in *inputs) floats(n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(in.rng.NormFloat64() * scale)
	}
	return x
}

// activation allocates an F32 tensor filled with random values.
func (in *inputs) activation(name string, scale float64, shape ...int) (backend.Tensor, []float32, error) {
	t, err := in.b.Alloc(name, gguf.TypeF32, shape...)
	if err != nil {
		return nil, nil, err
	}
	x := in.floats(backend.Shape(shape).Elements(), scale)
	return t, x, in.b.Write(t, x)
}

// weight quantizes random values to typ and uploads them as a weight of shape
// (outermost first).
func (in *inputs) weight(name string, typ gguf.Type, scale float64, shape ...int) (backend.Tensor, error) {
	n := backend.Shape(shape).Elements()
	x := in.floats(n, scale)
	dims := make([]uint64, len(shape))
	for i, d := range shape {
		dims[len(shape)-1-i] = uint64(d)
	}
	size, err := typ.TensorBytes(dims)
	if err != nil {
		return nil, err
	}
	data := make([]byte, size)
	if err := quant.Quantize(typ, x, data); err != nil {
		return nil, err
	}
	return in.b.Upload(&gguf.TensorInfo{Name: name, Type: typ, Dims: dims, Size: size}, data)
}

func (in *inputs) alloc(name string, shape ...int) (backend.Tensor, error) {
	return in.b.Alloc(name, gguf.TypeF32, shape...)
}

func read(b backend.Backend, t backend.Tensor) ([]float32, error) {
	out := make([]float32, t.Shape().Elements())
	return out, b.Read(t, out)
}
