package tokenizer

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golem-llm/golem/internal/shared"
)

// benchCorpus is ~1 MB of mixed English prose, source code and multilingual text,
// shuffled by paragraph with a fixed seed.
func benchCorpus() string {
	paras := []string{
		"The quick brown fox jumps over the lazy dog. It wasn't the first time, and they'd seen it before; still, everyone laughed.\n",
		"In 1969, 3 astronauts flew 384,400 km to the Moon — a journey of about 76 hours. \"That's one small step,\" he said.\n\n",
		"func (t *Tokenizer) Encode(text string, addSpecial bool) []int32 {\n\tif len(text) == 0 {\n\t\treturn nil\n\t}\n\tfor i := 0; i < n; i++ {\n\t\tout = append(out, ids[i]*2+1)\n\t}\n}\n",
		"def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b  # sum\n    return a\n\nprint([fib(i) for i in range(10)])\n",
		"<div class=\"row\"><a href=\"https://example.com/?q=1&lang=en\">Link</a></div>\n{\"id\": 42, \"tags\": [\"x\", \"y\"], \"ok\": true}\n",
		"Der schnelle braune Fuchs springt über den faulen Hund. Ça coûte 12,50 € à Zürich, señor.\n",
		"Быстрая коричневая лиса прыгает через ленивую собаку. Ελληνικά κείμενα εδώ.\n",
		"敏捷的棕色狐狸跳过了懒狗。日本語のテキストもあります。한국어 문장도 있습니다.\n",
		"العربية نص قصير هنا. हिन्दी में एक वाक्य। ภาษาไทยก็มี 🦙🚀✨ emoji too!\n",
		"   indented   spaces\t\ttabs\r\nand CRLF lines\n\n\n   \n",
	}
	r := rand.New(rand.NewPCG(1, 2))
	var sb strings.Builder
	for sb.Len() < 1<<20 {
		sb.WriteString(paras[r.IntN(len(paras))])
	}
	return sb.String()
}

func benchEncode(b *testing.B, tok *Tokenizer) {
	text := benchCorpus()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		tok.Encode(text, false, false)
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, fam := range testdataFamilies {
		b.Run(fam, func(b *testing.B) { benchEncode(b, testdataTokenizer(b, fam)) })
	}
}

// BenchmarkEncodeShared covers the vocabs only the shared folder has.
func BenchmarkEncodeShared(b *testing.B) {
	dir := shared.Dir(b)
	for _, fam := range []string{"phi-3", "falcon", "starcoder", "mpt", "deepseek-llm", "refact", "gpt-neox"} {
		b.Run(fam, func(b *testing.B) {
			benchEncode(b, loadGGUF(b, filepath.Join(dir, "oracle", "vocab", "ggml-vocab-"+fam+".gguf")))
		})
	}
	for _, c := range []struct{ name, file, pre string }{
		{"llama3", "tokenizers/llama3/encoder.json.gz", "llama3"},
		{"qwen2", "tokenizers/qwen3/tokenizer.json.gz", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			tok, err := LoadFile(filepath.Join(dir, c.file), c.pre)
			if err != nil {
				b.Fatal(err)
			}
			benchEncode(b, tok)
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	tok := testdataTokenizer(b, "gpt-2")
	text := benchCorpus()
	ids := tok.Encode(text, false, false)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := tok.Decode(ids); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreTokenize times the llama3 splitter alone (compare with a regexp2
// implementation of the same pattern: see docs/performance.md).
func BenchmarkPreTokenize(b *testing.B) {
	text := benchCorpus()
	p := &preTokenizer{stages: []stage{llama3Stage(3)}}
	runes := decodeRunes(text, nil)
	var ends []int
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		ends = p.split(runes, ends)
	}
}
