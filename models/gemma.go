package models

import (
	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

// Gemma: embeddings scaled by sqrt(n_embd), GeGLU, NeoX RoPE, tied output. Its GGUF
// norm weights already include Gemma's +1, so they are used as stored.
func init() {
	Register("gemma", func(f *gguf.File, cfg *Config, b backend.Backend, opts Options) (Model, error) {
		return newDecoder(f, cfg, b, opts, DecoderSpec{Norm: RMSNorm, RoPE: backend.RoPENeoX, FFN: GeGLU, EmbedScale: true})
	})
}
