package tokenizer

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxFileSize bounds what a tokenizer file may decompress to.
const maxFileSize = 1 << 30

// maxVocab bounds the ids a tokenizer file may use.
const maxVocab = 1 << 24

// readMaybeGzip reads a file, gunzipping it when it starts with the gzip magic.
func readMaybeGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, 2)
	n, _ := io.ReadFull(f, head)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var r io.Reader = f
	if n == 2 && head[0] == 0x1f && head[1] == 0x8b {
		z, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer z.Close()
		r = z
	}
	b, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFileSize)
	}
	return b, nil
}

// firstExisting returns the first of names (each also tried with .gz) in dir.
func firstExisting(dir string, names ...string) string {
	for _, n := range names {
		for _, c := range []string{n, n + ".gz"} {
			p := filepath.Join(dir, c)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p
			}
		}
	}
	return ""
}

// LoadFile loads a tokenizer from files people have: a Hugging Face tokenizer.json,
// or GPT-2's encoder.json + vocab.bpe (either may be named; the other is looked
// for beside it, also as vocab.json / merges.txt), each possibly gzip-compressed;
// or a folder holding them. pre names the byte-level pre-tokenizer when the files
// do not ("" = from the files; GPT-2 files default to "gpt-2").
func LoadFile(path, pre string) (*Tokenizer, error) {
	t, err := loadFile(path, pre)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return t, nil
}

func loadFile(path, pre string) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	dir, base := filepath.Dir(path), strings.TrimSuffix(filepath.Base(path), ".gz")
	if st.IsDir() {
		dir = path
		if p := firstExisting(dir, "tokenizer.json"); p != "" {
			return loadHF(p, pre)
		}
		enc := firstExisting(dir, "encoder.json", "vocab.json")
		if enc == "" {
			return nil, fmt.Errorf("%s: no tokenizer.json, encoder.json or vocab.json in the folder", path)
		}
		return loadGPT2(enc, dir, pre)
	}
	switch {
	case base == "vocab.bpe" || base == "merges.txt" || strings.HasSuffix(base, ".bpe"):
		enc := firstExisting(dir, "encoder.json", "vocab.json")
		if enc == "" {
			return nil, fmt.Errorf("%s: no encoder.json or vocab.json beside it", path)
		}
		return loadGPT2Pair(enc, path, pre)
	case base == "encoder.json" || base == "vocab.json":
		return loadGPT2(path, dir, pre)
	}
	data, err := readMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	if isHFJSON(data) {
		return fromHF(data, pre, readConfig(dir))
	}
	return nil, fmt.Errorf("%s: not a tokenizer.json, encoder.json or vocab.bpe", path)
}

func loadHF(path, pre string) (*Tokenizer, error) {
	data, err := readMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	t, err := fromHF(data, pre, readConfig(filepath.Dir(path)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func loadGPT2(encPath, dir, pre string) (*Tokenizer, error) {
	bpe := firstExisting(dir, "vocab.bpe", "merges.txt")
	if bpe == "" {
		return nil, fmt.Errorf("%s: no vocab.bpe or merges.txt beside it", encPath)
	}
	return loadGPT2Pair(encPath, bpe, pre)
}

func loadGPT2Pair(encPath, bpePath, pre string) (*Tokenizer, error) {
	enc, err := readMaybeGzip(encPath)
	if err != nil {
		return nil, err
	}
	merges, err := readMaybeGzip(bpePath)
	if err != nil {
		return nil, err
	}
	t, err := FromGPT2(enc, merges, pre)
	if err != nil {
		return nil, fmt.Errorf("%s + %s: %w", encPath, bpePath, err)
	}
	return t, nil
}

func isHFJSON(data []byte) bool {
	var probe struct {
		Model json.RawMessage `json:"model"`
	}
	return json.Unmarshal(data, &probe) == nil && len(probe.Model) > 0
}

// tokensFromIDs lays a token -> id map out as an id-indexed list; ids must be in
// range and unique, and holes become unused "[PAD<id>]" tokens.
func tokensFromIDs(vocab map[string]int64, added []hfAdded) ([]string, []TokenType, error) {
	n := int64(0)
	for w, id := range vocab {
		if id < 0 || id >= maxVocab {
			return nil, nil, fmt.Errorf("token %q has id %d, out of range", w, id)
		}
		n = max(n, id+1)
	}
	for _, a := range added {
		if a.ID < 0 || a.ID >= maxVocab {
			return nil, nil, fmt.Errorf("added token %q has id %d, out of range", a.Content, a.ID)
		}
		n = max(n, a.ID+1)
	}
	if n == 0 {
		return nil, nil, errors.New("the vocabulary is empty")
	}
	tokens := make([]string, n)
	types := make([]TokenType, n)
	set := make([]bool, n)
	for w, id := range vocab {
		if set[id] {
			return nil, nil, fmt.Errorf("tokens %q and %q share id %d", tokens[id], w, id)
		}
		tokens[id], types[id], set[id] = w, TypeNormal, true
	}
	for _, a := range added {
		if set[a.ID] && tokens[a.ID] != a.Content {
			return nil, nil, fmt.Errorf("added token %q has the id %d of %q", a.Content, a.ID, tokens[a.ID])
		}
		tokens[a.ID], set[a.ID] = a.Content, true
		types[a.ID] = TypeUserDefined
		if a.Special {
			types[a.ID] = TypeControl
		}
	}
	for i := range tokens {
		if !set[i] {
			tokens[i], types[i] = fmt.Sprintf("[PAD%d]", i), TypeUnused
		}
	}
	return tokens, types, nil
}

// FromGPT2 builds a byte-level BPE tokenizer from GPT-2's encoder.json (token -> id)
// and vocab.bpe (merges, one "left right" per line, after a "#version" line).
// pre names the pre-tokenizer; "" means "gpt-2".
func FromGPT2(encoderJSON, vocabBPE []byte, pre string) (*Tokenizer, error) {
	var vocab map[string]int64
	if err := json.Unmarshal(encoderJSON, &vocab); err != nil {
		return nil, fmt.Errorf("encoder.json: %w", err)
	}
	tokens, types, err := tokensFromIDs(vocab, nil)
	if err != nil {
		return nil, fmt.Errorf("encoder.json: %w", err)
	}
	for i, w := range tokens {
		if strings.HasPrefix(w, "<|") && strings.HasSuffix(w, "|>") && len(w) > 4 {
			types[i] = TypeControl
		}
	}
	var merges [][2]string
	for _, line := range strings.Split(string(vocabBPE), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || strings.HasPrefix(line, "#version") {
			continue
		}
		merges = append(merges, splitMerge(line))
	}
	if pre == "" {
		pre = "gpt-2"
	}
	s := newSpec(BPE)
	s.pre, s.tokens, s.types, s.merges = pre, tokens, types, merges
	s.bos, s.eos = None, None
	ids := idsOf(tokens)
	s.bos = firstID(ids, "<|begin_of_text|>", "<|endoftext|>", "<s>")
	s.eos = firstID(ids, "<|end_of_text|>", "<|endoftext|>", "</s>")
	if s.bos == None {
		f := false
		s.addBOS = &f
	}
	return build(s)
}

func idsOf(tokens []string) map[string]int32 {
	m := make(map[string]int32, len(tokens))
	for i, w := range tokens {
		m[w] = int32(i)
	}
	return m
}

func firstID(ids map[string]int32, names ...string) int32 {
	for _, n := range names {
		if id, ok := ids[n]; ok {
			return id
		}
	}
	return None
}

type hfAdded struct {
	ID      int64  `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
	LStrip  bool   `json:"lstrip"`
	RStrip  bool   `json:"rstrip"`
}

type hfFile struct {
	AddedTokens  []hfAdded     `json:"added_tokens"`
	Normalizer   *hfNormalizer `json:"normalizer"`
	PreTokenizer *hfPreTok     `json:"pre_tokenizer"`
	Model        hfModel       `json:"model"`
}

type hfNormalizer struct {
	Type         string         `json:"type"`
	Lowercase    *bool          `json:"lowercase"`
	StripAccents *bool          `json:"strip_accents"`
	Normalizers  []hfNormalizer `json:"normalizers"`
}

type hfPreTok struct {
	Type          string                           `json:"type"`
	Pattern       *struct{ Regex, String *string } `json:"pattern"`
	UseRegex      *bool                            `json:"use_regex"`
	Pretokenizers []hfPreTok                       `json:"pretokenizers"`
}

type hfModel struct {
	Type         string            `json:"type"`
	Vocab        json.RawMessage   `json:"vocab"`
	Merges       []json.RawMessage `json:"merges"`
	UnkToken     *string           `json:"unk_token"`
	Prefix       *string           `json:"continuing_subword_prefix"`
	ByteFallback bool              `json:"byte_fallback"`
}

// hfConfig is what tokenizer_config.json adds: which tokens BOS/EOS are and
// whether they are added.
type hfConfig struct {
	BOS, EOS, UNK, PAD *string
	AddBOS, AddEOS     *bool
}

func readConfig(dir string) *hfConfig {
	p := firstExisting(dir, "tokenizer_config.json")
	if p == "" {
		return nil
	}
	data, err := readMaybeGzip(p)
	if err != nil {
		return nil
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(data, &raw) != nil {
		return nil
	}
	tokenOf := func(k string) *string {
		v, ok := raw[k]
		if !ok {
			return nil
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			return &s
		}
		var o struct{ Content *string }
		if json.Unmarshal(v, &o) == nil {
			return o.Content
		}
		return nil
	}
	boolOf := func(k string) *bool {
		var b bool
		if v, ok := raw[k]; ok && json.Unmarshal(v, &b) == nil {
			return &b
		}
		return nil
	}
	return &hfConfig{BOS: tokenOf("bos_token"), EOS: tokenOf("eos_token"), UNK: tokenOf("unk_token"), PAD: tokenOf("pad_token"),
		AddBOS: boolOf("add_bos_token"), AddEOS: boolOf("add_eos_token")}
}

// Known Split patterns of byte-level BPE tokenizer.json files and the
// tokenizer.ggml.pre names they correspond to.
var hfSplitPatterns = map[string]string{
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`: "llama3",
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`:      "qwen2",
}

// detectPre names the pre-tokenizer a tokenizer.json describes, or "".
func detectPre(p *hfPreTok) string {
	if p == nil {
		return ""
	}
	switch p.Type {
	case "ByteLevel":
		if p.UseRegex == nil || *p.UseRegex {
			return "gpt-2"
		}
	case "Sequence":
		if len(p.Pretokenizers) == 2 && p.Pretokenizers[0].Type == "Split" && p.Pretokenizers[1].Type == "ByteLevel" &&
			p.Pretokenizers[0].Pattern != nil && p.Pretokenizers[0].Pattern.Regex != nil &&
			(p.Pretokenizers[1].UseRegex != nil && !*p.Pretokenizers[1].UseRegex) {
			return hfSplitPatterns[*p.Pretokenizers[0].Pattern.Regex]
		}
		if len(p.Pretokenizers) == 1 {
			return detectPre(&p.Pretokenizers[0])
		}
	}
	return ""
}

func findBert(n *hfNormalizer) *hfNormalizer {
	if n == nil {
		return nil
	}
	if n.Type == "BertNormalizer" {
		return n
	}
	for i := range n.Normalizers {
		if b := findBert(&n.Normalizers[i]); b != nil {
			return b
		}
	}
	return nil
}

// FromHFJSON builds a tokenizer from a Hugging Face tokenizer.json (BPE or
// WordPiece models). pre names the pre-tokenizer of a BPE model when the file's
// own cannot be recognised.
func FromHFJSON(data []byte, pre string) (*Tokenizer, error) { return fromHF(data, pre, nil) }

func fromHF(data []byte, pre string, cfg *hfConfig) (*Tokenizer, error) {
	var f hfFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	var vocab map[string]int64
	if err := json.Unmarshal(f.Model.Vocab, &vocab); err != nil {
		return nil, fmt.Errorf("tokenizer.json: model.vocab: %w", err)
	}
	tokens, types, err := tokensFromIDs(vocab, f.AddedTokens)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	var s vocabSpec
	switch f.Model.Type {
	case "BPE":
		s = newSpec(BPE)
		if f.Model.ByteFallback {
			return nil, errors.New("tokenizer.json: BPE with byte fallback (SentencePiece-style BPE) is not supported")
		}
		if pre == "" {
			pre = detectPre(f.PreTokenizer)
			if pre == "" {
				return nil, errors.New("tokenizer.json: its pre-tokenizer is not one golem recognises: name it (--pre)")
			}
		}
		s.pre = pre
		s.merges = make([][2]string, len(f.Model.Merges))
		for i, raw := range f.Model.Merges {
			var line string
			if json.Unmarshal(raw, &line) == nil {
				s.merges[i] = splitMerge(line)
				continue
			}
			var pair []string
			if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
				return nil, fmt.Errorf("tokenizer.json: merge %d is neither \"a b\" nor [a, b]", i)
			}
			s.merges[i] = [2]string{pair[0], pair[1]}
		}
		ids := idsOf(tokens)
		s.bos = firstID(ids, "<|begin_of_text|>", "<s>", "<|endoftext|>")
		s.eos = firstID(ids, "<|end_of_text|>", "</s>", "<|endoftext|>", "<|im_end|>")
		if cfg != nil {
			if cfg.BOS != nil {
				s.bos = firstID(ids, *cfg.BOS)
			}
			if cfg.EOS != nil {
				s.eos = firstID(ids, *cfg.EOS)
			}
			s.addBOS, s.addEOS = cfg.AddBOS, cfg.AddEOS
		}
		if s.bos == None {
			f := false
			s.addBOS = &f
		}
	case "WordPiece":
		s = newSpec(WPM)
		prefix := "##"
		if f.Model.Prefix != nil {
			prefix = *f.Model.Prefix
		}
		// Into GGUF's form: word starts get "▁", continuations lose their prefix.
		for i, w := range tokens {
			if types[i] == TypeControl {
				continue
			}
			if prefix != "" && strings.HasPrefix(w, prefix) {
				tokens[i] = w[len(prefix):]
			} else {
				tokens[i] = "\u2581" + w
			}
		}
		ids := idsOf(tokens)
		s.bos = firstID(ids, "[CLS]")
		s.sep = firstID(ids, "[SEP]")
		s.pad = firstID(ids, "[PAD]")
		s.mask = firstID(ids, "[MASK]")
		s.unk = None
		if f.Model.UnkToken != nil {
			s.unk = firstID(ids, *f.Model.UnkToken)
		}
		lower, strip := false, false
		if b := findBert(f.Normalizer); b != nil {
			lower = b.Lowercase == nil || *b.Lowercase
			strip = lower
			if b.StripAccents != nil {
				strip = *b.StripAccents
			}
		}
		s.lowercase, s.stripAccents = &lower, &strip
	default:
		return nil, fmt.Errorf("tokenizer.json: model type %q is not supported (supported: BPE, WordPiece)", f.Model.Type)
	}
	s.tokens, s.types = tokens, types
	t, err := build(s)
	if err != nil {
		return nil, err
	}
	for _, a := range f.AddedTokens {
		id := int32(a.ID)
		if a.LStrip {
			t.attrs[id] |= AttrLStrip
		}
		if a.RStrip {
			t.attrs[id] |= AttrRStrip
		}
	}
	return t, nil
}
