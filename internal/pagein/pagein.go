// Package pagein reads a mapped model's weights into memory ahead of use, reporting
// progress, so the time a large model takes to come off the disk is spent (and shown)
// while loading rather than inside the first forward pass. llama.cpp does the same
// with MAP_POPULATE.
package pagein

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/golem-llm/golem/gguf"
)

// pageSize is the stride of the reads: one byte per page faults every page in.
const pageSize = 4096

// sinkVar receives the bytes read.
var sinkVar atomic.Uint32

// step is how many bytes pass between progress reports.
const step = 16 << 20

// Total is the number of tensor bytes Touch reads.
func Total(f *gguf.File) uint64 {
	var n uint64
	for i := range f.Tensors {
		n += f.Tensors[i].Size
	}
	return n
}

// Touch reads one byte of every page of every tensor of a mapped file, calling
// progress (when not nil) with the bytes done so far and the total, at least once at
// the end. A file that is not mapped is left alone (its data is read when used). A
// fault (the file was truncated under the mapping) comes back as an error; so does a
// cancelled ctx.
func Touch(ctx context.Context, f *gguf.File, progress func(done, total uint64)) error {
	total := Total(f)
	if !f.Mapped() {
		if progress != nil {
			progress(total, total)
		}
		return nil
	}
	var done, next uint64
	var sink byte
	err := gguf.Guard(func() error {
		for i := range f.Tensors {
			if err := ctx.Err(); err != nil {
				return err
			}
			d, err := f.TensorData(&f.Tensors[i])
			if err != nil {
				return err
			}
			for off := 0; off < len(d); off += pageSize {
				sink ^= d[off]
				if progress != nil && done+uint64(off) >= next {
					progress(done+uint64(off), total)
					next = done + uint64(off) + step
				}
			}
			done += uint64(len(d))
		}
		return nil
	})
	sinkVar.Store(uint32(sink)) // keeps the reads from being optimised away
	if err != nil {
		return fmt.Errorf("reading the weights: %w", err)
	}
	if progress != nil {
		progress(total, total)
	}
	return nil
}
