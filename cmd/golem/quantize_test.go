package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/internal/shared"
	"github.com/golem-llm/golem/models/embedded"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuantizeCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "stories260K.gguf")
	require.NoError(t, os.WriteFile(in, embedded.Stories260K, 0o644))
	out := filepath.Join(dir, "q.gguf")
	code, stdout, stderr := golem(t, "quantize", in, out, "q4_k_m")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout, "progress goes to stderr only")
	assert.Contains(t, stderr, "output.weight")
	assert.Contains(t, stderr, "(fallback)")
	assert.Contains(t, stderr, "wrote "+out+" as Q4_K_M")
	f, err := gguf.Open(out)
	require.NoError(t, err)
	defer f.Close()
	ti, ok := f.Tensor("output.weight")
	require.True(t, ok)
	assert.Equal(t, gguf.TypeQ8_0, ti.Type, "rows of 64: the output falls back from Q6_K")
	ti, ok = f.Tensor("blk.0.attn_q.weight")
	require.True(t, ok)
	assert.Equal(t, gguf.TypeQ5_0, ti.Type, "rows of 64: Q4_K falls back to Q5_0")

	code, _, stderr = golem(t, "quantize", in, out, "Q9_X")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "golem: quantize: unknown file type")
	code, _, stderr = golem(t, "quantize", in, out)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "accepts 3 arg(s)")
	code, _, stderr = golem(t, "quantize", filepath.Join(dir, "missing.gguf"), out, "Q8_0")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "missing.gguf")
	code, _, stderr = golem(t, "quantize", "-q", in, filepath.Join(dir, "q8.gguf"), "Q8_0")
	assert.Equal(t, 1, code, "rows of 172 fit no Q8_0 block (llama.cpp fails too)")
	assert.Contains(t, stderr, "blk.0.ffn_down.weight")
	_, err = os.Stat(filepath.Join(dir, "q8.gguf"))
	assert.True(t, os.IsNotExist(err))
}

// TestQuantizeCommandOracle runs the command on the shared oracle's F32 llama and
// expects llama.cpp's file byte for byte.
func TestQuantizeCommandOracle(t *testing.T) {
	dir := filepath.Join(shared.Dir(t), "oracle", "models", "llama")
	out := filepath.Join(t.TempDir(), "q.gguf")
	code, _, stderr := golem(t, "quantize", "-q", filepath.Join(dir, "llama-F32.gguf"), out, "Q4_K_M")
	require.Equal(t, 0, code, stderr)
	want, err := os.ReadFile(filepath.Join(dir, "llama-Q4_K_M.gguf"))
	require.NoError(t, err)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, string(want) == string(got), "output differs from llama.cpp's")
}
