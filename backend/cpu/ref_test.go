package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests check the reference path against naive float64 code written from the
// ops' definitions, and fused ops against compositions of simple ones.

func newRef(t *testing.T) *Backend {
	b := New(backend.Options{Reference: true})
	t.Cleanup(func() { b.Close() })
	return b
}

func randFloats(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * scale)
	}
	return x
}

func tensorOf(t *testing.T, b *Backend, vals []float32, shape ...int) backend.Tensor {
	x, err := b.Alloc("t", gguf.TypeF32, shape...)
	require.NoError(t, err)
	require.NoError(t, b.Write(x, vals))
	return x
}

func readAll(t *testing.T, b *Backend, x backend.Tensor) []float32 {
	out := make([]float32, x.Shape().Elements())
	require.NoError(t, b.Read(x, out))
	return out
}

func assertClose(t *testing.T, want []float64, got []float32, rel float64, msg string) {
	t.Helper()
	require.Len(t, got, len(want))
	var scale float64
	for _, w := range want {
		scale = max(scale, math.Abs(w))
	}
	for i := range want {
		if math.Abs(want[i]-float64(got[i])) > rel*max(scale, 1e-30) {
			t.Fatalf("%s: element %d: got %g, want %g (tolerance %g of max %g)", msg, i, got[i], want[i], rel, scale)
		}
	}
}

func TestRMSNormAndLayerNormAgainstFloat64(t *testing.T) {
	b := newRef(t)
	rng := rand.New(rand.NewPCG(1, 2))
	rows, d := 3, 37
	xv := randFloats(rng, rows*d, 3)
	wv := randFloats(rng, d, 1)
	bv := randFloats(rng, d, 1)
	x := tensorOf(t, b, xv, rows, d)
	w := tensorOf(t, b, wv, d)
	bias := tensorOf(t, b, bv, d)
	dst, _ := b.Alloc("dst", gguf.TypeF32, rows, d)

	require.NoError(t, b.RMSNorm(dst, x, w, 1e-5))
	want := make([]float64, rows*d)
	for r := range rows {
		var ss float64
		for i := range d {
			v := float64(xv[r*d+i])
			ss += v * v
		}
		s := 1 / math.Sqrt(ss/float64(d)+1e-5)
		for i := range d {
			want[r*d+i] = float64(xv[r*d+i]) * s * float64(wv[i])
		}
	}
	assertClose(t, want, readAll(t, b, dst), 1e-6, "rms_norm")

	require.NoError(t, b.LayerNorm(dst, x, w, bias, 1e-5))
	for r := range rows {
		var mean, varsum float64
		for i := range d {
			mean += float64(xv[r*d+i])
		}
		mean /= float64(d)
		for i := range d {
			c := float64(xv[r*d+i]) - mean
			varsum += c * c
		}
		s := 1 / math.Sqrt(varsum/float64(d)+1e-5)
		for i := range d {
			want[r*d+i] = (float64(xv[r*d+i])-mean)*s*float64(wv[i]) + float64(bv[i])
		}
	}
	assertClose(t, want, readAll(t, b, dst), 1e-6, "layer_norm")
}

func TestElementwiseAgainstFloat64(t *testing.T) {
	b := newRef(t)
	rng := rand.New(rand.NewPCG(3, 4))
	n := 1000
	xv := randFloats(rng, n, 4)
	xv[0], xv[1], xv[2] = -12, 12, 0
	x := tensorOf(t, b, xv, 10, 100)
	dst, _ := b.Alloc("dst", gguf.TypeF32, 10, 100)

	want := make([]float64, n)
	require.NoError(t, b.SiLU(dst, x))
	for i, v := range xv {
		want[i] = float64(v) / (1 + math.Exp(-float64(v)))
	}
	assertClose(t, want, readAll(t, b, dst), 1e-6, "silu")

	// GELU through ggml's fp16 table is within fp16 precision of the exact tanh form.
	require.NoError(t, b.GELU(dst, x))
	got := readAll(t, b, dst)
	for i, v := range xv {
		x := float64(v)
		exact := 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
		assert.InDelta(t, exact, got[i], 2e-3*max(1, math.Abs(exact)), "gelu(%g)", v)
	}
	assert.Equal(t, float32(0), got[0], "gelu(-12)")
	assert.Equal(t, float32(12), got[1], "gelu(12)")

	require.NoError(t, b.Softmax(dst, x))
	got = readAll(t, b, dst)
	for r := range 10 {
		row := xv[r*100 : (r+1)*100]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, float64(v))
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - m)
		}
		for i, v := range row {
			want[r*100+i] = math.Exp(float64(v)-m) / s
		}
	}
	assertClose(t, want, got, 1e-6, "softmax")
}

func TestFusedOpsEqualCompositions(t *testing.T) {
	b := newRef(t)
	rng := rand.New(rand.NewPCG(5, 6))
	gv, uv, wv := randFloats(rng, 4*64, 2), randFloats(rng, 4*64, 1), randFloats(rng, 64, 1)
	g, u, w := tensorOf(t, b, gv, 4, 64), tensorOf(t, b, uv, 4, 64), tensorOf(t, b, wv, 64)
	fused, _ := b.Alloc("f", gguf.TypeF32, 4, 64)
	step, _ := b.Alloc("s", gguf.TypeF32, 4, 64)

	require.NoError(t, b.SwiGLU(fused, g, u))
	require.NoError(t, b.SiLU(step, g))
	require.NoError(t, b.Mul(step, step, u))
	assert.Equal(t, readAll(t, b, step), readAll(t, b, fused), "swiglu = silu·up")

	require.NoError(t, b.GeGLU(fused, g, u))
	require.NoError(t, b.GELU(step, g))
	require.NoError(t, b.Mul(step, step, u))
	assert.Equal(t, readAll(t, b, step), readAll(t, b, fused), "geglu = gelu·up")

	require.NoError(t, b.RMSNorm(fused, g, w, 1e-6))
	require.NoError(t, b.RMSNorm(step, g, nil, 1e-6))
	require.NoError(t, b.Mul(step, step, w))
	assert.Equal(t, readAll(t, b, step), readAll(t, b, fused), "rms_norm(w) = rms_norm · w")
}

func TestRoPEAgainstFloat64(t *testing.T) {
	b := newRef(t)
	rng := rand.New(rand.NewPCG(7, 8))
	n, heads, hd, rot := 3, 2, 16, 12
	pos := []int32{0, 5, 300}
	for _, mode := range []backend.RoPEMode{backend.RoPENormal, backend.RoPENeoX} {
		xv := randFloats(rng, n*heads*hd, 1)
		x := tensorOf(t, b, xv, n, heads, hd)
		require.NoError(t, b.RoPE(x, pos, backend.RoPEParams{Mode: mode, Dims: rot, Base: 10000, FreqScale: 0.5}))
		want := make([]float64, len(xv))
		for i := range xv {
			want[i] = float64(xv[i])
		}
		for tk := range n {
			for h := range heads {
				base := (tk*heads + h) * hd
				for i := range rot / 2 {
					angle := float64(pos[tk]) * 0.5 * math.Pow(10000, -2*float64(i)/float64(rot))
					a, c := base+2*i, base+2*i+1
					if mode == backend.RoPENeoX {
						a, c = base+i, base+i+rot/2
					}
					x0, x1 := float64(xv[a]), float64(xv[c])
					want[a] = x0*math.Cos(angle) - x1*math.Sin(angle)
					want[c] = x0*math.Sin(angle) + x1*math.Cos(angle)
				}
			}
		}
		assertClose(t, want, readAll(t, b, x), 2e-5, "rope")
	}
}

func TestMatMulAgainstFloat64(t *testing.T) {
	b := newRef(t)
	rng := rand.New(rand.NewPCG(9, 10))
	n, in, out := 3, 64, 5
	xv, wv := randFloats(rng, n*in, 1), randFloats(rng, out*in, 1)
	x := tensorOf(t, b, xv, n, in)
	dst, _ := b.Alloc("dst", gguf.TypeF32, n, out)
	raw := make([]byte, 4*len(wv))
	require.NoError(t, quant.Quantize(gguf.TypeF32, wv, raw))
	w, err := b.Upload(&gguf.TensorInfo{Name: "w", Type: gguf.TypeF32, Dims: []uint64{uint64(in), uint64(out)}}, raw)
	require.NoError(t, err)
	require.NoError(t, b.MatMul(dst, x, w))
	want := make([]float64, n*out)
	for i := range n {
		for r := range out {
			var s float64
			for k := range in {
				s += float64(xv[i*in+k]) * float64(wv[r*in+k])
			}
			want[i*out+r] = s
		}
	}
	assertClose(t, want, readAll(t, b, dst), 1e-6, "matmul f32")

	// Q8_0: the activation is rounded to Q8_0 as NUMERICS.md describes (127/amax,
	// round half to even) before the dot product; written out here independently.
	q8 := make([]byte, out*in/32*34)
	require.NoError(t, quant.Quantize(gguf.TypeQ8_0, wv, q8))
	wq, err := b.Upload(&gguf.TensorInfo{Name: "wq", Type: gguf.TypeQ8_0, Dims: []uint64{uint64(in), uint64(out)}}, q8)
	require.NoError(t, err)
	require.NoError(t, b.MatMul(dst, x, wq))
	wd := make([]float32, out*in)
	require.NoError(t, quant.Dequantize(gguf.TypeQ8_0, q8, wd))
	for i := range n {
		xr := make([]float64, in)
		for blk := 0; blk < in; blk += 32 {
			var amax float64
			for k := blk; k < blk+32; k++ {
				amax = math.Max(amax, math.Abs(float64(xv[i*in+k])))
			}
			d := float64(quant.FP16ToFP32(quant.FP32ToFP16(float32(amax / 127))))
			inv := float32(127 / float32(amax))
			for k := blk; k < blk+32; k++ {
				xr[k] = d * math.RoundToEven(float64(xv[i*in+k]*inv))
			}
		}
		for r := range out {
			var s float64
			for k := range in {
				s += xr[k] * float64(wd[r*in+k])
			}
			want[i*out+r] = s
		}
	}
	assertClose(t, want, readAll(t, b, dst), 1e-6, "matmul q8_0")
}

func TestAttentionAgainstFloat64(t *testing.T) {
	b := newRef(t)
	rng := rand.New(rand.NewPCG(11, 12))
	heads, headsKV, hd, cells := 4, 2, 8, 8
	kv, err := b.NewKVCache(1, cells, headsKV*hd, headsKV*hd, gguf.TypeF32)
	require.NoError(t, err)
	// Two sequences interleaved in one batch: tokens of seq 0 at cells 0,2,4 and of
	// seq 1 at cells 1,3.
	batch := &backend.Batch{Pos: []int32{0, 0, 1, 1, 2}, Seq: []int32{0, 1, 0, 1, 0}, Cells: []int32{0, 1, 2, 3, 4}}
	for i, c := range batch.Cells {
		kv.Cells[c] = backend.Cell{Pos: batch.Pos[i], Seq: batch.Seq[i]}
	}
	n := batch.Len()
	qv, kvv, vv := randFloats(rng, n*heads*hd, 1), randFloats(rng, n*headsKV*hd, 1), randFloats(rng, n*headsKV*hd, 1)
	q, k, v := tensorOf(t, b, qv, n, heads, hd), tensorOf(t, b, kvv, n, headsKV, hd), tensorOf(t, b, vv, n, headsKV, hd)
	dst, _ := b.Alloc("dst", gguf.TypeF32, n, heads, hd)
	scale := float32(1 / math.Sqrt(float64(hd)))
	require.NoError(t, b.Attention(dst, q, k, v, kv, 0, batch, backend.AttnParams{Scale: scale, Causal: true}))

	want := make([]float64, n*heads*hd)
	for i := range n {
		for h := range heads {
			kh := h / (heads / headsKV)
			var ws []float64
			var js []int
			for j := range n {
				if batch.Seq[j] != batch.Seq[i] || batch.Pos[j] > batch.Pos[i] {
					continue
				}
				var s float64
				for d := range hd {
					s += float64(qv[(i*heads+h)*hd+d]) * float64(kvv[(j*headsKV+kh)*hd+d])
				}
				ws = append(ws, s*float64(scale))
				js = append(js, j)
			}
			m := math.Inf(-1)
			for _, s := range ws {
				m = math.Max(m, s)
			}
			var sum float64
			for x := range ws {
				ws[x] = math.Exp(ws[x] - m)
				sum += ws[x]
			}
			for d := range hd {
				var o float64
				for x, j := range js {
					o += ws[x] / sum * float64(vv[(j*headsKV+kh)*hd+d])
				}
				want[(i*heads+h)*hd+d] = o
			}
		}
	}
	assertClose(t, want, readAll(t, b, dst), 1e-5, "attention")
}

func TestOpsRejectBadShapes(t *testing.T) {
	b := newRef(t)
	x, _ := b.Alloc("x", gguf.TypeF32, 2, 8)
	y, _ := b.Alloc("y", gguf.TypeF32, 3, 7)
	w, _ := b.Alloc("w", gguf.TypeF32, 4, 9)
	require.ErrorContains(t, b.Add(x, x, y), "does not match")
	require.ErrorContains(t, b.MatMul(x, x, w), "wants 9")
	require.ErrorContains(t, b.RMSNorm(x, x, y, 1e-5), "want F32 of 8")
	rows, _ := b.Alloc("rows", gguf.TypeF32, 2, 9)
	require.ErrorContains(t, b.GetRows(rows, w, []int32{7, 0}), "outside the 4 rows")
	x3, _ := b.Alloc("x3", gguf.TypeF32, 2, 2, 4)
	require.ErrorContains(t, b.RoPE(x3, []int32{0, 1}, backend.RoPEParams{Dims: 6, Base: 1e4}), "rotated dims")
	require.ErrorContains(t, b.RoPE(x3, []int32{0}, backend.RoPEParams{Dims: 4, Base: 1e4}), "positions")
	_, err := b.Alloc("huge", gguf.TypeF32, 1<<30, 1<<30)
	require.ErrorContains(t, err, "too large")
	_, err = b.Reshape(x, 3, 5)
	require.Error(t, err)
	_, err = b.View(x, 1, 3)
	require.Error(t, err)
	q, _ := b.Alloc("q", gguf.TypeF32, 1, 2, 4)
	kv, err := b.NewKVCache(1, 4, 8, 8, gguf.TypeF32)
	require.NoError(t, err)
	batch := &backend.Batch{Pos: []int32{0}, Seq: []int32{0}, Cells: []int32{9}}
	require.ErrorContains(t, b.Attention(q, q, q, q, kv, 0, batch, backend.AttnParams{}), "outside the cache")
	batch.Cells[0] = 1
	require.ErrorContains(t, b.Attention(q, q, q, q, kv, 0, batch, backend.AttnParams{}), "marked seq -1")
}
