package models

import (
	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

// Qwen2: LLaMA's block with Q/K/V biases and NeoX RoPE.
func init() {
	Register("qwen2", func(f *gguf.File, cfg *Config, b backend.Backend, opts Options) (Model, error) {
		return newDecoder(f, cfg, b, opts, DecoderSpec{Norm: RMSNorm, RoPE: backend.RoPENeoX, QKVBias: true, FFN: SwiGLU})
	})
}
