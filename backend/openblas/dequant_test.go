//go:build openblas

package openblas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
	"github.com/stretchr/testify/require"
)

// TestHalfToFloat checks every binary16 value against quant.FP16ToFP32.
func TestHalfToFloat(t *testing.T) {
	for h := range 1 << 16 {
		want, got := quant.FP16ToFP32(uint16(h)), halfToFloat(uint16(h))
		require.Equal(t, math.Float32bits(want), math.Float32bits(got), "half %#04x", h)
	}
}

// TestDequantizeMatchesQuant checks the unrolled decoders bit for bit against
// quant.Dequantize on random blocks (scales included: every byte is random).
func TestDequantizeMatchesQuant(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, dt := range []gguf.Type{gguf.TypeF32, gguf.TypeF16, gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeQ4_K} {
		n := 4 * 256
		rb, err := dt.RowBytes(uint64(n))
		require.NoError(t, err)
		src := make([]byte, rb)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		want, got := make([]float32, n), make([]float32, n)
		require.NoError(t, quant.Dequantize(dt, src, want))
		require.NoError(t, dequantize(dt, src, got))
		for i := range want {
			require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%s element %d", dt, i)
		}
	}
}

func BenchmarkDequantize(b *testing.B) {
	for _, dt := range []gguf.Type{gguf.TypeF16, gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ6_K} {
		n := 2048 * 64
		rb, _ := dt.RowBytes(uint64(n))
		src := make([]byte, rb)
		dst := make([]float32, n)
		f := make([]float32, n)
		for i := range f {
			f[i] = float32(i%97) * 0.01
		}
		require.NoError(b, quant.Quantize(dt, f, src))
		for _, impl := range []string{"quant", "fast"} {
			b.Run(fmt.Sprintf("%s/%s", dt, impl), func(b *testing.B) {
				for b.Loop() {
					if impl == "quant" {
						_ = quant.Dequantize(dt, src, dst)
					} else {
						_ = dequantize(dt, src, dst)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
			})
		}
	}
}
