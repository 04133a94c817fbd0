package cpu

import "math"

// vExpf is ggml's vectorised expf for AVX2+FMA (an adaptation of Arm's optimized
// routine, max error 1.45 ulp), evaluated lane by lane. llama.cpp's CPU build uses it
// for SiLU and softmax on all but the last n%8 elements of a row, which use libm's
// expf; reproducing it keeps our activations bit-identical there, so 8-bit activation
// rounding downstream lands the same way.
func vExpf(x float32) float32 {
	const r = 0x1.8p23
	z := fma32(x, 0x1.715476p+0, r)
	n := z - r
	b := fnma32(n, 0x1.7f7d1cp-20, fnma32(n, 0x1.62e4p-1, x))
	e := math.Float32bits(z) << 23
	k := math.Float32frombits(e + math.Float32bits(1))
	u := b * b
	j := fma32(fma32(fma32(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, fma32(0x1.555e66p-3, b, 0x1.fffdb6p-2)), u, mul32(0x1.ffffecp-1, b))
	an := float32(math.Abs(float64(n)))
	if !(an > 126) {
		return fma32(j, k, k)
	}
	var g uint32
	if n <= 0 {
		g = 0x82000000
	}
	s1 := math.Float32frombits(g + 0x7f000000)
	s2 := math.Float32frombits(e - g)
	if an > 192 {
		return s1 * s1
	}
	return fma32(s2, j, s2) * s1
}

// fma32 is a single-rounding float32 a*b+c. The float64 product of two float32 values
// is exact, so only the final sum rounds twice (float64, then float32), which can differ
// from a true float32 FMA only on results within 2^-29 of a float32 midpoint.
func fma32(a, b, c float32) float32 { return float32(math.FMA(float64(a), float64(b), float64(c))) }

// fnma32 is -(a*b)+c with a single rounding.
func fnma32(a, b, c float32) float32 { return float32(math.FMA(-float64(a), float64(b), float64(c))) }

// mul32 is a float32 product rounded on its own (never fused into a following add).
func mul32(a, b float32) float32 { return a * b }

// siluRow is ggml_vec_silu_f32 on a span of a row: the vectorised exp for the row's
// whole groups of 8 from its start (the span's first vec values), libm's expf for the
// rest.
func siluRow(y, x []float32, vec int) {
	for i, v := range x[:vec] {
		y[i] = v / (1 + vExpf(-v))
	}
	for i := vec; i < len(x); i++ {
		y[i] = silu(x[i])
	}
}
