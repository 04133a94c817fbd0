package quant

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/golem-llm/golem/gguf"
)

// codec holds a type's block functions. Both work on whole blocks: src and dst hold the
// same number of blocks, which the exported functions check before calling them.
type codec struct {
	dequantize func(src []byte, dst []float32)
	quantize   func(src []float32, dst []byte) // llama.cpp's reference quantizer
}

// codecs is indexed by gguf.Type; a nil function is a type golem cannot (yet) encode or
// decode.
var codecs [gguf.TypeMXFP4 + 1]codec

func init() {
	codecs[gguf.TypeF32] = codec{dequantize: dequantizeF32, quantize: quantizeF32}
	codecs[gguf.TypeF16] = codec{dequantize: dequantizeF16, quantize: quantizeF16}
	codecs[gguf.TypeBF16] = codec{dequantize: dequantizeBF16, quantize: quantizeBF16}
	codecs[gguf.TypeQ4_0] = codec{dequantize: dequantizeQ4_0, quantize: quantizeQ4_0}
	codecs[gguf.TypeQ4_1] = codec{dequantize: dequantizeQ4_1, quantize: quantizeQ4_1}
	codecs[gguf.TypeQ5_0] = codec{dequantize: dequantizeQ5_0, quantize: quantizeQ5_0}
	codecs[gguf.TypeQ5_1] = codec{dequantize: dequantizeQ5_1, quantize: quantizeQ5_1}
	codecs[gguf.TypeQ8_0] = codec{dequantize: dequantizeQ8_0, quantize: quantizeQ8_0}
	codecs[gguf.TypeQ8_1] = codec{dequantize: dequantizeQ8_1, quantize: quantizeQ8_1}
	codecs[gguf.TypeQ2_K] = codec{dequantize: dequantizeQ2_K, quantize: quantizeQ2_K}
	codecs[gguf.TypeQ3_K] = codec{dequantize: dequantizeQ3_K, quantize: quantizeQ3_K}
	codecs[gguf.TypeQ4_K] = codec{dequantize: dequantizeQ4_K, quantize: quantizeQ4_K}
	codecs[gguf.TypeQ5_K] = codec{dequantize: dequantizeQ5_K, quantize: quantizeQ5_K}
	codecs[gguf.TypeQ6_K] = codec{dequantize: dequantizeQ6_K, quantize: quantizeQ6_K}
	codecs[gguf.TypeQ8_K] = codec{dequantize: dequantizeQ8_K, quantize: quantizeQ8_K}
	codecs[gguf.TypeIQ4_NL] = codec{dequantize: dequantizeIQ4_NL, quantize: quantizeIQ4_NL}
	codecs[gguf.TypeIQ4_XS] = codec{dequantize: dequantizeIQ4_XS, quantize: quantizeIQ4_XS}
}

func lookup(t gguf.Type) (codec, error) {
	if !t.Valid() {
		return codec{}, fmt.Errorf("unknown tensor type id %d", uint32(t))
	}
	if int(t) < len(codecs) {
		return codecs[t], nil
	}
	return codec{}, nil
}

func notSupported(t gguf.Type) error { return fmt.Errorf("type %s is not supported yet", t) }

// CanDequantize reports whether Dequantize decodes type t.
func CanDequantize(t gguf.Type) bool {
	c, err := lookup(t)
	return err == nil && c.dequantize != nil
}

// CanQuantize reports whether Quantize encodes type t.
func CanQuantize(t gguf.Type) bool {
	c, err := lookup(t)
	return err == nil && c.quantize != nil
}

// blocks checks that n elements and nbytes bytes hold the same whole number of blocks of
// type t, and returns it.
func blocks(t gguf.Type, n, nbytes int) (int, error) {
	bs, bb := t.BlockSize(), t.BlockBytes()
	if n%bs != 0 {
		return 0, fmt.Errorf("%s: %d elements are not a whole number of %d-element blocks", t, n, bs)
	}
	nb := n / bs
	if nbytes != nb*bb {
		return 0, fmt.Errorf("%s: %d elements take %d bytes, have %d", t, n, nb*bb, nbytes)
	}
	return nb, nil
}

// Dequantize decodes src, whole blocks of type t, into dst: len(dst) elements, which must
// be a multiple of the block size and match len(src).
func Dequantize(t gguf.Type, src []byte, dst []float32) error {
	c, err := lookup(t)
	if err != nil {
		return err
	}
	if c.dequantize == nil {
		return notSupported(t)
	}
	if _, err := blocks(t, len(dst), len(src)); err != nil {
		return err
	}
	c.dequantize(src, dst)
	return nil
}

// Quantize encodes src into dst as type t with llama.cpp's reference quantizer (no
// importance matrix), byte for byte as llama-quantize writes it. len(src) must be a
// multiple of the block size and dst exactly the size of that many blocks. Rows are
// independent, so any run of whole rows may be quantized in one call.
func Quantize(t gguf.Type, src []float32, dst []byte) error {
	c, err := lookup(t)
	if err != nil {
		return err
	}
	if c.quantize == nil {
		return notSupported(t)
	}
	if _, err := blocks(t, len(src), len(dst)); err != nil {
		return err
	}
	c.quantize(src, dst)
	return nil
}

// nearestInt is ggml's nearest_int: adding 1.5*2^23 makes the float32 adder round to an
// integer (half to even), read back from the mantissa. Its argument must already be
// rounded to float32 (write nearestInt(float32(a*b))) so that no FMA forms around it.
func nearestInt(f float32) int {
	i := int32(math.Float32bits(f + 12582912))
	return int((i & 0x007fffff) - 0x00400000)
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

func le16(b []byte) uint16     { return binary.LittleEndian.Uint16(b) }
func put16(b []byte, v uint16) { binary.LittleEndian.PutUint16(b, v) }

// half reads a little-endian fp16 as float32.
func half(b []byte) float32 { return FP16ToFP32(le16(b)) }

func dequantizeF32(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func quantizeF32(src []float32, dst []byte) {
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

func dequantizeF16(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = FP16ToFP32(le16(src[2*i:]))
	}
}

func quantizeF16(src []float32, dst []byte) {
	for i, v := range src {
		put16(dst[2*i:], FP32ToFP16(v))
	}
}

func dequantizeBF16(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = BF16ToFP32(le16(src[2*i:]))
	}
}

func quantizeBF16(src []float32, dst []byte) {
	for i, v := range src {
		put16(dst[2*i:], FP32ToBF16(v))
	}
}
