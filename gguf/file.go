// Package gguf reads, validates and writes GGUF files, the container format of
// llama.cpp and ggml. A GGUF file is untrusted input: every count, length, dimension
// and offset is checked against the file size before anything is allocated, and every
// problem is reported as an error naming what and where.
package gguf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Magic is the four bytes every GGUF file starts with.
const Magic = "GGUF"

// DefaultAlignment is the tensor data alignment when general.alignment is absent.
const DefaultAlignment = 32

// Limits from ggml: a tensor name holds at most 63 bytes (GGML_MAX_NAME is 64 with the
// terminating NUL), a tensor has 1 to 4 dimensions, and keys are at most 65535 bytes.
const (
	MaxTensorName = 63
	MaxDims       = 4
	MaxKeyLen     = 65535
)

// TensorInfo describes one tensor: its name, type, shape and where its data lies.
type TensorInfo struct {
	Name string
	Type Type
	// Dims in ggml order: Dims[0] is the contiguous row length, so a weight with
	// Dims {n_in, n_out} is an n_out × n_in row-major matrix.
	Dims []uint64
	// Offset of the data from the start of the data section.
	Offset uint64
	// Size of the data in bytes.
	Size uint64
}

// Elements is the number of elements in the tensor.
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Rows is the number of rows: the product of every dimension but the first.
func (t TensorInfo) Rows() uint64 { return t.Elements() / t.Dims[0] }

// File is a parsed GGUF file. Its tensor data is memory-mapped read-only where the
// platform allows it, so tensor views cost nothing; otherwise data is read on demand.
type File struct {
	Version    uint32
	Meta       Metadata
	Tensors    []TensorInfo
	Alignment  uint64
	DataOffset int64 // absolute offset of the data section
	Size       int64 // file size in bytes

	data   []byte      // the whole file, when mapped or held in memory
	ra     io.ReaderAt // the file, when not mapped
	closer func() error
	byName map[string]int
}

// Options change how Open reads a file.
type Options struct {
	// NoMmap reads tensor data with ordinary reads instead of mapping the file.
	NoMmap bool
}

// Open parses the GGUF file at path and maps its data read-only.
func Open(path string) (*File, error) { return OpenWith(path, Options{}) }

// OpenWith is Open with options.
func OpenWith(path string, opts Options) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if !st.Mode().IsRegular() {
		fh.Close()
		return nil, fmt.Errorf("gguf: %s is not a regular file", path)
	}
	size := st.Size()
	f, err := parse(fh, size)
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("gguf: %s: %w", path, err)
	}
	if !opts.NoMmap && size > 0 {
		if data, unmap, err := mmapFile(fh, size); err == nil {
			fh.Close()
			f.data, f.closer = data, unmap
			return f, nil
		}
	}
	f.ra, f.closer = fh, fh.Close
	return f, nil
}

// FromBytes parses a GGUF file held in memory; tensor views alias b.
func FromBytes(b []byte) (*File, error) {
	f, err := parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f.data = b
	return f, nil
}

// Parse reads and validates the header of a GGUF file of the given size from r. The
// returned File reads tensor data from r, which must stay open while the File is used.
func Parse(r io.ReaderAt, size int64) (*File, error) {
	f, err := parse(r, size)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f.ra = r
	return f, nil
}

// Close releases the mapping or the file.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	err := f.closer()
	f.closer, f.data, f.ra = nil, nil, nil
	return err
}

// Mapped reports whether tensor data is read through a memory mapping (or from memory).
func (f *File) Mapped() bool { return f.data != nil }

// Tensor returns the info of the named tensor.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// TensorData returns the tensor's bytes: a read-only view into the mapping when the
// file is mapped (do not write to it; read it under Guard if the file may change
// underneath), otherwise a fresh copy read from the file.
func (f *File) TensorData(t *TensorInfo) ([]byte, error) {
	start := uint64(f.DataOffset) + t.Offset
	if f.data != nil {
		return f.data[start : start+t.Size : start+t.Size], nil
	}
	if f.ra == nil {
		return nil, fmt.Errorf("gguf: tensor %s: file is closed", t.Name)
	}
	buf := make([]byte, t.Size)
	if _, err := f.ra.ReadAt(buf, int64(start)); err != nil {
		return nil, fmt.Errorf("gguf: tensor %s: reading data: %w", t.Name, err)
	}
	return buf, nil
}

// ReadTensor copies the tensor's bytes into a new slice. A fault while reading mapped
// data (the file was truncated after it was opened) is returned as an error.
func (f *File) ReadTensor(t *TensorInfo) ([]byte, error) {
	src, err := f.TensorData(t)
	if err != nil || f.data == nil {
		return src, err
	}
	out := make([]byte, len(src))
	err = Guard(func() error { copy(out, src); return nil })
	if err != nil {
		return nil, fmt.Errorf("gguf: tensor %s: %w", t.Name, err)
	}
	return out, nil
}

func parse(r io.ReaderAt, size int64) (*File, error) {
	d := newDecoder(r, size)
	magic, err := d.read(4, "magic")
	if err != nil {
		if size < 4 {
			return nil, fmt.Errorf("file of %d bytes is too short to be GGUF: %w", size, errBadMagic)
		}
		return nil, err
	}
	if string(magic) != Magic {
		return nil, fmt.Errorf("%w: %q", errBadMagic, magic)
	}
	f := &File{Size: size, Alignment: DefaultAlignment}
	if f.Version, err = d.u32("version"); err != nil {
		return nil, err
	}
	if f.Version != 2 && f.Version != 3 {
		return nil, fmt.Errorf("unsupported version %d (golem reads GGUF v2 and v3)", f.Version)
	}
	// The smallest tensor info is a 1-byte name (8+1), one dim (4+8), type (4), offset (8).
	nTensors, err := d.count("tensor count", 33)
	if err != nil {
		return nil, err
	}
	// The smallest entry is a 1-byte key (8+1), a type (4) and a 1-byte value.
	nKV, err := d.count("metadata entry count", 14)
	if err != nil {
		return nil, err
	}
	if err := f.readMetadata(d, nKV); err != nil {
		return nil, err
	}
	if err := f.readTensorInfos(d, nTensors); err != nil {
		return nil, err
	}
	if err := f.layoutData(d.off); err != nil {
		return nil, err
	}
	if err := validateMetadata(f.Meta); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) readMetadata(d *decoder, n int) error {
	f.Meta = Metadata{index: make(map[string]int, n), kvs: make([]KV, 0, n)}
	for i := 0; i < n; i++ {
		at := d.off
		key, err := d.str(fmt.Sprintf("metadata entry %d key", i), MaxKeyLen)
		if err != nil {
			return err
		}
		if key == "" {
			return fmt.Errorf("metadata entry %d at offset %d: empty key", i, at)
		}
		what := "key " + key
		t, err := d.valueType(what)
		if err != nil {
			return err
		}
		v, err := d.value(t, what, 0)
		if err != nil {
			return err
		}
		if err := f.Meta.add(KV{Key: key, Value: v}); err != nil {
			return fmt.Errorf("metadata entry %d at offset %d: %w", i, at, err)
		}
	}
	return nil
}

func (f *File) readTensorInfos(d *decoder, n int) error {
	f.Tensors = make([]TensorInfo, n)
	f.byName = make(map[string]int, n)
	for i := range f.Tensors {
		at := d.off
		name, err := d.str(fmt.Sprintf("tensor %d name", i), MaxTensorName)
		if err != nil {
			return err
		}
		if name == "" {
			return fmt.Errorf("tensor %d at offset %d: empty name", i, at)
		}
		if _, dup := f.byName[name]; dup {
			return fmt.Errorf("tensor %d at offset %d: duplicate tensor name %q", i, at, name)
		}
		what := "tensor " + name
		nDims, err := d.u32(what + " dimension count")
		if err != nil {
			return err
		}
		if nDims == 0 || nDims > MaxDims {
			return fmt.Errorf("%s: %d dimensions (want 1 to %d)", what, nDims, MaxDims)
		}
		dims := make([]uint64, nDims)
		for j := range dims {
			if dims[j], err = d.u64(what + " dimension"); err != nil {
				return err
			}
			if dims[j] == 0 {
				return fmt.Errorf("%s: dimension %d is zero", what, j)
			}
			if dims[j] > 1<<62 {
				return fmt.Errorf("%s: dimension %d is %d, too large", what, j, dims[j])
			}
		}
		typ, err := d.u32(what + " type")
		if err != nil {
			return err
		}
		t := Type(typ)
		if !t.Valid() {
			return fmt.Errorf("%s: unknown or removed tensor type id %d", what, typ)
		}
		size, err := t.TensorBytes(dims)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		off, err := d.u64(what + " offset")
		if err != nil {
			return err
		}
		f.Tensors[i] = TensorInfo{Name: name, Type: t, Dims: dims, Offset: off, Size: size}
		f.byName[name] = i
	}
	return nil
}

// layoutData places the data section after the header and checks every tensor's data
// against the file: aligned, inside it, and not overlapping another tensor.
func (f *File) layoutData(headerEnd int64) error {
	if v, ok := f.Meta.Get("general.alignment"); ok {
		a, isU32 := v.v.(uint32)
		if !isU32 {
			return fmt.Errorf("key general.alignment: has type %s, want u32", v.TypeName())
		}
		if a == 0 || a&(a-1) != 0 {
			return fmt.Errorf("key general.alignment: %d is not a power of two", a)
		}
		f.Alignment = uint64(a)
	}
	start := alignUp(uint64(headerEnd), f.Alignment)
	if len(f.Tensors) == 0 {
		// Vocab-only files may end right after the header, without padding.
		f.DataOffset = min(int64(start), f.Size)
		return nil
	}
	if start > uint64(f.Size) {
		return fmt.Errorf("data section at offset %d starts beyond the file size %d", start, f.Size)
	}
	f.DataOffset = int64(start)
	avail := uint64(f.Size) - start
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	for _, i := range order {
		t := &f.Tensors[i]
		if t.Offset%f.Alignment != 0 {
			return fmt.Errorf("tensor %s: data offset %d is not a multiple of the alignment %d", t.Name, t.Offset, f.Alignment)
		}
		if t.Offset > avail || t.Size > avail-t.Offset {
			return fmt.Errorf("tensor %s: data [%d, %d) exceeds file size %d",
				t.Name, start+t.Offset, satAdd(start+t.Offset, t.Size), f.Size)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		oa, ob := f.Tensors[a].Offset, f.Tensors[b].Offset
		switch {
		case oa < ob:
			return -1
		case oa > ob:
			return 1
		}
		return 0
	})
	for k := 1; k < len(order); k++ {
		prev, cur := &f.Tensors[order[k-1]], &f.Tensors[order[k]]
		if cur.Offset < prev.Offset+prev.Size {
			return fmt.Errorf("tensor %s: data [%d, %d) overlaps tensor %s's data [%d, %d)",
				cur.Name, start+cur.Offset, start+cur.Offset+cur.Size, prev.Name, start+prev.Offset, start+prev.Offset+prev.Size)
		}
	}
	return nil
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) / a * a }

func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}

// IsBadMagic reports whether err says the input is not a GGUF file at all.
func IsBadMagic(err error) bool { return errors.Is(err, errBadMagic) }
