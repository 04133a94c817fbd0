package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/golem-llm/golem/gguf"
	"github.com/stretchr/testify/require"
)

func metaOf(t testing.TB, kv map[string]any) gguf.Metadata {
	t.Helper()
	var kvs []gguf.KV
	for k, v := range kv {
		kvs = append(kvs, gguf.KV{Key: k, Value: gguf.MustValue(v)})
	}
	m, err := gguf.NewMetadata(kvs)
	require.NoError(t, err)
	return m
}

// TestHostileMetadata: every bad length, id or type is an error, never a panic.
func TestHostileMetadata(t *testing.T) {
	spm := func() map[string]any {
		return map[string]any{
			keyModel:  "llama",
			keyTokens: []string{"<unk>", "<s>", "</s>", "a"},
			keyScores: []float32{0, 0, 0, 0},
			keyTypes:  []int32{2, 3, 3, 1},
		}
	}
	bpe := func() map[string]any {
		return map[string]any{
			keyModel:  "gpt2",
			keyPre:    "gpt-2",
			keyTokens: []string{"a", "b", "ab"},
			keyMerges: []string{"a b"},
		}
	}
	cases := map[string]func() map[string]any{
		"no model":        func() map[string]any { m := spm(); delete(m, keyModel); return m },
		"unknown model":   func() map[string]any { m := spm(); m[keyModel] = "rwkv9"; return m },
		"model not text":  func() map[string]any { m := spm(); m[keyModel] = uint32(3); return m },
		"no tokens":       func() map[string]any { m := spm(); delete(m, keyTokens); return m },
		"empty tokens":    func() map[string]any { m := spm(); m[keyTokens] = []string{}; return m },
		"short scores":    func() map[string]any { m := spm(); m[keyScores] = []float32{0}; return m },
		"long scores":     func() map[string]any { m := spm(); m[keyScores] = []float32{0, 0, 0, 0, 0}; return m },
		"short types":     func() map[string]any { m := spm(); m[keyTypes] = []int32{1}; return m },
		"scores as text":  func() map[string]any { m := spm(); m[keyScores] = []string{"a", "b", "c", "d"}; return m },
		"duplicate token": func() map[string]any { m := spm(); m[keyTokens] = []string{"a", "<s>", "</s>", "a"}; return m },
		"bos out of range": func() map[string]any {
			m := spm()
			m["tokenizer.ggml.bos_token_id"] = uint32(4)
			return m
		},
		"eos negative": func() map[string]any { m := spm(); m["tokenizer.ggml.eos_token_id"] = int32(-7); return m },
		"add_bos without bos": func() map[string]any {
			m := spm()
			m[keyTokens] = []string{"x"}
			m[keyScores] = []float32{0}
			m[keyTypes] = []int32{1}
			return m
		},
		"add_bos not bool": func() map[string]any { m := spm(); m[keyAddBOS] = "yes"; return m },
		"bpe no merges":    func() map[string]any { m := bpe(); delete(m, keyMerges); return m },
		"bpe unknown pre":  func() map[string]any { m := bpe(); m[keyPre] = "gpt-5"; return m },
		"bpe pre not text": func() map[string]any { m := bpe(); m[keyPre] = int32(1); return m },
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			require.NotPanics(t, func() {
				_, err := FromGGUF(metaOf(t, mk()))
				require.Error(t, err)
			})
		})
	}
	// Odd but valid: merges without a space, types out of the enum, -1 ids.
	m := bpe()
	m[keyMerges] = []string{"ab", "", " ", "a b", "a b"}
	m[keyTypes] = []int32{99, -3, 1}
	m["tokenizer.ggml.unknown_token_id"] = int32(-1)
	tok, err := FromGGUF(metaOf(t, m))
	require.NoError(t, err)
	require.Equal(t, []int32{2, 0}, tok.Encode("aba", false, false))
	require.Equal(t, None, tok.UNK())
}

func TestFromFilesHostile(t *testing.T) {
	bad := []string{
		`{`,
		`{"model":{"type":"BPE","vocab":{"a":-1},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"}}`,
		`{"model":{"type":"BPE","vocab":{"a":99999999999},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"}}`,
		`{"model":{"type":"BPE","vocab":{"a":0,"b":0},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"}}`,
		`{"model":{"type":"BPE","vocab":{"a":0},"merges":[["a"]]},"pre_tokenizer":{"type":"ByteLevel"}}`,
		`{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Whitespace"}}`,
		`{"model":{"type":"Unigram","vocab":[["a",0.0]]}}`,
		`{"model":{"type":"BPE","vocab":{},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"}}`,
		`{"added_tokens":[{"id":0,"content":"x","special":true}],"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"}}`,
	}
	for _, b := range bad {
		require.NotPanics(t, func() {
			_, err := FromHFJSON([]byte(b), "")
			require.Error(t, err, b)
		})
	}
	_, err := FromGPT2([]byte(`{"a":0,"b":1}`), []byte("#version: 0.2\na b\n"), "no-such")
	require.ErrorContains(t, err, "no-such")
	tok, err := FromGPT2([]byte(`{"a":0,"b":1,"ab":2}`), []byte("#version: 0.2\na b\n"), "")
	require.NoError(t, err)
	require.Equal(t, []int32{2}, tok.Encode("ab", false, false))
}

// FuzzRoundTrip: decode(encode(text)) == text for lossless vocabs on valid UTF-8,
// and no input, valid or not, makes any tokenizer panic or loop.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", " ", "Hello world", "  \t\n\n x", "'s 're 123456 ", "ü 世界 🦙", "<s>[CLS]<|endoftext|>", "\xff\xfe", "õ÷"} {
		f.Add(s)
	}
	toks := map[string]*Tokenizer{}
	for _, fam := range testdataFamilies {
		toks[fam] = testdataTokenizer(f, fam)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for fam, tok := range toks {
			for _, special := range []bool{false, true} {
				ids := tok.Encode(text, special, special)
				for _, id := range ids {
					if id < 0 || int(id) >= tok.NumTokens() {
						t.Fatalf("%s: id %d out of range", fam, id)
					}
				}
				back, err := tok.Decode(ids)
				if err != nil {
					t.Fatalf("%s: %v", fam, err)
				}
				if !special && utf8.ValidString(text) && lossless(tok) && back != text {
					t.Fatalf("%s: %q -> %v -> %q", fam, text, ids, back)
				}
			}
		}
	})
}

// TestLongRuns: long runs of one class stay linear in every pre-tokenizer.
func TestLongRuns(t *testing.T) {
	long := strings.Repeat(" ", 200000) + "x" + strings.Repeat("7", 100000) + strings.Repeat("\u3000", 100000) + "y"
	for _, name := range PreTokenizers() {
		spec, err := lookupPre(name)
		require.NoError(t, err)
		p := &preTokenizer{name: name, stages: spec.stages}
		c := decodeRunes(long, nil)
		ends := p.split(c, nil)
		require.Equal(t, len(c), ends[len(ends)-1], name)
	}
}
