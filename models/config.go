package models

import (
	"errors"
	"fmt"
	"math"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

// Config holds a model's hyper-parameters, read from GGUF metadata and validated before
// anything is allocated.
type Config struct {
	Arch      string
	Name      string
	NVocab    int
	NCtxTrain int // context_length: the context the model was trained at
	NEmbd     int
	NLayer    int
	NFF       int
	NHead     int
	NHeadKV   int
	HeadDim   int // key_length, else NEmbd/NHead
	HeadDimV  int // value_length, else HeadDim
	NormEps   float32
	RoPE      backend.RoPEParams
	// SlidingWindow, when positive, limits attention to that many recent positions.
	SlidingWindow int
	NExpert       int
	NExpertUsed   int
}

// Limits that reject absurd values before they size anything. They are far above any
// published model.
const (
	maxLayers  = 1 << 12
	maxEmbd    = 1 << 17
	maxFF      = 1 << 20
	maxHeads   = 1 << 12
	maxHeadDim = 1 << 12
	maxCtx     = 1 << 24
	maxVocab   = 1 << 22
	maxExperts = 1 << 10
)

// configReader reads keys with errors that name them.
type configReader struct {
	m    gguf.Metadata
	arch string
	err  error
}

func (r *configReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// int reads an arch-prefixed integer key in [lo, hi]; def < 0 makes it required.
func (r *configReader) int(suffix string, lo, hi int, def int) int {
	key := r.arch + "." + suffix
	v, err := r.m.Uint(key)
	if errors.Is(err, gguf.ErrKeyNotFound) && def >= 0 {
		return def
	}
	if err != nil {
		// Some models store per-layer arrays (head counts, feed-forward lengths);
		// golem runs models whose layers are all alike.
		if vals, aerr := r.m.Int32s(key); aerr == nil && len(vals) > 0 {
			for _, x := range vals[1:] {
				if x != vals[0] {
					r.fail(fmt.Errorf("key %s: per-layer values differ (%d vs %d): not supported", key, vals[0], x))
					return 0
				}
			}
			v, err = uint64(max(vals[0], 0)), nil
		}
	}
	if err != nil {
		if errors.Is(err, gguf.ErrKeyNotFound) {
			r.fail(fmt.Errorf("required key %s is missing", key))
		} else {
			r.fail(err)
		}
		return 0
	}
	if v < uint64(lo) || v > uint64(hi) {
		r.fail(fmt.Errorf("key %s: %d is outside %d..%d", key, v, lo, hi))
		return 0
	}
	return int(v)
}

// float reads an arch-prefixed float key; def is used when it is absent (NaN: required).
func (r *configReader) float(suffix string, def float64) float64 {
	key := r.arch + "." + suffix
	v, err := r.m.Float(key)
	if errors.Is(err, gguf.ErrKeyNotFound) && !math.IsNaN(def) {
		return def
	}
	if err != nil {
		if errors.Is(err, gguf.ErrKeyNotFound) {
			r.fail(fmt.Errorf("required key %s is missing", key))
		} else {
			r.fail(err)
		}
		return 0
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		r.fail(fmt.Errorf("key %s: %g is not a finite number", key, v))
	}
	return v
}

// ReadConfig reads and validates the hyper-parameters every decoder needs.
func ReadConfig(m gguf.Metadata) (*Config, error) {
	arch := m.Architecture()
	if arch == "" {
		return nil, fmt.Errorf("key general.architecture is missing")
	}
	r := &configReader{m: m, arch: arch}
	c := &Config{Arch: arch}
	c.Name, _ = m.String("general.name")
	c.NEmbd = r.int("embedding_length", 1, maxEmbd, -1)
	c.NLayer = r.int("block_count", 1, maxLayers, -1)
	c.NCtxTrain = r.int("context_length", 1, maxCtx, -1)
	c.NFF = r.int("feed_forward_length", 0, maxFF, 0)
	// Attention-free (state-space) models store head_count 0.
	ssm := m.Has(arch + ".ssm.state_size")
	minHeads := 1
	if ssm {
		minHeads = 0
	}
	c.NHead = r.int("attention.head_count", minHeads, maxHeads, -1)
	c.NHeadKV = r.int("attention.head_count_kv", minHeads, maxHeads, c.NHead)
	if r.err == nil && c.NHead == 0 && c.NHeadKV != 0 {
		r.fail(fmt.Errorf("key %s.attention.head_count_kv: %d for a model without attention heads", arch, c.NHeadKV))
	}
	if r.err == nil && c.NHead > 0 && (c.NHeadKV == 0 || c.NHead%c.NHeadKV != 0) {
		r.fail(fmt.Errorf("key %s.attention.head_count_kv: %d does not divide head_count %d", arch, c.NHeadKV, c.NHead))
	}
	defHead := 0
	if c.NHead > 0 {
		defHead = c.NEmbd / c.NHead
	}
	c.HeadDim = r.int("attention.key_length", 1, maxHeadDim, defHead)
	c.HeadDimV = r.int("attention.value_length", 1, maxHeadDim, c.HeadDim)
	if r.err == nil && c.HeadDim == 0 && c.NHead > 0 {
		r.fail(fmt.Errorf("head size is zero: %s.embedding_length %d < head_count %d", arch, c.NEmbd, c.NHead))
	}
	c.NExpert = r.int("expert_count", 0, maxExperts, 0)
	c.NExpertUsed = r.int("expert_used_count", 0, maxExperts, 0)
	if r.err == nil && (c.NExpert > 0) != (c.NExpertUsed > 0) || c.NExpertUsed > c.NExpert {
		r.fail(fmt.Errorf("keys %s.expert_count %d and expert_used_count %d disagree", arch, c.NExpert, c.NExpertUsed))
	}
	c.SlidingWindow = r.int("attention.sliding_window", 0, maxCtx, 0)

	eps := r.float("attention.layer_norm_rms_epsilon", math.NaN())
	if r.err != nil && m.Has(arch+".attention.layer_norm_epsilon") {
		r.err = nil
		eps = r.float("attention.layer_norm_epsilon", math.NaN())
	}
	if r.err == nil && (eps <= 0 || eps > 1) {
		r.fail(fmt.Errorf("norm epsilon %g is outside (0, 1]", eps))
	}
	c.NormEps = float32(eps)

	if tokens, ok := m.Get("tokenizer.ggml.tokens"); ok {
		c.NVocab = tokens.Len()
	}
	c.NVocab = r.int("vocab_size", 1, maxVocab, c.NVocab)
	if r.err == nil && c.NVocab == 0 {
		r.fail(fmt.Errorf("the vocabulary is empty (no tokenizer.ggml.tokens and no %s.vocab_size)", arch))
	}
	c.RoPE = r.rope(c)
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

// rope reads RoPE's keys as llama.cpp does (NUMERICS.md).
func (r *configReader) rope(c *Config) backend.RoPEParams {
	p := backend.RoPEParams{
		Dims:       r.int("rope.dimension_count", 2, maxHeadDim, c.HeadDim),
		Base:       float32(r.float("rope.freq_base", 10000)),
		FreqScale:  1,
		AttnFactor: float32(r.float("rope.scaling.attn_factor", 1)),
		BetaFast:   32,
		BetaSlow:   1,
	}
	if r.err != nil {
		return p
	}
	if p.Dims > c.HeadDim || p.Dims%2 != 0 {
		r.fail(fmt.Errorf("key %s.rope.dimension_count: %d rotated dims for head size %d", r.arch, p.Dims, c.HeadDim))
	}
	if p.Base <= 0 {
		r.fail(fmt.Errorf("key %s.rope.freq_base: %g is not positive", r.arch, p.Base))
	}
	typ := "linear"
	if s, err := r.m.String(r.arch + ".rope.scaling.type"); err == nil {
		typ = s
	}
	factor := r.float("rope.scaling.factor", 0)
	if factor == 0 {
		factor = r.float("rope.scale_linear", 0)
	}
	p.OrigCtx = r.int("rope.scaling.original_context_length", 1, maxCtx, c.NCtxTrain)
	switch typ {
	case "none":
	case "linear", "yarn":
		if factor != 0 {
			if factor < 0 {
				r.fail(fmt.Errorf("key %s.rope.scaling.factor: %g is negative", r.arch, factor))
				break
			}
			p.FreqScale = float32(1 / factor)
		}
		if typ == "yarn" {
			p.ExtFactor = 1
		}
	default:
		r.fail(fmt.Errorf("key %s.rope.scaling.type: %q is not supported (none, linear, yarn)", r.arch, typ))
	}
	return p
}
