package quant

import (
	"encoding/binary"
	"math"
)

// The K-quants work on super-blocks of 256 elements split into sub-blocks of 16 or 32,
// each with its own scale (and minimum), quantized in turn against a super-block scale.

const (
	qkK         = 256
	groupMaxEps = 1e-15
)

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }

// rmseWeight is make_qx_quants' element weight for an rmse_type without explicit weights.
func rmseWeight(rmseType int, x float32) float32 {
	switch rmseType {
	case 1:
		return x * x
	case 2:
		return 1
	case 3:
		return abs32(x)
	}
	return float32(math.Sqrt(float64(abs32(x))))
}

// makeQXQuants is ggml's make_qx_quants without importance weights: a symmetric scale
// for x with levels in [-nmax, nmax-1], searched around nmax/max for the best weighted
// least-squares fit. L receives the levels offset by nmax.
func makeQXQuants(x []float32, nmax int, L []int8, rmseType int) float32 {
	mx, amax := absMaxSigned(x)
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	iscale := float32(-nmax) / mx
	if rmseType == 0 {
		for i, v := range x {
			l := nearestInt(float32(iscale * v))
			L[i] = int8(nmax + clampInt(l, -nmax, nmax-1))
		}
		return 1 / iscale
	}
	returnEarly := false
	if rmseType < 0 {
		rmseType, returnEarly = -rmseType, true
	}
	var sumlx, suml2 float32
	for i, v := range x {
		l := clampInt(nearestInt(float32(iscale*v)), -nmax, nmax-1)
		L[i] = int8(l + nmax)
		w, fl := rmseWeight(rmseType, v), float32(l)
		sumlx += float32(w * v * fl)
		suml2 += float32(w * fl * fl)
	}
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	if returnEarly {
		if suml2 > 0 {
			return 0.5 * (scale + 1/iscale)
		}
		return 1 / iscale
	}
	best := scale * sumlx
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / mx
		sumlx, suml2 = 0, 0
		for _, v := range x {
			l := clampInt(nearestInt(float32(iscale*v)), -nmax, nmax-1)
			w, fl := rmseWeight(rmseType, v), float32(l)
			sumlx += float32(w * v * fl)
			suml2 += float32(w * fl * fl)
		}
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			for i, v := range x {
				l := nearestInt(float32(iscale * v))
				L[i] = int8(nmax + clampInt(l, -nmax, nmax-1))
			}
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// makeQ3Quants is ggml's make_q3_quants: like makeQXQuants but refined by moving single
// elements to the level that improves the x²-weighted fit, up to five passes.
func makeQ3Quants(x []float32, nmax int, L []int8, doRMSE bool) float32 {
	mx, amax := absMaxSigned(x)
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	iscale := float32(-nmax) / mx
	if !doRMSE {
		for i, v := range x {
			L[i] = int8(clampInt(nearestInt(float32(iscale*v)), -nmax, nmax-1) + nmax)
		}
		return 1 / iscale
	}
	var sumlx, suml2 float32
	for i, v := range x {
		l := clampInt(nearestInt(float32(iscale*v)), -nmax, nmax-1)
		L[i] = int8(l)
		w, fl := v*v, float32(l)
		sumlx += float32(w * v * fl)
		suml2 += float32(w * fl * fl)
	}
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i, v := range x {
			w, li := v*v, float32(L[i])
			slx := sumlx - float32(w*v*li)
			if slx > 0 {
				sl2 := suml2 - float32(w*li*li)
				nl := clampInt(nearestInt(v*sl2/slx), -nmax, nmax-1)
				if nl != int(L[i]) {
					fl := float32(nl)
					slx += float32(w * v * fl)
					sl2 += float32(w * fl * fl)
					if sl2 > 0 && float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
						L[i] = int8(nl)
						sumlx, suml2 = slx, sl2
						changed++
					}
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := range x {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

// makeQKX2Quants is ggml's make_qkx2_quants: an asymmetric fit x ≈ scale*L - min with
// levels in [0, nmax], trying nstep+1 scales and solving the weighted least squares for
// scale and min at each. It returns the scale and the (non-negative) minimum.
func makeQKX2Quants(x []float32, nmax int, weights []float32, L, Laux []uint8,
	rmin, rdelta float32, nstep int, useMAD bool) (float32, float32) {
	n := len(x)
	mn, mx := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < mn {
			mn = x[i]
		}
		if x[i] > mx {
			mx = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if mn > 0 {
		mn = 0
	}
	if mx == mn {
		clear(L[:n])
		return 0, -mn
	}
	fnmax := float32(nmax)
	iscale := fnmax / (mx - mn)
	scale := 1 / iscale
	errOf := func(diff float32) float32 {
		if useMAD {
			return abs32(diff)
		}
		return diff * diff
	}
	var bestErr float32
	for i, v := range x {
		l := clampInt(nearestInt(float32(iscale*(v-mn))), 0, nmax)
		L[i] = uint8(l)
		diff := float32(scale*float32(l)) + mn - v
		bestErr += float32(weights[i] * errOf(diff))
	}
	if nstep < 1 {
		return scale, -mn
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + fnmax) / (mx - mn)
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			l := clampInt(nearestInt(float32(iscale*(v-mn))), 0, nmax)
			Laux[i] = uint8(l)
			w, fl := weights[i], float32(l)
			sumL += float32(w * fl)
			sumL2 += float32(w * fl * fl)
			sumXL += float32(w * fl * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var curErr float32
			for i, v := range x {
				diff := float32(thisScale*float32(Laux[i])) + thisMin - v
				curErr += float32(weights[i] * errOf(diff))
			}
			if curErr < bestErr {
				copy(L[:n], Laux[:n])
				bestErr = curErr
				scale, mn = thisScale, thisMin
			}
		}
	}
	return scale, -mn
}

// scaleMinK4 unpacks sub-block j's 6-bit scale and minimum from Q4_K/Q5_K's 12 bytes.
func scaleMinK4(j int, q []byte) (uint8, uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// packScaleMinK4 is the inverse of scaleMinK4, filling sub-blocks in order 0..7.
func packScaleMinK4(j int, q []byte, ls, lm uint8) {
	if j < 4 {
		q[j] = ls
		q[j+4] = lm
		return
	}
	q[j+4] = ls&0xf | (lm&0xf)<<4
	q[j-4] |= (ls >> 4) << 6
	q[j] |= (lm >> 4) << 6
}

// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin.
func quantizeQ2_K(src []float32, dst []byte) {
	var L [qkK]uint8
	var Laux [16]uint8
	var weights [16]float32
	var mins, scales [qkK / 16]float32
	const q4scale = 15
	for i := 0; i < len(src)/qkK; i++ {
		x, y := src[i*qkK:(i+1)*qkK], dst[i*84:(i+1)*84]
		var maxScale, maxMin float32
		for j := 0; j < qkK/16; j++ {
			xs := x[16*j : 16*j+16]
			for l, v := range xs {
				weights[l] = abs32(v)
			}
			scales[j], mins[j] = makeQKX2Quants(xs, 3, weights[:], L[16*j:16*j+16], Laux[:], -0.5, 0.1, 15, true)
			if scales[j] > maxScale {
				maxScale = scales[j]
			}
			if mins[j] > maxMin {
				maxMin = mins[j]
			}
		}
		sc := y[:16]
		if maxScale > 0 {
			iscale := q4scale / maxScale
			for j := range sc {
				sc[j] = uint8(nearestInt(float32(iscale * scales[j])))
			}
			put16(y[80:], FP32ToFP16(maxScale/q4scale))
		} else {
			clear(sc)
			put16(y[80:], FP32ToFP16(0))
		}
		if maxMin > 0 {
			iscale := q4scale / maxMin
			for j := range sc {
				sc[j] |= uint8(nearestInt(float32(iscale*mins[j])) << 4)
			}
			put16(y[82:], FP32ToFP16(maxMin/q4scale))
		} else {
			put16(y[82:], FP32ToFP16(0))
		}
		d, dmin := half(y[80:]), half(y[82:])
		for j := 0; j < qkK/16; j++ {
			dj := d * float32(sc[j]&0xf)
			if dj == 0 {
				continue
			}
			dm := dmin * float32(sc[j]>>4)
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = uint8(clampInt(nearestInt((x[16*j+ii]+dm)/dj), 0, 3))
			}
		}
		qs := y[16:80]
		for j := 0; j < qkK; j += 128 {
			for l := 0; l < 32; l++ {
				qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
			}
		}
	}
}

func dequantizeQ2_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := src[i*84:(i+1)*84], dst[i*qkK:(i+1)*qkK]
		d, mn := half(b[80:]), half(b[82:])
		sc, q := b[:16], b[16:80]
		k, is := 0, 0
		for n := 0; n < qkK; n += 128 {
			for shift := 0; shift < 8; shift += 2 {
				for h := 0; h < 2; h++ {
					s := sc[is]
					is++
					dl, ml := d*float32(s&0xf), mn*float32(s>>4)
					for l := 0; l < 16; l++ {
						y[k] = float32(dl*float32((q[l+16*h]>>shift)&3)) - ml
						k++
					}
				}
			}
			q = q[32:]
		}
	}
}

// Q3_K: hmask[32], qs[64], scales[12] (16 six-bit signed scales), d.
func q3Scale(sc []byte, j int) int {
	var lo uint8
	if j < 8 {
		lo = sc[j] & 0xf
	} else {
		lo = sc[j-8] >> 4
	}
	hi := (sc[8+j%4] >> (2 * (j / 4))) & 3
	return int(lo|hi<<4) - 32
}

func quantizeQ3_K(src []float32, dst []byte) {
	var L [qkK]int8
	var scales [qkK / 16]float32
	for i := 0; i < len(src)/qkK; i++ {
		x, y := src[i*qkK:(i+1)*qkK], dst[i*110:(i+1)*110]
		hmask, qs, sc := y[:32], y[32:96], y[96:108]
		var maxScale, amax float32
		for j := 0; j < qkK/16; j++ {
			scales[j] = makeQ3Quants(x[16*j:16*j+16], 4, L[16*j:16*j+16], true)
			if s := abs32(scales[j]); s > amax {
				amax, maxScale = s, scales[j]
			}
		}
		clear(sc)
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := 0; j < qkK/16; j++ {
				l := int8(nearestInt(float32(iscale * scales[j])))
				l = max(-32, min(31, l)) + 32
				if j < 8 {
					sc[j] = uint8(l) & 0xf
				} else {
					sc[j-8] |= (uint8(l) & 0xf) << 4
				}
				l >>= 4
				sc[j%4+8] |= uint8(l) << (2 * (j / 4))
			}
			put16(y[108:], FP32ToFP16(1/iscale))
		} else {
			put16(y[108:], FP32ToFP16(0))
		}
		d := half(y[108:])
		for j := 0; j < qkK/16; j++ {
			dj := d * float32(int8(q3Scale(sc, j)))
			if dj == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = int8(clampInt(nearestInt(x[16*j+ii]/dj), -4, 3) + 4)
			}
		}
		clear(hmask)
		m, hm := 0, uint8(1)
		for j := 0; j < qkK; j++ {
			if L[j] > 3 {
				hmask[m] |= hm
				L[j] -= 4
			}
			if m++; m == qkK/8 {
				m, hm = 0, hm<<1
			}
		}
		for j := 0; j < qkK; j += 128 {
			for l := 0; l < 32; l++ {
				qs[j/4+l] = uint8(L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6)
			}
		}
	}
}

func dequantizeQ3_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := src[i*110:(i+1)*110], dst[i*qkK:(i+1)*qkK]
		hm, q, sc := b[:32], b[32:96], b[96:108]
		dAll := half(b[108:])
		k, is := 0, 0
		m := uint8(1)
		for n := 0; n < qkK; n += 128 {
			for shift := 0; shift < 8; shift += 2 {
				for h := 0; h < 2; h++ {
					dl := dAll * float32(q3Scale(sc, is))
					is++
					for l := 16 * h; l < 16*h+16; l++ {
						v := int((q[l] >> shift) & 3)
						if hm[l]&m == 0 {
							v -= 4
						}
						y[k] = dl * float32(v)
						k++
					}
				}
				m <<= 1
			}
			q = q[32:]
		}
	}
}

// quantizeQ4KLike is the shared body of the Q4_K and Q5_K reference quantizers: eight
// sub-blocks of 32 with 6-bit scales and minimums. It fills L with levels in [0, nmax].
func quantizeQ4KLike(x []float32, y []byte, nmax int, rmin, rdelta float32, nstep int, L *[qkK]uint8) {
	var Laux [32]uint8
	var weights [32]float32
	var mins, scales [qkK / 32]float32
	var maxScale, maxMin float32
	for j := 0; j < qkK/32; j++ {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := float32(math.Sqrt(float64(sumX2 / 32)))
		for l, v := range xs {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(xs, nmax, weights[:], L[32*j:32*j+32], Laux[:], rmin, rdelta, nstep, false)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	sc := y[4:16]
	for j := 0; j < qkK/32; j++ {
		ls := min(63, uint8(nearestInt(float32(invScale*scales[j]))))
		lm := min(63, uint8(nearestInt(float32(invMin*mins[j]))))
		packScaleMinK4(j, sc, ls, lm)
	}
	put16(y[0:], FP32ToFP16(maxScale/63))
	put16(y[2:], FP32ToFP16(maxMin/63))
	d, dmin := half(y[0:]), half(y[2:])
	for j := 0; j < qkK/32; j++ {
		s, m := scaleMinK4(j, sc)
		dj := d * float32(s)
		if dj == 0 {
			continue
		}
		dm := dmin * float32(m)
		for ii := 0; ii < 32; ii++ {
			L[32*j+ii] = uint8(clampInt(nearestInt((x[32*j+ii]+dm)/dj), 0, nmax))
		}
	}
}

// Q4_K: d, dmin, scales[12], qs[128].
func quantizeQ4_K(src []float32, dst []byte) {
	var L [qkK]uint8
	for i := 0; i < len(src)/qkK; i++ {
		x, y := src[i*qkK:(i+1)*qkK], dst[i*144:(i+1)*144]
		quantizeQ4KLike(x, y, 15, -1, 0.1, 20, &L)
		q := y[16:]
		for j := 0; j < qkK; j += 64 {
			for l := 0; l < 32; l++ {
				q[l] = L[j+l] | L[j+l+32]<<4
			}
			q = q[32:]
		}
	}
}

func dequantizeQ4_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := src[i*144:(i+1)*144], dst[i*qkK:(i+1)*qkK]
		d, mn := half(b[0:]), half(b[2:])
		sc, q := b[4:16], b[16:]
		for j, is := 0, 0; j < qkK; j, is = j+64, is+2 {
			s, m := scaleMinK4(is, sc)
			d1, m1 := d*float32(s), mn*float32(m)
			s, m = scaleMinK4(is+1, sc)
			d2, m2 := d*float32(s), mn*float32(m)
			for l := 0; l < 32; l++ {
				y[j+l] = float32(d1*float32(q[l]&0xf)) - m1
				y[j+32+l] = float32(d2*float32(q[l]>>4)) - m2
			}
			q = q[32:]
		}
	}
}

// Q5_K: d, dmin, scales[12], qh[32], qs[128].
func quantizeQ5_K(src []float32, dst []byte) {
	var L [qkK]uint8
	for i := 0; i < len(src)/qkK; i++ {
		x, y := src[i*qkK:(i+1)*qkK], dst[i*176:(i+1)*176]
		quantizeQ4KLike(x, y, 31, -0.5, 0.1, 15, &L)
		qh, ql := y[16:48], y[48:]
		clear(qh)
		m1, m2 := uint8(1), uint8(2)
		for n := 0; n < qkK; n += 64 {
			for j := 0; j < 32; j++ {
				l1, l2 := L[n+j], L[n+j+32]
				if l1 > 15 {
					l1 -= 16
					qh[j] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[j] |= m2
				}
				ql[j] = l1 | l2<<4
			}
			m1, m2 = m1<<2, m2<<2
			ql = ql[32:]
		}
	}
}

func dequantizeQ5_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := src[i*176:(i+1)*176], dst[i*qkK:(i+1)*qkK]
		d, mn := half(b[0:]), half(b[2:])
		sc, qh, ql := b[4:16], b[16:48], b[48:]
		u1, u2 := uint8(1), uint8(2)
		for j, is := 0, 0; j < qkK; j, is = j+64, is+2 {
			s, m := scaleMinK4(is, sc)
			d1, m1 := d*float32(s), mn*float32(m)
			s, m = scaleMinK4(is+1, sc)
			d2, m2 := d*float32(s), mn*float32(m)
			for l := 0; l < 32; l++ {
				v1, v2 := int(ql[l]&0xf), int(ql[l]>>4)
				if qh[l]&u1 != 0 {
					v1 += 16
				}
				if qh[l]&u2 != 0 {
					v2 += 16
				}
				y[j+l] = float32(d1*float32(v1)) - m1
				y[j+32+l] = float32(d2*float32(v2)) - m2
			}
			ql = ql[32:]
			u1, u2 = u1<<2, u2<<2
		}
	}
}

// Q6_K: ql[128], qh[64], scales[16] (int8), d.
func quantizeQ6_K(src []float32, dst []byte) {
	var L [qkK]int8
	var scales [qkK / 16]float32
	for i := 0; i < len(src)/qkK; i++ {
		x, y := src[i*qkK:(i+1)*qkK], dst[i*210:(i+1)*210]
		var maxScale, maxAbsScale float32
		for ib := 0; ib < qkK/16; ib++ {
			s := makeQXQuants(x[16*ib:16*ib+16], 32, L[16*ib:16*ib+16], 1)
			scales[ib] = s
			if a := abs32(s); a > maxAbsScale {
				maxAbsScale, maxScale = a, s
			}
		}
		if maxAbsScale < groupMaxEps {
			clear(y)
			continue
		}
		sc := y[192:208]
		iscale := -128 / maxScale
		put16(y[208:], FP32ToFP16(1/iscale))
		for ib := range sc {
			sc[ib] = uint8(int8(min(127, nearestInt(float32(iscale*scales[ib])))))
		}
		d := half(y[208:])
		for j := 0; j < qkK/16; j++ {
			dj := d * float32(int8(sc[j]))
			if dj == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = int8(clampInt(nearestInt(x[16*j+ii]/dj), -32, 31) + 32)
			}
		}
		ql, qh := y[:128], y[128:192]
		for j := 0; j < qkK; j += 128 {
			for l := 0; l < 32; l++ {
				a, b, c, e := uint8(L[j+l]), uint8(L[j+l+32]), uint8(L[j+l+64]), uint8(L[j+l+96])
				ql[l] = a&0xf | (c&0xf)<<4
				ql[l+32] = b&0xf | (e&0xf)<<4
				qh[l] = a>>4 | (b>>4)<<2 | (c>>4)<<4 | (e>>4)<<6
			}
			ql, qh = ql[64:], qh[32:]
		}
	}
}

func dequantizeQ6_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := src[i*210:(i+1)*210], dst[i*qkK:(i+1)*qkK]
		d := half(b[208:])
		ql, qh, sc := b[:128], b[128:192], b[192:208]
		for n := 0; n < qkK; n += 128 {
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
				q2 := int(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
				q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				y[n+l] = d * float32(int8(sc[is])) * float32(q1)
				y[n+l+32] = d * float32(int8(sc[is+2])) * float32(q2)
				y[n+l+64] = d * float32(int8(sc[is+4])) * float32(q3)
				y[n+l+96] = d * float32(int8(sc[is+6])) * float32(q4)
			}
			ql, qh, sc = ql[64:], qh[32:], sc[8:]
		}
	}
}

// Q8_K: d (float32), qs[256] (int8), bsums[16] (int16 sums of 16 quants).
func quantizeQ8_K(src []float32, dst []byte) {
	for i := 0; i < len(src)/qkK; i++ {
		x, y := src[i*qkK:(i+1)*qkK], dst[i*292:(i+1)*292]
		mx, amax := absMaxSigned(x)
		if amax == 0 {
			clear(y)
			continue
		}
		iscale := -127 / mx
		qs := y[4:260]
		for j, v := range x {
			qs[j] = uint8(int8(min(127, nearestInt(float32(iscale*v)))))
		}
		for j := 0; j < qkK/16; j++ {
			sum := 0
			for _, q := range qs[16*j : 16*j+16] {
				sum += int(int8(q))
			}
			put16(y[260+2*j:], uint16(int16(sum)))
		}
		binary.LittleEndian.PutUint32(y, math.Float32bits(1/iscale))
	}
}

func dequantizeQ8_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := src[i*292:(i+1)*292], dst[i*qkK:(i+1)*qkK]
		d := math.Float32frombits(binary.LittleEndian.Uint32(b))
		for j := range y {
			y[j] = d * float32(int8(b[4+j]))
		}
	}
}
