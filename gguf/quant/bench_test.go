package quant

import (
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

// The benchmarks work on 64K elements (16 rows of 4096) and report throughput in
// float32 bytes (4 per element).
const benchN = 16 * 4096

func benchInput() []float32 {
	r := rand.New(rand.NewPCG(9, 10))
	x := make([]float32, benchN)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 0.05)
	}
	return x
}

func BenchmarkQuantize(b *testing.B) {
	x := benchInput()
	for _, typ := range quantTypes {
		b.Run(typ.String(), func(b *testing.B) {
			q := make([]byte, benchN/typ.BlockSize()*typ.BlockBytes())
			b.SetBytes(4 * benchN)
			for b.Loop() {
				if err := Quantize(typ, x, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDequantize(b *testing.B) {
	x := benchInput()
	y := make([]float32, benchN)
	for _, typ := range quantTypes {
		b.Run(typ.String(), func(b *testing.B) {
			q := make([]byte, benchN/typ.BlockSize()*typ.BlockBytes())
			if err := Quantize(typ, x, q); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(4 * benchN)
			for b.Loop() {
				if err := Dequantize(typ, q, y); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkQuantizeActivations(b *testing.B) {
	x := benchInput()
	for _, c := range []struct {
		typ gguf.Type
		fn  func([]float32, []byte) error
	}{
		{gguf.TypeQ8_0, QuantizeActivationsQ8_0},
		{gguf.TypeQ8_1, QuantizeActivationsQ8_1},
		{gguf.TypeQ8_K, QuantizeActivationsQ8_K},
	} {
		b.Run(c.typ.String(), func(b *testing.B) {
			q := make([]byte, benchN/c.typ.BlockSize()*c.typ.BlockBytes())
			b.SetBytes(4 * benchN)
			for b.Loop() {
				if err := c.fn(x, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
