package golem

import (
	"context"
	"sync"

	"github.com/golem-llm/golem/inference"
)

// engine owns the model's Batcher on one goroutine: it admits generations up to its
// slots, steps them together, stops the cancelled ones between steps, and runs other
// work on the model (embeddings) between steps. Nothing else touches the model, the
// backend or the cache while it runs.
type engine struct {
	b     *inference.Batcher
	slots int

	base   context.Context // cancelled by close: aborts the forward pass under way
	cancel context.CancelFunc
	wake   chan struct{}
	done   chan struct{}

	mu      sync.Mutex
	pending []*request
	jobs    []*job
	closed  bool
}

// request is one generation: its prompt and options in, its pieces, statistics and
// final error out.
type request struct {
	ctx    context.Context // the caller's context, with a cancel for an early exit
	prompt []int32
	embd   []float32 // the rows of the prompt's image positions (models.EmbdToken)
	opts   inference.GenerateOptions
	seq    *inference.Sequence

	mu       sync.Mutex
	pieces   []string
	notify   chan struct{} // a piece was added (capacity 1)
	finished chan struct{} // closed once err and stats are final
	err      error
	stats    inference.Stats
}

// job is work run on the engine goroutine between steps.
type job struct {
	ctx  context.Context
	fn   func(ctx context.Context) error
	err  error
	done chan struct{}
}

func newEngine(b *inference.Batcher, slots int) *engine {
	e := &engine{b: b, slots: slots, wake: make(chan struct{}, 1), done: make(chan struct{})}
	e.base, e.cancel = context.WithCancel(context.Background())
	go e.loop()
	return e
}

func (e *engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func newRequest(ctx context.Context, prompt []int32, opts inference.GenerateOptions) *request {
	r := &request{ctx: ctx, prompt: prompt, opts: opts, notify: make(chan struct{}, 1), finished: make(chan struct{})}
	return r
}

// emit queues a piece for the reader; it never blocks the engine.
func (r *request) emit(piece string) error {
	r.mu.Lock()
	r.pieces = append(r.pieces, piece)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return nil
}

func (r *request) finish(err error, st inference.Stats) {
	if err != nil && r.ctx.Err() != nil {
		err = r.ctx.Err() // a cancelled generation says so, not how the pass failed
	}
	r.err, r.stats = err, st
	close(r.finished)
}

// take returns the pieces produced since the last call.
func (r *request) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pieces
	r.pieces = nil
	return p
}

// submit queues requests in order; they start as slots free up.
func (e *engine) submit(rs ...*request) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	e.pending = append(e.pending, rs...)
	e.mu.Unlock()
	e.poke()
	return nil
}

// withdraw takes r out of the queue if it has not started; it reports whether it did.
func (e *engine) withdraw(r *request) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, p := range e.pending {
		if p == r {
			e.pending = append(e.pending[:i], e.pending[i+1:]...)
			return true
		}
	}
	return false
}

// wait blocks until r has new pieces or has finished; it returns the pieces and
// whether r is finished (all its pieces then returned). Once r's context is done no
// more pieces come: a request still queued is finished here, one already decoding is
// stopped by the engine before its next token.
func (e *engine) wait(r *request) ([]string, bool) {
	for {
		if r.ctx.Err() != nil {
			if e.withdraw(r) {
				r.finish(r.ctx.Err(), inference.Stats{PromptTokens: len(r.prompt)})
			}
			e.poke()
			<-r.finished
			return nil, true
		}
		select {
		case <-r.finished:
			return r.take(), true
		default:
		}
		if p := r.take(); len(p) > 0 {
			return p, false
		}
		select {
		case <-r.notify:
		case <-r.finished:
		case <-r.ctx.Done():
		}
	}
}

// drain waits for r to finish, dropping its pieces.
func (e *engine) drain(r *request) {
	for _, done := e.wait(r); !done; _, done = e.wait(r) {
	}
}

// run runs fn on the engine goroutine between steps and returns its error.
func (e *engine) run(ctx context.Context, fn func(ctx context.Context) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan struct{})}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	e.jobs = append(e.jobs, j)
	e.mu.Unlock()
	e.poke()
	select {
	case <-j.done:
		return j.err
	case <-ctx.Done():
		e.mu.Lock()
		for i, q := range e.jobs {
			if q == j {
				e.jobs = append(e.jobs[:i], e.jobs[i+1:]...)
				e.mu.Unlock()
				return ctx.Err()
			}
		}
		e.mu.Unlock()
		<-j.done // running: fn sees ctx too
		return j.err
	}
}

// close stops the loop: queued and running generations end with ErrClosed.
func (e *engine) close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.poke()
	<-e.done
}

func (e *engine) loop() {
	defer close(e.done)
	var live []*request
	for {
		e.mu.Lock()
		for !e.closed && len(e.pending) == 0 && len(e.jobs) == 0 && len(live) == 0 {
			e.mu.Unlock()
			<-e.wake
			e.mu.Lock()
		}
		if e.closed {
			pending, jobs := e.pending, e.jobs
			e.pending, e.jobs = nil, nil
			e.mu.Unlock()
			for _, r := range append(pending, live...) {
				st := inference.Stats{PromptTokens: len(r.prompt)}
				if r.seq != nil {
					st = r.seq.Stats()
				}
				r.finish(ErrClosed, st)
			}
			for _, j := range jobs {
				j.err = ErrClosed
				close(j.done)
			}
			return
		}
		jobs := e.jobs
		e.jobs = nil
		var admit []*request
		for len(e.pending) > 0 && len(live)+len(admit) < e.slots {
			admit = append(admit, e.pending[0])
			e.pending = e.pending[1:]
		}
		e.mu.Unlock()

		for _, j := range jobs {
			if err := j.ctx.Err(); err != nil {
				j.err = err
			} else {
				j.err = j.fn(j.ctx)
			}
			close(j.done)
		}
		for _, r := range admit {
			if err := r.ctx.Err(); err != nil {
				r.finish(err, inference.Stats{PromptTokens: len(r.prompt)})
				continue
			}
			q, err := e.b.AddPrompt(inference.Prompt{Tokens: r.prompt, Embd: r.embd}, r.opts, r.emit)
			if err != nil {
				r.finish(err, inference.Stats{PromptTokens: len(r.prompt)})
				continue
			}
			r.seq = q
			live = append(live, r)
		}
		for _, r := range live {
			if r.ctx.Err() != nil {
				e.b.Cancel(r.seq)
			}
		}
		if e.b.Live() > 0 {
			e.step(live)
		}
		for _, r := range live {
			if !r.seq.Done() && r.ctx.Err() != nil {
				e.b.Cancel(r.seq)
			}
		}
		keep := live[:0]
		for _, r := range live {
			if r.seq.Done() {
				err := r.seq.Err()
				if err != nil && r.ctx.Err() == nil && e.base.Err() != nil {
					err = ErrClosed
				}
				r.finish(err, r.seq.Stats())
				continue
			}
			keep = append(keep, r)
		}
		clear(live[len(keep):])
		live = keep
	}
}

// step decodes one token of every live sequence. A lone generation's own context
// aborts the pass (a long prompt stops at once); with several, each stops between
// steps so the others go on. Errors are the sequences' own (a failed pass fails every
// sequence in it; one cancelled before the pass is stopped by the caller).
func (e *engine) step(live []*request) {
	ctx := e.base
	if len(live) == 1 {
		c, cancel := context.WithCancel(live[0].ctx)
		defer cancel()
		stop := context.AfterFunc(e.base, cancel)
		defer stop()
		ctx = c
	}
	_ = e.b.Step(ctx)
}
