package backend

import (
	"fmt"

	"github.com/golem-llm/golem/gguf"
)

// AttnDims are the sizes of one Attention call.
type AttnDims struct {
	Tokens, Heads, HeadsKV, HeadDim, HeadDimV int
}

// CheckAttention validates Attention's operands, the same way for every backend: q,
// k, v and dst F32 [tokens, heads, head_dim], heads a multiple of the KV heads, cache
// rows matching k and v, and a batch describing every token with cells inside the
// cache (each already marked with its token's sequence and position).
func CheckAttention(dst, q, k, v Tensor, kv *KVCache, layer int, batch *Batch) (AttnDims, error) {
	var a AttnDims
	if dst == nil || q == nil || k == nil || v == nil {
		return a, fmt.Errorf("attention: nil operand")
	}
	if kv == nil || layer < 0 || layer >= len(kv.K) || layer >= len(kv.V) {
		return a, fmt.Errorf("attention: layer %d outside the cache", layer)
	}
	qs, ks, vs, ds := q.Shape(), k.Shape(), v.Shape(), dst.Shape()
	if len(qs) != 3 || len(ks) != 3 || len(vs) != 3 || len(ds) != 3 {
		return a, fmt.Errorf("attention: q %v, k %v, v %v, dst %v must be [tokens, heads, head_dim]", qs, ks, vs, ds)
	}
	a = AttnDims{Tokens: qs[0], Heads: qs[1], HeadDim: qs[2], HeadsKV: ks[1], HeadDimV: vs[2]}
	switch {
	case q.DType() != gguf.TypeF32 || k.DType() != gguf.TypeF32 || v.DType() != gguf.TypeF32 || dst.DType() != gguf.TypeF32:
		return a, fmt.Errorf("attention: q, k, v and dst must be F32")
	case ks[0] != a.Tokens || vs[0] != a.Tokens || ks[2] != a.HeadDim || vs[1] != a.HeadsKV:
		return a, fmt.Errorf("attention: k %v and v %v do not match q %v", ks, vs, qs)
	case a.HeadsKV <= 0 || a.Heads%a.HeadsKV != 0:
		return a, fmt.Errorf("attention: %d heads are not a multiple of %d KV heads", a.Heads, a.HeadsKV)
	case !ds.Equal(Shape{a.Tokens, a.Heads, a.HeadDimV}):
		return a, fmt.Errorf("attention: dst %v, want [%d %d %d]", ds, a.Tokens, a.Heads, a.HeadDimV)
	case kv.KDim != a.HeadsKV*a.HeadDim || kv.VDim != a.HeadsKV*a.HeadDimV:
		return a, fmt.Errorf("attention: cache rows of %d/%d values, k and v rows have %d/%d",
			kv.KDim, kv.VDim, a.HeadsKV*a.HeadDim, a.HeadsKV*a.HeadDimV)
	case batch == nil || batch.Len() != a.Tokens:
		return a, fmt.Errorf("attention: the batch does not describe the %d tokens of q", a.Tokens)
	}
	if err := batch.Validate(kv.Size()); err != nil {
		return a, fmt.Errorf("attention: %w", err)
	}
	for i, c := range batch.Cells {
		if cl := kv.Cells[c]; cl.Seq != batch.Seq[i] || cl.Pos != batch.Pos[i] {
			return a, fmt.Errorf("attention: token %d (seq %d, pos %d) goes to cell %d, which is marked seq %d, pos %d",
				i, batch.Seq[i], batch.Pos[i], c, cl.Seq, cl.Pos)
		}
	}
	return a, nil
}
