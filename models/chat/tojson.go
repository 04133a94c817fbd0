package chat

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/ardanlabs/jinja"
)

// The engine's own tojson writes floats with Go's %g (1.0 as 1, 1e6 as
// 1e+06) and, given indent, sorts keys and escapes <, > and &. Hugging Face
// transformers renders chat templates with its own tojson,
//
//	json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)
//
// so this package supplies that filter. The engine looks its built-in filters
// up before the template's variables and has no way to replace one, but falls
// back to a variable for a filter name it does not know: Parse renames the
// tojson filter in the template's tags to tojsonFilter, and every render passes
// pyToJSON under that name.
const tojsonFilter = "golem_tojson"

// renameToJSON returns src with each `| tojson` filter in its expression and
// statement tags renamed to tojsonFilter. Text, comments and string literals
// are left alone; tags are found the way the engine's scanner finds them.
func renameToJSON(src string) string {
	var b strings.Builder
	i := 0
	last := 0
	for i+1 < len(src) {
		if src[i] != '{' || (src[i+1] != '{' && src[i+1] != '%' && src[i+1] != '#') {
			i++
			continue
		}
		closer := src[i+1]
		if closer == '{' {
			closer = '}'
		}
		i += 2
		if closer == '#' {
			if end := strings.Index(src[i:], "#}"); end >= 0 {
				i += end + 2
			} else {
				i = len(src)
			}
			continue
		}
		for i < len(src) {
			ch := src[i]
			if ch == '\'' || ch == '"' {
				i++
				for i < len(src) && src[i] != ch {
					if src[i] == '\\' && i+1 < len(src) {
						i++
					}
					i++
				}
				i++
				continue
			}
			if ch == closer && i+1 < len(src) && src[i+1] == '}' {
				i += 2
				break
			}
			if ch == '|' {
				j := i + 1
				for j < len(src) && (src[j] == ' ' || src[j] == '\t' || src[j] == '\n' || src[j] == '\r') {
					j++
				}
				const name = "tojson"
				if strings.HasPrefix(src[j:], name) && (j+len(name) >= len(src) || !isIdentByte(src[j+len(name)])) {
					b.WriteString(src[last:j])
					b.WriteString(tojsonFilter)
					last = j + len(name)
					i = last
					continue
				}
			}
			i++
		}
	}
	if last == 0 {
		return src
	}
	b.WriteString(src[last:])
	return b.String()
}

func isIdentByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

var pyToJSONValue = jinja.NewCallable("tojson", pyToJSON)

// pyToJSON is transformers' tojson filter: json.dumps with ensure_ascii,
// indent, separators and sort_keys, positional or by keyword, in that order.
func pyToJSON(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), errors.New("tojson: no value")
	}
	names := []string{"ensure_ascii", "indent", "separators", "sort_keys"}
	opt := map[string]jinja.Value{}
	for i, a := range args[1:] {
		if i >= len(names) {
			return jinja.Undefined(), fmt.Errorf("tojson: takes at most %d arguments", len(names))
		}
		opt[names[i]] = a
	}
	for k, v := range kwargs {
		known := false
		for _, n := range names {
			known = known || n == k
		}
		if !known {
			return jinja.Undefined(), fmt.Errorf("tojson: unexpected keyword argument %q", k)
		}
		opt[k] = v
	}
	e := pyJSON{itemSep: ", ", keySep: ": "}
	if v, ok := opt["ensure_ascii"]; ok {
		e.ascii = v.IsTruthy()
	}
	if v, ok := opt["sort_keys"]; ok {
		e.sortKeys = v.IsTruthy()
	}
	if v, ok := opt["indent"]; ok && !v.IsNone() && !v.IsUndefined() {
		switch {
		case v.IsString():
			e.indent = v.AsString()
		case v.IsInt() || v.IsBool():
			n := int64(0)
			if v.IsBool() {
				if v.AsBool() {
					n = 1
				}
			} else {
				n = v.AsInt()
			}
			if n > 1<<10 {
				return jinja.Undefined(), errors.New("tojson: indent too large")
			}
			e.indent = strings.Repeat(" ", int(max(n, 0)))
		default:
			return jinja.Undefined(), fmt.Errorf("tojson: indent must be an integer or a string, not %s", v.String())
		}
		e.indented = true
		e.itemSep = ","
	}
	if v, ok := opt["separators"]; ok && !v.IsNone() && !v.IsUndefined() {
		if !v.IsList() || v.AsList().Len() != 2 || !v.AsList().Items[0].IsString() || !v.AsList().Items[1].IsString() {
			return jinja.Undefined(), errors.New("tojson: separators must be two strings")
		}
		e.itemSep, e.keySep = v.AsList().Items[0].AsString(), v.AsList().Items[1].AsString()
	}
	if err := e.encode(args[0], 0); err != nil {
		return jinja.Undefined(), fmt.Errorf("tojson: %w", err)
	}
	return jinja.NewString(e.b.String()), nil
}

// pyJSON writes values as Python's json.dumps does.
type pyJSON struct {
	b               strings.Builder
	ascii, sortKeys bool
	indented        bool
	indent          string
	itemSep, keySep string
}

func (e *pyJSON) newline(level int) {
	if !e.indented {
		return
	}
	e.b.WriteByte('\n')
	for range level {
		e.b.WriteString(e.indent)
	}
}

func (e *pyJSON) encode(v jinja.Value, level int) error {
	if level > maxDepth {
		return errors.New("value nested too deeply")
	}
	switch {
	case v.IsNone(), v.IsUndefined(), v.IsCallable():
		e.b.WriteString("null")
	case v.IsBool():
		e.b.WriteString(strconv.FormatBool(v.AsBool()))
	case v.IsInt():
		e.b.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		e.b.WriteString(pyFloatJSON(v.AsFloat()))
	case v.IsString():
		e.str(v.AsString())
	case v.IsList():
		items := v.AsList().Items
		if len(items) == 0 {
			e.b.WriteString("[]")
			return nil
		}
		e.b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				e.b.WriteString(e.itemSep)
			}
			e.newline(level + 1)
			if err := e.encode(it, level+1); err != nil {
				return err
			}
		}
		e.newline(level)
		e.b.WriteByte(']')
	case v.IsDict():
		d := v.AsDict()
		keys := d.Keys
		if len(keys) == 0 {
			e.b.WriteString("{}")
			return nil
		}
		if e.sortKeys {
			keys = append([]string(nil), keys...)
			sort.Strings(keys) // UTF-8 byte order is code point order, as Python sorts
		}
		e.b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				e.b.WriteString(e.itemSep)
			}
			e.newline(level + 1)
			e.str(k)
			e.b.WriteString(e.keySep)
			if err := e.encode(d.Data[k], level+1); err != nil {
				return err
			}
		}
		e.newline(level)
		e.b.WriteByte('}')
	default:
		e.b.WriteString("null")
	}
	return nil
}

// str writes a JSON string as json.dumps does: ", \ and control characters
// escaped (\n, \r, \t, \b, \f or \u00xx), everything else as is, or as \uxxxx
// (surrogate pairs above U+FFFF) with ensure_ascii.
func (e *pyJSON) str(s string) {
	e.b.WriteByte('"')
	for _, r := range s { // invalid UTF-8 reads as U+FFFD
		switch r {
		case '"':
			e.b.WriteString(`\"`)
		case '\\':
			e.b.WriteString(`\\`)
		case '\n':
			e.b.WriteString(`\n`)
		case '\r':
			e.b.WriteString(`\r`)
		case '\t':
			e.b.WriteString(`\t`)
		case '\b':
			e.b.WriteString(`\b`)
		case '\f':
			e.b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20:
				fmt.Fprintf(&e.b, `\u%04x`, r)
			case e.ascii && r > 0x7e && r <= 0xffff:
				fmt.Fprintf(&e.b, `\u%04x`, r)
			case e.ascii && r > 0xffff:
				r -= 0x10000
				fmt.Fprintf(&e.b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				e.b.WriteRune(r)
			}
		}
	}
	e.b.WriteByte('"')
}

// pyFloatJSON is json.dumps of a Python float: its repr (the shortest digits
// that read back the same; exponent form below 1e-4 and from 1e16, with a
// sign and at least two exponent digits; otherwise fixed with at least one
// decimal), and NaN, Infinity and -Infinity for the special values.
func pyFloatJSON(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return pyFloatRepr(f)
}

// pyFloatRepr is Python's repr of a finite float.
func pyFloatRepr(f float64) string {
	s := strconv.FormatFloat(f, 'e', -1, 64) // [-]d[.ddd]e±dd
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	mant, expText, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expText)
	digits := strings.Replace(mant, ".", "", 1)
	if exp < -4 || exp >= 16 {
		es := strconv.Itoa(abs(exp))
		if len(es) < 2 {
			es = "0" + es
		}
		if exp < 0 {
			es = "-" + es
		} else {
			es = "+" + es
		}
		return sign + mant + "e" + es
	}
	var out string
	switch {
	case exp < 0:
		out = "0." + strings.Repeat("0", -exp-1) + digits
	case exp+1 >= len(digits):
		out = digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	default:
		out = digits[:exp+1] + "." + digits[exp+1:]
	}
	return sign + out
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
