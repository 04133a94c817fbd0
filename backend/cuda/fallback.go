//go:build cuda

package cuda

import (
	"fmt"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu"
	"github.com/golem-llm/golem/gguf"
)

// onHost runs an op without a CUDA kernel on the CPU backend: each operand that fn
// asks for through h is copied to a host tensor (weights once, then kept), fn runs,
// and the tensors in outs (written or updated in place by the op) are copied back.
// Slow, but it keeps every op available; -v logs which ops take this path.
func (b *Backend) onHost(op string, fn func(c *cpu.Backend, h func(backend.Tensor) backend.Tensor) error, outs ...backend.Tensor) error {
	b.logOnce("host:"+op, fmt.Sprintf("cuda: op %s has no CUDA kernel for these operands yet: it runs on the CPU over host copies", op))
	copies := map[*tensor]backend.Tensor{}
	var firstErr error
	h := func(t backend.Tensor) backend.Tensor {
		if t == nil || firstErr != nil {
			return nil
		}
		ct, err := b.own(t, op+" operand")
		if err != nil {
			firstErr = err
			return nil
		}
		if c, ok := copies[ct]; ok {
			return c
		}
		c, err := b.hostCopy(ct)
		if err != nil {
			firstErr = fmt.Errorf("cuda: %s: %w", op, err)
			return nil
		}
		copies[ct] = c
		return c
	}
	err := fn(b.host, h)
	if firstErr != nil {
		return firstErr
	}
	if err != nil {
		return err
	}
	for _, o := range outs {
		ct, err := b.own(o, op+" result")
		if err != nil {
			return err
		}
		c, ok := copies[ct]
		if !ok {
			continue
		}
		data, _, _ := cpu.Raw(c)
		if err := b.upload(ct.ptr(), data[:ct.bytes]); err != nil {
			return err
		}
	}
	return nil
}

// hostCopy makes a CPU tensor with t's contents.
func (b *Backend) hostCopy(t *tensor) (backend.Tensor, error) {
	if elemBytes(t.dt) == 0 {
		// A quantized weight: its blocks, uploaded to the CPU backend once.
		if c, ok := b.hostWeights[t.buf]; ok && t.off == 0 && c.Shape().Equal(t.shape) {
			return c, nil
		}
		raw := make([]byte, t.bytes)
		if err := b.download(raw, t.ptr()); err != nil {
			return nil, err
		}
		dims := make([]uint64, len(t.shape))
		for i, d := range t.shape {
			dims[len(t.shape)-1-i] = uint64(d)
		}
		c, err := b.host.Upload(&gguf.TensorInfo{Name: t.name, Type: t.dt, Dims: dims, Size: uint64(t.bytes)}, raw)
		if err != nil {
			return nil, err
		}
		if t.off == 0 {
			b.hostWeights[t.buf] = c
		}
		return c, nil
	}
	c, err := b.host.Alloc(t.name, t.dt, t.shape...)
	if err != nil {
		return nil, err
	}
	data, _, ok := cpu.Raw(c)
	if !ok || len(data) < t.bytes {
		return nil, fmt.Errorf("host copy of %s", t)
	}
	if err := b.download(data[:t.bytes], t.ptr()); err != nil {
		return nil, err
	}
	return c, nil
}
