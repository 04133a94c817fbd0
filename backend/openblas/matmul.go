//go:build openblas

package openblas

import (
	"fmt"
	"sync"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

// tileFloats bounds the dequantized tile: weight rows are dequantized this many floats
// (4 MiB) at a time, so the scratch stays small and in cache for SGEMM's packing.
const tileFloats = 1 << 20

// gemmOp is a MatMul that BLAS takes: dst[n, out] = x[n, in] · w[out, in]ᵀ.
type gemmOp struct {
	dst, x  []float32
	w       []byte
	wt      gguf.Type
	n       int
	in, out int
}

// MatMul computes dst[n, out] = x[n, in] · w[out, in]ᵀ: with SGEMM when the batch and
// both weight dimensions are at least MinBatch, else on the CPU backend.
func (b *Backend) MatMul(dst, x, w backend.Tensor) error {
	op, ok := b.claim(dst, x, w)
	if !ok {
		return b.Backend.MatMul(dst, x, w)
	}
	return b.gemm(op, w.Name())
}

// claim reports whether BLAS should take this product. Anything it does not take —
// small shapes, unsupported types, malformed operands — goes to the CPU backend,
// which also reports the errors.
func (b *Backend) claim(dst, x, w backend.Tensor) (gemmOp, bool) {
	if dst == nil || x == nil || w == nil {
		return gemmOp{}, false
	}
	ws, xs, ds := w.Shape(), x.Shape(), dst.Shape()
	if len(ws) != 2 || x.DType() != gguf.TypeF32 || dst.DType() != gguf.TypeF32 || !quant.CanDequantize(w.DType()) {
		return gemmOp{}, false
	}
	out, in := ws[0], ws[1]
	n := xs.Rows()
	if xs.Last() != in || ds.Last() != out || ds.Rows() != n {
		return gemmOp{}, false
	}
	m := b.threshold(w.DType())
	if n < m || out < m || in < m {
		return gemmOp{}, false
	}
	wd, _, okw := cpu.Raw(w)
	_, xf, okx := cpu.Raw(x)
	_, df, okd := cpu.Raw(dst)
	if !okw || !okx || !okd || len(xf) != n*in || len(df) != n*out {
		return gemmOp{}, false
	}
	rb, err := w.DType().RowBytes(uint64(in))
	if err != nil || uint64(len(wd)) != rb*uint64(out) {
		return gemmOp{}, false
	}
	return gemmOp{dst: df, x: xf, w: wd, wt: w.DType(), n: n, in: in, out: out}, true
}

// gemm runs op tile by tile: the worker pool dequantizes a tile of weight rows into the
// scratch, then OpenBLAS multiplies the whole batch by it into the tile's dst columns.
func (b *Backend) gemm(op gemmOp, name string) error {
	rowBytes := len(op.w) / op.out
	tileRows := min(op.out, max(64, tileFloats/op.in))
	if cap(b.tile) < tileRows*op.in {
		b.tile = make([]float32, tileRows*op.in)
	}
	tile := b.tile[:tileRows*op.in]
	useThreads(b.threads)
	b.gemms++
	var (
		mu      sync.Mutex
		tileErr error
	)
	for r0 := 0; r0 < op.out; r0 += tileRows {
		rows := min(tileRows, op.out-r0)
		// Dequantizing reads the weights, which may be a mapped file: Parallel turns a
		// fault into an error. SGEMM then only reads Go memory.
		err := b.Parallel(rows, 8, func(_, lo, hi int) {
			if err := dequantize(op.wt, op.w[(r0+lo)*rowBytes:(r0+hi)*rowBytes], tile[lo*op.in:hi*op.in]); err != nil {
				mu.Lock()
				tileErr = err
				mu.Unlock()
			}
		})
		if err == nil {
			err = tileErr
		}
		if err != nil {
			return fmt.Errorf("matmul %s: %w", name, err)
		}
		netlib.Implementation{}.Sgemm(blas.NoTrans, blas.Trans, op.n, rows, op.in,
			1, op.x, op.in, tile[:rows*op.in], op.in, 0, op.dst[r0:], op.out)
	}
	return nil
}
