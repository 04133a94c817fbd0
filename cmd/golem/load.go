package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/golem-llm/golem/backend"
	_ "github.com/golem-llm/golem/backend/cpu" // the pure-Go backend, always compiled in
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/internal/pagein"
	"github.com/golem-llm/golem/models"
	"github.com/golem-llm/golem/models/tokenizer"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// runtimeFlags are the flags of every command that runs a model.
type runtimeFlags struct {
	model     string
	backend   string
	threads   int
	ctxSize   int
	batchSize int
	cacheType string
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

// validate checks the flags that need no model and returns the cache type.
func (f *runtimeFlags) validate() (gguf.Type, error) {
	if f.batchSize <= 0 {
		return 0, fmt.Errorf("--batch-size %d must be positive", f.batchSize)
	}
	if f.threads < 0 {
		return 0, fmt.Errorf("--threads %d must not be negative", f.threads)
	}
	switch strings.ToLower(f.cacheType) {
	case "f32":
		return gguf.TypeF32, nil
	case "f16":
		return gguf.TypeF16, nil
	}
	return 0, fmt.Errorf("--cache-type %q: want f32 or f16", f.cacheType)
}

// load opens the model file, picks the backend, builds the model and its cache, and
// reports what it did on stderr. Tools that need the engine's internals use it;
// run and chat load through package golem (open).
func (f *runtimeFlags) load(stderr io.Writer) (*loaded, error) {
	cacheType, err := f.validate()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	file, name, err := openModelFile(f.model, stderr)
	if err != nil {
		return nil, err
	}
	l := &loaded{file: file, name: name}
	fail := func(err error) (*loaded, error) { l.Close(); return nil, err }
	if err := pagein.Touch(context.Background(), file, loadProgress(stderr)); err != nil {
		return fail(fmt.Errorf("%s: %w", name, err))
	}
	threads := f.threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	be, why, err := backend.Open(f.backend, backend.Options{Threads: threads})
	if err != nil {
		return fail(err)
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
	var kvBytes uint64 // what the cache's tensors hold (a recurrent model's states, too)
	for _, t := range append(append([]backend.Tensor(nil), l.cache.K...), l.cache.V...) {
		kvBytes += uint64(t.Shape().Elements()) / uint64(t.DType().BlockSize()) * uint64(t.DType().BlockBytes())
	}
	printLoaded(stderr, name, cfg.Arch, cfg.NLayer, time.Since(start), pagein.Total(file), kvBytes, ctx, cacheType.String())
	return l, nil
}

// printLoaded is the one-line load summary.
func printLoaded(stderr io.Writer, name, arch string, layers int, took time.Duration, weights, kv uint64, ctx int, cacheType string) {
	fmt.Fprintf(stderr, "golem: loaded %s (%s, %d layers) in %s: weights %s, KV cache %s (%d tokens, %s)\n",
		name, arch, layers, took.Round(time.Millisecond), humanBytes(weights), humanBytes(kv), ctx, cacheType)
}

// progressMin is the model size from which loading shows a progress bar.
const progressMin = 100 << 20

// loadProgress returns a progress callback that draws a bar on stderr while a model
// of at least progressMin bytes is read, or nil when stderr is not a terminal.
func loadProgress(stderr io.Writer) func(done, total uint64) {
	if !isTerminal(stderr) {
		return nil
	}
	var bar *progressbar.ProgressBar
	return func(done, total uint64) {
		if total < progressMin {
			return
		}
		if bar == nil {
			bar = progressbar.NewOptions64(int64(total),
				progressbar.OptionSetWriter(stderr),
				progressbar.OptionSetDescription("golem: loading"),
				progressbar.OptionShowBytes(true),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish(),
			)
		}
		_ = bar.Set64(int64(done))
		if done >= total {
			_ = bar.Finish()
		}
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}
