package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/stretchr/testify/require"
)

// naiveConv is Mamba's causal depthwise convolution in float64, written from its
// definition: each sequence's inputs are prefixed with its previous kernel-1 inputs.
func naiveConv(x, w, state []float64, slots []int32, ch, k int) (y, newState []float64) {
	newState = append([]float64(nil), state...)
	y = make([]float64, len(slots)*ch)
	for i, s := range slots {
		for c := range ch {
			st := newState[(int(s)*ch+c)*(k-1) : (int(s)*ch+c+1)*(k-1)]
			window := append(append([]float64(nil), st...), x[i*ch+c])
			for t := range k {
				y[i*ch+c] += window[t] * w[c*k+t]
			}
			copy(st, window[1:])
		}
	}
	return y, newState
}

// naiveScan is the selective scan in float64.
func naiveScan(x, dt, a, bm, cm, state []float64, slots []int32, inner, ds int) (y, newState []float64) {
	newState = append([]float64(nil), state...)
	y = make([]float64, len(slots)*inner)
	for i, s := range slots {
		for c := range inner {
			delta := dt[i*inner+c]
			if delta <= 20 {
				delta = math.Log1p(math.Exp(delta))
			}
			st := newState[(int(s)*inner+c)*ds : (int(s)*inner+c+1)*ds]
			for t := range ds {
				st[t] = st[t]*math.Exp(delta*a[c*ds+t]) + bm[i*ds+t]*x[i*inner+c]*delta
				y[i*inner+c] += st[t] * cm[i*ds+t]
			}
		}
	}
	return y, newState
}

func f64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func TestSSMConvAgainstFloat64(t *testing.T) {
	for _, ref := range []bool{true, false} {
		b := New(backend.Options{Reference: ref, Threads: 3})
		rng := rand.New(rand.NewPCG(3, 4))
		n, ch, k, rows := 9, 37, 4, 3
		xv := randFloats(rng, n*ch, 1)
		wv := randFloats(rng, ch*k, 0.5)
		sv := randFloats(rng, rows*ch*(k-1), 1)
		slots := []int32{2, 0, 2, 2, 1, 0, 2, 1, 1} // interleaved sequences
		x := tensorOf(t, b, xv, n, ch)
		w := tensorOf(t, b, wv, ch, k)
		st := tensorOf(t, b, sv, rows, ch, k-1)
		dst, _ := b.Alloc("dst", gguf.TypeF32, n, ch)
		require.NoError(t, b.SSMConv(dst, x, w, st, slots))
		wantY, wantS := naiveConv(f64s(xv), f64s(wv), f64s(sv), slots, ch, k)
		assertClose(t, wantY, readAll(t, b, dst), 1e-6, "ssm_conv output")
		assertClose(t, wantS, readAll(t, b, st), 0, "ssm_conv state")
		b.Close()
	}
}

func TestSSMScanAgainstFloat64(t *testing.T) {
	for _, ref := range []bool{true, false} {
		b := New(backend.Options{Reference: ref, Threads: 3})
		rng := rand.New(rand.NewPCG(5, 6))
		n, inner, ds, rows := 7, 29, 16, 2
		xv := randFloats(rng, n*inner, 1)
		dtv := randFloats(rng, n*inner, 2)
		dtv[3] = 25 // above the softplus threshold
		av := randFloats(rng, inner*ds, 1)
		for i := range av {
			av[i] = -float32(math.Abs(float64(av[i])))
		}
		bv := randFloats(rng, n*ds, 1)
		cv := randFloats(rng, n*ds, 1)
		sv := randFloats(rng, rows*inner*ds, 1)
		slots := []int32{1, 1, 0, 1, 0, 0, 1}
		x := tensorOf(t, b, xv, n, inner)
		dt := tensorOf(t, b, dtv, n, inner)
		a := tensorOf(t, b, av, inner, ds)
		bm := tensorOf(t, b, bv, n, ds)
		cm := tensorOf(t, b, cv, n, ds)
		st := tensorOf(t, b, sv, rows, inner, ds)
		dst, _ := b.Alloc("dst", gguf.TypeF32, n, inner)
		require.NoError(t, b.SSMScan(dst, x, dt, a, bm, cm, st, slots))
		wantY, wantS := naiveScan(f64s(xv), f64s(dtv), f64s(av), f64s(bv), f64s(cv), f64s(sv), slots, inner, ds)
		assertClose(t, wantY, readAll(t, b, dst), 1e-5, "ssm_scan output")
		assertClose(t, wantS, readAll(t, b, st), 1e-5, "ssm_scan state")
		b.Close()
	}
}

// TestSSMBatchEqualsOneByOne: running tokens together or one per call gives the same
// bits, since each channel's recurrence runs in token order either way.
func TestSSMBatchEqualsOneByOne(t *testing.T) {
	b := New(backend.Options{Threads: 2})
	defer b.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	n, inner, ds, k := 6, 24, 8, 4
	xv, dtv := randFloats(rng, n*inner, 1), randFloats(rng, n*inner, 1)
	av, bv, cv := randFloats(rng, inner*ds, 1), randFloats(rng, n*ds, 1), randFloats(rng, n*ds, 1)
	wv := randFloats(rng, inner*k, 1)
	run := func(lo, hi int, cs, ss backend.Tensor) []float32 {
		m := hi - lo
		x := tensorOf(t, b, xv[lo*inner:hi*inner], m, inner)
		y, _ := b.Alloc("y", gguf.TypeF32, m, inner)
		slots := make([]int32, m)
		require.NoError(t, b.SSMConv(y, x, tensorOf(t, b, wv, inner, k), cs, slots))
		out, _ := b.Alloc("out", gguf.TypeF32, m, inner)
		require.NoError(t, b.SSMScan(out, y, tensorOf(t, b, dtv[lo*inner:hi*inner], m, inner), tensorOf(t, b, av, inner, ds),
			tensorOf(t, b, bv[lo*ds:hi*ds], m, ds), tensorOf(t, b, cv[lo*ds:hi*ds], m, ds), ss, slots))
		return readAll(t, b, out)
	}
	cs1, _ := b.Alloc("cs", gguf.TypeF32, 1, inner, k-1)
	ss1, _ := b.Alloc("ss", gguf.TypeF32, 1, inner, ds)
	batch := run(0, n, cs1, ss1)
	cs2, _ := b.Alloc("cs", gguf.TypeF32, 1, inner, k-1)
	ss2, _ := b.Alloc("ss", gguf.TypeF32, 1, inner, ds)
	var one []float32
	for i := range n {
		one = append(one, run(i, i+1, cs2, ss2)...)
	}
	require.Equal(t, batch, one)
	require.Equal(t, readAll(t, b, ss1), readAll(t, b, ss2))
}

func TestSeqMean(t *testing.T) {
	b := newRef(t)
	xv := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	x := tensorOf(t, b, xv, 4, 2)
	dst, _ := b.Alloc("dst", gguf.TypeF32, 3, 2)
	require.NoError(t, b.SeqMean(dst, x, []int32{0, 2, 0, 2}))
	require.Equal(t, []float32{3, 4, 0, 0, 5, 6}, readAll(t, b, dst))
	require.Error(t, b.SeqMean(dst, x, []int32{0, 3, 0, 0}))
	require.Error(t, b.SeqMean(dst, x, []int32{0}))
}

func TestSSMBadOperands(t *testing.T) {
	b := newRef(t)
	x, _ := b.Alloc("x", gguf.TypeF32, 2, 8)
	w, _ := b.Alloc("w", gguf.TypeF32, 8, 4)
	st, _ := b.Alloc("st", gguf.TypeF32, 1, 8, 3)
	dst, _ := b.Alloc("dst", gguf.TypeF32, 2, 8)
	require.Error(t, b.SSMConv(dst, x, w, st, []int32{0, 1}))
	require.Error(t, b.SSMConv(dst, x, w, st, []int32{0}))
	require.Error(t, b.SSMConv(dst, x, st, st, []int32{0, 0}))
	require.Error(t, b.SSMConv(dst, x, w, nil, []int32{0, 0}))
	require.NoError(t, b.SSMConv(dst, x, w, st, []int32{0, 0}))
	a, _ := b.Alloc("a", gguf.TypeF32, 8, 4)
	bc, _ := b.Alloc("bc", gguf.TypeF32, 2, 4)
	ss, _ := b.Alloc("ss", gguf.TypeF32, 1, 8, 4)
	require.Error(t, b.SSMScan(dst, x, x, a, bc, bc, ss, []int32{0, -1}))
	require.Error(t, b.SSMScan(dst, x, x, a, bc, bc, st, []int32{0, 0}))
	require.Error(t, b.SSMScan(dst, x, x, a, x, bc, ss, []int32{0, 0}))
	require.NoError(t, b.SSMScan(dst, x, x, a, bc, bc, ss, []int32{0, 0}))
}
