package main

import (
	"context"
	"fmt"
	"io"

	golemapi "github.com/golem-llm/golem"
)

// apiOptions are what `run` and `chat` ask of package golem beyond the runtime flags.
type apiOptions struct {
	parallel     int
	profile      bool
	chatTemplate string
	mmproj       string // a multimodal projector for images
}

// open loads the model through package golem and reports on stderr as load does:
// the embedded model, the backend, a progress bar for a large model on a terminal,
// and the one-line summary.
func (f *runtimeFlags) open(ctx context.Context, stderr io.Writer, o apiOptions) (*golemapi.Model, error) {
	if _, err := f.validate(); err != nil {
		return nil, err
	}
	if f.model == "" {
		fmt.Fprintf(stderr, "golem: no model given (-m): using the embedded %s\n", golemapi.EmbeddedModel)
	}
	opts := golemapi.LoadOptions{
		Backend:      f.backend,
		Threads:      f.threads,
		ContextSize:  f.ctxSize,
		BatchSize:    f.batchSize,
		CacheType:    f.cacheType,
		Parallel:     o.parallel,
		ChatTemplate: o.chatTemplate,
		Profile:      o.profile,
		MMProj:       o.mmproj,
	}
	opts.Progress = loadProgress(stderr)
	m, err := golemapi.Load(ctx, f.model, opts)
	if err != nil {
		return nil, err
	}
	in := m.Info()
	fmt.Fprintf(stderr, "golem: %s, %d threads\n", in.BackendReason, in.Threads)
	printLoaded(stderr, in.Name, in.Architecture, in.Layers, in.LoadTime, in.WeightBytes, in.CacheBytes, in.ContextSize, in.CacheType)
	if in.MMProj != "" {
		fmt.Fprintf(stderr, "golem: loaded mmproj %s: an image is %d prompt positions\n", in.MMProj, in.ImageTokens)
	}
	return m, nil
}
