package models

import (
	"context"
	"math"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/models/embedded"
	"github.com/stretchr/testify/require"
)

// TestForwardEmbeddingsEqualsTokens feeds some tokens' own embedding rows as input
// embeddings: the logits must be those of the tokens, bit for bit, and running the
// batch as prefix, embeddings and suffix in three calls (as llava-cli does) must give
// the same logits as one call, up to the batch size's effect on summation order.
func TestForwardEmbeddingsEqualsTokens(t *testing.T) {
	f, err := gguf.FromBytes(embedded.Stories260K)
	require.NoError(t, err)
	b := cpu.New(backend.Options{Threads: 2})
	defer b.Close()
	m, err := Load(f, b, Options{})
	require.NoError(t, err)
	em, ok := m.(EmbeddingsInput)
	require.True(t, ok)
	cfg := m.Config()
	d, nv := cfg.NEmbd, cfg.NVocab
	tokens := []int32{1, 403, 407, 261, 378, 260, 471, 284, 289, 341, 270}
	image := []int{3, 4, 5, 6} // positions given as embeddings
	mixed := append([]int32(nil), tokens...)
	for _, i := range image {
		mixed[i] = EmbdToken
	}
	table := m.(*decoder).embd
	rows, err := b.Alloc("rows", gguf.TypeF32, len(image), d)
	require.NoError(t, err)
	ids := make([]int32, len(image))
	for k, i := range image {
		ids[k] = tokens[i]
	}
	require.NoError(t, b.GetRows(rows, table, ids))
	embd := make([]float32, len(image)*d)
	require.NoError(t, b.Read(rows, embd))

	run := func(parts [][2]int, input []int32, embd []float32) []float32 {
		cache, err := m.NewCache(64, gguf.TypeF32)
		require.NoError(t, err)
		var all []float32
		used := 0
		for _, p := range parts {
			batch := &backend.Batch{}
			var outputs []int
			for i := p[0]; i < p[1]; i++ {
				batch.Pos = append(batch.Pos, int32(i))
				batch.Seq = append(batch.Seq, 0)
				batch.Cells = append(batch.Cells, int32(i))
				cache.Cells[i] = backend.Cell{Pos: int32(i), Seq: 0}
				outputs = append(outputs, i-p[0])
			}
			logits := make([]float32, len(outputs)*nv)
			n := 0
			for _, tk := range input[p[0]:p[1]] {
				if tk == EmbdToken {
					n++
				}
			}
			if embd == nil {
				require.NoError(t, m.Forward(context.Background(), input[p[0]:p[1]], batch, cache, outputs, logits))
			} else {
				require.NoError(t, em.ForwardEmbeddings(context.Background(), input[p[0]:p[1]], embd[used*d:(used+n)*d], batch, cache, outputs, logits))
			}
			used += n
			all = append(all, logits...)
		}
		return all
	}
	one := [][2]int{{0, len(tokens)}}
	want := run(one, tokens, nil)
	require.Equal(t, want, run(one, mixed, embd), "embedding rows equal to the tokens' own give the tokens' logits")
	split := run([][2]int{{0, 3}, {3, 7}, {7, len(tokens)}}, mixed, embd)
	var worst float64
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(want[i]-split[i])))
	}
	require.Less(t, worst, 1e-4, "prefix, embeddings, suffix in three calls")
	// Tokens only through ForwardEmbeddings is Forward.
	require.Equal(t, want, run(one, tokens, []float32{}))
}
