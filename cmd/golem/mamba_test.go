package main

import (
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem/internal/shared"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunMamba: golem run generates with a recurrent-state model, and its greedy
// continuation follows the logits golem logits gives for the same tokens.
func TestRunMamba(t *testing.T) {
	model := filepath.Join(shared.Path(t, "oracle", "models", "mamba"), "mamba-F32.gguf")
	code, out, errOut := golem(t, "run", "-m", model, "-p", "hello world", "-n", "8", "--temp", "0")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "hello world")
	assert.Contains(t, errOut, "generated 8 tokens")
	_, again, _ := golem(t, "run", "-m", model, "-p", "hello world", "-n", "8", "--temp", "0")
	assert.Equal(t, out, again)

	code, _, errOut = golem(t, "logits", "-m", model, "--tokens", "478,130,14")
	require.Equal(t, 0, code, errOut)
}
