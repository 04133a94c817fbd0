package cpu

import (
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/stretchr/testify/require"
)

// TestRoPEShiftComposes: keys rotated at position p and then shifted by d equal keys
// rotated at p+d (what a context shift relies on); rows not named stay untouched.
func TestRoPEShiftComposes(t *testing.T) {
	const n, heads, hd = 9, 3, 16
	rng := rand.New(rand.NewPCG(3, 4))
	for _, mode := range []backend.RoPEMode{backend.RoPENormal, backend.RoPENeoX} {
		for _, dt := range []gguf.Type{gguf.TypeF32, gguf.TypeF16} {
			b := New(backend.Options{Threads: 2})
			p := backend.RoPEParams{Mode: mode, Dims: 12, Base: 10000, FreqScale: 1}
			x := randFloats(rng, n*heads*hd, 1)
			pos := make([]int32, n)
			moved := make([]int32, n)
			for i := range pos {
				pos[i] = int32(40 + 3*i)
				moved[i] = pos[i]
			}
			at := func(positions []int32) []float32 {
				t0, err := b.Alloc("x", gguf.TypeF32, n, heads, hd)
				require.NoError(t, err)
				require.NoError(t, b.Write(t0, x))
				require.NoError(t, b.RoPE(t0, positions, p))
				out := make([]float32, n*heads*hd)
				require.NoError(t, b.Read(t0, out))
				return out
			}
			cached := at(pos)
			rows := []int32{7, 2, 5}
			delta := []int32{-30, -11, 17}
			for i, r := range rows {
				moved[r] += delta[i]
			}
			want := at(moved)

			k, err := b.Alloc("k", dt, n, heads, hd)
			require.NoError(t, err)
			require.NoError(t, b.Write(k, cached))
			before := make([]float32, n*heads*hd)
			require.NoError(t, b.Read(k, before))
			require.NoError(t, b.RoPEShift(k, rows, delta, p))
			got := make([]float32, n*heads*hd)
			require.NoError(t, b.Read(k, got))
			tol := 1e-5
			if dt == gguf.TypeF16 {
				tol = 4e-3
			}
			for i := range got {
				r := int32(i / (heads * hd))
				if pos[r] == moved[r] {
					require.Equal(t, before[i], got[i], "row %d is not shifted", r)
					continue
				}
				require.InDelta(t, want[i], got[i], tol, "%v %s: element %d", mode, dt, i)
			}
			require.Error(t, b.RoPEShift(k, []int32{n}, []int32{1}, p), "row outside x")
			require.Error(t, b.RoPEShift(k, []int32{1}, nil, p), "rows without deltas")
			b.Close()
		}
	}
}
