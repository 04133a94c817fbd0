package models

import (
	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

// The GPT family and Phi, each as its differences from the shared decoder block.
// Biases are bound wherever the file has them; fused attn_qkv tensors are split into
// Q, K and V by row views.
func init() {
	spec := func(s DecoderSpec) Builder {
		return func(f *gguf.File, cfg *Config, b backend.Backend, opts Options) (Model, error) {
			return newDecoder(f, cfg, b, opts, s)
		}
	}
	// GPT-2: learned positions, LayerNorm, fused QKV, GELU MLP, biases everywhere.
	Register("gpt2", spec(DecoderSpec{Norm: LayerNorm, Pos: PosLearned, FFN: GELU}))
	// StarCoder: GPT-2's block with multi-query attention (head_count_kv 1).
	Register("starcoder", spec(DecoderSpec{Norm: LayerNorm, Pos: PosLearned, FFN: GELU}))
	// StarCoder2: GQA, NeoX RoPE, LayerNorm with bias, GELU MLP, sliding window.
	Register("starcoder2", spec(DecoderSpec{Norm: LayerNorm, RoPE: backend.RoPENeoX, FFN: GELU}))
	// GPT-J: one LayerNorm feeding attention and the MLP in parallel, partial rotary on
	// adjacent pairs, output bias.
	Register("gptj", spec(DecoderSpec{Norm: LayerNorm, RoPE: backend.RoPENormal, FFN: GELU, Parallel: true}))
	// Phi-2: GPT-J's block with partial NeoX rotary.
	Register("phi2", spec(DecoderSpec{Norm: LayerNorm, RoPE: backend.RoPENeoX, FFN: GELU, Parallel: true}))
	// Falcon: parallel attention and MLP (7B: one input norm; 40B: attn_norm_2 feeds the
	// MLP), MQA/GQA, NeoX RoPE.
	Register("falcon", spec(DecoderSpec{Norm: LayerNorm, RoPE: backend.RoPENeoX, FFN: GELU, Parallel: true}))
	// BLOOM: ALiBi (max bias 8, not stored in the file), token_embd_norm.
	Register("bloom", spec(DecoderSpec{Norm: LayerNorm, Pos: PosALiBi, MaxALiBiBias: 8, FFN: GELU, EmbedNorm: true}))
	// Phi-3: fused QKV, fused gate+up (ffn_up: gate rows first), RMSNorm, NeoX RoPE,
	// long/short RoPE factors chosen by context size.
	Register("phi3", spec(DecoderSpec{Norm: RMSNorm, RoPE: backend.RoPENeoX, FFN: SwiGLU, FusedGateUp: true, RoPEFactors: true}))
	// GPT-NeoX: partial NeoX rotary, LayerNorm, fused QKV, GELU; the parallel residual
	// when gptneox.use_parallel_residual says so (the default).
	Register("gptneox", func(f *gguf.File, cfg *Config, b backend.Backend, opts Options) (Model, error) {
		parallel := true
		if v, err := f.Meta.Bool("gptneox.use_parallel_residual"); err == nil {
			parallel = v
		}
		return newDecoder(f, cfg, b, opts, DecoderSpec{Norm: LayerNorm, RoPE: backend.RoPENeoX, FFN: GELU, Parallel: parallel})
	})
}
