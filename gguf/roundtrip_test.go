package gguf

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem/models/embedded"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roundTripKVs holds one value of every metadata type, arrays of each, and an array of
// arrays.
func roundTripKVs(t *testing.T) []KV {
	inner1, inner2 := MustValue([]uint32{1, 2, 3}), MustValue([]string{"x", ""})
	vals := []struct {
		key string
		v   any
	}{
		{"general.architecture", "llama"},
		{"t.u8", uint8(200)}, {"t.i8", int8(-100)}, {"t.u16", uint16(60000)}, {"t.i16", int16(-30000)},
		{"t.u32", uint32(4e9)}, {"t.i32", int32(-2e9)}, {"t.f32", float32(1.5e-5)}, {"t.bool", true},
		{"t.string", "héllo\x00world"}, {"t.u64", uint64(1 << 60)}, {"t.i64", int64(-1 << 60)},
		{"t.f64", math.Pi}, {"llama.block_count", uint32(2)},
		{"a.u8", []uint8{1, 2}}, {"a.i8", []int8{-1}}, {"a.u16", []uint16{7}}, {"a.i16", []int16{-7, 7}},
		{"a.u32", []uint32{}}, {"a.i32", []int32{-5, 5}}, {"a.f32", []float32{0.25, -1}},
		{"a.bool", []bool{true, false}}, {"a.string", []string{"a", "", "ü"}}, {"a.u64", []uint64{1 << 63}},
		{"a.i64", []int64{-1}}, {"a.f64", []float64{1e300}},
		{"a.nested", []Value{inner1, inner2}},
	}
	kvs := make([]KV, len(vals))
	for i, kv := range vals {
		v, err := ValueOf(kv.v)
		require.NoError(t, err)
		kvs[i] = KV{Key: kv.key, Value: v}
	}
	return kvs
}

type specWithData struct {
	spec TensorSpec
	data []byte
}

func roundTripTensors() []specWithData {
	mk := func(n int, seed byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i)*7 + seed
		}
		return b
	}
	return []specWithData{
		{TensorSpec{"token_embd.weight", TypeF32, []uint64{3, 5}}, mk(60, 1)},
		{TensorSpec{"blk.0.attn_q.weight", TypeQ4_0, []uint64{64, 2}}, mk(72, 2)},
		{TensorSpec{"blk.0.ffn_up.weight", TypeQ4_K, []uint64{256, 1, 1}}, mk(144, 3)},
		{TensorSpec{"blk.0.ffn_gate_exps.weight", TypeF16, []uint64{2, 3, 2, 1}}, mk(24, 4)},
	}
}

func buildRoundTripFile(t *testing.T) []byte {
	meta, err := NewMetadata(roundTripKVs(t))
	require.NoError(t, err)
	tensors := roundTripTensors()
	specs := make([]TensorSpec, len(tensors))
	for i, x := range tensors {
		specs[i] = x.spec
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, meta, specs)
	require.NoError(t, err)
	for _, x := range tensors {
		require.NoError(t, w.WriteTensor(x.spec.Name, x.data))
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestWriteReadRoundTrip(t *testing.T) {
	data := buildRoundTripFile(t)
	f, err := FromBytes(data)
	require.NoError(t, err)
	require.Equal(t, uint32(3), f.Version)

	kvs := roundTripKVs(t)
	require.Equal(t, len(kvs), f.Meta.Len())
	for i, kv := range f.Meta.KVs() {
		assert.Equal(t, kvs[i].Key, kv.Key)
		assert.Equal(t, kvs[i].Value.Type, kv.Value.Type, kv.Key)
		assert.Equal(t, kvs[i].Value.Elem, kv.Value.Elem, kv.Key)
		assert.Equal(t, kvs[i].Value.Any(), kv.Value.Any(), kv.Key)
	}

	want := roundTripTensors()
	require.Len(t, f.Tensors, len(want))
	for i, ti := range f.Tensors {
		assert.Equal(t, want[i].spec.Name, ti.Name)
		assert.Equal(t, want[i].spec.Type, ti.Type)
		assert.Equal(t, want[i].spec.Dims, ti.Dims)
		assert.Zero(t, ti.Offset%f.Alignment)
		got, err := f.TensorData(&f.Tensors[i])
		require.NoError(t, err)
		assert.Equal(t, want[i].data, got, ti.Name)
	}

	// The same bytes through a file on disk, mapped and not mapped.
	path := filepath.Join(t.TempDir(), "rt.gguf")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	for _, opts := range []Options{{}, {NoMmap: true}} {
		g, err := OpenWith(path, opts)
		require.NoError(t, err)
		assert.Equal(t, !opts.NoMmap, g.Mapped())
		for i := range g.Tensors {
			got, err := g.ReadTensor(&g.Tensors[i])
			require.NoError(t, err)
			assert.Equal(t, want[i].data, got)
		}
		require.NoError(t, g.Close())
	}
}

// TestRewriteIsByteIdentical reads a file written by llama.cpp's tools and writes it
// again through Writer: the bytes must be the same, padding included.
func TestRewriteIsByteIdentical(t *testing.T) {
	orig := embedded.Stories260K
	f, err := FromBytes(orig)
	require.NoError(t, err)
	specs := make([]TensorSpec, len(f.Tensors))
	for i, ti := range f.Tensors {
		specs[i] = TensorSpec{Name: ti.Name, Type: ti.Type, Dims: ti.Dims}
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, f.Meta, specs)
	require.NoError(t, err)
	for i := range f.Tensors {
		data, err := f.TensorData(&f.Tensors[i])
		require.NoError(t, err)
		require.NoError(t, w.WriteTensor(f.Tensors[i].Name, data))
	}
	require.NoError(t, w.Close())
	require.Equal(t, len(orig), buf.Len())
	require.True(t, bytes.Equal(orig, buf.Bytes()), "rewritten stories260K differs from the original")
}

// TestStories260KKnownValues checks the parser against facts read independently from
// the file's documentation (shared/models/stories260K/README.md) and its raw bytes.
func TestStories260KKnownValues(t *testing.T) {
	f, err := FromBytes(embedded.Stories260K)
	require.NoError(t, err)
	require.Len(t, f.Tensors, 48)
	for _, key := range []struct {
		k string
		v uint64
	}{{"llama.embedding_length", 64}, {"llama.feed_forward_length", 172}, {"llama.block_count", 5},
		{"llama.attention.head_count", 8}, {"llama.attention.head_count_kv", 4}} {
		got, err := f.Meta.Uint(key.k)
		require.NoError(t, err)
		assert.Equal(t, key.v, got, key.k)
	}
	tokens, err := f.Meta.Strings("tokenizer.ggml.tokens")
	require.NoError(t, err)
	require.Len(t, tokens, 512)
	assert.Equal(t, []string{"<unk>", "<s>", "</s>"}, tokens[:3])

	emb, ok := f.Tensor("token_embd.weight")
	require.True(t, ok)
	assert.Equal(t, []uint64{64, 512}, emb.Dims)
	assert.Equal(t, TypeF32, emb.Type)
	// token_embd.weight is the first tensor in llama2.c's .bin after its 28-byte header;
	// the README says every tensor is bit-identical, so the first floats must match.
	data, err := f.TensorData(emb)
	require.NoError(t, err)
	bin := readStoriesBin(t)
	if bin != nil {
		assert.Equal(t, bin[28:28+64*4], data[:64*4])
	}
}

func readStoriesBin(t *testing.T) []byte {
	dir := os.Getenv("GOLEM_SHARED")
	if dir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "models", "stories260K", "stories260K.bin"))
	if err != nil {
		return nil
	}
	require.Equal(t, int32(64), int32(binary.LittleEndian.Uint32(b)))
	return b
}

func TestAccessorErrors(t *testing.T) {
	meta, err := NewMetadata(roundTripKVs(t))
	require.NoError(t, err)
	_, err = meta.String("missing.key")
	require.ErrorIs(t, err, ErrKeyNotFound)
	require.Contains(t, err.Error(), "missing.key")
	_, err = meta.Uint("t.string")
	require.EqualError(t, err, "key t.string: has type string, want integer")
	_, err = meta.Uint("t.i8")
	require.ErrorContains(t, err, "negative")
	v, err := meta.Int("t.i64")
	require.NoError(t, err)
	require.Equal(t, int64(-1<<60), v)
	fl, err := meta.Float("t.f32")
	require.NoError(t, err)
	require.InDelta(t, 1.5e-5, fl, 1e-12)
	i32, err := meta.Int32s("a.i16")
	require.NoError(t, err)
	require.Equal(t, []int32{-7, 7}, i32)
	_, err = meta.Int32s("a.u64")
	require.ErrorContains(t, err, "outside the int32 range")
	require.Equal(t, "llama.context_length", meta.ArchKey("context_length"))
}

func TestWriterRefusesBadInput(t *testing.T) {
	meta, err := NewMetadata(nil)
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = NewWriter(&buf, meta, []TensorSpec{{"w", TypeQ4_0, []uint64{33}}})
	require.ErrorContains(t, err, "not a multiple")
	_, err = NewWriter(&buf, meta, []TensorSpec{{"w", TypeF32, []uint64{1}}, {"w", TypeF32, []uint64{1}}})
	require.ErrorContains(t, err, "duplicate")
	w, err := NewWriter(&buf, meta, []TensorSpec{{"a", TypeF32, []uint64{2}}, {"b", TypeF32, []uint64{1}}})
	require.NoError(t, err)
	require.ErrorContains(t, w.WriteTensor("b", make([]byte, 4)), "out of order")
	require.ErrorContains(t, w.WriteTensor("a", make([]byte, 4)), "4 bytes of data, want 8")
	require.NoError(t, w.WriteTensor("a", make([]byte, 8)))
	require.ErrorContains(t, w.Close(), "only 1 of 2 tensors")
}

func TestTypeTable(t *testing.T) {
	// Sizes from ggml's block layouts (ggml-common.h): e.g. block_q4_K is a half d, a
	// half dmin, 12 bytes of scales and 128 bytes of nibbles = 144 bytes for 256 values.
	for _, c := range []struct {
		t          Type
		block, row int
	}{
		{TypeF32, 1, 4}, {TypeF16, 1, 2}, {TypeBF16, 1, 2}, {TypeQ4_0, 32, 18}, {TypeQ4_1, 32, 20},
		{TypeQ5_0, 32, 22}, {TypeQ5_1, 32, 24}, {TypeQ8_0, 32, 34}, {TypeQ8_1, 32, 36},
		{TypeQ2_K, 256, 84}, {TypeQ3_K, 256, 110}, {TypeQ4_K, 256, 144}, {TypeQ5_K, 256, 176},
		{TypeQ6_K, 256, 210}, {TypeQ8_K, 256, 292}, {TypeIQ4_NL, 32, 18}, {TypeIQ4_XS, 256, 136},
	} {
		assert.Equal(t, c.block, c.t.BlockSize(), c.t.String())
		assert.Equal(t, c.row, c.t.BlockBytes(), c.t.String())
	}
	ty, err := ParseType("q4_k")
	require.NoError(t, err)
	require.Equal(t, TypeQ4_K, ty)
	_, err = ParseType("Q4_2")
	require.Error(t, err)
	require.False(t, Type(4).Valid())
	require.Equal(t, "type(4)", Type(4).String())
}
