//go:build cuda

package cuda

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// Write copies host values into an F32 or F16 tensor.
func (b *Backend) Write(t backend.Tensor, src []float32) error {
	ct, err := b.own(t, "write target")
	if err != nil {
		return err
	}
	n := ct.shape.Elements()
	if len(src) != n {
		return fmt.Errorf("cuda: write %d values into %s", len(src), ct)
	}
	switch ct.dt {
	case gguf.TypeF32:
		return b.upload(ct.ptr(), f32Bytes(src))
	case gguf.TypeF16:
		h := make([]byte, 2*n)
		for i, x := range src {
			binary.LittleEndian.PutUint16(h[2*i:], quant.FP32ToFP16(x))
		}
		return b.upload(ct.ptr(), h)
	case gguf.TypeI32:
		return fmt.Errorf("cuda: write float32 values into I32 tensor %s (use WriteInt32)", ct)
	}
	return fmt.Errorf("cuda: write into %s tensor %s", ct.dt, ct)
}

// WriteInt32 copies host values into an I32 tensor.
func (b *Backend) WriteInt32(t backend.Tensor, src []int32) error {
	ct, err := b.own(t, "write target")
	if err != nil {
		return err
	}
	if ct.dt != gguf.TypeI32 || len(src) != ct.shape.Elements() {
		return fmt.Errorf("cuda: write %d int32 values into %s", len(src), ct)
	}
	return b.upload(ct.ptr(), unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(src))), 4*len(src)))
}

// Read waits for queued work and copies t to dst as F32 (quantized weights
// dequantized on the host, I32 values converted).
func (b *Backend) Read(t backend.Tensor, dst []float32) error {
	ct, err := b.own(t, "read source")
	if err != nil {
		return err
	}
	n := ct.shape.Elements()
	if len(dst) != n {
		return fmt.Errorf("cuda: read %s into %d values", ct, len(dst))
	}
	switch ct.dt {
	case gguf.TypeF32:
		return b.download(f32Bytes(dst), ct.ptr())
	case gguf.TypeI32:
		raw := make([]int32, n)
		if err := b.download(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(raw))), 4*n), ct.ptr()); err != nil {
			return err
		}
		for i, v := range raw {
			dst[i] = float32(v)
		}
		return nil
	}
	raw := make([]byte, ct.bytes)
	if err := b.download(raw, ct.ptr()); err != nil {
		return err
	}
	if ct.dt == gguf.TypeF16 {
		for i := range dst {
			dst[i] = quant.FP16ToFP32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		return nil
	}
	return quant.Dequantize(ct.dt, raw, dst)
}

// ReadInt32 copies an I32 tensor to dst.
func (b *Backend) ReadInt32(t backend.Tensor, dst []int32) error {
	ct, err := b.own(t, "read source")
	if err != nil {
		return err
	}
	if ct.dt != gguf.TypeI32 || len(dst) != ct.shape.Elements() {
		return fmt.Errorf("cuda: read %s into %d int32 values", ct, len(dst))
	}
	return b.download(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*len(dst)), ct.ptr())
}

func f32Bytes(v []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}
