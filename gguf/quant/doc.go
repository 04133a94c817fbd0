// Package quant encodes and decodes ggml tensor types: dequantization to float32 for
// every common type, and llama.cpp's reference quantizers (no importance matrix),
// reproduced bit for bit, together with the per-tensor type rules of llama-quantize and
// a streaming file quantizer built on them.
//
// Matching llama.cpp's bytes depends on how each float32 operation rounds. llama.cpp's
// quantizers are built without fused multiply-add, while Go may fuse a*b+c into one FMA
// (it does on GOAMD64=v3 and arm64). Every product that feeds an addition or subtraction
// is therefore written float32(a*b), which forces it to be rounded on its own; see
// NUMERICS.md. The activation quantizers the CPU backend uses before a quantized matmul
// (QuantizeActivationsQ8_0 and friends) follow llama.cpp's AVX2 kernels, which differ
// from the reference weight quantizers in their rounding.
package quant
