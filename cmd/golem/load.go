package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/golem-llm/golem/backend"
	_ "github.com/golem-llm/golem/backend/cpu" // the pure-Go backend, always compiled in
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/models"
	"github.com/golem-llm/golem/models/tokenizer"
	"github.com/spf13/cobra"
)

// runtimeFlags are the flags of every command that runs a model.
type runtimeFlags struct {
	model     string
	backend   string
	threads   int
	ctxSize   int
	batchSize int
	cacheType string
	// wrap, when set, wraps the backend before the model is built on it (--profile).
	wrap func(backend.Backend) backend.Backend
}

func (f *runtimeFlags) add(cmd *cobra.Command) {
	addModelFlag(cmd, &f.model)
	fl := cmd.Flags()
	fl.StringVar(&f.backend, "backend", "auto", "backend: auto, "+strings.Join(backend.Compiled(), ", "))
	fl.IntVarP(&f.threads, "threads", "t", 0, "CPU threads (default: all cores)")
	fl.IntVarP(&f.ctxSize, "ctx-size", "c", 0, "context size in tokens (default: the model's context_length)")
	fl.IntVarP(&f.batchSize, "batch-size", "b", 512, "prompt tokens per forward pass")
	fl.StringVar(&f.cacheType, "cache-type", "f32", "KV cache type: f32 or f16")
}

// loaded is a model ready to run.
type loaded struct {
	file  *gguf.File
	name  string
	be    backend.Backend
	model models.Model
	tok   *tokenizer.Tokenizer
	cache *backend.KVCache
}

func (l *loaded) Close() {
	if l.be != nil {
		l.be.Close()
	}
	if l.file != nil {
		l.file.Close()
	}
}

// load opens the model file, picks the backend, builds the model and its cache, and
// reports what it did on stderr.
func (f *runtimeFlags) load(stderr io.Writer) (*loaded, error) {
	if f.batchSize <= 0 {
		return nil, fmt.Errorf("--batch-size %d must be positive", f.batchSize)
	}
	if f.threads < 0 {
		return nil, fmt.Errorf("--threads %d must not be negative", f.threads)
	}
	var cacheType gguf.Type
	switch strings.ToLower(f.cacheType) {
	case "f32":
		cacheType = gguf.TypeF32
	case "f16":
		cacheType = gguf.TypeF16
	default:
		return nil, fmt.Errorf("--cache-type %q: want f32 or f16", f.cacheType)
	}
	start := time.Now()
	file, name, err := openModelFile(f.model, stderr)
	if err != nil {
		return nil, err
	}
	l := &loaded{file: file, name: name}
	fail := func(err error) (*loaded, error) { l.Close(); return nil, err }
	threads := f.threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	be, why, err := backend.Open(f.backend, backend.Options{Threads: threads})
	if err != nil {
		return fail(err)
	}
	if f.wrap != nil {
		be = f.wrap(be)
	}
	l.be = be
	fmt.Fprintf(stderr, "golem: %s, %d threads\n", why, threads)
	if l.model, err = models.Load(file, be, models.Options{MaxBatch: f.batchSize}); err != nil {
		return fail(fmt.Errorf("%s: %w", name, err))
	}
	if l.tok, err = tokenizer.FromGGUF(file.Meta); err != nil {
		return fail(fmt.Errorf("%s: %w", name, err))
	}
	cfg := l.model.Config()
	ctx := f.ctxSize
	if ctx == 0 {
		ctx = cfg.NCtxTrain
	}
	if l.cache, err = l.model.NewCache(ctx, cacheType); err != nil {
		return fail(err)
	}
	var weights uint64
	for _, t := range file.Tensors {
		weights += t.Size
	}
	var kvBytes uint64 // what the cache's tensors hold (a recurrent model's states, too)
	for _, t := range append(append([]backend.Tensor(nil), l.cache.K...), l.cache.V...) {
		kvBytes += uint64(t.Shape().Elements()) / uint64(t.DType().BlockSize()) * uint64(t.DType().BlockBytes())
	}
	fmt.Fprintf(stderr, "golem: loaded %s (%s, %d layers) in %s: weights %s, KV cache %s (%d tokens, %s)\n",
		name, cfg.Arch, cfg.NLayer, time.Since(start).Round(time.Millisecond), humanBytes(weights), humanBytes(kvBytes), ctx, cacheType)
	return l, nil
}
