package tokenizer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/internal/shared"
	"github.com/stretchr/testify/require"
)

const vocabSep = "\n__ggml_vocab_test__\n"

// vectors reads a .inp/.out pair: the texts and their expected ids.
func vectors(t testing.TB, inp, out string) ([]string, [][]int32) {
	t.Helper()
	in, err := os.ReadFile(inp)
	require.NoError(t, err)
	ex, err := os.ReadFile(out)
	require.NoError(t, err)
	texts := strings.Split(string(in), vocabSep)
	require.Equal(t, "", texts[len(texts)-1], "%s: the file must end with the separator", inp)
	texts = texts[:len(texts)-1]
	lines := strings.Split(string(ex), "\n")
	if len(lines) > len(texts) && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	require.Len(t, lines, len(texts), "%s: one line per text", out)
	want := make([][]int32, len(lines))
	for i, l := range lines {
		want[i] = []int32{}
		for _, f := range strings.Fields(l) {
			v, err := strconv.ParseInt(f, 10, 32)
			require.NoError(t, err)
			want[i] = append(want[i], int32(v))
		}
	}
	return texts, want
}

func loadGGUF(t testing.TB, path string) *Tokenizer {
	t.Helper()
	f, err := gguf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	tok, err := FromGGUF(f.Meta)
	require.NoError(t, err)
	return tok
}

// checkVectors encodes every text without specials and compares ids; it reports
// every failing text, then fails.
func checkVectors(t *testing.T, tok *Tokenizer, texts []string, want [][]int32) {
	t.Helper()
	pass, passSpecial := 0, 0
	for i, text := range texts {
		got := tok.Encode(text, false, false)
		if equalIDs(got, want[i]) {
			pass++
		} else {
			t.Errorf("text %d %q:\n got  %v\n want %v", i, text, got, want[i])
		}
		// With the vocab's specials: the same ids between BOS/CLS and EOS/SEP.
		var withSpecial []int32
		if tok.AddBOS() || tok.Model() == WPM {
			withSpecial = append(withSpecial, tok.BOS())
		}
		withSpecial = append(withSpecial, want[i]...)
		if tok.AddEOS() {
			withSpecial = append(withSpecial, tok.EOS())
		}
		if tok.Model() == WPM {
			withSpecial = append(withSpecial, tok.SEP())
		}
		if got := tok.Encode(text, true, false); equalIDs(got, withSpecial) {
			passSpecial++
		} else {
			t.Errorf("text %d %q with specials:\n got  %v\n want %v", i, text, got, withSpecial)
		}
		// Lossless vocabs give the text back.
		if lossless(tok) {
			back, err := tok.Decode(got)
			require.NoError(t, err)
			if back != text {
				t.Errorf("text %d %q decodes to %q", i, text, back)
			}
		}
	}
	t.Logf("%d/%d texts give the expected ids, %d/%d with the vocab's specials", pass, len(texts), passSpecial, len(texts))
}

// lossless reports whether decode(encode(text)) == text for valid UTF-8: every byte
// has a token, nothing is normalised away.
func lossless(tok *Tokenizer) bool {
	switch tok.Model() {
	case SPM:
		for b := 0; b < 256; b++ {
			if _, ok := tok.byteToken(byte(b)); !ok {
				return false
			}
		}
		return true
	case BPE:
		for b := 0; b < 256; b++ {
			if b == 0xC0 || b == 0xC1 || b >= 0xF5 {
				continue // never in valid UTF-8
			}
			if _, ok := tok.ID(byteEncoded[b]); !ok {
				return false
			}
		}
		return true
	}
	return false
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ggufFamilies are the vocabs in ../shared/oracle/vocab with a GGUF file and vectors.
var ggufFamilies = []string{
	"llama-spm", "phi-3", "gpt-2", "falcon", "starcoder", "mpt", "deepseek-llm", "deepseek-coder", "refact", "bert-bge",
}

func TestVectorsShared(t *testing.T) {
	dir := filepath.Join(shared.Dir(t), "oracle", "vocab")
	for _, fam := range ggufFamilies {
		t.Run(fam, func(t *testing.T) {
			base := filepath.Join(dir, "ggml-vocab-"+fam+".gguf")
			tok := loadGGUF(t, base)
			texts, want := vectors(t, base+".inp", base+".out")
			checkVectors(t, tok, texts, want)
		})
	}
}

// TestVectorsFiles: llama-bpe and qwen2 have vectors but no GGUF here; their
// tokenizer files stand in.
func TestVectorsFiles(t *testing.T) {
	dir := shared.Dir(t)
	cases := []struct {
		name, file, pre string
	}{
		{"llama-bpe", "tokenizers/llama3/encoder.json.gz", "llama-bpe"},
		{"qwen2", "tokenizers/qwen3/tokenizer.json.gz", ""},
		{"deepseek-r1-qwen", "tokenizers/qwen3/tokenizer.json.gz", "deepseek-r1-qwen"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := LoadFile(filepath.Join(dir, c.file), c.pre)
			require.NoError(t, err)
			base := filepath.Join(dir, "oracle", "vocab", "ggml-vocab-"+c.name+".gguf")
			texts, want := vectors(t, base+".inp", base+".out")
			checkVectors(t, tok, texts, want)
		})
	}
}

// TestFilesMatchGGUF: the GPT-2 files and the BERT tokenizer.json give the ids
// the GGUF vocab of the same family gives.
func TestFilesMatchGGUF(t *testing.T) {
	dir := shared.Dir(t)
	texts, _ := vectors(t, filepath.Join(dir, "oracle/vocab/ggml-vocab-gpt-2.gguf.inp"), filepath.Join(dir, "oracle/vocab/ggml-vocab-gpt-2.gguf.out"))
	texts = append(texts, "<|endoftext|> [CLS] Hello [SEP] naïve café ﬁ Ǆ 한국어 ١٢٣ x²")
	cases := []struct{ name, file, gguf string }{
		{"gpt-2", "tokenizers/gpt2/encoder.json", "oracle/vocab/ggml-vocab-gpt-2.gguf"},
		{"bert", "tokenizers/bert-minilm/all-MiniLM-L6-v2.tokenizer.json", "oracle/vocab/ggml-vocab-bert-bge.gguf"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files, err := LoadFile(filepath.Join(dir, c.file), "")
			require.NoError(t, err)
			g := loadGGUF(t, filepath.Join(dir, c.gguf))
			require.Equal(t, g.NumTokens(), files.NumTokens())
			for _, text := range texts {
				for _, special := range []bool{false, true} {
					require.Equal(t, g.Encode(text, special, special), files.Encode(text, special, special), "text %q special %v", text, special)
				}
			}
		})
	}
}

// TestGPTNeoXRoundTrip: gpt-neox has no vectors; its texts must come back intact.
func TestGPTNeoXRoundTrip(t *testing.T) {
	dir := filepath.Join(shared.Dir(t), "oracle", "vocab")
	tok := loadGGUF(t, filepath.Join(dir, "ggml-vocab-gpt-neox.gguf"))
	require.Equal(t, "default", tok.Pre())
	require.True(t, lossless(tok))
	texts, _ := vectors(t, filepath.Join(dir, "ggml-vocab-gpt-2.gguf.inp"), filepath.Join(dir, "ggml-vocab-gpt-2.gguf.out"))
	for _, text := range texts {
		ids := tok.Encode(text, false, false)
		back, err := tok.Decode(ids)
		require.NoError(t, err)
		require.Equal(t, text, back)
	}
}
