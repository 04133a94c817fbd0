//go:build cuda

// Package cuda is the CUDA backend (build tag cuda). Its kernels are the library
// built from csrc/ (libgolem_cuda.so, CMakeLists.txt), loaded at run time (lib.go):
// the same binary runs with a library built by any machine's nvcc and cuBLAS, and on
// a host without a GPU, driver or library Open returns backend.ErrUnavailable with
// the reason, so --backend auto falls back to the next backend.
//
// Tensors live in device memory: weights uploaded once, as stored (quantized blocks
// stay quantized); activations, scratch and the KV cache allocated there. Every op is
// queued on one stream and returns at once; Read waits. Host↔device copies go
// through a pinned staging ring (cgo's pointer rules forbid asynchronous copies from
// Go memory).
//
// The kernels cover the LLaMA family (ops.go). An op or weight type without a kernel
// runs on the CPU backend over host copies of its operands (fallback.go): slower, but
// every model runs and every conformance case applies; each such op is logged once.
package cuda

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu"
	"github.com/golem-llm/golem/gguf"
)

// Priority ranks the backend for "auto": above openblas (10) and cpu (0).
const Priority = 20

func init() {
	backend.Register("cuda", Priority, func(o backend.Options) (backend.Backend, error) { return New(o) })
}

// stagingBytes is the pinned ring's size: large uploads go through it in chunks.
const stagingBytes = 32 << 20

// Backend runs ops on one GPU.
type Backend struct {
	dev    Device
	stream unsafe.Pointer
	blas   unsafe.Pointer
	host   *cpu.Backend // fallback ops

	// The pinned staging ring: pos is the next free byte; wrapping around waits for
	// the stream, so no queued copy still reads the bytes being reused.
	staging unsafe.Pointer
	pos     int

	mu      sync.Mutex
	freed   []devAlloc         // collected tensors' memory, to reuse or free
	cache   map[int][]dptr     // reusable allocations by size
	live    map[dptr]int       // every allocation, for Close
	scratch map[string]*devBuf // per-purpose scratch, grown as needed

	hostWeights map[*devBuf]backend.Tensor // host copies of weights for fallback ops
	warned      map[string]bool
	kvs         map[*backend.KVCache]*kvState
	closed      bool
}

type devAlloc struct {
	ptr  dptr
	size int
}

// devBuf owns one device allocation; tensors and views keep it alive, and when it is
// collected its memory goes back to the backend for reuse.
type devBuf struct {
	ptr  dptr
	size int
}

// tensor is a device tensor: a range of a devBuf.
type tensor struct {
	b     *Backend
	name  string
	dt    gguf.Type
	shape backend.Shape
	buf   *devBuf
	off   int // bytes into buf
	bytes int
}

func (t *tensor) Name() string         { return t.name }
func (t *tensor) DType() gguf.Type     { return t.dt }
func (t *tensor) Shape() backend.Shape { return t.shape }
func (t *tensor) ptr() dptr            { return unsafe.Add(t.buf.ptr, t.off) }
func (t *tensor) String() string       { return fmt.Sprintf("%s %s%s", t.name, t.dt, t.shape) }

// New opens the first GPU. Without the library, a driver or a device it returns an
// error wrapping backend.ErrUnavailable that says which.
func New(o backend.Options) (*Backend, error) {
	if err := load(); err != nil {
		return nil, fmt.Errorf("%w: %v", backend.ErrUnavailable, err)
	}
	devs, err := Devices()
	if err != nil {
		return nil, fmt.Errorf("%w: library %s loaded, but the CUDA runtime finds no usable GPU: %v", backend.ErrUnavailable, libPath, err)
	}
	if len(devs) == 0 {
		return nil, fmt.Errorf("%w: library %s loaded, but %v", backend.ErrUnavailable, libPath, errNoDevice)
	}
	b := &Backend{dev: devs[0], cache: map[int][]dptr{}, live: map[dptr]int{}, scratch: map[string]*devBuf{},
		hostWeights: map[*devBuf]backend.Tensor{}, warned: map[string]bool{}, kvs: map[*backend.KVCache]*kvState{}}
	if err := cSetDevice(0); err != nil {
		return nil, fmt.Errorf("%w: %v", backend.ErrUnavailable, err)
	}
	if b.stream, err = cStreamCreate(); err != nil {
		return nil, fmt.Errorf("%w: %v", backend.ErrUnavailable, err)
	}
	if b.blas, err = cBlasCreate(b.stream); err != nil {
		cStreamDestroy(b.stream)
		return nil, fmt.Errorf("%w: %v", backend.ErrUnavailable, err)
	}
	if b.staging, err = cHostAlloc(stagingBytes); err != nil {
		cBlasDestroy(b.blas)
		cStreamDestroy(b.stream)
		return nil, fmt.Errorf("%w: %v", backend.ErrUnavailable, err)
	}
	b.host = cpu.New(backend.Options{Threads: o.Threads})
	return b, nil
}

var _ backend.Backend = (*Backend)(nil)

// Name is "cuda".
func (b *Backend) Name() string { return "cuda" }

// Device describes the GPU the backend runs on.
func (b *Backend) Device() Device { return b.dev }

// Sync waits for every queued op.
func (b *Backend) Sync() error { return cSync(b.stream) }

// Close waits for the stream and frees everything the backend allocated.
func (b *Backend) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	err := cSync(b.stream)
	b.mu.Lock()
	for p := range b.live {
		cFree(p)
	}
	b.live, b.cache, b.freed = map[dptr]int{}, map[int][]dptr{}, nil
	b.mu.Unlock()
	cHostFree(b.staging)
	cBlasDestroy(b.blas)
	cStreamDestroy(b.stream)
	b.host.Close()
	return err
}

// alloc returns size bytes of device memory owned by a new devBuf (reusing a
// collected allocation of the same size when there is one: stream order keeps the
// reuse safe, since the collected tensor's ops were all queued before).
func (b *Backend) alloc(size int) (*devBuf, error) {
	if b.closed {
		return nil, errors.New("cuda: backend closed")
	}
	size = (size + 255) &^ 255
	if size == 0 {
		size = 256
	}
	b.mu.Lock()
	b.reclaimLocked()
	var p dptr
	if l := b.cache[size]; len(l) > 0 {
		p, b.cache[size] = l[len(l)-1], l[:len(l)-1]
	}
	b.mu.Unlock()
	if p == nil {
		var err error
		if p, err = cMalloc(size); err != nil {
			// Out of memory: collect dead tensors, drop the cache, and try once more.
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
			b.trim()
			if p, err = cMalloc(size); err != nil {
				return nil, err
			}
		}
		b.mu.Lock()
		b.live[p] = size
		b.mu.Unlock()
	}
	d := &devBuf{ptr: p, size: size}
	runtime.AddCleanup(d, func(a devAlloc) {
		b.mu.Lock()
		b.freed = append(b.freed, a)
		b.mu.Unlock()
	}, devAlloc{p, size})
	return d, nil
}

func (b *Backend) reclaimLocked() {
	for _, a := range b.freed {
		if _, ok := b.live[a.ptr]; ok {
			b.cache[a.size] = append(b.cache[a.size], a.ptr)
		}
	}
	b.freed = b.freed[:0]
}

// trim frees every cached allocation.
func (b *Backend) trim() {
	cSync(b.stream)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reclaimLocked()
	for size, l := range b.cache {
		for _, p := range l {
			cFree(p)
			delete(b.live, p)
		}
		delete(b.cache, size)
	}
}

// scratchBuf is a per-purpose device buffer of at least size bytes. Growing it waits
// for the stream, so no queued op still uses the old one.
func (b *Backend) scratchBuf(name string, size int) (dptr, error) {
	if s := b.scratch[name]; s != nil && s.size >= size {
		return s.ptr, nil
	}
	if s := b.scratch[name]; s != nil {
		if err := cSync(b.stream); err != nil {
			return nil, err
		}
	}
	d, err := b.alloc(max(size, 4096))
	if err != nil {
		return nil, err
	}
	b.scratch[name] = d
	return d.ptr, nil
}

// stage returns n bytes of the pinned ring (n ≤ stagingBytes).
func (b *Backend) stage(n int) (unsafe.Pointer, []byte, error) {
	n8 := (n + 255) &^ 255
	if b.pos+n8 > stagingBytes {
		if err := cSync(b.stream); err != nil {
			return nil, nil, err
		}
		b.pos = 0
	}
	p := unsafe.Add(b.staging, b.pos)
	b.pos += n8
	return p, unsafe.Slice((*byte)(p), n), nil
}

// upload copies host bytes to device memory at dst, through the ring.
func (b *Backend) upload(dst dptr, src []byte) error {
	for len(src) > 0 {
		n := min(len(src), stagingBytes/2)
		p, s, err := b.stage(n)
		if err != nil {
			return err
		}
		copy(s, src[:n])
		if err := cH2D(dst, p, n, b.stream); err != nil {
			return err
		}
		dst, src = unsafe.Add(dst, n), src[n:]
	}
	return nil
}

// download copies device bytes into dst after all queued work.
func (b *Backend) download(dst []byte, src dptr) error {
	for len(dst) > 0 {
		n := min(len(dst), stagingBytes/2)
		p, s, err := b.stage(n)
		if err != nil {
			return err
		}
		if err := cD2H(p, src, n, b.stream); err != nil {
			return err
		}
		if err := cSync(b.stream); err != nil {
			return err
		}
		copy(dst[:n], s)
		dst, src = dst[n:], unsafe.Add(src, n)
	}
	return nil
}

// uploadInt32 puts a small host array into the named device scratch.
func (b *Backend) uploadInt32(name string, v []int32) (dptr, error) {
	p, err := b.scratchBuf(name, 4*len(v))
	if err != nil || len(v) == 0 {
		return p, err
	}
	return p, b.upload(p, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v)))
}

func (b *Backend) own(t backend.Tensor, what string) (*tensor, error) {
	ct, ok := t.(*tensor)
	if !ok || ct == nil {
		return nil, fmt.Errorf("cuda: %s is not a CUDA tensor", what)
	}
	if ct.b != b {
		return nil, fmt.Errorf("cuda: %s belongs to another CUDA backend", what)
	}
	return ct, nil
}

// Upload copies a weight to the device as stored.
func (b *Backend) Upload(info *gguf.TensorInfo, data []byte) (backend.Tensor, error) {
	size64, err := info.Type.TensorBytes(info.Dims)
	size := int(size64)
	if err != nil {
		return nil, fmt.Errorf("cuda: upload %s: %w", info.Name, err)
	}
	if len(data) < size {
		return nil, fmt.Errorf("cuda: upload %s: %d bytes, want %d", info.Name, len(data), size)
	}
	d, err := b.alloc(size)
	if err != nil {
		return nil, fmt.Errorf("cuda: upload %s: %w", info.Name, err)
	}
	if err := b.upload(d.ptr, data[:size]); err != nil {
		return nil, fmt.Errorf("cuda: upload %s: %w", info.Name, err)
	}
	return &tensor{b: b, name: info.Name, dt: info.Type, shape: backend.ShapeFromDims(info.Dims), buf: d, bytes: size}, nil
}

func elemBytes(dt gguf.Type) int {
	switch dt {
	case gguf.TypeF32, gguf.TypeI32:
		return 4
	case gguf.TypeF16:
		return 2
	}
	return 0
}

// Alloc makes a zeroed F32, F16 or I32 tensor.
func (b *Backend) Alloc(name string, dt gguf.Type, shape ...int) (backend.Tensor, error) {
	es := elemBytes(dt)
	if es == 0 {
		return nil, fmt.Errorf("cuda: alloc %s: type %s (want F32, F16 or I32)", name, dt)
	}
	s := backend.Shape(append([]int(nil), shape...))
	if len(s) == 0 {
		return nil, fmt.Errorf("cuda: alloc %s: no dimensions", name)
	}
	for _, d := range s {
		if d <= 0 {
			return nil, fmt.Errorf("cuda: alloc %s: shape %s has a dimension ≤ 0", name, s)
		}
	}
	size := s.Elements() * es
	d, err := b.alloc(size)
	if err != nil {
		return nil, fmt.Errorf("cuda: alloc %s %s: %w", name, s, err)
	}
	if err := cMemset(d.ptr, size, b.stream); err != nil {
		return nil, err
	}
	return &tensor{b: b, name: name, dt: dt, shape: s, buf: d, bytes: size}, nil
}

// rowBytes is the size of one innermost row of n values of type dt.
func rowBytes(dt gguf.Type, n int) (int, error) {
	s, err := dt.TensorBytes([]uint64{uint64(n)})
	return int(s), err
}

// View is the outermost-dimension slices [start, end) of t.
func (b *Backend) View(t backend.Tensor, start, end int) (backend.Tensor, error) {
	ct, err := b.own(t, "view source")
	if err != nil {
		return nil, err
	}
	if len(ct.shape) == 0 || start < 0 || end < start || end > ct.shape[0] {
		return nil, fmt.Errorf("cuda: view [%d, %d) of %s", start, end, ct)
	}
	inner := backend.Shape(ct.shape[1:]).Elements()
	rb, err := rowBytes(ct.dt, ct.shape.Last())
	if err != nil {
		return nil, err
	}
	sliceBytes := rb * (inner / max(1, ct.shape.Last()))
	if ct.shape.Last() == 0 {
		sliceBytes = 0
	}
	shape := append(backend.Shape{end - start}, ct.shape[1:]...)
	return &tensor{b: b, name: ct.name, dt: ct.dt, shape: shape, buf: ct.buf, off: ct.off + start*sliceBytes, bytes: (end - start) * sliceBytes}, nil
}

// Reshape gives t another shape of the same size.
func (b *Backend) Reshape(t backend.Tensor, shape ...int) (backend.Tensor, error) {
	ct, err := b.own(t, "reshape source")
	if err != nil {
		return nil, err
	}
	s := backend.Shape(append([]int(nil), shape...))
	if s.Elements() != ct.shape.Elements() {
		return nil, fmt.Errorf("cuda: reshape %s to %s", ct, s)
	}
	if bs := ct.dt.BlockSize(); bs > 1 && s.Last()%bs != 0 {
		return nil, fmt.Errorf("cuda: reshape %s to %s splits %s blocks", ct, s, ct.dt)
	}
	n := *ct
	n.shape = s
	return &n, nil
}

// logOnce notes, once per key, that an op runs on the host.
func (b *Backend) logOnce(key, msg string) {
	b.mu.Lock()
	seen := b.warned[key]
	b.warned[key] = true
	b.mu.Unlock()
	if !seen {
		slog.Debug(msg)
	}
}
