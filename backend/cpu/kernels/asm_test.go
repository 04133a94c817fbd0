package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

// TestAsmMatchesGo checks the dispatched kernels (assembly where this CPU and build
// have it) against the portable Go kernels. Under purego both sides are the Go kernel.
func TestAsmMatchesGo(t *testing.T) {
	t.Logf("assembly kernels: %v", hasAVX2)
	goKernels := map[gguf.Type]func(w, x []byte, nBlocks int) float32{
		gguf.TypeQ4_0: dotQ4_0Go,
		gguf.TypeQ8_0: dotQ8_0Go,
		gguf.TypeQ4_K: dotQ4_KGo,
		gguf.TypeQ6_K: dotQ6_KGo,
		gguf.TypeF16:  dotF16Go,
		gguf.TypeF32:  dotF32BytesGo,
	}
	for wt, goDot := range goKernels {
		t.Run(wt.String(), func(t *testing.T) {
			seed := uint64(wt)*1000 + 3
			r := rand.New(rand.NewPCG(seed, 7))
			for _, n := range lengths(wt) {
				for m := range numModes {
					w := makeWeights(t, r, wt, n, m)
					x := makeActivations(t, r, wt, n, (m+1)%numModes)
					nb := n / wt.BlockSize()
					fast := table[wt].dot(w, x, nb)
					slow := goDot(w, x, nb)
					_, mag := refDot(t, wt, w, x, n)
					if e := relErr(fast, float64(slow), mag); e > 1e-6 {
						t.Errorf("seed %d n=%d mode %s: asm %g, Go %g: rel err %.3g", seed, n, m, fast, slow, e)
					}
				}
			}
		})
	}
}
