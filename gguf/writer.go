package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// TensorSpec declares a tensor for Writer: its data is written later, in order.
type TensorSpec struct {
	Name string
	Type Type
	Dims []uint64 // ggml order
}

// Writer writes a GGUF v3 file: the header at creation, then each tensor's data in the
// order the specs were given, padded to the alignment. It never needs all the data at
// once, so a quantizer can stream a model through it.
type Writer struct {
	w         *bufio.Writer
	tensors   []TensorInfo
	alignment uint64
	next      int    // index of the next tensor to write
	pos       uint64 // bytes written into the data section
	written   uint64 // bytes written in all
	err       error
}

// NewWriter validates the metadata and specs and writes the header to w. Tensor data
// must then be written with WriteTensor, in spec order, and the Writer closed.
func NewWriter(w io.Writer, meta Metadata, specs []TensorSpec) (*Writer, error) {
	gw := &Writer{w: bufio.NewWriterSize(w, 1<<20), alignment: DefaultAlignment}
	if v, ok := meta.Get("general.alignment"); ok {
		a, isU32 := v.v.(uint32)
		if !isU32 || a == 0 || a&(a-1) != 0 {
			return nil, fmt.Errorf("gguf: general.alignment must be a u32 power of two, have %s %v", v.TypeName(), v.v)
		}
		gw.alignment = uint64(a)
	}
	if err := validateMetadata(meta); err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	seen := make(map[string]bool, len(specs))
	var off uint64
	for _, s := range specs {
		switch {
		case s.Name == "" || len(s.Name) > MaxTensorName:
			return nil, fmt.Errorf("gguf: tensor name %q must be 1 to %d bytes", s.Name, MaxTensorName)
		case seen[s.Name]:
			return nil, fmt.Errorf("gguf: duplicate tensor name %q", s.Name)
		case len(s.Dims) == 0 || len(s.Dims) > MaxDims:
			return nil, fmt.Errorf("gguf: tensor %s: %d dimensions (want 1 to %d)", s.Name, len(s.Dims), MaxDims)
		case !s.Type.Valid():
			return nil, fmt.Errorf("gguf: tensor %s: unknown type id %d", s.Name, uint32(s.Type))
		}
		for j, d := range s.Dims {
			if d == 0 {
				return nil, fmt.Errorf("gguf: tensor %s: dimension %d is zero", s.Name, j)
			}
		}
		size, err := s.Type.TensorBytes(s.Dims)
		if err != nil {
			return nil, fmt.Errorf("gguf: tensor %s: %w", s.Name, err)
		}
		seen[s.Name] = true
		gw.tensors = append(gw.tensors, TensorInfo{Name: s.Name, Type: s.Type, Dims: s.Dims, Offset: off, Size: size})
		off = alignUp(off+size, gw.alignment)
	}
	gw.header(meta)
	if gw.err != nil {
		return nil, fmt.Errorf("gguf: writing header: %w", gw.err)
	}
	return gw, nil
}

// WriteTensor writes the data of the named tensor, which must be the next one declared.
func (gw *Writer) WriteTensor(name string, data []byte) error {
	if gw.err != nil {
		return gw.err
	}
	if gw.next >= len(gw.tensors) {
		return fmt.Errorf("gguf: tensor %s: all %d declared tensors are already written", name, len(gw.tensors))
	}
	t := gw.tensors[gw.next]
	if t.Name != name {
		return fmt.Errorf("gguf: tensor %s written out of order: %s comes next", name, t.Name)
	}
	if uint64(len(data)) != t.Size {
		return fmt.Errorf("gguf: tensor %s: %d bytes of data, want %d for %s %v", name, len(data), t.Size, t.Type, t.Dims)
	}
	gw.write(data)
	gw.pos += t.Size
	gw.pad()
	gw.next++
	return gw.err
}

// Close flushes the file; it fails if any declared tensor was not written.
func (gw *Writer) Close() error {
	if gw.err != nil {
		return gw.err
	}
	if gw.next != len(gw.tensors) {
		return fmt.Errorf("gguf: only %d of %d tensors written (next: %s)", gw.next, len(gw.tensors), gw.tensors[gw.next].Name)
	}
	if err := gw.w.Flush(); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	return nil
}

func (gw *Writer) header(meta Metadata) {
	gw.write([]byte(Magic))
	gw.u32(3)
	gw.u64(uint64(len(gw.tensors)))
	gw.u64(uint64(meta.Len()))
	for _, kv := range meta.KVs() {
		gw.str(kv.Key)
		gw.u32(uint32(kv.Value.Type))
		gw.value(kv.Value)
	}
	for _, t := range gw.tensors {
		gw.str(t.Name)
		gw.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			gw.u64(d)
		}
		gw.u32(uint32(t.Type))
		gw.u64(t.Offset)
	}
	gw.headerPad()
}

// headerPad pads the header so that the data section starts aligned.
func (gw *Writer) headerPad() {
	n := alignUp(gw.written, gw.alignment) - gw.written
	gw.zeros(n)
}

func (gw *Writer) pad() {
	gw.zeros(alignUp(gw.pos, gw.alignment) - gw.pos)
	gw.pos = alignUp(gw.pos, gw.alignment)
}

func (gw *Writer) zeros(n uint64) {
	var z [64]byte
	for n > 0 {
		k := min(n, uint64(len(z)))
		gw.write(z[:k])
		n -= k
	}
}

func (gw *Writer) write(b []byte) {
	if gw.err != nil {
		return
	}
	_, gw.err = gw.w.Write(b)
	gw.written += uint64(len(b))
}

func (gw *Writer) u32(x uint32) { gw.write(binary.LittleEndian.AppendUint32(nil, x)) }
func (gw *Writer) u64(x uint64) { gw.write(binary.LittleEndian.AppendUint64(nil, x)) }

func (gw *Writer) str(s string) {
	gw.u64(uint64(len(s)))
	gw.write([]byte(s))
}

func (gw *Writer) value(v Value) {
	switch x := v.v.(type) {
	case uint8:
		gw.write([]byte{x})
	case int8:
		gw.write([]byte{byte(x)})
	case bool:
		b := byte(0)
		if x {
			b = 1
		}
		gw.write([]byte{b})
	case uint16:
		gw.write(binary.LittleEndian.AppendUint16(nil, x))
	case int16:
		gw.write(binary.LittleEndian.AppendUint16(nil, uint16(x)))
	case uint32:
		gw.u32(x)
	case int32:
		gw.u32(uint32(x))
	case float32:
		gw.u32(math.Float32bits(x))
	case uint64:
		gw.u64(x)
	case int64:
		gw.u64(uint64(x))
	case float64:
		gw.u64(math.Float64bits(x))
	case string:
		gw.str(x)
	default:
		gw.array(v)
	}
}

func (gw *Writer) array(v Value) {
	gw.u32(uint32(v.Elem))
	gw.u64(uint64(v.Len()))
	switch a := v.v.(type) {
	case []string:
		for _, s := range a {
			gw.str(s)
		}
	case []Value:
		for _, e := range a {
			gw.value(e)
		}
	default:
		for i := 0; i < v.Len(); i++ {
			gw.value(Value{Type: v.Elem, v: elemAt(v.v, i)})
		}
	}
}

func elemAt(a any, i int) any {
	switch a := a.(type) {
	case []uint8:
		return a[i]
	case []int8:
		return a[i]
	case []uint16:
		return a[i]
	case []int16:
		return a[i]
	case []uint32:
		return a[i]
	case []int32:
		return a[i]
	case []float32:
		return a[i]
	case []bool:
		return a[i]
	case []uint64:
		return a[i]
	case []int64:
		return a[i]
	case []float64:
		return a[i]
	}
	return nil
}
