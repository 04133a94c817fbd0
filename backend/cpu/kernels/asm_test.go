package kernels

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/golem-llm/golem/gguf"
)

// dotF16GoFull is DotF16 in portable Go only.
func dotF16GoFull(w, x []byte, n int) float32 {
	np := n &^ 31
	sum := float64(dotF16Go(w, x, np))
	for i := np; i < n; i++ {
		sum += float64(mul32(le16h(w[2*i:]), le16h(x[2*i:])))
	}
	return float32(sum)
}

// TestAsmMatchesGo checks the dispatched kernels (assembly where this CPU and build have
// it) against the portable Go kernels, bit for bit: both reproduce the same ggml
// arithmetic. Under purego both sides are the Go kernel.
func TestAsmMatchesGo(t *testing.T) {
	t.Logf("assembly kernels: %v", hasAVX2)
	f32 := func(p []byte, n int) []float32 {
		if n == 0 {
			return nil
		}
		return unsafe.Slice((*float32)(unsafe.Pointer(&p[0])), n)
	}
	type pair struct {
		name       string
		wt         gguf.Type
		fast, slow func(w, x []byte, nBlocks int) float32
		mult       int // the row length must be a multiple of mult elements
	}
	pairs := []pair{
		{"Q4_0", gguf.TypeQ4_0, DotQ4_0, dotQ4_0Go, 1},
		{"Q4_0/gemv", gguf.TypeQ4_0, GemvQ4_0, gemvQ4_0Go, 1},
		{"Q8_0", gguf.TypeQ8_0, DotQ8_0, dotQ8_0Go, 1},
		{"Q4_K", gguf.TypeQ4_K, DotQ4_K, dotQ4_KGo, 1},
		{"Q6_K", gguf.TypeQ6_K, DotQ6_K, dotQ6_KGo, 1},
		{"F16", gguf.TypeF16, DotF16, dotF16GoFull, 1},
		{"F32", gguf.TypeF32, DotF32Bytes, dotF32BytesGo, 1},
		{"F16/tiny", gguf.TypeF16, TinyDotF16, tinyF16Go, 8},
		{"F32/tiny", gguf.TypeF32, TinyDotF32Bytes, func(w, x []byte, n int) float32 { return tinyF32Go(f32(w, n), f32(x, n)) }, 8},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			seed := uint64(p.wt)*1000 + 3
			r := rand.New(rand.NewPCG(seed, 7))
			for _, n := range lengths(p.wt) {
				if n%p.mult != 0 {
					continue
				}
				for m := range numModes {
					w := makeWeights(t, r, p.wt, n, m)
					x := makeActivations(t, r, p.wt, n, (m+1)%numModes)
					nb := n / p.wt.BlockSize()
					fast, slow := p.fast(w, x, nb), p.slow(w, x, nb)
					if math.Float32bits(fast) != math.Float32bits(slow) && !(fast != fast && slow != slow) {
						t.Errorf("seed %d n=%d mode %s: dispatched %g, Go %g", seed, n, m, fast, slow)
					}
				}
			}
		})
	}
}

// TestPathKernels checks every path's multi-row kernel (four-row tiles included), and its
// read-once form (PathKernelOnce), against its one-row Go form, bit for bit.
func TestPathKernels(t *testing.T) {
	one := map[gguf.Type]map[Path]func(w, x []byte, nBlocks int) float32{
		gguf.TypeQ4_0:   {PathVecDot: dotQ4_0Go, PathTinyBLAS: dotQ4_0Go, PathRepack: gemvQ4_0Go},
		gguf.TypeQ8_0:   {PathVecDot: dotQ8_0Go, PathTinyBLAS: dotQ8_0Go},
		gguf.TypeIQ4_NL: {PathVecDot: DotIQ4_NL, PathTinyBLAS: tinyIQ4_NL},
		gguf.TypeF16:    {PathVecDot: dotF16GoFull, PathTinyBLAS: tinyF16Go},
	}
	for wt, paths := range one {
		for p, slow := range paths {
			r := rand.New(rand.NewPCG(uint64(wt), uint64(p)))
			bs := wt.BlockSize()
			n := 13 * 32
			rb := n / bs * wt.BlockBytes()
			x := makeActivations(t, r, wt, n, modeQuantized)
			for rows := 1; rows <= 9; rows++ {
				w := make([]byte, rows*rb)
				for i := range rows {
					copy(w[i*rb:], makeWeights(t, r, wt, n, mode(i%3)))
				}
				for once, get := range []func(gguf.Type, Path) (MatVecFunc, bool){PathKernel, PathKernelOnce} {
					k, ok := get(wt, p)
					if !ok {
						t.Fatalf("%s: no kernel for path %d", wt, p)
					}
					dst := make([]float32, rows)
					k(dst, w, rb, x, n/bs)
					for i := range rows {
						if want := slow(w[i*rb:(i+1)*rb], x, n/bs); math.Float32bits(dst[i]) != math.Float32bits(want) {
							t.Errorf("%s path %d (once %d) rows %d row %d: %g, want %g", wt, p, once, rows, i, dst[i], want)
						}
					}
				}
			}
		}
	}
}

// TestFMA32 checks fma32 against the exactly rounded a*b+c, on random operands and on
// sums built to sit next to a float32 rounding midpoint (where a float64 FMA followed by
// a conversion would round twice).
func TestFMA32(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	exact := func(a, b, c float32) float32 {
		x := new(big.Float).SetPrec(200).SetFloat64(float64(a))
		x.Mul(x, new(big.Float).SetFloat64(float64(b)))
		x.Add(x, new(big.Float).SetFloat64(float64(c)))
		f, _ := x.Float32()
		return f
	}
	for i := range 200000 {
		a := float32(r.NormFloat64() * math.Ldexp(1, r.IntN(20)-10))
		b := float32(r.NormFloat64())
		c := float32(r.NormFloat64() * math.Ldexp(1, r.IntN(20)-10))
		if i%2 == 1 {
			// c = -(a*b rounded to float32 plus half an ulp), so the exact sum lies within
			// a float64 ulp of a float32 midpoint.
			p := a * b
			c = -(p + float32(math.Ldexp(float64(p), -24)))
		}
		if got, want := fma32(a, b, c), exact(a, b, c); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", a, b, c, got, want)
		}
	}
}
