// Package inference runs models: it decides which cache cells a sequence uses,
// prefills prompts in batches, decodes token by token, samples, and streams text.
package inference

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/models"
	"github.com/golem-llm/golem/models/tokenizer"
)

// ErrContextFull is returned when a sequence would outgrow the cache.
var ErrContextFull = errors.New("context is full")

// Sampler picks the next token from a row of logits (inference/sampling's chain).
type Sampler interface {
	Sample(logits []float32) (int32, error)
	// Accept records a token of the sequence (prompt or generated), for samplers
	// with state such as repetition penalties.
	Accept(id int32) error
}

// Greedy picks the largest logit, the lowest id on ties.
type Greedy struct{}

// Sample returns the argmax.
func (Greedy) Sample(logits []float32) (int32, error) {
	if len(logits) == 0 {
		return 0, fmt.Errorf("greedy: no logits")
	}
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return int32(best), nil
}

// Accept does nothing: greedy keeps no state.
func (Greedy) Accept(int32) error { return nil }

// Session is one sequence in a cache: the tokens it holds and where.
type Session struct {
	Model     models.Model
	Cache     *backend.KVCache
	BatchSize int
	Seq       int32

	tokens []int32
	logits []float32 // the last row's logits
}

// NewSession starts an empty sequence in cache.
func NewSession(m models.Model, cache *backend.KVCache, batchSize int) *Session {
	if batchSize <= 0 {
		batchSize = 512
	}
	return &Session{Model: m, Cache: cache, BatchSize: batchSize}
}

// Len is the number of tokens in the sequence.
func (s *Session) Len() int { return len(s.tokens) }

// Logits is the last evaluated token's row of logits.
func (s *Session) Logits() []float32 { return s.logits }

// Eval runs tokens through the model in batches of BatchSize, appending them to the
// sequence; afterwards Logits holds the last token's logits. The cell of position p
// is p: one sequence owns the cache.
func (s *Session) Eval(ctx context.Context, tokens []int32) error {
	if len(tokens) == 0 {
		return nil
	}
	if len(s.tokens)+len(tokens) > s.Cache.Size() {
		return fmt.Errorf("%w: %d tokens in the sequence + %d new exceed the context of %d (raise -c/--ctx-size)",
			ErrContextFull, len(s.tokens), len(tokens), s.Cache.Size())
	}
	nv := s.Model.Config().NVocab
	if cap(s.logits) < nv {
		s.logits = make([]float32, nv)
	}
	s.logits = s.logits[:nv]
	for start := 0; start < len(tokens); start += s.BatchSize {
		chunk := tokens[start:min(start+s.BatchSize, len(tokens))]
		batch := &backend.Batch{}
		for range chunk {
			p := int32(len(s.tokens))
			batch.Pos = append(batch.Pos, p)
			batch.Seq = append(batch.Seq, s.Seq)
			batch.Cells = append(batch.Cells, p)
			s.Cache.Cells[p] = backend.Cell{Pos: p, Seq: s.Seq}
			s.tokens = append(s.tokens, 0)
		}
		copy(s.tokens[len(s.tokens)-len(chunk):], chunk)
		var outputs []int
		if start+len(chunk) == len(tokens) {
			outputs = []int{len(chunk) - 1}
		}
		logits := s.logits
		if outputs == nil {
			logits = nil
		}
		if err := s.Model.Forward(ctx, chunk, batch, s.Cache, outputs, logits); err != nil {
			return err
		}
	}
	return nil
}

// StopReason says why generation ended.
type StopReason string

const (
	StopEOG    StopReason = "eog"     // the model produced an end-of-generation token
	StopLength StopReason = "length"  // the requested number of tokens was reached
	StopCtx    StopReason = "context" // the context is full (only when no limit was asked for)
)

// Stats measure one generation.
type Stats struct {
	PromptTokens, GeneratedTokens int
	PromptTime, GenTime           time.Duration
	Stop                          StopReason
}

// GenerateOptions configure Generate.
type GenerateOptions struct {
	// MaxTokens is the number of new tokens; 0 or less means until an end-of-generation
	// token or a full context.
	MaxTokens int
	// Sampler picks tokens; nil means greedy.
	Sampler Sampler
	// Continuation: the output continues a prompt already shown, so the first
	// piece keeps its leading space.
	Continuation bool
}

// Generate evaluates prompt, then samples up to MaxTokens tokens, calling emit with
// each piece of text as soon as it is complete UTF-8. It stops at the vocabulary's
// end-of-generation tokens.
func Generate(ctx context.Context, s *Session, tok *tokenizer.Tokenizer, prompt []int32, opts GenerateOptions, emit func(string) error) (Stats, error) {
	st := Stats{PromptTokens: len(prompt)}
	sampler := opts.Sampler
	if sampler == nil {
		sampler = Greedy{}
	}
	if len(prompt) == 0 {
		return st, fmt.Errorf("empty prompt: at least one token (such as BOS) is needed")
	}
	t0 := time.Now()
	for _, id := range prompt {
		if err := sampler.Accept(id); err != nil {
			return st, err
		}
	}
	if err := s.Eval(ctx, prompt); err != nil {
		return st, err
	}
	st.PromptTime = time.Since(t0)
	dec := tok.NewStreamDecoder(tokenizer.DecodeOptions{SkipSpecial: true, Continuation: opts.Continuation})
	t1 := time.Now()
	defer func() { st.GenTime = time.Since(t1) }()
	for opts.MaxTokens <= 0 || st.GeneratedTokens < opts.MaxTokens {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		id, err := sampler.Sample(s.Logits())
		if err != nil {
			return st, err
		}
		if err := sampler.Accept(id); err != nil {
			return st, err
		}
		if tok.IsEOG(id) {
			st.Stop = StopEOG
			break
		}
		st.GeneratedTokens++
		piece, err := dec.Add(id)
		if err != nil {
			return st, err
		}
		if piece != "" {
			if err := emit(piece); err != nil {
				return st, err
			}
		}
		if opts.MaxTokens > 0 && st.GeneratedTokens == opts.MaxTokens {
			st.Stop = StopLength
			break
		}
		if opts.MaxTokens <= 0 && s.Len() == s.Cache.Size() {
			st.Stop = StopCtx
			break
		}
		if err := s.Eval(ctx, []int32{id}); err != nil {
			return st, err
		}
	}
	if rest := dec.Flush(); rest != "" {
		if err := emit(rest); err != nil {
			return st, err
		}
	}
	st.GenTime = time.Since(t1)
	return st, nil
}
