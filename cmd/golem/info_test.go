package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golem-llm/golem/internal/shared"
	"github.com/golem-llm/golem/models/embedded"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// golem runs the CLI in-process and returns its exit status, stdout and stderr.
func golem(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestInfoEmbedded(t *testing.T) {
	code, out, errOut := golem(t, "info")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "embedded")
	// Facts from shared/models/stories260K/README.md: dim 64, 5 layers, 8 heads,
	// 4 KV heads, hidden 172, vocab 512, 48 F32 tensors, context 2048 in the metadata.
	for _, want := range []string{
		"architecture:", "llama",
		"llama.embedding_length:", "64",
		"llama.block_count:", "llama.attention.head_count_kv:",
		"llama.feed_forward_length:", "172",
		"in 48 tensors", "llama, 512 tokens", "chat template:",
	} {
		assert.Contains(t, out, want)
	}
}

func TestInfoJSON(t *testing.T) {
	code, out, _ := golem(t, "info", "--json", "--tensors")
	require.Equal(t, 0, code)
	var info struct {
		Architecture string `json:"architecture"`
		Params       uint64 `json:"n_params"`
		NTensors     int    `json:"n_tensors"`
		VocabSize    int    `json:"vocab_size"`
		Tensors      []struct {
			Name  string   `json:"name"`
			Type  string   `json:"type"`
			Shape []uint64 `json:"shape"`
		} `json:"tensors"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &info))
	assert.Equal(t, "llama", info.Architecture)
	assert.Equal(t, 48, info.NTensors)
	assert.Equal(t, 512, info.VocabSize)
	require.Len(t, info.Tensors, 48)
	// Parameters from the README's shape: embeddings and output 2·512·64, per layer
	// 2·64 norms + q,o 64·64 + k,v 32·64 + gate,up,down 3·172·64, plus the final norm.
	perLayer := uint64(2*64 + 2*64*64 + 2*32*64 + 3*172*64)
	assert.Equal(t, 2*512*64+5*perLayer+64, info.Params)
}

func TestInfoBrokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.gguf")
	data := embedded.Stories260K[:5000]
	require.NoError(t, os.WriteFile(path, data, 0o644))
	code, out, errOut := golem(t, "info", path)
	assert.NotEqual(t, 0, code)
	assert.Empty(t, out)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	require.Len(t, lines, 1, errOut)
	assert.True(t, strings.HasPrefix(lines[0], "golem: info: "), lines[0])
	assert.Contains(t, lines[0], "broken.gguf")
}

func TestInfoMissingFile(t *testing.T) {
	code, _, errOut := golem(t, "info", "/nonexistent/model.gguf")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "no such file")
}

// TestInfoSharedFiles runs info on a vocab-only file, an mmproj (clip) file and an
// architecture golem does not run.
func TestInfoSharedFiles(t *testing.T) {
	for _, c := range []struct {
		path []string
		want []string
	}{
		{[]string{"oracle", "vocab", "ggml-vocab-phi-3.gguf"}, []string{"phi3", "in 0 tensors", "tokenizer:", "llama, 32064 tokens"}},
		{[]string{"oracle", "multimodal", "models", "mmproj-F16.gguf"}, []string{"clip", "clip.vision.patch_size:", "F16:"}},
		{[]string{"oracle", "vocab", "ggml-vocab-refact.gguf"}, []string{"refact", "gpt2, "}},
		{[]string{"oracle", "models", "llama", "llama-Q4_K_M.gguf"}, []string{"Q4_K_M", "Q6_K:", "Q4_K:", "F32:"}},
	} {
		code, out, errOut := golem(t, "info", shared.Path(t, c.path...))
		require.Equal(t, 0, code, errOut)
		for _, w := range c.want {
			assert.Contains(t, out, w, c.path)
		}
	}
}

func TestHelpForCommand(t *testing.T) {
	code, out, _ := golem(t, "help", "info")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "--tensors")
}
