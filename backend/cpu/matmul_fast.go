package cpu

import "github.com/golem-llm/golem/backend/cpu/kernels"

// fastKernel is the kernel that adds in the order llama.cpp's CPU backend does for this
// product: its code path depends on the weight type and shape, on the batch size and on
// whether this is a mixture-of-experts product (see kernels.SelectPath).
func (j *matmulJob) fastKernel() kernels.MatVecFunc {
	p := kernels.SelectPath(j.wt, j.n, j.out, j.in, j.dstRows != nil)
	if k, ok := kernels.PathKernel(j.wt, p); ok {
		return k
	}
	return j.kern
}

// runFast multiplies weight rows [lo, hi) by each quantized activation row with the
// kernels package's integer dot products (one call per activation row and tile of
// weight rows, so the tile stays in cache across the batch).
func (j *matmulJob) runFast(_, lo, hi, wrb, xrb int) {
	nb := j.in / j.vt.BlockSize()
	w := j.w[lo*wrb:]
	kern := j.fastKernel()
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
