package kernels

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// DotF32 returns the dot product of a and b[:len(a)] as ggml_vec_dot_f32 computes it on
// AVX2: four 8-lane accumulators over the leading multiple of 32 elements, reduced by
// GGML_F32x8_REDUCE, then the leftovers one by one with (contracted) fused multiply-adds.
func DotF32(a, b []float32) float32 {
	b = b[:len(a)]
	np := len(a) &^ 31
	var sum float32
	if np > 0 {
		if hasAVX2 {
			sum = dotF32AVX2(&a[0], &b[0], np)
		} else {
			sum = dotF32Go(a[:np], b[:np])
		}
	}
	for i := np; i < len(a); i++ {
		sum = fma32(a[i], b[i], sum)
	}
	return sum
}

// dotF32Go is the vector part of DotF32 (len(a) a multiple of 32).
func dotF32Go(a, b []float32) float32 {
	b = b[:len(a)]
	var acc [4][8]float32
	for i := 0; i+32 <= len(a); i += 32 {
		for j := range 4 {
			for l := range 8 {
				acc[j][l] = fma32(a[i+8*j+l], b[i+8*j+l], acc[j][l])
			}
		}
	}
	return reduce4x8(&acc)
}

// TinyDotF32 is tinyBLAS's F32 dot product (llamafile_sgemm on AVX2, which takes batches
// of two rows or more when len(a) is a multiple of 8): one 8-lane accumulator, then
// hsum. len(a) must be a multiple of 8.
func TinyDotF32(a, b []float32) float32 {
	b = b[:len(a)]
	if len(a) == 0 {
		return 0
	}
	if hasAVX2 {
		return tinyF32AVX2(&a[0], &b[0], len(a))
	}
	return tinyF32Go(a, b)
}

func tinyF32Go(a, b []float32) float32 {
	b = b[:len(a)]
	var acc [8]float32
	for i := 0; i+8 <= len(a); i += 8 {
		for l := range 8 {
			acc[l] = fma32(a[i+l], b[i+l], acc[l])
		}
	}
	return hsum8(&acc)
}

// DotF32Bytes is DotF32 over n little-endian float32 values stored as bytes.
func DotF32Bytes(w, x []byte, n int) float32 {
	if n == 0 {
		return 0
	}
	_, _ = w[4*n-1], x[4*n-1]
	return DotF32(unsafe.Slice((*float32)(unsafe.Pointer(&w[0])), n), unsafe.Slice((*float32)(unsafe.Pointer(&x[0])), n))
}

func dotF32BytesGo(w, x []byte, n int) float32 {
	a, b := bytesF32(w, n), bytesF32(x, n)
	np := n &^ 31
	sum := dotF32Go(a[:np], b[:np])
	for i := np; i < n; i++ {
		sum = fma32(a[i], b[i], sum)
	}
	return sum
}

// bytesF32 decodes n little-endian float32 values.
func bytesF32(p []byte, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	return out
}

// TinyDotF32Bytes is TinyDotF32 over n float32 values stored as bytes (n a multiple of 8).
func TinyDotF32Bytes(w, x []byte, n int) float32 {
	if n == 0 {
		return 0
	}
	_, _ = w[4*n-1], x[4*n-1]
	return TinyDotF32(unsafe.Slice((*float32)(unsafe.Pointer(&w[0])), n), unsafe.Slice((*float32)(unsafe.Pointer(&x[0])), n))
}

// DotF16 returns the dot product of n F16 weights with n F16 activations, both stored
// as little-endian bytes, as ggml_vec_dot_f16 computes it on AVX2/F16C: four 8-lane
// float32 accumulators over the leading multiple of 32, reduced by GGML_F32x8_REDUCE into
// a double, the leftovers' float32 products added in double, rounded to float32 last.
func DotF16(w, x []byte, n int) float32 {
	if n == 0 {
		return 0
	}
	_, _ = w[2*n-1], x[2*n-1]
	np := n &^ 31
	var sum float64
	if np > 0 {
		if hasAVX2 {
			sum = float64(dotF16AVX2(&w[0], &x[0], np))
		} else {
			sum = float64(dotF16Go(w, x, np))
		}
	}
	for i := np; i < n; i++ {
		sum += float64(mul32(f16(binary.LittleEndian.Uint16(w[2*i:])), f16(binary.LittleEndian.Uint16(x[2*i:]))))
	}
	return float32(sum)
}

// dotF16Go is the vector part of DotF16 (n a multiple of 32).
func dotF16Go(w, x []byte, n int) float32 {
	var acc [4][8]float32
	for i := 0; i+32 <= n; i += 32 {
		for j := range 4 {
			for l := range 8 {
				e := 2 * (i + 8*j + l)
				acc[j][l] = fma32(f16(binary.LittleEndian.Uint16(w[e:])), f16(binary.LittleEndian.Uint16(x[e:])), acc[j][l])
			}
		}
	}
	return reduce4x8(&acc)
}

// TinyDotF16 is tinyBLAS's F16 dot product (one 8-lane accumulator, hsum); n must be a
// multiple of 8.
func TinyDotF16(w, x []byte, n int) float32 {
	if n == 0 {
		return 0
	}
	_, _ = w[2*n-1], x[2*n-1]
	if hasAVX2 {
		return tinyF16AVX2(&w[0], &x[0], n)
	}
	return tinyF16Go(w, x, n)
}

func tinyF16Go(w, x []byte, n int) float32 {
	var acc [8]float32
	for i := 0; i+8 <= n; i += 8 {
		for l := range 8 {
			e := 2 * (i + l)
			acc[l] = fma32(f16(binary.LittleEndian.Uint16(w[e:])), f16(binary.LittleEndian.Uint16(x[e:])), acc[l])
		}
	}
	return hsum8(&acc)
}

// DotBF16 returns the dot product of n BF16 weights with n BF16 activations, both
// stored as little-endian bytes, accumulating in float32.
func DotBF16(w, x []byte, n int) float32 {
	w, x = w[:2*n], x[:2*n]
	var s0, s1 float32
	i := 0
	for ; i+4 <= len(w); i += 4 {
		s0 += bf16(binary.LittleEndian.Uint16(w[i:])) * bf16(binary.LittleEndian.Uint16(x[i:]))
		s1 += bf16(binary.LittleEndian.Uint16(w[i+2:])) * bf16(binary.LittleEndian.Uint16(x[i+2:]))
	}
	for ; i < len(w); i += 2 {
		s0 += bf16(binary.LittleEndian.Uint16(w[i:])) * bf16(binary.LittleEndian.Uint16(x[i:]))
	}
	return s0 + s1
}

// MatVecF32 is the multi-row form of DotF32Bytes (see MatVecFunc).
func MatVecF32(dst []float32, w []byte, rowStride int, x []byte, n int) {
	eachRow(dst, w, rowStride, x, n, DotF32Bytes)
}

// MatVecF16 is the multi-row form of DotF16 (see MatVecFunc).
func MatVecF16(dst []float32, w []byte, rowStride int, x []byte, n int) {
	eachRow(dst, w, rowStride, x, n, DotF16)
}

// MatVecBF16 is the multi-row form of DotBF16 (see MatVecFunc).
func MatVecBF16(dst []float32, w []byte, rowStride int, x []byte, n int) {
	eachRow(dst, w, rowStride, x, n, DotBF16)
}

// MatTinyF32 is the multi-row form of TinyDotF32Bytes (see MatVecFunc).
func MatTinyF32(dst []float32, w []byte, rowStride int, x []byte, n int) {
	for r := range dst {
		dst[r] = TinyDotF32Bytes(w[r*rowStride:], x, n)
	}
}

// MatTinyF16 is the multi-row form of TinyDotF16 (see MatVecFunc).
func MatTinyF16(dst []float32, w []byte, rowStride int, x []byte, n int) {
	for r := range dst {
		dst[r] = TinyDotF16(w[r*rowStride:], x, n)
	}
}

// AxpyF32 sets dst[i] = fma(x[i], a, dst[i]) for i < len(dst), each a single-rounding
// fused multiply-add (one lane of a vfmadd). The attention product with V uses it to
// accumulate ggml's lanes one cell at a time.
func AxpyF32(dst, x []float32, a float32) {
	if len(dst) == 0 {
		return
	}
	x = x[:len(dst)]
	if hasAVX2 {
		axpyAVX2(&dst[0], &x[0], a, len(dst))
		return
	}
	axpyGo(dst, x, a)
}

func axpyGo(dst, x []float32, a float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] = fma32(x[i], a, dst[i])
	}
}

// FMA32 is a*b+c rounded once to float32 (exact emulation of vfmadd on one lane).
func FMA32(a, b, c float32) float32 { return fma32(a, b, c) }

// HSum8 is ggml's hsum_float_8 of eight lanes.
func HSum8(v *[8]float32) float32 { return hsum8(v) }

// Reduce4x8 is GGML_F32x8_REDUCE of four 8-lane accumulators.
func Reduce4x8(acc *[4][8]float32) float32 { return reduce4x8(acc) }
