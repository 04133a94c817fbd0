package tokenizer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// WordPiece (BERT): normalise, split into words at white space and punctuation
// (every CJK ideograph its own word), then take the longest vocabulary match from
// the left, again and again. Vocabularies in GGUF mark word starts with "▁" and
// continuations bare (the converter's form of "##").

func (t *Tokenizer) wpmWords(text string) []string {
	cpts := decodeRunes(text, nil)
	if t.stripAccent {
		cpts = []rune(norm.NFD.String(string(cpts)))
	}
	var words []string
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	for _, r := range cpts {
		f := flagsOf(r)
		if f&flagSpace != 0 {
			flush()
			continue
		}
		if r == 0 || r == utf8.RuneError || f&flagControl != 0 {
			continue
		}
		if t.stripAccent && f&flagMark != 0 {
			continue
		}
		if t.lowercase {
			r = unicode.ToLower(r)
		}
		if f&flagPunct != 0 || (r < 0x7F && f&flagSymbol != 0) || isChineseChar(r) {
			flush()
			words = append(words, string(r))
			continue
		}
		cur = utf8.AppendRune(cur, r)
	}
	flush()
	return words
}

func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B920 && r <= 0x2CEAF) || // as Hugging Face's tokenizers has it
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

func (t *Tokenizer) wpmEncode(text string, out []int32) []int32 {
	for _, word := range t.wpmWords(text) {
		w := "\u2581" + word
		n := len(w)
		mark := len(out)
		for i := 0; i < n; i++ {
			match := false
			for j := min(n, i+t.maxTokenLen+1); j > i; j-- {
				if id, ok := t.ids[w[i:j]]; ok {
					out = append(out, id)
					match = true
					i = j - 1
					break
				}
			}
			if !match {
				out = out[:mark]
				break
			}
		}
		if len(out) == mark && t.unk != None {
			out = append(out, t.unk)
		}
	}
	return out
}
