package inference

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/models"
	"github.com/golem-llm/golem/models/tokenizer"
)

// Prompt is a prompt that mixes token ids and input embeddings (an image's rows from
// a multimodal projector): Tokens holds models.EmbdToken at each position whose input
// is a row of Embd, and Embd those rows in order, n_embd values each. Positions simply
// follow one another through text, image and text.
//
// The prompt cache keys each embedding position by a hash of its row, so a cached
// sequence is reused only as far as its rows are the same: two different images never
// share cells.
type Prompt struct {
	Tokens []int32
	Embd   []float32
}

// TokenPrompt is a prompt of token ids only.
func TokenPrompt(ids []int32) Prompt { return Prompt{Tokens: ids} }

// Rows is the number of embedding positions.
func (p Prompt) Rows() int { return embdRows(p.Tokens) }

func embdRows(tokens []int32) int {
	n := 0
	for _, t := range tokens {
		if t == models.EmbdToken {
			n++
		}
	}
	return n
}

// check makes sure m can take p: as many rows as embedding positions, and a model
// that takes input embeddings when there are any.
func (p Prompt) check(m models.Model) error {
	n := p.Rows()
	d := m.Config().NEmbd
	if len(p.Embd) != n*d {
		return fmt.Errorf("prompt: %d input-embedding values for %d embedding positions of n_embd %d", len(p.Embd), n, d)
	}
	if n > 0 {
		if _, ok := m.(models.EmbeddingsInput); !ok {
			return fmt.Errorf("prompt: the %s model does not take input embeddings (images)", m.Config().Arch)
		}
	}
	return nil
}

// keys are the prompt cache's keys of p's positions: 0 for a token id, a non-zero
// 64-bit hash of the row's bits for an embedding position (nil when there is none).
func (p Prompt) keys(d int) []uint64 {
	if len(p.Embd) == 0 {
		return nil
	}
	keys := make([]uint64, len(p.Tokens))
	h := fnv.New64a()
	var buf []byte
	row := 0
	for i, t := range p.Tokens {
		if t != models.EmbdToken {
			continue
		}
		h.Reset()
		buf = buf[:0]
		for _, v := range p.Embd[row*d : (row+1)*d] {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		h.Write(buf)
		keys[i] = max(h.Sum64(), 1)
		row++
	}
	return keys
}

// forward runs a batch of tokens, with the rows of its embedding positions (none:
// a plain Forward).
func forward(ctx context.Context, m models.Model, tokens []int32, embd []float32, b *backend.Batch, cache *backend.KVCache, outputs []int, logits []float32) error {
	if len(embd) == 0 && embdRows(tokens) == 0 {
		return m.Forward(ctx, tokens, b, cache, outputs, logits)
	}
	em, ok := m.(models.EmbeddingsInput)
	if !ok {
		return fmt.Errorf("the %s model does not take input embeddings (images)", m.Config().Arch)
	}
	return em.ForwardEmbeddings(ctx, tokens, embd, b, cache, outputs, logits)
}

// commonPrefix is how many of the sequence's positions prompt shares: the same
// token and the same key (keys nil: all 0).
func (s *Session) commonPrefix(prompt []int32, keys []uint64) int {
	n := 0
	for n < len(s.tokens) && n < len(prompt) && s.tokens[n] == prompt[n] {
		var k uint64
		if keys != nil {
			k = keys[n]
		}
		if n < len(s.keys) && s.keys[n] != k {
			break
		}
		n++
	}
	return n
}

// EvalPrompt is Eval for a prompt that mixes token ids and input embeddings.
func (s *Session) EvalPrompt(ctx context.Context, p Prompt) error {
	if err := p.check(s.Model); err != nil {
		return err
	}
	phase := PhaseDecode
	if len(p.Tokens) > 1 {
		phase = PhasePrompt
	}
	return s.evalRows(ctx, p.Tokens, p.keys(s.Model.Config().NEmbd), p.Embd, phase)
}

// PrefillPrompt is Prefill for a prompt that mixes token ids and input embeddings:
// the cached prefix it reuses ends where a row differs from the cached one.
func (s *Session) PrefillPrompt(ctx context.Context, p Prompt) (int, error) {
	if err := p.check(s.Model); err != nil {
		return 0, err
	}
	d := s.Model.Config().NEmbd
	keys := p.keys(d)
	keep := s.reusableKeys(p.Tokens, keys)
	s.Truncate(keep)
	rest := keys
	if rest != nil {
		rest = rest[keep:]
	}
	skip := embdRows(p.Tokens[:keep])
	return keep, s.evalRows(ctx, p.Tokens[keep:], rest, p.Embd[skip*d:], PhasePrompt)
}

// GeneratePrompt is Generate for a prompt that mixes token ids and input embeddings
// (an image's rows at models.EmbdToken positions).
func GeneratePrompt(ctx context.Context, s *Session, tok *tokenizer.Tokenizer, p Prompt, opts GenerateOptions, emit func(string) error) (Stats, error) {
	if err := p.check(s.Model); err != nil {
		return Stats{PromptTokens: len(p.Tokens)}, err
	}
	return generate(ctx, s, tok, p, opts, emit)
}

// AddPrompt is Add for a prompt that mixes token ids and input embeddings.
func (b *Batcher) AddPrompt(p Prompt, opts GenerateOptions, emit func(string) error) (*Sequence, error) {
	if err := p.check(b.Model); err != nil {
		return nil, err
	}
	return b.add(p, opts, emit)
}
