//go:build openblas

package openblas

import (
	"encoding/binary"
	"math"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// dequantize decodes whole rows of type t into dst. The common prompt-processing types
// have unrolled decoders here (dequantizing is the fixed cost of every BLAS product,
// paid once per weight element however large the batch); they give the same values as
// quant.Dequantize, which decodes the rest.
func dequantize(t gguf.Type, src []byte, dst []float32) error {
	switch t {
	case gguf.TypeF32:
		if len(src) != 4*len(dst) {
			break
		}
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
		return nil
	case gguf.TypeF16:
		if len(src) != 2*len(dst) {
			break
		}
		dequantF16(src, dst)
		return nil
	case gguf.TypeQ4_0:
		if len(dst)%32 != 0 || len(src) != len(dst)/32*18 {
			break
		}
		dequantQ4_0(src, dst)
		return nil
	case gguf.TypeQ8_0:
		if len(dst)%32 != 0 || len(src) != len(dst)/32*34 {
			break
		}
		dequantQ8_0(src, dst)
		return nil
	}
	return quant.Dequantize(t, src, dst)
}

// halfToFloat converts IEEE binary16 to float32 exactly: the half's exponent and
// mantissa bits, moved into a float32's, make a value 2^-112 times the half's (normal
// and subnormal halves alike, the latter as float32 subnormals), which one exact
// multiplication rescales; infinities and NaNs keep an all-ones exponent.
func halfToFloat(h uint16) float32 {
	o := uint32(h&0x7fff) << 13
	sign := uint32(h&0x8000) << 16
	if o >= 0x7c00<<13 {
		return math.Float32frombits(sign | 0x7f800000 | o)
	}
	return math.Float32frombits(sign | math.Float32bits(math.Float32frombits(o)*0x1p112))
}

func dequantF16(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = halfToFloat(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// q4Pairs[b] are the two signed 4-bit values (low nibble, high nibble) of byte b.
var q4Pairs = func() (t [256][2]float32) {
	for b := range 256 {
		t[b] = [2]float32{float32(b&15) - 8, float32(b>>4) - 8}
	}
	return
}()

func dequantQ4_0(src []byte, dst []float32) {
	for i := range len(dst) / 32 {
		b := (*[18]byte)(src[i*18:])
		y := (*[32]float32)(dst[i*32:])
		d := halfToFloat(uint16(b[0]) | uint16(b[1])<<8)
		for j := range 16 {
			p := &q4Pairs[b[2+j]]
			y[j] = p[0] * d
			y[j+16] = p[1] * d
		}
	}
}

func dequantQ8_0(src []byte, dst []float32) {
	for i := range len(dst) / 32 {
		b := (*[34]byte)(src[i*34:])
		y := (*[32]float32)(dst[i*32:])
		d := halfToFloat(uint16(b[0]) | uint16(b[1])<<8)
		for j := range 32 {
			y[j] = float32(int8(b[2+j])) * d
		}
	}
}
