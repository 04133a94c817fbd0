package kernels

import (
	"encoding/binary"
)

// Block sizes in bytes of the 256-element types.
const (
	q2_KBytes   = 84  // scales[16] (low nibble scale, high nibble min), qs[64], d, dmin
	q3_KBytes   = 110 // hmask[32], qs[64], scales[12] (6-bit, packed), d
	q4_KBytes   = 144 // d, dmin, scales[12] (6-bit scales and mins, packed), qs[128]
	q5_KBytes   = 176 // d, dmin, scales[12], qh[32], qs[128]
	q6_KBytes   = 210 // ql[128], qh[64], scales[16] int8, d
	q8_KBytes   = 292 // d f32, qs[256] int8, bsums[16] int16 (sums of each 16 quants)
	iq4_XSBytes = 136 // d, scales_h u16, scales_l[4], qs[128]
)

// q8K returns a Q8_K block's scale, quants and the 16 sums of 16 quants.
func q8K(x []byte, i int) (float32, *[256]byte, *[32]byte) {
	b := (*[q8_KBytes]byte)(x[i*q8_KBytes:])
	return le32f(b[0:]), (*[256]byte)(b[4:]), (*[32]byte)(b[260:])
}

func bsum(bs *[32]byte, j int) int32 { return int32(int16(binary.LittleEndian.Uint16(bs[2*j:]))) }

// q3KScales unpacks Q3_K's sixteen 6-bit scales (stored with an offset of 32).
func q3KScales(s []byte) (out [16]int32) {
	s = s[:12]
	for i := range 16 {
		var lo byte
		if i < 8 {
			lo = s[i] & 15
		} else {
			lo = s[i-8] >> 4
		}
		hi := (s[8+i%4] >> (2 * (i / 4))) & 3
		out[i] = int32(lo|hi<<4) - 32
	}
	return out
}

// scaleMinK4 unpacks the j-th 6-bit scale and min of Q4_K and Q5_K.
func scaleMinK4(j int, q []byte) (sc, m int32) {
	q = q[:12]
	if j < 4 {
		return int32(q[j] & 63), int32(q[j+4] & 63)
	}
	return int32(q[j+4]&0xF | (q[j-4]>>6)<<4), int32(q[j+4]>>4 | (q[j]>>6)<<4)
}

// The K-quant kernels follow ggml_vec_dot_<type>_q8_K on AVX2: one 8-lane float
// accumulator; per super-block, the lanes of lanes256 (the scaled integer sums) are
// multiplied by d = yd*dw with a fused multiply-add, and hsum_float_8 ends the row. The
// minimum terms differ by type (see each kernel).

// DotQ2_K returns the dot product of nBlocks Q2_K blocks with nBlocks Q8_K blocks. The
// minimum term shares the accumulator: per super-block, lane k first takes
// dmin' * (min[2k]*bsum[2k] + min[2k+1]*bsum[2k+1]) with dmin' = -(yd*dmin).
func DotQ2_K(w, x []byte, nBlocks int) float32 {
	var acc [8]float32
	var v [256]int8
	var sc [16]int32
	for i := range nBlocks {
		wb := (*[q2_KBytes]byte)(w[i*q2_KBytes:])
		yd, q8, bs := q8K(x, i)
		d := mul32(yd, le16h(wb[80:]))
		dmin := -mul32(yd, le16h(wb[82:]))
		var pm [8]int32
		for k := range 8 {
			pm[k] = int32(wb[2*k]>>4)*bsum(bs, 2*k) + int32(wb[2*k+1]>>4)*bsum(bs, 2*k+1)
		}
		fmaLanes(&acc, dmin, &pm)
		for j := range 16 {
			sc[j] = int32(wb[j] & 15)
		}
		// Element 128n+32j+l is bits 2j of qs[32n+l].
		for n := range 2 {
			q := wb[16+32*n : 16+32*n+32]
			for j := range 4 {
				for l := range 32 {
					v[128*n+32*j+l] = int8((q[l] >> (2 * j)) & 3)
				}
			}
		}
		l := lanes256(&v, &sc, q8[:])
		fmaLanes(&acc, d, &l)
	}
	return hsum8(&acc)
}

// DotQ3_K returns the dot product of nBlocks Q3_K blocks with nBlocks Q8_K blocks. A
// quant is its two low bits, minus 4 when its hmask bit is clear.
func DotQ3_K(w, x []byte, nBlocks int) float32 {
	var acc [8]float32
	var v [256]int8
	for i := range nBlocks {
		wb := (*[q3_KBytes]byte)(w[i*q3_KBytes:])
		yd, q8, _ := q8K(x, i)
		sc := q3KScales(wb[96:108])
		// Element 128n+32j+l: bits 2j of qs[32n+l], hmask bit 4n+j of hmask[l].
		for n := range 2 {
			q := wb[32+32*n : 32+32*n+32]
			for j := range 4 {
				hb := 4*n + j
				for l := range 32 {
					v[128*n+32*j+l] = int8((q[l]>>(2*j))&3) - 4 + 4*int8((wb[l]>>hb)&1)
				}
			}
		}
		l := lanes256(&v, &sc, q8[:])
		fmaLanes(&acc, mul32(yd, le16h(wb[108:])), &l)
	}
	return hsum8(&acc)
}

// q4K5KScales decodes the eight scales of a Q4_K/Q5_K block into per-16 scales and
// returns the minimum products: mins[j]*(bsum[2j]+bsum[2j+1]).
func q4K5KScales(scales []byte, bs *[32]byte, sc *[16]int32) (mp [8]int32) {
	for j := range 8 {
		s, m := scaleMinK4(j, scales)
		sc[2*j], sc[2*j+1] = s, s
		mp[j] = m * (bsum(bs, 2*j) + bsum(bs, 2*j+1))
	}
	return mp
}

// DotQ4_K returns the dot product of nBlocks Q4_K blocks with nBlocks Q8_K blocks. The
// minimum term has its own 4-lane accumulator: lane m takes dmin' * (mp[2m] + mp[2m+1])
// with dmin' = -(yd*dmin); its horizontal sum is added to the main one at the end.
func DotQ4_K(w, x []byte, nBlocks int) float32 {
	if hasAVX2 && nBlocks > 0 {
		_, _ = w[nBlocks*q4_KBytes-1], x[nBlocks*q8_KBytes-1]
		return dotQ4_KAVX2(&w[0], &x[0], nBlocks)
	}
	return dotQ4_KGo(w, x, nBlocks)
}

func dotQ4_KGo(w, x []byte, nBlocks int) float32 {
	var acc [8]float32
	var accm [4]float32
	var v [256]int8
	var sc [16]int32
	for i := range nBlocks {
		wb := (*[q4_KBytes]byte)(w[i*q4_KBytes:])
		yd, q8, bs := q8K(x, i)
		d := mul32(yd, le16h(wb[0:]))
		dmin := -mul32(yd, le16h(wb[2:]))
		mp := q4K5KScales(wb[4:16], bs, &sc)
		for m := range 4 {
			accm[m] = fma32(dmin, float32(mp[2*m]+mp[2*m+1]), accm[m])
		}
		qs := wb[16:144]
		for j := range 4 {
			q := qs[32*j : 32*j+32]
			for l := range 32 {
				v[64*j+l] = int8(q[l] & 15)
				v[64*j+32+l] = int8(q[l] >> 4)
			}
		}
		l := lanes256(&v, &sc, q8[:])
		fmaLanes(&acc, d, &l)
	}
	return add32(hsum8(&acc), hsum4(&accm))
}

// MatVecQ4_K is the multi-row form of DotQ4_K (see MatVecFunc).
func MatVecQ4_K(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	eachRow(dst, w, rowStride, x, nBlocks, DotQ4_K)
}

// DotQ5_K returns the dot product of nBlocks Q5_K blocks with nBlocks Q8_K blocks. The
// minimum term is a scalar: per super-block, summs = fma(dmin', sum of mp, summs)
// (ggml's `summs += dmin * int`, contracted), added after the horizontal sum.
func DotQ5_K(w, x []byte, nBlocks int) float32 {
	var acc [8]float32
	var v [256]int8
	var sc [16]int32
	var summs float32
	for i := range nBlocks {
		wb := (*[q5_KBytes]byte)(w[i*q5_KBytes:])
		yd, q8, bs := q8K(x, i)
		d := mul32(yd, le16h(wb[0:]))
		dmin := -mul32(yd, le16h(wb[2:]))
		mp := q4K5KScales(wb[4:16], bs, &sc)
		var ms int32
		for _, m := range mp {
			ms += m
		}
		summs = add32(summs, mul32(dmin, float32(ms)))
		qh := wb[16:48]
		qs := wb[48:176]
		for j := range 4 {
			q := qs[32*j : 32*j+32]
			for l := range 32 {
				v[64*j+l] = int8(q[l]&15 | ((qh[l]>>(2*j))&1)<<4)
				v[64*j+32+l] = int8(q[l]>>4 | ((qh[l]>>(2*j+1))&1)<<4)
			}
		}
		l := lanes256(&v, &sc, q8[:])
		fmaLanes(&acc, d, &l)
	}
	return add32(hsum8(&acc), summs)
}

// DotQ6_K returns the dot product of nBlocks Q6_K blocks with nBlocks Q8_K blocks.
func DotQ6_K(w, x []byte, nBlocks int) float32 {
	if hasAVX2 && nBlocks > 0 {
		_, _ = w[nBlocks*q6_KBytes-1], x[nBlocks*q8_KBytes-1]
		return dotQ6_KAVX2(&w[0], &x[0], nBlocks)
	}
	return dotQ6_KGo(w, x, nBlocks)
}

func dotQ6_KGo(w, x []byte, nBlocks int) float32 {
	var acc [8]float32
	var a [256]int8
	var sc [16]int32
	for i := range nBlocks {
		wb := (*[q6_KBytes]byte)(w[i*q6_KBytes:])
		yd, q8, _ := q8K(x, i)
		for n := range 2 {
			ql := wb[64*n : 64*n+64]
			qh := wb[128+32*n : 128+32*n+32]
			o := a[128*n : 128*n+128]
			for l := range 32 {
				o[l] = int8(ql[l]&15|(qh[l]&3)<<4) - 32
				o[l+32] = int8(ql[l+32]&15|((qh[l]>>2)&3)<<4) - 32
				o[l+64] = int8(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
				o[l+96] = int8(ql[l+32]>>4|((qh[l]>>6)&3)<<4) - 32
			}
		}
		for j := range 16 {
			sc[j] = int32(int8(wb[192+j]))
		}
		l := lanes256(&a, &sc, q8[:])
		fmaLanes(&acc, mul32(yd, le16h(wb[208:])), &l)
	}
	return hsum8(&acc)
}

// MatVecQ6_K is the multi-row form of DotQ6_K (see MatVecFunc).
func MatVecQ6_K(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	eachRow(dst, w, rowStride, x, nBlocks, DotQ6_K)
}

// DotIQ4_XS returns the dot product of nBlocks IQ4_XS blocks with nBlocks Q8_K blocks.
func DotIQ4_XS(w, x []byte, nBlocks int) float32 {
	var acc [8]float32
	var v [256]int8
	var sc [16]int32
	for i := range nBlocks {
		wb := (*[iq4_XSBytes]byte)(w[i*iq4_XSBytes:])
		yd, q8, _ := q8K(x, i)
		sh := binary.LittleEndian.Uint16(wb[2:])
		for ib := range 8 {
			ls := int32((wb[4+ib/2]>>(4*(ib%2)))&15) | int32((sh>>(2*ib))&3)<<4
			sc[2*ib], sc[2*ib+1] = ls-32, ls-32
			q := wb[8+16*ib : 8+16*ib+16]
			for j := range 16 {
				v[32*ib+j] = kvaluesIQ4NL[q[j]&15]
				v[32*ib+16+j] = kvaluesIQ4NL[q[j]>>4]
			}
		}
		l := lanes256(&v, &sc, q8[:])
		fmaLanes(&acc, mul32(le16h(wb[0:]), yd), &l)
	}
	return hsum8(&acc)
}

// The K-quant and IQ4_XS types without assembly run one row at a time.

// MatVecQ2_K is the multi-row form of DotQ2_K (see MatVecFunc).
func MatVecQ2_K(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	eachRow(dst, w, rowStride, x, nBlocks, DotQ2_K)
}

// MatVecQ3_K is the multi-row form of DotQ3_K (see MatVecFunc).
func MatVecQ3_K(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	eachRow(dst, w, rowStride, x, nBlocks, DotQ3_K)
}

// MatVecQ5_K is the multi-row form of DotQ5_K (see MatVecFunc).
func MatVecQ5_K(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	eachRow(dst, w, rowStride, x, nBlocks, DotQ5_K)
}

// MatVecIQ4_XS is the multi-row form of DotIQ4_XS (see MatVecFunc).
func MatVecIQ4_XS(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	eachRow(dst, w, rowStride, x, nBlocks, DotIQ4_XS)
}
