package cpu

import (
	"fmt"
	"unsafe"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// RoPEShift gathers the selected rows as F32, rotates them with RoPE by their deltas,
// and writes them back in x's type (F16 rows are rounded once, as ggml's in-place rope
// on an F16 cache does).
func (b *Backend) RoPEShift(x backend.Tensor, rows, delta []int32, p backend.RoPEParams) error {
	xt, err := b.own(x, "rope shift x")
	if err != nil {
		return err
	}
	if (xt.dt != gguf.TypeF32 && xt.dt != gguf.TypeF16) || len(xt.shape) != 3 {
		return fmt.Errorf("rope shift: x %s must be F32 or F16 [rows, heads, head_dim]", xt)
	}
	if len(rows) != len(delta) {
		return fmt.Errorf("rope shift: %d rows and %d deltas", len(rows), len(delta))
	}
	if len(rows) == 0 {
		return nil
	}
	n, heads, hd := xt.shape[0], xt.shape[1], xt.shape[2]
	for i, r := range rows {
		if r < 0 || int(r) >= n {
			return fmt.Errorf("rope shift: row %d (entry %d) outside the %d rows of %s", r, i, n, xt)
		}
	}
	d := heads * hd
	// A shift is rare (once per half context), so its buffer is not kept.
	buf := make([]float32, len(rows)*d)
	var half []uint16
	if xt.dt == gguf.TypeF16 {
		half = bytesAs[uint16](xt.data)
	}
	for i, r := range rows {
		dst := buf[i*d : (i+1)*d]
		if half == nil {
			copy(dst, xt.f32[int(r)*d:])
			continue
		}
		for j, h := range half[int(r)*d : (int(r)+1)*d] {
			dst[j] = quant.FP16ToFP32(h)
		}
	}
	tmp := newTensor("rope shift rows", gguf.TypeF32, backend.Shape{len(rows), heads, hd},
		unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*4))
	if err := b.RoPE(tmp, delta, p); err != nil {
		return fmt.Errorf("rope shift: %w", err)
	}
	for i, r := range rows {
		src := buf[i*d : (i+1)*d]
		if half == nil {
			copy(xt.f32[int(r)*d:(int(r)+1)*d], src)
			continue
		}
		for j, v := range src {
			half[int(r)*d+j] = quant.FP32ToFP16(v)
		}
	}
	return nil
}
