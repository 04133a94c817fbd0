package presets

import (
	"fmt"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// Plan is the type of every tensor of the preset's file at file type ft, in file order,
// decided by golem quantize's rules (llama-quantize's) applied to an F32 conversion of
// the model: exactly what `golem quantize` would write.
func (p Preset) Plan(ft gguf.FileType) ([]quant.TensorPlan, error) {
	meta, err := p.SourceMetadata()
	if err != nil {
		return nil, err
	}
	ts := p.Tensors()
	infos := make([]gguf.TensorInfo, len(ts))
	for i, t := range ts {
		infos[i] = gguf.TensorInfo{Name: t.Name, Type: gguf.TypeF32, Dims: t.Dims}
	}
	plans, err := quant.Plan(meta, infos, ft)
	if err != nil {
		return nil, fmt.Errorf("preset %s at %s: %w", p.Name, ft, err)
	}
	return plans, nil
}

// Metadata is the metadata of the preset's file at file type ft, as golem quantize
// writes it (general.quantization_version and general.file_type last).
func (p Preset) Metadata(ft gguf.FileType) (gguf.Metadata, error) {
	src, err := p.SourceMetadata()
	if err != nil {
		return gguf.Metadata{}, err
	}
	return quant.OutputMetadata(src, ft)
}

// WeightBytes is the size of the tensor data of the preset's file at file type ft
// (without the header and alignment padding).
func (p Preset) WeightBytes(ft gguf.FileType) (uint64, error) {
	plans, err := p.Plan(ft)
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, pl := range plans {
		b, err := pl.To.TensorBytes(pl.Dims)
		if err != nil {
			return 0, fmt.Errorf("tensor %s: %w", pl.Name, err)
		}
		n += b
	}
	return n, nil
}

// CacheKind says what a sequence keeps between tokens.
type CacheKind string

// The cache kinds.
const (
	CacheKV    CacheKind = "kv"    // attention keys and values: grows with the context
	CacheState CacheKind = "state" // a recurrent state (Mamba's conv and SSM states): fixed size
	CacheNone  CacheKind = "none"  // an encoder: nothing is kept
)

// Cache describes the per-sequence cache of the preset at a context length.
type Cache struct {
	Kind    CacheKind `json:"kind"`
	Context int       `json:"context"`
	F32     uint64    `json:"f32_bytes"` // with an F32 cache (golem's default)
	F16     uint64    `json:"f16_bytes"` // with --cache-type f16
}

// Cache is the memory one sequence of ctx tokens keeps: for attention models the K and V
// of every layer (n_layer · ctx · n_head_kv · head_dim, twice); for Mamba the conv state
// ((d_conv-1)·d_inner) and SSM state (d_state·d_inner) of every layer, whatever ctx is
// (llama.cpp stores them in the cache's K and V types too); nothing for an encoder.
func (p Preset) Cache(ctx int) Cache {
	c := p.Config
	var elems uint64
	kind := CacheKV
	switch {
	case p.Arch == "bert":
		kind = CacheNone
	case c.SSMInnerSize > 0:
		kind = CacheState
		elems = uint64(c.BlockCount) * uint64((c.SSMConvKernel-1)*c.SSMInnerSize+c.SSMStateSize*c.SSMInnerSize)
	default:
		elems = 2 * uint64(c.BlockCount) * uint64(ctx) * uint64(c.headCountKV()*c.headDim())
	}
	return Cache{Kind: kind, Context: ctx, F32: 4 * elems, F16: 2 * elems}
}
