package quant

import "math"

// FP16ToFP32 converts an IEEE binary16 value to float32 (exactly: every half is a float).
func FP16ToFP32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: mant * 2^-24, exact in float32.
	f := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

// FP32ToFP16 converts a float32 to IEEE binary16, rounding to nearest even (subnormals
// included); overflow gives infinity and every NaN becomes the quiet NaN 0x7e00 with the
// input's sign, as ggml's portable conversion does.
func FP32ToFP16(f float32) uint16 {
	const scaleToInf = 0x1.0p+112
	const scaleToZero = 0x1.0p-110
	w := math.Float32bits(f)
	abs := math.Float32frombits(w & 0x7fffffff)
	// Two separate roundings: the first scale overflows huge values to infinity, the second
	// brings the value into the half range. float32() keeps them from fusing with the add.
	base := float32(float32(abs*scaleToInf) * scaleToZero)
	shl1 := w + w
	sign := w & 0x80000000
	bias := shl1 & 0xff000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	// Adding a power of two aligned with the half's least significant bit makes the
	// float32 adder round the mantissa to half precision (nearest even).
	base = math.Float32frombits((bias>>1)+0x07800000) + base
	bits := math.Float32bits(base)
	expBits := (bits >> 13) & 0x7c00
	mantBits := bits & 0x0fff
	h := uint16(sign >> 16)
	if shl1 > 0xff000000 {
		return h | 0x7e00
	}
	return h | uint16(expBits+mantBits)
}

// BF16ToFP32 converts a bfloat16 value to float32 (exactly).
func BF16ToFP32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// FP32ToBF16 converts a float32 to bfloat16, rounding to nearest even; NaNs stay NaN
// (forced quiet), as ggml's conversion does.
func FP32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + (0x7fff + ((u >> 16) & 1))) >> 16)
}
