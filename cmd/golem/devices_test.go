package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDevicesNoAccelerators: on a host without a GPU (CI), golem devices succeeds and
// says there are none, naming the backends compiled in.
func TestDevicesNoAccelerators(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"devices"}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	if bytes.Contains(stdout.Bytes(), []byte("cuda:")) {
		t.Skipf("this host has a GPU: %s", stdout.String())
	}
	require.Contains(t, stdout.String(), "no accelerators (backends compiled in: ")
	require.Contains(t, stdout.String(), "cpu")
}
