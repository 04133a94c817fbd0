//go:build cuda

package conformance

import (
	"errors"
	"testing"

	"github.com/golem-llm/golem/backend"
	_ "github.com/golem-llm/golem/backend/cuda" // runs the table on the CUDA backend too, where a GPU is present
)

// TestCUDAPresent says plainly whether TestBackendsMatchReference ran the table on
// CUDA or skipped it (no library, driver or GPU here).
func TestCUDAPresent(t *testing.T) {
	b, _, err := backend.Open("cuda", backend.Options{})
	if errors.Is(err, backend.ErrUnavailable) {
		t.Skipf("CUDA conformance skipped: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
}
