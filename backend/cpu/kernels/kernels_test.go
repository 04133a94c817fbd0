package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// allTypes are the weight types with kernels.
var allTypes = []gguf.Type{
	gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16,
	gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0, gguf.TypeIQ4_NL,
	gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeIQ4_XS,
}

// halfFields are the offsets of the fp16 scale fields in one block of each type; the
// raw generators give them chosen values instead of random bits.
var halfFields = map[gguf.Type][]int{
	gguf.TypeQ4_0: {0}, gguf.TypeQ4_1: {0, 2}, gguf.TypeQ5_0: {0}, gguf.TypeQ5_1: {0, 2},
	gguf.TypeQ8_0: {0}, gguf.TypeQ8_1: {0, 2}, gguf.TypeIQ4_NL: {0},
	gguf.TypeQ2_K: {80, 82}, gguf.TypeQ3_K: {108}, gguf.TypeQ4_K: {0, 2}, gguf.TypeQ5_K: {0, 2},
	gguf.TypeQ6_K: {208}, gguf.TypeIQ4_XS: {0},
}

// mode selects how a test row is made.
type mode int

const (
	modeQuantized mode = iota // real floats through the quantizers
	modeRaw                   // random bits in the quants, random signed scales
	modeExtreme               // quants at their extremes, largest scales
	modeZero                  // all zero
	numModes
)

func (m mode) String() string { return [...]string{"quantized", "raw", "extreme", "zero"}[m] }

func randHalf(r *rand.Rand, m mode) uint16 {
	switch m {
	case modeZero:
		return 0
	case modeExtreme:
		v := quant.FP32ToFP16(float32(60000 + r.IntN(5000)))
		if r.IntN(2) == 0 {
			v |= 0x8000
		}
		return v
	}
	// Signed, spanning 2^-14 .. 2^4, subnormals now and then.
	if r.IntN(50) == 0 {
		return uint16(r.IntN(0x400)) | uint16(r.IntN(2))<<15
	}
	return quant.FP32ToFP16(float32(math.Ldexp(r.Float64()+0.5, r.IntN(18)-14)) * float32(1-2*r.IntN(2)))
}

func randFloats(r *rand.Rand, n int) []float32 {
	f := make([]float32, n)
	for i := range f {
		// Blocks of different magnitudes, an outlier now and then.
		scale := math.Ldexp(1, (i/32)%7-3)
		f[i] = float32(r.NormFloat64() * scale)
		if r.IntN(97) == 0 {
			f[i] *= 20
		}
	}
	return f
}

// makeWeights returns one row of n elements of type t.
func makeWeights(t *testing.T, r *rand.Rand, wt gguf.Type, n int, m mode) []byte {
	t.Helper()
	nb := n / wt.BlockSize()
	buf := make([]byte, nb*wt.BlockBytes())
	switch wt {
	case gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16:
		f := randFloats(r, n)
		for i := range f {
			switch m {
			case modeZero:
				f[i] = 0
			case modeExtreme:
				f[i] = float32(60000 * (1 - 2*r.IntN(2)))
			}
		}
		if err := quant.Quantize(wt, f, buf); err != nil {
			t.Fatal(err)
		}
		return buf
	}
	switch m {
	case modeQuantized:
		if err := quant.Quantize(wt, randFloats(r, n), buf); err != nil {
			t.Fatal(err)
		}
		return buf
	case modeZero:
		return buf
	}
	extremes := []byte{0x00, 0xff, 0x0f, 0xf0, 0x80, 0x7f, 0x88, 0x77}
	for i := range buf {
		if m == modeExtreme {
			buf[i] = extremes[r.IntN(len(extremes))]
		} else {
			buf[i] = byte(r.Uint32())
		}
	}
	bb := wt.BlockBytes()
	for b := range nb {
		for _, off := range halfFields[wt] {
			binary.LittleEndian.PutUint16(buf[b*bb+off:], randHalf(r, m))
		}
	}
	return buf
}

// makeActivations returns the activation row of n elements for weight type wt.
func makeActivations(t *testing.T, r *rand.Rand, wt gguf.Type, n int, m mode) []byte {
	t.Helper()
	at, ok := VecDotType(wt)
	if !ok {
		t.Fatalf("no activation type for %s", wt)
	}
	nb := n / at.BlockSize()
	buf := make([]byte, nb*at.BlockBytes())
	if m == modeQuantized || at == gguf.TypeF32 || at == gguf.TypeF16 || at == gguf.TypeBF16 {
		f := randFloats(r, n)
		if m == modeZero {
			clear(f)
		}
		if m == modeExtreme {
			for i := range f {
				f[i] = float32(60000 * (1 - 2*r.IntN(2)))
			}
		}
		var err error
		switch at {
		case gguf.TypeQ8_0:
			err = quant.QuantizeActivationsQ8_0(f, buf)
		case gguf.TypeQ8_1:
			err = quant.QuantizeActivationsQ8_1(f, buf)
		case gguf.TypeQ8_K:
			err = quant.QuantizeActivationsQ8_K(f, buf)
		default:
			err = quant.Quantize(at, f, buf)
		}
		if err != nil {
			t.Fatal(err)
		}
		return buf
	}
	if m == modeZero {
		return buf
	}
	// Raw quants in [-127, 127], the range the activation quantizers produce.
	q := func() byte {
		if m == modeExtreme {
			return byte(int8(127 * (1 - 2*r.IntN(2))))
		}
		return byte(int8(r.IntN(255) - 127))
	}
	bb := at.BlockBytes()
	for b := range nb {
		blk := buf[b*bb : (b+1)*bb]
		switch at {
		case gguf.TypeQ8_0, gguf.TypeQ8_1:
			off := 2
			if at == gguf.TypeQ8_1 {
				off = 4
			}
			sum := 0
			for i := off; i < bb; i++ {
				blk[i] = q()
				sum += int(int8(blk[i]))
			}
			d := randHalf(r, m)
			binary.LittleEndian.PutUint16(blk, d)
			if at == gguf.TypeQ8_1 {
				binary.LittleEndian.PutUint16(blk[2:], quant.FP32ToFP16(quant.FP16ToFP32(d)*float32(sum)))
			}
		case gguf.TypeQ8_K:
			d := float32(math.Ldexp(r.Float64()+0.5, r.IntN(20)-16)) * float32(1-2*r.IntN(2))
			if m == modeExtreme {
				d = 1e4
			}
			binary.LittleEndian.PutUint32(blk, math.Float32bits(d))
			for j := range 16 {
				s := 0
				for l := range 16 {
					blk[4+16*j+l] = q()
					s += int(int8(blk[4+16*j+l]))
				}
				binary.LittleEndian.PutUint16(blk[260+2*j:], uint16(int16(s)))
			}
		}
	}
	return buf
}

// refDot is the float64 dot product of the dequantized rows. For Q8_1 activations the
// weight minimum multiplies the stored block sum s (as ggml does), not d*sum(q).
func refDot(t *testing.T, wt gguf.Type, w, x []byte, n int) (dot, mag float64) {
	t.Helper()
	at, _ := VecDotType(wt)
	wf := make([]float32, n)
	xf := make([]float32, n)
	if err := quant.Dequantize(wt, w, wf); err != nil {
		t.Fatal(err)
	}
	if err := quant.Dequantize(at, x, xf); err != nil {
		t.Fatal(err)
	}
	for i := range wf {
		p := float64(wf[i]) * float64(xf[i])
		dot += p
		mag += math.Abs(p)
	}
	if at == gguf.TypeQ8_1 {
		wb := wt.BlockBytes()
		for b := range n / 32 {
			xb := x[36*b : 36*b+36]
			mw := float64(quant.FP16ToFP32(binary.LittleEndian.Uint16(w[b*wb+2:])))
			dx := float64(quant.FP16ToFP32(binary.LittleEndian.Uint16(xb)))
			sx := float64(quant.FP16ToFP32(binary.LittleEndian.Uint16(xb[2:])))
			sum := 0.0
			for _, v := range xb[4:] {
				sum += float64(int8(v))
			}
			corr := mw * (sx - dx*sum)
			dot += corr
			mag += math.Abs(mw * sx)
		}
	}
	return dot, mag
}

// lengths are the row lengths tested for a type: one block, 7 and 13 blocks, ~4096.
func lengths(t gguf.Type) []int {
	bs := t.BlockSize()
	if bs == 1 {
		return []int{1, 7, 13, 31, 32, 33, 4096, 4099}
	}
	return []int{bs, 7 * bs, 13 * bs, (4096 / bs) * bs, (4096/bs + 3) * bs}
}

func relErr(got float32, want, mag float64) float64 {
	if mag == 0 {
		if got == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Abs(float64(got)-want) / mag
}

func TestDotAgainstFloat64(t *testing.T) {
	for _, wt := range allTypes {
		t.Run(wt.String(), func(t *testing.T) {
			seed := uint64(wt)*1000 + 1
			r := rand.New(rand.NewPCG(seed, 7))
			for _, n := range lengths(wt) {
				for m := range numModes {
					for xm := range numModes {
						w := makeWeights(t, r, wt, n, m)
						x := makeActivations(t, r, wt, n, xm)
						got, err := Dot(wt, w, x, n)
						if err != nil {
							t.Fatal(err)
						}
						want, mag := refDot(t, wt, w, x, n)
						// Relative to the sum of |products|: the condition of the sum.
						if e := relErr(got, want, mag); e > 1e-5 {
							t.Errorf("seed %d n=%d w=%s x=%s: got %g want %g (sum|p| %g): rel err %.3g", seed, n, m, xm, got, want, mag, e)
						}
					}
				}
			}
		})
	}
}

// TestMatVec checks the multi-row kernels against Dot on each row, with row counts that
// leave every remainder of the assembly's row tiles, and a row stride larger than a row.
func TestMatVec(t *testing.T) {
	for _, wt := range allTypes {
		t.Run(wt.String(), func(t *testing.T) {
			seed := uint64(wt)*1000 + 2
			r := rand.New(rand.NewPCG(seed, 7))
			bs := wt.BlockSize()
			for _, n := range []int{bs, 13 * bs, 4 * 256} {
				rb := n / bs * wt.BlockBytes()
				stride := rb + 3
				x := makeActivations(t, r, wt, n, modeQuantized)
				for rows := 1; rows <= 11; rows++ {
					w := make([]byte, rows*stride)
					for i := range rows {
						copy(w[i*stride:], makeWeights(t, r, wt, n, mode(i%3)))
					}
					dst := make([]float32, rows)
					f, _ := MatVecKernel(wt)
					f(dst, w, stride, x, n/bs)
					for i := range rows {
						want, err := Dot(wt, w[i*stride:i*stride+rb], x, n)
						if err != nil {
							t.Fatal(err)
						}
						_, mag := refDot(t, wt, w[i*stride:i*stride+rb], x, n)
						if e := relErr(dst[i], float64(want), mag); e > 1e-6 {
							t.Errorf("seed %d n=%d rows=%d row %d: MatVec %g, Dot %g: rel err %.3g", seed, n, rows, i, dst[i], want, e)
						}
					}
					// The checked entry on contiguous rows.
					if rows == 5 {
						cw := make([]byte, rows*rb)
						for i := range rows {
							copy(cw[i*rb:], w[i*stride:i*stride+rb])
						}
						d2 := make([]float32, rows)
						if err := MatVec(wt, d2, cw, x, n); err != nil {
							t.Fatal(err)
						}
						for i := range d2 {
							if d2[i] != dst[i] {
								t.Errorf("MatVec row %d: %g, kernel %g", i, d2[i], dst[i])
							}
						}
					}
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	w := make([]byte, 18)
	x := make([]byte, 34)
	if _, err := Dot(gguf.TypeQ4_0, w, x, 32); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		t    gguf.Type
		w, x []byte
		n    int
	}{
		{"unsupported", gguf.TypeIQ2_XXS, w, x, 256},
		{"unknown", gguf.Type(99), w, x, 32},
		{"partial block", gguf.TypeQ4_0, w, x, 31},
		{"negative n", gguf.TypeQ4_0, w, x, -32},
		{"short w", gguf.TypeQ4_0, w[:17], x, 32},
		{"long w", gguf.TypeQ4_0, make([]byte, 19), x, 32},
		{"short x", gguf.TypeQ4_0, w, x[:33], 32},
		{"wrong x type", gguf.TypeQ4_1, make([]byte, 20), x, 32},
	}
	for _, c := range cases {
		if _, err := Dot(c.t, c.w, c.x, c.n); err == nil {
			t.Errorf("%s: Dot accepted it", c.name)
		}
	}
	if err := MatVec(gguf.TypeQ4_0, make([]float32, 2), w, x, 32); err == nil {
		t.Error("MatVec accepted one row for two outputs")
	}
	if err := MatVec(gguf.TypeQ4_0, nil, nil, x, 32); err != nil {
		t.Errorf("MatVec of no rows: %v", err)
	}
	if got, err := Dot(gguf.TypeQ4_K, nil, nil, 0); err != nil || got != 0 {
		t.Errorf("empty Dot = %g, %v", got, err)
	}
	for _, wt := range allTypes {
		if !Supported(wt) {
			t.Errorf("%s not supported", wt)
		}
	}
	if at, ok := VecDotType(gguf.TypeQ5_1); !ok || at != gguf.TypeQ8_1 {
		t.Errorf("VecDotType(Q5_1) = %s, %v", at, ok)
	}
}

func TestDotF32(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 7))
	for _, n := range []int{0, 1, 5, 31, 32, 33, 100, 4099} {
		a, b := randFloats(r, n), randFloats(r, n)
		var want, mag float64
		for i := range a {
			want += float64(a[i]) * float64(b[i])
			mag += math.Abs(float64(a[i]) * float64(b[i]))
		}
		got := DotF32(a, b)
		if n == 0 {
			if got != 0 {
				t.Errorf("n=0: %g", got)
			}
			continue
		}
		if e := relErr(got, want, mag); e > 1e-5 {
			t.Errorf("n=%d: got %g want %g: %.3g", n, got, want, e)
		}
	}
}

func ExampleDot() {
	x := make([]float32, 64)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	w := make([]byte, 2*18)
	_ = quant.Quantize(gguf.TypeQ4_0, x, w)
	act := make([]byte, 2*34)
	_ = quant.QuantizeActivationsQ8_0(x, act)
	d, err := Dot(gguf.TypeQ4_0, w, act, 64)
	fmt.Printf("%.1f %v\n", d, err)
	// Output: 248.7 <nil>
}
