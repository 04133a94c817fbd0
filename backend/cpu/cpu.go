// Package cpu is the pure-Go backend, always compiled in. Every op has a plain scalar
// reference path (Options.Reference), the oracle the conformance suite checks every
// backend against, and a fast path: quantized matmuls as llama.cpp computes them
// (activations quantized once per row, integer dot products per block) spread over a
// persistent pool of workers.
package cpu

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

func init() {
	backend.Register("cpu", 0, func(o backend.Options) (backend.Backend, error) { return New(o), nil })
}

// Backend is the CPU backend.
type Backend struct {
	ref     bool
	threads int
	pool    *pool
	scratch scratch
	jobs    jobs
}

// jobs are the ops' reusable job structs (a Backend runs one op at a time).
type jobs struct {
	matmul matmulJob
	shared sharedJob
	quant  quantJob
	rows   rowJob
	attn   attnJob
	rope   ropeJob
}

// New returns a CPU backend. Threads 0 means all cores.
func New(o backend.Options) *Backend {
	n := o.Threads
	if n <= 0 {
		n = runtime.NumCPU()
	}
	if o.Reference {
		n = 1
	}
	return &Backend{ref: o.Reference, threads: n, pool: newPool(n), scratch: scratch{workers: make([][][]float32, n)}}
}

// Name is "cpu" (or "cpu-reference" for the scalar reference path).
func (b *Backend) Name() string {
	if b.ref {
		return "cpu-reference"
	}
	return "cpu"
}

// Threads is the number of threads ops use.
func (b *Backend) Threads() int { return b.threads }

// Close stops the worker pool.
func (b *Backend) Close() error {
	b.pool.close()
	return nil
}

// tensor is a CPU tensor: raw bytes in the type's block layout, plus a float32 view
// for F32 tensors and an int32 view for I32 tensors.
type tensor struct {
	name  string
	dt    backend.DType
	shape backend.Shape
	data  []byte
	f32   []float32
	i32   []int32
}

func (t *tensor) Name() string           { return t.name }
func (t *tensor) DType() backend.DType   { return t.dt }
func (t *tensor) Shape() backend.Shape   { return t.shape }
func (t *tensor) rowLen() int            { return t.shape.Last() }
func (t *tensor) rows() int              { return t.shape.Rows() }
func (t *tensor) String() string         { return fmt.Sprintf("%s %s%v", t.name, t.dt, t.shape) }
func (t *tensor) rowBytes() int          { return t.rowLen() / t.dt.BlockSize() * t.dt.BlockBytes() }
func (t *tensor) row(i int) []byte       { rb := t.rowBytes(); return t.data[i*rb : (i+1)*rb] }
func (t *tensor) f32row(i int) []float32 { n := t.rowLen(); return t.f32[i*n : (i+1)*n] }

// newTensor wraps data, which must hold exactly the bytes of dt × shape.
func newTensor(name string, dt backend.DType, shape backend.Shape, data []byte) *tensor {
	t := &tensor{name: name, dt: dt, shape: shape, data: data}
	switch dt {
	case gguf.TypeF32:
		t.f32 = bytesAs[float32](data)
	case gguf.TypeI32:
		t.i32 = bytesAs[int32](data)
	}
	return t
}

// bytesAs views b as a slice of T; b must be aligned for T.
func bytesAs[T float32 | int32 | uint16](b []byte) []T {
	var z T
	size := int(unsafe.Sizeof(z))
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/size)
}

func aligned(b []byte, a uintptr) bool {
	return len(b) == 0 || uintptr(unsafe.Pointer(&b[0]))%a == 0
}

func (b *Backend) own(t backend.Tensor, what string) (*tensor, error) {
	if t == nil {
		return nil, fmt.Errorf("%s is nil", what)
	}
	ct, ok := t.(*tensor)
	if !ok {
		return nil, fmt.Errorf("%s %s belongs to another backend", what, t.Name())
	}
	return ct, nil
}

// Upload keeps a view of the GGUF data (copied only when it is not 4-byte aligned,
// which mapped GGUF data always is).
func (b *Backend) Upload(info *gguf.TensorInfo, data []byte) (backend.Tensor, error) {
	if !info.Type.Valid() {
		return nil, fmt.Errorf("tensor %s: unknown type %s", info.Name, info.Type)
	}
	size, err := info.Type.TensorBytes(info.Dims)
	if err != nil {
		return nil, fmt.Errorf("tensor %s: %w", info.Name, err)
	}
	if uint64(len(data)) != size {
		return nil, fmt.Errorf("tensor %s: %d bytes of data, want %d for %s %v", info.Name, len(data), size, info.Type, info.Dims)
	}
	if !aligned(data, 4) {
		data = append(make([]byte, 0, len(data)+4), data...)
	}
	return newTensor(info.Name, info.Type, backend.ShapeFromDims(info.Dims), data), nil
}

// Alloc makes a zeroed F32, F16 or I32 tensor.
func (b *Backend) Alloc(name string, dt backend.DType, shape ...int) (backend.Tensor, error) {
	if dt != gguf.TypeF32 && dt != gguf.TypeF16 && dt != gguf.TypeI32 {
		return nil, fmt.Errorf("alloc %s: type %s: only F32, F16 and I32 tensors can be allocated", name, dt)
	}
	n := 1
	for _, d := range shape {
		if d <= 0 {
			return nil, fmt.Errorf("alloc %s: shape %v has a dimension ≤ 0", name, shape)
		}
		if n > (1<<40)/d {
			return nil, fmt.Errorf("alloc %s: shape %v is too large", name, shape)
		}
		n *= d
	}
	if len(shape) == 0 {
		return nil, fmt.Errorf("alloc %s: no dimensions", name)
	}
	esize := dt.BlockBytes()
	// Allocate as uint32 words so the bytes are 4-byte aligned for float32 views.
	words := make([]uint32, (n*esize+3)/4)
	data := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n*esize)
	return newTensor(name, dt, append(backend.Shape(nil), shape...), data), nil
}

// View is the outermost-dimension slices [start, end) of t.
func (b *Backend) View(t backend.Tensor, start, end int) (backend.Tensor, error) {
	ct, err := b.own(t, "view source")
	if err != nil {
		return nil, err
	}
	if len(ct.shape) == 0 || start < 0 || end > ct.shape[0] || start >= end {
		return nil, fmt.Errorf("view of %s: range [%d, %d) outside its %d slices", ct, start, end, ct.shape[0])
	}
	sliceBytes := len(ct.data) / ct.shape[0]
	shape := append(backend.Shape{end - start}, ct.shape[1:]...)
	return newTensor(fmt.Sprintf("%s[%d:%d]", ct.name, start, end), ct.dt, shape, ct.data[start*sliceBytes:end*sliceBytes]), nil
}

// Reshape gives t another shape of the same number of elements; the innermost
// dimension must stay a multiple of the type's block size.
func (b *Backend) Reshape(t backend.Tensor, shape ...int) (backend.Tensor, error) {
	ct, err := b.own(t, "reshape source")
	if err != nil {
		return nil, err
	}
	s := backend.Shape(shape)
	if len(s) == 0 || s.Elements() != ct.shape.Elements() || s.Last()%ct.dt.BlockSize() != 0 {
		return nil, fmt.Errorf("reshape of %s to %v: sizes differ or rows split blocks", ct, s)
	}
	for _, d := range s {
		if d <= 0 {
			return nil, fmt.Errorf("reshape of %s to %v: dimension ≤ 0", ct, s)
		}
	}
	return newTensor(ct.name, ct.dt, append(backend.Shape(nil), s...), ct.data), nil
}

// Write copies host values into an F32 or F16 tensor.
func (b *Backend) Write(t backend.Tensor, src []float32) error {
	ct, err := b.own(t, "write target")
	if err != nil {
		return err
	}
	if len(src) != ct.shape.Elements() {
		return fmt.Errorf("write %s: %d values for %d elements", ct, len(src), ct.shape.Elements())
	}
	switch ct.dt {
	case gguf.TypeF32:
		copy(ct.f32, src)
	case gguf.TypeF16:
		h := bytesAs[uint16](ct.data)
		for i, x := range src {
			h[i] = quant.FP32ToFP16(x)
		}
	default:
		return fmt.Errorf("write %s: cannot write floats into a %s tensor", ct, ct.dt)
	}
	return nil
}

// WriteInt32 copies host values into an I32 tensor.
func (b *Backend) WriteInt32(t backend.Tensor, src []int32) error {
	ct, err := b.own(t, "write target")
	if err != nil {
		return err
	}
	if ct.dt != gguf.TypeI32 || len(src) != len(ct.i32) {
		return fmt.Errorf("write %s: want an I32 tensor of %d values", ct, len(src))
	}
	copy(ct.i32, src)
	return nil
}

// Read copies t into dst as F32, dequantizing quantized tensors.
func (b *Backend) Read(t backend.Tensor, dst []float32) error {
	ct, err := b.own(t, "read source")
	if err != nil {
		return err
	}
	if len(dst) != ct.shape.Elements() {
		return fmt.Errorf("read %s: %d values for %d elements", ct, len(dst), ct.shape.Elements())
	}
	switch ct.dt {
	case gguf.TypeF32:
		copy(dst, ct.f32)
		return nil
	case gguf.TypeI32:
		for i, x := range ct.i32 {
			dst[i] = float32(x)
		}
		return nil
	}
	return gguf.Guard(func() error { return quant.Dequantize(ct.dt, ct.data, dst) })
}

// ReadInt32 copies an I32 tensor into dst.
func (b *Backend) ReadInt32(t backend.Tensor, dst []int32) error {
	ct, err := b.own(t, "read source")
	if err != nil {
		return err
	}
	if ct.dt != gguf.TypeI32 || len(dst) != len(ct.i32) {
		return fmt.Errorf("read %s: want an I32 tensor of %d values", ct, len(dst))
	}
	copy(dst, ct.i32)
	return nil
}

// NewKVCache allocates per-layer K and V tensors of [cells, dim].
func (b *Backend) NewKVCache(layers, cells, kDim, vDim int, dt backend.DType) (*backend.KVCache, error) {
	if dt != gguf.TypeF32 && dt != gguf.TypeF16 {
		return nil, fmt.Errorf("kv cache: type %s (want F32 or F16)", dt)
	}
	if layers <= 0 || cells <= 0 || kDim <= 0 || vDim <= 0 {
		return nil, fmt.Errorf("kv cache: %d layers of %d cells, dims %d/%d: all must be positive", layers, cells, kDim, vDim)
	}
	k := make([]backend.Tensor, layers)
	v := make([]backend.Tensor, layers)
	for l := range layers {
		var err error
		if k[l], err = b.Alloc(fmt.Sprintf("cache_k_l%d", l), dt, cells, kDim); err != nil {
			return nil, fmt.Errorf("kv cache: %w", err)
		}
		if v[l], err = b.Alloc(fmt.Sprintf("cache_v_l%d", l), dt, cells, vDim); err != nil {
			return nil, fmt.Errorf("kv cache: %w", err)
		}
	}
	return backend.NewKVCacheMeta(k, v, cells, kDim, vDim, dt), nil
}
