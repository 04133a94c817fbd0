//go:build !amd64 || purego

package kernels

import "unsafe"

// hasAVX2 is false: this build has no assembly, and the stubs below are never called.
const hasAVX2 = false

func dotF32AVX2(a, b *float32, n int) float32 {
	return dotF32Go(unsafe.Slice(a, n), unsafe.Slice(b, n))
}

func dotF16AVX2(w, x *byte, n int) float32 {
	return dotF16Go(unsafe.Slice(w, 2*n), unsafe.Slice(x, 2*n), n)
}

func dotQ4_0AVX2(w, x *byte, nBlocks int) float32 {
	return dotQ4_0Go(unsafe.Slice(w, nBlocks*q4_0Bytes), unsafe.Slice(x, nBlocks*q8_0Bytes), nBlocks)
}

func dotQ8_0AVX2(w, x *byte, nBlocks int) float32 {
	return dotQ8_0Go(unsafe.Slice(w, nBlocks*q8_0Bytes), unsafe.Slice(x, nBlocks*q8_0Bytes), nBlocks)
}

func dotQ4_KAVX2(w, x *byte, nBlocks int) float32 {
	return dotQ4_KGo(unsafe.Slice(w, nBlocks*q4_KBytes), unsafe.Slice(x, nBlocks*q8_KBytes), nBlocks)
}

func dotQ6_KAVX2(w, x *byte, nBlocks int) float32 {
	return dotQ6_KGo(unsafe.Slice(w, nBlocks*q6_KBytes), unsafe.Slice(x, nBlocks*q8_KBytes), nBlocks)
}

func matVecQ4_0AVX2(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	for r := range dst {
		dst[r] = dotQ4_0Go(w[r*rowStride:], x, nBlocks)
	}
}

func matVecQ8_0AVX2(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	for r := range dst {
		dst[r] = dotQ8_0Go(w[r*rowStride:], x, nBlocks)
	}
}
