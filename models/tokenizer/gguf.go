package tokenizer

import (
	"fmt"
	"math"

	"github.com/golem-llm/golem/gguf"
)

// GGUF metadata keys the tokenizer reads.
const (
	keyModel        = "tokenizer.ggml.model"
	keyPre          = "tokenizer.ggml.pre"
	keyTokens       = "tokenizer.ggml.tokens"
	keyScores       = "tokenizer.ggml.scores"
	keyTypes        = "tokenizer.ggml.token_type"
	keyMerges       = "tokenizer.ggml.merges"
	keyAddBOS       = "tokenizer.ggml.add_bos_token"
	keyAddEOS       = "tokenizer.ggml.add_eos_token"
	keyAddSep       = "tokenizer.ggml.add_sep_token"
	keyAddPrefix    = "tokenizer.ggml.add_space_prefix"
	keyLowercase    = "tokenizer.ggml.normalizer.lowercase"
	keyStripAccents = "tokenizer.ggml.normalizer.strip_accents"
)

// FromGGUF builds the tokenizer a GGUF file's tokenizer.ggml.* metadata describes.
// Vocab-only files work as well as full models. Nothing in the metadata is trusted:
// array lengths, ids and types are checked and a bad value is an error.
func FromGGUF(meta gguf.Metadata) (*Tokenizer, error) {
	t, err := fromGGUF(meta)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return t, nil
}

// HasTokenizer reports whether the metadata holds a tokenizer.
func HasTokenizer(meta gguf.Metadata) bool { return meta.Has(keyModel) && meta.Has(keyTokens) }

func fromGGUF(meta gguf.Metadata) (*Tokenizer, error) {
	name, err := meta.String(keyModel)
	if err != nil {
		return nil, err
	}
	var model Model
	switch name {
	case "llama":
		model = SPM
	case "gpt2":
		model = BPE
	case "bert":
		model = WPM
	default:
		return nil, fmt.Errorf("tokenizer model %q is not supported (supported: llama, gpt2, bert)", name)
	}
	s := newSpec(model)
	s.name, _ = meta.String("general.name")
	if s.tokens, err = meta.Strings(keyTokens); err != nil {
		return nil, err
	}
	n := len(s.tokens)
	if meta.Has(keyScores) {
		if s.scores, err = meta.Float32s(keyScores); err != nil {
			ints, ierr := meta.Int32s(keyScores)
			if ierr != nil {
				return nil, err
			}
			s.scores = make([]float32, len(ints))
			for i, v := range ints {
				s.scores[i] = float32(v)
			}
		}
		if len(s.scores) != n {
			return nil, fmt.Errorf("key %s: %d scores for %d tokens", keyScores, len(s.scores), n)
		}
	}
	if meta.Has(keyTypes) {
		types, err := meta.Int32s(keyTypes)
		if err != nil {
			return nil, err
		}
		if len(types) != n {
			return nil, fmt.Errorf("key %s: %d token types for %d tokens", keyTypes, len(types), n)
		}
		s.types = make([]TokenType, n)
		for i, v := range types {
			s.types[i] = TokenType(v) // unknown values become AttrUndefined, as in llama.cpp
		}
	}
	if model == BPE {
		lines, err := meta.Strings(keyMerges)
		if err != nil {
			return nil, fmt.Errorf("a BPE vocabulary needs merges: %w", err)
		}
		s.merges = make([][2]string, len(lines))
		for i, l := range lines {
			s.merges[i] = splitMerge(l)
		}
	}
	if meta.Has(keyPre) {
		if s.pre, err = meta.String(keyPre); err != nil {
			return nil, err
		}
		if model != BPE {
			s.pre = "" // only byte-level BPE has pre-tokenizers
		}
	}
	ids := []struct {
		key string
		dst *int32
	}{
		{"tokenizer.ggml.bos_token_id", &s.bos},
		{"tokenizer.ggml.eos_token_id", &s.eos},
		{"tokenizer.ggml.eot_token_id", &s.eot},
		{"tokenizer.ggml.eom_token_id", &s.eom},
		{"tokenizer.ggml.unknown_token_id", &s.unk},
		{"tokenizer.ggml.seperator_token_id", &s.sep},
		{"tokenizer.ggml.padding_token_id", &s.pad},
		{"tokenizer.ggml.mask_token_id", &s.mask},
	}
	for _, k := range ids {
		if !meta.Has(k.key) {
			continue
		}
		v, err := meta.Int(k.key)
		if err != nil {
			return nil, err
		}
		if v == -1 || v == math.MaxUint32 {
			*k.dst = None // how converters write "no such token"
			continue
		}
		if v < 0 || v >= int64(n) {
			return nil, fmt.Errorf("key %s: token id %d is out of range (vocabulary of %d)", k.key, v, n)
		}
		*k.dst = int32(v)
	}
	bools := []struct {
		key string
		dst **bool
	}{
		{keyAddBOS, &s.addBOS},
		{keyAddEOS, &s.addEOS},
		{keyAddSep, &s.addSep},
		{keyAddPrefix, &s.addSpacePrefix},
		{keyLowercase, &s.lowercase},
		{keyStripAccents, &s.stripAccents},
	}
	for _, k := range bools {
		if !meta.Has(k.key) {
			continue
		}
		v, err := meta.Bool(k.key)
		if err != nil {
			return nil, err
		}
		*k.dst = &v
	}
	if model == WPM {
		// BertNormalizer: lower-casing is on unless the file says otherwise, and
		// accent stripping follows it unless given on its own.
		lower := boolOr(s.lowercase, true)
		s.lowercase = &lower
		if s.stripAccents == nil {
			s.stripAccents = &lower
		}
	}
	return build(s)
}
