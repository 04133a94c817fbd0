package gguf

import (
	"fmt"
	"math/bits"
	"strings"
)

// Type is a ggml tensor type id as stored in a GGUF tensor info.
type Type uint32

// The ggml type ids. Ids 4, 5 (Q4_2, Q4_3), 31-33 (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8) and
// 36-38 (IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8) were removed from ggml and are refused.
const (
	TypeF32     Type = 0
	TypeF16     Type = 1
	TypeQ4_0    Type = 2
	TypeQ4_1    Type = 3
	TypeQ5_0    Type = 6
	TypeQ5_1    Type = 7
	TypeQ8_0    Type = 8
	TypeQ8_1    Type = 9
	TypeQ2_K    Type = 10
	TypeQ3_K    Type = 11
	TypeQ4_K    Type = 12
	TypeQ5_K    Type = 13
	TypeQ6_K    Type = 14
	TypeQ8_K    Type = 15
	TypeIQ2_XXS Type = 16
	TypeIQ2_XS  Type = 17
	TypeIQ3_XXS Type = 18
	TypeIQ1_S   Type = 19
	TypeIQ4_NL  Type = 20
	TypeIQ3_S   Type = 21
	TypeIQ2_S   Type = 22
	TypeIQ4_XS  Type = 23
	TypeI8      Type = 24
	TypeI16     Type = 25
	TypeI32     Type = 26
	TypeI64     Type = 27
	TypeF64     Type = 28
	TypeIQ1_M   Type = 29
	TypeBF16    Type = 30
	TypeTQ1_0   Type = 34
	TypeTQ2_0   Type = 35
	TypeMXFP4   Type = 39
)

// typeInfo is one row of the type table: how many elements a block holds and how many
// bytes it takes. Non-quantized types have blocks of one element.
type typeInfo struct {
	name       string
	blockSize  uint64
	blockBytes uint64
	quantized  bool
}

// types is indexed by Type; a zero row is an unknown or removed id.
var types = [...]typeInfo{
	TypeF32:     {"F32", 1, 4, false},
	TypeF16:     {"F16", 1, 2, false},
	TypeQ4_0:    {"Q4_0", 32, 18, true},
	TypeQ4_1:    {"Q4_1", 32, 20, true},
	TypeQ5_0:    {"Q5_0", 32, 22, true},
	TypeQ5_1:    {"Q5_1", 32, 24, true},
	TypeQ8_0:    {"Q8_0", 32, 34, true},
	TypeQ8_1:    {"Q8_1", 32, 36, true},
	TypeQ2_K:    {"Q2_K", 256, 84, true},
	TypeQ3_K:    {"Q3_K", 256, 110, true},
	TypeQ4_K:    {"Q4_K", 256, 144, true},
	TypeQ5_K:    {"Q5_K", 256, 176, true},
	TypeQ6_K:    {"Q6_K", 256, 210, true},
	TypeQ8_K:    {"Q8_K", 256, 292, true},
	TypeIQ2_XXS: {"IQ2_XXS", 256, 66, true},
	TypeIQ2_XS:  {"IQ2_XS", 256, 74, true},
	TypeIQ3_XXS: {"IQ3_XXS", 256, 98, true},
	TypeIQ1_S:   {"IQ1_S", 256, 50, true},
	TypeIQ4_NL:  {"IQ4_NL", 32, 18, true},
	TypeIQ3_S:   {"IQ3_S", 256, 110, true},
	TypeIQ2_S:   {"IQ2_S", 256, 82, true},
	TypeIQ4_XS:  {"IQ4_XS", 256, 136, true},
	TypeI8:      {"I8", 1, 1, false},
	TypeI16:     {"I16", 1, 2, false},
	TypeI32:     {"I32", 1, 4, false},
	TypeI64:     {"I64", 1, 8, false},
	TypeF64:     {"F64", 1, 8, false},
	TypeIQ1_M:   {"IQ1_M", 256, 56, true},
	TypeBF16:    {"BF16", 1, 2, false},
	TypeTQ1_0:   {"TQ1_0", 256, 54, true},
	TypeTQ2_0:   {"TQ2_0", 256, 66, true},
	TypeMXFP4:   {"MXFP4", 32, 17, true},
}

func (t Type) info() (typeInfo, bool) {
	if uint64(t) >= uint64(len(types)) || types[t].blockSize == 0 {
		return typeInfo{}, false
	}
	return types[t], true
}

// Valid reports whether t is a ggml type id that is in use (not unknown, not removed).
func (t Type) Valid() bool {
	_, ok := t.info()
	return ok
}

// String returns ggml's name for the type ("Q4_K"), or "type(N)" for an unknown id.
func (t Type) String() string {
	if ti, ok := t.info(); ok {
		return ti.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize is the number of elements in one block (1 for plain types).
func (t Type) BlockSize() int {
	ti, _ := t.info()
	return int(ti.blockSize)
}

// BlockBytes is the size in bytes of one block.
func (t Type) BlockBytes() int {
	ti, _ := t.info()
	return int(ti.blockBytes)
}

// Quantized reports whether the type stores blocks of quantized values.
func (t Type) Quantized() bool {
	ti, _ := t.info()
	return ti.quantized
}

// ParseType returns the type with ggml's name s ("Q8_0", case-insensitive).
func ParseType(s string) (Type, error) {
	for id, ti := range types {
		if ti.blockSize != 0 && strings.EqualFold(ti.name, s) {
			return Type(id), nil
		}
	}
	return 0, fmt.Errorf("unknown tensor type %q", s)
}

// RowBytes returns the bytes taken by a row of n elements, or an error when n is not a
// multiple of the block size or the type is unknown.
func (t Type) RowBytes(n uint64) (uint64, error) {
	ti, ok := t.info()
	if !ok {
		return 0, fmt.Errorf("unknown tensor type id %d", uint32(t))
	}
	if n%ti.blockSize != 0 {
		return 0, fmt.Errorf("row length %d is not a multiple of %s's block size %d", n, ti.name, ti.blockSize)
	}
	hi, lo := bits.Mul64(n/ti.blockSize, ti.blockBytes)
	if hi != 0 {
		return 0, fmt.Errorf("row of %d %s elements overflows", n, ti.name)
	}
	return lo, nil
}

// TensorBytes returns the size in bytes of a tensor of type t with dimensions dims
// (ggml order: dims[0] is the contiguous row length). Every product is overflow-checked.
func (t Type) TensorBytes(dims []uint64) (uint64, error) {
	if len(dims) == 0 {
		return 0, fmt.Errorf("tensor has no dimensions")
	}
	size, err := t.RowBytes(dims[0])
	if err != nil {
		return 0, err
	}
	for _, d := range dims[1:] {
		hi, lo := bits.Mul64(size, d)
		if hi != 0 || lo > maxTensorBytes {
			return 0, fmt.Errorf("tensor of shape %v and type %s: size overflows", dims, t)
		}
		size = lo
	}
	if size > maxTensorBytes {
		return 0, fmt.Errorf("tensor of shape %v and type %s: size overflows", dims, t)
	}
	return size, nil
}

// maxTensorBytes keeps every size representable as an int64 file offset.
const maxTensorBytes = 1<<63 - 1
