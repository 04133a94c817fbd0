package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/models/presets"
	"github.com/golem-llm/golem/models/tokenizer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func TestGenCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "llama2.gguf")
	code, stdout, stderr := golem(t, "gen", "--preset", "llama2-7b", "--mini", "--type", "q4_k_m", "-o", out)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout, "progress goes to stderr only")
	assert.Contains(t, stderr, "llama2-7b-mini")
	assert.Contains(t, stderr, "wrote "+out)
	assert.Contains(t, stderr, "100%")

	f, err := gguf.Open(out)
	require.NoError(t, err)
	defer f.Close()
	assert.Equal(t, "llama", f.Meta.Architecture())
	full, err := presets.Lookup("llama2-7b")
	require.NoError(t, err)
	plans, err := full.Miniature().Plan(gguf.FileTypeQ4_K_M)
	require.NoError(t, err)
	require.Len(t, f.Tensors, len(plans))
	for i, pl := range plans {
		assert.Equal(t, pl.Name, f.Tensors[i].Name)
		assert.Equal(t, pl.To, f.Tensors[i].Type, pl.Name)
	}
	ti, ok := f.Tensor("output.weight")
	require.True(t, ok)
	assert.Equal(t, gguf.TypeQ6_K, ti.Type, "Q4_K_M gives the output Q6_K")
	ti, ok = f.Tensor("blk.0.attn_norm.weight")
	require.True(t, ok)
	assert.Equal(t, gguf.TypeF32, ti.Type, "norms stay F32")
	_, err = tokenizer.FromGGUF(f.Meta)
	require.NoError(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")
}

// TestGenMatchesQuantize: gen at a type writes what golem quantize makes of gen's F32
// file of the same seed, byte for byte (the same per-tensor types, the same blocks).
func TestGenMatchesQuantize(t *testing.T) {
	dir := t.TempDir()
	f32 := filepath.Join(dir, "f32.gguf")
	code, _, stderr := golem(t, "gen", "--preset", "phi3-mini", "--mini", "--type", "F32", "-o", f32, "--seed", "5", "-q")
	require.Equal(t, 0, code, stderr)
	for _, typ := range []string{"Q4_K_M", "Q4_0", "Q8_0", "Q5_K_S"} {
		viaQuantize := filepath.Join(dir, "quantized.gguf")
		code, _, stderr = golem(t, "quantize", "-q", f32, viaQuantize, typ)
		require.Equal(t, 0, code, stderr)
		direct := filepath.Join(dir, "gen.gguf")
		code, _, stderr = golem(t, "gen", "--preset", "phi3-mini", "--mini", "--type", typ, "-o", direct, "--seed", "5", "-t", "1")
		require.Equal(t, 0, code, stderr)
		assert.True(t, bytes.Equal(readFile(t, viaQuantize), readFile(t, direct)), typ)
	}
}

func TestGenSeeds(t *testing.T) {
	dir := t.TempDir()
	gen := func(name, seed string) []byte {
		out := filepath.Join(dir, name)
		code, _, stderr := golem(t, "gen", "--preset", "mamba-2.8b", "--mini", "--type", "Q4_0", "-o", out, "--seed", seed)
		require.Equal(t, 0, code, stderr)
		return readFile(t, out)
	}
	a, b, c := gen("a.gguf", "42"), gen("b.gguf", "42"), gen("c.gguf", "43")
	assert.True(t, bytes.Equal(a, b), "same seed, same bytes")
	assert.False(t, bytes.Equal(a, c), "different seed, different bytes")
}

func TestGenLayers(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.gguf")
	code, _, stderr := golem(t, "gen", "--preset", "mixtral-8x7b", "--mini", "--layers", "1", "--type", "Q8_0", "-o", out)
	require.Equal(t, 0, code, stderr)
	f, err := gguf.Open(out)
	require.NoError(t, err)
	defer f.Close()
	n, err := f.Meta.Uint("llama.block_count")
	require.NoError(t, err)
	assert.Equal(t, uint64(1), n)
	_, ok := f.Tensor("blk.0.ffn_gate_exps.weight")
	assert.True(t, ok)
	_, ok = f.Tensor("blk.1.attn_q.weight")
	assert.False(t, ok)
}

func TestGenErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.gguf")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "llama9", "--type", "Q4_0", "-o", out}, "unknown preset \"llama9\" (known: tinyllama-1.1b"},
		{[]string{"--preset", "gpt2", "--type", "Q9_X", "-o", out}, "unknown file type"},
		{[]string{"--preset", "gpt2", "--type", "Q4_0"}, "required"},
		{[]string{"--preset", "gpt2", "--type", "Q4_0", "-o", out, "--layers", "0"}, "at least 1"},
		// mamba-130m's dt_proj has rows of 48: no legacy block fits, as llama-quantize says.
		{[]string{"--preset", "mamba-130m", "--type", "Q4_0", "-o", out}, "ssm_dt.weight"},
		{[]string{"--preset", "gpt2", "--mini", "--type", "Q4_0", "-o", filepath.Join(dir, "no", "such", "dir.gguf")}, "creating the output"},
	} {
		code, stdout, stderr := golem(t, append([]string{"gen"}, c.args...)...)
		assert.Equal(t, 1, code, c.args)
		assert.Empty(t, stdout)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		assert.True(t, strings.HasPrefix(last, "golem: gen: "), last)
		assert.Contains(t, last, c.want)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}
