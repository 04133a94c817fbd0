package presets

import (
	"fmt"
	"slices"

	"github.com/golem-llm/golem/gguf"
)

// Vocab describes the synthetic vocabulary a generated file carries: the real model's
// kind and size, so that embeddings and output have the real shape and the tokenizer
// loads, but made-up pieces (a random-weight model has nothing to say anyway).
//
// Layout by model:
//   - "llama" (SentencePiece): <unk> <s> </s>, the 256 byte tokens <0x00>..<0xFF>,
//     then pieces ("▁a", "ab", ...) with falling scores;
//   - "gpt2" (byte-level BPE): the 256 byte symbols in byte order, then tokens made by
//     merges ("Ġ a" -> "Ġa", "Ġa b" -> "Ġab", ...), one merge per token;
//   - "bert" (WordPiece, phantom-space form as the converter writes it): [PAD],
//     [unused0..98], [UNK] [CLS] [SEP] [MASK], then word starts "▁ab" and continuations.
//
// After the regular tokens come Specials (control tokens), then "[PAD<id>]" tokens of
// type UNUSED up to Size, as the converter pads a vocabulary smaller than vocab_size.
type Vocab struct {
	Model    string // tokenizer.ggml.model: "llama", "gpt2" or "bert"
	Pre      string // tokenizer.ggml.pre
	Size     int    // number of tokens (the embedding rows)
	Regular  int    // regular tokens before the specials; 0: Size - len(Specials)
	Specials []string
	BOS, EOS string    // the texts of the BOS and EOS tokens; "" for none
	Extra    []gguf.KV // further tokenizer keys (add_bos_token, add_space_prefix, ...)
}

// Token types as GGUF stores them.
const (
	typeNormal  int32 = 1
	typeUnknown int32 = 2
	typeControl int32 = 3
	typeUnused  int32 = 5
	typeByte    int32 = 6
)

func spmVocab(size int) Vocab {
	return Vocab{Model: "llama", Pre: "default", Size: size, BOS: "<s>", EOS: "</s>"}
}

func gpt2Vocab(size int, pre string) Vocab {
	return Vocab{Model: "gpt2", Pre: pre, Size: size, Regular: 50256,
		Specials: []string{"<|endoftext|>"}, BOS: "<|endoftext|>", EOS: "<|endoftext|>"}
}

// neoxVocab is the GPT-NeoX-20B tokenizer's shape (Pythia, Mamba): 50277 tokens, padded
// to the model's vocab_size. llama.cpp names its pre-tokenizer "mpt" (MPT uses it too).
func neoxVocab(size int) Vocab {
	return Vocab{Model: "gpt2", Pre: "mpt", Size: size, Regular: 50275,
		Specials: []string{"<|endoftext|>", "<|padding|>"}, BOS: "<|endoftext|>", EOS: "<|endoftext|>"}
}

func llama3Vocab() Vocab {
	specials := []string{"<|begin_of_text|>", "<|end_of_text|>"}
	for i := range 4 {
		specials = append(specials, fmt.Sprintf("<|reserved_special_token_%d|>", i))
	}
	specials = append(specials, "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_4|>", "<|eot_id|>")
	for i := 5; len(specials) < 256; i++ {
		specials = append(specials, fmt.Sprintf("<|reserved_special_token_%d|>", i))
	}
	return Vocab{Model: "gpt2", Pre: "llama-bpe", Size: 128256, Specials: specials,
		BOS: "<|begin_of_text|>", EOS: "<|end_of_text|>"}
}

func qwen2Vocab(size int) Vocab {
	return Vocab{Model: "gpt2", Pre: "qwen2", Size: size, Regular: 151643,
		Specials: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"},
		BOS:      "<|endoftext|>", EOS: "<|endoftext|>",
		Extra: []gguf.KV{kv("tokenizer.ggml.add_bos_token", false)}}
}

// phi3Vocab: Llama 2's 32000 SentencePiece tokens, then Phi-3's added tokens at
// 32000..32010, then padding to 32064.
func phi3Vocab() Vocab {
	return Vocab{Model: "llama", Pre: "default", Size: 32064, Regular: 32000,
		Specials: []string{"<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>",
			"<|placeholder3|>", "<|placeholder4|>", "<|system|>", "<|end|>", "<|placeholder5|>",
			"<|placeholder6|>", "<|user|>"},
		BOS: "<s>", EOS: "<|endoftext|>"}
}

func falconVocab() Vocab {
	return Vocab{Model: "gpt2", Pre: "falcon", Size: 65024, Specials: []string{"<|endoftext|>"},
		BOS: "<|endoftext|>", EOS: "<|endoftext|>"}
}

// bloomVocab: 250680 tokens padded to 250880. llama.cpp's pre-tokenizer is "bloom",
// which golem's tokenizer does not have yet: "default" keeps the file loadable.
func bloomVocab() Vocab {
	return Vocab{Model: "gpt2", Pre: "default", Size: 250880, Regular: 250676,
		Specials: []string{"<unk>", "<s>", "</s>", "<pad>"}, BOS: "<s>", EOS: "</s>"}
}

func starcoderVocab() Vocab {
	return Vocab{Model: "gpt2", Pre: "starcoder", Size: 49152, Specials: []string{
		"<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<filename>",
		"<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>", "<jupyter_start>",
		"<jupyter_text>", "<jupyter_code>", "<jupyter_output>", "<empty_output>", "<commit_before>",
		"<commit_msg>", "<commit_after>", "<reponame>"},
		BOS: "<|endoftext|>", EOS: "<|endoftext|>"}
}

func bertVocab(size int) Vocab {
	return Vocab{Model: "bert", Pre: "default", Size: size}
}

func withExtra(v Vocab, extra ...gguf.KV) Vocab {
	v.Extra = append(slices.Clone(v.Extra), extra...)
	return v
}

// fixedTokens is how many tokens of the model's layout come before the generated ones.
func (v Vocab) fixedTokens() int {
	switch v.Model {
	case "llama":
		return 3 + 256
	case "gpt2":
		return 256
	case "bert":
		return 104
	}
	return 0
}

func (v Vocab) regular() int {
	if v.Regular > 0 {
		return v.Regular
	}
	return v.Size - len(v.Specials)
}

// miniature shrinks the vocabulary to about 512 tokens, keeping its kind and specials.
func (v Vocab) miniature() Vocab {
	m := v
	m.Specials = slices.Clone(v.Specials)
	m.Extra = slices.Clone(v.Extra)
	m.Size = max(512, v.fixedTokens()+len(v.Specials)+64)
	m.Regular = m.Size - len(m.Specials)
	return m
}

// tokens builds the token texts, scores (nil when the model has none) and types.
func (v Vocab) tokens() ([]string, []float32, []int32, error) {
	regular := v.regular()
	if regular < v.fixedTokens() || regular+len(v.Specials) > v.Size {
		return nil, nil, nil, fmt.Errorf("vocabulary of %d tokens cannot hold %d regular and %d special tokens",
			v.Size, regular, len(v.Specials))
	}
	toks := make([]string, 0, v.Size)
	types := make([]int32, 0, v.Size)
	var scores []float32
	switch v.Model {
	case "llama":
		scores = make([]float32, 0, v.Size)
		toks = append(toks, "<unk>", "<s>", "</s>")
		types = append(types, typeUnknown, typeControl, typeControl)
		scores = append(scores, 0, 0, 0)
		for b := range 256 {
			toks = append(toks, fmt.Sprintf("<0x%02X>", b))
			types = append(types, typeByte)
			scores = append(scores, 0)
		}
		words := newWords()
		for len(toks) < regular {
			w := words.next()
			for _, piece := range []string{"▁" + w, w} {
				if len(toks) < regular {
					toks = append(toks, piece)
					types = append(types, typeNormal)
					scores = append(scores, -float32(len(toks)))
				}
			}
		}
	case "gpt2":
		for b := range 256 {
			toks = append(toks, byteSymbol[b])
			types = append(types, typeNormal)
		}
		// The rest come from merges: see merges.
		for _, m := range bpeMerges(regular - 256) {
			toks = append(toks, m[0]+m[1])
			types = append(types, typeNormal)
		}
	case "bert":
		toks = append(toks, "[PAD]")
		for i := range 99 {
			toks = append(toks, fmt.Sprintf("[unused%d]", i))
		}
		toks = append(toks, "[UNK]", "[CLS]", "[SEP]", "[MASK]")
		for i := range toks {
			types = append(types, typeNormal)
			if i == 0 || i >= 100 {
				types[i] = typeControl
			}
		}
		words := newWords()
		for len(toks) < regular {
			w := words.next()
			for _, piece := range []string{"▁" + w, w} {
				if len(toks) < regular {
					toks = append(toks, piece)
					types = append(types, typeNormal)
				}
			}
		}
	default:
		return nil, nil, nil, fmt.Errorf("tokenizer model %q has no synthetic vocabulary", v.Model)
	}
	for _, s := range v.Specials {
		toks = append(toks, s)
		types = append(types, typeControl)
		if scores != nil {
			scores = append(scores, 0)
		}
	}
	for len(toks) < v.Size {
		toks = append(toks, fmt.Sprintf("[PAD%d]", len(toks)))
		types = append(types, typeUnused)
		if scores != nil {
			scores = append(scores, -1000)
		}
	}
	return toks, scores, types, nil
}

// keys is the tokenizer.ggml.* metadata of the vocabulary.
func (v Vocab) keys() ([]gguf.KV, error) {
	toks, scores, types, err := v.tokens()
	if err != nil {
		return nil, err
	}
	id := func(text string) (uint32, error) {
		i := slices.Index(toks, text)
		if i < 0 {
			return 0, fmt.Errorf("vocabulary has no token %q", text)
		}
		return uint32(i), nil
	}
	kvs := []gguf.KV{kv("tokenizer.ggml.model", v.Model), kv("tokenizer.ggml.pre", v.Pre), kv("tokenizer.ggml.tokens", toks)}
	if scores != nil {
		kvs = append(kvs, kv("tokenizer.ggml.scores", scores))
	}
	kvs = append(kvs, kv("tokenizer.ggml.token_type", types))
	switch v.Model {
	case "gpt2":
		merges := bpeMerges(v.regular() - 256)
		lines := make([]string, len(merges))
		for i, m := range merges {
			lines[i] = m[0] + " " + m[1]
		}
		kvs = append(kvs, kv("tokenizer.ggml.merges", lines))
	case "bert":
		kvs = append(kvs,
			kv("tokenizer.ggml.token_type_count", uint32(2)),
			kv("tokenizer.ggml.bos_token_id", uint32(101)),
			kv("tokenizer.ggml.seperator_token_id", uint32(102)),
			kv("tokenizer.ggml.unknown_token_id", uint32(100)),
			kv("tokenizer.ggml.padding_token_id", uint32(0)),
			kv("tokenizer.ggml.mask_token_id", uint32(103)),
			kv("tokenizer.ggml.add_bos_token", true))
	}
	for _, s := range []struct{ key, text string }{
		{"tokenizer.ggml.bos_token_id", v.BOS},
		{"tokenizer.ggml.eos_token_id", v.EOS},
	} {
		if s.text == "" {
			continue
		}
		i, err := id(s.text)
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, kv(s.key, i))
	}
	if v.Model == "llama" {
		kvs = append(kvs,
			kv("tokenizer.ggml.unknown_token_id", uint32(0)),
			kv("tokenizer.ggml.add_bos_token", true),
			kv("tokenizer.ggml.add_eos_token", false))
	}
	for _, e := range v.Extra {
		if i := slices.IndexFunc(kvs, func(x gguf.KV) bool { return x.Key == e.Key }); i >= 0 {
			kvs[i] = e
		} else {
			kvs = append(kvs, e)
		}
	}
	return kvs, nil
}

// words enumerates lower-case strings: a..z, aa..zz, aaa..., breadth first.
type words struct{ cur []byte }

func newWords() *words { return &words{} }

func (w *words) next() string {
	// Increment cur as a base-26 number whose length grows when it overflows.
	i := len(w.cur) - 1
	for ; i >= 0; i-- {
		if w.cur[i] < 'z' {
			w.cur[i]++
			break
		}
		w.cur[i] = 'a'
	}
	if i < 0 {
		w.cur = append([]byte{'a'}, w.cur...)
	}
	return string(w.cur)
}

// bpeMerges returns n merges, breadth first from the symbols "Ġ" and a..z: each joins
// an earlier token and a letter into a new token, so every merge's result is a token.
func bpeMerges(n int) [][2]string {
	if n <= 0 {
		return nil
	}
	space := byteSymbol[' ']
	queue := []string{space}
	for c := byte('a'); c <= 'z'; c++ {
		queue = append(queue, string(c))
	}
	out := make([][2]string, 0, n)
	for head := 0; len(out) < n; head++ {
		p := queue[head]
		for c := byte('a'); c <= 'z' && len(out) < n; c++ {
			out = append(out, [2]string{p, string(c)})
			queue = append(queue, p+string(c))
		}
	}
	return out
}

// byteSymbol is GPT-2's bytes_to_unicode: printable bytes stand for themselves, the
// others map to code points from 256 up, in byte order.
var byteSymbol = func() [256]string {
	var s [256]string
	n := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			s[b] = string(rune(b))
		} else {
			s[b] = string(rune(256 + n))
			n++
		}
	}
	return s
}()
