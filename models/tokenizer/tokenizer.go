// Package tokenizer turns text into token ids and back for the vocabularies GGUF
// models carry: SentencePiece-style (tokenizer.ggml.model "llama"), byte-level BPE
// ("gpt2", with the pre-tokenizer named by tokenizer.ggml.pre) and WordPiece
// ("bert"). It reproduces llama.cpp's tokenizers id for id, which in turn match the
// Hugging Face tokenizers the vocabularies come from. Vocabularies also load from
// Hugging Face tokenizer.json and GPT-2 encoder.json + vocab.bpe files.
//
// A Tokenizer is immutable once built and safe for concurrent use.
package tokenizer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Model is the tokenization algorithm.
type Model int

// The supported models.
const (
	SPM Model = iota + 1 // SentencePiece-style score-driven merging (GGUF "llama")
	BPE                  // byte-level BPE by merge rank (GGUF "gpt2")
	WPM                  // WordPiece (GGUF "bert")
)

func (m Model) String() string {
	switch m {
	case SPM:
		return "SPM"
	case BPE:
		return "BPE"
	case WPM:
		return "WPM"
	}
	return fmt.Sprintf("Model(%d)", int(m))
}

// TokenType is a token's tokenizer.ggml.token_type.
type TokenType int32

// Token types as GGUF stores them.
const (
	TypeUndefined   TokenType = 0
	TypeNormal      TokenType = 1
	TypeUnknown     TokenType = 2
	TypeControl     TokenType = 3
	TypeUserDefined TokenType = 4
	TypeUnused      TokenType = 5
	TypeByte        TokenType = 6
)

// Attr is a token's attribute set (llama.cpp's llama_token_attr).
type Attr uint16

// Token attributes.
const (
	AttrUndefined   Attr = 0
	AttrUnknown     Attr = 1 << 0
	AttrUnused      Attr = 1 << 1
	AttrNormal      Attr = 1 << 2
	AttrControl     Attr = 1 << 3
	AttrUserDefined Attr = 1 << 4
	AttrByte        Attr = 1 << 5
	AttrNormalized  Attr = 1 << 6
	AttrLStrip      Attr = 1 << 7
	AttrRStrip      Attr = 1 << 8
	AttrSingleWord  Attr = 1 << 9
)

func attrOfType(t TokenType) Attr {
	switch t {
	case TypeNormal:
		return AttrNormal
	case TypeUnknown:
		return AttrUnknown
	case TypeControl:
		return AttrControl
	case TypeUserDefined:
		return AttrUserDefined
	case TypeUnused:
		return AttrUnused
	case TypeByte:
		return AttrByte
	}
	return AttrUndefined
}

// None is the id of a special token the vocab does not have.
const None int32 = -1

// Tokenizer encodes and decodes text with one vocabulary.
type Tokenizer struct {
	model  Model
	pre    string
	tokens []string
	scores []float32
	types  []TokenType
	attrs  []Attr
	ids    map[string]int32
	pieces []string // decoded bytes of each token (control tokens as their text)

	maxTokenLen int

	bos, eos, eot, eom, unk, sep, pad, mask int32
	eog                                     []int32

	addBOS, addEOS, addSep bool
	addSpacePrefix         bool
	ignoreMerges           bool
	lowercase, stripAccent bool

	special []int32 // control, user-defined and unknown tokens, longest text first

	bpe   *bpeModel
	split *preTokenizer
}

// vocabSpec is what every loader gathers before build.
type vocabSpec struct {
	model  Model
	pre    string
	tokens []string
	scores []float32   // nil: all 0
	types  []TokenType // nil: all normal
	merges [][2]string // BPE only

	// special ids, None when absent
	bos, eos, eot, eom, unk, sep, pad, mask int32
	addBOS, addEOS, addSep                  *bool
	addSpacePrefix                          *bool
	lowercase, stripAccents                 *bool
	name                                    string // general.name, for per-model token attributes
}

func newSpec(model Model) vocabSpec {
	s := vocabSpec{model: model, bos: None, eos: None, eot: None, eom: None, unk: None, sep: None, pad: None, mask: None}
	switch model {
	case SPM:
		s.bos, s.eos, s.unk = 1, 2, 0
	case WPM:
		s.bos, s.unk, s.sep, s.pad, s.mask = 101, 100, 102, 0, 103
	case BPE:
		s.bos, s.eos = 11, 11
	}
	return s
}

func boolOr(p *bool, def bool) bool {
	if p != nil {
		return *p
	}
	return def
}

// build validates a spec and makes the tokenizer. Every length and id in the spec
// comes from a file and is checked here.
func build(s vocabSpec) (*Tokenizer, error) {
	n := len(s.tokens)
	if n == 0 {
		return nil, errors.New("the vocabulary has no tokens")
	}
	if n > 1<<30 {
		return nil, fmt.Errorf("the vocabulary has %d tokens, too many", n)
	}
	if s.scores != nil && len(s.scores) < n {
		return nil, fmt.Errorf("%d scores for %d tokens", len(s.scores), n)
	}
	if s.types != nil && len(s.types) < n {
		return nil, fmt.Errorf("%d token types for %d tokens", len(s.types), n)
	}
	t := &Tokenizer{
		model:  s.model,
		pre:    s.pre,
		tokens: make([]string, n),
		scores: make([]float32, n),
		types:  make([]TokenType, n),
		attrs:  make([]Attr, n),
		ids:    make(map[string]int32, n),
	}
	for i, w := range s.tokens {
		if w == "" {
			w = fmt.Sprintf("[EMPTY_%d]", i)
		}
		if prev, dup := t.ids[w]; dup {
			return nil, fmt.Errorf("duplicate token %q: ids %d and %d", w, prev, i)
		}
		t.ids[w] = int32(i)
		t.tokens[i] = w
		t.maxTokenLen = max(t.maxTokenLen, len(w))
		if s.scores != nil {
			t.scores[i] = s.scores[i]
		}
		t.types[i] = TypeNormal
		if s.types != nil {
			t.types[i] = s.types[i]
		}
		t.attrs[i] = attrOfType(t.types[i])
	}

	switch s.model {
	case SPM:
		t.addSpacePrefix = boolOr(s.addSpacePrefix, true)
		t.addBOS = boolOr(s.addBOS, true)
		t.addEOS = boolOr(s.addEOS, false)
	case WPM:
		t.addBOS = boolOr(s.addBOS, true)
		t.addEOS = boolOr(s.addEOS, false)
		t.addSep = boolOr(s.addSep, true)
		t.lowercase = boolOr(s.lowercase, false)
		t.stripAccent = boolOr(s.stripAccents, t.lowercase)
	case BPE:
		pre := s.pre
		if pre == "" {
			pre = "default"
		}
		spec, err := lookupPre(pre)
		if err != nil {
			return nil, err
		}
		t.pre = pre
		t.split = &preTokenizer{name: pre, stages: spec.stages}
		t.ignoreMerges = spec.ignoreMerges
		t.addSpacePrefix = boolOr(s.addSpacePrefix, false)
		t.addBOS = boolOr(s.addBOS, spec.addBOS)
		t.addEOS = boolOr(s.addEOS, false)
		bpe, err := newBPEModel(t, s.merges)
		if err != nil {
			return nil, err
		}
		t.bpe = bpe
	default:
		return nil, fmt.Errorf("unsupported tokenizer model %v", s.model)
	}

	// Special ids: a default out of range is dropped; a file's id out of range is an
	// error (the loaders pass file ids through checkID first).
	fix := func(id int32) int32 {
		if id < 0 || int(id) >= n {
			return None
		}
		return id
	}
	t.bos, t.eos, t.eot, t.eom = fix(s.bos), fix(s.eos), fix(s.eot), fix(s.eom)
	t.unk, t.sep, t.pad, t.mask = fix(s.unk), fix(s.sep), fix(s.pad), fix(s.mask)
	if t.addBOS && t.bos == None {
		return nil, errors.New("add_bos_token is true, but the vocabulary has no BOS token")
	}
	if t.addEOS && t.eos == None {
		return nil, errors.New("add_eos_token is true, but the vocabulary has no EOS token")
	}
	if t.model == WPM && t.addSep && t.sep == None {
		return nil, errors.New("the WordPiece vocabulary has no separator token")
	}
	t.findEOG()

	// Per-model attributes llama.cpp sets by name (phi-3: special tokens strip the
	// white space after them).
	if name := strings.ToLower(s.name); strings.Contains(name, "phi-3") || strings.Contains(name, "phi3") {
		for id, a := range t.attrs {
			if a&(AttrControl|AttrUserDefined|AttrUnknown) != 0 {
				t.attrs[id] |= AttrRStrip
			}
		}
		for _, w := range []string{"</s>"} {
			if id, ok := t.ids[w]; ok {
				t.attrs[id] |= AttrRStrip
			}
		}
		for _, w := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			if id, ok := t.ids[w]; ok {
				t.attrs[id] &^= AttrRStrip
			}
		}
	}

	for id, a := range t.attrs {
		if a&(AttrControl|AttrUserDefined|AttrUnknown) != 0 {
			t.special = append(t.special, int32(id))
		}
	}
	slices.SortStableFunc(t.special, func(a, b int32) int { return len(t.tokens[b]) - len(t.tokens[a]) })

	t.pieces = make([]string, n)
	for id := range t.pieces {
		t.pieces[id] = t.piece(int32(id))
	}
	return t, nil
}

// findEOG marks the end-of-generation tokens: EOS, EOT, EOM and the end-of-turn
// tokens llama.cpp recognises by their text.
func (t *Tokenizer) findEOG() {
	if t.eot == None {
		for _, w := range []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>"} {
			if id, ok := t.ids[w]; ok {
				t.eot = id
				t.attrs[id] |= AttrControl
				break
			}
		}
	}
	if t.eom == None {
		if id, ok := t.ids["<|eom_id|>"]; ok {
			t.eom = id
			t.attrs[id] |= AttrControl
		}
	}
	add := func(id int32) {
		if id != None && !slices.Contains(t.eog, id) {
			t.eog = append(t.eog, id)
		}
	}
	add(t.eos)
	add(t.eot)
	add(t.eom)
	for _, w := range []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<end_of_turn>", "<|end_of_text|>"} {
		if id, ok := t.ids[w]; ok && t.attrs[id]&AttrControl != 0 {
			add(id)
		}
	}
	slices.Sort(t.eog)
}

// Model reports the tokenization algorithm.
func (t *Tokenizer) Model() Model { return t.model }

// Pre is the byte-level BPE pre-tokenizer name ("" for other models).
func (t *Tokenizer) Pre() string { return t.pre }

// NumTokens is the vocabulary size.
func (t *Tokenizer) NumTokens() int { return len(t.tokens) }

// BOS, EOS, EOT, EOM, UNK, SEP, PAD and Mask are the special token ids, None when absent.
func (t *Tokenizer) BOS() int32  { return t.bos }
func (t *Tokenizer) EOS() int32  { return t.eos }
func (t *Tokenizer) EOT() int32  { return t.eot }
func (t *Tokenizer) EOM() int32  { return t.eom }
func (t *Tokenizer) UNK() int32  { return t.unk }
func (t *Tokenizer) SEP() int32  { return t.sep }
func (t *Tokenizer) PAD() int32  { return t.pad }
func (t *Tokenizer) Mask() int32 { return t.mask }

// AddBOS and AddEOS report whether Encode with addSpecial adds BOS / EOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }
func (t *Tokenizer) AddEOS() bool { return t.addEOS }

// EOG lists the end-of-generation ids (EOS, EOT, EOM and similar), ascending.
func (t *Tokenizer) EOG() []int32 { return slices.Clone(t.eog) }

// IsEOG reports whether id ends generation.
func (t *Tokenizer) IsEOG(id int32) bool {
	_, found := slices.BinarySearch(t.eog, id)
	return found
}

func (t *Tokenizer) valid(id int32) bool { return id >= 0 && int(id) < len(t.tokens) }

// Token is the vocabulary text of id ("" when out of range).
func (t *Tokenizer) Token(id int32) string {
	if !t.valid(id) {
		return ""
	}
	return t.tokens[id]
}

// ID is the id of the token with exactly this vocabulary text.
func (t *Tokenizer) ID(text string) (int32, bool) {
	id, ok := t.ids[text]
	return id, ok
}

// Type is the token type of id (TypeUndefined when out of range).
func (t *Tokenizer) Type(id int32) TokenType {
	if !t.valid(id) {
		return TypeUndefined
	}
	return t.types[id]
}

// Attr is the attribute set of id (AttrUndefined when out of range).
func (t *Tokenizer) Attr(id int32) Attr {
	if !t.valid(id) {
		return AttrUndefined
	}
	return t.attrs[id]
}

// Score is the SentencePiece score of id.
func (t *Tokenizer) Score(id int32) float32 {
	if !t.valid(id) {
		return 0
	}
	return t.scores[id]
}

// IsControl reports whether id is a control token (BOS, EOS, <|im_start|>, ...).
func (t *Tokenizer) IsControl(id int32) bool { return t.Attr(id)&AttrControl != 0 }

// piece is the bytes a token decodes to (control and unknown tokens as their text).
func (t *Tokenizer) piece(id int32) string {
	text, a := t.tokens[id], t.attrs[id]
	if a&(AttrControl|AttrUnknown|AttrUserDefined) != 0 {
		return text
	}
	switch t.model {
	case SPM, WPM:
		if a&AttrNormal != 0 {
			return strings.ReplaceAll(text, "\u2581", " ")
		}
		if a&AttrByte != 0 {
			if b, ok := parseByteToken(text); ok {
				return string([]byte{b})
			}
		}
	case BPE:
		if a&AttrNormal != 0 {
			return decodeByteLevel(text)
		}
		if a&AttrByte != 0 {
			if b, ok := parseByteToken(text); ok {
				return string([]byte{b})
			}
		}
	}
	return ""
}

// parseByteToken reads "<0xNN>".
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || s[:3] != "<0x" || s[5] != '>' {
		return 0, false
	}
	var b byte
	for _, c := range []byte(s[3:5]) {
		switch {
		case c >= '0' && c <= '9':
			b = b<<4 | (c - '0')
		case c >= 'A' && c <= 'F':
			b = b<<4 | (c - 'A' + 10)
		case c >= 'a' && c <= 'f':
			b = b<<4 | (c - 'a' + 10)
		default:
			return 0, false
		}
	}
	return b, true
}

// decodeByteLevel maps GPT-2 byte-level text back to bytes; a code point outside the
// alphabet is written as [UNK_BYTE_0x..] like llama.cpp does.
func decodeByteLevel(text string) string {
	var sb strings.Builder
	for _, r := range text {
		if b, ok := runeToByte[r]; ok {
			sb.WriteByte(b)
			continue
		}
		var buf [4]byte
		n := utf8.EncodeRune(buf[:], r)
		sb.WriteString("[UNK_BYTE_0x")
		for _, c := range buf[:n] {
			fmt.Fprintf(&sb, "%02x", c)
		}
		sb.WriteString(text)
		sb.WriteString("]")
	}
	return sb.String()
}
