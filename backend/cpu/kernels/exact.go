package kernels

import "math"

// This file holds the arithmetic shared by the portable kernels that reproduce llama.cpp's
// CPU results bit for bit (commit c392e509, x86-64 AVX2/FMA/F16C build). ggml's AVX2 dot
// products sum each block's integer products exactly, but in int32 lanes of a 256-bit
// register: after vpmaddubsw and vpmaddwd, lane k of a 32-byte product holds the sum of
// elements 4k..4k+3. Each lane is then converted to float32 and accumulated with its own
// fused multiply-add across the blocks of the row, and the eight lanes are added at the
// end in a fixed order. Which lane holds what, and that order, decide the last bit of the
// result; the portable kernels keep the eight lanes as arrays and follow the same steps.

// fma32 returns a*b+c rounded once to float32, as vfmadd does. The float64 product of two
// float32 values is exact; the float64 sum is rounded to odd (Boldo and Melquiond: a sum
// rounded to odd with at least two more bits than the target rounds correctly to it), so
// the final conversion to float32 is the single correctly rounded result.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b) // exact: 48 significant bits at most
	q := float64(c)
	s := p + q
	// TwoSum: the exact error of s.
	bv := s - p
	e := (p - (s - bv)) + (q - bv)
	if e != 0 && math.Float64bits(s)&1 == 0 {
		s = math.Nextafter(s, math.Copysign(math.Inf(1), e))
	}
	return float32(s)
}

// mul32 is a float32 product rounded on its own (never fused into a following add).
func mul32(a, b float32) float32 { return float32(a * b) }

// add32 is a float32 sum (a named step, so no product is ever fused into it).
func add32(a, b float32) float32 { return float32(a + b) }

// hsum8 is ggml's hsum_float_8 (and tinyBLAS's hsum of a __m256): the high half added to
// the low half, then lanes 2,3 to 0,1, then lane 1 to lane 0.
func hsum8(v *[8]float32) float32 {
	r0, r1 := add32(v[4], v[0]), add32(v[5], v[1])
	r2, r3 := add32(v[6], v[2]), add32(v[7], v[3])
	return add32(add32(r0, r2), add32(r1, r3))
}

// hsum4 is the same reduction of a 4-lane register (Q4_K's min accumulator).
func hsum4(v *[4]float32) float32 { return add32(add32(v[0], v[2]), add32(v[1], v[3])) }

// reduce4x8 is GGML_F32x8_REDUCE: four 8-lane accumulators added pairwise (0+2, 1+3,
// then 0+1), the high half added to the low half, then two horizontal adds.
func reduce4x8(acc *[4][8]float32) float32 {
	var x [8]float32
	for l := range 8 {
		x[l] = add32(add32(acc[0][l], acc[2][l]), add32(acc[1][l], acc[3][l]))
	}
	t0 := add32(x[0], x[4])
	t1 := add32(x[1], x[5])
	t2 := add32(x[2], x[6])
	t3 := add32(x[3], x[7])
	return add32(add32(t0, t1), add32(t2, t3))
}

// fmaLanes adds d*lanes[k] to acc[k] for the eight lanes of one block.
func fmaLanes(acc *[8]float32, d float32, lanes *[8]int32) {
	for k := range 8 {
		acc[k] = fma32(d, float32(lanes[k]), acc[k])
	}
}

// lanes32 returns the eight int32 lanes of one 32-element block product: lane k sums
// w[e]*y[e] for e in 4k..4k+3.
func lanes32(w *[32]int8, y []byte) (l [8]int32) {
	y = y[:32]
	for k := range 8 {
		e := 4 * k
		l[k] = int32(w[e])*int32(int8(y[e])) + int32(w[e+1])*int32(int8(y[e+1])) +
			int32(w[e+2])*int32(int8(y[e+2])) + int32(w[e+3])*int32(int8(y[e+3]))
	}
	return l
}

// lanes256 returns the eight int32 lanes of one 256-element super-block product with a
// scale per 16 elements: lane k sums sc[i/16]*w[i]*y[i] over the elements i = 32c+e,
// c = 0..7, e = 4k..4k+3 (the K-quant kernels multiply each 32-byte vector by its scales
// with vpmaddwd and add the vectors lane by lane; integer sums are exact in any order).
func lanes256(w *[256]int8, sc *[16]int32, y []byte) (l [8]int32) {
	y = y[:256]
	for c := range 8 {
		for k := range 8 {
			i := 32*c + 4*k
			s := int32(w[i])*int32(int8(y[i])) + int32(w[i+1])*int32(int8(y[i+1])) +
				int32(w[i+2])*int32(int8(y[i+2])) + int32(w[i+3])*int32(int8(y[i+3]))
			l[k] += sc[i/16] * s
		}
	}
	return l
}
