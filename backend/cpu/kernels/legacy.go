package kernels

import "encoding/binary"

// Block sizes in bytes of the 32-element types.
const (
	q4_0Bytes = 18 // d f16, 16 bytes of nibbles: element j low, j+16 high
	q4_1Bytes = 20 // d f16, m f16, nibbles as Q4_0
	q5_0Bytes = 22 // d f16, qh u32 (fifth bits), nibbles as Q4_0
	q5_1Bytes = 24 // d f16, m f16, qh u32, nibbles
	q8_0Bytes = 34 // d f16, 32 int8
	q8_1Bytes = 36 // d f16, s f16 (d*sum of quants), 32 int8
)

// kvaluesIQ4NL are the 16 non-linear levels of IQ4_NL and IQ4_XS.
var kvaluesIQ4NL = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// Decoders of one 32-element weight block into its element values (unsigned for Q4_1 and
// Q5_1, whose minimum is added separately).

func decQ4_0(wb []byte, v *[32]int8) {
	for j := range 16 {
		b := wb[2+j]
		v[j], v[j+16] = int8(b&15)-8, int8(b>>4)-8
	}
}

func decQ4_1(wb []byte, v *[32]int8) {
	for j := range 16 {
		b := wb[4+j]
		v[j], v[j+16] = int8(b&15), int8(b>>4)
	}
}

func decQ5(qh uint32, qs []byte, off int8, v *[32]int8) {
	for j := range 16 {
		b := qs[j]
		v[j] = int8(b&15|byte((qh>>j)&1)<<4) - off
		v[j+16] = int8(b>>4|byte((qh>>(j+16))&1)<<4) - off
	}
}

func decQ5_0(wb []byte, v *[32]int8) { decQ5(binary.LittleEndian.Uint32(wb[2:]), wb[6:22], 16, v) }
func decQ5_1(wb []byte, v *[32]int8) { decQ5(binary.LittleEndian.Uint32(wb[4:]), wb[8:24], 0, v) }

func decQ8_0(wb []byte, v *[32]int8) {
	for j := range 32 {
		v[j] = int8(wb[2+j])
	}
}

func decIQ4_NL(wb []byte, v *[32]int8) {
	for j := range 16 {
		b := wb[2+j]
		v[j], v[j+16] = kvaluesIQ4NL[b&15], kvaluesIQ4NL[b>>4]
	}
}

// dotL8 is ggml_vec_dot_{q4_0,q5_0,q8_0}_q8_0 on AVX2 and tinyBLAS_Q0_AVX (Q4_0, Q5_0,
// Q8_0, IQ4_NL): one 8-lane accumulator, acc = fma(dw*dx, lanes, acc) per block, then
// hsum_float_8. wBytes is the weight block size, dec its decoder.
func dotL8(w, x []byte, nBlocks, wBytes int, dec func([]byte, *[32]int8)) float32 {
	var acc [8]float32
	var v [32]int8
	for i := range nBlocks {
		wb := w[i*wBytes : (i+1)*wBytes]
		xb := x[i*q8_0Bytes : (i+1)*q8_0Bytes]
		dec(wb, &v)
		l := lanes32(&v, xb[2:])
		fmaLanes(&acc, mul32(le16h(wb), le16h(xb)), &l)
	}
	return hsum8(&acc)
}

// dotL8Min is ggml_vec_dot_{q4_1,q5_1}_q8_1 on AVX2: dotL8 plus the minimum's term, a
// scalar m*s accumulated with (compiler-contracted) fused multiply-adds and added last.
func dotL8Min(w, x []byte, nBlocks, wBytes int, dec func([]byte, *[32]int8)) float32 {
	var acc [8]float32
	var v [32]int8
	var summs float32
	for i := range nBlocks {
		wb := w[i*wBytes : (i+1)*wBytes]
		xb := x[i*q8_1Bytes : (i+1)*q8_1Bytes]
		summs = fma32(le16h(wb[2:]), le16h(xb[2:]), summs)
		dec(wb, &v)
		l := lanes32(&v, xb[4:])
		fmaLanes(&acc, mul32(le16h(wb), le16h(xb)), &l)
	}
	return add32(hsum8(&acc), summs)
}

// gemvSeq is ggml_gemv_q4_0_8x8_q8_0 / ggml_gemm_q4_0_8x8_q8_0 (the AVX2 path for Q4_0
// weights llama.cpp repacks into interleaved 8-row blocks): each row keeps one float
// lane, acc = fma(float(block's integer dot), dw*dx, acc) block after block, no
// horizontal sum.
func gemvSeq(w, x []byte, nBlocks, wBytes int, dec func([]byte, *[32]int8)) float32 {
	var acc float32
	var v [32]int8
	for i := range nBlocks {
		wb := w[i*wBytes : (i+1)*wBytes]
		xb := x[i*q8_0Bytes : (i+1)*q8_0Bytes]
		dec(wb, &v)
		var s int32
		for j := range 32 {
			s += int32(v[j]) * int32(int8(xb[2+j]))
		}
		acc = fma32(float32(s), mul32(le16h(wb), le16h(xb)), acc)
	}
	return acc
}

// DotQ4_0 returns the dot product of nBlocks Q4_0 blocks with nBlocks Q8_0 blocks as
// ggml_vec_dot_q4_0_q8_0 computes it.
func DotQ4_0(w, x []byte, nBlocks int) float32 {
	if hasAVX2 && nBlocks > 0 {
		_, _ = w[nBlocks*q4_0Bytes-1], x[nBlocks*q8_0Bytes-1]
		return dotQ4_0AVX2(&w[0], &x[0], nBlocks)
	}
	return dotQ4_0Go(w, x, nBlocks)
}

func dotQ4_0Go(w, x []byte, nBlocks int) float32 { return dotL8(w, x, nBlocks, q4_0Bytes, decQ4_0) }

// MatVecQ4_0 is the multi-row form of DotQ4_0 (see MatVecFunc).
func MatVecQ4_0(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	if hasAVX2 && nBlocks > 0 && len(dst) > 0 {
		_, _ = w[(len(dst)-1)*rowStride+nBlocks*q4_0Bytes-1], x[nBlocks*q8_0Bytes-1]
		matVecQ4_0AVX2(dst, w, rowStride, x, nBlocks)
		return
	}
	for r := range dst {
		dst[r] = dotQ4_0Go(w[r*rowStride:], x, nBlocks)
	}
}

// GemvQ4_0 is the repacked-Q4_0 path (see gemvSeq) for one row.
func GemvQ4_0(w, x []byte, nBlocks int) float32 {
	if hasAVX2 && nBlocks > 0 {
		_, _ = w[nBlocks*q4_0Bytes-1], x[nBlocks*q8_0Bytes-1]
		return gemvQ4_0AVX2(&w[0], &x[0], nBlocks)
	}
	return gemvQ4_0Go(w, x, nBlocks)
}

func gemvQ4_0Go(w, x []byte, nBlocks int) float32 { return gemvSeq(w, x, nBlocks, q4_0Bytes, decQ4_0) }

// MatGemvQ4_0 is the multi-row form of GemvQ4_0 (see MatVecFunc).
func MatGemvQ4_0(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	if hasAVX2 && nBlocks > 0 && len(dst) > 0 {
		_, _ = w[(len(dst)-1)*rowStride+nBlocks*q4_0Bytes-1], x[nBlocks*q8_0Bytes-1]
		matGemvQ4_0AVX2(dst, w, rowStride, x, nBlocks)
		return
	}
	for r := range dst {
		dst[r] = gemvQ4_0Go(w[r*rowStride:], x, nBlocks)
	}
}

// DotQ4_1 returns the dot product of nBlocks Q4_1 blocks with nBlocks Q8_1 blocks.
func DotQ4_1(w, x []byte, nBlocks int) float32 {
	return dotL8Min(w, x, nBlocks, q4_1Bytes, decQ4_1)
}

// MatVecQ4_1 is the multi-row form of DotQ4_1 (see MatVecFunc).
func MatVecQ4_1(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	eachRow(dst, w, rowStride, x, nBlocks, DotQ4_1)
}

// DotQ5_0 returns the dot product of nBlocks Q5_0 blocks with nBlocks Q8_0 blocks.
func DotQ5_0(w, x []byte, nBlocks int) float32 { return dotL8(w, x, nBlocks, q5_0Bytes, decQ5_0) }

// MatVecQ5_0 is the multi-row form of DotQ5_0 (see MatVecFunc).
func MatVecQ5_0(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	eachRow(dst, w, rowStride, x, nBlocks, DotQ5_0)
}

// DotQ5_1 returns the dot product of nBlocks Q5_1 blocks with nBlocks Q8_1 blocks.
func DotQ5_1(w, x []byte, nBlocks int) float32 {
	return dotL8Min(w, x, nBlocks, q5_1Bytes, decQ5_1)
}

// MatVecQ5_1 is the multi-row form of DotQ5_1 (see MatVecFunc).
func MatVecQ5_1(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	eachRow(dst, w, rowStride, x, nBlocks, DotQ5_1)
}

// DotQ8_0 returns the dot product of nBlocks Q8_0 blocks with nBlocks Q8_0 blocks.
func DotQ8_0(w, x []byte, nBlocks int) float32 {
	if hasAVX2 && nBlocks > 0 {
		_, _ = w[nBlocks*q8_0Bytes-1], x[nBlocks*q8_0Bytes-1]
		return dotQ8_0AVX2(&w[0], &x[0], nBlocks)
	}
	return dotQ8_0Go(w, x, nBlocks)
}

func dotQ8_0Go(w, x []byte, nBlocks int) float32 { return dotL8(w, x, nBlocks, q8_0Bytes, decQ8_0) }

// MatVecQ8_0 is the multi-row form of DotQ8_0 (see MatVecFunc).
func MatVecQ8_0(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	if hasAVX2 && nBlocks > 0 && len(dst) > 0 {
		_, _ = w[(len(dst)-1)*rowStride+nBlocks*q8_0Bytes-1], x[nBlocks*q8_0Bytes-1]
		matVecQ8_0AVX2(dst, w, rowStride, x, nBlocks)
		return
	}
	for r := range dst {
		dst[r] = dotQ8_0Go(w[r*rowStride:], x, nBlocks)
	}
}

// matVecQ8_0Rows is MatVecQ8_0 one row per call (see PathKernelOnce).
func matVecQ8_0Rows(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	if hasAVX2 && nBlocks > 0 && len(dst) > 0 {
		_, _ = w[(len(dst)-1)*rowStride+nBlocks*q8_0Bytes-1], x[nBlocks*q8_0Bytes-1]
		for r := range dst {
			dst[r] = dotQ8_0AVX2(&w[r*rowStride], &x[0], nBlocks)
		}
		return
	}
	for r := range dst {
		dst[r] = dotQ8_0Go(w[r*rowStride:], x, nBlocks)
	}
}

// DotIQ4_NL returns the dot product of nBlocks IQ4_NL blocks with nBlocks Q8_0 blocks as
// ggml_vec_dot_iq4_nl_q8_0 computes it on AVX2: two 8-lane accumulators (even and odd
// blocks of each pair), added lane by lane before the horizontal sum, and a last odd
// block added in scalar (d * its integer sum, contracted to a fused multiply-add).
func DotIQ4_NL(w, x []byte, nBlocks int) float32 {
	var acc1, acc2 [8]float32
	var v [32]int8
	blk := func(i int, acc *[8]float32) {
		wb := w[i*q4_0Bytes : (i+1)*q4_0Bytes]
		xb := x[i*q8_0Bytes : (i+1)*q8_0Bytes]
		decIQ4_NL(wb, &v)
		l := lanes32(&v, xb[2:])
		fmaLanes(acc, mul32(le16h(xb), le16h(wb)), &l)
	}
	ib := 0
	for ; ib+1 < nBlocks; ib += 2 {
		blk(ib, &acc1)
		blk(ib+1, &acc2)
	}
	for k := range 8 {
		acc1[k] = add32(acc1[k], acc2[k])
	}
	sum := hsum8(&acc1)
	for ; ib < nBlocks; ib++ {
		wb := w[ib*q4_0Bytes : (ib+1)*q4_0Bytes]
		xb := x[ib*q8_0Bytes : (ib+1)*q8_0Bytes]
		decIQ4_NL(wb, &v)
		var s int32
		for j := range 32 {
			s += int32(v[j]) * int32(int8(xb[2+j]))
		}
		sum = fma32(mul32(le16h(xb), le16h(wb)), float32(s), sum)
	}
	return sum
}

// MatVecIQ4_NL is the multi-row form of DotIQ4_NL (see MatVecFunc).
func MatVecIQ4_NL(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	eachRow(dst, w, rowStride, x, nBlocks, DotIQ4_NL)
}

// tinyIQ4_NL is tinyBLAS_Q0_AVX's IQ4_NL dot product (one accumulator).
func tinyIQ4_NL(w, x []byte, nBlocks int) float32 {
	return dotL8(w, x, nBlocks, q4_0Bytes, decIQ4_NL)
}

// MatTinyIQ4_NL is the multi-row form of tinyIQ4_NL (see MatVecFunc).
func MatTinyIQ4_NL(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	for r := range dst {
		dst[r] = tinyIQ4_NL(w[r*rowStride:], x, nBlocks)
	}
}
