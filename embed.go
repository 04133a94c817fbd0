package golem

import (
	"context"
	"errors"
	"fmt"

	"github.com/golem-llm/golem/models"
)

// EmbedOptions configure Embed. The zero value pools as the model's file says and
// does not normalise.
type EmbedOptions struct {
	// Pooling is "mean", "cls", "last" or "none" (every token's vector, flattened
	// [n_tokens][n_embd]); "" means the model's pooling_type.
	Pooling string
	// Normalize scales each vector (each token's, with "none") to unit L2 norm.
	Normalize bool
}

// Embed returns one vector of Info().EmbeddingSize values per text (with pooling
// "none", each text's token vectors one after another). Each text is tokenized with
// the vocabulary's special tokens ([CLS] ... [SEP]) and attends only to itself; texts
// share forward passes of up to the batch size. Models without embeddings (the
// decoder-only ones) return an error.
func (m *Model) Embed(ctx context.Context, texts []string, opts EmbedOptions) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, errors.New("embed: no texts")
	}
	seqs := make([][]int32, len(texts))
	for i, t := range texts {
		seqs[i] = m.tok.Encode(t, true, false)
		if len(seqs[i]) == 0 {
			return nil, fmt.Errorf("embed: text %d (%q) gives no tokens", i, t)
		}
	}
	return m.EmbedTokens(ctx, seqs, opts)
}

// EmbedTokens is Embed of token sequences, used as given (no [CLS]/[SEP] added).
func (m *Model) EmbedTokens(ctx context.Context, seqs [][]int32, opts EmbedOptions) ([][]float32, error) {
	e, ok := m.model.(models.Embedder)
	if !ok {
		return nil, fmt.Errorf("the %s model does not produce embeddings (embedding models: bert)", m.info.Architecture)
	}
	if len(seqs) == 0 {
		return nil, errors.New("embed: no sequences")
	}
	pool := e.Pooling()
	if opts.Pooling != "" {
		p, err := models.ParsePooling(opts.Pooling)
		if err != nil {
			return nil, fmt.Errorf("embed: %w", err)
		}
		pool = p
	}
	for i, s := range seqs {
		if len(s) == 0 {
			return nil, fmt.Errorf("embed: sequence %d is empty", i)
		}
		if len(s) > m.info.BatchSize {
			return nil, fmt.Errorf("embed: sequence %d has %d tokens, more than the batch size %d", i, len(s), m.info.BatchSize)
		}
		for _, id := range s {
			if id < 0 || int(id) >= m.info.VocabSize {
				return nil, fmt.Errorf("embed: sequence %d: token id %d is outside the vocabulary (%d tokens)", i, id, m.info.VocabSize)
			}
		}
	}
	var out [][]float32
	err := m.eng.run(ctx, func(ctx context.Context) error {
		for start := 0; start < len(seqs); {
			end, n := start, 0
			for end < len(seqs) && n+len(seqs[end]) <= m.info.BatchSize {
				n += len(seqs[end])
				end++
			}
			vecs, err := e.Embed(ctx, seqs[start:end], pool)
			if err != nil {
				return err
			}
			out = append(out, vecs...)
			start = end
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	if opts.Normalize {
		d := m.info.EmbeddingSize
		for _, v := range out {
			for i := 0; i+d <= len(v); i += d {
				models.Normalize(v[i : i+d])
			}
		}
	}
	return out, nil
}
