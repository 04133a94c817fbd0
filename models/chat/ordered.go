package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/ardanlabs/jinja"
)

// OrderedMap is a JSON object that keeps its keys in the order they arrived.
//
// Python's json.dumps (and so a chat template's tojson) writes a dict's keys in
// insertion order, and models were trained on tool definitions and tool-call
// arguments written that way. A Go map would come out sorted, which changes the
// prompt, so tool definitions and arguments travel as OrderedMaps.
type OrderedMap struct {
	keys []string
	vals map[string]any
}

// NewOrderedMap returns an empty OrderedMap.
func NewOrderedMap() *OrderedMap {
	return &OrderedMap{vals: map[string]any{}}
}

// Set adds key with value v, or replaces the value of an existing key in place.
func (m *OrderedMap) Set(key string, v any) *OrderedMap {
	if m.vals == nil {
		m.vals = map[string]any{}
	}
	if _, ok := m.vals[key]; !ok {
		m.keys = append(m.keys, key)
	}
	m.vals[key] = v
	return m
}

// Get returns the value of key.
func (m *OrderedMap) Get(key string) (any, bool) {
	v, ok := m.vals[key]
	return v, ok
}

// Keys returns the keys in arrival order.
func (m *OrderedMap) Keys() []string { return append([]string(nil), m.keys...) }

// Len is the number of keys.
func (m *OrderedMap) Len() int { return len(m.keys) }

// UnmarshalJSON decodes a JSON object keeping key order; nested objects become
// *OrderedMap, arrays []any and numbers json.Number.
func (m *OrderedMap) UnmarshalJSON(data []byte) error {
	v, err := ParseJSON(data)
	if err != nil {
		return err
	}
	om, ok := v.(*OrderedMap)
	if !ok {
		return fmt.Errorf("chat: JSON value is %s, not an object", jsonKind(v))
	}
	*m = *om
	return nil
}

// MarshalJSON writes the object with its keys in arrival order.
func (m *OrderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(m.vals[k])
		if err != nil {
			return nil, fmt.Errorf("chat: key %q: %w", k, err)
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// ParseJSON decodes one JSON value keeping the key order of every object in it:
// objects become *OrderedMap, arrays []any, numbers json.Number, and strings,
// booleans and null string, bool and nil.
func ParseJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, fmt.Errorf("chat: parse JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("chat: parse JSON: data after the value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := NewOrderedMap()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is %v", kt)
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				m.Set(k, v)
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, err
			}
			return m, nil
		case '[':
			list := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, err
			}
			return list, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil // string, bool, json.Number or nil
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

// toValue converts a Go value to a template value. Objects keep their order
// (*OrderedMap, json.RawMessage); a plain Go map has no order, so its keys are
// sorted to keep renders reproducible.
func toValue(v any) (jinja.Value, error) {
	return toValueDepth(v, 0)
}

const maxDepth = 200

func toValueDepth(v any, depth int) (jinja.Value, error) {
	if depth > maxDepth {
		return jinja.Value{}, errors.New("value nested too deeply")
	}
	switch x := v.(type) {
	case nil:
		return jinja.None(), nil
	case jinja.Value:
		return x, nil
	case bool:
		return jinja.NewBool(x), nil
	case string:
		return jinja.NewString(x), nil
	case int:
		return jinja.NewInt(int64(x)), nil
	case int8:
		return jinja.NewInt(int64(x)), nil
	case int16:
		return jinja.NewInt(int64(x)), nil
	case int32:
		return jinja.NewInt(int64(x)), nil
	case int64:
		return jinja.NewInt(x), nil
	case uint8:
		return jinja.NewInt(int64(x)), nil
	case uint16:
		return jinja.NewInt(int64(x)), nil
	case uint32:
		return jinja.NewInt(int64(x)), nil
	case float32:
		return jinja.NewFloat(float64(x)), nil
	case float64:
		return jinja.NewFloat(x), nil
	case json.Number:
		return numberValue(x)
	case json.RawMessage:
		p, err := ParseJSON(x)
		if err != nil {
			return jinja.Value{}, err
		}
		return toValueDepth(p, depth+1)
	case *OrderedMap:
		if x == nil {
			return jinja.None(), nil
		}
		return orderedToValue(x, depth)
	case OrderedMap:
		return orderedToValue(&x, depth)
	case []any:
		items := make([]jinja.Value, len(x))
		for i, it := range x {
			iv, err := toValueDepth(it, depth+1)
			if err != nil {
				return jinja.Value{}, fmt.Errorf("[%d]: %w", i, err)
			}
			items[i] = iv
		}
		return jinja.NewList(items), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := jinja.NewDict()
		for _, k := range keys {
			kv, err := toValueDepth(x[k], depth+1)
			if err != nil {
				return jinja.Value{}, fmt.Errorf("%s: %w", k, err)
			}
			d.AsDict().Set(k, kv)
		}
		return d, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		items := make([]jinja.Value, rv.Len())
		for i := range rv.Len() {
			iv, err := toValueDepth(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return jinja.Value{}, fmt.Errorf("[%d]: %w", i, err)
			}
			items[i] = iv
		}
		return jinja.NewList(items), nil
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			m := make(map[string]any, rv.Len())
			it := rv.MapRange()
			for it.Next() {
				m[it.Key().String()] = it.Value().Interface()
			}
			return toValueDepth(m, depth)
		}
	case reflect.Pointer:
		if rv.IsNil() {
			return jinja.None(), nil
		}
		return toValueDepth(rv.Elem().Interface(), depth+1)
	}
	return jinja.Value{}, fmt.Errorf("unsupported value type %T", v)
}

// numberValue is a JSON number as Python's json.loads reads it: an int when
// written without a fraction or exponent, else a float (1.0 stays a float and
// tojson writes it back as 1.0; 1e400 is inf). An integer beyond int64, which
// Python would keep exact, becomes the nearest float.
func numberValue(n json.Number) (jinja.Value, error) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return jinja.NewInt(i), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return jinja.Value{}, fmt.Errorf("bad number %q", s)
	}
	return jinja.NewFloat(f), nil
}

func orderedToValue(m *OrderedMap, depth int) (jinja.Value, error) {
	d := jinja.NewDict()
	for _, k := range m.keys {
		kv, err := toValueDepth(m.vals[k], depth+1)
		if err != nil {
			return jinja.Value{}, fmt.Errorf("%s: %w", k, err)
		}
		d.AsDict().Set(k, kv)
	}
	return d, nil
}

// pyTitle is Python's str.title for the ASCII role names templates use.
func pyTitle(s string) string {
	var b strings.Builder
	prevLetter := false
	for _, r := range s {
		isLetter := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		switch {
		case isLetter && !prevLetter:
			b.WriteString(strings.ToUpper(string(r)))
		case isLetter:
			b.WriteString(strings.ToLower(string(r)))
		default:
			b.WriteRune(r)
		}
		prevLetter = isLetter
	}
	return b.String()
}
