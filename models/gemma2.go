package models

import (
	"fmt"
	"math"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

// Gemma 2: Gemma's block (embeddings × sqrt(n_embd), GeGLU, NeoX RoPE, tied output,
// norm weights used as stored) plus RMS post-norms on the attention and MLP outputs,
// soft-capped attention scores and logits, and a sliding window on the even layers.
// Defaults are llama.cpp's for files without the keys: a 4096 window, caps 50 and 30.
func init() {
	Register("gemma2", func(f *gguf.File, cfg *Config, b backend.Backend, opts Options) (Model, error) {
		r := &configReader{m: f.Meta, arch: cfg.Arch}
		attnCap := r.float("attn_logit_softcapping", 50)
		finalCap := r.float("final_logit_softcapping", 30)
		if r.err != nil {
			return nil, r.err
		}
		for _, c := range []struct {
			key string
			v   float64
		}{{"attn_logit_softcapping", attnCap}, {"final_logit_softcapping", finalCap}} {
			if c.v <= 0 {
				return nil, fmt.Errorf("key %s.%s: %g is not positive", cfg.Arch, c.key, c.v)
			}
		}
		if !f.Meta.Has(cfg.Arch + ".attention.sliding_window") {
			cfg.SlidingWindow = 4096
		}
		// Q is scaled by 1/sqrt(query_pre_attn_scalar), which the converter does not
		// store: the head size for 2B and 9B, n_embd/n_head for 27B (46 layers), as
		// llama.cpp decides it.
		qpas := cfg.HeadDim
		if cfg.NLayer == 46 {
			qpas = cfg.NEmbd / cfg.NHead
		}
		return newDecoder(f, cfg, b, opts, DecoderSpec{
			Norm: RMSNorm, RoPE: backend.RoPENeoX, FFN: GeGLU, EmbedScale: true,
			PostNorms:    true,
			QueryScale:   float32(1 / math.Sqrt(float64(qpas))),
			AttnSoftCap:  float32(attnCap),
			FinalSoftCap: float32(finalCap),
			SWAPattern:   2,
		})
	})
}
