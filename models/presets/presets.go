// Package presets holds named model configurations with the real hyper-parameters of
// published models (TinyLlama, Llama 2/3, Mistral, Mixtral, Qwen2, Gemma, Phi, GPT-2,
// GPT-J, GPT-NeoX, Falcon, BLOOM, StarCoder, Mamba, BERT). A preset knows the GGUF
// metadata llama.cpp's converter writes for its architecture, its tensors with
// llama.cpp's names and dimensions, a synthetic vocabulary of the right size and kind,
// its parameter count and memory needs, and can write a GGUF file of its exact shape
// with seeded random weights (golem gen) for benchmarks: speed does not depend on the
// weights' values.
package presets

import (
	"fmt"
	"slices"
	"strings"

	"github.com/golem-llm/golem/gguf"
)

// Config is a preset's hyper-parameters, named after the GGUF keys they become.
// Zero means "not applicable"; which keys a file gets is decided by the architecture,
// as llama.cpp's converter decides it.
type Config struct {
	ContextLength     int
	EmbeddingLength   int
	BlockCount        int
	FeedForwardLength int
	HeadCount         int
	HeadCountKV       int // 0: same as HeadCount
	HeadDim           int // attention.key_length/value_length; 0: EmbeddingLength/HeadCount
	RopeDims          int // rope.dimension_count; 0: the whole head (where the architecture has RoPE)
	RopeFreqBase      float32
	NormEpsilon       float32 // layer_norm_rms_epsilon or layer_norm_epsilon, by architecture
	ExpertCount       int
	ExpertUsedCount   int
	SlidingWindow     int
	OrigContextLength int     // rope.scaling.original_context_length (phi3)
	PoolingType       int     // bert: 1 mean, 2 cls
	AttnSoftCap       float32 // attn_logit_softcapping (gemma2)
	FinalSoftCap      float32 // final_logit_softcapping (gemma2)
	// TiedOutput is set when the model has no output.weight: the output projection
	// reuses token_embd.weight.
	TiedOutput bool

	// Mamba.
	SSMConvKernel   int
	SSMInnerSize    int
	SSMStateSize    int
	SSMTimeStepRank int
}

// Preset is a named model configuration.
type Preset struct {
	Name   string // golem's name: "tinyllama-1.1b"
	Model  string // the published model the numbers come from (a Hugging Face repository)
	Arch   string // general.architecture
	Config Config
	Vocab  Vocab
}

// Tensor is one tensor of a preset: its llama.cpp name and GGUF dimensions (ggml
// order: Dims[0] is the row length).
type Tensor struct {
	Name string
	Dims []uint64
}

// Elements is the number of values in the tensor.
func (t Tensor) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// All returns every preset, in catalogue order.
func All() []Preset {
	out := make([]Preset, len(catalog))
	for i, p := range catalog {
		out[i] = p.clone()
	}
	return out
}

// Names lists the presets' names, in catalogue order.
func Names() []string {
	names := make([]string, len(catalog))
	for i, p := range catalog {
		names[i] = p.Name
	}
	return names
}

// Lookup returns the preset called name (case-insensitive); an unknown name is an error
// that lists the known ones.
func Lookup(name string) (Preset, error) {
	for _, p := range catalog {
		if strings.EqualFold(p.Name, name) {
			return p.clone(), nil
		}
	}
	return Preset{}, fmt.Errorf("unknown preset %q (known: %s)", name, strings.Join(Names(), ", "))
}

func (p Preset) clone() Preset {
	p.Vocab.Specials = slices.Clone(p.Vocab.Specials)
	p.Vocab.Extra = slices.Clone(p.Vocab.Extra)
	return p
}

// headCountKV is HeadCountKV with its default.
func (c Config) headCountKV() int {
	if c.HeadCountKV > 0 {
		return c.HeadCountKV
	}
	return c.HeadCount
}

// headDim is the size of one attention head.
func (c Config) headDim() int {
	if c.HeadDim > 0 {
		return c.HeadDim
	}
	if c.HeadCount == 0 {
		return 0
	}
	return c.EmbeddingLength / c.HeadCount
}

// WithLayers returns the preset with n blocks instead of its own number (a cheaper file
// of the same widths); n must be at least 1.
func (p Preset) WithLayers(n int) (Preset, error) {
	if n < 1 {
		return Preset{}, fmt.Errorf("layers must be at least 1, have %d", n)
	}
	q := p.clone()
	q.Config.BlockCount = n
	return q, nil
}

// Miniature returns a small model of the same architecture: the same metadata keys,
// tensor names, vocabulary kind and structure (GQA ratio, tied output, experts, partial
// rotary, ...), but two blocks, 256-wide embeddings, a vocabulary of about 512 tokens
// and a short context, so that a file of it takes a few MB. Tests and smoke runs use it.
func (p Preset) Miniature() Preset {
	q := p.clone()
	c := &q.Config
	old := p.Config
	q.Name = p.Name + "-mini"
	c.BlockCount = 2
	c.ContextLength = min(old.ContextLength, 256)
	if old.SlidingWindow > 0 {
		c.SlidingWindow = min(old.SlidingWindow, 128)
	}
	if old.OrigContextLength > 0 {
		c.OrigContextLength = c.ContextLength
	}
	c.EmbeddingLength = 256
	if old.FeedForwardLength == 4*old.EmbeddingLength {
		c.FeedForwardLength = 4 * c.EmbeddingLength
	} else if old.FeedForwardLength > 0 {
		c.FeedForwardLength = 2 * c.EmbeddingLength
	}
	if old.HeadCount > 0 {
		kv := old.headCountKV()
		switch {
		case kv == old.HeadCount:
			c.HeadCount, c.HeadCountKV = 4, 4
		case kv == 1:
			c.HeadCount, c.HeadCountKV = 4, 1
		default:
			c.HeadCount, c.HeadCountKV = 4, 2
		}
		if old.HeadCountKV == 0 {
			c.HeadCountKV = 0
		}
		if old.HeadDim > 0 {
			c.HeadDim = 64
		}
		if old.RopeDims > 0 {
			// Keep the rotated fraction of the head (partial rotary), rounded to pairs.
			c.RopeDims = max(2, c.headDim()*old.RopeDims/old.headDim()/2*2)
		}
	}
	if old.ExpertCount > 0 {
		c.ExpertCount = min(old.ExpertCount, 4)
		c.ExpertUsedCount = min(old.ExpertUsedCount, 2)
	}
	if old.SSMInnerSize > 0 {
		c.SSMInnerSize = 2 * c.EmbeddingLength
		c.SSMStateSize = old.SSMStateSize
		c.SSMConvKernel = old.SSMConvKernel
		c.SSMTimeStepRank = 32 // a whole number of 32-element blocks, so every type fits
	}
	q.Vocab = p.Vocab.miniature()
	return q
}

// family is how an architecture lays out its metadata and tensors.
type family struct {
	keys    func(p *Preset) []gguf.KV
	tensors func(p *Preset) []Tensor
}

func (p *Preset) family() (family, error) {
	f, ok := families[p.Arch]
	if !ok {
		return family{}, fmt.Errorf("preset %s: architecture %q has no layout", p.Name, p.Arch)
	}
	return f, nil
}

// Tensors lists the preset's tensors in llama.cpp's names and GGUF dimensions, in the
// order the converter emits them (token embeddings, then blocks, then the output).
func (p Preset) Tensors() []Tensor {
	f, err := p.family()
	if err != nil {
		return nil
	}
	return f.tensors(&p)
}

// Params is the number of parameters: the elements of every tensor in the file.
func (p Preset) Params() uint64 {
	var n uint64
	for _, t := range p.Tensors() {
		n += t.Elements()
	}
	return n
}

// ArchKeys are the architecture's hyper-parameter keys, as llama.cpp's converter
// writes them for this model (without general.* and tokenizer.* keys).
func (p Preset) ArchKeys() []gguf.KV {
	f, err := p.family()
	if err != nil {
		return nil
	}
	return f.keys(&p)
}

// SourceMetadata is the metadata of the preset's file as the converter writes it
// (general.*, the architecture's keys, the tokenizer, the quantization version), before
// quantization: what an F32 conversion of the model holds. Metadata derives the
// quantized file's from it.
func (p Preset) SourceMetadata() (gguf.Metadata, error) {
	if _, err := p.family(); err != nil {
		return gguf.Metadata{}, err
	}
	kvs := []gguf.KV{
		kv("general.architecture", p.Arch),
		kv("general.type", "model"),
		kv("general.name", p.Name),
	}
	kvs = append(kvs, p.ArchKeys()...)
	voc, err := p.Vocab.keys()
	if err != nil {
		return gguf.Metadata{}, fmt.Errorf("preset %s: %w", p.Name, err)
	}
	kvs = append(kvs, voc...)
	kvs = append(kvs, kv("general.quantization_version", uint32(2)), kv("general.file_type", uint32(gguf.FileTypeAllF32)))
	m, err := gguf.NewMetadata(kvs)
	if err != nil {
		return gguf.Metadata{}, fmt.Errorf("preset %s: %w", p.Name, err)
	}
	return m, nil
}

// kv builds a metadata entry from a Go value of a GGUF type; the presets only use
// such values, so a failure is a programming error caught by the tests.
func kv(key string, v any) gguf.KV { return gguf.KV{Key: key, Value: gguf.MustValue(v)} }
