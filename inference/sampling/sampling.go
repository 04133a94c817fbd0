// Package sampling turns a row of logits into a token id through a chain of stages, as llama.cpp's common
// sampler builds it: logit bias first, then the configurable stages in order (by default penalties, top-k,
// typical-p, top-p, min-p, temperature), then a final pick — a seeded draw from the softmax ("dist"), or
// Mirostat in place of the whole configurable part, or greedy when the temperature is 0 or below.
//
// A Sampler holds the state the stages need between tokens (the penalty window, Mirostat's mu, the generator)
// and reuses one candidate buffer, so Sample does not allocate once warm. A Sampler is not safe for concurrent
// use; give each sequence its own.
package sampling

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrInvalidParams is wrapped by every error New returns for a bad Params field; the message names the field.
var ErrInvalidParams = errors.New("sampling: invalid params")

// ErrBadLogits is wrapped by the errors of Sample and Accept for input that does not fit the vocab.
var ErrBadLogits = errors.New("sampling: bad input")

// Params configures a Sampler. The zero value is greedy decoding with every other stage off; DefaultParams is
// llama.cpp's defaults. Where llama.cpp's "off" value is 1 (TopP, TypicalP, RepeatPenalty) a zero here also means
// off, and a zero MirostatTau, MirostatEta or RepeatLastN means llama.cpp's default for it.
type Params struct {
	// Temperature divides the logits before the final draw. 0 or below: greedy (the most likely token, the
	// lowest id on ties), whatever the other stages say — only the logit bias and the penalties still apply.
	// llama.cpp default 0.8.
	Temperature float32
	// TopK keeps the K most likely tokens; 0 is off. llama.cpp default 40.
	TopK int
	// TopP keeps the most likely tokens until their probabilities sum to TopP, in (0, 1]; 0 or 1 is off.
	// llama.cpp default 0.95.
	TopP float32
	// MinP drops tokens less likely than MinP times the most likely one, in [0, 1]; 0 is off. llama.cpp
	// default 0.05.
	MinP float32
	// TypicalP is locally typical sampling's mass, in (0, 1]; 0 or 1 is off (llama.cpp default 1).
	TypicalP float32
	// MinKeep is the fewest tokens top-p, min-p and typical-p may leave; llama.cpp default 0.
	MinKeep int

	// RepeatPenalty divides a positive logit and multiplies a negative one of each token seen in the last
	// RepeatLastN accepted tokens; must be > 0 when set. 0 or 1 is off (llama.cpp default 1).
	RepeatPenalty float32
	// FrequencyPenalty is subtracted from a seen token's logit once per occurrence in the window; 0 is off.
	FrequencyPenalty float32
	// PresencePenalty is subtracted once from the logit of every token seen in the window; 0 is off.
	PresencePenalty float32
	// RepeatLastN is the window of the penalties, in accepted tokens; 0 means llama.cpp's default 64. (llama.cpp's
	// 0 = disabled is neutral penalties here; its -1 = context size is for the caller to resolve.)
	RepeatLastN int

	// LogitBias is added to the listed tokens' logits ahead of every stage; a bias of -Inf bans a token.
	LogitBias []Bias

	// Mirostat: 0 off, 1 Mirostat, 2 Mirostat 2.0. As in llama.cpp, Mirostat replaces the configurable
	// stages: only the logit bias and the temperature run before it.
	Mirostat int
	// MirostatTau is the target surprise in bits; 0 means llama.cpp's default 5.
	MirostatTau float32
	// MirostatEta is the learning rate of mu; 0 means llama.cpp's default 0.1.
	MirostatEta float32

	// Seed seeds the draws: the same seed, logits and accepted tokens give the same tokens. RandomSeed asks
	// for a random one (Sampler.Seed tells which).
	Seed uint32

	// Samplers is the order of the configurable stages by llama.cpp's names ("penalties", "top_k", "typ_p",
	// "top_p", "min_p", "temperature", and its alternative spellings such as "top-k" or "temp"). A stage not
	// listed does not run, as in llama.cpp. nil means DefaultSamplers; an unknown name is an error.
	Samplers []string
}

// DefaultParams returns llama.cpp's default sampling parameters (common_params_sampling), with a random seed.
func DefaultParams() Params {
	return Params{
		Temperature:   0.8,
		TopK:          40,
		TopP:          0.95,
		MinP:          0.05,
		TypicalP:      1,
		RepeatPenalty: 1,
		RepeatLastN:   64,
		MirostatTau:   5,
		MirostatEta:   0.1,
		Seed:          RandomSeed,
	}
}

// Sampler picks tokens from logits with a fixed chain of stages.
type Sampler struct {
	vocab     int
	greedy    bool
	mirostat  bool
	bias      *LogitBias
	penalties *Penalties
	stages    []Stage // the configurable part, in order
	temp      Temperature
	final     Stage
	resetters []interface{ Reset() }

	buf  []Candidate
	cand Candidates
}

// New builds a sampler for a vocab of vocabSize tokens.
func New(p Params, vocabSize int) (*Sampler, error) {
	if vocabSize <= 0 || vocabSize > math.MaxInt32 {
		return nil, fmt.Errorf("%w: vocab size %d", ErrInvalidParams, vocabSize)
	}
	p, kinds, err := p.normalize(vocabSize)
	if err != nil {
		return nil, err
	}
	s := &Sampler{
		vocab:    vocabSize,
		greedy:   p.Temperature <= 0,
		mirostat: p.Mirostat != 0,
		temp:     Temperature{T: p.Temperature},
		buf:      make([]Candidate, vocabSize),
	}
	if len(p.LogitBias) > 0 {
		s.bias = NewLogitBias(p.LogitBias)
	}
	for _, k := range kinds {
		switch k {
		case kindPenalties:
			if s.penalties == nil {
				s.penalties = NewPenalties(vocabSize, p.RepeatLastN, p.RepeatPenalty, p.FrequencyPenalty, p.PresencePenalty)
				s.resetters = append(s.resetters, s.penalties)
			}
			// Listed twice, llama.cpp would make two stages fed the same tokens: the same as one applied twice.
			s.stages = append(s.stages, s.penalties)
		case kindTopK:
			s.stages = append(s.stages, TopK{K: p.TopK})
		case kindTypicalP:
			s.stages = append(s.stages, &TypicalP{P: p.TypicalP, MinKeep: p.MinKeep})
		case kindTopP:
			s.stages = append(s.stages, TopP{P: p.TopP, MinKeep: p.MinKeep})
		case kindMinP:
			s.stages = append(s.stages, MinP{P: p.MinP, MinKeep: p.MinKeep})
		case kindTemperature:
			s.stages = append(s.stages, s.temp)
		}
	}
	switch {
	case s.greedy:
		s.final = Greedy{}
	case p.Mirostat == 1:
		m := NewMirostat(vocabSize, p.Seed, p.MirostatTau, p.MirostatEta, 100)
		s.final = m
		s.resetters = append(s.resetters, m)
	case p.Mirostat == 2:
		m := NewMirostatV2(p.Seed, p.MirostatTau, p.MirostatEta)
		s.final = m
		s.resetters = append(s.resetters, m)
	default:
		d := NewDist(p.Seed)
		s.final = d
		s.resetters = append(s.resetters, d)
	}
	return s, nil
}

// normalize checks every field, fills the zero-means-default ones and resolves the stage order.
func (p Params) normalize(vocabSize int) (Params, []stageKind, error) {
	bad := func(format string, args ...any) (Params, []stageKind, error) {
		return p, nil, fmt.Errorf("%w: "+format, append([]any{ErrInvalidParams}, args...)...)
	}
	finite := func(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }
	unit := func(x float32) bool { return x >= 0 && x <= 1 } // false for NaN

	if !finite(p.Temperature) {
		return bad("Temperature %v is not finite", p.Temperature)
	}
	if p.TopK < 0 {
		return bad("TopK %d is negative (0 is off)", p.TopK)
	}
	if !unit(p.TopP) {
		return bad("TopP %v is outside (0, 1] (0 is off)", p.TopP)
	}
	if !unit(p.MinP) {
		return bad("MinP %v is outside [0, 1]", p.MinP)
	}
	if !unit(p.TypicalP) {
		return bad("TypicalP %v is outside (0, 1] (0 is off)", p.TypicalP)
	}
	if p.MinKeep < 0 {
		return bad("MinKeep %d is negative", p.MinKeep)
	}
	if !finite(p.RepeatPenalty) || p.RepeatPenalty < 0 {
		return bad("RepeatPenalty %v must be > 0 (0 is off)", p.RepeatPenalty)
	}
	if !finite(p.FrequencyPenalty) {
		return bad("FrequencyPenalty %v is not finite", p.FrequencyPenalty)
	}
	if !finite(p.PresencePenalty) {
		return bad("PresencePenalty %v is not finite", p.PresencePenalty)
	}
	if p.RepeatLastN < 0 {
		return bad("RepeatLastN %d is negative (resolve llama.cpp's -1 to the context size first)", p.RepeatLastN)
	}
	if p.Mirostat < 0 || p.Mirostat > 2 {
		return bad("Mirostat %d is not 0, 1 or 2", p.Mirostat)
	}
	if !finite(p.MirostatTau) || p.MirostatTau < 0 {
		return bad("MirostatTau %v must be >= 0", p.MirostatTau)
	}
	if !finite(p.MirostatEta) || p.MirostatEta < 0 {
		return bad("MirostatEta %v must be >= 0", p.MirostatEta)
	}
	for i, b := range p.LogitBias {
		if b.Token < 0 || int(b.Token) >= vocabSize {
			return bad("LogitBias[%d].Token %d is outside the vocab of %d", i, b.Token, vocabSize)
		}
		if math.IsNaN(float64(b.Bias)) || math.IsInf(float64(b.Bias), 1) {
			return bad("LogitBias[%d].Bias %v must be finite or -Inf", i, b.Bias)
		}
	}
	names := p.Samplers
	if names == nil {
		names = DefaultSamplers
	}
	kinds := make([]stageKind, 0, len(names))
	for i, name := range names {
		k, err := lookupStage(name)
		if err != nil {
			return p, nil, fmt.Errorf("Samplers[%d]: %w", i, err)
		}
		kinds = append(kinds, k)
	}

	if p.TopP == 0 {
		p.TopP = 1
	}
	if p.TypicalP == 0 {
		p.TypicalP = 1
	}
	if p.RepeatPenalty == 0 {
		p.RepeatPenalty = 1
	}
	if p.RepeatLastN == 0 {
		p.RepeatLastN = 64
	}
	if p.MirostatTau == 0 {
		p.MirostatTau = 5
	}
	if p.MirostatEta == 0 {
		p.MirostatEta = 0.1
	}
	return p, kinds, nil
}

// Sample picks the next token from one row of logits (one per vocab entry). It does not record the token:
// call Accept with it.
func (s *Sampler) Sample(logits []float32) (int32, error) {
	if len(logits) != s.vocab {
		return -1, fmt.Errorf("%w: %d logits for a vocab of %d", ErrBadLogits, len(logits), s.vocab)
	}
	items := s.buf[:s.vocab]
	for i, l := range logits {
		if l != l || l > math.MaxFloat32 {
			return -1, fmt.Errorf("%w: logit of token %d is %v", ErrBadLogits, i, l)
		}
		items[i] = Candidate{ID: int32(i), Logit: l}
	}
	s.cand = Candidates{Items: items, Selected: -1}
	c := &s.cand
	if s.bias != nil {
		s.bias.Apply(c)
	}
	switch {
	case s.greedy:
		for _, st := range s.stages {
			if _, ok := st.(*Penalties); ok {
				st.Apply(c)
			}
		}
	case s.mirostat:
		s.temp.Apply(c)
	default:
		for _, st := range s.stages {
			st.Apply(c)
		}
	}
	s.final.Apply(c)
	if c.Selected < 0 || c.Selected >= len(c.Items) {
		return -1, fmt.Errorf("%w: no token can be sampled (every remaining logit is -Inf)", ErrBadLogits)
	}
	return c.Items[c.Selected].ID, nil
}

// Accept records a token of the sequence for the penalties. Feed the prompt's tokens too, as llama.cpp does.
func (s *Sampler) Accept(token int32) error {
	if token < 0 || int(token) >= s.vocab {
		return fmt.Errorf("%w: token %d is outside the vocab of %d", ErrBadLogits, token, s.vocab)
	}
	if s.penalties != nil {
		s.penalties.Accept(token)
	}
	return nil
}

// Reset forgets the accepted tokens, puts Mirostat's mu back to 2·tau and reseeds the generator, so that the
// sampler behaves as if new.
func (s *Sampler) Reset() {
	for _, r := range s.resetters {
		r.Reset()
	}
}

// Seed is the seed the draws use (the one drawn for RandomSeed); 0 for a greedy sampler, which draws nothing.
func (s *Sampler) Seed() uint32 {
	if sd, ok := s.final.(interface{ Seed() uint32 }); ok {
		return sd.Seed()
	}
	return 0
}

// Mu is Mirostat's current mu, and false when the sampler does not use Mirostat.
func (s *Sampler) Mu() (float32, bool) {
	if m, ok := s.final.(interface{ Mu() float32 }); ok {
		return m.Mu(), true
	}
	return 0, false
}

// Candidates is what the chain left after the last Sample: the surviving tokens and, for dist and Mirostat,
// their probabilities. It is overwritten by the next Sample.
func (s *Sampler) Candidates() *Candidates { return &s.cand }

// String describes the chain as it runs, like llama.cpp's common_sampler_print.
func (s *Sampler) String() string {
	var b strings.Builder
	b.WriteString("logits")
	add := func(st Stage) { b.WriteString(" -> "); b.WriteString(st.Name()) }
	if s.bias != nil {
		add(s.bias)
	}
	switch {
	case s.greedy:
		for _, st := range s.stages {
			if _, ok := st.(*Penalties); ok {
				add(st)
			}
		}
	case s.mirostat:
		add(s.temp)
	default:
		for _, st := range s.stages {
			add(st)
		}
	}
	add(s.final)
	return b.String()
}
