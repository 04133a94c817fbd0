package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golem-llm/golem/gguf"
)

// job is work split over a range: run handles [lo, hi) on worker w (0 is the calling
// goroutine, 1..threads-1 the pool's), so a job can use per-worker scratch. Ops keep
// their job structs in the Backend and reuse them, so running an op allocates nothing.
type job interface {
	run(w, lo, hi int)
}

// spinFor is how long a worker polls for the next call before it parks, and how long
// the caller polls for the workers to finish before it parks. A decode step makes
// ~130 parallel calls with a few to ~60 µs of caller-only work between them (norms,
// RoPE, SwiGLU); waking a parked goroutine costs tens of µs on each side. TinyLlama
// Q4_0 decode on two threads: 23.1 tokens/s parked at once, 26.0 after 5 µs, 32.0
// after 50 µs, 33.5 after 100 µs, no better beyond.
const spinFor = 100 * time.Microsecond

// pool is a persistent set of worker goroutines. The calling goroutine works too, so
// a pool of n threads starts n-1 goroutines.
//
// A call publishes its batchRun and bumps gen; workers poll gen for a while after
// each call (spinning only when every thread can have a core), then park on their
// wake channel. The caller counts the workers still busy in pending and likewise
// polls, then parks on done.
type pool struct {
	workers []*worker
	gen     atomic.Uint64 // call sequence << 16 | helpers taking part
	_       [56]byte
	pending atomic.Int32 // helpers of the current call not finished yet
	parked  atomic.Bool  // the caller sleeps on done
	_       [56]byte
	done    chan struct{}
	spin    bool
	seq     uint64
	closed  atomic.Bool
	wg      sync.WaitGroup
	cur     batchRun
}

type worker struct {
	parked atomic.Bool // the worker sleeps on wake
	wake   chan struct{}
	_      [48]byte
}

// batchRun is one parallel call over [0, n) in chunks of grain items. Chunks are
// split into one contiguous range per thread: each thread takes its own range's chunks
// front to back (one stream through the weights), and a thread that runs out takes
// chunks from the back of another's range.
type batchRun struct {
	j      job
	n      int
	grain  int
	ranges []chunkRange
	mu     sync.Mutex
	err    error // the first fault, if any
}

// chunkRange is a range of chunk indexes [lo, hi) packed as lo<<32 | hi (so a call has
// fewer than 2^32 chunks), padded to its own cache line.
type chunkRange struct {
	v atomic.Uint64
	_ [56]byte
}

func newPool(threads int) *pool {
	p := &pool{done: make(chan struct{}, 1), spin: threads <= runtime.GOMAXPROCS(0)}
	p.cur.ranges = make([]chunkRange, max(threads, 1))
	for i := 1; i < threads; i++ {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		p.wg.Add(1)
		go p.loop(i, w)
	}
	return p
}

// loop is worker i's life: wait for a call, take part if it is one of the call's
// helpers, report done.
func (p *pool) loop(i int, w *worker) {
	defer p.wg.Done()
	var seen uint64
	for {
		g := p.wait(w, seen)
		if p.closed.Load() {
			return
		}
		seen = g
		if i <= int(g&0xffff) {
			r := &p.cur
			r.guardedWork(i)
			if p.pending.Add(-1) == 0 && p.parked.Swap(false) {
				p.done <- struct{}{}
			}
		}
	}
}

// wait returns gen once it differs from seen (or the pool is closed): polling for
// spinFor, then parked on w.wake. The caller hands a wake token only to a worker it
// finds parked, and clears parked when it does, so a token is never left unread
// when the worker parks again.
func (p *pool) wait(w *worker, seen uint64) uint64 {
	if g := p.poll(&p.gen, seen); g != seen {
		return g
	}
	for {
		w.parked.Store(true)
		if g := p.gen.Load(); g != seen || p.closed.Load() {
			if !w.parked.Swap(false) {
				<-w.wake // the caller saw us parked and sent a token: take it
			}
			return g
		}
		<-w.wake
	}
}

// poll spins until *v differs from old, for at most spinFor (not at all when the
// pool has more threads than cores), and returns its last value.
func (p *pool) poll(v *atomic.Uint64, old uint64) uint64 {
	if !p.spin {
		return v.Load()
	}
	var start time.Time
	for i := 0; ; i++ {
		if g := v.Load(); g != old {
			return g
		}
		if i&63 == 63 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > spinFor {
				return v.Load()
			}
		}
	}
}

// guardedWork runs chunks until none are left. Weights may be views of a mapped file:
// a fault while reading one (the file was truncated underneath) is recorded as an
// error instead of killing the process.
func (r *batchRun) guardedWork(w int) {
	err := gguf.Guard(func() error {
		for {
			c, ok := r.take(w)
			if !ok {
				return nil
			}
			lo := c * r.grain
			r.j.run(w, lo, min(lo+r.grain, r.n))
		}
	})
	if err != nil {
		r.mu.Lock()
		if r.err == nil {
			r.err = err
		}
		r.mu.Unlock()
		for i := range r.ranges {
			r.ranges[i].v.Store(0) // stop handing out work
		}
	}
}

// take returns the next chunk for thread w: the front of its own range, else the back
// of another thread's.
func (r *batchRun) take(w int) (int, bool) {
	own := &r.ranges[w].v
	for {
		v := own.Load()
		lo, hi := v>>32, v&0xffffffff
		if lo >= hi {
			break
		}
		if own.CompareAndSwap(v, (lo+1)<<32|hi) {
			return int(lo), true
		}
	}
	for k := 1; k < len(r.ranges); k++ {
		other := &r.ranges[(w+k)%len(r.ranges)].v
		for {
			v := other.Load()
			lo, hi := v>>32, v&0xffffffff
			if lo >= hi {
				break
			}
			if other.CompareAndSwap(v, lo<<32|(hi-1)) {
				return int(hi - 1), true
			}
		}
	}
	return 0, false
}

// parallel runs j over [0, n) in chunks of grain items on every thread, and returns
// when all are done. Small ranges run on the caller alone. Which thread runs a chunk
// never changes a result: chunks are always [k·grain, min((k+1)·grain, n)).
func (p *pool) parallel(n, grain int, j job) error {
	if n <= 0 {
		return nil
	}
	grain = max(grain, 1)
	chunks := (n + grain - 1) / grain
	helpers := min(len(p.workers), chunks-1)
	r := &p.cur
	r.j, r.n, r.grain, r.err = j, n, grain, nil
	threads := helpers + 1
	for t := range r.ranges {
		var lo, hi uint64
		if t < threads {
			lo, hi = uint64(chunks*t/threads), uint64(chunks*(t+1)/threads)
		}
		r.ranges[t].v.Store(lo<<32 | hi)
	}
	if helpers > 0 {
		p.pending.Store(int32(helpers))
		p.seq++
		p.gen.Store(p.seq<<16 | uint64(helpers))
		for _, w := range p.workers[:helpers] {
			if w.parked.Swap(false) {
				w.wake <- struct{}{}
			}
		}
	}
	r.guardedWork(0)
	if helpers > 0 {
		p.waitDone()
	}
	r.j = nil
	return r.err
}

// waitDone returns once every helper of the current call has finished.
func (p *pool) waitDone() {
	if p.spin {
		var start time.Time
		for i := 0; p.pending.Load() != 0; i++ {
			if i&63 == 63 {
				if start.IsZero() {
					start = time.Now()
				} else if time.Since(start) > spinFor {
					break
				}
			}
		}
	}
	for p.pending.Load() != 0 {
		p.parked.Store(true)
		if p.pending.Load() == 0 {
			if !p.parked.Swap(false) {
				<-p.done // the last helper saw us parked and sent a token: take it
			}
			return
		}
		<-p.done
	}
}

func (p *pool) close() {
	if p.closed.Swap(true) {
		return
	}
	p.seq++
	p.gen.Store(p.seq << 16)
	for _, w := range p.workers {
		if w.parked.Swap(false) {
			w.wake <- struct{}{}
		}
	}
	p.wg.Wait()
	p.workers = nil
}
