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

// dot16 returns the dot product of 16 small signed weights with 16 int8 quants.
func dot16(a []int8, q []byte) int32 {
	a, q = a[:16], q[:16]
	var s int32
	for l := range 16 {
		s += int32(a[l]) * int32(int8(q[l]))
	}
	return s
}

// DotQ2_K returns the dot product of nBlocks Q2_K blocks with nBlocks Q8_K blocks.
func DotQ2_K(w, x []byte, nBlocks int) float32 {
	var sum float32
	for i := range nBlocks {
		wb := (*[q2_KBytes]byte)(w[i*q2_KBytes:])
		yd, q8, bs := q8K(x, i)
		sc := wb[0:16]
		var summs, isum int32
		for j := range 16 {
			summs += bsum(bs, j) * int32(sc[j]>>4)
		}
		// Element 128n+32j+16h+l is bits 2j of qs[32n+16h+l], scale 8n+2j+h.
		for n := range 2 {
			for j := range 4 {
				shift := 2 * j
				for h := range 2 {
					q := wb[16+32*n+16*h : 16+32*n+16*h+16]
					y := q8[128*n+32*j+16*h : 128*n+32*j+16*h+16]
					var d int32
					for l := range 16 {
						d += int32((q[l]>>shift)&3) * int32(int8(y[l]))
					}
					isum += int32(sc[8*n+2*j+h]&15) * d
				}
			}
		}
		dall := yd * le16h(wb[80:])
		dmin := yd * le16h(wb[82:])
		sum += dall*float32(isum) - dmin*float32(summs)
	}
	return sum
}

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

// DotQ3_K returns the dot product of nBlocks Q3_K blocks with nBlocks Q8_K blocks.
// A quant is its two low bits plus 4 when its hmask bit is set, minus 4; the -4 is
// taken off through the activations' sums of 16.
func DotQ3_K(w, x []byte, nBlocks int) float32 {
	var sum float32
	for i := range nBlocks {
		wb := (*[q3_KBytes]byte)(w[i*q3_KBytes:])
		yd, q8, bs := q8K(x, i)
		scales := q3KScales(wb[96:108])
		var isum, corr int32
		for g := range 16 {
			corr += scales[g] * bsum(bs, g)
		}
		// Element 128n+32j+16h+l: bits 2j of qs[32n+16h+l], hmask bit 4n+j of
		// hmask[16h+l], scale 8n+2j+h.
		for n := range 2 {
			for j := range 4 {
				shift := 2 * j
				hb := 4*n + j
				for h := range 2 {
					q := wb[32+32*n+16*h : 32+32*n+16*h+16]
					hm := wb[16*h : 16*h+16]
					y := q8[128*n+32*j+16*h : 128*n+32*j+16*h+16]
					var d int32
					for l := range 16 {
						v := int32((q[l]>>shift)&3) | int32((hm[l]>>hb)&1)<<2
						d += v * int32(int8(y[l]))
					}
					isum += scales[8*n+2*j+h] * d
				}
			}
		}
		isum -= 4 * corr
		sum += (le16h(wb[108:]) * yd) * float32(isum)
	}
	return sum
}

// scaleMinK4 unpacks the j-th 6-bit scale and min of Q4_K and Q5_K.
func scaleMinK4(j int, q []byte) (sc, m int32) {
	q = q[:12]
	if j < 4 {
		return int32(q[j] & 63), int32(q[j+4] & 63)
	}
	return int32(q[j+4]&0xF | (q[j-4]>>6)<<4), int32(q[j+4]>>4 | (q[j]>>6)<<4)
}

// DotQ4_K returns the dot product of nBlocks Q4_K blocks with nBlocks Q8_K blocks.
func DotQ4_K(w, x []byte, nBlocks int) float32 {
	if hasAVX2 && nBlocks > 0 {
		_, _ = w[nBlocks*q4_KBytes-1], x[nBlocks*q8_KBytes-1]
		return dotQ4_KAVX2(&w[0], &x[0], nBlocks)
	}
	return dotQ4_KGo(w, x, nBlocks)
}

func dotQ4_KGo(w, x []byte, nBlocks int) float32 {
	var sum float32
	for i := range nBlocks {
		wb := (*[q4_KBytes]byte)(w[i*q4_KBytes:])
		yd, q8, bs := q8K(x, i)
		sc := wb[4:16]
		qs := wb[16:144]
		var isum, msum int32
		for j := range 8 {
			s, m := scaleMinK4(j, sc)
			msum += m * (bsum(bs, 2*j) + bsum(bs, 2*j+1))
			q := qs[32*(j/2) : 32*(j/2)+32]
			y := q8[32*j : 32*j+32]
			shift := 4 * (j & 1)
			var d int32
			for l := range 32 {
				d += int32((q[l]>>shift)&15) * int32(int8(y[l]))
			}
			isum += s * d
		}
		sum += (le16h(wb[0:])*yd)*float32(isum) - (le16h(wb[2:])*yd)*float32(msum)
	}
	return sum
}

// MatVecQ4_K is the multi-row form of DotQ4_K (see MatVecFunc).
func MatVecQ4_K(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	for r := range dst {
		dst[r] = DotQ4_K(w[r*rowStride:], x, nBlocks)
	}
}

// DotQ5_K returns the dot product of nBlocks Q5_K blocks with nBlocks Q8_K blocks.
func DotQ5_K(w, x []byte, nBlocks int) float32 {
	var sum float32
	for i := range nBlocks {
		wb := (*[q5_KBytes]byte)(w[i*q5_KBytes:])
		yd, q8, bs := q8K(x, i)
		sc := wb[4:16]
		qh := wb[16:48]
		qs := wb[48:176]
		var isum, msum int32
		for j := range 8 {
			s, m := scaleMinK4(j, sc)
			msum += m * (bsum(bs, 2*j) + bsum(bs, 2*j+1))
			q := qs[32*(j/2) : 32*(j/2)+32]
			y := q8[32*j : 32*j+32]
			shift := 4 * (j & 1)
			var d int32
			for l := range 32 {
				v := int32((q[l]>>shift)&15) | int32((qh[l]>>j)&1)<<4
				d += v * int32(int8(y[l]))
			}
			isum += s * d
		}
		sum += (le16h(wb[0:])*yd)*float32(isum) - (le16h(wb[2:])*yd)*float32(msum)
	}
	return sum
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
	var sum float32
	var a [256]int8
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
		var isum int32
		for j := range 16 {
			isum += int32(int8(wb[192+j])) * dot16(a[16*j:], q8[16*j:])
		}
		sum += (le16h(wb[208:]) * yd) * float32(isum)
	}
	return sum
}

// MatVecQ6_K is the multi-row form of DotQ6_K (see MatVecFunc).
func MatVecQ6_K(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	for r := range dst {
		dst[r] = DotQ6_K(w[r*rowStride:], x, nBlocks)
	}
}

// DotIQ4_XS returns the dot product of nBlocks IQ4_XS blocks with nBlocks Q8_K blocks.
func DotIQ4_XS(w, x []byte, nBlocks int) float32 {
	var sum float32
	for i := range nBlocks {
		wb := (*[iq4_XSBytes]byte)(w[i*iq4_XSBytes:])
		yd, q8, _ := q8K(x, i)
		sh := binary.LittleEndian.Uint16(wb[2:])
		var isum int32
		for ib := range 8 {
			ls := int32((wb[4+ib/2]>>(4*(ib%2)))&15) | int32((sh>>(2*ib))&3)<<4
			q := wb[8+16*ib : 8+16*ib+16]
			y := q8[32*ib : 32*ib+32]
			var s int32
			for j := range 16 {
				s += int32(kvaluesIQ4NL[q[j]&15])*int32(int8(y[j])) + int32(kvaluesIQ4NL[q[j]>>4])*int32(int8(y[j+16]))
			}
			isum += (ls - 32) * s
		}
		sum += (le16h(wb[0:]) * yd) * float32(isum)
	}
	return sum
}

// The K-quant and IQ4_XS types without assembly run one row at a time.

// MatVecQ2_K is the multi-row form of DotQ2_K (see MatVecFunc).
func MatVecQ2_K(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	for r := range dst {
		dst[r] = DotQ2_K(w[r*rowStride:], x, nBlocks)
	}
}

// MatVecQ3_K is the multi-row form of DotQ3_K (see MatVecFunc).
func MatVecQ3_K(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	for r := range dst {
		dst[r] = DotQ3_K(w[r*rowStride:], x, nBlocks)
	}
}

// MatVecQ5_K is the multi-row form of DotQ5_K (see MatVecFunc).
func MatVecQ5_K(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	for r := range dst {
		dst[r] = DotQ5_K(w[r*rowStride:], x, nBlocks)
	}
}

// MatVecIQ4_XS is the multi-row form of DotIQ4_XS (see MatVecFunc).
func MatVecIQ4_XS(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	for r := range dst {
		dst[r] = DotIQ4_XS(w[r*rowStride:], x, nBlocks)
	}
}
