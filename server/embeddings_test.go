package server

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/internal/shared"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bertPath is the small BERT model of the shared reference data, or "" when the
// shared folder is not there.
func bertPath() string {
	dir := os.Getenv(shared.Env)
	if dir == "" {
		return ""
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", dir) // tests run in server/
	}
	p := filepath.Join(dir, "oracle", "models", "bert", "bert-Q8_0.gguf")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

func loadBERT(t testing.TB) *golem.Model {
	t.Helper()
	p := bertPath()
	if p == "" {
		t.Skipf("the BERT model of the shared data is not there (set %s=../shared)", shared.Env)
	}
	m, err := golem.Load(context.Background(), p, golem.LoadOptions{Threads: 2})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

// TestEmbeddings: /v1/embeddings gives Embed's normalised vectors, as floats or base64,
// for a string, strings and token ids; a BERT model refuses completions.
func TestEmbeddings(t *testing.T) {
	m := loadBERT(t)
	_, ts := start(t, m, Config{})
	texts := []string{"hello world", "a cat sat on the mat"}
	want, err := m.Embed(context.Background(), texts, golem.EmbedOptions{Normalize: true})
	require.NoError(t, err)

	code, v := post(t, ts.URL+"/v1/embeddings", jsonBody(map[string]any{"model": "text-embedding-3-small", "input": texts}))
	require.Equal(t, http.StatusOK, code, "%v", v)
	assert.Equal(t, "list", v["object"])
	data := v["data"].([]any)
	require.Len(t, data, 2)
	ntok := 0
	for i, d := range data {
		e := d.(map[string]any)
		assert.EqualValues(t, i, e["index"])
		assert.Equal(t, "embedding", e["object"])
		got := e["embedding"].([]any)
		require.Len(t, got, len(want[i]))
		for j := range got {
			assert.InDelta(t, want[i][j], got[j], 1e-6)
		}
		ntok += len(m.Tokenize(texts[i], golem.TokenizeOptions{}))
	}
	u := v["usage"].(map[string]any)
	assert.EqualValues(t, ntok, u["prompt_tokens"])
	assert.EqualValues(t, ntok, u["total_tokens"])

	// base64: little-endian float32, bit for bit.
	code, v = post(t, ts.URL+"/v1/embeddings", jsonBody(map[string]any{"input": texts[1], "encoding_format": "base64"}))
	require.Equal(t, http.StatusOK, code, "%v", v)
	raw, err := base64.StdEncoding.DecodeString(v["data"].([]any)[0].(map[string]any)["embedding"].(string))
	require.NoError(t, err)
	require.Len(t, raw, 4*len(want[1]))
	for j := range want[1] {
		assert.Equal(t, want[1][j], math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:])))
	}

	// Token ids are used as given.
	ids := m.Tokenize(texts[0], golem.TokenizeOptions{})
	code, v = post(t, ts.URL+"/v1/embeddings", jsonBody(map[string]any{"input": [][]int32{ids}}))
	require.Equal(t, http.StatusOK, code, "%v", v)
	got := v["data"].([]any)[0].(map[string]any)["embedding"].([]any)
	for j := range got {
		assert.InDelta(t, want[0][j], got[j], 1e-6)
	}

	// An encoder does not generate.
	for _, c := range []struct{ path, body string }{
		{"/v1/completions", `{"prompt":"hello"}`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"hello"}]}`},
	} {
		code, v := post(t, ts.URL+c.path, c.body)
		require.Equal(t, http.StatusBadRequest, code, "%v", v)
		msg, param, ec := errorOf(t, v)
		assert.Contains(t, msg, "does not generate text")
		assert.Equal(t, "model", param)
		assert.Equal(t, "model_not_supported", ec)
	}
}
