package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/internal/shared"
	"github.com/golem-llm/golem/models/embedded"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunTellsLlama2cStory: greedy generation with the embedded model prints exactly
// llama2.c's story for the same weights (testdata/stories260K).
func TestRunTellsLlama2cStory(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "stories260K", "expected_run_c_t0_n200.txt"))
	require.NoError(t, err)
	code, out, errOut := golem(t, "run", "--temp", "0", "-n", "200")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, string(want), out)
	assert.Contains(t, errOut, "embedded")
	assert.Contains(t, errOut, "generated 200 tokens")
}

func TestRunPromptAndCount(t *testing.T) {
	code, out, errOut := golem(t, "run", "-p", "Once upon a time", "--temp", "0", "-n", "5")
	require.Equal(t, 0, code, errOut)
	// The first greedy continuation, token by token, is in llama2.c's golden file
	// (prompt 0: argmax 432 "," after "time").
	assert.True(t, strings.HasPrefix(out, "Once upon a time,"), out)
	assert.Contains(t, errOut, "generated 5 tokens")
}

func TestRunSeedIsReproducible(t *testing.T) {
	args := []string{"run", "-p", "Lily", "-n", "30", "--seed", "7", "--temp", "1"}
	_, a, _ := golem(t, args...)
	_, b, _ := golem(t, args...)
	assert.Equal(t, a, b)
	_, c, _ := golem(t, "run", "-p", "Lily", "-n", "30", "--seed", "8", "--temp", "1")
	assert.NotEqual(t, a, c, "another seed should give another story")
}

func TestRunContextOverflowIsAnError(t *testing.T) {
	code, _, errOut := golem(t, "run", "-p", "Once upon a time there was a girl", "-c", "4", "-n", "10")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "context is full")
}

func TestLogitsMatchesOracle(t *testing.T) {
	dir := shared.Path(t, "oracle", "models", "llama")
	out := filepath.Join(t.TempDir(), "l.f32")
	code, _, errOut := golem(t, "logits", "-m", filepath.Join(dir, "llama-F32.gguf"),
		"--tokens", "478,130,14,243,471,76,488,57,376,69,106,363,447,451,49,37", "-o", out)
	require.Equal(t, 0, code, errOut)
	got := readFloats(t, out)
	want := readFloats(t, filepath.Join(dir, "llama-F32.logits.f32"))
	require.Len(t, got, len(want))
	for i := range want {
		require.InDelta(t, want[i], got[i], 1e-4, "logit %d", i)
	}
}

func TestLogitsTop5(t *testing.T) {
	code, out, _ := golem(t, "logits", "--tokens", "1,403")
	require.Equal(t, 0, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	// llama2.c's golden argmax after BOS is 403 ("Once"), after "Once" 407 ("upon").
	assert.True(t, strings.HasPrefix(lines[0], "0: 403("), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "1: 407("), lines[1])
}

func readFloats(t *testing.T, path string) []float32 {
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// brokenStories writes the embedded model with one change: edit may change the
// metadata, drop tensors (return false) or change a tensor's dims.
func brokenStories(t *testing.T, edit func(m *gguf.Metadata), keep func(ti *gguf.TensorInfo) bool) string {
	f, err := gguf.FromBytes(embedded.Stories260K)
	require.NoError(t, err)
	meta, err := gguf.NewMetadata(f.Meta.KVs())
	require.NoError(t, err)
	if edit != nil {
		edit(&meta)
	}
	var specs []gguf.TensorSpec
	var data [][]byte
	for i := range f.Tensors {
		ti := f.Tensors[i]
		ti.Dims = append([]uint64(nil), ti.Dims...)
		if keep != nil && !keep(&ti) {
			continue
		}
		d, err := f.TensorData(&f.Tensors[i])
		require.NoError(t, err)
		size, err := ti.Type.TensorBytes(ti.Dims)
		require.NoError(t, err)
		specs = append(specs, gguf.TensorSpec{Name: ti.Name, Type: ti.Type, Dims: ti.Dims})
		data = append(data, d[:size])
	}
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, meta, specs)
	require.NoError(t, err)
	for i, s := range specs {
		require.NoError(t, w.WriteTensor(s.Name, data[i]))
	}
	require.NoError(t, w.Close())
	path := filepath.Join(t.TempDir(), "broken.gguf")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
}

func TestRunRefusesBrokenModels(t *testing.T) {
	cases := []struct {
		name string
		edit func(m *gguf.Metadata)
		keep func(ti *gguf.TensorInfo) bool
		want string
	}{
		{"missing tensor", nil, func(ti *gguf.TensorInfo) bool { return ti.Name != "blk.2.attn_k.weight" }, "missing tensor blk.2.attn_k.weight"},
		{"wrong shape", nil, func(ti *gguf.TensorInfo) bool {
			if ti.Name == "blk.0.attn_q.weight" {
				ti.Dims[1] = 32
			}
			return true
		}, "blk.0.attn_q.weight: shape [64 32], want [64 64]"},
		{"zero heads", func(m *gguf.Metadata) { m.Set("llama.attention.head_count", gguf.MustValue(uint32(0))) }, nil,
			"llama.attention.head_count: 0 is outside"},
		{"absurd layers", func(m *gguf.Metadata) { m.Set("llama.block_count", gguf.MustValue(uint32(1<<31))) }, nil,
			"llama.block_count: 2147483648 is outside"},
		{"absurd embedding", func(m *gguf.Metadata) { m.Set("llama.embedding_length", gguf.MustValue(uint64(1<<40))) }, nil,
			"llama.embedding_length: 1099511627776 is outside"},
		{"kv heads do not divide", func(m *gguf.Metadata) { m.Set("llama.attention.head_count_kv", gguf.MustValue(uint32(3))) }, nil,
			"head_count_kv: 3 does not divide head_count 8"},
		{"missing key", func(m *gguf.Metadata) { m.Delete("llama.attention.layer_norm_rms_epsilon") }, nil,
			"required key llama.attention.layer_norm_rms_epsilon is missing"},
		{"empty vocab", func(m *gguf.Metadata) {
			m.Set("tokenizer.ggml.tokens", gguf.MustValue([]string{}))
			m.Delete("tokenizer.ggml.scores")
			m.Delete("tokenizer.ggml.token_type")
		}, nil, "vocabulary is empty"},
		{"unknown architecture", func(m *gguf.Metadata) { m.Set("general.architecture", gguf.MustValue("nosuch")) }, nil,
			`architecture "nosuch" is not supported`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := brokenStories(t, c.edit, c.keep)
			code, out, errOut := golem(t, "run", "-m", path, "-n", "1")
			assert.Equal(t, 1, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, c.want)
			assert.NotContains(t, errOut, "panic")
		})
	}
}
