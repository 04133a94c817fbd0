package gguf

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// validSmall is a well-formed file: two metadata entries and two F32 tensors.
func validSmall() []byte {
	r := &rawFile{}
	r.header(3, 2, 2).kvStr("general.architecture", "llama").kvU32("llama.block_count", 1)
	r.tensor("a", TypeF32, 0, 4).tensor("b", TypeF32, 32, 2, 2)
	r.padTo(32).zeros(48)
	return r.b
}

func TestValidSmallParses(t *testing.T) {
	f, err := FromBytes(validSmall())
	require.NoError(t, err)
	require.Len(t, f.Tensors, 2)
	require.Equal(t, "llama", f.Meta.Architecture())
	n, err := f.Meta.Uint("llama.block_count")
	require.NoError(t, err)
	require.Equal(t, uint64(1), n)
}

// TestHostileFiles breaks each rule of the format once and checks the error says so.
func TestHostileFiles(t *testing.T) {
	base := func(nTensors, nKV uint64) *rawFile { return (&rawFile{}).header(3, nTensors, nKV) }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"three bytes", []byte("GGU"), "too short"},
		{"bad magic", (&rawFile{}).bytes([]byte("GGML")).u32(3).u64(0).u64(0).b, "bad magic"},
		{"version 1", (&rawFile{}).header(1, 0, 0).b, "unsupported version 1"},
		{"version 4", (&rawFile{}).header(4, 0, 0).b, "unsupported version 4"},
		{"no version", []byte("GGUF\x03"), "version"},
		{"huge tensor count", base(1<<62, 0).b, "tensor count"},
		{"huge kv count", base(0, 1<<62).b, "metadata entry count"},
		{"max kv count", base(0, math64).b, "metadata entry count"},
		{"huge key length", base(0, 1).u64(1 << 40).zeros(64).b, "exceeds the limit"},
		{"over-long key", base(0, 1).u64(70000).zeros(70010).b, "length 70000 exceeds the limit of 65535"},
		{"key past end", base(0, 1).u64(100).zeros(20).b, "exceeds the 20 bytes left"},
		{"empty key", base(0, 1).str("").u32(uint32(Uint8)).u8(1).zeros(8).b, "empty key"},
		{"duplicate key", base(0, 2).kvU32("x.count", 1).kvU32("x.count", 2).b, `duplicate key "x.count"`},
		{"unknown value type", base(0, 1).str("k").u32(13).u8(0).b, "unknown value type 13"},
		{"truncated value", base(0, 1).str("k").u32(uint32(Uint64)).u32(7).b, "key k"},
		{"huge string value", base(0, 1).str("k").u32(uint32(String)).u64(1 << 50).b, "key k"},
		{"huge array", base(0, 1).str("k").u32(uint32(Array)).u32(uint32(Uint32)).u64(1 << 60).b, "key k element count"},
		{"huge string array", base(0, 1).str("k").u32(uint32(Array)).u32(uint32(String)).u64(1 << 40).b, "key k element count"},
		{"array element type unknown", base(0, 1).str("k").u32(uint32(Array)).u32(99).u64(1).b, "unknown value type 99"},
		{"arrays nested 3 deep", base(0, 1).str("k").u32(uint32(Array)).u32(uint32(Array)).u64(1).
			u32(uint32(Array)).u64(1).u32(uint32(Uint8)).u64(1).u8(0).b, "nested deeper than 2"},
		{"alignment u64", base(0, 1).str("general.alignment").u32(uint32(Uint64)).u64(32).b, "general.alignment: has type u64, want u32"},
		{"alignment zero", base(0, 1).kvU32("general.alignment", 0).b, "not a power of two"},
		{"alignment 48", base(0, 1).kvU32("general.alignment", 48).b, "48 is not a power of two"},
		{"count key as string", base(0, 1).kvStr("llama.block_count", "2").b, "llama.block_count: has type string, want an integer"},
		{"length key as float", base(0, 1).str("llama.context_length").u32(uint32(Float32)).f32(4).b, "llama.context_length: has type f32"},
		{"architecture not a string", base(0, 1).kvU32("general.architecture", 1).b, "general.architecture: has type u32"},
		{"tokenizer arrays differ", base(0, 2).
			str("tokenizer.ggml.tokens").u32(uint32(Array)).u32(uint32(String)).u64(2).str("a").str("b").
			str("tokenizer.ggml.scores").u32(uint32(Array)).u32(uint32(Float32)).u64(1).f32(0).b,
			"tokenizer.ggml.scores: 1 entries, but tokenizer.ggml.tokens has 2"},
		{"long tensor name", base(1, 0).tensor(string(bytes.Repeat([]byte("x"), 64)), TypeF32, 0, 1).b, "length 64 exceeds the limit of 63"},
		{"empty tensor name", base(1, 0).tensor("", TypeF32, 0, 1).b, "empty name"},
		{"duplicate tensor", base(2, 0).tensor("w", TypeF32, 0, 8).tensor("w", TypeF32, 32, 8).b, `duplicate tensor name "w"`},
		{"zero dims", base(1, 0).str("w").u32(0).zeros(64).b, "tensor w: 0 dimensions"},
		{"five dims", base(1, 0).tensor("w", TypeF32, 0, 1, 1, 1, 1, 1).b, "tensor w: 5 dimensions"},
		{"zero dimension", base(1, 0).tensor("w", TypeF32, 0, 4, 0).b, "tensor w: dimension 1 is zero"},
		{"removed type 4", base(1, 0).tensor("w", Type(4), 0, 32).b, "unknown or removed tensor type id 4"},
		{"removed type 31", base(1, 0).tensor("w", Type(31), 0, 32).b, "unknown or removed tensor type id 31"},
		{"removed type 37", base(1, 0).tensor("w", Type(37), 0, 32).b, "unknown or removed tensor type id 37"},
		{"unknown type 40", base(1, 0).tensor("w", Type(40), 0, 32).b, "unknown or removed tensor type id 40"},
		{"row not a block multiple", base(1, 0).tensor("w", TypeQ4_0, 0, 33, 2).b, "row length 33 is not a multiple of Q4_0's block size 32"},
		{"size overflow", base(1, 0).tensor("w", TypeF32, 0, 1<<40, 1<<40).b, "size overflows"},
		{"size overflow 4d", base(1, 0).tensor("w", TypeF32, 0, 1<<20, 1<<20, 1<<20, 1<<20).b, "size overflows"},
		{"data past end", base(1, 0).tensor("w", TypeF32, 0, 1024).padTo(32).zeros(64).b, "exceeds file size"},
		{"offset past end", base(1, 0).tensor("w", TypeF32, 1<<60, 4).padTo(32).zeros(64).b, "exceeds file size"},
		{"misaligned", base(1, 0).tensor("w", TypeF32, 4, 4).padTo(32).zeros(64).b, "not a multiple of the alignment 32"},
		{"overlap", base(2, 0).tensor("a", TypeF32, 0, 16).tensor("b", TypeF32, 32, 16).padTo(32).zeros(128).b, "overlaps tensor a"},
		{"data section past end", base(1, 0).tensor("w", TypeF32, 0, 1).b, "beyond the file size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := FromBytes(c.data)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
		})
	}
}

const math64 = ^uint64(0)

// TestEveryTruncationFails cuts a valid file at every length and expects an error,
// never a panic, for each: this truncates each section (header, keys, values, tensor
// infos, padding, data) at every byte.
func TestEveryTruncationFails(t *testing.T) {
	full := buildRoundTripFile(t)
	f, err := FromBytes(full)
	require.NoError(t, err)
	last := f.Tensors[len(f.Tensors)-1]
	end := f.DataOffset + int64(last.Offset+last.Size) // what follows is padding
	for n := 0; n < int(end); n++ {
		_, err := FromBytes(full[:n])
		require.Error(t, err, "prefix of %d bytes parsed", n)
	}
}

// TestTruncatedUnderMapping truncates a file after it was mapped: reading the tensor
// must fail with an error instead of killing the process with SIGBUS.
func TestTruncatedUnderMapping(t *testing.T) {
	r := &rawFile{}
	r.header(3, 1, 0).tensor("big", TypeF32, 0, 4096, 4)
	r.padTo(32)
	header := len(r.b)
	r.zeros(4096 * 4 * 4)
	path := filepath.Join(t.TempDir(), "m.gguf")
	require.NoError(t, os.WriteFile(path, r.b, 0o644))

	f, err := Open(path)
	require.NoError(t, err)
	defer f.Close()
	require.True(t, f.Mapped())
	ti, _ := f.Tensor("big")
	_, err = f.ReadTensor(ti)
	require.NoError(t, err)

	require.NoError(t, os.Truncate(path, int64(header)))
	_, err = f.ReadTensor(ti)
	require.Error(t, err)
	require.Contains(t, err.Error(), "faulted")
}
