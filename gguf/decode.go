package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// decoder reads the header sections of a GGUF file. It knows the file size, so every
// length it reads is checked against the bytes that remain before anything is allocated.
type decoder struct {
	r    *bufio.Reader
	off  int64 // bytes consumed so far
	size int64 // total file size
	tmp  [8]byte
}

func newDecoder(r io.ReaderAt, size int64) *decoder {
	return &decoder{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 1<<16), size: size}
}

func (d *decoder) remaining() int64 { return d.size - d.off }

func (d *decoder) read(n int, what string) ([]byte, error) {
	if int64(n) > d.remaining() {
		return nil, fmt.Errorf("%s at offset %d: file ends after %d bytes: %w", what, d.off, d.size, io.ErrUnexpectedEOF)
	}
	b := d.tmp[:n]
	if _, err := io.ReadFull(d.r, b); err != nil {
		return nil, fmt.Errorf("%s at offset %d: %w", what, d.off, err)
	}
	d.off += int64(n)
	return b, nil
}

func (d *decoder) u8(what string) (uint8, error) {
	b, err := d.read(1, what)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (d *decoder) u16(what string) (uint16, error) {
	b, err := d.read(2, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (d *decoder) u32(what string) (uint32, error) {
	b, err := d.read(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	b, err := d.read(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// count reads a u64 element count and checks that count elements of at least minSize
// bytes each fit in the rest of the file, so a hostile count never sizes an allocation.
func (d *decoder) count(what string, minSize int64) (int, error) {
	n, err := d.u64(what)
	if err != nil {
		return 0, err
	}
	if n > uint64(d.remaining()/minSize) {
		return 0, fmt.Errorf("%s %d at offset %d: needs at least %d bytes each but only %d bytes remain",
			what, n, d.off-8, minSize, d.remaining())
	}
	return int(n), nil
}

// str reads a GGUF string (u64 length, bytes), refusing lengths over max.
func (d *decoder) str(what string, max uint64) (string, error) {
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > max {
		return "", fmt.Errorf("%s at offset %d: length %d exceeds the limit of %d", what, d.off-8, n, max)
	}
	if n > uint64(d.remaining()) {
		return "", fmt.Errorf("%s at offset %d: length %d exceeds the %d bytes left in the file", what, d.off-8, n, d.remaining())
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return "", fmt.Errorf("%s at offset %d: %w", what, d.off, err)
	}
	d.off += int64(n)
	return string(b), nil
}

// maxStringLen bounds metadata string values; lengths are also bounded by the file size.
const maxStringLen = math.MaxInt32

// maxArrayDepth is how deeply arrays may nest: an array of arrays is allowed, an
// array of arrays of arrays is not.
const maxArrayDepth = 2

func (d *decoder) valueType(what string) (ValueType, error) {
	t, err := d.u32(what + " type")
	if err != nil {
		return 0, err
	}
	vt := ValueType(t)
	if !vt.valid() {
		return 0, fmt.Errorf("%s at offset %d: unknown value type %d", what, d.off-4, t)
	}
	return vt, nil
}

// value reads a value of type t; depth counts the arrays it is nested in.
func (d *decoder) value(t ValueType, what string, depth int) (Value, error) {
	switch t {
	case Uint8:
		x, err := d.u8(what)
		return Value{Type: t, v: x}, err
	case Int8:
		x, err := d.u8(what)
		return Value{Type: t, v: int8(x)}, err
	case Bool:
		x, err := d.u8(what)
		return Value{Type: t, v: x != 0}, err
	case Uint16:
		x, err := d.u16(what)
		return Value{Type: t, v: x}, err
	case Int16:
		x, err := d.u16(what)
		return Value{Type: t, v: int16(x)}, err
	case Uint32:
		x, err := d.u32(what)
		return Value{Type: t, v: x}, err
	case Int32:
		x, err := d.u32(what)
		return Value{Type: t, v: int32(x)}, err
	case Float32:
		x, err := d.u32(what)
		return Value{Type: t, v: math.Float32frombits(x)}, err
	case Uint64:
		x, err := d.u64(what)
		return Value{Type: t, v: x}, err
	case Int64:
		x, err := d.u64(what)
		return Value{Type: t, v: int64(x)}, err
	case Float64:
		x, err := d.u64(what)
		return Value{Type: t, v: math.Float64frombits(x)}, err
	case String:
		s, err := d.str(what, maxStringLen)
		return Value{Type: t, v: s}, err
	case Array:
		return d.array(what, depth+1)
	}
	return Value{}, fmt.Errorf("%s: unknown value type %d", what, t)
}

func (d *decoder) array(what string, depth int) (Value, error) {
	if depth > maxArrayDepth {
		return Value{}, fmt.Errorf("%s at offset %d: arrays nested deeper than %d", what, d.off, maxArrayDepth)
	}
	et, err := d.valueType(what + " element")
	if err != nil {
		return Value{}, err
	}
	minSize := int64(et.size())
	switch et {
	case String:
		minSize = 8
	case Array:
		minSize = 12 // element type + count
	}
	n, err := d.count(what+" element count", minSize)
	if err != nil {
		return Value{}, err
	}
	v := Value{Type: Array, Elem: et}
	switch et {
	case String:
		a := make([]string, n)
		for i := range a {
			if a[i], err = d.str(what+" element", maxStringLen); err != nil {
				return Value{}, fmt.Errorf("element %d: %w", i, err)
			}
		}
		v.v = a
	case Array:
		a := make([]Value, n)
		for i := range a {
			if a[i], err = d.value(Array, what+" element", depth); err != nil {
				return Value{}, fmt.Errorf("element %d: %w", i, err)
			}
		}
		v.v = a
	default:
		raw := make([]byte, int64(n)*minSize)
		if _, err := io.ReadFull(d.r, raw); err != nil {
			return Value{}, fmt.Errorf("%s at offset %d: %w", what, d.off, err)
		}
		d.off += int64(len(raw))
		v.v = decodeScalars(et, raw, n)
	}
	return v, nil
}

// decodeScalars turns n little-endian scalars of type t into a typed slice.
func decodeScalars(t ValueType, raw []byte, n int) any {
	le := binary.LittleEndian
	switch t {
	case Uint8:
		return raw
	case Int8:
		a := make([]int8, n)
		for i := range a {
			a[i] = int8(raw[i])
		}
		return a
	case Bool:
		a := make([]bool, n)
		for i := range a {
			a[i] = raw[i] != 0
		}
		return a
	case Uint16:
		a := make([]uint16, n)
		for i := range a {
			a[i] = le.Uint16(raw[2*i:])
		}
		return a
	case Int16:
		a := make([]int16, n)
		for i := range a {
			a[i] = int16(le.Uint16(raw[2*i:]))
		}
		return a
	case Uint32:
		a := make([]uint32, n)
		for i := range a {
			a[i] = le.Uint32(raw[4*i:])
		}
		return a
	case Int32:
		a := make([]int32, n)
		for i := range a {
			a[i] = int32(le.Uint32(raw[4*i:]))
		}
		return a
	case Float32:
		a := make([]float32, n)
		for i := range a {
			a[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		return a
	case Uint64:
		a := make([]uint64, n)
		for i := range a {
			a[i] = le.Uint64(raw[8*i:])
		}
		return a
	case Int64:
		a := make([]int64, n)
		for i := range a {
			a[i] = int64(le.Uint64(raw[8*i:]))
		}
		return a
	case Float64:
		a := make([]float64, n)
		for i := range a {
			a[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		return a
	}
	return nil
}

var errBadMagic = errors.New("not a GGUF file (bad magic)")
