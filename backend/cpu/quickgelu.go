package cpu

import (
	"math"
	"sync"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf/quant"
)

// quickGELU is ggml's CPU quick GELU (x·sigmoid(1.702x), CLIP's activation): like
// gelu, the input is rounded to fp16 and looked up in a table of fp16 results, but
// without gelu's cut-offs at ±10.
func quickGELU(x float32) float32 {
	quickGELUOnce.Do(buildQuickGELUTable)
	return quant.FP16ToFP32(quickGELUTable[quant.FP32ToFP16(x)])
}

var (
	quickGELUOnce  sync.Once
	quickGELUTable []uint16
)

// quickGELUCoef is ggml's GELU_QUICK_COEF.
const quickGELUCoef = -1.702

// quickGELUExact is the formula in float32, as ggml_gelu_quick_f32 writes it:
// x·(1/(1+expf(-1.702·x))).
func quickGELUExact(x float32) float32 {
	e := float32(math.Exp(float64(float32(quickGELUCoef) * x)))
	return x * (1 / (1 + e))
}

func buildQuickGELUTable() {
	quickGELUTable = make([]uint16, 1<<16)
	for i := range quickGELUTable {
		quickGELUTable[i] = quant.FP32ToFP16(quickGELUExact(quant.FP16ToFP32(uint16(i))))
	}
}

// quickGELUJob applies quickGELU to rows [lo, hi).
type quickGELUJob struct {
	dst, x []float32
	d      int
}

func (j *quickGELUJob) run(_, lo, hi int) {
	y, x := j.dst[lo*j.d:hi*j.d], j.x[lo*j.d:hi*j.d]
	for i, v := range x {
		y[i] = quickGELU(v)
	}
}

// QuickGELU computes ggml's table-based x·sigmoid(1.702x).
func (b *Backend) QuickGELU(dst, x backend.Tensor) error {
	d, in, _, err := b.rowOperands("quick_gelu", dst, x, nil)
	if err != nil {
		return err
	}
	j := &quickGELUJob{dst: d.f32, x: in.f32, d: in.rowLen()}
	quickGELUOnce.Do(buildQuickGELUTable)
	return b.run(in.rows(), max(1, 16384/max(j.d, 1)), j)
}
