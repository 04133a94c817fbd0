package tokenizer

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/models/embedded"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testdata = "../../testdata/tokenizer"

// testdataFamilies have a gzip-compressed vocab GGUF and vectors in testdata.
var testdataFamilies = []string{"llama-spm", "gpt-2", "bert-bge", "deepseek-coder"}

var (
	metaCache   = map[string]gguf.Metadata{}
	metaCacheMu sync.Mutex
)

// testdataMeta reads testdata/tokenizer/ggml-vocab-<fam>.gguf.gz.
func testdataMeta(t testing.TB, fam string) gguf.Metadata {
	t.Helper()
	metaCacheMu.Lock()
	defer metaCacheMu.Unlock()
	if m, ok := metaCache[fam]; ok {
		return m
	}
	raw, err := os.ReadFile(filepath.Join(testdata, "ggml-vocab-"+fam+".gguf.gz"))
	require.NoError(t, err)
	z, err := gzip.NewReader(bytes.NewReader(raw))
	require.NoError(t, err)
	b, err := io.ReadAll(z)
	require.NoError(t, err)
	f, err := gguf.FromBytes(b)
	require.NoError(t, err)
	metaCache[fam] = f.Meta
	return f.Meta
}

func testdataTokenizer(t testing.TB, fam string) *Tokenizer {
	t.Helper()
	tok, err := FromGGUF(testdataMeta(t, fam))
	require.NoError(t, err)
	return tok
}

func TestVectorsTestdata(t *testing.T) {
	for _, fam := range testdataFamilies {
		t.Run(fam, func(t *testing.T) {
			tok := testdataTokenizer(t, fam)
			texts, want := vectors(t, filepath.Join(testdata, "vocab-tests.inp"), filepath.Join(testdata, "ggml-vocab-"+fam+".gguf.out"))
			checkVectors(t, tok, texts, want)
		})
	}
}

func TestSpecialTokens(t *testing.T) {
	spm := testdataTokenizer(t, "llama-spm")
	assert.Equal(t, SPM, spm.Model())
	assert.Equal(t, int32(1), spm.BOS())
	assert.Equal(t, int32(2), spm.EOS())
	assert.Equal(t, int32(0), spm.UNK())
	assert.True(t, spm.AddBOS())
	assert.False(t, spm.AddEOS())
	assert.Equal(t, TypeControl, spm.Type(1))
	assert.Equal(t, TypeByte, spm.Type(3))
	assert.True(t, spm.IsEOG(2))
	// "<s>" is text unless parsing specials is asked for.
	assert.Equal(t, []int32{1, 1}, spm.Encode("<s>", true, true))
	assert.NotContains(t, spm.Encode("<s>", false, false), int32(1))
	assert.Equal(t, []int32{}, spm.Encode("", false, false))
	assert.Equal(t, []int32{1}, spm.Encode("", true, false))

	gpt2 := testdataTokenizer(t, "gpt-2")
	assert.Equal(t, BPE, gpt2.Model())
	assert.Equal(t, "gpt-2", gpt2.Pre())
	assert.False(t, gpt2.AddBOS())
	assert.Equal(t, int32(50256), gpt2.EOS())
	assert.Equal(t, []int32{50256}, gpt2.Encode("<|endoftext|>", false, true))
	assert.Greater(t, len(gpt2.Encode("<|endoftext|>", false, false)), 1)

	bert := testdataTokenizer(t, "bert-bge")
	assert.Equal(t, WPM, bert.Model())
	assert.Equal(t, []int32{101, 102}, bert.Encode("", true, false))
	ids := bert.Encode("[CLS] hello", false, true)
	assert.Equal(t, int32(101), ids[0])
	assert.Equal(t, int32(100), bert.Encode("\U0001F999", false, false)[0], "[UNK] for a word without pieces")

	// deepseek-coder's user-defined tokens are matched even without parse_special.
	ds := testdataTokenizer(t, "deepseek-coder")
	id, ok := ds.ID("õ")
	require.True(t, ok)
	assert.Equal(t, TypeUserDefined, ds.Type(id))
	assert.Equal(t, []int32{id}, ds.Encode("õ", false, false))
}

func TestDecode(t *testing.T) {
	spm := testdataTokenizer(t, "llama-spm")
	ids := spm.Encode("Hello world", true, false)
	s, err := spm.Decode(ids)
	require.NoError(t, err)
	assert.Equal(t, "<s> Hello world", s)
	s, err = spm.DecodeWith(ids[1:], DecodeOptions{})
	require.NoError(t, err)
	assert.Equal(t, "Hello world", s)
	s, err = spm.DecodeWith(ids, DecodeOptions{SkipSpecial: true})
	require.NoError(t, err)
	assert.Equal(t, " Hello world", s)
	_, err = spm.Decode([]int32{-1})
	assert.Error(t, err)
	_, err = spm.Decode([]int32{32000})
	assert.Error(t, err)
	p, err := spm.Piece(0x0A + 3) // <0x0A>
	require.NoError(t, err)
	assert.Equal(t, "\n", p)
}

func TestStreamDecoder(t *testing.T) {
	for _, fam := range []string{"llama-spm", "gpt-2"} {
		tok := testdataTokenizer(t, fam)
		text := "héllo 🦙 世界 ✓ done"
		ids := tok.Encode(text, false, false)
		d := tok.NewStreamDecoder(DecodeOptions{})
		var sb strings.Builder
		for _, id := range ids {
			s, err := d.Add(id)
			require.NoError(t, err)
			assert.True(t, utf8.ValidString(s), "%s: chunk %q is not whole characters", fam, s)
			sb.WriteString(s)
		}
		sb.WriteString(d.Flush())
		assert.Equal(t, text, sb.String(), fam)
	}
	// Invalid bytes pass through; an unfinished character waits for Flush.
	assert.Equal(t, 1, completePrefix([]byte{'a', 0xE4, 0xB8}))
	assert.Equal(t, 2, completePrefix([]byte{'a', 0xFF}))
	assert.Equal(t, 4, completePrefix([]byte("a世")))
	assert.Equal(t, 0, completePrefix([]byte{0xF0, 0x9F, 0xA6}))
}

func TestEmbedded(t *testing.T) {
	f, err := gguf.FromBytes(embedded.Stories260K)
	require.NoError(t, err)
	tok, err := FromGGUF(f.Meta)
	require.NoError(t, err)
	assert.Equal(t, 512, tok.NumTokens())
	assert.Equal(t, None, tok.SEP())
	ids := tok.Encode("Once upon a time", true, false)
	assert.Equal(t, int32(1), ids[0])
	s, err := tok.DecodeWith(ids, DecodeOptions{SkipSpecial: true})
	require.NoError(t, err)
	assert.Equal(t, " Once upon a time", s)
}

func TestUnknownPre(t *testing.T) {
	meta := testdataMeta(t, "gpt-2")
	var kvs []gguf.KV
	for _, kv := range meta.KVs() {
		if kv.Key == keyPre {
			kv.Value = gguf.MustValue("no-such-pre")
		}
		kvs = append(kvs, kv)
	}
	m, err := gguf.NewMetadata(kvs)
	require.NoError(t, err)
	_, err = FromGGUF(m)
	require.ErrorContains(t, err, `"no-such-pre"`)
}
