package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Code point classes as the pre-tokenizer patterns see them (\p{N}, \p{L}, \p{P}, ...).
// Every assigned or unassigned code point has exactly one general category; unassigned
// ones count as "other" (\p{C}), so [^\s\p{L}\p{N}] matches them, as it does in the
// regex engines the patterns were written for.
type cptFlags uint8

const (
	flagNumber cptFlags = 1 << iota
	flagLetter
	flagSeparator
	flagMark
	flagPunct
	flagSymbol
	flagControl
	flagSpace // White_Space: what \s matches
)

// flagTable holds the flags of the Basic Multilingual Plane; higher planes are
// classified on demand.
var flagTable = func() []cptFlags {
	t := make([]cptFlags, 0x10000)
	for r := range t {
		t[r] = classify(rune(r))
	}
	return t
}()

func classify(r rune) cptFlags {
	var f cptFlags
	switch {
	case unicode.IsLetter(r):
		f = flagLetter
	case unicode.IsNumber(r):
		f = flagNumber
	case unicode.IsMark(r):
		f = flagMark
	case unicode.IsPunct(r):
		f = flagPunct
	case unicode.IsSymbol(r):
		f = flagSymbol
	case unicode.In(r, unicode.Z):
		f = flagSeparator
	default:
		f = flagControl
	}
	if unicode.Is(unicode.White_Space, r) {
		f |= flagSpace
	}
	return f
}

func flagsOf(r rune) cptFlags {
	if uint32(r) < uint32(len(flagTable)) {
		return flagTable[r]
	}
	if r > unicode.MaxRune {
		return flagControl
	}
	return classify(r)
}

func isLetter(r rune) bool { return flagsOf(r)&flagLetter != 0 }
func isNumber(r rune) bool { return flagsOf(r)&flagNumber != 0 }
func isSpace(r rune) bool  { return flagsOf(r)&flagSpace != 0 }

// isOther is [^\s\p{L}\p{N}].
func isOther(r rune) bool { return flagsOf(r)&(flagSpace|flagLetter|flagNumber) == 0 }

// decodeRunes splits text into code points; each byte of an invalid sequence
// becomes U+FFFD, as llama.cpp's pre-tokenizer does.
func decodeRunes(text string, buf []rune) []rune {
	buf = buf[:0]
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			buf = append(buf, rune(c))
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && n <= 1 {
			buf = append(buf, utf8.RuneError)
			i++
			continue
		}
		buf = append(buf, r)
		i += n
	}
	return buf
}

// utf8Len is the length of the UTF-8 sequence a lead byte announces (1 for a stray
// continuation byte), the way SentencePiece-style and BPE symbol splitting count.
func utf8Len(c byte) int {
	switch c >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

// GPT-2's byte-level alphabet: every byte maps to a printable code point.
var (
	byteToRune [256]rune
	runeToByte = map[rune]byte{}
	// byteEncoded[b] is the UTF-8 text of byteToRune[b].
	byteEncoded [256]string
)

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
		byteEncoded[b] = string(byteToRune[b])
	}
}
