package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

// TestPathGemm checks every tile kernel against its path's one-row kernel, bit for bit,
// over tile shapes with leftover rows and activations, padded strides and extreme
// blocks (each weight and activation row takes one of the modes: quantized, raw random
// quants with random signed scales, extremes, zero; raw and extreme Q8_0 weight quants
// include -128).
func TestPathGemm(t *testing.T) {
	cases := []struct {
		wt gguf.Type
		p  Path
	}{{gguf.TypeQ4_0, PathRepack}, {gguf.TypeQ8_0, PathTinyBLAS}, {gguf.TypeQ4_0, PathTinyBLAS}, {gguf.TypeF16, PathTinyBLAS}, {gguf.TypeF32, PathTinyBLAS}}
	for _, c := range cases {
		g, ok := PathGemm(c.wt, c.p)
		if !ok && hasAVX2 && c.p == PathTinyBLAS && (c.wt == gguf.TypeF16 || c.wt == gguf.TypeQ8_0) {
			t.Fatalf("%s path %d: no tile kernel on an AVX2 build", c.wt, c.p)
		}
		if !ok {
			t.Logf("%s path %d: no tile kernel in this build", c.wt, c.p)
			continue
		}
		one, _ := PathKernel(c.wt, c.p)
		r := rand.New(rand.NewPCG(uint64(c.wt), uint64(c.p)+11))
		bs := c.wt.BlockSize()
		at, _ := VecDotType(c.wt)
		for _, n := range []int{32, 13 * 32, 64 * 32} {
			nb := n / bs
			rb := nb * c.wt.BlockBytes()
			xb := n / at.BlockSize() * at.BlockBytes()
			const rows, nx = 11, 7
			rowStride, xStride, dstStride := rb+c.wt.BlockBytes(), xb+at.BlockBytes(), rows+3
			w := make([]byte, rows*rowStride)
			for i := range rows {
				copy(w[i*rowStride:], makeWeights(t, r, c.wt, n, mode(i%int(numModes))))
			}
			x := make([]byte, nx*xStride)
			for i := range nx {
				copy(x[i*xStride:], makeActivations(t, r, c.wt, n, mode((i+1)%int(numModes))))
			}
			for nr := 1; nr <= rows; nr++ {
				for ni := 1; ni <= nx; ni++ {
					dst := make([]float32, ni*dstStride)
					g(dst, dstStride, w, rowStride, nr, x, xStride, ni, nb)
					want := make([]float32, nr)
					for i := range ni {
						one(want, w, rowStride, x[i*xStride:], nb)
						for k := range nr {
							if got := dst[i*dstStride+k]; math.Float32bits(got) != math.Float32bits(want[k]) && !(got != got && want[k] != want[k]) {
								t.Fatalf("%s path %d n=%d tile %dx%d: row %d act %d = %g, want %g", c.wt, c.p, n, nr, ni, k, i, got, want[k])
							}
						}
					}
				}
			}
		}
	}
}
