package inference

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/models"
	"github.com/golem-llm/golem/models/embedded"
	"github.com/golem-llm/golem/models/tokenizer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storiesModel loads the embedded model on b (a fresh CPU backend when nil).
func storiesModel(t *testing.T, b backend.Backend, batch int) (models.Model, *tokenizer.Tokenizer) {
	f, err := gguf.FromBytes(embedded.Stories260K)
	require.NoError(t, err)
	if b == nil {
		cb := cpu.New(backend.Options{})
		t.Cleanup(func() { cb.Close() })
		b = cb
	}
	m, err := models.Load(f, b, models.Options{MaxBatch: batch})
	require.NoError(t, err)
	tok, err := tokenizer.FromGGUF(f.Meta)
	require.NoError(t, err)
	return m, tok
}

func newCache(t *testing.T, m models.Model, n int) *backend.KVCache {
	c, err := m.NewCache(n, gguf.TypeF32)
	require.NoError(t, err)
	return c
}

// greedyAlone generates from prompt in a cache of its own.
func greedyAlone(t *testing.T, m models.Model, tok *tokenizer.Tokenizer, ctx int, prompt []int32, opts GenerateOptions) ([]int32, string, Stats) {
	s := NewSession(m, newCache(t, m, ctx), 512)
	var ids []int32
	var text strings.Builder
	opts.Sampler = &recorder{ids: &ids, skip: len(prompt)}
	st, err := Generate(context.Background(), s, tok, prompt, opts, func(p string) error {
		text.WriteString(p)
		return nil
	})
	require.NoError(t, err)
	if st.Stop == StopEOG {
		ids = ids[:len(ids)-1]
	}
	return ids, text.String(), st
}

// recorder is greedy, recording the tokens it accepts after the first skip.
type recorder struct {
	ids  *[]int32
	skip int
}

func (r *recorder) Sample(l []float32) (int32, error) { return Greedy{}.Sample(l) }
func (r *recorder) Accept(id int32) error {
	if r.skip > 0 {
		r.skip--
		return nil
	}
	*r.ids = append(*r.ids, id)
	return nil
}

func TestStopFilterHoldsBackAcrossPieces(t *testing.T) {
	f := stopFilter{stops: []string{"END", "xyz"}}
	var out strings.Builder
	for _, p := range []string{"abc E", "N", "xE", "ND tail"} {
		o, stop, found := f.add(p)
		out.WriteString(o)
		if found {
			assert.Equal(t, "END", stop)
			break
		}
	}
	assert.Equal(t, "abc ENx", out.String())

	f = stopFilter{stops: []string{"END"}}
	o, _, _ := f.add("the E")
	assert.Equal(t, "the ", o, "a possible start of a stop string is held back")
	o, _, found := f.add("nd")
	assert.False(t, found)
	assert.Equal(t, "End", o, "released once it cannot be a stop string")
	o, _, _ = f.add("xx EN")
	assert.Equal(t, "xx ", o)
	assert.Equal(t, "EN", f.flush(), "held text is emitted at the end")
}

// TestStopStringSplitAcrossTokens: a stop string spanning several tokens of the greedy
// story ends generation; nothing of it is printed and the reason is reported.
func TestStopStringSplitAcrossTokens(t *testing.T) {
	m, tok := storiesModel(t, nil, 512)
	prompt := []int32{1}
	ids, full, _ := greedyAlone(t, m, tok, 128, prompt, GenerateOptions{MaxTokens: 40})
	// Find a token boundary in the text and take a stop string across it.
	dec := tok.NewStreamDecoder(tokenizer.DecodeOptions{SkipSpecial: true})
	var pieces []string
	for _, id := range ids {
		p, err := dec.Add(id)
		require.NoError(t, err)
		pieces = append(pieces, p)
	}
	require.Equal(t, full, strings.Join(pieces, ""))
	boundary := len(pieces[0]) + len(pieces[1]) + len(pieces[2]) + len(pieces[3])
	stop := full[boundary-2 : boundary+3]
	require.Equal(t, boundary-2, strings.Index(full, stop), "the stop string first occurs at the boundary")

	_, got, st := greedyAlone(t, m, tok, 128, prompt, GenerateOptions{MaxTokens: 40, Stop: []string{"never there", stop}})
	assert.Equal(t, full[:boundary-2], got)
	assert.Equal(t, StopString, st.Stop)
	assert.Equal(t, stop, st.StopString)
	assert.Less(t, st.GeneratedTokens, 40)
}

// rawEval runs tokens at explicit positions in cells 0.. of sequence 0 of cache, one
// batch, and returns the last token's logits: a reference free of Session's
// bookkeeping, where positions may be negative.
func rawEval(t *testing.T, m models.Model, cache *backend.KVCache, tokens []int32, pos0 int32, cell0 int32) []float32 {
	b := &backend.Batch{}
	for i := range tokens {
		p, c := pos0+int32(i), cell0+int32(i)
		b.Pos, b.Seq, b.Cells = append(b.Pos, p), append(b.Seq, 0), append(b.Cells, c)
		cache.Cells[c] = backend.Cell{Pos: p, Seq: 0}
	}
	logits := make([]float32, m.Config().NVocab)
	require.NoError(t, m.Forward(context.Background(), tokens, b, cache, []int{len(tokens) - 1}, logits))
	return logits
}

// shiftReference is the cache a context shift that keeps no token should leave, built
// without any re-rotation: the first d tokens are evaluated at positions -d..-1 and the
// rest at 0.., so every key is computed at its final position and every kept token
// saw the dropped ones at the same distances as in the shifted sequence; then the
// dropped tokens' cells are freed. RoPE only sees relative positions, so this equals
// re-evaluating the kept tokens at their new positions from scratch.
func shiftReference(t *testing.T, m models.Model, tokens []int32, d, cells int) (*backend.KVCache, []float32) {
	cache := newCache(t, m, cells)
	logits := rawEval(t, m, cache, tokens, -int32(d), 0)
	for c := range d {
		cache.Cells[c] = backend.Cell{Pos: -1, Seq: -1}
	}
	return cache, logits
}

// TestContextShiftMatchesReevaluation: after a shift, the next token's logits equal
// those of the reference cache (kept tokens re-evaluated at their new positions).
func TestContextShiftMatchesReevaluation(t *testing.T) {
	m, tok := storiesModel(t, nil, 512)
	const n = 30
	text := "Once upon a time there was a little girl named Lily. She loved to play outside in the park with her friends and her dog."
	ids := tok.Encode(text, true, false)
	require.GreaterOrEqual(t, len(ids), n+1)
	s := NewSession(m, newCache(t, m, n), 7)
	require.NoError(t, s.Eval(context.Background(), ids[:n]))
	d, err := s.Shift(0)
	require.NoError(t, err)
	require.Equal(t, n/2, d)
	require.Equal(t, ids[d:n], s.Tokens())
	require.NoError(t, s.Eval(context.Background(), ids[n:n+1]))
	// Positions run 0..len-1; the new token went into a freed cell.
	for i, c := range s.cells {
		assert.Equal(t, backend.Cell{Pos: int32(i), Seq: 0}, s.Cache.Cells[c])
	}

	ref, _ := shiftReference(t, m, ids[:n], d, n)
	want := rawEval(t, m, ref, ids[n:n+1], int32(n-d), 0)
	for i, v := range want {
		require.InDelta(t, v, s.Logits()[i], 1e-4, "logit %d", i)
	}
}

// TestContextShiftKeepsPrefix: with kept tokens, the re-rotated first-layer keys (which
// depend only on the token and its position) equal a fresh evaluation of the kept
// tokens at their new positions, and values are untouched.
func TestContextShiftKeepsPrefix(t *testing.T) {
	cb := cpu.New(backend.Options{})
	defer cb.Close()
	m, tok := storiesModel(t, cb, 512)
	const n, keep = 30, 5
	ids := tok.Encode("Once upon a time there was a little girl named Lily. She loved to play outside in the park with her friends.", true, false)
	require.GreaterOrEqual(t, len(ids), n)
	s := NewSession(m, newCache(t, m, n), 512)
	require.NoError(t, s.Eval(context.Background(), ids[:n]))
	read := func(x backend.Tensor) []float32 {
		out := make([]float32, x.Shape().Elements())
		require.NoError(t, cb.Read(x, out))
		return out
	}
	vBefore := read(s.Cache.V[1])
	d, err := s.Shift(keep)
	require.NoError(t, err)
	require.Equal(t, (n-keep)/2, d)
	kept := append(slices.Clone(ids[:keep]), ids[keep+d:n]...)
	require.Equal(t, kept, s.Tokens())
	assert.Equal(t, vBefore, read(s.Cache.V[1]))

	fresh := NewSession(m, newCache(t, m, n), 512)
	require.NoError(t, fresh.Eval(context.Background(), kept))
	got, want := read(s.Cache.K[0]), read(fresh.Cache.K[0])
	kd := s.Cache.KDim
	for i, c := range s.cells {
		for j := range kd {
			require.InDelta(t, want[i*kd+j], got[int(c)*kd+j], 1e-5, "token %d", i)
		}
	}
}

// TestGenerateWithContextShift: generation goes past the context; the tokens after the
// first shift equal greedy decoding from the reference cache.
func TestGenerateWithContextShift(t *testing.T) {
	m, tok := storiesModel(t, nil, 512)
	const ctx = 24
	prompt := tok.Encode("Once upon a time", true, false)
	ids, _, st := greedyAlone(t, m, tok, ctx, prompt, GenerateOptions{MaxTokens: 40, ContextShift: true, Keep: 0})
	require.Equal(t, StopLength, st.Stop)
	require.Equal(t, 40, len(ids))
	require.Equal(t, 2, st.Shifts, "5 + 39 tokens evaluated in 24 cells")

	all := append(slices.Clone(prompt), ids...)
	d := ctx / 2
	// The shift comes when all[ctx] has been sampled; then the sequence holds ctx-d
	// tokens and grows to ctx again: d more tokens are evaluated, each in a freed cell.
	ref, logits := shiftReference(t, m, all[:ctx], d, ctx)
	var got []int32
	for k := range d + 1 {
		id, err := Greedy{}.Sample(logits)
		require.NoError(t, err)
		got = append(got, id)
		if k < d {
			logits = rawEval(t, m, ref, []int32{id}, int32(ctx-d+k), int32(k))
		}
	}
	assert.Equal(t, all[ctx:ctx+d+1], got)

	// Without --context-shift, the same request is an error.
	s := NewSession(m, newCache(t, m, ctx), 512)
	_, err := Generate(context.Background(), s, tok, prompt, GenerateOptions{MaxTokens: 40}, nil)
	require.ErrorIs(t, err, ErrContextFull)
}

// TestPromptCacheReusesPrefix: a second prompt sharing a prefix evaluates only the
// rest, and its logits equal a fresh evaluation.
func TestPromptCacheReusesPrefix(t *testing.T) {
	m, tok := storiesModel(t, nil, 512)
	a := tok.Encode("Once upon a time there was a cat", true, false)
	b := tok.Encode("Once upon a time there was a big dog", true, false)
	common := commonPrefix(a, b)
	require.Greater(t, common, 3)

	s := NewSession(m, newCache(t, m, 64), 512)
	reused, err := s.Prefill(context.Background(), a)
	require.NoError(t, err)
	assert.Zero(t, reused)
	reused, err = s.Prefill(context.Background(), b)
	require.NoError(t, err)
	assert.Equal(t, common, reused)
	assert.Equal(t, b, s.Tokens())

	fresh := NewSession(m, newCache(t, m, 64), 512)
	require.NoError(t, fresh.Eval(context.Background(), b))
	for i, v := range fresh.Logits() {
		require.InDelta(t, v, s.Logits()[i], 1e-5, "logit %d", i)
	}
	// The same prompt again: only its last token is evaluated.
	reused, err = s.Prefill(context.Background(), b)
	require.NoError(t, err)
	assert.Equal(t, len(b)-1, reused)
	for i, v := range fresh.Logits() {
		require.InDelta(t, v, s.Logits()[i], 1e-5, "logit %d", i)
	}
	used := 0
	for _, c := range s.Cache.Cells {
		if c.Seq >= 0 {
			used++
		}
	}
	assert.Equal(t, len(b), used, "cells beyond the shared prefix were freed")
}

// forwardLog records each forward pass's batch.
type forwardLog struct {
	models.Model
	batches [][]int32 // sequence ids per pass
}

func (f *forwardLog) Forward(ctx context.Context, tokens []int32, b *backend.Batch, c *backend.KVCache, outputs []int, logits []float32) error {
	f.batches = append(f.batches, slices.Clone(b.Seq))
	return f.Model.Forward(ctx, tokens, b, c, outputs, logits)
}

// TestBatchedEqualsAlone: sequences decoded together, joining and leaving at different
// steps, give exactly the tokens each gives alone (greedy); every decode pass carries
// one token of each live sequence.
func TestBatchedEqualsAlone(t *testing.T) {
	m, tok := storiesModel(t, nil, 64)
	prompts := []string{"Once upon a time", "Lily and Ben", "The dog was very hungry and", "One day", "Tom had a red ball"}
	limits := []int{30, 12, 25, 40, 20}
	log := &forwardLog{Model: m}
	b := NewBatcher(log, newCache(t, m, 512), tok, 64)
	b.NCtx = 100
	seqs := make([]*Sequence, len(prompts))
	texts := make([]strings.Builder, len(prompts))
	add := func(i int) {
		var err error
		seqs[i], err = b.Add(tok.Encode(prompts[i], true, false), GenerateOptions{MaxTokens: limits[i]}, func(p string) error {
			texts[i].WriteString(p)
			return nil
		})
		require.NoError(t, err)
	}
	for i := range 4 {
		add(i)
	}
	ctx := context.Background()
	for step := 0; b.Live() > 0; step++ {
		if step == 5 {
			add(4) // joins between steps
		}
		require.NoError(t, b.Step(ctx))
	}
	for i, q := range seqs {
		require.NoError(t, q.Err())
		want, wantText, st := greedyAlone(t, m, tok, 100, tok.Encode(prompts[i], true, false), GenerateOptions{MaxTokens: limits[i]})
		assert.Equal(t, want, q.Generated(), "sequence %d", i)
		assert.Equal(t, wantText, texts[i].String(), "sequence %d", i)
		assert.Equal(t, st.Stop, q.Stats().Stop)
	}
	// Decode passes: one token per sequence, no sequence twice.
	maxSeqs := 0
	for _, seqIDs := range log.batches {
		ids := slices.Clone(seqIDs)
		slices.Sort(ids)
		if len(slices.Compact(ids)) == len(seqIDs) {
			maxSeqs = max(maxSeqs, len(seqIDs))
		}
	}
	assert.Equal(t, 5, maxSeqs, "all five sequences decoded in one pass")
	assert.Less(t, len(log.batches), 60, "passes are shared, not one per sequence and token")
}

// TestBatcherPromptCacheAndEviction: a finished sequence's cells serve a later prompt
// sharing its prefix; idle sequences are evicted, oldest first, when cells run out.
func TestBatcherPromptCacheAndEviction(t *testing.T) {
	m, tok := storiesModel(t, nil, 64)
	cache := newCache(t, m, 48)
	b := NewBatcher(m, cache, tok, 64)
	run := func(text string, n int) *Sequence {
		q, err := b.Add(tok.Encode(text, true, false), GenerateOptions{MaxTokens: n}, nil)
		require.NoError(t, err)
		require.NoError(t, b.Run(context.Background()))
		require.NoError(t, q.Err())
		return q
	}
	first := run("Once upon a time there was", 10)
	assert.Zero(t, first.Stats().CachedTokens)
	second := run("Once upon a time there was a frog", 10)
	// The first sequence holds its prompt and all but its last generated token.
	held := append(tok.Encode("Once upon a time there was", true, false), first.Generated()[:9]...)
	assert.Equal(t, commonPrefix(held, tok.Encode("Once upon a time there was a frog", true, false)), second.Stats().CachedTokens)
	assert.Greater(t, second.Stats().CachedTokens, 6)
	want, _, _ := greedyAlone(t, m, tok, 48, tok.Encode("Once upon a time there was a frog", true, false), GenerateOptions{MaxTokens: 10})
	assert.Equal(t, want, second.Generated())

	// Fill the cache with unrelated sequences: the idle ones are evicted, no error.
	for _, p := range []string{"Lily went to the park", "Tom saw a big dog", "The sun was hot"} {
		q := run(p, 20)
		want, _, _ := greedyAlone(t, m, tok, 48, tok.Encode(p, true, false), GenerateOptions{MaxTokens: 20})
		assert.Equal(t, want, q.Generated(), p)
	}
	assert.LessOrEqual(t, len(b.idle), 2)
}

func TestBatcherPerSequenceErrors(t *testing.T) {
	m, tok := storiesModel(t, nil, 64)
	b := NewBatcher(m, newCache(t, m, 64), tok, 64)
	b.NCtx = 16
	_, err := b.Add(make([]int32, 17), GenerateOptions{}, nil)
	require.ErrorIs(t, err, ErrContextFull)
	full, err := b.Add([]int32{1}, GenerateOptions{MaxTokens: 30}, nil)
	require.NoError(t, err)
	ok, err := b.Add([]int32{1}, GenerateOptions{MaxTokens: 5}, nil)
	require.NoError(t, err)
	failing, err := b.Add([]int32{1}, GenerateOptions{MaxTokens: 5}, func(string) error { return errors.New("client went away") })
	require.NoError(t, err)
	require.NoError(t, b.Run(context.Background()))
	assert.ErrorIs(t, full.Err(), ErrContextFull)
	assert.NoError(t, ok.Err())
	assert.Equal(t, 5, ok.Stats().GeneratedTokens)
	assert.EqualError(t, failing.Err(), "client went away")

	cancelled, err := b.Add([]int32{1}, GenerateOptions{MaxTokens: 50}, nil)
	require.NoError(t, err)
	require.NoError(t, b.Step(context.Background()))
	b.Cancel(cancelled)
	require.NoError(t, b.Step(context.Background()))
	assert.Zero(t, b.Live())
	assert.ErrorIs(t, cancelled.Err(), context.Canceled)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = b.Add([]int32{1}, GenerateOptions{MaxTokens: 5}, nil)
	require.NoError(t, err)
	require.ErrorIs(t, b.Step(ctx), context.Canceled)
}

// TestProfilerCountsOps: a model built on the profiler reports every forward pass's
// ops by phase and layer.
func TestProfilerCountsOps(t *testing.T) {
	cb := cpu.New(backend.Options{})
	defer cb.Close()
	p := NewProfiler(cb)
	m, tok := storiesModel(t, p, 512)
	s := NewSession(m, newCache(t, m, 64), 512)
	s.Profiler = p
	prompt := tok.Encode("Once upon a time", true, false)
	st, err := Generate(context.Background(), s, tok, prompt, GenerateOptions{MaxTokens: 6}, nil)
	require.NoError(t, err)

	tokens, fwd := p.Tokens(PhasePrompt)
	assert.Equal(t, len(prompt), tokens)
	assert.Equal(t, 1, fwd)
	tokens, fwd = p.Tokens(PhaseDecode)
	assert.Equal(t, 5, tokens, "the last sampled token is not evaluated")
	assert.Equal(t, 5, fwd)
	nl := m.Config().NLayer
	calls, d := p.OpTime(PhaseDecode, "MatMul")
	assert.Equal(t, 5*(7*nl+1), calls, "q k v o gate up down per layer, and the output head")
	assert.Positive(t, d)
	calls, _ = p.OpTime(PhaseDecode, "Attention")
	assert.Equal(t, 5*nl, calls)
	for l := -1; l < nl; l++ {
		assert.Positive(t, p.LayerTime(PhaseDecode, l), "layer %d", l)
	}
	var out bytes.Buffer
	require.NoError(t, p.Report(&out, st))
	for _, want := range []string{"prompt", "decode", "MatMul", "Attention", "time to first token", "KV cache"} {
		assert.Contains(t, out.String(), want)
	}
}

// stateful marks a model as keeping a running state per sequence.
type stateful struct{ models.Model }

func (stateful) RecurrentState() bool { return true }

// TestRecurrentPrefixReuseIsWholeOnly: a recurrent model's cached sequence is reused
// only when all of it is a prefix of the new prompt; otherwise it starts over.
func TestRecurrentPrefixReuseIsWholeOnly(t *testing.T) {
	m, _ := storiesModel(t, nil, 512)
	s := NewSession(stateful{m}, newCache(t, m, 64), 512)
	a := []int32{1, 403, 407, 261}
	_, err := s.Prefill(context.Background(), a)
	require.NoError(t, err)
	n, err := s.Prefill(context.Background(), append(slices.Clone(a), 378, 286))
	require.NoError(t, err)
	assert.Equal(t, len(a), n, "the whole sequence is a prefix: continued")
	n, err = s.Prefill(context.Background(), []int32{1, 403, 407, 999 % 512})
	require.NoError(t, err)
	assert.Zero(t, n, "a partial prefix cannot be cut out of a running state")
}
