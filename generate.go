package golem

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/golem-llm/golem/inference"
	"github.com/golem-llm/golem/inference/sampling"
	"github.com/golem-llm/golem/models"
)

// RandomSeed as GenerateOptions.Seed draws a random seed for each generation.
const RandomSeed = sampling.RandomSeed

// GenerateOptions configure a generation. The zero value is greedy decoding (the most
// likely token, the lowest id on ties) until an end-of-generation token or a full
// context, with no other sampling stage: deterministic output. DefaultGenerateOptions
// returns llama.cpp's sampling defaults instead.
//
// The sampling fields follow llama.cpp's sampler chain (penalties, top-k, typical-p,
// top-p, min-p, temperature, then a seeded draw; or Mirostat): where llama.cpp's "off"
// value is 1 (TopP, TypicalP, RepeatPenalty) a zero here is off as well.
type GenerateOptions struct {
	// MaxTokens is the most new tokens (the prompt does not count); 0 or less means
	// until an end-of-generation token or a full context (which then ends it).
	MaxTokens int

	// Temperature divides the logits before the draw; 0 or less is greedy, whatever
	// the other stages say (only the penalties still apply).
	Temperature float32
	// TopK keeps the K most likely tokens; 0 is off.
	TopK int
	// TopP keeps the most likely tokens until their probabilities sum to TopP; 0 or
	// 1 is off.
	TopP float32
	// MinP drops tokens less likely than MinP times the most likely one; 0 is off.
	MinP float32
	// TypicalP is locally typical sampling's mass; 0 or 1 is off.
	TypicalP float32
	// RepeatPenalty divides the positive logits (multiplies the negative ones) of the
	// tokens seen in the last RepeatLastN tokens; 0 or 1 is off.
	RepeatPenalty float32
	// RepeatLastN is the penalties' window in tokens; 0 means 64, -1 the whole
	// context of the sequence.
	RepeatLastN int
	// PresencePenalty and FrequencyPenalty are subtracted from a seen token's logit,
	// once and once per occurrence; 0 is off.
	PresencePenalty, FrequencyPenalty float32
	// Mirostat is 0 (off), 1 or 2 (Mirostat 2.0); it replaces top-k/p, min-p and
	// typical-p. MirostatTau (target surprise; 0 means 5) and MirostatEta (learning
	// rate; 0 means 0.1) tune it.
	Mirostat                 int
	MirostatTau, MirostatEta float32
	// Seed seeds the draws: the same seed, model and prompt give the same text.
	// RandomSeed draws one.
	Seed uint32
	// Samplers orders the stages by llama.cpp's names ("penalties", "top_k",
	// "typ_p", "top_p", "min_p", "temperature"); a stage not listed does not run.
	// nil means llama.cpp's order.
	Samplers []string

	// Stop strings end generation; they are matched across tokens and not returned.
	Stop []string
	// ContextShift: when the sequence's context is full, drop the oldest half of the
	// tokens after the first Keep prompt tokens (and BOS) and go on, as llama.cpp
	// does; otherwise a full context is an error (or, with no MaxTokens, the end).
	ContextShift bool
	// Keep is the number of prompt tokens after BOS a context shift keeps; -1 means
	// the whole prompt.
	Keep int

	// Stats, when not nil, receives the generation's statistics once it has ended
	// (before the iterator returns).
	Stats *Stats

	// Images go into the prompt of Generate, GenerateTokens and GenerateBatch (the
	// model needs LoadOptions.MMProj): at the prompt text's ImageMarkers in order, or,
	// when the text has none, first after BOS. Chat takes images in Message.Images.
	Images []Image
}

// DefaultGenerateOptions returns llama.cpp's default sampling (common_params_sampling):
// temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, a random seed, no token limit.
func DefaultGenerateOptions() GenerateOptions {
	d := sampling.DefaultParams()
	return GenerateOptions{
		Temperature:   d.Temperature,
		TopK:          d.TopK,
		TopP:          d.TopP,
		MinP:          d.MinP,
		TypicalP:      d.TypicalP,
		RepeatPenalty: d.RepeatPenalty,
		RepeatLastN:   d.RepeatLastN,
		MirostatTau:   d.MirostatTau,
		MirostatEta:   d.MirostatEta,
		Seed:          RandomSeed,
	}
}

// StopReason says why a generation ended.
type StopReason string

// Why generations end.
const (
	StopEOG     StopReason = "eog"         // the model produced an end-of-generation token
	StopLength  StopReason = "length"      // MaxTokens were generated
	StopString  StopReason = "stop-string" // a stop string was produced (Stats.StopString)
	StopContext StopReason = "context"     // the context is full (no MaxTokens was given)
)

// Stats measure one generation.
type Stats struct {
	// PromptTokens is the prompt's length; CachedTokens how many of them were reused
	// from an earlier generation's cells (the prompt cache) rather than evaluated.
	PromptTokens, CachedTokens int
	// GeneratedTokens counts the new tokens (an end-of-generation token excluded).
	GeneratedTokens int
	// PromptTime is the prompt's evaluation, GenTime the rest; FirstToken the time
	// from the start to the first sampled token.
	PromptTime, GenTime, FirstToken time.Duration
	// Shifts counts context shifts.
	Shifts int
	// Stop says why the generation ended ("" when it failed or was cancelled).
	Stop StopReason
	// StopString is the stop string that ended it.
	StopString string
}

func statsOf(st inference.Stats) Stats {
	return Stats{
		PromptTokens: st.PromptTokens, CachedTokens: st.CachedTokens, GeneratedTokens: st.GeneratedTokens,
		PromptTime: st.PromptTime, GenTime: st.GenTime, FirstToken: st.FirstToken,
		Shifts: st.Shifts, Stop: StopReason(st.Stop), StopString: st.StopString,
	}
}

func (st Stats) internal() inference.Stats {
	return inference.Stats{
		PromptTokens: st.PromptTokens, CachedTokens: st.CachedTokens, GeneratedTokens: st.GeneratedTokens,
		PromptTime: st.PromptTime, GenTime: st.GenTime, FirstToken: st.FirstToken,
		Shifts: st.Shifts, Stop: inference.StopReason(st.Stop), StopString: st.StopString,
	}
}

// sampler builds the sampling chain of opts for a sequence of nctx tokens.
func (m *Model) sampler(opts GenerateOptions) (inference.Sampler, error) {
	p := sampling.Params{
		Temperature: opts.Temperature, TopK: opts.TopK, TopP: opts.TopP, MinP: opts.MinP,
		TypicalP: opts.TypicalP, RepeatPenalty: opts.RepeatPenalty, RepeatLastN: opts.RepeatLastN,
		PresencePenalty: opts.PresencePenalty, FrequencyPenalty: opts.FrequencyPenalty,
		Mirostat: opts.Mirostat, MirostatTau: opts.MirostatTau, MirostatEta: opts.MirostatEta,
		Seed: opts.Seed, Samplers: opts.Samplers,
	}
	if p.RepeatLastN == -1 {
		p.RepeatLastN = m.info.SequenceContext
	}
	return sampling.New(p, m.info.VocabSize)
}

// request makes a generation of the token ids, not yet submitted.
func (m *Model) request(ctx context.Context, ids []int32, opts GenerateOptions, continuation bool) (*request, error) {
	if !m.info.Generates {
		return nil, fmt.Errorf("the %s model does not generate text: %w", m.info.Architecture, models.ErrNoLMHead)
	}
	if len(ids) == 0 {
		return nil, errors.New("the prompt is empty and the vocabulary adds no BOS token: nothing to start from")
	}
	s, err := m.sampler(opts)
	if err != nil {
		return nil, fmt.Errorf("%w", err)
	}
	g := inference.GenerateOptions{
		MaxTokens: opts.MaxTokens, Sampler: s, Continuation: continuation, Stop: opts.Stop,
		ContextShift: opts.ContextShift, Keep: -1,
	}
	if opts.Keep >= 0 {
		g.Keep = opts.Keep
		if m.tok.AddBOS() {
			g.Keep++ // the BOS token is always kept, as in llama.cpp
		}
	}
	return newRequest(ctx, ids, g), nil
}

// Generate continues prompt, yielding the new text piece by piece as it is produced
// (each piece whole UTF-8, never part of a stop string); a failure is yielded last, as
// ("", err). BOS is added as the vocabulary says. Breaking out of the loop or
// cancelling ctx stops the generation within one token; the error is then ctx's.
func (m *Model) Generate(ctx context.Context, prompt string, opts GenerateOptions) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		if len(opts.Images) > 0 {
			m.generateImages(ctx, prompt, opts, yield)
			return
		}
		ids := m.tok.Encode(prompt, true, false)
		m.stream(ctx, ids, opts, prompt != "", yield)
	}
}

// stream submits a generation of ids and yields its pieces.
func (m *Model) stream(ctx context.Context, ids []int32, opts GenerateOptions, continuation bool, yield func(string, error) bool) {
	m.streamPrompt(ctx, inference.TokenPrompt(ids), opts, continuation, yield)
}

// streamPrompt is stream for a prompt that may hold image rows.
func (m *Model) streamPrompt(ctx context.Context, p inference.Prompt, opts GenerateOptions, continuation bool, yield func(string, error) bool) {
	ids := p.Tokens
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r, err := m.request(ctx, ids, opts, continuation)
	if err == nil {
		r.embd = p.Embd
		err = m.eng.submit(r)
	}
	if err != nil {
		if opts.Stats != nil {
			*opts.Stats = Stats{PromptTokens: len(ids)}
		}
		yield("", err)
		return
	}
	for {
		pieces, done := m.eng.wait(r)
		for _, p := range pieces {
			if ctx.Err() != nil {
				break // cancelled: done says so below
			}
			if !yield(p, nil) {
				// An early exit: stop the generation, let the engine release it.
				cancel()
				m.eng.drain(r)
				if opts.Stats != nil {
					*opts.Stats = statsOf(r.stats)
				}
				return
			}
		}
		if ctx.Err() != nil && !done {
			m.eng.drain(r)
			done = true
		}
		if done {
			if opts.Stats != nil {
				*opts.Stats = statsOf(r.stats)
			}
			err := r.err
			if ctx.Err() != nil {
				err = ctx.Err() // cancelled: whatever was left unread is dropped
			}
			if err != nil {
				yield("", err)
			}
			return
		}
	}
}

// Result is one generation of GenerateBatch.
type Result struct {
	// Text is the generated text (without the prompt).
	Text  string
	Stats Stats
	// Err is why this generation failed (nil when it ended normally).
	Err error
}

// GenerateBatch runs a generation for each prompt, Parallel at a time in one batch (in
// the order given, each with its own sampler seeded by opts.Seed), and returns them
// once all have ended. opts.Stats is ignored: each Result has its own. The error is
// ctx's when it was cancelled; a failure of one prompt is in its Result.
func (m *Model) GenerateBatch(ctx context.Context, prompts []string, opts GenerateOptions) ([]Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts.Stats = nil
	res := make([]Result, len(prompts))
	var rs []*request
	var idx []int
	for i, p := range prompts {
		pr, err := m.textPrompt(ctx, p, opts.Images)
		var r *request
		if err == nil {
			r, err = m.request(ctx, pr.Tokens, opts, true)
		}
		if err != nil {
			res[i].Err = err
			continue
		}
		r.embd = pr.Embd
		rs = append(rs, r)
		idx = append(idx, i)
	}
	if err := m.eng.submit(rs...); err != nil {
		return nil, err
	}
	for k, r := range rs {
		var sb strings.Builder
		for {
			pieces, done := m.eng.wait(r)
			for _, p := range pieces {
				sb.WriteString(p)
			}
			if done {
				break
			}
		}
		res[idx[k]] = Result{Text: sb.String(), Stats: statsOf(r.stats), Err: r.err}
	}
	return res, ctx.Err()
}
