package models

import (
	"context"
	"fmt"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

func init() { Register("mamba", newMamba) }

// maxSeqStates bounds the sequence ids a Mamba cache keeps states for.
const maxSeqStates = 1 << 12

// mamba is the Mamba (S6) state-space model: each layer is RMSNorm, then an
// in-projection to x and z, a causal depthwise conv1d over x, SiLU, the x-projection
// to Δ (low rank), B and C, Δ's own projection, the selective scan, the skip term
// x·D, gating by SiLU(z) and the out-projection, added to the residual.
//
// Its cache is recurrent state, not keys and values: per layer, K holds the conv
// state [seqs, d_inner, d_conv-1] and V the SSM state [seqs, d_inner, d_state], one
// row per sequence id (llama.cpp keeps recurrent states in its KV cache the same
// way). The cache's cells only carry the positions inference/ tracks; memory does not
// grow with the tokens seen. A token at position 0 starts its sequence afresh (its
// state is zeroed); any other token must continue its sequence from the last position
// the state has seen: a recurrent state cannot drop tokens or go back, so a caller
// that reuses a prompt prefix or shifts the context gets an error, not a wrong answer.
type mamba struct {
	cfg    *Config
	b      backend.Backend
	opts   Options
	dInner int
	dState int
	dConv  int
	dtRank int
	// dtBCRMS: Δ, B and C are RMS-normalised (Falcon-Mamba).
	dtBCRMS bool

	embd, norm, output backend.Tensor
	layers             []mambaLayer
	bufs               mambaBuffers
	zeros              []float32 // one zeroed state row, the larger of the two
	// reached is, per cache and sequence id, the last position its state has seen
	// (-1: none). It lives here because a KVCache has no room for it.
	reached map[*backend.KVCache][]int32
}

// Recurrent marks a model whose cache holds one state per sequence rather than one
// entry per token: a sequence only grows at its end or restarts at position 0, so a
// prompt cache may reuse a sequence only when the new prompt extends all of it.
type Recurrent interface {
	Recurrent() bool
}

// Recurrent is true: Mamba's cache is recurrent state.
func (m *mamba) Recurrent() bool { return true }

type mambaLayer struct {
	norm       backend.Tensor
	inX, inZ   backend.Tensor // the two halves of ssm_in
	conv       backend.Tensor
	convB      backend.Tensor
	xDt, xB    backend.Tensor // row ranges of ssm_x
	xC         backend.Tensor
	dt, dtB    backend.Tensor
	a, d, outW backend.Tensor
}

type mambaBuffers struct {
	x, h, xs, z, y, tmp, dtLow, dt, bm, cm, o, out, logits backend.Tensor
}

func newMamba(f *gguf.File, cfg *Config, b backend.Backend, opts Options) (Model, error) {
	r := &configReader{m: f.Meta, arch: cfg.Arch}
	m := &mamba{cfg: cfg, b: b, opts: opts, reached: map[*backend.KVCache][]int32{}}
	m.dConv = r.int("ssm.conv_kernel", 2, 1<<10, -1)
	m.dInner = r.int("ssm.inner_size", 1, maxFF, -1)
	m.dState = r.int("ssm.state_size", 1, 1<<12, -1)
	m.dtRank = r.int("ssm.time_step_rank", 1, maxEmbd, -1)
	if r.err != nil {
		return nil, r.err
	}
	if v, err := f.Meta.Bool(cfg.Arch + ".ssm.dt_b_c_rms"); err == nil {
		m.dtBCRMS = v
	}
	w := newWeights(f, b)
	d, di, ds := cfg.NEmbd, m.dInner, m.dState
	var err error
	get := func(name string, dims ...int) backend.Tensor {
		if err != nil {
			return nil
		}
		var t backend.Tensor
		t, err = w.get(name, dims...)
		return t
	}
	view := func(t backend.Tensor, lo, hi int) backend.Tensor {
		if err != nil {
			return nil
		}
		var v backend.Tensor
		v, err = b.View(t, lo, hi)
		return v
	}
	m.embd = get("token_embd.weight", d, cfg.NVocab)
	m.norm = get("output_norm.weight", d)
	if err == nil {
		if m.output, err = w.optional("output.weight", d, cfg.NVocab); m.output == nil && err == nil {
			m.output = m.embd // tied embeddings
		}
	}
	m.layers = make([]mambaLayer, cfg.NLayer)
	for i := range m.layers {
		l := &m.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		l.norm = get(p+"attn_norm.weight", d)
		in := get(p+"ssm_in.weight", d, 2*di)
		l.inX, l.inZ = view(in, 0, di), view(in, di, 2*di)
		l.conv = get(p+"ssm_conv1d.weight", m.dConv, di)
		l.convB = get(p+"ssm_conv1d.bias", di)
		x := get(p+"ssm_x.weight", di, m.dtRank+2*ds)
		l.xDt, l.xB, l.xC = view(x, 0, m.dtRank), view(x, m.dtRank, m.dtRank+ds), view(x, m.dtRank+ds, m.dtRank+2*ds)
		l.dt = get(p+"ssm_dt.weight", m.dtRank, di)
		l.dtB = get(p+"ssm_dt.bias", di)
		l.a = get(p+"ssm_a", ds, di)
		l.d = get(p+"ssm_d", di)
		l.outW = get(p+"ssm_out.weight", di, d)
		if err == nil && (l.conv.DType() != gguf.TypeF32 || l.a.DType() != gguf.TypeF32) {
			err = fmt.Errorf("%sssm_conv1d.weight and ssm_a must be F32 (they are %s and %s)", p, l.conv.DType(), l.a.DType())
		}
	}
	if err != nil {
		return nil, err
	}
	if err := m.allocBuffers(opts.MaxBatch); err != nil {
		return nil, err
	}
	m.zeros = make([]float32, di*max(m.dConv-1, ds))
	return m, nil
}

func (m *mamba) allocBuffers(n int) error {
	var err error
	alloc := func(name string, shape ...int) backend.Tensor {
		if err != nil {
			return nil
		}
		var t backend.Tensor
		t, err = m.b.Alloc(name, gguf.TypeF32, shape...)
		return t
	}
	d, di, ds := m.cfg.NEmbd, m.dInner, m.dState
	bf := &m.bufs
	bf.x, bf.h, bf.o, bf.out = alloc("x", n, d), alloc("h", n, d), alloc("o", n, d), alloc("out", n, d)
	bf.xs, bf.z, bf.y, bf.tmp = alloc("ssm_x", n, di), alloc("ssm_z", n, di), alloc("ssm_y", n, di), alloc("ssm_tmp", n, di)
	bf.dtLow, bf.dt = alloc("ssm_dt_low", n, m.dtRank), alloc("ssm_dt", n, di)
	bf.bm, bf.cm = alloc("ssm_b", n, ds), alloc("ssm_c", n, ds)
	return err
}

func (m *mamba) Config() *Config { return m.cfg }

// NewCache allocates the recurrent states (F32 whatever dt says: the states are not
// a KV cache) for one sequence, growing when a batch names another, and ctx cells
// for inference/'s bookkeeping of positions.
func (m *mamba) NewCache(ctx int, _ backend.DType) (*backend.KVCache, error) {
	if ctx <= 0 || ctx > maxCtx {
		return nil, fmt.Errorf("context size %d is outside 1..%d", ctx, maxCtx)
	}
	k, v, err := m.allocStates(1)
	if err != nil {
		return nil, err
	}
	c := backend.NewKVCacheMeta(k, v, ctx, m.dInner*(m.dConv-1), m.dInner*m.dState, gguf.TypeF32)
	m.reached[c] = []int32{-1}
	return c, nil
}

func (m *mamba) allocStates(rows int) (conv, ssm []backend.Tensor, err error) {
	conv = make([]backend.Tensor, m.cfg.NLayer)
	ssm = make([]backend.Tensor, m.cfg.NLayer)
	for l := range conv {
		if conv[l], err = m.b.Alloc(fmt.Sprintf("conv_state_l%d", l), gguf.TypeF32, rows, m.dInner, m.dConv-1); err != nil {
			return nil, nil, fmt.Errorf("mamba state: %w", err)
		}
		if ssm[l], err = m.b.Alloc(fmt.Sprintf("ssm_state_l%d", l), gguf.TypeF32, rows, m.dInner, m.dState); err != nil {
			return nil, nil, fmt.Errorf("mamba state: %w", err)
		}
	}
	return conv, ssm, nil
}

// ensureStates grows the cache's states to hold sequence ids below rows, keeping
// those already there.
func (m *mamba) ensureStates(cache *backend.KVCache, rows int) error {
	if len(cache.K) != m.cfg.NLayer || len(cache.V) != m.cfg.NLayer {
		return fmt.Errorf("the cache is not a Mamba state cache of %d layers", m.cfg.NLayer)
	}
	have := cache.K[0].Shape()[0]
	if rows <= have {
		return nil
	}
	conv, ssm, err := m.allocStates(rows)
	if err != nil {
		return err
	}
	for l := range conv {
		for _, p := range [][2]backend.Tensor{{cache.K[l], conv[l]}, {cache.V[l], ssm[l]}} {
			old := make([]float32, p[0].Shape().Elements())
			if err := m.b.Read(p[0], old); err != nil {
				return err
			}
			part, err := m.b.View(p[1], 0, have)
			if err != nil {
				return err
			}
			if err := m.b.Write(part, old); err != nil {
				return err
			}
		}
	}
	cache.K, cache.V = conv, ssm
	return nil
}

// reachedOf is the positions reached by each sequence's state in cache, rows long.
func (m *mamba) reachedOf(cache *backend.KVCache, rows int) []int32 {
	r := m.reached[cache]
	for len(r) < rows {
		r = append(r, -1)
	}
	m.reached[cache] = r
	return r
}

// prepareStates checks each sequence's positions in the batch (consecutive, in
// order), makes room for its state, and zeroes the state of a sequence that starts
// at position 0. It returns each token's state row.
func (m *mamba) prepareStates(batch *backend.Batch, cache *backend.KVCache) ([]int32, error) {
	rows := 0
	for i, s := range batch.Seq {
		if s < 0 || s >= maxSeqStates {
			return nil, fmt.Errorf("token %d: sequence %d outside 0..%d", i, s, maxSeqStates-1)
		}
		rows = max(rows, int(s)+1)
	}
	if err := m.ensureStates(cache, rows); err != nil {
		return nil, err
	}
	reached := m.reachedOf(cache, rows)
	last := map[int32]int32{}
	var fresh []int32
	for i, s := range batch.Seq {
		p := batch.Pos[i]
		prev, ok := last[s]
		if !ok {
			prev = reached[s]
			if p == 0 {
				fresh = append(fresh, s)
				prev = -1
			}
		}
		if p != prev+1 {
			return nil, fmt.Errorf("token %d: sequence %d is at position %d, the token is at %d: a recurrent state only moves forward one token at a time (or restarts at 0)", i, s, prev, p)
		}
		last[s] = p
	}
	for s, p := range last {
		reached[s] = p
	}
	for _, s := range fresh {
		for l := range cache.K {
			for _, st := range []backend.Tensor{cache.K[l], cache.V[l]} {
				row, err := m.b.View(st, int(s), int(s)+1)
				if err != nil {
					return nil, err
				}
				if err := m.b.Write(row, m.zeros[:row.Shape().Elements()]); err != nil {
					return nil, err
				}
			}
		}
	}
	return batch.Seq, nil
}

func (m *mamba) Forward(ctx context.Context, tokens []int32, batch *backend.Batch, cache *backend.KVCache, outputs []int, logits []float32) error {
	cfg, b := m.cfg, m.b
	n := len(tokens)
	if err := checkForward(cfg, m.opts, tokens, batch, outputs, logits); err != nil {
		return err
	}
	if cache == nil {
		return fmt.Errorf("forward: no cache")
	}
	if err := batch.Validate(cache.Size()); err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	slots, err := m.prepareStates(batch, cache)
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	vw := &viewer{b: b, n: n}
	bf := &m.bufs
	x, h, o := vw.rows(bf.x), vw.rows(bf.h), vw.rows(bf.o)
	xs, z, y, tmp := vw.rows(bf.xs), vw.rows(bf.z), vw.rows(bf.y), vw.rows(bf.tmp)
	dtLow, dt, bm, cm := vw.rows(bf.dtLow), vw.rows(bf.dt), vw.rows(bf.bm), vw.rows(bf.cm)
	if vw.err != nil {
		return vw.err
	}
	if err := b.GetRows(x, m.embd, tokens); err != nil {
		return err
	}
	for il := range m.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		l := &m.layers[il]
		steps := []struct {
			name string
			run  func() error
		}{
			{"attn_norm", func() error { return b.RMSNorm(h, x, l.norm, cfg.NormEps) }},
			{"ssm_in x", func() error { return b.MatMul(xs, h, l.inX) }},
			{"ssm_in z", func() error { return b.MatMul(z, h, l.inZ) }},
			{"ssm_conv", func() error { return b.SSMConv(xs, xs, l.conv, cache.K[il], slots) }},
			{"ssm_conv bias", func() error { return b.Add(xs, xs, l.convB) }},
			{"ssm_conv silu", func() error { return b.SiLU(xs, xs) }},
			{"ssm_x dt", func() error { return b.MatMul(dtLow, xs, l.xDt) }},
			{"ssm_x B", func() error { return b.MatMul(bm, xs, l.xB) }},
			{"ssm_x C", func() error { return b.MatMul(cm, xs, l.xC) }},
			{"ssm_dt_b_c_rms", func() error {
				if !m.dtBCRMS {
					return nil
				}
				for _, t := range []backend.Tensor{dtLow, bm, cm} {
					if err := b.RMSNorm(t, t, nil, cfg.NormEps); err != nil {
						return err
					}
				}
				return nil
			}},
			{"ssm_dt", func() error { return b.MatMul(dt, dtLow, l.dt) }},
			{"ssm_dt bias", func() error { return b.Add(dt, dt, l.dtB) }},
			{"ssm_scan", func() error { return b.SSMScan(y, xs, dt, l.a, bm, cm, cache.V[il], slots) }},
			{"ssm_d", func() error { return b.Mul(tmp, xs, l.d) }},
			{"ssm_d add", func() error { return b.Add(y, y, tmp) }},
			{"ssm_z silu", func() error { return b.SiLU(z, z) }},
			{"ssm gate", func() error { return b.Mul(y, y, z) }},
			{"ssm_out", func() error { return b.MatMul(o, y, l.outW) }},
			{"residual", func() error { return b.Add(x, o, x) }},
		}
		for _, s := range steps {
			if err := s.run(); err != nil {
				return layerErr(il, s.name, err)
			}
		}
	}
	return m.head(x, outputs, logits)
}

// head normalises the requested rows and projects them onto the vocabulary.
func (m *mamba) head(x backend.Tensor, outputs []int, logits []float32) error {
	if len(outputs) == 0 {
		return nil
	}
	b := m.b
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
	if err := b.RMSNorm(rows, rows, m.norm, m.cfg.NormEps); err != nil {
		return fmt.Errorf("output_norm: %w", err)
	}
	if m.bufs.logits == nil || m.bufs.logits.Shape()[0] < len(outputs) {
		if m.bufs.logits, err = b.Alloc("logits", gguf.TypeF32, len(outputs), m.cfg.NVocab); err != nil {
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

// checkForward validates a forward pass's arguments, as every model needs.
func checkForward(cfg *Config, opts Options, tokens []int32, batch *backend.Batch, outputs []int, logits []float32) error {
	n := len(tokens)
	if n == 0 {
		return fmt.Errorf("forward: no tokens")
	}
	if n > opts.MaxBatch {
		return fmt.Errorf("forward: %d tokens exceed the batch size %d", n, opts.MaxBatch)
	}
	if batch == nil || batch.Len() != n {
		return fmt.Errorf("forward: the batch does not describe the %d tokens", n)
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
	return nil
}
