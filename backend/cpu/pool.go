package cpu

import (
	"sync"
	"sync/atomic"

	"github.com/golem-llm/golem/gguf"
)

// job is work split over a range: run handles [lo, hi) on worker w (0 is the calling
// goroutine, 1..threads-1 the pool's), so a job can use per-worker scratch. Ops keep
// their job structs in the Backend and reuse them, so running an op allocates nothing.
type job interface {
	run(w, lo, hi int)
}

// pool is a persistent set of worker goroutines. The calling goroutine works too, so
// a pool of n threads starts n-1 goroutines.
type pool struct {
	wake []chan *batchRun
	wg   sync.WaitGroup
	cur  batchRun
}

// batchRun is one parallel call: chunks of grain items handed out by an atomic counter.
type batchRun struct {
	j     job
	n     int
	grain int
	next  atomic.Int64
	done  sync.WaitGroup
	mu    sync.Mutex
	err   error // the first fault, if any
}

func newPool(threads int) *pool {
	p := &pool{}
	for i := 1; i < threads; i++ {
		ch := make(chan *batchRun)
		p.wake = append(p.wake, ch)
		p.wg.Add(1)
		go func(w int) {
			defer p.wg.Done()
			for r := range ch {
				r.guardedWork(w)
				r.done.Done()
			}
		}(i)
	}
	return p
}

// guardedWork runs chunks until none are left. Weights may be views of a mapped file:
// a fault while reading one (the file was truncated underneath) is recorded as an
// error instead of killing the process.
func (r *batchRun) guardedWork(w int) {
	err := gguf.Guard(func() error {
		for {
			lo := int(r.next.Add(int64(r.grain))) - r.grain
			if lo >= r.n {
				return nil
			}
			r.j.run(w, lo, min(lo+r.grain, r.n))
		}
	})
	if err != nil {
		r.mu.Lock()
		if r.err == nil {
			r.err = err
		}
		r.mu.Unlock()
		r.next.Store(int64(r.n)) // stop handing out work
	}
}

// parallel runs j over [0, n) in chunks of grain items on every thread, and returns
// when all are done. Small ranges run on the caller alone.
func (p *pool) parallel(n, grain int, j job) error {
	if n <= 0 {
		return nil
	}
	grain = max(grain, 1)
	chunks := (n + grain - 1) / grain
	helpers := min(len(p.wake), chunks-1)
	r := &p.cur
	r.j, r.n, r.grain, r.err = j, n, grain, nil
	r.next.Store(0)
	r.done.Add(helpers)
	for i := 0; i < helpers; i++ {
		p.wake[i] <- r
	}
	r.guardedWork(0)
	r.done.Wait()
	r.j = nil
	return r.err
}

func (p *pool) close() {
	for _, ch := range p.wake {
		close(ch)
	}
	p.wake = nil
	p.wg.Wait()
}
