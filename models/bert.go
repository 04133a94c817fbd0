package models

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

func init() { Register("bert", newBERT) }

// bert is the BERT encoder: token, position and token-type embeddings summed and
// layer-normalised, then post-norm layers (bidirectional attention with biases, add,
// LayerNorm; GELU feed-forward with biases, add, LayerNorm). It has no language-model
// head: it embeds (Embedder) and does not generate.
type bert struct {
	cfg     *Config
	b       backend.Backend
	opts    Options
	pooling Pooling

	embd, pos    backend.Tensor
	type0        backend.Tensor // token type 0's embedding (every token is type 0)
	normW, normB backend.Tensor
	layers       []bertLayer
	bufs         bertBuffers
	cache        *backend.KVCache // attention storage for one Embed call
}

type bertLayer struct {
	wq, wk, wv, wo     backend.Tensor
	bq, bk, bv, bo     backend.Tensor
	attnNormW, attnNor backend.Tensor
	up, upB            backend.Tensor
	down, downB        backend.Tensor
	outNormW, outNormB backend.Tensor
}

type bertBuffers struct {
	x, h, q, k, v, attn, o, up, out backend.Tensor
}

// ErrNoLMHead is returned by Forward of models that only embed.
var ErrNoLMHead = errors.New("this model is an encoder without a language-model head: it embeds (golem embed) and does not generate")

func newBERT(f *gguf.File, cfg *Config, b backend.Backend, opts Options) (Model, error) {
	m := &bert{cfg: cfg, b: b, opts: opts, pooling: PoolNone}
	r := &configReader{m: f.Meta, arch: cfg.Arch}
	m.pooling = Pooling(r.int("pooling_type", 0, 3, int(PoolNone)))
	if r.err != nil {
		return nil, r.err
	}
	if cfg.NHeadKV != cfg.NHead || cfg.HeadDim*cfg.NHead != cfg.NEmbd || cfg.HeadDimV != cfg.HeadDim {
		return nil, fmt.Errorf("bert: %d heads of %d (%d KV heads) do not make n_embd %d", cfg.NHead, cfg.HeadDim, cfg.NHeadKV, cfg.NEmbd)
	}
	if cfg.NFF == 0 {
		return nil, fmt.Errorf("bert: required key %s.feed_forward_length is missing or 0", cfg.Arch)
	}
	w := newWeights(f, b)
	d, ff := cfg.NEmbd, cfg.NFF
	var err error
	get := func(name string, dims ...int) backend.Tensor {
		if err != nil {
			return nil
		}
		var t backend.Tensor
		t, err = w.get(name, dims...)
		return t
	}
	m.embd = get("token_embd.weight", d, cfg.NVocab)
	if ti, ok := f.Tensor("token_types.weight"); ok && err == nil {
		nTypes := 1
		if len(ti.Dims) > 1 {
			nTypes = int(ti.Dims[1])
		}
		if types := get("token_types.weight", d, nTypes); types != nil {
			m.type0, err = firstRow(b, types, d)
		}
	}
	m.pos = get("position_embd.weight", d, cfg.NCtxTrain)
	m.normW = get("token_embd_norm.weight", d)
	m.normB = get("token_embd_norm.bias", d)
	m.layers = make([]bertLayer, cfg.NLayer)
	for i := range m.layers {
		l := &m.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		l.wq, l.bq = get(p+"attn_q.weight", d, d), get(p+"attn_q.bias", d)
		l.wk, l.bk = get(p+"attn_k.weight", d, d), get(p+"attn_k.bias", d)
		l.wv, l.bv = get(p+"attn_v.weight", d, d), get(p+"attn_v.bias", d)
		l.wo, l.bo = get(p+"attn_output.weight", d, d), get(p+"attn_output.bias", d)
		l.attnNormW, l.attnNor = get(p+"attn_output_norm.weight", d), get(p+"attn_output_norm.bias", d)
		l.up, l.upB = get(p+"ffn_up.weight", d, ff), get(p+"ffn_up.bias", ff)
		l.down, l.downB = get(p+"ffn_down.weight", ff, d), get(p+"ffn_down.bias", d)
		l.outNormW, l.outNormB = get(p+"layer_output_norm.weight", d), get(p+"layer_output_norm.bias", d)
	}
	if err != nil {
		return nil, err
	}
	n := opts.MaxBatch
	alloc := func(name string, shape ...int) backend.Tensor {
		if err != nil {
			return nil
		}
		var t backend.Tensor
		t, err = b.Alloc(name, gguf.TypeF32, shape...)
		return t
	}
	bf := &m.bufs
	bf.x, bf.h, bf.o, bf.out = alloc("x", n, d), alloc("h", n, d), alloc("o", n, d), alloc("out", n, d)
	bf.q, bf.k = alloc("q", n, cfg.NHead, cfg.HeadDim), alloc("k", n, cfg.NHead, cfg.HeadDim)
	bf.v, bf.attn = alloc("v", n, cfg.NHead, cfg.HeadDim), alloc("attn", n, cfg.NHead, cfg.HeadDim)
	bf.up = alloc("up", n, ff)
	if err != nil {
		return nil, err
	}
	if m.cache, err = b.NewKVCache(cfg.NLayer, n, d, d, gguf.TypeF32); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *bert) Config() *Config { return m.cfg }

// Pooling is the file's bert.pooling_type (none when absent).
// Encoder reports that BERT has no language-model head: it embeds and does not generate.
func (m *bert) Encoder() bool { return true }

func (m *bert) Pooling() Pooling { return m.pooling }

// NewCache gives an attention cache, so that loading works as for any model; BERT
// itself runs through Embed, which keeps its own.
func (m *bert) NewCache(ctx int, dt backend.DType) (*backend.KVCache, error) {
	if ctx <= 0 || ctx > maxCtx {
		return nil, fmt.Errorf("context size %d is outside 1..%d", ctx, maxCtx)
	}
	return m.b.NewKVCache(m.cfg.NLayer, ctx, m.cfg.NEmbd, m.cfg.NEmbd, dt)
}

// Forward refuses: an encoder has no logits.
func (m *bert) Forward(context.Context, []int32, *backend.Batch, *backend.KVCache, []int, []float32) error {
	return ErrNoLMHead
}

// Embed runs the sequences in one batch.
func (m *bert) Embed(ctx context.Context, seqs [][]int32, pooling Pooling) ([][]float32, error) {
	cfg, b := m.cfg, m.b
	if _, ok := poolingNames[pooling]; !ok {
		return nil, fmt.Errorf("embed: unknown pooling %d", int(pooling))
	}
	var tokens []int32
	batch := &backend.Batch{}
	m.cache.Clear()
	for s, seq := range seqs {
		if len(seq) == 0 {
			return nil, fmt.Errorf("embed: sequence %d is empty", s)
		}
		if len(seq) > cfg.NCtxTrain {
			return nil, fmt.Errorf("embed: sequence %d has %d tokens, more than the %d positions the model has", s, len(seq), cfg.NCtxTrain)
		}
		if len(tokens)+len(seq) > m.opts.MaxBatch {
			return nil, fmt.Errorf("embed: %d tokens exceed the batch size %d", len(tokens)+len(seq), m.opts.MaxBatch)
		}
		for p, t := range seq {
			if t < 0 || int(t) >= cfg.NVocab {
				return nil, fmt.Errorf("embed: token %d of sequence %d is outside the vocabulary of %d", t, s, cfg.NVocab)
			}
			cell := int32(len(tokens))
			batch.Pos = append(batch.Pos, int32(p))
			batch.Seq = append(batch.Seq, int32(s))
			batch.Cells = append(batch.Cells, cell)
			m.cache.Cells[cell] = backend.Cell{Pos: int32(p), Seq: int32(s)}
			tokens = append(tokens, t)
		}
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("embed: no tokens")
	}
	n := len(tokens)
	x, err := m.encode(ctx, tokens, batch)
	if err != nil {
		return nil, err
	}
	d := cfg.NEmbd
	out := make([][]float32, len(seqs))
	if pooling == PoolNone {
		all := make([]float32, n*d)
		if err := b.Read(x, all); err != nil {
			return nil, err
		}
		start := 0
		for s, seq := range seqs {
			out[s] = all[start*d : (start+len(seq))*d : (start+len(seq))*d]
			start += len(seq)
		}
		return out, nil
	}
	pooled, err := b.View(m.bufs.out, 0, len(seqs))
	if err != nil {
		return nil, err
	}
	if pooling == PoolMean {
		err = b.SeqMean(pooled, x, batch.Seq)
	} else {
		ids := make([]int32, len(seqs))
		start := 0
		for s, seq := range seqs {
			ids[s] = int32(start)
			if pooling == PoolLast {
				ids[s] += int32(len(seq) - 1)
			}
			start += len(seq)
		}
		err = b.GetRows(pooled, x, ids)
	}
	if err != nil {
		return nil, fmt.Errorf("pooling: %w", err)
	}
	all := make([]float32, len(seqs)*d)
	if err := b.Read(pooled, all); err != nil {
		return nil, err
	}
	for s := range seqs {
		out[s] = all[s*d : (s+1)*d : (s+1)*d]
	}
	return out, nil
}

// encode runs the encoder and returns the output rows [n, n_embd].
func (m *bert) encode(ctx context.Context, tokens []int32, batch *backend.Batch) (backend.Tensor, error) {
	cfg, b := m.cfg, m.b
	n := len(tokens)
	vw := &viewer{b: b, n: n}
	bf := &m.bufs
	x, h, o, up := vw.rows(bf.x), vw.rows(bf.h), vw.rows(bf.o), vw.rows(bf.up)
	q, k, v, attn := vw.rows(bf.q), vw.rows(bf.k), vw.rows(bf.v), vw.rows(bf.attn)
	q2 := vw.reshape(q, n, cfg.NEmbd)
	k2 := vw.reshape(k, n, cfg.NEmbd)
	v2 := vw.reshape(v, n, cfg.NEmbd)
	attn2 := vw.reshape(attn, n, cfg.NEmbd)
	if vw.err != nil {
		return nil, vw.err
	}
	// Embeddings: token + token type 0 + position (in llama.cpp's order), then norm.
	if err := b.GetRows(x, m.embd, tokens); err != nil {
		return nil, err
	}
	if m.type0 != nil {
		if err := b.Add(x, x, m.type0); err != nil {
			return nil, fmt.Errorf("token types: %w", err)
		}
	}
	if err := b.GetRows(h, m.pos, batch.Pos); err != nil {
		return nil, fmt.Errorf("positions: %w", err)
	}
	if err := b.Add(x, h, x); err != nil {
		return nil, err
	}
	if err := b.LayerNorm(x, x, m.normW, m.normB, cfg.NormEps); err != nil {
		return nil, fmt.Errorf("token_embd_norm: %w", err)
	}
	attnP := backend.AttnParams{Scale: float32(1 / math.Sqrt(float64(cfg.HeadDim))), Causal: false}
	linear := func(dst, in, w, bias backend.Tensor) error {
		if err := b.MatMul(dst, in, w); err != nil {
			return err
		}
		return b.Add(dst, dst, bias)
	}
	for il := range m.layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l := &m.layers[il]
		steps := []struct {
			name string
			run  func() error
		}{
			{"attn_q", func() error { return linear(q2, x, l.wq, l.bq) }},
			{"attn_k", func() error { return linear(k2, x, l.wk, l.bk) }},
			{"attn_v", func() error { return linear(v2, x, l.wv, l.bv) }},
			{"attention", func() error { return b.Attention(attn, q, k, v, m.cache, il, batch, attnP) }},
			{"attn_output", func() error { return linear(o, attn2, l.wo, l.bo) }},
			{"attn residual", func() error { return b.Add(x, o, x) }},
			{"attn_output_norm", func() error { return b.LayerNorm(x, x, l.attnNormW, l.attnNor, cfg.NormEps) }},
			{"ffn_up", func() error { return linear(up, x, l.up, l.upB) }},
			{"ffn gelu", func() error { return b.GELU(up, up) }},
			{"ffn_down", func() error { return linear(o, up, l.down, l.downB) }},
			{"ffn residual", func() error { return b.Add(x, o, x) }},
			{"layer_output_norm", func() error { return b.LayerNorm(x, x, l.outNormW, l.outNormB, cfg.NormEps) }},
		}
		for _, s := range steps {
			if err := s.run(); err != nil {
				return nil, layerErr(il, s.name, err)
			}
		}
	}
	return x, nil
}

// firstRow copies the first row of a table (of any type) into an F32 tensor [d].
func firstRow(b backend.Backend, table backend.Tensor, d int) (backend.Tensor, error) {
	row, err := b.Alloc(table.Name()+"[0]", gguf.TypeF32, 1, d)
	if err != nil {
		return nil, err
	}
	if err := b.GetRows(row, table, []int32{0}); err != nil {
		return nil, err
	}
	return row, nil
}
