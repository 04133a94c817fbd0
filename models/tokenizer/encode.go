package tokenizer

import "strings"

// fragment is a run of raw text or an already-known token.
type fragment struct {
	tok        int32 // None for text
	start, end int
}

// isCSpace is C's isspace, which llama.cpp uses to strip around special tokens.
func isCSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// partition splits text at the special tokens' texts: user-defined tokens always,
// control and unknown tokens only when parseSpecial.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	if text == "" {
		return nil
	}
	frags := []fragment{{tok: None, start: 0, end: len(text)}}
	var next []fragment
	for _, id := range t.special {
		a := t.attrs[id]
		if !parseSpecial && a&(AttrControl|AttrUnknown) != 0 {
			continue
		}
		word := t.tokens[id]
		next = next[:0]
		changed := false
		for _, f := range frags {
			if f.tok != None {
				next = append(next, f)
				continue
			}
			start, end := f.start, f.end
			for start < end {
				i := strings.Index(text[start:end], word)
				if i < 0 {
					break
				}
				changed = true
				m := start + i
				left := m
				if a&AttrLStrip != 0 {
					for left > start && isCSpace(text[left-1]) {
						left--
					}
				}
				if left > start {
					next = append(next, fragment{tok: None, start: start, end: left})
				}
				next = append(next, fragment{tok: id, start: m, end: m + len(word)})
				start = m + len(word)
				if a&AttrRStrip != 0 {
					for start < end && isCSpace(text[start]) {
						start++
					}
				}
			}
			if start < end {
				next = append(next, fragment{tok: None, start: start, end: end})
			}
		}
		if changed {
			frags, next = next, frags
		}
	}
	return frags
}

// Encode tokenizes text. addSpecial adds the vocab's BOS/EOS (WordPiece: [CLS] and
// [SEP]) as its metadata says; parseSpecial makes text such as "<s>" or
// "<|im_start|>" the control token it names instead of plain text. Bytes the vocab
// cannot express (a byte-level vocab missing a byte) are dropped.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	frags := t.partition(text, parseSpecial)
	out := make([]int32, 0, len(text)/3+2)
	switch t.model {
	case SPM:
		if addSpecial && t.addBOS {
			out = append(out, t.bos)
		}
		prevSpecial := true
		var buf strings.Builder
		s := &spmSession{t: t}
		for _, f := range frags {
			if f.tok != None {
				out = append(out, f.tok)
				prevSpecial = true
				continue
			}
			buf.Reset()
			if t.addSpacePrefix && prevSpecial {
				buf.WriteByte(' ')
			}
			buf.WriteString(text[f.start:f.end])
			out = s.encode(strings.ReplaceAll(buf.String(), " ", "\u2581"), out)
			prevSpecial = false
		}
		if addSpecial && t.addEOS {
			out = append(out, t.eos)
		}
	case BPE:
		if addSpecial && t.addBOS {
			out = append(out, t.bos)
		}
		s := t.bpe.session()
		for _, f := range frags {
			if f.tok != None {
				out = append(out, f.tok)
				continue
			}
			out = s.encode(text[f.start:f.end], out)
		}
		if addSpecial && t.addEOS {
			out = append(out, t.eos)
		}
	case WPM:
		if addSpecial && t.bos != None {
			out = append(out, t.bos)
		}
		for _, f := range frags {
			if f.tok != None {
				out = append(out, f.tok)
				continue
			}
			out = t.wpmEncode(text[f.start:f.end], out)
		}
		if addSpecial && t.sep != None {
			out = append(out, t.sep)
		}
	}
	return out
}
