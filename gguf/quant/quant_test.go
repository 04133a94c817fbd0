package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Hand-built blocks: the expected values follow from the block layouts in ggml-common.h,
// worked out by hand, not by running the dequantizers.

func dequant(t *testing.T, typ gguf.Type, b []byte) []float32 {
	t.Helper()
	y := make([]float32, typ.BlockSize()*len(b)/typ.BlockBytes())
	require.NoError(t, Dequantize(typ, b, y))
	return y
}

func TestDequantizeLegacyBlocks(t *testing.T) {
	// Q4_0: d = 0.5, qs[j] = j | (15-j)<<4 → x[j] = (j-8)/2, x[j+16] = (7-j)/2.
	b := []byte{0x00, 0x38}
	for j := 0; j < 16; j++ {
		b = append(b, byte(j|(15-j)<<4))
	}
	y := dequant(t, gguf.TypeQ4_0, b)
	for j := 0; j < 16; j++ {
		assert.Equal(t, float32(j-8)/2, y[j])
		assert.Equal(t, float32(7-j)/2, y[j+16])
	}
	// Q4_1: d = 0.5, m = -1 → x[j] = j/2 - 1, x[j+16] = (15-j)/2 - 1.
	b = []byte{0x00, 0x38, 0x00, 0xbc}
	for j := 0; j < 16; j++ {
		b = append(b, byte(j|(15-j)<<4))
	}
	y = dequant(t, gguf.TypeQ4_1, b)
	for j := 0; j < 16; j++ {
		assert.Equal(t, float32(j)/2-1, y[j])
		assert.Equal(t, float32(15-j)/2-1, y[j+16])
	}
	// Q5_0: d = 0.25, qh = 0xffff0000 (fifth bit set for elements 16..31), qs[j] = j | j<<4
	// → x[j] = (j-16)/4, x[j+16] = (j+16-16)/4.
	b = []byte{0x00, 0x34, 0x00, 0x00, 0xff, 0xff}
	for j := 0; j < 16; j++ {
		b = append(b, byte(j|j<<4))
	}
	y = dequant(t, gguf.TypeQ5_0, b)
	for j := 0; j < 16; j++ {
		assert.Equal(t, float32(j-16)/4, y[j])
		assert.Equal(t, float32(j)/4, y[j+16])
	}
	// Q5_1: d = 1, m = 0.5, qh = 0x0000ffff (elements 0..15) → x[j] = j+16.5, x[j+16] = j+0.5.
	b = []byte{0x00, 0x3c, 0x00, 0x38, 0xff, 0xff, 0x00, 0x00}
	for j := 0; j < 16; j++ {
		b = append(b, byte(j|j<<4))
	}
	y = dequant(t, gguf.TypeQ5_1, b)
	for j := 0; j < 16; j++ {
		assert.Equal(t, float32(j)+16.5, y[j])
		assert.Equal(t, float32(j)+0.5, y[j+16])
	}
	// Q8_0: d = 0.125, q[j] = j-16 → x[j] = (j-16)/8.
	b = []byte{0x00, 0x30}
	for j := 0; j < 32; j++ {
		b = append(b, byte(int8(j-16)))
	}
	y = dequant(t, gguf.TypeQ8_0, b)
	for j := 0; j < 32; j++ {
		assert.Equal(t, float32(j-16)/8, y[j])
	}
	// Q8_1: d = 2, s = 7 (unused), q[j] = -j → x[j] = -2j.
	b = []byte{0x00, 0x40, 0x00, 0x47}
	for j := 0; j < 32; j++ {
		b = append(b, byte(int8(-j)))
	}
	y = dequant(t, gguf.TypeQ8_1, b)
	for j := 0; j < 32; j++ {
		assert.Equal(t, float32(-2*j), y[j])
	}
	// Plain types.
	assert.Equal(t, []float32{1, -2}, dequant(t, gguf.TypeF16, []byte{0x00, 0x3c, 0x00, 0xc0}))
	assert.Equal(t, []float32{1.5}, dequant(t, gguf.TypeBF16, []byte{0xc0, 0x3f}))
	assert.Equal(t, []float32{-0.25}, dequant(t, gguf.TypeF32, []byte{0x00, 0x00, 0x80, 0xbe}))
}

func TestDequantizeKBlocks(t *testing.T) {
	// Q2_K: scales[i] = i | 1<<4 (scale i, min 1), qs all 0xe4 (2-bit fields 0,1,2,3 from
	// the low bits up), d = 1, dmin = 0.25. Element k belongs to sub-block k/16 and takes
	// the field (k%128)/32: x = (k/16)*q - 0.25.
	b := make([]byte, 84)
	for i := 0; i < 16; i++ {
		b[i] = byte(i | 1<<4)
	}
	for i := 16; i < 80; i++ {
		b[i] = 0xe4
	}
	put16(b[80:], 0x3c00)
	put16(b[82:], 0x3400)
	y := dequant(t, gguf.TypeQ2_K, b)
	for k := range y {
		assert.Equalf(t, float32(k/16)*float32(k%128/32)-0.25, y[k], "Q2_K element %d", k)
	}

	// Q3_K: every 6-bit scale is 33 (low nibble 1 in bytes 0..7 for both halves, high
	// bits 2 in bytes 8..11) so each sub-block scale is 33-32 = 1; d = 0.5; qs all 0xe4;
	// hmask bytes 0x0f: the high bit is set for the first 128 elements only, the others
	// lose 4. x = 0.5 * (q - (k >= 128 ? 4 : 0)).
	b = make([]byte, 110)
	for i := 0; i < 32; i++ {
		b[i] = 0x0f
	}
	for i := 32; i < 96; i++ {
		b[i] = 0xe4
	}
	for i := 96; i < 104; i++ {
		b[i] = 0x11
	}
	for i := 104; i < 108; i++ {
		b[i] = 0xaa
	}
	put16(b[108:], 0x3800)
	y = dequant(t, gguf.TypeQ3_K, b)
	for k := range y {
		q := float32(k % 128 / 32)
		if k >= 128 {
			q -= 4
		}
		assert.Equalf(t, 0.5*q, y[k], "Q3_K element %d", k)
	}

	// Q4_K: d = 1, dmin = 0.5; sub-block scales 1..7 and 40 (sub-block 7: low nibble 8 in
	// byte 11, high bits 2 in byte 3's top two bits), all minimums 2; qs all 0x31. The
	// 64-element chunk c uses sub-block 2c (nibble 1) then 2c+1 (nibble 3):
	// x = scale*q - 0.5*2.
	b = make([]byte, 144)
	put16(b[0:], 0x3c00)
	put16(b[2:], 0x3800)
	copy(b[4:], []byte{1, 2, 3, 4 | 2<<6, 2, 2, 2, 2, 0x25, 0x26, 0x27, 0x28})
	for i := 16; i < 144; i++ {
		b[i] = 0x31
	}
	scaleK := []float32{1, 2, 3, 4, 5, 6, 7, 40}
	y = dequant(t, gguf.TypeQ4_K, b)
	for k := range y {
		c, second := k/64, k%64 >= 32
		want := scaleK[2*c]*1 - 1
		if second {
			want = scaleK[2*c+1]*3 - 1
		}
		assert.Equalf(t, want, y[k], "Q4_K element %d", k)
	}

	// Q5_K: the same scales and nibbles, qh bytes 0x01: the fifth bit (16) is set for the
	// first 32 elements only.
	b5 := make([]byte, 176)
	copy(b5, b[:16])
	for i := 16; i < 48; i++ {
		b5[i] = 0x01
	}
	for i := 48; i < 176; i++ {
		b5[i] = 0x31
	}
	y = dequant(t, gguf.TypeQ5_K, b5)
	for k := range y {
		c, second := k/64, k%64 >= 32
		want := scaleK[2*c]*1 - 1
		if k < 32 {
			want = scaleK[0]*17 - 1
		}
		if second {
			want = scaleK[2*c+1]*3 - 1
		}
		assert.Equalf(t, want, y[k], "Q5_K element %d", k)
	}

	// Q6_K: d = 0.5, scales[i] = i-8, ql all 0x21, qh all 0xe4. In each 128-element half
	// h, element l (l < 32) of the four 32-runs has the 6-bit value
	// run 0: 1|0<<4 = 1, run 1: 1|1<<4 = 17, run 2: 2|2<<4 = 34, run 3: 2|3<<4 = 50,
	// minus 32, and run r uses scale 8h + l/16 + 2r.
	b = make([]byte, 210)
	for i := 0; i < 128; i++ {
		b[i] = 0x21
	}
	for i := 128; i < 192; i++ {
		b[i] = 0xe4
	}
	for i := 0; i < 16; i++ {
		b[192+i] = byte(int8(i - 8))
	}
	put16(b[208:], 0x3800)
	y = dequant(t, gguf.TypeQ6_K, b)
	runValue := []float32{1 - 32, 17 - 32, 34 - 32, 50 - 32}
	for k := range y {
		h, r, l := k/128, k%128/32, k%32
		sc := float32(8*h + l/16 + 2*r - 8)
		assert.Equalf(t, 0.5*sc*runValue[r], y[k], "Q6_K element %d", k)
	}

	// Q8_K: d = 0.25 (float32), q[j] = j-128.
	b = make([]byte, 292)
	binary.LittleEndian.PutUint32(b, math.Float32bits(0.25))
	for j := 0; j < 256; j++ {
		b[4+j] = byte(int8(j - 128))
	}
	y = dequant(t, gguf.TypeQ8_K, b)
	for j := range y {
		assert.Equal(t, float32(j-128)/4, y[j])
	}
}

func TestDequantizeIQ4Blocks(t *testing.T) {
	kv := []float32{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}
	// IQ4_NL: d = 1, qs[j] = j | (15-j)<<4.
	b := []byte{0x00, 0x3c}
	for j := 0; j < 16; j++ {
		b = append(b, byte(j|(15-j)<<4))
	}
	y := dequant(t, gguf.TypeIQ4_NL, b)
	for j := 0; j < 16; j++ {
		assert.Equal(t, kv[j], y[j])
		assert.Equal(t, kv[15-j], y[j+16])
	}
	// IQ4_XS: d = 0.5; block ib has 6-bit scale 28+ib (so ib-4 after the -32 offset):
	// low nibbles packed two per byte in scales_l, high 2 bits in scales_h; qs all 0x98
	// (index 8 → 1 in the first 16 of each block, index 9 → 13 in the last 16).
	b = make([]byte, 136)
	put16(b, 0x3800)
	var sh uint16
	for ib := 0; ib < 8; ib++ {
		ls := 28 + ib
		b[4+ib/2] |= byte(ls&0xf) << (4 * (ib % 2))
		sh |= uint16(ls>>4) << (2 * ib)
	}
	put16(b[2:], sh)
	for i := 8; i < 136; i++ {
		b[i] = 0x98
	}
	y = dequant(t, gguf.TypeIQ4_XS, b)
	for k := range y {
		ib := k / 32
		want := 0.5 * float32(ib-4) * 1
		if k%32 >= 16 {
			want = 0.5 * float32(ib-4) * 13
		}
		assert.Equalf(t, want, y[k], "IQ4_XS element %d", k)
	}
}

var quantTypes = []gguf.Type{
	gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0,
	gguf.TypeQ5_1, gguf.TypeQ8_0, gguf.TypeQ8_1, gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K,
	gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeQ8_K, gguf.TypeIQ4_NL, gguf.TypeIQ4_XS,
}

// TestRoundTripErrorBounds is ggml's tests/test-quantize-fns.cpp "quantization error"
// check: data 0.1 + 2cos(i), error sqrt(Σ(x-x')²)/n, with its per-type thresholds.
func TestRoundTripErrorBounds(t *testing.T) {
	const n = 32 * 128
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(0.1 + 2*math.Cos(float64(i)))
	}
	for _, typ := range quantTypes {
		q := make([]byte, n/typ.BlockSize()*typ.BlockBytes())
		require.NoError(t, Quantize(typ, x, q))
		y := make([]float32, n)
		require.NoError(t, Dequantize(typ, q, y))
		var sum float64
		for i := range x {
			d := float64(x[i] - y[i])
			sum += d * d
		}
		e := math.Sqrt(sum) / n
		limit := 0.002
		switch typ {
		case gguf.TypeQ2_K:
			limit = 0.0075
		case gguf.TypeQ3_K:
			limit = 0.0040
		}
		assert.Lessf(t, e, limit, "%s: error %g", typ, e)
		t.Logf("%-7s error %.6f (limit %g)", typ, e, limit)
	}
}

// TestRoundTripRandom checks every quantizer on Gaussian rows, zeros and constant rows:
// the result decodes to values within a few steps of the input.
func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 4 * 256
	inputs := map[string][]float32{"zeros": make([]float32, n), "const": make([]float32, n), "gauss": make([]float32, n)}
	for i := 0; i < n; i++ {
		inputs["const"][i] = -0.75
		inputs["gauss"][i] = float32(r.NormFloat64())
	}
	for name, x := range inputs {
		for _, typ := range quantTypes {
			q := make([]byte, n/typ.BlockSize()*typ.BlockBytes())
			require.NoError(t, Quantize(typ, x, q))
			y := make([]float32, n)
			require.NoError(t, Dequantize(typ, q, y))
			var num, den float64
			for i := range x {
				d := float64(x[i] - y[i])
				num += d * d
				den += float64(x[i]) * float64(x[i])
			}
			if den == 0 {
				assert.Zerof(t, num, "%s %s", name, typ)
				continue
			}
			assert.Lessf(t, num/den, 0.1, "%s %s: NMSE %g", name, typ, num/den)
		}
	}
}

func TestErrors(t *testing.T) {
	x := make([]float32, 64)
	assert.ErrorContains(t, Quantize(gguf.TypeQ4_0, x[:33], make([]byte, 18)), "whole number")
	assert.ErrorContains(t, Quantize(gguf.TypeQ4_0, x, make([]byte, 35)), "take 36 bytes")
	assert.ErrorContains(t, Dequantize(gguf.TypeQ4_K, make([]byte, 144), x), "whole number")
	assert.ErrorContains(t, Dequantize(gguf.TypeQ8_0, make([]byte, 10), x[:32]), "take 34 bytes")
	assert.EqualError(t, Dequantize(gguf.TypeIQ2_XXS, make([]byte, 66), make([]float32, 256)), "type IQ2_XXS is not supported yet")
	assert.EqualError(t, Quantize(gguf.TypeIQ3_S, make([]float32, 256), make([]byte, 110)), "type IQ3_S is not supported yet")
	assert.Error(t, Quantize(gguf.Type(4), x, nil))
	assert.Error(t, Dequantize(gguf.Type(1000), nil, nil))
	assert.NoError(t, Quantize(gguf.TypeQ4_K, nil, nil))
	assert.True(t, CanQuantize(gguf.TypeQ6_K))
	assert.False(t, CanQuantize(gguf.TypeTQ1_0))
	assert.True(t, CanDequantize(gguf.TypeIQ4_XS))
	assert.False(t, CanDequantize(gguf.TypeMXFP4))
	// Hostile blocks decode without panicking.
	r := rand.New(rand.NewPCG(3, 4))
	for _, typ := range quantTypes {
		b := make([]byte, 4*typ.BlockBytes())
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		assert.NoError(t, Dequantize(typ, b, make([]float32, 4*typ.BlockSize())))
	}
	// Non-finite input quantizes without panicking.
	bad := make([]float32, 256)
	bad[3], bad[7], bad[9] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
	for _, typ := range quantTypes {
		assert.NoError(t, Quantize(typ, bad, make([]byte, 256/typ.BlockSize()*typ.BlockBytes())))
	}
}

func TestQuantizeReferenceBlocks(t *testing.T) {
	// Q8_0 reference: amax 127 gives d = 1; roundf rounds halves away from zero.
	x := make([]float32, 32)
	x[0], x[1], x[2], x[3] = 127, 2.5, -3.5, 0.5
	b := make([]byte, 34)
	require.NoError(t, Quantize(gguf.TypeQ8_0, x, b))
	assert.Equal(t, []byte{0x00, 0x3c, 127, 3, byte(0x100 - 4), 1}, b[:6])
	// Q4_0: the signed extreme -8 gives d = -8/-8 = 1 and q = trunc(x + 8.5) capped at 15:
	// -8 → 0, 3 → 11, 7 → 15, 0 → 8; element j in the low nibble of byte j, j+16 high.
	x = make([]float32, 32)
	x[0], x[1], x[16] = -8, 3, 7
	b = make([]byte, 18)
	require.NoError(t, Quantize(gguf.TypeQ4_0, x, b))
	assert.Equal(t, []byte{0x00, 0x3c, 0xf0, 0x8b, 0x88}, b[:5])
}

func TestActivationQuantizers(t *testing.T) {
	// Q8_0/Q8_1 activations: amax 127, so 127/amax = 1 and halves round to even,
	// where the reference weight quantizer above gives 3 and 1 for 2.5 and 0.5.
	x := make([]float32, 64)
	x[0], x[1], x[2], x[3] = 127, 2.5, -3.5, 0.5
	b := make([]byte, 68)
	require.NoError(t, QuantizeActivationsQ8_0(x, b))
	assert.Equal(t, []byte{0x00, 0x3c, 127, 2, byte(0x100 - 4), 0, 0}, b[:7])
	assert.Equal(t, []byte{0, 0}, b[34:36], "a zero block has d = 0")
	b = make([]byte, 72)
	require.NoError(t, QuantizeActivationsQ8_1(x, b))
	// s = fp16(1 * (127 + 2 - 4 + 0)) = fp16(125) = 0x57d0.
	assert.Equal(t, []byte{0x00, 0x3c, 0xd0, 0x57, 127, 2, byte(0x100 - 4), 0}, b[:8])

	// Q8_K: the largest magnitude is -254, iscale = -127/-254 = 0.5, d = 2:
	// q = -127, 2 (2.5 to even), 4 (3.5 to even), 127; bsums[0] = 6.
	x = make([]float32, 256)
	x[0], x[1], x[2], x[3] = -254, 5, 7, 254
	b = make([]byte, 292)
	require.NoError(t, QuantizeActivationsQ8_K(x, b))
	assert.Equal(t, float32(2), math.Float32frombits(binary.LittleEndian.Uint32(b)))
	assert.Equal(t, []byte{byte(0x100 - 127), 2, 4, 127, 0}, b[4:9])
	assert.Equal(t, uint16(6), le16(b[260:]))
	assert.Equal(t, uint16(0), le16(b[262:]))

	assert.Error(t, QuantizeActivationsQ8_0(x[:31], b))
	assert.Error(t, QuantizeActivationsQ8_1(x[:32], make([]byte, 34)))
	assert.Error(t, QuantizeActivationsQ8_K(x[:255], b))
}

// TestActivationQ8_0VersusReference: the activation quantizer scales by 127/amax, the
// reference by 1/(amax/127); on random data they must agree but for rare one-level
// differences, and both decode to within half a step.
func TestActivationQ8_0VersusReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, 32*1024)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	act := make([]byte, len(x)/32*34)
	ref := make([]byte, len(act))
	require.NoError(t, QuantizeActivationsQ8_0(x, act))
	require.NoError(t, Quantize(gguf.TypeQ8_0, x, ref))
	diff := 0
	for i := range act {
		if act[i] != ref[i] {
			d := int(int8(act[i])) - int(int8(ref[i]))
			require.True(t, i%34 >= 2 && (d == 1 || d == -1), "byte %d", i)
			diff++
		}
	}
	assert.Less(t, diff, len(x)/100)
}
