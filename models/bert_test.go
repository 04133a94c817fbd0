package models

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/internal/shared"
	"github.com/stretchr/testify/require"
)

func loadEmbedder(t *testing.T, path string, opts backend.Options) Embedder {
	t.Helper()
	f, err := gguf.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	b := cpu.New(opts)
	t.Cleanup(func() { b.Close() })
	m, err := Load(f, b, Options{})
	require.NoError(t, err)
	e, ok := m.(Embedder)
	require.True(t, ok, "bert is an Embedder")
	return e
}

// maxAbsRows is the largest absolute difference in each row of d values.
func maxAbsRows(want, got []float32, d int) []float64 {
	out := make([]float64, len(want)/d)
	for i := range want {
		out[i/d] = math.Max(out[i/d], math.Abs(float64(want[i]-got[i])))
	}
	return out
}

// checkEmbedRows applies issue 9's bounds: F32 max-abs ≤ f32Bound everywhere;
// quantized files at least half the rows within 2e-3 and all within 0.1.
//
// F32 per-token rows are held to 2e-3 (the bound), pooled ones to 1e-4: with
// F32 weights llama.cpp multiplies through llamafile's tinyBLAS (eight FMA lanes,
// then a horizontal sum), golem in another order; the 1e-7 differences move inputs
// of the fp16 GELU table across rounding steps, and LayerNorm (eps 1e-12) carries
// them on. Measured: per-token worst 3.3e-4 (most values within 1e-5), mean-pooled
// 2.4e-5. Quantized files, where activations are rounded to 8 bits first, agree to
// 2e-6.
func checkEmbedRows(t *testing.T, name string, quantized bool, f32Bound float64, diffs []float64) {
	t.Helper()
	within, worst := 0, 0.0
	for _, d := range diffs {
		if d <= 2e-3 {
			within++
		}
		worst = math.Max(worst, d)
	}
	t.Logf("%s: %d/%d rows within 2e-3, worst %.3g", name, within, len(diffs), worst)
	if !quantized {
		require.LessOrEqual(t, worst, f32Bound, name)
		return
	}
	require.GreaterOrEqual(t, 2*within, len(diffs), "%s: %v", name, diffs)
	require.LessOrEqual(t, worst, 0.1, "%s: %v", name, diffs)
}

// TestOracleBERT compares mean-pooled, normalised and per-token embeddings with
// llama.cpp's.
func TestOracleBERT(t *testing.T) {
	dir := shared.Path(t, "oracle", "models", "bert")
	for _, q := range []string{"F32", "Q8_0", "Q4_0", "Q4_K_M"} {
		name := "bert-" + q
		t.Run(name, func(t *testing.T) {
			m := readManifest(t, filepath.Join(dir, name+".json"))
			e := loadEmbedder(t, filepath.Join(dir, name+".gguf"), backend.Options{})
			require.Equal(t, PoolMean, e.Pooling())
			d := e.Config().NEmbd
			ctx := context.Background()
			quant := q != "F32"

			pooled, err := e.Embed(ctx, [][]int32{m.TokenIDs}, e.Pooling())
			require.NoError(t, err)
			want := readF32(t, filepath.Join(dir, name+".embd_pooled.f32"))
			checkEmbedRows(t, name+" mean", quant, 1e-4, maxAbsRows(want, pooled[0], d))

			norm := append([]float32(nil), pooled[0]...)
			Normalize(norm)
			want = readF32(t, filepath.Join(dir, name+".embd_pooled_norm.f32"))
			checkEmbedRows(t, name+" mean normalised", quant, 1e-4, maxAbsRows(want, norm, d))

			tokens, err := e.Embed(ctx, [][]int32{m.TokenIDs}, PoolNone)
			require.NoError(t, err)
			want = readF32(t, filepath.Join(dir, name+".embd_tokens.f32"))
			checkEmbedRows(t, name+" per token", quant, 2e-3, maxAbsRows(want, tokens[0], d))

			// CLS and last pooling pick rows of the per-token output.
			for _, p := range []Pooling{PoolCLS, PoolLast} {
				got, err := e.Embed(ctx, [][]int32{m.TokenIDs}, p)
				require.NoError(t, err)
				row := 0
				if p == PoolLast {
					row = len(m.TokenIDs) - 1
				}
				require.Equal(t, tokens[0][row*d:(row+1)*d], got[0], p.String())
			}
		})
	}
}

// TestBERTSequencesInOneBatch: several texts in one batch get what each gets alone.
func TestBERTSequencesInOneBatch(t *testing.T) {
	dir := shared.Path(t, "oracle", "models", "bert")
	mf := readManifest(t, filepath.Join(dir, "bert-F32.json"))
	e := loadEmbedder(t, filepath.Join(dir, "bert-F32.gguf"), backend.Options{})
	ctx := context.Background()
	seqs := [][]int32{mf.TokenIDs, {101, 170, 464, 102}, mf.TokenIDs[3:9]}
	for _, p := range []Pooling{PoolMean, PoolNone, PoolCLS, PoolLast} {
		together, err := e.Embed(ctx, seqs, p)
		require.NoError(t, err)
		for i, s := range seqs {
			alone, err := e.Embed(ctx, [][]int32{s}, p)
			require.NoError(t, err)
			require.Len(t, together[i], len(alone[0]))
			for j := range alone[0] {
				require.InDelta(t, alone[0][j], together[i][j], 1e-5, "%s: sequence %d value %d", p, i, j)
			}
		}
	}
}

func TestBERTBadInput(t *testing.T) {
	dir := shared.Path(t, "oracle", "models", "bert")
	e := loadEmbedder(t, filepath.Join(dir, "bert-F32.gguf"), backend.Options{})
	ctx := context.Background()
	_, err := e.Embed(ctx, [][]int32{{101, 9999}}, PoolMean)
	require.Error(t, err)
	_, err = e.Embed(ctx, [][]int32{{}}, PoolMean)
	require.Error(t, err)
	_, err = e.Embed(ctx, [][]int32{make([]int32, 129)}, PoolMean)
	require.Error(t, err)
	_, err = e.Embed(ctx, [][]int32{{101}}, Pooling(7))
	require.Error(t, err)
	require.ErrorIs(t, e.(Model).Forward(ctx, []int32{1}, &backend.Batch{}, nil, nil, nil), ErrNoLMHead)
}

func TestParsePooling(t *testing.T) {
	for _, s := range []string{"none", "mean", "cls", "last"} {
		p, err := ParsePooling(s)
		require.NoError(t, err)
		require.Equal(t, s, p.String())
	}
	_, err := ParsePooling("max")
	require.Error(t, err)
	v := []float32{3, 4}
	Normalize(v)
	require.InDelta(t, 0.6, v[0], 1e-7)
	z := []float32{0, 0}
	Normalize(z)
	require.Equal(t, []float32{0, 0}, z)
}
