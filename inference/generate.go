// Package inference runs models: it decides which cache cells a sequence uses,
// prefills prompts in batches, decodes token by token, samples, and streams text.
package inference

import (
	"context"
	"fmt"
	"time"

	"github.com/golem-llm/golem/models/tokenizer"
)

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

// StopReason says why generation ended.
type StopReason string

const (
	StopEOG    StopReason = "eog"         // the model produced an end-of-generation token
	StopLength StopReason = "length"      // the requested number of tokens was reached
	StopString StopReason = "stop-string" // a stop string was produced (Stats.StopString)
	StopCtx    StopReason = "context"     // the context is full (only when no limit was asked for)
)

// Stats measure one generation.
type Stats struct {
	PromptTokens, GeneratedTokens int
	// CachedTokens are prompt tokens whose cells were reused, not evaluated again.
	CachedTokens int
	// PromptTime is the prompt's evaluation; GenTime the rest; FirstToken the time
	// from the start to the first sampled token.
	PromptTime, GenTime, FirstToken time.Duration
	// Shifts counts context shifts.
	Shifts int
	Stop   StopReason
	// StopString is the stop string that ended generation (Stop == StopString).
	StopString string
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
	// Stop strings end generation; they are matched across token boundaries and never
	// emitted (text that may start one is held back until it cannot).
	Stop []string
	// ContextShift: when the sequence is full, drop the oldest half of the tokens after
	// the first Keep and go on (Session.Shift); otherwise a full context is an error
	// (or, with no MaxTokens, the end).
	ContextShift bool
	// Keep is the number of tokens at the start of the sequence (BOS included) a
	// context shift keeps; less than 0 means the whole prompt.
	Keep int
}

// generation is one sequence's decoding state: its sampler, the text decoder, the stop
// strings and the statistics. Generate and Batch share it.
type generation struct {
	opts    GenerateOptions
	sampler Sampler
	tok     *tokenizer.Tokenizer
	dec     *tokenizer.StreamDecoder
	stop    stopFilter
	emit    func(string) error
	keep    int
	st      Stats
	t0, t1  time.Time
	stopped bool    // a stop string was found: nothing more is emitted
	ids     []int32 // the generated tokens
}

func newGeneration(tok *tokenizer.Tokenizer, prompt []int32, opts GenerateOptions, emit func(string) error) (*generation, error) {
	g := &generation{opts: opts, sampler: opts.Sampler, tok: tok, emit: emit, t0: time.Now()}
	g.st.PromptTokens = len(prompt)
	if g.sampler == nil {
		g.sampler = Greedy{}
	}
	if g.emit == nil {
		g.emit = func(string) error { return nil }
	}
	if len(prompt) == 0 {
		return nil, fmt.Errorf("empty prompt: at least one token (such as BOS) is needed")
	}
	for _, s := range opts.Stop {
		if s != "" {
			g.stop.stops = append(g.stop.stops, s)
		}
	}
	g.keep = opts.Keep
	if g.keep < 0 || g.keep > len(prompt) {
		g.keep = len(prompt)
	}
	for _, id := range prompt {
		if id < 0 {
			continue // an input-embedding position (models.EmbdToken) is no token
		}
		if err := g.sampler.Accept(id); err != nil {
			return nil, err
		}
	}
	g.dec = tok.NewStreamDecoder(tokenizer.DecodeOptions{SkipSpecial: true, Continuation: opts.Continuation})
	return g, nil
}

// prompted records the end of the prompt's evaluation.
func (g *generation) prompted(cached int) {
	g.st.CachedTokens = cached
	g.t1 = time.Now()
	g.st.PromptTime = g.t1.Sub(g.t0)
}

// next samples a token from logits and takes it: counts it, emits its text and
// decides whether generation is over.
func (g *generation) next(logits []float32) (id int32, done bool, err error) {
	id, err = g.sampler.Sample(logits)
	if err != nil {
		return 0, true, err
	}
	if g.st.FirstToken == 0 {
		g.st.FirstToken = time.Since(g.t0)
	}
	if err := g.sampler.Accept(id); err != nil {
		return 0, true, err
	}
	if g.tok.IsEOG(id) {
		g.st.Stop = StopEOG
		return id, true, nil
	}
	g.st.GeneratedTokens++
	g.ids = append(g.ids, id)
	piece, err := g.dec.Add(id)
	if err != nil {
		return 0, true, err
	}
	if piece != "" {
		out, stop, found := g.stop.add(piece)
		if out != "" {
			if err := g.emit(out); err != nil {
				return 0, true, err
			}
		}
		if found {
			g.st.Stop, g.st.StopString, g.stopped = StopString, stop, true
			return id, true, nil
		}
	}
	if g.opts.MaxTokens > 0 && g.st.GeneratedTokens >= g.opts.MaxTokens {
		g.st.Stop = StopLength
		return id, true, nil
	}
	return id, false, nil
}

// room makes sure s can take one more token: it shifts the context when asked to,
// ends generation at a full context when no limit was asked for, and fails otherwise.
func (g *generation) room(s *Session) (done bool, err error) {
	if s.Len() < s.Limit() {
		return false, nil
	}
	switch {
	case g.opts.ContextShift:
		if _, err := s.Shift(g.keep); err != nil {
			return true, err
		}
		g.st.Shifts++
		return false, nil
	case g.opts.MaxTokens <= 0:
		g.st.Stop = StopCtx
		return true, nil
	}
	return true, fmt.Errorf("%w: %d tokens fill the context of %d after %d generated (raise -c/--ctx-size or use --context-shift)",
		ErrContextFull, s.Len(), s.Limit(), g.st.GeneratedTokens)
}

// finish emits the text still held back (unless a stop string ended generation).
func (g *generation) finish() error {
	g.st.GenTime = time.Since(g.t1)
	if g.stopped {
		return nil
	}
	rest := g.dec.Flush()
	out, stop, found := g.stop.add(rest)
	if found {
		g.st.Stop, g.st.StopString = StopString, stop
	} else {
		out += g.stop.flush()
	}
	if out != "" {
		return g.emit(out)
	}
	return nil
}

// Generate evaluates prompt (reusing the cells of the prefix it shares with what s
// holds), then samples up to MaxTokens tokens, calling emit with each piece of text as
// soon as it is complete UTF-8 and cannot be part of a stop string. It stops at the
// vocabulary's end-of-generation tokens, at stop strings and at the token limit; a
// full context is shifted or ends generation as opts say. Cancelling ctx stops it
// within one token.
func Generate(ctx context.Context, s *Session, tok *tokenizer.Tokenizer, prompt []int32, opts GenerateOptions, emit func(string) error) (Stats, error) {
	return generate(ctx, s, tok, TokenPrompt(prompt), opts, emit)
}

func generate(ctx context.Context, s *Session, tok *tokenizer.Tokenizer, p Prompt, opts GenerateOptions, emit func(string) error) (Stats, error) {
	prompt := p.Tokens
	g, err := newGeneration(tok, prompt, opts, emit)
	if err != nil {
		return Stats{PromptTokens: len(prompt)}, err
	}
	if len(prompt) > s.Limit() {
		return g.st, fmt.Errorf("%w: the prompt of %d tokens exceeds the context of %d (raise -c/--ctx-size)",
			ErrContextFull, len(prompt), s.Limit())
	}
	var cached int
	if len(p.Embd) > 0 {
		cached, err = s.PrefillPrompt(ctx, p)
	} else {
		cached, err = s.Prefill(ctx, prompt)
	}
	if err != nil {
		return g.st, err
	}
	g.prompted(cached)
	var one [1]int32
	for {
		if err := ctx.Err(); err != nil {
			return g.st, err
		}
		id, done, err := g.next(s.Logits())
		if err != nil {
			return g.st, err
		}
		if done {
			break
		}
		if done, err := g.room(s); err != nil || done {
			if err != nil {
				return g.st, err
			}
			break
		}
		one[0] = id
		if err := s.eval(ctx, one[:], PhaseDecode); err != nil {
			return g.st, err
		}
	}
	err = g.finish()
	return g.st, err
}
