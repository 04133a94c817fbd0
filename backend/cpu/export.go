package cpu

import "github.com/golem-llm/golem/backend"

// Hooks for backends that wrap this one (backend/openblas): they keep the CPU
// backend's tensors and ops and take over a few ops with their own code.

// Raw returns a CPU tensor's storage: its bytes in the type's block layout, and the
// float32 view when it is an F32 tensor. ok is false for a tensor of another backend.
func Raw(t backend.Tensor) (data []byte, f32 []float32, ok bool) {
	ct, ok := t.(*tensor)
	if !ok || ct == nil {
		return nil, nil, false
	}
	return ct.data, ct.f32, true
}

// Parallel runs fn over [0, n) in chunks of grain items on the backend's worker pool
// (worker 0 is the caller; workers are 0..Threads()-1) and returns when all are done.
// A fault on mapped data inside fn comes back as an error.
func (b *Backend) Parallel(n, grain int, fn func(worker, lo, hi int)) error {
	return b.run(n, grain, funcJob(fn))
}

type funcJob func(w, lo, hi int)

func (f funcJob) run(w, lo, hi int) { f(w, lo, hi) }
