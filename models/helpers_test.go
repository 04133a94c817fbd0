package models

import (
	"context"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu"
	"github.com/golem-llm/golem/gguf"
	"github.com/stretchr/testify/require"
)

// runner loads a model on a CPU backend and runs one sequence through its cache.
type runner struct {
	m     Model
	cache *backend.KVCache
	pos   int
}

func newRunner(t *testing.T, f *gguf.File, opts backend.Options, ctx int) *runner {
	t.Helper()
	b := cpu.New(opts)
	t.Cleanup(func() { b.Close() })
	m, err := Load(f, b, Options{})
	require.NoError(t, err)
	if ctx == 0 {
		ctx = m.Config().NCtxTrain
	}
	cache, err := m.NewCache(ctx, gguf.TypeF32)
	require.NoError(t, err)
	return &runner{m: m, cache: cache}
}

// feed runs tokens as one batch at the next positions and returns every row's logits.
func (r *runner) feed(t *testing.T, tokens []int32) [][]float32 {
	t.Helper()
	n := len(tokens)
	batch := &backend.Batch{}
	outputs := make([]int, n)
	for i := range n {
		p := int32(r.pos + i)
		batch.Pos = append(batch.Pos, p)
		batch.Seq = append(batch.Seq, 0)
		batch.Cells = append(batch.Cells, p)
		r.cache.Cells[p] = backend.Cell{Pos: p, Seq: 0}
		outputs[i] = i
	}
	nv := r.m.Config().NVocab
	logits := make([]float32, n*nv)
	require.NoError(t, r.m.Forward(context.Background(), tokens, batch, r.cache, outputs, logits))
	r.pos += n
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = logits[i*nv : (i+1)*nv]
	}
	return rows
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
