package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf/quant"
	"github.com/stretchr/testify/require"
)

// TestQuickGELUAgainstFloat64 checks the table path against x·sigmoid(1.702x) in
// float64: the input and the result are each rounded to fp16, so agreement is to
// about 2⁻¹⁰ relative, plus the input rounding's effect near zero.
func TestQuickGELUAgainstFloat64(t *testing.T) {
	b := newRef(t)
	rng := rand.New(rand.NewPCG(7, 11))
	vals := randFloats(rng, 5*37, 4)
	vals = append(vals, 0, -0.0, 1e-8, -30, 30, 65000, -65000)
	x := tensorOf(t, b, vals, len(vals))
	dst := tensorOf(t, b, make([]float32, len(vals)), len(vals))
	require.NoError(t, b.QuickGELU(dst, x))
	got := readAll(t, b, dst)
	for i, v := range vals {
		xh := float64(quant.FP16ToFP32(quant.FP32ToFP16(v)))
		want := xh / (1 + math.Exp(-1.702*xh))
		tol := 2e-3*math.Abs(want) + 1e-7
		if math.Abs(float64(got[i])-want) > tol {
			t.Fatalf("quick_gelu(%g) = %g, want %g", v, got[i], want)
		}
		// The table holds fp16 values: the result is exactly representable.
		require.Equal(t, got[i], quant.FP16ToFP32(quant.FP32ToFP16(got[i])), "element %d", i)
	}
	// x·sigmoid(1.702x) saturates: ≈ x for large x, ≈ 0 for very negative x.
	require.Equal(t, float32(0), got[len(vals)-4]) // -30: about 2e-21, below fp16's range
	require.InDelta(t, 30, got[len(vals)-3], 0.02)
}

func TestQuickGELURejectsBadShapes(t *testing.T) {
	b := newRef(t)
	x := tensorOf(t, b, make([]float32, 6), 2, 3)
	dst := tensorOf(t, b, make([]float32, 4), 2, 2)
	require.Error(t, b.QuickGELU(dst, x))
	require.Error(t, b.QuickGELU(nil, x))
}
