//go:build openblas

package openblas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
	"github.com/stretchr/testify/require"
)

// weight uploads a random out × in weight of type dt and returns it with its exactly
// dequantized values.
func weight(t testing.TB, b backend.Backend, rng *rand.Rand, dt gguf.Type, out, in int) (backend.Tensor, []float32) {
	src := make([]float32, out*in)
	for i := range src {
		src[i] = float32(rng.NormFloat64() * 0.05)
	}
	rb, err := dt.RowBytes(uint64(in))
	require.NoError(t, err)
	data := make([]byte, int(rb)*out)
	require.NoError(t, quant.Quantize(dt, src, data))
	w, err := b.Upload(&gguf.TensorInfo{Name: "w", Type: dt, Dims: []uint64{uint64(in), uint64(out)}}, data)
	require.NoError(t, err)
	deq := make([]float32, out*in)
	require.NoError(t, quant.Dequantize(dt, data, deq))
	return w, deq
}

func activations(t testing.TB, b backend.Backend, rng *rand.Rand, n, in int) (backend.Tensor, []float32) {
	xs := make([]float32, n*in)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	x, err := b.Alloc("x", gguf.TypeF32, n, in)
	require.NoError(t, err)
	require.NoError(t, b.Write(x, xs))
	return x, xs
}

func matmul(t testing.TB, b backend.Backend, x, w backend.Tensor) []float32 {
	n, out := x.Shape().Rows(), w.Shape()[0]
	dst, err := b.Alloc("dst", gguf.TypeF32, n, out)
	require.NoError(t, err)
	require.NoError(t, b.MatMul(dst, x, w))
	got := make([]float32, n*out)
	require.NoError(t, b.Read(dst, got))
	return got
}

// TestGEMMMatchesFloatProduct checks the BLAS path against the float64 product of the
// unrounded activations and the exactly dequantized weights, across tile boundaries.
func TestGEMMMatchesFloatProduct(t *testing.T) {
	b := New(backend.Options{Threads: 2})
	defer b.Close()
	require.NoError(t, b.SetMinBatch(17)) // the quantized types' default is 64
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := []struct{ n, out, in int }{{64, 67, 256}, {37, 300, 8192}, {32, 32, 512}}
	types := []gguf.Type{gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0,
		gguf.TypeQ8_0, gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeIQ4_NL}
	for _, dt := range types {
		for _, s := range shapes {
			if s.in%dt.BlockSize() != 0 {
				continue
			}
			t.Run(fmt.Sprintf("%s/%dx%dx%d", dt, s.n, s.out, s.in), func(t *testing.T) {
				w, wf := weight(t, b, rng, dt, s.out, s.in)
				x, xf := activations(t, b, rng, s.n, s.in)
				before := b.gemms
				got := matmul(t, b, x, w)
				require.Greater(t, b.gemms, before, "BLAS did not take the product")
				var worst, scale float64
				for i := range s.n {
					for r := range s.out {
						var want float64
						for k := range s.in {
							want += float64(xf[i*s.in+k]) * float64(wf[r*s.in+k])
						}
						worst = math.Max(worst, math.Abs(want-float64(got[i*s.out+r])))
						scale = math.Max(scale, math.Abs(want))
					}
				}
				require.Less(t, worst, 1e-5*scale+1e-6, "max abs diff %.3g (largest value %.3g)", worst, scale)
			})
		}
	}
}

// TestThreshold checks that BLAS takes only products with the batch and both weight
// dimensions at least MinBatch, and that the rest gives the CPU backend's own bits.
func TestThreshold(t *testing.T) {
	b := New(backend.Options{Threads: 2})
	defer b.Close()
	c := cpu.New(backend.Options{Threads: 2})
	defer c.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, dt := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeF16} {
		m := b.MinBatch(dt)
		require.True(t, m >= 17 && m <= 64, "%s: default threshold %d outside 17..64", dt, m)
		cases := []struct {
			n, out, in int
			blas       bool
		}{
			{1, 256, 256, false}, {16, 256, 256, false}, {m - 1, 256, 256, false},
			{m, 256, 256, true}, {64, 256, 256, true}, {64, m - 1, 256, false}, {64, 256, 32, m <= 32},
		}
		for _, tc := range cases {
			w, _ := weight(t, b, rng, dt, tc.out, tc.in)
			x, _ := activations(t, b, rng, tc.n, tc.in)
			before := b.gemms
			got := matmul(t, b, x, w)
			require.Equal(t, tc.blas, b.gemms > before, "%s: n=%d out=%d in=%d", dt, tc.n, tc.out, tc.in)
			if !tc.blas {
				require.Equal(t, matmul(t, c, x, w), got, "%s: n=%d: the CPU path must give the CPU backend's bits", dt, tc.n)
			}
		}
	}
}

// TestErrorsComeFromCPU checks that malformed operands give errors, not panics.
func TestErrorsComeFromCPU(t *testing.T) {
	b := New(backend.Options{Threads: 2})
	defer b.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	w, _ := weight(t, b, rng, gguf.TypeQ4_0, 64, 256)
	x, _ := activations(t, b, rng, 64, 256)
	bad, err := b.Alloc("dst", gguf.TypeF32, 64, 63)
	require.NoError(t, err)
	require.Error(t, b.MatMul(bad, x, w))
	require.Error(t, b.MatMul(nil, x, w))
	x2, _ := activations(t, b, rng, 64, 128)
	dst, err := b.Alloc("dst", gguf.TypeF32, 64, 64)
	require.NoError(t, err)
	require.Error(t, b.MatMul(dst, x2, w))
}

// TestAutoPicksOpenBLAS checks the registry: openblas outranks cpu.
func TestAutoPicksOpenBLAS(t *testing.T) {
	b, why, err := backend.Open("auto", backend.Options{Threads: 2})
	require.NoError(t, err)
	defer b.Close()
	require.Equal(t, "openblas", b.Name())
	require.True(t, strings.HasPrefix(why, "backend openblas"), why)
	require.Equal(t, 2, libThreads())
	t.Log(Config())
}

// tinyLlamaShapes are tinyllama-1.1b's matmuls (out, in): attention q/o, k/v, FFN
// gate/up, FFN down.
var tinyLlamaShapes = [][2]int{{2048, 2048}, {256, 2048}, {5632, 2048}, {2048, 5632}}

// BenchmarkCrossover times one transformer layer's matmuls of tinyllama-1.1b at
// batches around the threshold, on the CPU backend's quantized kernels and on BLAS:
//
//	go test -tags openblas ./backend/openblas -run '^$' -bench Crossover -benchtime 5x
//
// The reported metric is microseconds per batch row.
func BenchmarkCrossover(b *testing.B) {
	be := New(backend.Options{Threads: 2})
	defer be.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	for _, dt := range []gguf.Type{gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeF16} {
		var ws []backend.Tensor
		for _, s := range tinyLlamaShapes {
			w, _ := weight(b, be, rng, dt, s[0], s[1])
			ws = append(ws, w)
		}
		for _, n := range crossoverBatches {
			xs := map[int]backend.Tensor{}
			dsts := make([]backend.Tensor, len(ws))
			for i, s := range tinyLlamaShapes {
				if xs[s[1]] == nil {
					xs[s[1]], _ = activations(b, be, rng, n, s[1])
				}
				var err error
				dsts[i], err = be.Alloc("dst", gguf.TypeF32, n, s[0])
				require.NoError(b, err)
			}
			for _, path := range []string{"cpu", "blas"} {
				b.Run(fmt.Sprintf("%s/n=%d/%s", dt, n, path), func(b *testing.B) {
					if path == "blas" {
						require.NoError(b, be.SetMinBatch(1))
					} else {
						require.NoError(b, be.SetMinBatch(math.MaxInt))
					}
					defer func() { be.minBatch, be.minQuant = DefaultMinBatch, DefaultMinBatchQuant }()
					for b.Loop() {
						for i, s := range tinyLlamaShapes {
							require.NoError(b, be.MatMul(dsts[i], xs[s[1]], ws[i]))
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/row")
				})
			}
		}
	}
}

var crossoverBatches = []int{16, 17, 24, 32, 40, 48, 64}
