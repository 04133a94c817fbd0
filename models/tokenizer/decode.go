package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// DecodeOptions choose how ids become text.
type DecodeOptions struct {
	// SkipSpecial leaves control and unknown tokens (BOS, <|im_end|>, ...) out
	// instead of writing their text.
	SkipSpecial bool
	// Continuation says the text continues text already shown (a prompt): the
	// first token keeps its leading space.
	Continuation bool
}

// Piece is the bytes token id decodes to on its own: byte tokens as their byte,
// "▁" as a space, byte-level BPE text as its bytes, control tokens as their text.
// It may be part of a UTF-8 character.
func (t *Tokenizer) Piece(id int32) (string, error) {
	if !t.valid(id) {
		return "", fmt.Errorf("token id %d is out of range (vocabulary of %d)", id, len(t.tokens))
	}
	return t.pieces[id], nil
}

// Decode is the text of ids, with special tokens written as their text. For a
// SentencePiece vocab the leading space Encode adds is removed from the first
// token, so Decode(Encode(s, false, false)) == s for every lossless vocab.
func (t *Tokenizer) Decode(ids []int32) (string, error) {
	return t.DecodeWith(ids, DecodeOptions{})
}

// DecodeWith is Decode with options.
func (t *Tokenizer) DecodeWith(ids []int32, opts DecodeOptions) (string, error) {
	var sb strings.Builder
	for i, id := range ids {
		p, err := t.pieceFor(id, opts, i == 0 && !opts.Continuation)
		if err != nil {
			return "", err
		}
		sb.WriteString(p)
	}
	return sb.String(), nil
}

func (t *Tokenizer) pieceFor(id int32, opts DecodeOptions, first bool) (string, error) {
	p, err := t.Piece(id)
	if err != nil {
		return "", err
	}
	if opts.SkipSpecial && t.attrs[id]&(AttrControl|AttrUnknown) != 0 {
		return "", nil
	}
	if first && t.addSpacePrefix && strings.HasPrefix(p, " ") {
		p = p[1:]
	}
	return p, nil
}

// StreamDecoder turns ids into text one at a time and never splits a UTF-8
// character: bytes of a character still incomplete wait for the next token.
type StreamDecoder struct {
	t       *Tokenizer
	opts    DecodeOptions
	pending []byte
	started bool
}

// NewStreamDecoder starts a stream; its first token is treated like the first
// token given to Decode.
func (t *Tokenizer) NewStreamDecoder(opts DecodeOptions) *StreamDecoder {
	return &StreamDecoder{t: t, opts: opts, started: opts.Continuation}
}

// Add decodes one more id and returns the text now complete ("" while a character
// is still unfinished).
func (d *StreamDecoder) Add(id int32) (string, error) {
	p, err := d.t.pieceFor(id, d.opts, !d.started)
	if err != nil {
		return "", err
	}
	d.started = true
	d.pending = append(d.pending, p...)
	cut := completePrefix(d.pending)
	out := string(d.pending[:cut])
	d.pending = append(d.pending[:0], d.pending[cut:]...)
	return out, nil
}

// Flush returns the bytes still held back (an unfinished character at the end of
// the stream) and empties the decoder.
func (d *StreamDecoder) Flush() string {
	s := string(d.pending)
	d.pending = d.pending[:0]
	return s
}

// completePrefix is the length of b without a trailing, still incomplete UTF-8
// sequence. Invalid bytes are not held back: no later byte can complete them.
func completePrefix(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		c := b[i]
		if c&0xC0 == 0x80 {
			continue // continuation byte: look further back for the lead byte
		}
		if c >= 0xC0 && !utf8.FullRune(b[i:]) {
			return i
		}
		return len(b)
	}
	return len(b)
}
