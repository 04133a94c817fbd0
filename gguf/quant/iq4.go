package quant

// IQ4_NL and IQ4_XS store 4-bit indices into a fixed non-linear table of 16 levels.
// IQ4_NL: d (fp16), qs[16] per 32 elements. IQ4_XS: d (fp16), scales_h (u16),
// scales_l[4], qs[128] per 256 elements, with a 6-bit scale per 32.

var iq4Values = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// bestIndexInt8 is the table index nearest to x (ties go up), searched by bisection as
// ggml's best_index_int8 did at the reference commit. x must already be a float32 value.
func bestIndexInt8(x float32) uint8 {
	val := &iq4Values
	if x <= float32(val[0]) {
		return 0
	}
	if x >= float32(val[15]) {
		return 15
	}
	ml, mu := 0, 15
	for mu-ml > 1 {
		mav := (ml + mu) / 2
		if x < float32(val[mav]) {
			mu = mav
		} else {
			ml = mav
		}
	}
	if x-float32(val[mu-1]) < float32(val[mu])-x {
		return uint8(mu - 1)
	}
	return uint8(mu)
}

// quantizeIQ4 is ggml's quantize_row_iq4_nl_impl without importance weights, for one
// super-block x of 32 (IQ4_NL) or 256 (IQ4_XS) elements with ntry scale trials per
// 32-element block. It fills q4 (len(x)/2 bytes) and, for 256, scalesL (4 bytes), and
// returns the fp16 super-block scale and scales_h.
func quantizeIQ4(x []float32, q4, scalesL []byte, ntry int) (dh, scalesH uint16) {
	var L [qkK]uint8
	var scales [qkK / 32]float32
	var weight [32]float32
	nblk := len(x) / 32
	clear(q4)
	dh = FP32ToFP16(0)
	var maxScale, amaxScale float32
	v0 := float32(iq4Values[0])
	for ib := 0; ib < nblk; ib++ {
		xb, Lb := x[32*ib:32*ib+32], L[32*ib:32*ib+32]
		for j, v := range xb {
			weight[j] = v * v
		}
		mx, amax := absMaxSigned(xb)
		if amax < groupMaxEps {
			scales[ib] = 0
			continue
		}
		var d float32
		if ntry > 0 {
			d = -mx / v0
		} else {
			d = mx / v0
		}
		id := 1 / d
		var sumqx, sumq2 float32
		for j, v := range xb {
			l := bestIndexInt8(float32(id * v))
			Lb[j] = l
			q, w := float32(iq4Values[l]), weight[j]
			sumqx += float32(w * q * v)
			sumq2 += float32(w * q * q)
		}
		d = sumqx / sumq2
		best := d * sumqx
		for itry := -ntry; itry <= ntry; itry++ {
			id = float32(itry+int(iq4Values[0])) / mx
			sumqx, sumq2 = 0, 0
			for j, v := range xb {
				l := bestIndexInt8(float32(id * v))
				q, w := float32(iq4Values[l]), weight[j]
				sumqx += float32(w * q * v)
				sumq2 += float32(w * q * q)
			}
			if sumq2 > 0 && float32(sumqx*sumqx) > float32(best*sumq2) {
				d = sumqx / sumq2
				best = d * sumqx
			}
		}
		scales[ib] = d
		if a := abs32(d); a > amaxScale {
			amaxScale, maxScale = a, d
		}
	}
	if nblk > 1 {
		d := -maxScale / 32
		dh = FP32ToFP16(d)
		id := inverse(d)
		for ib := 0; ib < nblk; ib++ {
			l := clampInt(nearestInt(float32(id*scales[ib])), -32, 31)
			dl := d * float32(l)
			idl := inverse(dl)
			for j, v := range x[32*ib : 32*ib+32] {
				L[32*ib+j] = bestIndexInt8(float32(idl * v))
			}
			l += 32
			lo, hi := uint8(l&0xf), uint8(l>>4)
			if ib%2 == 0 {
				scalesL[ib/2] = lo
			} else {
				scalesL[ib/2] |= lo << 4
			}
			scalesH |= uint16(hi) << (2 * (ib % 8))
		}
	} else {
		dh = FP32ToFP16(scales[0])
		if ntry > 0 {
			id := inverse(scales[0])
			for j, v := range x {
				L[j] = bestIndexInt8(float32(id * v))
			}
		}
	}
	for i := 0; i < len(x)/32; i++ {
		for j := 0; j < 16; j++ {
			q4[16*i+j] = L[32*i+j] | L[32*i+16+j]<<4
		}
	}
	return dh, scalesH
}

// quantizeIQ4_NL is what llama-quantize runs for IQ4_NL (ggml's quantize_iq4_nl, 7 scale
// trials), used by the quantizer as the fall-back type of the low-bit K-quants.
func quantizeIQ4_NL(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		y := dst[18*i : 18*i+18]
		dh, _ := quantizeIQ4(src[32*i:32*i+32], y[2:], nil, 7)
		put16(y, dh)
	}
}

func quantizeIQ4_XS(src []float32, dst []byte) {
	for i := 0; i < len(src)/qkK; i++ {
		y := dst[136*i : 136*i+136]
		dh, sh := quantizeIQ4(src[qkK*i:qkK*i+qkK], y[8:], y[4:8], 7)
		put16(y, dh)
		put16(y[2:], sh)
	}
}

func dequantizeIQ4_NL(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b, y := src[18*i:18*i+18], dst[32*i:32*i+32]
		d := half(b)
		for j := 0; j < 16; j++ {
			y[j] = d * float32(iq4Values[b[2+j]&0xf])
			y[j+16] = d * float32(iq4Values[b[2+j]>>4])
		}
	}
}

func dequantizeIQ4_XS(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qkK; i++ {
		b, y := src[136*i:136*i+136], dst[qkK*i:qkK*i+qkK]
		d := half(b)
		sh := le16(b[2:])
		sl, qs := b[4:8], b[8:]
		for ib := 0; ib < qkK/32; ib++ {
			ls := int((sl[ib/2]>>(4*(ib%2)))&0xf) | int((sh>>(2*ib))&3)<<4
			dl := d * float32(ls-32)
			for j := 0; j < 16; j++ {
				y[32*ib+j] = dl * float32(iq4Values[qs[j]&0xf])
				y[32*ib+j+16] = dl * float32(iq4Values[qs[j]>>4])
			}
			qs = qs[16:]
		}
	}
}
