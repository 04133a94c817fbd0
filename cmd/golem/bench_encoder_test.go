package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem/internal/shared"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBenchEncoder: an encoder (BERT) is benchmarked on embedding throughput (pp);
// tg does not apply and is said on stderr instead of failing.
func TestBenchEncoder(t *testing.T) {
	model := filepath.Join(shared.Path(t, "oracle", "models", "bert"), "bert-F32.gguf")
	code, out, errOut := golem(t, "bench", "-m", model, "-p", "16", "-n", "4", "-r", "1", "-o", "json")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "is an encoder: no tg test")
	var rows []struct {
		NPrompt int     `json:"n_prompt"`
		NGen    int     `json:"n_gen"`
		AvgTS   float64 `json:"avg_ts"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 1)
	assert.Equal(t, 16, rows[0].NPrompt)
	assert.Equal(t, 0, rows[0].NGen)
	assert.Greater(t, rows[0].AvgTS, 0.0)
}
