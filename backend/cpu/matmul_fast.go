package cpu

import "github.com/golem-llm/golem/backend/cpu/kernels"

// fastKernel is the kernel that adds in the order llama.cpp's CPU backend does for this
// product: its code path depends on the weight type and shape, on the batch size and on
// whether this is a mixture-of-experts product (see kernels.SelectPath). The second
// result is the path's tile kernel for a batch, where there is one (same sums, several
// outputs per call).
func (j *matmulJob) fastKernel() (kernels.MatVecFunc, kernels.GemmFunc) {
	p := kernels.SelectPath(j.wt, j.n, j.out, j.in, j.dstRows != nil)
	var g kernels.GemmFunc
	if j.n > 1 && j.dstRows == nil {
		g, _ = kernels.PathGemm(j.wt, p)
	}
	get := kernels.PathKernel
	if j.n == 1 {
		get = kernels.PathKernelOnce // decode: every weight is read once, from memory
	}
	if k, ok := get(j.wt, p); ok {
		return k, g
	}
	return j.kern, nil
}

// runFast multiplies weight rows [lo, hi) by each quantized activation row with the
// kernels package's integer dot products (one call per activation row and tile of
// weight rows, so the tile stays in cache across the batch).
func (j *matmulJob) runFast(_, lo, hi, wrb, xrb int) {
	nb := j.in / j.vt.BlockSize()
	w := j.w[lo*wrb:]
	kern, gemm := j.fast, j.gemm
	if gemm != nil {
		// A batch with a tile kernel: the chunk's weight rows are read from cache
		// for every activation row, several outputs per load.
		gemm(j.dst[lo:], j.dstStride, w, wrb, hi-lo, j.xq, xrb, j.n, nb)
		return
	}
	for i := range j.n {
		row := i
		if j.dstRows != nil {
			row = int(j.dstRows[i])
		}
		dst := j.dst[row*j.dstStride+lo : row*j.dstStride+hi]
		kern(dst, w, wrb, j.xq[i*xrb:(i+1)*xrb], nb)
	}
}

func dotF32(a, b []float32) float32 {
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
