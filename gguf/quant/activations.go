package quant

import (
	"fmt"

	"github.com/golem-llm/golem/gguf"
)

// The activation quantizers produce what llama.cpp's CPU backend (AVX2 build) feeds its
// quantized dot products: a row of activations in Q8_0 (for Q4_0/Q5_0/Q8_0 weights),
// Q8_1 (for Q4_1/Q5_1) or Q8_K (for the K-quants). They are not the reference weight
// quantizers: Q8_0/Q8_1 multiply by 127/amax and round half to even, where the
// reference multiplies by 1/d and rounds half away from zero.

func activationBlocks(t gguf.Type, src []float32, dst []byte) error {
	if _, err := blocks(t, len(src), len(dst)); err != nil {
		return fmt.Errorf("activations: %w", err)
	}
	return nil
}

// roundEven rounds x half to even and saturates to int8, as the AVX2 round and packs
// do. Activations scaled by 127/amax stay far inside nearestInt's exact range; NaN and
// infinities (|x| beyond it) are mapped by the saturation alone.
func roundEven(x float32) int8 {
	if !(abs32(x) < 1<<22) {
		if x > 0 {
			return 127
		}
		return -128
	}
	return int8(max(-128, min(127, nearestInt(x))))
}

// actQ8Block quantizes 32 activations into q and returns d (not yet rounded to fp16)
// and the sum of the quants.
func actQ8Block(x []float32, q []byte) (float32, int) {
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	d := amax / 127
	var id float32
	if amax != 0 {
		id = 127 / amax
	}
	sum := 0
	for j, v := range x {
		qv := roundEven(float32(v * id))
		q[j] = uint8(qv)
		sum += int(qv)
	}
	return d, sum
}

// QuantizeActivationsQ8_0 quantizes activations to Q8_0 blocks as llama.cpp's AVX2
// quantize_row_q8_0 does: d = fp16(amax/127), q = round_half_even(x * (127/amax)).
func QuantizeActivationsQ8_0(src []float32, dst []byte) error {
	if err := activationBlocks(gguf.TypeQ8_0, src, dst); err != nil {
		return err
	}
	for i := 0; i < len(src)/qk; i++ {
		y := dst[34*i : 34*i+34]
		d, _ := actQ8Block(src[qk*i:qk*i+qk], y[2:])
		put16(y, FP32ToFP16(d))
	}
	return nil
}

// QuantizeActivationsQ8_1 is QuantizeActivationsQ8_0 plus the block sum
// s = fp16(d * sum(q)), with d before its rounding to fp16.
func QuantizeActivationsQ8_1(src []float32, dst []byte) error {
	if err := activationBlocks(gguf.TypeQ8_1, src, dst); err != nil {
		return err
	}
	for i := 0; i < len(src)/qk; i++ {
		y := dst[36*i : 36*i+36]
		d, sum := actQ8Block(src[qk*i:qk*i+qk], y[4:])
		put16(y, FP32ToFP16(d))
		put16(y[2:], FP32ToFP16(d*float32(sum)))
	}
	return nil
}

// QuantizeActivationsQ8_K quantizes activations to Q8_K blocks. On x86 llama.cpp's CPU
// backend uses the reference quantize_row_q8_K_ref here (compiled in ggml-base, without
// FMA): m is the element of largest magnitude (the first on ties), iscale = -127/m,
// q = min(127, round_half_even(float32(iscale*x))), d = 1/iscale as float32, and the
// sums of each 16 quants. A block of zeros has d = 0 and zero quants and sums.
func QuantizeActivationsQ8_K(src []float32, dst []byte) error {
	if err := activationBlocks(gguf.TypeQ8_K, src, dst); err != nil {
		return err
	}
	quantizeQ8_K(src, dst)
	return nil
}
