package models

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/models/presets"
	"github.com/stretchr/testify/require"
)

// miniModel writes a miniature random-weight F32 file of a preset's architecture,
// with llama.cpp's tensor names and keys (models/presets).
func miniModel(t *testing.T, preset string) *gguf.File {
	t.Helper()
	return miniModelWith(t, preset, nil)
}

// miniModelWith is miniModel with the miniature's config changed by tweak (if not nil).
func miniModelWith(t *testing.T, preset string, tweak func(*presets.Config)) *gguf.File {
	t.Helper()
	p, err := presets.Lookup(preset)
	require.NoError(t, err)
	mini := p.Miniature()
	if tweak != nil {
		tweak(&mini.Config)
	}
	path := filepath.Join(t.TempDir(), preset+".gguf")
	require.NoError(t, mini.WriteFile(context.Background(), path, gguf.FileTypeAllF32, presets.GenerateOptions{Seed: 7}))
	f, err := gguf.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

var archTokens = []int32{5, 300, 17, 211, 42, 99, 7, 400, 123, 256, 3}

// TestArchitecturesAgainstReference runs every decoder architecture on a miniature
// model and compares golem's logits with the independent float64 reference, and a
// batch prefill with one-token decoding.
func TestArchitecturesAgainstReference(t *testing.T) {
	for _, c := range []struct {
		preset string
		bound  float64
	}{
		{"tinyllama-1.1b", 1e-4}, {"mistral-7b", 1e-4}, {"mixtral-8x7b", 1e-4}, {"qwen2-0.5b", 1e-4},
		{"gemma-2b", 2e-3}, {"phi3-mini", 1e-4}, {"phi2", 2e-3}, {"gpt2", 2e-3}, {"gptj-6b", 2e-3},
		{"gptneox-1.4b", 2e-3}, {"falcon-7b", 2e-3}, {"bloom-560m", 2e-3}, {"starcoder-1b", 2e-3},
		{"qwen3-0.6b", 1e-4}, {"starcoder2-3b", 2e-3}, {"gemma2-2b", 2e-3},
	} {
		t.Run(c.preset, func(t *testing.T) {
			checkArchitecture(t, miniModel(t, c.preset), c.bound)
		})
	}
}

// TestGemma2WindowAndCaps runs Gemma 2's miniature with a window shorter than the
// prompt and soft-caps that its random scores and logits reach (the real caps, 50 and
// 30, barely bend them), so the alternating window and both caps are checked.
func TestGemma2WindowAndCaps(t *testing.T) {
	f := miniModelWith(t, "gemma2-2b", func(c *presets.Config) {
		c.SlidingWindow, c.AttnSoftCap, c.FinalSoftCap = 4, 1.5, 2
	})
	checkArchitecture(t, f, 2e-3)
}

// checkArchitecture compares golem with the reference on archTokens, and a batch
// prefill with one-token decoding.
func checkArchitecture(t *testing.T, f *gguf.File, bound float64) {
	t.Helper()
	worst := compareWithReference(t, f, archTokens)
	name, _ := f.Meta.String("general.name")
	t.Logf("%s (%s): golem vs float64 reference %.3g", name, f.Meta.Architecture(), worst)
	require.Less(t, worst, bound)

	// A batch and single tokens take different llama.cpp matmul paths (tinyBLAS vs
	// vec_dot), so an ulp can move a GELU input across an fp16 step of ggml's
	// table: llama.cpp's own gpt2-F32 gap is 1.8e-4 (tolerance.json). GELU models
	// get the GELU bound here too.
	batch := newRunner(t, f, backend.Options{}, 0).feed(t, archTokens)
	one := newRunner(t, f, backend.Options{}, 0)
	for i, tok := range archTokens {
		row := one.feed(t, []int32{tok})[0]
		for j := range row {
			require.InDelta(t, batch[i][j], row[j], bound, "position %d logit %d", i, j)
		}
	}
}
