package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunParallelEqualsOneByOne: --parallel prints, in line order and separated by a
// blank line, exactly what each prompt gives alone (greedy).
func TestRunParallelEqualsOneByOne(t *testing.T) {
	prompts := []string{"Once upon a time", "Lily and Ben", "The dog was", "One day"}
	file := filepath.Join(t.TempDir(), "prompts.txt")
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(prompts, "\n")+"\n\n"), 0o644))
	code, out, errOut := golem(t, "run", "-f", file, "--parallel", "3", "--temp", "0", "-n", "24", "-c", "256")
	require.Equal(t, 0, code, errOut)
	var want []string
	for _, p := range prompts {
		code, one, errOut := golem(t, "run", "-p", p, "--temp", "0", "-n", "24", "-c", "64")
		require.Equal(t, 0, code, errOut)
		want = append(want, one)
	}
	assert.Equal(t, strings.Join(want, "\n\n")+"\n", out)
	assert.Equal(t, 4, strings.Count(errOut, "generated 24 tokens"))
}

func TestRunParallelNeedsFile(t *testing.T) {
	code, _, errOut := golem(t, "run", "-p", "x", "--parallel", "2")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "needs -f")
}

func TestRunStopString(t *testing.T) {
	code, out, errOut := golem(t, "run", "-p", "Once upon a time", "--temp", "0", "-n", "30", "--stop", "Lily")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "Once upon a time, there was a little girl named ", out)
	assert.Contains(t, errOut, `stop: stop-string "Lily"`)
}

// TestRunContextShift: with --context-shift, generation goes on past a full context.
func TestRunContextShift(t *testing.T) {
	code, _, errOut := golem(t, "run", "--temp", "0", "-c", "32", "-n", "100")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "context is full")
	code, out, errOut := golem(t, "run", "--temp", "0", "-c", "32", "-n", "100", "--context-shift")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "generated 100 tokens")
	assert.Contains(t, errOut, "context shifts")
	assert.True(t, strings.HasPrefix(out, "Once upon a time"), out)
}

func TestRunProfile(t *testing.T) {
	code, out, errOut := golem(t, "run", "-p", "Once upon a time", "--temp", "0", "-n", "8", "--profile")
	require.Equal(t, 0, code, errOut)
	assert.NotContains(t, out, "MatMul", "the profile goes to stderr")
	for _, want := range []string{"profile", "MatMul", "Attention", "time to first token", "tokens/s", "memory: weights", "layer"} {
		assert.Contains(t, errOut, want)
	}
}
