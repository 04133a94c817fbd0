package gguf

import (
	"encoding/binary"
	"math"
)

// rawFile builds GGUF bytes field by field, with no validation, so tests can write the
// broken files that Writer refuses to produce.
type rawFile struct {
	b []byte
}

func (r *rawFile) bytes(p []byte) *rawFile { r.b = append(r.b, p...); return r }
func (r *rawFile) u8(x uint8) *rawFile     { r.b = append(r.b, x); return r }
func (r *rawFile) u32(x uint32) *rawFile   { r.b = binary.LittleEndian.AppendUint32(r.b, x); return r }
func (r *rawFile) u64(x uint64) *rawFile   { r.b = binary.LittleEndian.AppendUint64(r.b, x); return r }
func (r *rawFile) f32(x float32) *rawFile  { return r.u32(math.Float32bits(x)) }
func (r *rawFile) str(s string) *rawFile   { return r.u64(uint64(len(s))).bytes([]byte(s)) }

// header writes magic, version and the two counts.
func (r *rawFile) header(version uint32, nTensors, nKV uint64) *rawFile {
	return r.bytes([]byte("GGUF")).u32(version).u64(nTensors).u64(nKV)
}

// kvU32 writes a key with a u32 value.
func (r *rawFile) kvU32(key string, v uint32) *rawFile {
	return r.str(key).u32(uint32(Uint32)).u32(v)
}

// kvStr writes a key with a string value.
func (r *rawFile) kvStr(key, v string) *rawFile {
	return r.str(key).u32(uint32(String)).str(v)
}

// tensor writes one tensor info.
func (r *rawFile) tensor(name string, typ Type, offset uint64, dims ...uint64) *rawFile {
	r.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		r.u64(d)
	}
	return r.u32(uint32(typ)).u64(offset)
}

// padTo pads with zeros to a multiple of a.
func (r *rawFile) padTo(a int) *rawFile {
	for len(r.b)%a != 0 {
		r.b = append(r.b, 0)
	}
	return r
}

// zeros appends n zero bytes.
func (r *rawFile) zeros(n int) *rawFile {
	r.b = append(r.b, make([]byte, n)...)
	return r
}
