package cpu

import "github.com/golem-llm/golem/gguf/quant"

// runFast dequantizes each weight row once into worker scratch and takes float32 dot
// products with the dequantized activation rows.
func (j *matmulJob) runFast(w, lo, hi, wrb, xrb int) {
	wf := j.b.scratch.worker(w, 0, j.in)
	for r := lo; r < hi; r++ {
		_ = quant.Dequantize(j.wt, j.w[r*wrb:(r+1)*wrb], wf)
		for i := range j.n {
			j.dst[j.dstIndex(i, r)] = dotF32(wf, j.xd[i*j.in:(i+1)*j.in])
		}
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
