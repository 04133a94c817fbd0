package kernels

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// DotF32 returns the dot product of a and b[:len(a)].
func DotF32(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	b = b[:len(a)]
	if hasAVX2 {
		return dotF32AVX2(&a[0], &b[0], len(a))
	}
	return dotF32Go(a, b)
}

func dotF32Go(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// DotF32Bytes is DotF32 over n little-endian float32 values stored as bytes.
func DotF32Bytes(w, x []byte, n int) float32 {
	if n == 0 {
		return 0
	}
	_, _ = w[4*n-1], x[4*n-1]
	if hasAVX2 {
		return dotF32AVX2((*float32)(unsafe.Pointer(&w[0])), (*float32)(unsafe.Pointer(&x[0])), n)
	}
	return dotF32BytesGo(w, x, n)
}

func dotF32BytesGo(w, x []byte, n int) float32 {
	w, x = w[:4*n], x[:4*n]
	var s0, s1 float32
	i := 0
	for ; i+8 <= len(w); i += 8 {
		s0 += math.Float32frombits(binary.LittleEndian.Uint32(w[i:])) * math.Float32frombits(binary.LittleEndian.Uint32(x[i:]))
		s1 += math.Float32frombits(binary.LittleEndian.Uint32(w[i+4:])) * math.Float32frombits(binary.LittleEndian.Uint32(x[i+4:]))
	}
	for ; i < len(w); i += 4 {
		s0 += math.Float32frombits(binary.LittleEndian.Uint32(w[i:])) * math.Float32frombits(binary.LittleEndian.Uint32(x[i:]))
	}
	return s0 + s1
}

// DotF16 returns the dot product of n F16 weights with n F16 activations, both stored
// as little-endian bytes, accumulating in float32.
func DotF16(w, x []byte, n int) float32 {
	if n == 0 {
		return 0
	}
	_, _ = w[2*n-1], x[2*n-1]
	if hasAVX2 {
		return dotF16AVX2(&w[0], &x[0], n)
	}
	return dotF16Go(w, x, n)
}

func dotF16Go(w, x []byte, n int) float32 {
	w, x = w[:2*n], x[:2*n]
	var s0, s1 float32
	i := 0
	for ; i+4 <= len(w); i += 4 {
		s0 += f16(binary.LittleEndian.Uint16(w[i:])) * f16(binary.LittleEndian.Uint16(x[i:]))
		s1 += f16(binary.LittleEndian.Uint16(w[i+2:])) * f16(binary.LittleEndian.Uint16(x[i+2:]))
	}
	for ; i < len(w); i += 2 {
		s0 += f16(binary.LittleEndian.Uint16(w[i:])) * f16(binary.LittleEndian.Uint16(x[i:]))
	}
	return s0 + s1
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
	for r := range dst {
		dst[r] = DotF32Bytes(w[r*rowStride:], x, n)
	}
}

// MatVecF16 is the multi-row form of DotF16 (see MatVecFunc).
func MatVecF16(dst []float32, w []byte, rowStride int, x []byte, n int) {
	for r := range dst {
		dst[r] = DotF16(w[r*rowStride:], x, n)
	}
}

// MatVecBF16 is the multi-row form of DotBF16 (see MatVecFunc).
func MatVecBF16(dst []float32, w []byte, rowStride int, x []byte, n int) {
	for r := range dst {
		dst[r] = DotBF16(w[r*rowStride:], x, n)
	}
}
