//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

func addBytes(p dptr, n int) dptr { return unsafe.Add(p, n) }

// kvState is a cache's cell table on the device (positions and sequences), with the
// host copy last uploaded: the table is uploaded again only when the inference layer
// changed it, which is once per forward pass, not once per layer.
type kvState struct {
	pos, seq *devBuf
	shadow   []backend.Cell
	used     int // one past the last used cell
}

// NewKVCache allocates the cache's K and V tensors on the device.
func (b *Backend) NewKVCache(layers, cells, kDim, vDim int, dt gguf.Type) (*backend.KVCache, error) {
	if dt != gguf.TypeF32 && dt != gguf.TypeF16 {
		return nil, fmt.Errorf("cuda: kv cache type %s (want F32 or F16)", dt)
	}
	if layers <= 0 || cells <= 0 || kDim <= 0 || vDim <= 0 {
		return nil, fmt.Errorf("cuda: kv cache of %d layers, %d cells, rows %d/%d", layers, cells, kDim, vDim)
	}
	k := make([]backend.Tensor, layers)
	v := make([]backend.Tensor, layers)
	for l := range layers {
		var err error
		if k[l], err = b.Alloc(fmt.Sprintf("cache_k_l%d", l), dt, cells, kDim); err != nil {
			return nil, err
		}
		if v[l], err = b.Alloc(fmt.Sprintf("cache_v_l%d", l), dt, cells, vDim); err != nil {
			return nil, err
		}
	}
	return backend.NewKVCacheMeta(k, v, cells, kDim, vDim, dt), nil
}

// cells brings the device's cell table up to date with kv.Cells.
func (b *Backend) cells(kv *backend.KVCache) (*kvState, error) {
	st := b.kvs[kv]
	if st == nil {
		st = &kvState{}
		var err error
		if st.pos, err = b.alloc(4 * kv.Size()); err != nil {
			return nil, err
		}
		if st.seq, err = b.alloc(4 * kv.Size()); err != nil {
			return nil, err
		}
		b.kvs[kv] = st
	}
	if slices.Equal(st.shadow, kv.Cells) {
		return st, nil
	}
	n := kv.Size()
	pos, seq := make([]int32, n), make([]int32, n)
	st.used = 0
	for i, c := range kv.Cells {
		pos[i], seq[i] = c.Pos, c.Seq
		if c.Seq >= 0 {
			st.used = i + 1
		}
	}
	if err := b.upload(st.pos.ptr, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(pos))), 4*n)); err != nil {
		return nil, err
	}
	if err := b.upload(st.seq.ptr, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(seq))), 4*n)); err != nil {
		return nil, err
	}
	st.shadow = append(st.shadow[:0], kv.Cells...)
	return st, nil
}

// Attention stores the batch's K and V rows in the cache, then attends over the cells
// each token may see (csrc/attention.cu).
func (b *Backend) Attention(dst, q, k, v backend.Tensor, kv *backend.KVCache, layer int, batch *backend.Batch, p backend.AttnParams) error {
	d, err := b.f32(dst, "attention dst")
	if err != nil {
		return err
	}
	qt, err := b.f32(q, "attention q")
	if err != nil {
		return err
	}
	kt, err := b.f32(k, "attention k")
	if err != nil {
		return err
	}
	vt, err := b.f32(v, "attention v")
	if err != nil {
		return err
	}
	ad, err := backend.CheckAttention(dst, q, k, v, kv, layer, batch)
	if err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	n, heads, headsKV, hd, hdv := ad.Tokens, ad.Heads, ad.HeadsKV, ad.HeadDim, ad.HeadDimV
	kc, err := b.own(kv.K[layer], "cache k")
	if err != nil {
		return err
	}
	vc, err := b.own(kv.V[layer], "cache v")
	if err != nil {
		return err
	}
	switch {
	case hd > 256 || hdv > 256:
		return fmt.Errorf("cuda: attention: head size %d/%d over the kernel's 256", hd, hdv)
	case kc.dt != kv.DType || vc.dt != kv.DType:
		return fmt.Errorf("cuda: attention: cache tensors %s, %s are not %s", kc, vc, kv.DType)
	}
	st, err := b.cells(kv)
	if err != nil {
		return err
	}
	// The batch's cells, positions and sequences, in one upload.
	meta := make([]int32, 0, 3*n)
	meta = append(append(append(meta, batch.Cells...), batch.Pos...), batch.Seq...)
	mp, err := b.uploadInt32("attn_batch", meta)
	if err != nil {
		return err
	}
	cellsP, posP, seqP := mp, addBytes(mp, 4*n), addBytes(mp, 8*n)
	if err := cKVStore(kc.ptr(), int(kc.dt), kt.ptr(), cellsP, n, kv.KDim, b.stream); err != nil {
		return err
	}
	if err := cKVStore(vc.ptr(), int(vc.dt), vt.ptr(), cellsP, n, kv.VDim, b.stream); err != nil {
		return err
	}
	ap := attnParams{nTokens: n, heads: heads, headsKV: headsKV, headDim: hd, headDimV: hdv, cells: st.used,
		kDim: kv.KDim, vDim: kv.VDim, cacheType: int(kv.DType), scale: p.Scale, window: p.Window, softcap: p.SoftCap}
	if p.Causal {
		ap.causal = 1
	}
	if p.MaxALiBiBias > 0 {
		nl := 1 << int(math.Floor(math.Log2(float64(heads))))
		ap.alibiNLog2 = nl
		ap.alibiM0 = float32(math.Pow(2, -float64(p.MaxALiBiBias)/float64(nl)))
		ap.alibiM1 = float32(math.Pow(2, -float64(p.MaxALiBiBias)/2/float64(nl)))
	}
	var scratch dptr
	sf := cAttnScratch(ap)
	if sf > 0 {
		if scratch, err = b.scratchBuf("attn_split", 4*sf); err != nil {
			return err
		}
	}
	return cAttention(d.ptr(), qt.ptr(), kc.ptr(), vc.ptr(), st.pos.ptr, st.seq.ptr, posP, seqP, ap, scratch, sf, b.stream)
}
