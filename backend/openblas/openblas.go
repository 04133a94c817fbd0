//go:build openblas

// Package openblas is the OpenBLAS backend (build tag openblas): the CPU backend, with
// the matmuls of prompt processing — a batch of at least MinBatch rows times a weight
// with both dimensions at least MinBatch — done as SGEMMs on weight tiles dequantized
// to F32 into a reused scratch buffer. Everything else, decode's mat-vecs included,
// runs on the CPU backend's quantized kernels, which are faster there.
package openblas

import (
	"fmt"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu"
	"github.com/golem-llm/golem/gguf"
)

// Priority is the backend's rank for "auto": above cpu (0), below cuda.
const Priority = 10

// The thresholds: the smallest batch (and weight dimension) that goes to BLAS. Both
// stay in 17..64, so 16-row batches keep llama.cpp's quantized arithmetic and 64-row
// ones use BLAS. Measured on tinyllama-1.1b with 2 threads (docs/performance.md,
// "OpenBLAS"), the CPU backend's tiled kernels beat SGEMM on dequantized tiles at every
// batch size up to 512 for F16 and the quantized types alike, so the crossover lies
// above the window and both thresholds sit at its top.
const (
	DefaultMinBatch      = 64
	DefaultMinBatchQuant = 64
)

func init() {
	backend.Register("openblas", Priority, func(o backend.Options) (backend.Backend, error) { return New(o), nil })
}

// Backend is the CPU backend with BLAS GEMMs for large matmuls.
type Backend struct {
	*cpu.Backend
	minBatch int // float weights
	minQuant int // quantized weights
	threads  int
	tile     []float32 // dequantized weight rows of the current tile
	gemms    int       // products BLAS took
}

// New returns an OpenBLAS backend. Threads (0: all cores) is both the Go worker
// pool's size and OpenBLAS's thread count: the pool dequantizes a tile, then waits
// while OpenBLAS multiplies it, so the two never compete for the cores.
func New(o backend.Options) *Backend {
	c := cpu.New(o)
	b := &Backend{Backend: c, minBatch: DefaultMinBatch, minQuant: DefaultMinBatchQuant, threads: c.Threads()}
	useThreads(b.threads)
	return b
}

// Name is "openblas".
func (b *Backend) Name() string { return "openblas" }

// MinBatch is the threshold for weights of type t (see DefaultMinBatch).
func (b *Backend) MinBatch(t gguf.Type) int { return b.threshold(t) }

func (b *Backend) threshold(t gguf.Type) int {
	switch t {
	case gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16:
		return b.minBatch
	}
	return b.minQuant
}

// SetMinBatch sets the threshold of every weight type to n; benchmarks and tests use
// it to run both paths on the same shapes.
func (b *Backend) SetMinBatch(n int) error {
	if n < 1 {
		return fmt.Errorf("openblas: min batch %d < 1", n)
	}
	b.minBatch, b.minQuant = n, n
	return nil
}

// GEMMs is the number of products BLAS has taken so far (tests check that it engages).
func (b *Backend) GEMMs() int { return b.gemms }

// Close stops the CPU backend's workers and drops the scratch.
func (b *Backend) Close() error {
	b.tile = nil
	return b.Backend.Close()
}
