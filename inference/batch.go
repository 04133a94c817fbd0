package inference

import (
	"context"
	"errors"
	"fmt"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/models"
	"github.com/golem-llm/golem/models/tokenizer"
)

// errNoCells: the cache has no free cell left (as opposed to a sequence at its own
// limit); evicting an idle sequence may help.
var errNoCells = fmt.Errorf("%w: no free cell left in the cache", ErrContextFull)

// maxSequences bounds live and idle sequences together: idle ones are evicted beyond
// it, so sequence ids stay below it.
const maxSequences = 64

// Batcher decodes several sequences in one cache together. Each Step runs the prompts
// of sequences that joined since the last step (packed into forward passes of up to
// BatchSize tokens), then one forward pass with one token from every decoding
// sequence, each in its own cells and sequence id and with its own sampler. Sequences
// join (Add) and leave (when done, or Cancel) between steps: the base of the server's
// continuous batching.
//
// Finished sequences keep their cells as a prompt cache: a sequence added later reuses
// the cells of the idle sequence sharing the longest prefix with its prompt, and the
// least recently used idle sequences are evicted when cells run out.
type Batcher struct {
	Model     models.Model
	Cache     *backend.KVCache
	Tok       *tokenizer.Tokenizer
	BatchSize int
	// NCtx caps each sequence's length (0: the cache's size).
	NCtx int
	// Profiler, when set, is told the phase of each forward pass.
	Profiler *Profiler

	live []*Sequence
	idle []*Session // finished sequences whose cells are kept, least recently used first

	tokens  []int32
	embd    []float32 // the rows of the batch's embedding positions, in order
	batch   backend.Batch
	outputs []int
	owners  []*Sequence
	logits  []float32
}

// Sequence is one generation in a Batcher.
type Sequence struct {
	sess     *Session
	gen      *generation
	prompt   []int32
	keys     []uint64  // the prompt cache's key of each prompt token (nil: token ids only)
	embd     []float32 // the rows of the prompt's embedding positions
	rows     int       // rows in the cache
	fed      int       // prompt tokens in the cache
	next     [1]int32  // the sampled token to evaluate next
	decoding bool
	done     bool
	err      error
}

// Done reports whether the sequence has finished (or failed).
func (q *Sequence) Done() bool { return q.done }

// Err is why the sequence failed (nil when it ended normally).
func (q *Sequence) Err() error { return q.err }

// Stats are the sequence's statistics so far.
func (q *Sequence) Stats() Stats { return q.gen.st }

// Generated are the tokens generated so far (an end-of-generation token excluded).
func (q *Sequence) Generated() []int32 { return q.gen.ids }

// NewBatcher makes a batcher over cache.
func NewBatcher(m models.Model, cache *backend.KVCache, tok *tokenizer.Tokenizer, batchSize int) *Batcher {
	if batchSize <= 0 {
		batchSize = 512
	}
	return &Batcher{Model: m, Cache: cache, Tok: tok, BatchSize: batchSize}
}

// Live is the number of sequences not yet finished.
func (b *Batcher) Live() int { return len(b.live) }

// Add starts a sequence; it joins at the next Step.
func (b *Batcher) Add(prompt []int32, opts GenerateOptions, emit func(string) error) (*Sequence, error) {
	return b.add(TokenPrompt(prompt), opts, emit)
}

func (b *Batcher) add(p Prompt, opts GenerateOptions, emit func(string) error) (*Sequence, error) {
	prompt := p.Tokens
	g, err := newGeneration(b.Tok, prompt, opts, emit)
	if err != nil {
		return nil, err
	}
	q := &Sequence{gen: g, prompt: prompt, embd: p.Embd, keys: p.keys(b.Model.Config().NEmbd)}
	best, bestLen := -1, 0
	for i, s := range b.idle {
		if n := s.reusableKeys(prompt, q.keys); n > bestLen {
			best, bestLen = i, n
		}
	}
	if best >= 0 {
		q.sess = b.idle[best]
		b.idle = append(b.idle[:best], b.idle[best+1:]...)
		q.sess.Truncate(bestLen)
		q.fed = bestLen
		q.rows = embdRows(prompt[:bestLen])
		g.st.CachedTokens = bestLen
	} else {
		if len(b.idle) > 0 && len(b.live)+len(b.idle) >= maxSequences {
			b.evict()
		}
		q.sess = &Session{Model: b.Model, Cache: b.Cache, BatchSize: b.BatchSize, Seq: b.freeID()}
	}
	q.sess.NCtx, q.sess.Profiler = b.NCtx, b.Profiler
	if len(prompt) > q.sess.Limit() {
		b.retire(q.sess)
		return nil, fmt.Errorf("%w: the prompt of %d tokens exceeds the context of %d", ErrContextFull, len(prompt), q.sess.Limit())
	}
	b.live = append(b.live, q)
	return q, nil
}

// Cancel ends q before its next step with context.Canceled.
func (b *Batcher) Cancel(q *Sequence) {
	if !q.done {
		q.done, q.err = true, context.Canceled
	}
}

// Run steps until every sequence has finished.
func (b *Batcher) Run(ctx context.Context) error {
	for len(b.live) > 0 {
		if err := b.Step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Step evaluates the prompts of sequences that joined, then decodes one token of every
// sequence; finished sequences leave. An error of one sequence (its context is full,
// its emit failed) ends that sequence only (Sequence.Err); an error of the forward
// pass or a cancelled ctx is returned.
func (b *Batcher) Step(ctx context.Context) error {
	defer b.sweep()
	if err := ctx.Err(); err != nil {
		return err
	}
	for {
		b.reset()
		for _, q := range b.live {
			room := b.BatchSize - len(b.tokens)
			if q.done || q.decoding || room == 0 {
				continue
			}
			hi := min(len(q.prompt), q.fed+room)
			chunk := q.prompt[q.fed:hi]
			var keys []uint64
			if q.keys != nil {
				keys = q.keys[q.fed:hi]
			}
			d, n := b.Model.Config().NEmbd, embdRows(chunk)
			if err := b.push(q, chunk, keys, q.embd[q.rows*d:(q.rows+n)*d]); err != nil {
				q.fail(err)
				continue
			}
			q.fed += len(chunk)
			q.rows += n
			if q.fed == len(q.prompt) {
				b.outputs = append(b.outputs, len(b.tokens)-1)
				b.owners = append(b.owners, q)
			}
		}
		if len(b.tokens) == 0 {
			break
		}
		if err := b.forward(ctx, PhasePrompt); err != nil {
			return err
		}
		for _, q := range b.owners {
			q.gen.prompted(q.gen.st.CachedTokens)
		}
		b.take()
	}

	b.reset()
	for _, q := range b.live {
		if q.done || !q.decoding {
			continue
		}
		done, err := q.gen.room(q.sess)
		switch {
		case err != nil:
			q.fail(err)
			continue
		case done:
			q.finish()
			continue
		}
		if err := b.push(q, q.next[:], nil, nil); err != nil {
			q.fail(err)
			continue
		}
		b.outputs = append(b.outputs, len(b.tokens)-1)
		b.owners = append(b.owners, q)
	}
	if len(b.tokens) == 0 {
		return nil
	}
	if err := b.forward(ctx, PhaseDecode); err != nil {
		return err
	}
	b.take()
	return nil
}

func (b *Batcher) reset() {
	b.tokens, b.outputs, b.owners = b.tokens[:0], b.outputs[:0], b.owners[:0]
	b.embd = b.embd[:0]
	b.batch.Pos, b.batch.Seq, b.batch.Cells = b.batch.Pos[:0], b.batch.Seq[:0], b.batch.Cells[:0]
}

// push adds q's tokens (with their prompt cache keys and the rows of their embedding
// positions) to the batch, evicting idle sequences while cells are short.
func (b *Batcher) push(q *Sequence, tokens []int32, keys []uint64, rows []float32) error {
	for {
		err := q.sess.pushKeys(tokens, keys, &b.batch)
		if err == nil {
			b.tokens = append(b.tokens, tokens...)
			b.embd = append(b.embd, rows...)
			return nil
		}
		if !errors.Is(err, errNoCells) || len(b.idle) == 0 {
			return err
		}
		b.evict()
	}
}

// evict frees the least recently used idle sequence.
func (b *Batcher) evict() {
	b.idle[0].Truncate(0)
	b.idle = b.idle[1:]
}

// freeID is the smallest sequence id no live or idle sequence has, so ids stay small
// (a recurrent model keeps a state row per id).
func (b *Batcher) freeID() int32 {
	for id := int32(0); ; id++ {
		used := false
		for _, q := range b.live {
			used = used || q.sess.Seq == id
		}
		for _, s := range b.idle {
			used = used || s.Seq == id
		}
		if !used {
			return id
		}
	}
}

func (b *Batcher) forward(ctx context.Context, ph Phase) error {
	nv := b.Model.Config().NVocab
	if n := len(b.outputs) * nv; cap(b.logits) < n {
		b.logits = make([]float32, n)
	}
	b.logits = b.logits[:len(b.outputs)*nv]
	b.Profiler.begin(ph, len(b.tokens))
	err := forward(ctx, b.Model, b.tokens, b.embd, &b.batch, b.Cache, b.outputs, b.logits)
	b.Profiler.end()
	if err != nil {
		// The batch's cells hold nothing valid: every sequence in it is lost.
		for _, q := range b.live {
			if !q.done {
				q.fail(err)
			}
		}
		return fmt.Errorf("batch of %d tokens: %w", len(b.tokens), err)
	}
	return nil
}

// take samples each output row for its sequence.
func (b *Batcher) take() {
	nv := b.Model.Config().NVocab
	for i, q := range b.owners {
		id, done, err := q.gen.next(b.logits[i*nv : (i+1)*nv])
		switch {
		case err != nil:
			q.fail(err)
		case done:
			q.finish()
		default:
			q.next[0], q.decoding = id, true
		}
	}
}

func (q *Sequence) fail(err error) {
	q.done, q.err = true, err
}

func (q *Sequence) finish() {
	q.done = true
	q.err = q.gen.finish()
}

// sweep lets finished sequences leave: their sessions become idle (a failed one's
// cells are freed).
func (b *Batcher) sweep() {
	live := b.live[:0]
	for _, q := range b.live {
		if !q.done {
			live = append(live, q)
			continue
		}
		if q.err != nil {
			q.sess.Truncate(0)
		}
		b.retire(q.sess)
	}
	clear(b.live[len(live):])
	b.live = live
}

// retire keeps s as an idle, most recently used sequence (or drops it when empty).
func (b *Batcher) retire(s *Session) {
	if s.Len() == 0 {
		return
	}
	b.idle = append(b.idle, s)
}
