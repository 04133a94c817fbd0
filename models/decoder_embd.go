package models

import (
	"context"
	"fmt"

	"github.com/golem-llm/golem/backend"
)

// EmbdToken marks, in the tokens of ForwardEmbeddings, a position whose input is an
// embedding row instead of a token id.
const EmbdToken int32 = -1

// EmbeddingsInput is a model that takes input embeddings in place of token ids at
// some positions: an image's embeddings from a multimodal projector (models/clip),
// say. The shared decoder implements it.
type EmbeddingsInput interface {
	Model
	// ForwardEmbeddings is Forward where each token equal to EmbdToken takes the next
	// row of embd (n_embd values per row, in the order of those tokens) as its input
	// embedding. A row replaces the token-embedding lookup only: whatever the model
	// does to token embeddings next (learned positions, scaling, a norm) it does to
	// these rows too, as llama.cpp does with llama_batch.embd. Positions, sequences
	// and cells come from batch as for tokens, so text, image and text positions
	// simply follow one another.
	ForwardEmbeddings(ctx context.Context, tokens []int32, embd []float32, batch *backend.Batch, cache *backend.KVCache, outputs []int, logits []float32) error
}

// ForwardEmbeddings runs a batch that mixes token ids and input embeddings.
func (m *decoder) ForwardEmbeddings(ctx context.Context, tokens []int32, embd []float32, batch *backend.Batch, cache *backend.KVCache, outputs []int, logits []float32) error {
	d := m.cfg.NEmbd
	rows := 0
	for _, t := range tokens {
		if t == EmbdToken {
			rows++
		}
	}
	if len(embd) != rows*d {
		return fmt.Errorf("forward: %d input-embedding values for %d embedding positions of n_embd %d", len(embd), rows, d)
	}
	if rows == 0 {
		embd = nil // tokens only
	}
	return m.forward(ctx, tokens, embd, batch, cache, outputs, logits)
}

// lookup fills x [n, n_embd] with the inputs of a batch: token embeddings, and the
// rows of embd where tokens holds EmbdToken (embd nil: tokens only).
func (m *decoder) lookup(x backend.Tensor, tokens []int32, embd []float32) error {
	b, d := m.b, m.cfg.NEmbd
	if embd == nil {
		return b.GetRows(x, m.embd, tokens)
	}
	ids := make([]int32, len(tokens))
	for i, t := range tokens {
		if t != EmbdToken {
			ids[i] = t
		}
	}
	if err := b.GetRows(x, m.embd, ids); err != nil {
		return err
	}
	// Overwrite each run of embedding positions with its rows.
	row := 0
	for i := 0; i < len(tokens); {
		if tokens[i] != EmbdToken {
			i++
			continue
		}
		j := i
		for j < len(tokens) && tokens[j] == EmbdToken {
			j++
		}
		v, err := b.View(x, i, j)
		if err != nil {
			return fmt.Errorf("input embeddings: %w", err)
		}
		if err := b.Write(v, embd[row*d:(row+j-i)*d]); err != nil {
			return fmt.Errorf("input embeddings: %w", err)
		}
		row += j - i
		i = j
	}
	return nil
}
