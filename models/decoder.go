package models

import (
	"context"
	"fmt"
	"math"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

// NormKind is the normalisation a decoder uses.
type NormKind int

const (
	// RMSNorm scales by the root mean square (LLaMA, Qwen, Gemma).
	RMSNorm NormKind = iota
	// LayerNorm subtracts the mean and divides by the standard deviation, with bias.
	LayerNorm
)

// FFNKind is the feed-forward block.
type FFNKind int

const (
	// SwiGLU: down(silu(gate(x)) · up(x)).
	SwiGLU FFNKind = iota
	// GeGLU: down(gelu(gate(x)) · up(x)) (Gemma).
	GeGLU
)

// DecoderSpec is what distinguishes one decoder-only transformer from another. Each
// architecture file is a spec plus, where it needs one, a named hook.
type DecoderSpec struct {
	Norm NormKind
	RoPE backend.RoPEMode
	// QKVBias: the Q, K and V projections have biases (Qwen2).
	QKVBias bool
	// QKNorm: Q and K are RMS-normalised per head before RoPE (Qwen3).
	QKNorm bool
	FFN    FFNKind
	// EmbedScale multiplies the token embeddings by sqrt(n_embd) (Gemma).
	EmbedScale bool
}

// decoder is the shared decoder-only transformer.
type decoder struct {
	cfg    *Config
	spec   DecoderSpec
	b      backend.Backend
	embd   backend.Tensor
	norm   backend.Tensor
	normB  backend.Tensor
	output backend.Tensor
	freqs  []float32
	layers []layer
	bufs   *buffers
	opts   Options
}

type layer struct {
	attnNorm, attnNormB backend.Tensor
	wq, wk, wv, wo      backend.Tensor
	bq, bk, bv          backend.Tensor
	qNorm, kNorm        backend.Tensor
	ffnNorm, ffnNormB   backend.Tensor
	gate, up, down      backend.Tensor
	// Mixture of experts.
	router                     backend.Tensor
	gateExps, upExps, downExps backend.Tensor
}

func newDecoder(f *gguf.File, cfg *Config, b backend.Backend, opts Options, spec DecoderSpec) (Model, error) {
	m := &decoder{cfg: cfg, spec: spec, b: b, opts: opts}
	w := newWeights(f, b)
	d, hd, hdv := cfg.NEmbd, cfg.HeadDim, cfg.HeadDimV
	qDim, kDim, vDim := cfg.NHead*hd, cfg.NHeadKV*hd, cfg.NHeadKV*hdv
	var err error
	get := func(name string, dims ...int) backend.Tensor {
		if err != nil {
			return nil
		}
		var t backend.Tensor
		t, err = w.get(name, dims...)
		return t
	}
	opt := func(name string, dims ...int) backend.Tensor {
		if err != nil {
			return nil
		}
		var t backend.Tensor
		t, err = w.optional(name, dims...)
		return t
	}
	m.embd = get("token_embd.weight", d, cfg.NVocab)
	m.norm = get("output_norm.weight", d)
	if spec.Norm == LayerNorm {
		m.normB = get("output_norm.bias", d)
	}
	m.output = opt("output.weight", d, cfg.NVocab)
	if m.output == nil && err == nil {
		m.output = m.embd // tied embeddings
	}
	if rf := opt("rope_freqs.weight", cfg.RoPE.Dims/2); rf != nil {
		m.freqs = make([]float32, cfg.RoPE.Dims/2)
		err = b.Read(rf, m.freqs)
	}
	m.layers = make([]layer, cfg.NLayer)
	for i := range m.layers {
		l := &m.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		l.attnNorm = get(p+"attn_norm.weight", d)
		l.wq = get(p+"attn_q.weight", d, qDim)
		l.wk = get(p+"attn_k.weight", d, kDim)
		l.wv = get(p+"attn_v.weight", d, vDim)
		l.wo = get(p+"attn_output.weight", cfg.NHead*hdv, d)
		if spec.QKVBias {
			l.bq = get(p+"attn_q.bias", qDim)
			l.bk = get(p+"attn_k.bias", kDim)
			l.bv = get(p+"attn_v.bias", vDim)
		}
		if spec.QKNorm {
			l.qNorm = get(p+"attn_q_norm.weight", hd)
			l.kNorm = get(p+"attn_k_norm.weight", hd)
		}
		if spec.Norm == LayerNorm {
			l.attnNormB = get(p+"attn_norm.bias", d)
			l.ffnNormB = get(p+"ffn_norm.bias", d)
		}
		l.ffnNorm = get(p+"ffn_norm.weight", d)
		if cfg.NExpert > 0 {
			l.router = get(p+"ffn_gate_inp.weight", d, cfg.NExpert)
			l.gateExps = get(p+"ffn_gate_exps.weight", d, cfg.NFF, cfg.NExpert)
			l.upExps = get(p+"ffn_up_exps.weight", d, cfg.NFF, cfg.NExpert)
			l.downExps = get(p+"ffn_down_exps.weight", cfg.NFF, d, cfg.NExpert)
		} else {
			l.gate = get(p+"ffn_gate.weight", d, cfg.NFF)
			l.up = get(p+"ffn_up.weight", d, cfg.NFF)
			l.down = get(p+"ffn_down.weight", cfg.NFF, d)
		}
	}
	if err != nil {
		return nil, err
	}
	if m.bufs, err = newBuffers(b, cfg, opts.MaxBatch); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *decoder) Config() *Config { return m.cfg }

func (m *decoder) NewCache(ctx int, dt backend.DType) (*backend.KVCache, error) {
	if ctx <= 0 || ctx > maxCtx {
		return nil, fmt.Errorf("context size %d is outside 1..%d", ctx, maxCtx)
	}
	return m.b.NewKVCache(m.cfg.NLayer, ctx, m.cfg.NHeadKV*m.cfg.HeadDim, m.cfg.NHeadKV*m.cfg.HeadDimV, dt)
}

// buffers are the activations, allocated once for the largest batch and viewed per
// forward pass.
type buffers struct {
	x, h, q, k, v, attn, o, gate, up backend.Tensor
	// Mixture of experts.
	router, weights, ids, ge, ue, de backend.Tensor
	out                              backend.Tensor // gathered output rows
	logits                           backend.Tensor
}

func newBuffers(b backend.Backend, cfg *Config, n int) (*buffers, error) {
	bf := &buffers{}
	var err error
	alloc := func(name string, dt backend.DType, shape ...int) backend.Tensor {
		if err != nil {
			return nil
		}
		var t backend.Tensor
		t, err = b.Alloc(name, dt, shape...)
		return t
	}
	f32 := gguf.TypeF32
	d := cfg.NEmbd
	bf.x = alloc("x", f32, n, d)
	bf.h = alloc("h", f32, n, d)
	bf.q = alloc("q", f32, n, cfg.NHead, cfg.HeadDim)
	bf.k = alloc("k", f32, n, cfg.NHeadKV, cfg.HeadDim)
	bf.v = alloc("v", f32, n, cfg.NHeadKV, cfg.HeadDimV)
	bf.attn = alloc("attn", f32, n, cfg.NHead, cfg.HeadDimV)
	bf.o = alloc("o", f32, n, d)
	if cfg.NExpert > 0 {
		k := cfg.NExpertUsed
		bf.router = alloc("router", f32, n, cfg.NExpert)
		bf.weights = alloc("expert_weights", f32, n, k)
		bf.ids = alloc("expert_ids", gguf.TypeI32, n, k)
		bf.ge = alloc("expert_gate", f32, n, k, cfg.NFF)
		bf.ue = alloc("expert_up", f32, n, k, cfg.NFF)
		bf.de = alloc("expert_down", f32, n, k, d)
	} else {
		bf.gate = alloc("gate", f32, n, cfg.NFF)
		bf.up = alloc("up", f32, n, cfg.NFF)
	}
	bf.out = alloc("out", f32, n, d)
	return bf, err
}

// view is a helper that stops at the first error.
type viewer struct {
	b   backend.Backend
	n   int
	err error
}

func (v *viewer) rows(t backend.Tensor) backend.Tensor {
	if v.err != nil || t == nil {
		return nil
	}
	var out backend.Tensor
	out, v.err = v.b.View(t, 0, v.n)
	return out
}

func (v *viewer) reshape(t backend.Tensor, shape ...int) backend.Tensor {
	if v.err != nil {
		return nil
	}
	var out backend.Tensor
	out, v.err = v.b.Reshape(t, shape...)
	return out
}

func (m *decoder) Forward(ctx context.Context, tokens []int32, batch *backend.Batch, cache *backend.KVCache, outputs []int, logits []float32) error {
	cfg, b := m.cfg, m.b
	n := len(tokens)
	if n == 0 {
		return fmt.Errorf("forward: no tokens")
	}
	if n > m.opts.MaxBatch {
		return fmt.Errorf("forward: %d tokens exceed the batch size %d", n, m.opts.MaxBatch)
	}
	if batch.Len() != n {
		return fmt.Errorf("forward: batch describes %d tokens, got %d", batch.Len(), n)
	}
	if len(logits) != len(outputs)*cfg.NVocab {
		return fmt.Errorf("forward: logits buffer of %d values for %d outputs of %d", len(logits), len(outputs), cfg.NVocab)
	}
	for _, o := range outputs {
		if o < 0 || o >= n {
			return fmt.Errorf("forward: output row %d outside the batch of %d", o, n)
		}
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= cfg.NVocab {
			return fmt.Errorf("forward: token %d at %d outside the vocabulary of %d", t, i, cfg.NVocab)
		}
	}
	vw := &viewer{b: b, n: n}
	bf := m.bufs
	x, h, o := vw.rows(bf.x), vw.rows(bf.h), vw.rows(bf.o)
	q, k, v, attn := vw.rows(bf.q), vw.rows(bf.k), vw.rows(bf.v), vw.rows(bf.attn)
	q2 := vw.reshape(q, n, cfg.NHead*cfg.HeadDim)
	k2 := vw.reshape(k, n, cfg.NHeadKV*cfg.HeadDim)
	v2 := vw.reshape(v, n, cfg.NHeadKV*cfg.HeadDimV)
	attn2 := vw.reshape(attn, n, cfg.NHead*cfg.HeadDimV)
	if vw.err != nil {
		return vw.err
	}
	if err := b.GetRows(x, m.embd, tokens); err != nil {
		return err
	}
	if m.spec.EmbedScale {
		if err := b.Scale(x, x, float32(math.Sqrt(float64(cfg.NEmbd)))); err != nil {
			return err
		}
	}
	rope := cfg.RoPE
	rope.Mode = m.spec.RoPE
	rope.Freqs = m.freqs
	attnP := backend.AttnParams{
		Scale:  float32(1 / math.Sqrt(float64(cfg.HeadDim))),
		Causal: true,
		Window: cfg.SlidingWindow,
	}
	for il := range m.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		l := &m.layers[il]
		if err := m.normalize(h, x, l.attnNorm, l.attnNormB); err != nil {
			return layerErr(il, "attn_norm", err)
		}
		if err := m.linear(q2, h, l.wq, l.bq); err != nil {
			return layerErr(il, "attn_q", err)
		}
		if err := m.linear(k2, h, l.wk, l.bk); err != nil {
			return layerErr(il, "attn_k", err)
		}
		if err := m.linear(v2, h, l.wv, l.bv); err != nil {
			return layerErr(il, "attn_v", err)
		}
		if m.spec.QKNorm {
			if err := b.RMSNorm(q, q, l.qNorm, cfg.NormEps); err != nil {
				return layerErr(il, "attn_q_norm", err)
			}
			if err := b.RMSNorm(k, k, l.kNorm, cfg.NormEps); err != nil {
				return layerErr(il, "attn_k_norm", err)
			}
		}
		if err := b.RoPE(q, batch.Pos, rope); err != nil {
			return layerErr(il, "rope q", err)
		}
		if err := b.RoPE(k, batch.Pos, rope); err != nil {
			return layerErr(il, "rope k", err)
		}
		if err := b.Attention(attn, q, k, v, cache, il, batch, attnP); err != nil {
			return layerErr(il, "attention", err)
		}
		if err := b.MatMul(o, attn2, l.wo); err != nil {
			return layerErr(il, "attn_output", err)
		}
		if err := b.Add(x, x, o); err != nil {
			return layerErr(il, "attn residual", err)
		}
		if err := m.normalize(h, x, l.ffnNorm, l.ffnNormB); err != nil {
			return layerErr(il, "ffn_norm", err)
		}
		var err error
		if cfg.NExpert > 0 {
			err = m.moe(vw, o, h, l)
		} else {
			err = m.ffn(vw, o, h, l)
		}
		if err != nil {
			return layerErr(il, "ffn", err)
		}
		if err := b.Add(x, x, o); err != nil {
			return layerErr(il, "ffn residual", err)
		}
	}
	return m.head(x, outputs, logits)
}

func layerErr(il int, what string, err error) error {
	return fmt.Errorf("layer %d %s: %w", il, what, err)
}

// normalize applies the spec's norm with weight w and bias bias.
func (m *decoder) normalize(dst, x, w, bias backend.Tensor) error {
	if m.spec.Norm == LayerNorm {
		return m.b.LayerNorm(dst, x, w, bias, m.cfg.NormEps)
	}
	return m.b.RMSNorm(dst, x, w, m.cfg.NormEps)
}

// linear is dst = x·wᵀ (+ bias).
func (m *decoder) linear(dst, x, w, bias backend.Tensor) error {
	if err := m.b.MatMul(dst, x, w); err != nil {
		return err
	}
	if bias != nil {
		return m.b.Add(dst, dst, bias)
	}
	return nil
}

func (m *decoder) ffn(vw *viewer, out, h backend.Tensor, l *layer) error {
	gate, up := vw.rows(m.bufs.gate), vw.rows(m.bufs.up)
	if vw.err != nil {
		return vw.err
	}
	if err := m.b.MatMul(gate, h, l.gate); err != nil {
		return err
	}
	if err := m.b.MatMul(up, h, l.up); err != nil {
		return err
	}
	var err error
	if m.spec.FFN == GeGLU {
		err = m.b.GeGLU(gate, gate, up)
	} else {
		err = m.b.SwiGLU(gate, gate, up)
	}
	if err != nil {
		return err
	}
	return m.b.MatMul(out, gate, l.down)
}

// moe routes each token to its top experts: softmax over the router's logits, top-k,
// weights renormalised to sum to 1, SwiGLU experts, outputs summed by weight.
func (m *decoder) moe(vw *viewer, out, h backend.Tensor, l *layer) error {
	b, bf, n := m.b, m.bufs, vw.n
	router, weights, ids := vw.rows(bf.router), vw.rows(bf.weights), vw.rows(bf.ids)
	ge, ue, de := vw.rows(bf.ge), vw.rows(bf.ue), vw.rows(bf.de)
	h3 := vw.reshape(h, n, 1, m.cfg.NEmbd)
	if vw.err != nil {
		return vw.err
	}
	if err := b.MatMul(router, h, l.router); err != nil {
		return err
	}
	if err := b.Softmax(router, router); err != nil {
		return err
	}
	if err := b.TopK(weights, ids, router, m.cfg.NExpertUsed, true); err != nil {
		return err
	}
	if err := b.MatMulID(ge, h3, l.gateExps, ids); err != nil {
		return err
	}
	if err := b.MatMulID(ue, h3, l.upExps, ids); err != nil {
		return err
	}
	if err := b.SwiGLU(ge, ge, ue); err != nil {
		return err
	}
	if err := b.MatMulID(de, ge, l.downExps, ids); err != nil {
		return err
	}
	return b.WeightedSum(out, de, weights)
}

// head normalises the requested rows and projects them onto the vocabulary.
func (m *decoder) head(x backend.Tensor, outputs []int, logits []float32) error {
	if len(outputs) == 0 {
		return nil
	}
	b, cfg := m.b, m.cfg
	ids := make([]int32, len(outputs))
	for i, o := range outputs {
		ids[i] = int32(o)
	}
	rows, err := b.View(m.bufs.out, 0, len(outputs))
	if err != nil {
		return err
	}
	if err := b.GetRows(rows, x, ids); err != nil {
		return err
	}
	if err := m.normalize(rows, rows, m.norm, m.normB); err != nil {
		return fmt.Errorf("output_norm: %w", err)
	}
	if m.bufs.logits == nil || m.bufs.logits.Shape()[0] < len(outputs) {
		if m.bufs.logits, err = b.Alloc("logits", gguf.TypeF32, len(outputs), cfg.NVocab); err != nil {
			return err
		}
	}
	lg, err := b.View(m.bufs.logits, 0, len(outputs))
	if err != nil {
		return err
	}
	if err := b.MatMul(lg, rows, m.output); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return b.Read(lg, logits)
}
