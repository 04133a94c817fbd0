//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// hasAVX2 selects the assembly kernels: AVX2 for the integer and float arithmetic, FMA
// for the accumulation, F16C for the fp16 scales and F16 rows.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

// Implemented in float_amd64.s.

//go:noescape
func dotF32AVX2(a, b *float32, n int) float32

//go:noescape
func dotF16AVX2(w, x *byte, n int) float32

//go:noescape
func axpyAVX2(dst, x *float32, a float32, n int)

//go:noescape
func tinyF32AVX2(a, b *float32, n int) float32

//go:noescape
func tinyF16AVX2(w, x *byte, n int) float32

// Implemented in legacy_amd64.s.

//go:noescape
func dotQ4_0AVX2(w, x *byte, nBlocks int) float32

//go:noescape
func q4_0x4AVX2(dst *float32, w *byte, rowStride int, x *byte, nBlocks int)

//go:noescape
func gemvQ4_0AVX2(w, x *byte, nBlocks int) float32

//go:noescape
func gemvQ4_0x4AVX2(dst *float32, w *byte, rowStride int, x *byte, nBlocks int)

//go:noescape
func gemvQ4_0x8AVX2(dst *float32, w *byte, rowStride int, x *byte, nBlocks int)

//go:noescape
func dotQ8_0AVX2(w, x *byte, nBlocks int) float32

//go:noescape
func q8_0x4AVX2(dst *float32, w *byte, rowStride int, x *byte, nBlocks int)

// Implemented in kquants_amd64.s.

//go:noescape
func dotQ4_KAVX2(w, x *byte, nBlocks int) float32

//go:noescape
func dotQ6_KAVX2(w, x *byte, nBlocks int) float32

// tileBytes is the largest weight tile run four rows per call. Four rows per call share
// the activation loads and scales and win while the weights sit in cache (L2 is 1 MiB
// per core here), but four short interleaved streams defeat the hardware prefetcher on
// weights streamed from memory, which one row after another does not: measured on
// 2048x5632, Q8_0 from DRAM ran at 25 GB/s one row at a time against 12 GB/s four rows
// at a time (Q4_0: 12.9 against 10-12), while from L3 four rows were 10-25% faster.
// The tile kernels now prefetch the next tile front to back, one sequential stream
// (Q8_0 four rows from DRAM: 23.2 GB/s against 24.0 one row at a time); callers that
// stream weights in small chunks pick the one-row form through PathKernelOnce.
const tileBytes = 1 << 20

// matVecQ4_0AVX2 runs small tiles four rows per call and the rest one row at a time. The
// caller has checked every row.
func matVecQ4_0AVX2(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	r := 0
	if len(dst)*rowStride <= tileBytes {
		for ; r+4 <= len(dst); r += 4 {
			q4_0x4AVX2(&dst[r], &w[r*rowStride], rowStride, &x[0], nBlocks)
		}
	}
	for ; r < len(dst); r++ {
		dst[r] = dotQ4_0AVX2(&w[r*rowStride], &x[0], nBlocks)
	}
}

// matVecQ8_0AVX2 is matVecQ4_0AVX2 for Q8_0 weights.
func matVecQ8_0AVX2(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	r := 0
	if len(dst)*rowStride <= tileBytes {
		for ; r+4 <= len(dst); r += 4 {
			q8_0x4AVX2(&dst[r], &w[r*rowStride], rowStride, &x[0], nBlocks)
		}
	}
	for ; r < len(dst); r++ {
		dst[r] = dotQ8_0AVX2(&w[r*rowStride], &x[0], nBlocks)
	}
}

// matGemvQ4_0AVX2 runs the repacked-Q4_0 arithmetic eight rows per call, then four, then
// one: one row's chain of scalar fused multiply-adds is latency-bound (4.4 GB/s from L3,
// 8.8 from DRAM on 5632x2048), several rows at once are faster even from DRAM. Eight rows
// pack two rows into each 256-bit operation and need three vphaddd per block instead of
// six: 0.72 ns per row and block against 1.04 for four rows (one thread, L2-resident
// 64x2048 tile, thread CPU time).
func matGemvQ4_0AVX2(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	r := 0
	for ; r+8 <= len(dst); r += 8 {
		gemvQ4_0x8AVX2(&dst[r], &w[r*rowStride], rowStride, &x[0], nBlocks)
	}
	for ; r+4 <= len(dst); r += 4 {
		gemvQ4_0x4AVX2(&dst[r], &w[r*rowStride], rowStride, &x[0], nBlocks)
	}
	for ; r < len(dst); r++ {
		dst[r] = gemvQ4_0AVX2(&w[r*rowStride], &x[0], nBlocks)
	}
}

//go:noescape
func tinyF16x4x2AVX2(dst *float32, dstStride int, w *byte, rowStride int, x *byte, xStride int, n int)

// gemmTinyF16AVX2 is tinyBLAS's F16 path over a tile (tinyF16x4x2AVX2).
func gemmTinyF16AVX2(dst []float32, dstStride int, w []byte, rowStride, rows int, x []byte, xStride, nx, n int) {
	if rows <= 0 || nx <= 0 {
		return
	}
	if n < 8 {
		zeroTile(dst, dstStride, rows, nx)
		return
	}
	_, _ = w[(rows-1)*rowStride+2*n-1], x[(nx-1)*xStride+2*n-1]
	tile4x2(dst, dstStride, w, rowStride, rows, x, xStride, nx, n, tinyF16x4x2AVX2, tinyF16AVX2)
}

//go:noescape
func tinyQ8_0x4x2AVX2(dst *float32, dstStride int, w *byte, rowStride int, x *byte, xStride int, nBlocks int)

// gemmTinyQ8_0AVX2 is tinyBLAS's Q8_0 path over a tile (tinyQ8_0x4x2AVX2, dotQ8_0AVX2's
// arithmetic per output).
func gemmTinyQ8_0AVX2(dst []float32, dstStride int, w []byte, rowStride, rows int, x []byte, xStride, nx, nBlocks int) {
	if rows <= 0 || nx <= 0 {
		return
	}
	if nBlocks <= 0 {
		zeroTile(dst, dstStride, rows, nx)
		return
	}
	_, _ = w[(rows-1)*rowStride+nBlocks*q8_0Bytes-1], x[(nx-1)*xStride+nBlocks*q8_0Bytes-1]
	tile4x2(dst, dstStride, w, rowStride, rows, x, xStride, nx, nBlocks, tinyQ8_0x4x2AVX2, dotQ8_0AVX2)
}

// tile4x2 drives a 4-weight-row × 2-activation-row kernel over a tile, the rows and
// activations left over one output at a time with the matching one-output kernel
// (same arithmetic per output, so the result does not depend on the tiling). The
// activation pair is the outer loop, so its two rows stay in L1 while the weight tile is
// swept. The caller has checked that w and x hold the tile.
func tile4x2(dst []float32, dstStride int, w []byte, rowStride, rows int, x []byte, xStride, nx, n int,
	k4x2 func(dst *float32, dstStride int, w *byte, rowStride int, x *byte, xStride int, n int),
	k1 func(w, x *byte, n int) float32) {
	_ = dst[(nx-1)*dstStride+rows-1]
	r4 := rows &^ 3
	i := 0
	if r4 > 0 {
		for ; i+2 <= nx; i += 2 {
			for r := 0; r < r4; r += 4 {
				k4x2(&dst[i*dstStride+r], dstStride, &w[r*rowStride], rowStride, &x[i*xStride], xStride, n)
			}
		}
	}
	for k := range nx {
		lo := r4
		if k >= i {
			lo = 0
		}
		for r := lo; r < rows; r++ {
			dst[k*dstStride+r] = k1(&w[r*rowStride], &x[k*xStride], n)
		}
	}
}

// zeroTile clears a tile whose dot products are empty.
func zeroTile(dst []float32, dstStride, rows, nx int) {
	for i := range nx {
		for r := range rows {
			dst[i*dstStride+r] = 0
		}
	}
}
