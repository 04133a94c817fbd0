package gguf

import (
	"fmt"
	"strings"
)

// ValueType is the type tag of a GGUF metadata value.
type ValueType uint32

// The 13 GGUF metadata value types.
const (
	Uint8   ValueType = 0
	Int8    ValueType = 1
	Uint16  ValueType = 2
	Int16   ValueType = 3
	Uint32  ValueType = 4
	Int32   ValueType = 5
	Float32 ValueType = 6
	Bool    ValueType = 7
	String  ValueType = 8
	Array   ValueType = 9
	Uint64  ValueType = 10
	Int64   ValueType = 11
	Float64 ValueType = 12
)

var valueTypeNames = [...]string{"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("value_type(%d)", uint32(t))
}

// size is the encoded size of a scalar of this type; 0 for strings and arrays.
func (t ValueType) size() int {
	switch t {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16:
		return 2
	case Uint32, Int32, Float32:
		return 4
	case Uint64, Int64, Float64:
		return 8
	}
	return 0
}

func (t ValueType) valid() bool { return t <= Float64 }

func (t ValueType) isInteger() bool {
	switch t {
	case Uint8, Int8, Uint16, Int16, Uint32, Int32, Uint64, Int64:
		return true
	}
	return false
}

// Value is one metadata value. Scalars hold the Go type of their GGUF type (uint8 ...
// float64, bool, string). Arrays of scalars hold a typed slice ([]uint32, []string, ...);
// arrays of arrays hold []Value.
type Value struct {
	Type ValueType
	Elem ValueType // element type, for arrays
	v    any
}

// Any returns the value as a Go value: a scalar, a typed slice, or []Value.
func (v Value) Any() any { return v.v }

// Len returns the element count of an array, or 0 for a scalar.
func (v Value) Len() int {
	switch a := v.v.(type) {
	case []uint8:
		return len(a)
	case []int8:
		return len(a)
	case []uint16:
		return len(a)
	case []int16:
		return len(a)
	case []uint32:
		return len(a)
	case []int32:
		return len(a)
	case []float32:
		return len(a)
	case []bool:
		return len(a)
	case []string:
		return len(a)
	case []uint64:
		return len(a)
	case []int64:
		return len(a)
	case []float64:
		return len(a)
	case []Value:
		return len(a)
	}
	return 0
}

// TypeName describes the value's type for messages: "u32", "array[string]".
func (v Value) TypeName() string {
	if v.Type == Array {
		return "array[" + v.Elem.String() + "]"
	}
	return v.Type.String()
}

// ValueOf wraps a Go value. It accepts the scalar types uint8 ... float64, bool, string,
// int (stored as i64), slices of those, and []Value (an array of arrays).
func ValueOf(x any) (Value, error) {
	switch x := x.(type) {
	case uint8:
		return Value{Type: Uint8, v: x}, nil
	case int8:
		return Value{Type: Int8, v: x}, nil
	case uint16:
		return Value{Type: Uint16, v: x}, nil
	case int16:
		return Value{Type: Int16, v: x}, nil
	case uint32:
		return Value{Type: Uint32, v: x}, nil
	case int32:
		return Value{Type: Int32, v: x}, nil
	case float32:
		return Value{Type: Float32, v: x}, nil
	case bool:
		return Value{Type: Bool, v: x}, nil
	case string:
		return Value{Type: String, v: x}, nil
	case uint64:
		return Value{Type: Uint64, v: x}, nil
	case int64:
		return Value{Type: Int64, v: x}, nil
	case int:
		return Value{Type: Int64, v: int64(x)}, nil
	case float64:
		return Value{Type: Float64, v: x}, nil
	case []uint8:
		return Value{Type: Array, Elem: Uint8, v: x}, nil
	case []int8:
		return Value{Type: Array, Elem: Int8, v: x}, nil
	case []uint16:
		return Value{Type: Array, Elem: Uint16, v: x}, nil
	case []int16:
		return Value{Type: Array, Elem: Int16, v: x}, nil
	case []uint32:
		return Value{Type: Array, Elem: Uint32, v: x}, nil
	case []int32:
		return Value{Type: Array, Elem: Int32, v: x}, nil
	case []float32:
		return Value{Type: Array, Elem: Float32, v: x}, nil
	case []bool:
		return Value{Type: Array, Elem: Bool, v: x}, nil
	case []string:
		return Value{Type: Array, Elem: String, v: x}, nil
	case []uint64:
		return Value{Type: Array, Elem: Uint64, v: x}, nil
	case []int64:
		return Value{Type: Array, Elem: Int64, v: x}, nil
	case []float64:
		return Value{Type: Array, Elem: Float64, v: x}, nil
	case []Value:
		for i, e := range x {
			if e.Type != Array {
				return Value{}, fmt.Errorf("array of arrays: element %d is %s", i, e.TypeName())
			}
		}
		return Value{Type: Array, Elem: Array, v: x}, nil
	}
	return Value{}, fmt.Errorf("no GGUF value type for Go type %T", x)
}

// MustValue is ValueOf for values known to be representable; it panics otherwise.
func MustValue(x any) Value {
	v, err := ValueOf(x)
	if err != nil {
		panic(err)
	}
	return v
}

// asUint64 converts an integer scalar to uint64; ok is false for other types or
// negative values.
func (v Value) asUint64() (uint64, bool) {
	switch x := v.v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}

// asInt64 converts an integer scalar to int64; ok is false for other types or for a
// uint64 above the int64 range.
func (v Value) asInt64() (int64, bool) {
	switch x := v.v.(type) {
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), x <= 1<<63-1
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

// String formats the value for display; long arrays are summarised.
func (v Value) String() string {
	if v.Type != Array {
		if s, ok := v.v.(string); ok {
			return fmt.Sprintf("%q", s)
		}
		return fmt.Sprint(v.v)
	}
	n := v.Len()
	if n > 8 {
		return fmt.Sprintf("[%s × %d]", v.Elem, n)
	}
	if v.Elem == String {
		parts := make([]string, 0, n)
		for _, s := range v.v.([]string) {
			parts = append(parts, fmt.Sprintf("%q", s))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(v.v)
}
