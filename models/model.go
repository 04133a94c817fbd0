// Package models holds the model graphs: one file per architecture, a shared decoder
// block configured by a small spec, configuration read from GGUF metadata, and a
// registry keyed by general.architecture.
package models

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

// Model runs forward passes through a cache.
type Model interface {
	// Config is the model's hyper-parameters.
	Config() *Config
	// NewCache allocates the model's cache for ctx positions (cells) of type dt.
	NewCache(ctx int, dt backend.DType) (*backend.KVCache, error)
	// Forward runs tokens through the model. batch gives each token's position,
	// sequence and cache cell (already marked in cache.Cells); logits for the token
	// indexes in outputs are written to logits, n_vocab values each, in order.
	Forward(ctx context.Context, tokens []int32, batch *backend.Batch, cache *backend.KVCache, outputs []int, logits []float32) error
}

// Options are what loading a model may change.
type Options struct {
	// MaxBatch is the most tokens one Forward call takes (activations are sized for
	// it); 0 means 512.
	MaxBatch int
}

// Builder makes a model of one architecture from a parsed file and a backend.
type Builder func(f *gguf.File, cfg *Config, b backend.Backend, opts Options) (Model, error)

var builders = map[string]Builder{}

// Register adds an architecture.
func Register(arch string, build Builder) { builders[arch] = build }

// Supported lists the architectures golem runs.
func Supported() []string {
	names := make([]string, 0, len(builders))
	for n := range builders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Load builds the model in f on b: it validates the configuration, then binds and
// uploads the weights, checking each one's shape.
func Load(f *gguf.File, b backend.Backend, opts Options) (Model, error) {
	arch := f.Meta.Architecture()
	build, ok := builders[arch]
	if !ok {
		return nil, fmt.Errorf("architecture %q is not supported (supported: %s)", arch, strings.Join(Supported(), ", "))
	}
	cfg, err := ReadConfig(f.Meta)
	if err != nil {
		return nil, err
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	return build(f, cfg, b, opts)
}

// weights binds tensors by name, checking shapes, and uploads them to the backend.
type weights struct {
	f    *gguf.File
	b    backend.Backend
	used map[string]bool
}

func newWeights(f *gguf.File, b backend.Backend) *weights {
	return &weights{f: f, b: b, used: map[string]bool{}}
}

// get uploads the named tensor, whose GGUF dims (contiguous first) must be dims.
func (w *weights) get(name string, dims ...int) (backend.Tensor, error) {
	ti, ok := w.f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("missing tensor %s", name)
	}
	want := make([]uint64, len(dims))
	for i, d := range dims {
		want[i] = uint64(d)
	}
	if !slices.Equal(trimOnes(ti.Dims), trimOnes(want)) {
		return nil, fmt.Errorf("%s: shape %v, want %v", name, ti.Dims, want)
	}
	data, err := w.f.TensorData(ti)
	if err != nil {
		return nil, err
	}
	t, err := w.b.Upload(ti, data)
	if err != nil {
		return nil, err
	}
	w.used[name] = true
	return t, nil
}

// optional is get for a tensor that may be absent (nil, nil then).
func (w *weights) optional(name string, dims ...int) (backend.Tensor, error) {
	if _, ok := w.f.Tensor(name); !ok {
		return nil, nil
	}
	return w.get(name, dims...)
}

// trimOnes drops trailing 1s, so a bias stored as [n, 1] matches [n].
func trimOnes(d []uint64) []uint64 {
	for len(d) > 1 && d[len(d)-1] == 1 {
		d = d[:len(d)-1]
	}
	return d
}
