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

func axpyAVX2(dst, x *float32, a float32, n int) {
	axpyGo(unsafe.Slice(dst, n), unsafe.Slice(x, n), a)
}

func tinyF32AVX2(a, b *float32, n int) float32 {
	return tinyF32Go(unsafe.Slice(a, n), unsafe.Slice(b, n))
}

func tinyF16AVX2(w, x *byte, n int) float32 {
	return tinyF16Go(unsafe.Slice(w, 2*n), unsafe.Slice(x, 2*n), n)
}

func gemvQ4_0AVX2(w, x *byte, nBlocks int) float32 {
	return gemvQ4_0Go(unsafe.Slice(w, nBlocks*q4_0Bytes), unsafe.Slice(x, nBlocks*q8_0Bytes), nBlocks)
}

func matGemvQ4_0AVX2(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	for r := range dst {
		dst[r] = gemvQ4_0Go(w[r*rowStride:], x, nBlocks)
	}
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

func gemmTinyF16AVX2(dst []float32, dstStride int, w []byte, rowStride, rows int, x []byte, xStride, nx, n int) {
	for i := range nx {
		for r := range rows {
			dst[i*dstStride+r] = tinyF16Go(w[r*rowStride:r*rowStride+2*n], x[i*xStride:i*xStride+2*n], n)
		}
	}
}

func gemmTinyQ8_0AVX2(dst []float32, dstStride int, w []byte, rowStride, rows int, x []byte, xStride, nx, nBlocks int) {
	for i := range nx {
		for r := range rows {
			dst[i*dstStride+r] = dotQ8_0Go(w[r*rowStride:r*rowStride+nBlocks*q8_0Bytes], x[i*xStride:i*xStride+nBlocks*q8_0Bytes], nBlocks)
		}
	}
}
