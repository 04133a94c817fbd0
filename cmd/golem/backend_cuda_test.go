//go:build cuda

package main

import (
	"bytes"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cuda"
	"github.com/stretchr/testify/require"
)

func skipWithGPU(t *testing.T) {
	t.Helper()
	if b, err := cuda.New(backend.Options{}); err == nil {
		b.Close()
		t.Skip("this host has a GPU: the fallback is not exercised (the GPU session runs the CUDA tests)")
	}
}

// TestRunFallsBackToCPU: on a host without a GPU, driver or kernel library, a cuda
// build's `golem run --backend auto` runs on the CPU and says why on stderr.
func TestRunFallsBackToCPU(t *testing.T) {
	skipWithGPU(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "-n", "8", "--backend", "auto", "-p", "Once upon a time"}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	require.Contains(t, stderr.String(), "skipped cuda: backend unavailable")
	require.Contains(t, stderr.String(), "backend cpu (auto")
	require.Greater(t, len(stdout.String()), len("Once upon a time"), "no story generated")
	t.Logf("stdout: %q", stdout.String())
}

// TestRunCUDAUnavailable: asking for cuda by name on such a host is one clear error
// line and exit status 1, not a crash.
func TestRunCUDAUnavailable(t *testing.T) {
	skipWithGPU(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "-n", "2", "--backend", "cuda"}, &stdout, &stderr)
	require.Equal(t, 1, code)
	require.Contains(t, stderr.String(), "golem: run: backend cuda: backend unavailable: ")
	require.NotContains(t, stderr.String(), "panic")
	require.NotContains(t, stderr.String(), "goroutine")
}

// TestDevicesCUDABuild: golem devices on a cuda build without a GPU says there is none
// and why, and exits 0.
func TestDevicesCUDABuild(t *testing.T) {
	skipWithGPU(t)
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"devices"}, &stdout, &stderr))
	require.Contains(t, stdout.String(), "no accelerators (backends compiled in: cuda")
	require.Contains(t, stderr.String(), "cuda: no GPU found")
}
