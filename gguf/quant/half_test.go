package quant

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFP16Values(t *testing.T) {
	for _, c := range []struct {
		f float32
		h uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.5, 0x3800},
		{65504, 0x7bff},
		{65519.99, 0x7bff},
		{65520, 0x7c00}, // halfway to 65536 rounds to even: infinity
		{1e10, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{0x1p-14, 0x0400},        // smallest normal
		{0x1p-24, 0x0001},        // smallest subnormal
		{0x1p-25, 0x0000},        // half of it: tie, to even (zero)
		{0x1.8p-24, 0x0002},      // 1.5 units: tie, to even (2)
		{0x1.000002p-25, 0x0001}, // just over half a unit
		{1 + 0x1p-11, 0x3c00},    // tie between 1 and 1+2^-10: to even
		{1 + 0x3p-11, 0x3c02},    // tie between 1+2^-10 and 1+2^-9: to even
		{math.Nextafter32(1+0x1p-11, 2), 0x3c01},
	} {
		assert.Equalf(t, c.h, FP32ToFP16(c.f), "FP32ToFP16(%g)", c.f)
	}
	assert.Equal(t, uint16(0x7e00), FP32ToFP16(float32(math.NaN())))
	assert.Equal(t, uint16(0xfe00), FP32ToFP16(math.Float32frombits(0xffc00001)))
	assert.Equal(t, uint16(0x7e00), FP32ToFP16(math.Float32frombits(0x7f800001)))
}

// TestFP16Exhaustive checks every half: its float32 value converts back to it, and the
// float32 values around each midpoint between neighbouring halves round the right way.
func TestFP16Exhaustive(t *testing.T) {
	for h := 0; h < 0x10000; h++ {
		f := FP16ToFP32(uint16(h))
		if f != f {
			assert.Equal(t, uint16(0x7e00)|uint16(h)&0x8000, FP32ToFP16(f))
			continue
		}
		require.Equalf(t, uint16(h), FP32ToFP16(f), "half %#04x = %g", h, f)
	}
	for h := uint16(0); h < 0x7bff; h++ {
		lo, hi := float64(FP16ToFP32(h)), float64(FP16ToFP32(h+1))
		mid := float32((lo + hi) / 2) // exact: halves have 11 significant bits
		even := h
		if h&1 != 0 {
			even = h + 1
		}
		require.Equalf(t, even, FP32ToFP16(mid), "midpoint above %#04x", h)
		require.Equal(t, h, FP32ToFP16(math.Nextafter32(mid, 0)))
		require.Equal(t, h+1, FP32ToFP16(math.Nextafter32(mid, 1e9)))
		require.Equal(t, h|0x8000, FP32ToFP16(-math.Nextafter32(mid, 0)))
	}
}

func TestBF16(t *testing.T) {
	for _, c := range []struct {
		f float32
		h uint16
	}{
		{1, 0x3f80},
		{-1, 0xbf80},
		{1 + 0x1p-8, 0x3f80}, // tie: to even
		{1 + 0x3p-8, 0x3f82}, // tie: to even
		{math.Nextafter32(1+0x1p-8, 2), 0x3f81},
		{0x1p-130, 0x0008}, // subnormals are kept
		{float32(math.Inf(1)), 0x7f80},
	} {
		assert.Equalf(t, c.h, FP32ToBF16(c.f), "FP32ToBF16(%g)", c.f)
		assert.Equal(t, uint32(c.h)<<16, math.Float32bits(BF16ToFP32(c.h)))
	}
	assert.Equal(t, uint16(0x7fc0), FP32ToBF16(math.Float32frombits(0x7f800001)), "signalling NaN becomes quiet")
	assert.Equal(t, float32(1.5), BF16ToFP32(0x3fc0))
}
