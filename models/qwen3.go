package models

import (
	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

// Qwen3: no Q/K/V biases; Q and K are RMS-normalised per head before RoPE.
func init() {
	Register("qwen3", func(f *gguf.File, cfg *Config, b backend.Backend, opts Options) (Model, error) {
		return newDecoder(f, cfg, b, opts, DecoderSpec{Norm: RMSNorm, RoPE: backend.RoPENeoX, QKNorm: true, FFN: SwiGLU})
	})
}
