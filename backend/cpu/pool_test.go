package cpu

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu/kernels"
	"github.com/stretchr/testify/require"
)

// TestPoolRunsEveryChunkOnce checks that each call hands every chunk
// [k·grain, min((k+1)·grain, n)) to exactly one thread, with valid worker ids, across
// back-to-back calls (workers still polling) and calls after a pause (workers parked).
func TestPoolRunsEveryChunkOnce(t *testing.T) {
	for threads := 1; threads <= 4; threads++ {
		p := newPool(threads)
		for call := range 300 {
			n := 1 + (call*37)%200
			grain := 1 + call%17
			hits := make([]atomic.Int32, n)
			var bad atomic.Int32
			err := p.parallel(n, grain, funcJob(func(w, lo, hi int) {
				if w < 0 || w >= threads || lo%grain != 0 || hi != min(lo+grain, n) {
					bad.Add(1)
				}
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			}))
			require.NoError(t, err)
			require.Zero(t, bad.Load(), "threads %d call %d: a chunk with a bad worker id or bounds", threads, call)
			for i := range hits {
				require.EqualValues(t, 1, hits[i].Load(), "threads %d call %d n %d grain %d: item %d", threads, call, n, grain, i)
			}
			if call%50 == 49 {
				time.Sleep(2 * spinFor) // let the workers park
			}
		}
		p.close()
		p.close()
	}
}

// TestSplitRowsSameBits checks that the activation ops give the same bits when a row is
// split into column chunks over several threads as when one thread runs it whole.
func TestSplitRowsSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	one := New(backend.Options{Threads: 1})
	t.Cleanup(func() { one.Close() })
	for _, threads := range []int{2, 3} {
		many := New(backend.Options{Threads: threads})
		t.Cleanup(func() { many.Close() })
		for _, rows := range []int{1, 2} {
			for _, d := range []int{2 * colChunk, 5632, 3*colChunk + 5} {
				a, c := randFloats(rng, rows*d, 3), randFloats(rng, rows*d, 1)
				ops := map[string]func(b *Backend, dst, x, y backend.Tensor) error{
					"silu":   func(b *Backend, dst, x, _ backend.Tensor) error { return b.SiLU(dst, x) },
					"gelu":   func(b *Backend, dst, x, _ backend.Tensor) error { return b.GELU(dst, x) },
					"swiglu": func(b *Backend, dst, x, y backend.Tensor) error { return b.SwiGLU(dst, x, y) },
					"geglu":  func(b *Backend, dst, x, y backend.Tensor) error { return b.GeGLU(dst, x, y) },
				}
				for name, op := range ops {
					var got [2][]float32
					for i, b := range []*Backend{one, many} {
						x, y := tensorOf(t, b, a, rows, d), tensorOf(t, b, c, rows, d)
						dst := tensorOf(t, b, make([]float32, rows*d), rows, d)
						require.NoError(t, op(b, dst, x, y))
						got[i] = readAll(t, b, dst)
					}
					for i := range got[0] {
						if math.Float32bits(got[0][i]) != math.Float32bits(got[1][i]) {
							t.Fatalf("%s threads %d rows %d d %d: element %d is %g split, %g whole", name, threads, rows, d, i, got[1][i], got[0][i])
						}
					}
				}
			}
		}
	}
}

// TestReduceLanes checks reduceLanes against kernels.HSum8 and kernels.Reduce4x8 on
// each output's gathered lanes, bit for bit.
func TestReduceLanes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, nl := range []int{8, 32} {
		for _, hdv := range []int{1, 7, 64, 128} {
			lanes := make([]float32, nl*hdv)
			for i := range lanes {
				lanes[i] = float32(rng.NormFloat64() * math.Ldexp(1, rng.IntN(40)-20))
			}
			want := make([]float32, hdv)
			for i := range want {
				if nl == 8 {
					var a [8]float32
					for l := range 8 {
						a[l] = lanes[l*hdv+i]
					}
					want[i] = kernels.HSum8(&a)
					continue
				}
				var a [4][8]float32
				for l := range 32 {
					a[l/8][l%8] = lanes[l*hdv+i]
				}
				want[i] = kernels.Reduce4x8(&a)
			}
			got := make([]float32, hdv)
			reduceLanes(got, lanes, nl, hdv)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("nl %d hdv %d output %d: %g, want %g", nl, hdv, i, got[i], want[i])
				}
			}
		}
	}
}
