package gguf

import (
	"errors"
	"fmt"
	"math"
)

// ErrKeyNotFound is wrapped by accessor errors for a key the file does not have.
var ErrKeyNotFound = errors.New("key not found")

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// Metadata is a file's key-value section, in file order, with lookup by key.
type Metadata struct {
	kvs   []KV
	index map[string]int
}

// NewMetadata returns metadata holding kvs; a duplicate key is an error.
func NewMetadata(kvs []KV) (Metadata, error) {
	m := Metadata{index: make(map[string]int, len(kvs))}
	for _, kv := range kvs {
		if err := m.add(kv); err != nil {
			return Metadata{}, err
		}
	}
	return m, nil
}

func (m *Metadata) add(kv KV) error {
	if m.index == nil {
		m.index = map[string]int{}
	}
	if _, dup := m.index[kv.Key]; dup {
		return fmt.Errorf("duplicate key %q", kv.Key)
	}
	m.index[kv.Key] = len(m.kvs)
	m.kvs = append(m.kvs, kv)
	return nil
}

// Set adds key or replaces its value, keeping its position.
func (m *Metadata) Set(key string, v Value) {
	if i, ok := m.index[key]; ok {
		m.kvs[i].Value = v
		return
	}
	_ = m.add(KV{Key: key, Value: v})
}

// Delete removes key if present.
func (m *Metadata) Delete(key string) {
	i, ok := m.index[key]
	if !ok {
		return
	}
	m.kvs = append(m.kvs[:i], m.kvs[i+1:]...)
	delete(m.index, key)
	for j := i; j < len(m.kvs); j++ {
		m.index[m.kvs[j].Key] = j
	}
}

// KVs returns the entries in file order. The slice must not be modified.
func (m Metadata) KVs() []KV { return m.kvs }

// Len is the number of entries.
func (m Metadata) Len() int { return len(m.kvs) }

// Get returns the value of key.
func (m Metadata) Get(key string) (Value, bool) {
	i, ok := m.index[key]
	if !ok {
		return Value{}, false
	}
	return m.kvs[i].Value, true
}

// Has reports whether key is present.
func (m Metadata) Has(key string) bool {
	_, ok := m.index[key]
	return ok
}

// Architecture is general.architecture, or "" when absent or not a string.
func (m Metadata) Architecture() string {
	s, _ := m.String("general.architecture")
	return s
}

// ArchKey prefixes suffix with the architecture: ArchKey("context_length") is
// "llama.context_length" in a llama file.
func (m Metadata) ArchKey(suffix string) string {
	return m.Architecture() + "." + suffix
}

func (m Metadata) lookup(key string) (Value, error) {
	v, ok := m.Get(key)
	if !ok {
		return Value{}, fmt.Errorf("key %s: %w", key, ErrKeyNotFound)
	}
	return v, nil
}

func wrongType(key string, v Value, want string) error {
	return fmt.Errorf("key %s: has type %s, want %s", key, v.TypeName(), want)
}

// String returns a string value.
func (m Metadata) String(key string) (string, error) {
	v, err := m.lookup(key)
	if err != nil {
		return "", err
	}
	s, ok := v.v.(string)
	if !ok {
		return "", wrongType(key, v, "string")
	}
	return s, nil
}

// Uint returns a non-negative integer value of any integer type.
func (m Metadata) Uint(key string) (uint64, error) {
	v, err := m.lookup(key)
	if err != nil {
		return 0, err
	}
	if !v.Type.isInteger() {
		return 0, wrongType(key, v, "integer")
	}
	u, ok := v.asUint64()
	if !ok {
		return 0, fmt.Errorf("key %s: value %v is negative", key, v.v)
	}
	return u, nil
}

// Int returns an integer value of any integer type that fits in an int64.
func (m Metadata) Int(key string) (int64, error) {
	v, err := m.lookup(key)
	if err != nil {
		return 0, err
	}
	if !v.Type.isInteger() {
		return 0, wrongType(key, v, "integer")
	}
	i, ok := v.asInt64()
	if !ok {
		return 0, fmt.Errorf("key %s: value %v overflows int64", key, v.v)
	}
	return i, nil
}

// Float returns a float value (f32 or f64; integers are accepted too, as llama.cpp's
// converters sometimes write them).
func (m Metadata) Float(key string) (float64, error) {
	v, err := m.lookup(key)
	if err != nil {
		return 0, err
	}
	switch x := v.v.(type) {
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	}
	if i, ok := v.asInt64(); ok {
		return float64(i), nil
	}
	return 0, wrongType(key, v, "float")
}

// Bool returns a bool value.
func (m Metadata) Bool(key string) (bool, error) {
	v, err := m.lookup(key)
	if err != nil {
		return false, err
	}
	b, ok := v.v.(bool)
	if !ok {
		return false, wrongType(key, v, "bool")
	}
	return b, nil
}

// Strings returns an array of strings.
func (m Metadata) Strings(key string) ([]string, error) {
	v, err := m.lookup(key)
	if err != nil {
		return nil, err
	}
	s, ok := v.v.([]string)
	if !ok {
		return nil, wrongType(key, v, "array[string]")
	}
	return s, nil
}

// Float32s returns an array of f32 values.
func (m Metadata) Float32s(key string) ([]float32, error) {
	v, err := m.lookup(key)
	if err != nil {
		return nil, err
	}
	f, ok := v.v.([]float32)
	if !ok {
		return nil, wrongType(key, v, "array[f32]")
	}
	return f, nil
}

// Int32s returns an array of integers of any integer type as int32 values; a value
// outside the int32 range is an error.
func (m Metadata) Int32s(key string) ([]int32, error) {
	v, err := m.lookup(key)
	if err != nil {
		return nil, err
	}
	if v.Type != Array || !v.Elem.isInteger() {
		return nil, wrongType(key, v, "array of integers")
	}
	if a, ok := v.v.([]int32); ok {
		return a, nil
	}
	out := make([]int32, v.Len())
	for i := range out {
		x, ok := elemInt64(v, i)
		if !ok || x < math.MinInt32 || x > math.MaxInt32 {
			return nil, fmt.Errorf("key %s: element %d is outside the int32 range", key, i)
		}
		out[i] = int32(x)
	}
	return out, nil
}

func elemInt64(v Value, i int) (int64, bool) {
	switch a := v.v.(type) {
	case []uint8:
		return int64(a[i]), true
	case []int8:
		return int64(a[i]), true
	case []uint16:
		return int64(a[i]), true
	case []int16:
		return int64(a[i]), true
	case []uint32:
		return int64(a[i]), true
	case []int32:
		return int64(a[i]), true
	case []uint64:
		return int64(a[i]), a[i] <= math.MaxInt64
	case []int64:
		return a[i], true
	}
	return 0, false
}
