package kernels

import (
	"encoding/binary"
	"math"
)

// f16 converts an IEEE binary16 value to float32 exactly. Moving the exponent and
// mantissa into a float32 and multiplying by 2^112 rebiases the exponent and handles
// subnormal halves too; only infinities and NaNs need their exponent set by hand.
func f16(h uint16) float32 {
	bits := uint32(h&0x7fff) << 13
	var v float32
	if h&0x7c00 == 0x7c00 {
		v = math.Float32frombits(bits | 0x7f800000)
	} else {
		v = math.Float32frombits(bits) * 0x1p112
	}
	return math.Float32frombits(math.Float32bits(v) | uint32(h&0x8000)<<16)
}

// bf16 converts a bfloat16 value to float32 exactly.
func bf16(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// le16h reads a little-endian fp16 at b[0:2] as float32.
func le16h(b []byte) float32 { return f16(binary.LittleEndian.Uint16(b)) }

func le32f(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }
