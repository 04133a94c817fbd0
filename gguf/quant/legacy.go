package quant

import (
	"encoding/binary"
	"math"
)

// The legacy block types hold 32 elements. Q4_0/Q5_0/Q8_0 are symmetric (x = d*q);
// Q4_1/Q5_1 add a minimum (x = d*q + m). The two halves of a block share bytes: element
// j sits in the low nibble of qs[j] and element j+16 in the high nibble. Q5's fifth bits
// are a little-endian u32, bit j for element j.

const qk = 32

// absMaxSigned returns the element with the largest magnitude (the first on ties) and
// that magnitude.
func absMaxSigned(x []float32) (max, amax float32) {
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, max = a, v
		}
	}
	return max, amax
}

func minMax(x []float32) (min, max float32) {
	min, max = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	return min, max
}

func inverse(d float32) float32 {
	if d != 0 {
		return 1 / d
	}
	return 0
}

// quantizeQ4_0 is quantize_row_q4_0_ref: d = max/-8 (the signed extreme maps to -8),
// q = trunc(x/d + 8.5) capped at 15.
func quantizeQ4_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/qk; i++ {
		x, y := src[i*qk:(i+1)*qk], dst[i*18:(i+1)*18]
		max, _ := absMaxSigned(x)
		d := max / -8
		id := inverse(d)
		put16(y, FP32ToFP16(d))
		for j := 0; j < qk/2; j++ {
			x0 := float32(x[j] * id)
			x1 := float32(x[j+qk/2] * id)
			q0 := min(15, int8(x0+8.5))
			q1 := min(15, int8(x1+8.5))
			y[2+j] = uint8(q0) | uint8(q1)<<4
		}
	}
}

func quantizeQ4_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/qk; i++ {
		x, y := src[i*qk:(i+1)*qk], dst[i*20:(i+1)*20]
		mn, mx := minMax(x)
		d := (mx - mn) / 15
		id := inverse(d)
		put16(y, FP32ToFP16(d))
		put16(y[2:], FP32ToFP16(mn))
		for j := 0; j < qk/2; j++ {
			x0 := float32((x[j] - mn) * id)
			x1 := float32((x[j+qk/2] - mn) * id)
			q0 := min(15, int8(x0+0.5))
			q1 := min(15, int8(x1+0.5))
			y[4+j] = uint8(q0) | uint8(q1)<<4
		}
	}
}

func quantizeQ5_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/qk; i++ {
		x, y := src[i*qk:(i+1)*qk], dst[i*22:(i+1)*22]
		max, _ := absMaxSigned(x)
		d := max / -16
		id := inverse(d)
		put16(y, FP32ToFP16(d))
		var qh uint32
		for j := 0; j < qk/2; j++ {
			x0 := float32(x[j] * id)
			x1 := float32(x[j+qk/2] * id)
			q0 := uint8(min(31, int8(x0+16.5)))
			q1 := uint8(min(31, int8(x1+16.5)))
			y[6+j] = q0&0x0f | (q1&0x0f)<<4
			qh |= uint32(q0&0x10) >> 4 << j
			qh |= uint32(q1&0x10) >> 4 << (j + qk/2)
		}
		binary.LittleEndian.PutUint32(y[2:], qh)
	}
}

func quantizeQ5_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/qk; i++ {
		x, y := src[i*qk:(i+1)*qk], dst[i*24:(i+1)*24]
		mn, mx := minMax(x)
		d := (mx - mn) / 31
		id := inverse(d)
		put16(y, FP32ToFP16(d))
		put16(y[2:], FP32ToFP16(mn))
		var qh uint32
		for j := 0; j < qk/2; j++ {
			x0 := float32((x[j] - mn) * id)
			x1 := float32((x[j+qk/2] - mn) * id)
			q0 := uint8(x0 + 0.5)
			q1 := uint8(x1 + 0.5)
			y[8+j] = q0&0x0f | (q1&0x0f)<<4
			qh |= uint32(q0&0x10) >> 4 << j
			qh |= uint32(q1&0x10) >> 4 << (j + qk/2)
		}
		binary.LittleEndian.PutUint32(y[4:], qh)
	}
}

// roundAway is C's roundf: half away from zero.
func roundAway(x float32) int8 { return int8(math.Round(float64(x))) }

func quantizeQ8_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/qk; i++ {
		x, y := src[i*qk:(i+1)*qk], dst[i*34:(i+1)*34]
		var amax float32
		for _, v := range x {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		id := inverse(d)
		put16(y, FP32ToFP16(d))
		for j, v := range x {
			y[2+j] = uint8(roundAway(float32(v * id)))
		}
	}
}

func quantizeQ8_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/qk; i++ {
		x, y := src[i*qk:(i+1)*qk], dst[i*36:(i+1)*36]
		var amax float32
		for _, v := range x {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		id := inverse(d)
		put16(y, FP32ToFP16(d))
		sum := 0
		for j, v := range x {
			q := roundAway(float32(v * id))
			y[4+j] = uint8(q)
			sum += int(q)
		}
		put16(y[2:], FP32ToFP16(float32(sum)*d))
	}
}

func dequantizeQ4_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qk; i++ {
		b, y := src[i*18:(i+1)*18], dst[i*qk:(i+1)*qk]
		d := half(b)
		for j := 0; j < qk/2; j++ {
			y[j] = float32(int(b[2+j]&0x0f)-8) * d
			y[j+qk/2] = float32(int(b[2+j]>>4)-8) * d
		}
	}
}

func dequantizeQ4_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qk; i++ {
		b, y := src[i*20:(i+1)*20], dst[i*qk:(i+1)*qk]
		d, m := half(b), half(b[2:])
		for j := 0; j < qk/2; j++ {
			y[j] = float32(float32(b[4+j]&0x0f)*d) + m
			y[j+qk/2] = float32(float32(b[4+j]>>4)*d) + m
		}
	}
}

func dequantizeQ5_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qk; i++ {
		b, y := src[i*22:(i+1)*22], dst[i*qk:(i+1)*qk]
		d := half(b)
		qh := binary.LittleEndian.Uint32(b[2:])
		for j := 0; j < qk/2; j++ {
			h0 := uint8(qh>>j<<4) & 0x10
			h1 := uint8(qh>>(j+12)) & 0x10
			y[j] = float32(int(b[6+j]&0x0f|h0)-16) * d
			y[j+qk/2] = float32(int(b[6+j]>>4|h1)-16) * d
		}
	}
}

func dequantizeQ5_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qk; i++ {
		b, y := src[i*24:(i+1)*24], dst[i*qk:(i+1)*qk]
		d, m := half(b), half(b[2:])
		qh := binary.LittleEndian.Uint32(b[4:])
		for j := 0; j < qk/2; j++ {
			h0 := uint8(qh>>j<<4) & 0x10
			h1 := uint8(qh>>(j+12)) & 0x10
			y[j] = float32(float32(b[8+j]&0x0f|h0)*d) + m
			y[j+qk/2] = float32(float32(b[8+j]>>4|h1)*d) + m
		}
	}
}

func dequantizeQ8_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qk; i++ {
		b, y := src[i*34:(i+1)*34], dst[i*qk:(i+1)*qk]
		d := half(b)
		for j := range y {
			y[j] = float32(int8(b[2+j])) * d
		}
	}
}

// dequantizeQ8_1 decodes d*q; the block's sum s only serves dot products.
func dequantizeQ8_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qk; i++ {
		b, y := src[i*36:(i+1)*36], dst[i*qk:(i+1)*qk]
		d := half(b)
		for j := range y {
			y[j] = float32(int8(b[4+j])) * d
		}
	}
}
