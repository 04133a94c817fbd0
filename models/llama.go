package models

import (
	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

// LLaMA and LLaMA 2/3, Mistral (sliding window from attention.sliding_window) and
// Mixtral-style mixtures of experts (expert_count > 0): RMSNorm, SwiGLU, RoPE on
// adjacent pairs (llama.cpp's converter permutes Q and K into that layout).
func init() {
	Register("llama", func(f *gguf.File, cfg *Config, b backend.Backend, opts Options) (Model, error) {
		return newDecoder(f, cfg, b, opts, DecoderSpec{Norm: RMSNorm, RoPE: backend.RoPENormal, FFN: SwiGLU})
	})
}
