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
	// GELU: down(gelu(up(x))), the GPT MLP.
	GELU
)

// PosKind is how a decoder knows positions.
type PosKind int

const (
	// PosRoPE rotates Q and K (most models).
	PosRoPE PosKind = iota
	// PosLearned adds a learned position_embd row to each token's embedding (GPT-2,
	// StarCoder).
	PosLearned
	// PosALiBi biases attention scores by distance (BLOOM).
	PosALiBi
)

// DecoderSpec is what distinguishes one decoder-only transformer from another. Each
// architecture file is a spec plus, where it needs one, a named hook. Biases are used
// wherever the file has them; a fused attn_qkv is used when the file has one.
type DecoderSpec struct {
	Norm NormKind
	Pos  PosKind
	RoPE backend.RoPEMode
	// QKVBias: the Q, K and V projections must have biases (Qwen2).
	QKVBias bool
	// QKNorm: Q and K are RMS-normalised per head before RoPE (Qwen3).
	QKNorm bool
	FFN    FFNKind
	// FusedGateUp: ffn_up holds the gate rows, then the up rows (Phi-3).
	FusedGateUp bool
	// Parallel: attention and the MLP both read the layer's input, and both outputs
	// are added to it (GPT-J, Phi-2, Falcon, GPT-NeoX's parallel residual). The MLP
	// reads ffn_norm or attn_norm_2 of the input when the file has one, else the
	// attention norm's output.
	Parallel bool
	// EmbedNorm: token_embd_norm is applied to the embeddings (BLOOM).
	EmbedNorm bool
	// EmbedScale multiplies the token embeddings by sqrt(n_embd) (Gemma).
	EmbedScale bool
	// MaxALiBiBias is ALiBi's maximum bias (BLOOM: 8, not stored in the file).
	MaxALiBiBias float32
	// RoPEFactors: the file may hold rope_factors_long/short, chosen by context
	// size (Phi-3).
	RoPEFactors bool
	// PostNorms: the attention and MLP outputs are normalised by post_attention_norm
	// and post_ffw_norm before their residual adds (Gemma 2).
	PostNorms bool
	// QueryScale, when positive, multiplies Q after RoPE, and attention scores are not
	// scaled again (Gemma 2: 1/sqrt(query_pre_attn_scalar), so that the soft-cap sees
	// scaled scores, as llama.cpp's f_attention_scale does).
	QueryScale float32
	// AttnSoftCap, when positive, caps attention scores as cap·tanh(s/cap) before the
	// softmax (Gemma 2's attn_logit_softcapping).
	AttnSoftCap float32
	// FinalSoftCap, when positive, caps the logits as cap·tanh(l/cap) (Gemma 2's
	// final_logit_softcapping).
	FinalSoftCap float32
	// SWAPattern: with a sliding window, layer il uses it only when il % SWAPattern <
	// SWAPattern-1 (llama.cpp's set_swa_pattern; Gemma 2: 2, the even layers); 0: every
	// layer does.
	SWAPattern int
}

// decoder is the shared decoder-only transformer.
type decoder struct {
	cfg                  *Config
	spec                 DecoderSpec
	b                    backend.Backend
	embd                 backend.Tensor
	embdNorm, embdNormB  backend.Tensor
	posEmbd              backend.Tensor
	norm, normB          backend.Tensor
	output, outputB      backend.Tensor
	freqs                []float32 // per-pair RoPE frequency factors in use
	factorsLong, factors []float32 // Phi-3's long and short factors, when present
	layers               []layer
	bufs                 *buffers
	opts                 Options
	meta                 gguf.Metadata
}

type layer struct {
	attnNorm, attnNormB        backend.Tensor
	wq, wk, wv, wo             backend.Tensor
	bq, bk, bv, bo             backend.Tensor
	qNorm, kNorm               backend.Tensor
	ffnNorm, ffnNormB          backend.Tensor // or attn_norm_2 in parallel blocks
	attnPostNorm, ffnPostNorm  backend.Tensor // Gemma 2's post-norms
	gate, up, down             backend.Tensor
	gateB, upB, downB          backend.Tensor
	router                     backend.Tensor // mixture of experts
	gateExps, upExps, downExps backend.Tensor
}

// binder binds tensors and remembers the first error.
type binder struct {
	w   *weights
	b   backend.Backend
	err error
}

func (bd *binder) get(name string, dims ...int) backend.Tensor {
	if bd.err != nil {
		return nil
	}
	t, err := bd.w.get(name, dims...)
	bd.err = err
	return t
}

func (bd *binder) opt(name string, dims ...int) backend.Tensor {
	if bd.err != nil {
		return nil
	}
	t, err := bd.w.optional(name, dims...)
	bd.err = err
	return t
}

// rows views rows [a, b) of a fused weight or bias.
func (bd *binder) rows(t backend.Tensor, a, b int) backend.Tensor {
	if bd.err != nil || t == nil {
		return nil
	}
	v, err := bd.b.View(t, a, b)
	bd.err = err
	return v
}

// has reports whether the file holds a tensor.
func (bd *binder) has(name string) bool {
	_, ok := bd.w.f.Tensor(name)
	return ok
}

func newDecoder(f *gguf.File, cfg *Config, b backend.Backend, opts Options, spec DecoderSpec) (Model, error) {
	m := &decoder{cfg: cfg, spec: spec, b: b, opts: opts, meta: f.Meta}
	bd := &binder{w: newWeights(f, b), b: b}
	d, hd, hdv := cfg.NEmbd, cfg.HeadDim, cfg.HeadDimV
	qDim, kDim, vDim := cfg.NHead*hd, cfg.NHeadKV*hd, cfg.NHeadKV*hdv
	m.embd = bd.get("token_embd.weight", d, cfg.NVocab)
	if spec.EmbedNorm {
		m.embdNorm = bd.get("token_embd_norm.weight", d)
		m.embdNormB = bd.opt("token_embd_norm.bias", d)
	}
	if spec.Pos == PosLearned {
		m.posEmbd = bd.get("position_embd.weight", d, cfg.NCtxTrain)
	}
	m.norm = bd.get("output_norm.weight", d)
	m.normB = bd.opt("output_norm.bias", d)
	m.output = bd.opt("output.weight", d, cfg.NVocab)
	if m.output == nil && bd.err == nil {
		m.output = m.embd // tied embeddings
	}
	m.outputB = bd.opt("output.bias", cfg.NVocab)
	readFactors := func(name string) []float32 {
		t := bd.opt(name, cfg.RoPE.Dims/2)
		if t == nil || bd.err != nil {
			return nil
		}
		v := make([]float32, cfg.RoPE.Dims/2)
		bd.err = b.Read(t, v)
		return v
	}
	m.freqs = readFactors("rope_freqs.weight")
	if spec.RoPEFactors {
		m.factorsLong = readFactors("rope_factors_long.weight")
		m.factors = readFactors("rope_factors_short.weight")
	}
	m.layers = make([]layer, cfg.NLayer)
	for i := range m.layers {
		l := &m.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		l.attnNorm = bd.get(p+"attn_norm.weight", d)
		l.attnNormB = bd.opt(p+"attn_norm.bias", d)
		if bd.has(p + "attn_qkv.weight") {
			qkv := bd.get(p+"attn_qkv.weight", d, qDim+kDim+vDim)
			l.wq, l.wk, l.wv = bd.rows(qkv, 0, qDim), bd.rows(qkv, qDim, qDim+kDim), bd.rows(qkv, qDim+kDim, qDim+kDim+vDim)
			if bias := bd.opt(p+"attn_qkv.bias", qDim+kDim+vDim); bias != nil {
				l.bq, l.bk, l.bv = bd.rows(bias, 0, qDim), bd.rows(bias, qDim, qDim+kDim), bd.rows(bias, qDim+kDim, qDim+kDim+vDim)
			}
		} else {
			l.wq = bd.get(p+"attn_q.weight", d, qDim)
			l.wk = bd.get(p+"attn_k.weight", d, kDim)
			l.wv = bd.get(p+"attn_v.weight", d, vDim)
			bias := bd.opt
			if spec.QKVBias {
				bias = bd.get
			}
			l.bq = bias(p+"attn_q.bias", qDim)
			l.bk = bias(p+"attn_k.bias", kDim)
			l.bv = bias(p+"attn_v.bias", vDim)
		}
		l.wo = bd.get(p+"attn_output.weight", cfg.NHead*hdv, d)
		l.bo = bd.opt(p+"attn_output.bias", d)
		if spec.QKNorm {
			l.qNorm = bd.get(p+"attn_q_norm.weight", hd)
			l.kNorm = bd.get(p+"attn_k_norm.weight", hd)
		}
		switch {
		case !spec.Parallel:
			l.ffnNorm = bd.get(p+"ffn_norm.weight", d)
			l.ffnNormB = bd.opt(p+"ffn_norm.bias", d)
		case bd.has(p + "ffn_norm.weight"):
			l.ffnNorm = bd.get(p+"ffn_norm.weight", d)
			l.ffnNormB = bd.opt(p+"ffn_norm.bias", d)
		case bd.has(p + "attn_norm_2.weight"):
			l.ffnNorm = bd.get(p+"attn_norm_2.weight", d)
			l.ffnNormB = bd.opt(p+"attn_norm_2.bias", d)
		}
		if spec.PostNorms {
			l.attnPostNorm = bd.get(p+"post_attention_norm.weight", d)
			l.ffnPostNorm = bd.get(p+"post_ffw_norm.weight", d)
		}
		ff := cfg.NFF
		switch {
		case cfg.NExpert > 0:
			l.router = bd.get(p+"ffn_gate_inp.weight", d, cfg.NExpert)
			l.gateExps = bd.get(p+"ffn_gate_exps.weight", d, ff, cfg.NExpert)
			l.upExps = bd.get(p+"ffn_up_exps.weight", d, ff, cfg.NExpert)
			l.downExps = bd.get(p+"ffn_down_exps.weight", ff, d, cfg.NExpert)
		case spec.FFN == GELU:
			l.up = bd.get(p+"ffn_up.weight", d, ff)
			l.upB = bd.opt(p+"ffn_up.bias", ff)
		case spec.FusedGateUp:
			gateUp := bd.get(p+"ffn_up.weight", d, 2*ff)
			l.gate, l.up = bd.rows(gateUp, 0, ff), bd.rows(gateUp, ff, 2*ff)
		default:
			l.gate = bd.get(p+"ffn_gate.weight", d, ff)
			l.gateB = bd.opt(p+"ffn_gate.bias", ff)
			l.up = bd.get(p+"ffn_up.weight", d, ff)
			l.upB = bd.opt(p+"ffn_up.bias", ff)
		}
		if cfg.NExpert == 0 {
			l.down = bd.get(p+"ffn_down.weight", ff, d)
			l.downB = bd.opt(p+"ffn_down.bias", d)
		}
	}
	if bd.err != nil {
		return nil, bd.err
	}
	var err error
	if m.bufs, err = newBuffers(b, cfg, spec, opts.MaxBatch); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *decoder) Config() *Config { return m.cfg }

func (m *decoder) NewCache(ctx int, dt backend.DType) (*backend.KVCache, error) {
	if ctx <= 0 || ctx > maxCtx {
		return nil, fmt.Errorf("context size %d is outside 1..%d", ctx, maxCtx)
	}
	if m.spec.Pos == PosLearned && ctx > m.cfg.NCtxTrain {
		return nil, fmt.Errorf("context size %d exceeds the %d learned positions of this model", ctx, m.cfg.NCtxTrain)
	}
	if m.factors != nil || m.factorsLong != nil {
		// Phi-3 picks its RoPE factors once, from the context size (NUMERICS.md).
		m.freqs = m.factors
		if ctx > m.cfg.RoPE.OrigCtx && m.factorsLong != nil {
			m.freqs = m.factorsLong
		}
	}
	return m.b.NewKVCache(m.cfg.NLayer, ctx, m.cfg.NHeadKV*m.cfg.HeadDim, m.cfg.NHeadKV*m.cfg.HeadDimV, dt)
}

// buffers are the activations, allocated once for the largest batch and viewed per
// forward pass.
type buffers struct {
	x, h, q, k, v, attn, o, gate, up backend.Tensor
	h2, o2, pos                      backend.Tensor // parallel blocks, learned positions
	// Mixture of experts.
	router, weights, ids, ge, ue, de backend.Tensor
	out                              backend.Tensor // gathered output rows
	logits                           backend.Tensor
}

func newBuffers(b backend.Backend, cfg *Config, spec DecoderSpec, n int) (*buffers, error) {
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
	if spec.Parallel {
		bf.h2 = alloc("h2", f32, n, d)
		bf.o2 = alloc("o2", f32, n, d)
	}
	if spec.Pos == PosLearned {
		bf.pos = alloc("pos", f32, n, d)
	}
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
	return m.forward(ctx, tokens, nil, batch, cache, outputs, logits)
}

// forward is Forward with optional input embeddings (decoder_embd.go).
func (m *decoder) forward(ctx context.Context, tokens []int32, embd []float32, batch *backend.Batch, cache *backend.KVCache, outputs []int, logits []float32) error {
	n := len(tokens)
	if len(logits) != len(outputs)*m.cfg.NVocab {
		return fmt.Errorf("forward: logits buffer of %d values for %d outputs of %d", len(logits), len(outputs), m.cfg.NVocab)
	}
	for _, o := range outputs {
		if o < 0 || o >= n {
			return fmt.Errorf("forward: output row %d outside the batch of %d", o, n)
		}
	}
	x, err := m.hidden(ctx, tokens, embd, batch, cache)
	if err != nil {
		return err
	}
	return m.head(x, outputs, logits)
}

// hidden runs the embeddings and every layer and returns the residual stream
// [n, n_embd] (before the output norm).
func (m *decoder) hidden(ctx context.Context, tokens []int32, embd []float32, batch *backend.Batch, cache *backend.KVCache) (backend.Tensor, error) {
	cfg, b := m.cfg, m.b
	n := len(tokens)
	if n == 0 {
		return nil, fmt.Errorf("forward: no tokens")
	}
	if n > m.opts.MaxBatch {
		return nil, fmt.Errorf("forward: %d tokens exceed the batch size %d", n, m.opts.MaxBatch)
	}
	if batch.Len() != n {
		return nil, fmt.Errorf("forward: batch describes %d tokens, got %d", batch.Len(), n)
	}
	for i, t := range tokens {
		if (t < 0 || int(t) >= cfg.NVocab) && !(t == EmbdToken && embd != nil) {
			return nil, fmt.Errorf("forward: token %d at %d outside the vocabulary of %d", t, i, cfg.NVocab)
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
		return nil, vw.err
	}
	if err := m.embed(vw, x, tokens, embd, batch.Pos); err != nil {
		return nil, err
	}
	rope := cfg.RoPE
	rope.Mode = m.spec.RoPE
	rope.Freqs = m.freqs
	attnP := backend.AttnParams{
		Scale:   float32(1 / math.Sqrt(float64(cfg.HeadDim))),
		Causal:  true,
		SoftCap: m.spec.AttnSoftCap,
	}
	if m.spec.QueryScale > 0 {
		attnP.Scale = 1
	}
	if m.spec.Pos == PosALiBi {
		attnP.MaxALiBiBias = m.spec.MaxALiBiBias
	}
	h2, o2 := vw.rows(bf.h2), vw.rows(bf.o2)
	if vw.err != nil {
		return nil, vw.err
	}
	for il := range m.layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l := &m.layers[il]
		if err := m.normalize(h, x, l.attnNorm, l.attnNormB); err != nil {
			return nil, layerErr(il, "attn_norm", err)
		}
		if fused, err := m.linearShared(h, []backend.Tensor{q2, k2, v2}, []backend.Tensor{l.wq, l.wk, l.wv}, []backend.Tensor{l.bq, l.bk, l.bv}); fused {
			if err != nil {
				return nil, layerErr(il, "attn_qkv", err)
			}
		} else {
			if err := m.linear(q2, h, l.wq, l.bq); err != nil {
				return nil, layerErr(il, "attn_q", err)
			}
			if err := m.linear(k2, h, l.wk, l.bk); err != nil {
				return nil, layerErr(il, "attn_k", err)
			}
			if err := m.linear(v2, h, l.wv, l.bv); err != nil {
				return nil, layerErr(il, "attn_v", err)
			}
		}
		if m.spec.QKNorm {
			if err := b.RMSNorm(q, q, l.qNorm, cfg.NormEps); err != nil {
				return nil, layerErr(il, "attn_q_norm", err)
			}
			if err := b.RMSNorm(k, k, l.kNorm, cfg.NormEps); err != nil {
				return nil, layerErr(il, "attn_k_norm", err)
			}
		}
		if m.spec.Pos == PosRoPE {
			if err := b.RoPE(q, batch.Pos, rope); err != nil {
				return nil, layerErr(il, "rope q", err)
			}
			if err := b.RoPE(k, batch.Pos, rope); err != nil {
				return nil, layerErr(il, "rope k", err)
			}
		}
		if m.spec.QueryScale > 0 {
			if err := b.Scale(q, q, m.spec.QueryScale); err != nil {
				return nil, layerErr(il, "query scale", err)
			}
		}
		attnP.Window = m.window(il)
		if err := b.Attention(attn, q, k, v, cache, il, batch, attnP); err != nil {
			return nil, layerErr(il, "attention", err)
		}
		if err := m.linear(o, attn2, l.wo, l.bo); err != nil {
			return nil, layerErr(il, "attn_output", err)
		}
		if l.attnPostNorm != nil {
			if err := m.normalize(o, o, l.attnPostNorm, nil); err != nil {
				return nil, layerErr(il, "post_attention_norm", err)
			}
		}
		if m.spec.Parallel {
			// Both branches read the layer input; the MLP through its own norm if any.
			ffnIn := h
			if l.ffnNorm != nil {
				if err := m.normalize(h2, x, l.ffnNorm, l.ffnNormB); err != nil {
					return nil, layerErr(il, "ffn_norm", err)
				}
				ffnIn = h2
			}
			if err := m.feedForward(vw, o2, ffnIn, l); err != nil {
				return nil, layerErr(il, "ffn", err)
			}
			if err := b.Add(o, o, o2); err != nil {
				return nil, layerErr(il, "parallel sum", err)
			}
			if err := b.Add(x, x, o); err != nil {
				return nil, layerErr(il, "residual", err)
			}
			continue
		}
		if err := b.Add(x, x, o); err != nil {
			return nil, layerErr(il, "attn residual", err)
		}
		if err := m.normalize(h, x, l.ffnNorm, l.ffnNormB); err != nil {
			return nil, layerErr(il, "ffn_norm", err)
		}
		if err := m.feedForward(vw, o, h, l); err != nil {
			return nil, layerErr(il, "ffn", err)
		}
		if l.ffnPostNorm != nil {
			if err := m.normalize(o, o, l.ffnPostNorm, nil); err != nil {
				return nil, layerErr(il, "post_ffw_norm", err)
			}
		}
		if err := b.Add(x, x, o); err != nil {
			return nil, layerErr(il, "ffn residual", err)
		}
	}
	return x, nil
}

// window is layer il's sliding window: the model's, on the layers the spec's pattern
// picks; 0 (none) elsewhere.
func (m *decoder) window(il int) int {
	if n := m.spec.SWAPattern; n > 0 && il%n >= n-1 {
		return 0
	}
	return m.cfg.SlidingWindow
}

// embed looks up the token embeddings (or takes input embeddings: decoder_embd.go),
// then applies the spec's position embedding, scale and norm.
func (m *decoder) embed(vw *viewer, x backend.Tensor, tokens []int32, embd []float32, pos []int32) error {
	b, cfg := m.b, m.cfg
	if err := m.lookup(x, tokens, embd); err != nil {
		return err
	}
	if m.spec.Pos == PosLearned {
		pe := vw.rows(m.bufs.pos)
		if vw.err != nil {
			return vw.err
		}
		if err := b.GetRows(pe, m.posEmbd, pos); err != nil {
			return fmt.Errorf("position_embd: %w", err)
		}
		if err := b.Add(x, x, pe); err != nil {
			return err
		}
	}
	if m.spec.EmbedScale {
		if err := b.Scale(x, x, float32(math.Sqrt(float64(cfg.NEmbd)))); err != nil {
			return err
		}
	}
	if m.spec.EmbedNorm {
		if err := m.normalize(x, x, m.embdNorm, m.embdNormB); err != nil {
			return fmt.Errorf("token_embd_norm: %w", err)
		}
	}
	return nil
}

// feedForward is the MLP, or the mixture of experts.
func (m *decoder) feedForward(vw *viewer, out, h backend.Tensor, l *layer) error {
	if m.cfg.NExpert > 0 {
		return m.moe(vw, out, h, l)
	}
	return m.ffn(vw, out, h, l)
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

// matMulSharer is a backend that multiplies one input by several weights in one pass
// (the CPU backend's MatMulShared).
type matMulSharer interface {
	MatMulShared(dst []backend.Tensor, x backend.Tensor, w []backend.Tensor) error
}

// linearShared is linear for several weights that share the input x, in one backend
// call where the backend has one and x is a single token (decode: the threads meet
// once rather than once per weight; backends that wrap the CPU one, such as openblas,
// take over batches only). fused is false where it did nothing.
func (m *decoder) linearShared(x backend.Tensor, dst, w, bias []backend.Tensor) (fused bool, err error) {
	s, ok := m.b.(matMulSharer)
	if !ok || x.Shape().Rows() != 1 {
		return false, nil
	}
	if err := s.MatMulShared(dst, x, w); err != nil {
		return true, err
	}
	for i, bi := range bias {
		if bi != nil {
			if err := m.b.Add(dst[i], dst[i], bi); err != nil {
				return true, err
			}
		}
	}
	return true, nil
}

func (m *decoder) ffn(vw *viewer, out, h backend.Tensor, l *layer) error {
	b := m.b
	up := vw.rows(m.bufs.up)
	if vw.err != nil {
		return vw.err
	}
	if m.spec.FFN == GELU {
		if err := m.linear(up, h, l.up, l.upB); err != nil {
			return err
		}
		if err := b.GELU(up, up); err != nil {
			return err
		}
		return m.linear(out, up, l.down, l.downB)
	}
	gate := vw.rows(m.bufs.gate)
	if vw.err != nil {
		return vw.err
	}
	fused, err := m.linearShared(h, []backend.Tensor{up, gate}, []backend.Tensor{l.up, l.gate}, []backend.Tensor{l.upB, l.gateB})
	if !fused {
		if err = m.linear(up, h, l.up, l.upB); err == nil {
			err = m.linear(gate, h, l.gate, l.gateB)
		}
	}
	if err != nil {
		return err
	}
	if m.spec.FFN == GeGLU {
		err = b.GeGLU(gate, gate, up)
	} else {
		err = b.SwiGLU(gate, gate, up)
	}
	if err != nil {
		return err
	}
	return m.linear(out, gate, l.down, l.downB)
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
	if err := m.linear(lg, rows, m.output, m.outputB); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if err := b.Read(lg, logits); err != nil {
		return err
	}
	if c := m.spec.FinalSoftCap; c > 0 {
		// ggml_scale by 1/cap, ggml_tanh, ggml_scale by cap, on the host's copy.
		inv := 1 / c
		for i, v := range logits {
			logits[i] = float32(math.Tanh(float64(v*inv))) * c
		}
	}
	return nil
}
