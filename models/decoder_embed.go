package models

import (
	"context"
	"fmt"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

// Pooling is a decoder's default pooling for embeddings: the last token, whose
// causal attention has seen the whole sequence (llama.cpp's LLAMA_POOLING_TYPE_LAST
// for decoder embedding models), unless the file's <arch>.pooling_type says otherwise.
func (m *decoder) Pooling() Pooling {
	if v, err := m.meta.Uint(m.cfg.Arch + ".pooling_type"); err == nil {
		if _, ok := poolingNames[Pooling(v)]; ok {
			return Pooling(v)
		}
	}
	return PoolLast
}

// Embed runs each sequence through the decoder (causally, each in its own sequence of
// a fresh cache) and pools the final-normalised hidden states, as llama.cpp does for a
// decoder with embeddings enabled.
func (m *decoder) Embed(ctx context.Context, seqs [][]int32, pooling Pooling) ([][]float32, error) {
	cfg, b := m.cfg, m.b
	if _, ok := poolingNames[pooling]; !ok {
		return nil, fmt.Errorf("embed: unknown pooling %d", int(pooling))
	}
	var tokens []int32
	batch := &backend.Batch{}
	for s, seq := range seqs {
		if len(seq) == 0 {
			return nil, fmt.Errorf("embed: sequence %d is empty", s)
		}
		for p, t := range seq {
			batch.Pos = append(batch.Pos, int32(p))
			batch.Seq = append(batch.Seq, int32(s))
			batch.Cells = append(batch.Cells, int32(len(tokens)))
			tokens = append(tokens, t)
		}
	}
	n := len(tokens)
	if n == 0 {
		return nil, fmt.Errorf("embed: no tokens")
	}
	if n > m.opts.MaxBatch {
		return nil, fmt.Errorf("embed: %d tokens exceed the batch size %d", n, m.opts.MaxBatch)
	}
	cache, err := m.NewCache(n, gguf.TypeF32)
	if err != nil {
		return nil, err
	}
	for i := range n {
		cache.Cells[i] = backend.Cell{Pos: batch.Pos[i], Seq: batch.Seq[i]}
	}
	x, err := m.hidden(ctx, tokens, nil, batch, cache)
	if err != nil {
		return nil, err
	}
	if err := m.normalize(x, x, m.norm, m.normB); err != nil {
		return nil, fmt.Errorf("output_norm: %w", err)
	}
	d := cfg.NEmbd
	if pooling == PoolNone {
		all := make([]float32, n*d)
		if err := b.Read(x, all); err != nil {
			return nil, err
		}
		out := make([][]float32, len(seqs))
		start := 0
		for s, seq := range seqs {
			out[s] = all[start*d : (start+len(seq))*d : (start+len(seq))*d]
			start += len(seq)
		}
		return out, nil
	}
	pooled, err := b.View(m.bufs.out, 0, len(seqs))
	if err != nil {
		return nil, err
	}
	if pooling == PoolMean {
		err = b.SeqMean(pooled, x, batch.Seq)
	} else {
		ids := make([]int32, len(seqs))
		start := 0
		for s, seq := range seqs {
			ids[s] = int32(start)
			if pooling == PoolLast {
				ids[s] = int32(start + len(seq) - 1)
			}
			start += len(seq)
		}
		err = b.GetRows(pooled, x, ids)
	}
	if err != nil {
		return nil, err
	}
	flat := make([]float32, len(seqs)*d)
	if err := b.Read(pooled, flat); err != nil {
		return nil, err
	}
	out := make([][]float32, len(seqs))
	for s := range out {
		out[s] = flat[s*d : (s+1)*d : (s+1)*d]
	}
	return out, nil
}
