package golem

import (
	"fmt"
	"io"
)

// TokenizeOptions configure Tokenize. The zero value adds the vocabulary's special
// tokens as its metadata says (BOS, or [CLS] ... [SEP]) and treats text that looks
// like a special token ("<s>", "<|im_start|>") as plain text, as `golem tokenize` does.
type TokenizeOptions struct {
	// NoSpecial adds no special tokens (llama.cpp's add_special = false).
	NoSpecial bool
	// ParseSpecial turns special-token text into those tokens.
	ParseSpecial bool
}

// Tokenize returns the token ids of text.
func (m *Model) Tokenize(text string, opts TokenizeOptions) []int32 {
	return m.tok.Encode(text, !opts.NoSpecial, opts.ParseSpecial)
}

// Detokenize returns the text of ids, with special tokens written as their text. An
// id outside the vocabulary is an error.
func (m *Model) Detokenize(ids []int32) (string, error) {
	s, err := m.tok.Decode(ids)
	if err != nil {
		return "", fmt.Errorf("%w", err)
	}
	return s, nil
}

// WriteProfile writes the op profile of a model loaded with LoadOptions.Profile: time
// per op kind and layer for prompt processing and generation, with the rates of st
// (the statistics of the generations it covers) and memory. Call it when no
// generation is running.
func (m *Model) WriteProfile(w io.Writer, st Stats) error {
	if m.prof == nil {
		return fmt.Errorf("the model was not loaded with Profile")
	}
	return m.prof.Report(w, st.internal())
}
