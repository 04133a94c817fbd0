package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
	"github.com/stretchr/testify/require"
)

// TestMatMulSharedEqualsMatMuls checks MatMulShared against one MatMul per weight, bit
// for bit: single rows and batches, on one and several threads, the reference path,
// weights of one activation type and of mixed ones (which fall back to one at a time).
func TestMatMulSharedEqualsMatMuls(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const in = 256
	sets := [][]gguf.Type{
		{gguf.TypeQ4_0, gguf.TypeQ4_0, gguf.TypeQ4_0},
		{gguf.TypeQ8_0, gguf.TypeQ4_0},
		{gguf.TypeQ4_K, gguf.TypeQ6_K},
		{gguf.TypeF16, gguf.TypeF16},
		{gguf.TypeQ4_0, gguf.TypeQ4_K, gguf.TypeF32},
	}
	outs := []int{200, 24, 136}
	for _, o := range []backend.Options{{Threads: 1}, {Threads: 2}, {Threads: 3}, {Reference: true}} {
		b := New(o)
		t.Cleanup(func() { b.Close() })
		for _, types := range sets {
			for _, n := range []int{1, 3} {
				x := tensorOf(t, b, randFloats(rng, n*in, 1), n, in)
				var ws, shared, single []backend.Tensor
				for i, wt := range types {
					out := outs[i]
					vals := randFloats(rng, out*in, 0.05)
					dims := []uint64{in, uint64(out)}
					size, err := wt.TensorBytes(dims)
					require.NoError(t, err)
					raw := make([]byte, size)
					require.NoError(t, quant.Quantize(wt, vals, raw))
					w, err := b.Upload(&gguf.TensorInfo{Name: "w", Type: wt, Dims: dims, Size: size}, raw)
					require.NoError(t, err)
					ws = append(ws, w)
					shared = append(shared, tensorOf(t, b, make([]float32, n*out), n, out))
					single = append(single, tensorOf(t, b, make([]float32, n*out), n, out))
					require.NoError(t, b.MatMul(single[i], x, w))
				}
				require.NoError(t, b.MatMulShared(shared, x, ws))
				for i := range ws {
					got, want := readAll(t, b, shared[i]), readAll(t, b, single[i])
					for k := range want {
						if math.Float32bits(got[k]) != math.Float32bits(want[k]) {
							t.Fatalf("%+v %v n %d weight %d value %d: shared %g, alone %g", o, types, n, i, k, got[k], want[k])
						}
					}
				}
			}
		}
		require.Error(t, b.MatMulShared(nil, nil, nil))
	}
}
