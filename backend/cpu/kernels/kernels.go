package kernels

import (
	"fmt"

	"github.com/golem-llm/golem/gguf"
)

// MatVecFunc computes len(dst) dot products: dst[r] is the dot product of the weight row
// w[r*rowStride:] (nBlocks blocks of the weight type) with x (nBlocks blocks of the
// activation type). It checks nothing; see MatVecKernel.
type MatVecFunc func(dst []float32, w []byte, rowStride int, x []byte, nBlocks int)

// kernel is one row of the dispatch table.
type kernel struct {
	act    gguf.Type
	dot    func(w, x []byte, nBlocks int) float32
	matVec MatVecFunc
}

// table is indexed by weight type; a nil dot is a type without a kernel. The dispatch
// file of the build (asm on amd64, portable elsewhere) fills in the fast entries.
var table [gguf.TypeMXFP4 + 1]kernel

func init() {
	set := func(t, act gguf.Type, dot func(w, x []byte, nBlocks int) float32, mv MatVecFunc) {
		table[t] = kernel{act: act, dot: dot, matVec: mv}
	}
	set(gguf.TypeF32, gguf.TypeF32, DotF32Bytes, MatVecF32)
	set(gguf.TypeF16, gguf.TypeF16, DotF16, MatVecF16)
	set(gguf.TypeBF16, gguf.TypeBF16, DotBF16, MatVecBF16)
	set(gguf.TypeQ4_0, gguf.TypeQ8_0, DotQ4_0, MatVecQ4_0)
	set(gguf.TypeQ4_1, gguf.TypeQ8_1, DotQ4_1, MatVecQ4_1)
	set(gguf.TypeQ5_0, gguf.TypeQ8_0, DotQ5_0, MatVecQ5_0)
	set(gguf.TypeQ5_1, gguf.TypeQ8_1, DotQ5_1, MatVecQ5_1)
	set(gguf.TypeQ8_0, gguf.TypeQ8_0, DotQ8_0, MatVecQ8_0)
	set(gguf.TypeIQ4_NL, gguf.TypeQ8_0, DotIQ4_NL, MatVecIQ4_NL)
	set(gguf.TypeQ2_K, gguf.TypeQ8_K, DotQ2_K, MatVecQ2_K)
	set(gguf.TypeQ3_K, gguf.TypeQ8_K, DotQ3_K, MatVecQ3_K)
	set(gguf.TypeQ4_K, gguf.TypeQ8_K, DotQ4_K, MatVecQ4_K)
	set(gguf.TypeQ5_K, gguf.TypeQ8_K, DotQ5_K, MatVecQ5_K)
	set(gguf.TypeQ6_K, gguf.TypeQ8_K, DotQ6_K, MatVecQ6_K)
	set(gguf.TypeIQ4_XS, gguf.TypeQ8_K, DotIQ4_XS, MatVecIQ4_XS)
}

func lookup(t gguf.Type) (kernel, bool) {
	if int(t) >= len(table) || table[t].dot == nil {
		return kernel{}, false
	}
	return table[t], true
}

// Supported reports whether weights of type t have a dot-product kernel.
func Supported(t gguf.Type) bool {
	_, ok := lookup(t)
	return ok
}

// VecDotType returns the type the activation row must be converted to before a dot
// product with weights of type t (ggml's vec_dot_type): Q8_0 for Q4_0, Q5_0, Q8_0 and
// IQ4_NL; Q8_1 for Q4_1 and Q5_1; Q8_K for Q2_K..Q6_K and IQ4_XS; the weight type itself
// for F32, F16 and BF16. ok is false for a type without a kernel.
func VecDotType(t gguf.Type) (act gguf.Type, ok bool) {
	k, ok := lookup(t)
	return k.act, ok
}

// MatVecKernel returns the unchecked multi-row kernel for weights of type t and its
// activation type. The caller guarantees: nBlocks*BlockSize(t) elements per row, each of
// len(dst) rows starts rowStride bytes after the previous one and holds at least
// nBlocks*BlockBytes(t) bytes, and x holds nBlocks blocks of the activation type.
func MatVecKernel(t gguf.Type) (MatVecFunc, bool) {
	k, ok := lookup(t)
	return k.matVec, ok
}

// rowSizes checks t and n and returns the bytes of one weight row and of one activation
// row of n elements.
func rowSizes(t gguf.Type, n int) (kernel, int, int, error) {
	k, ok := lookup(t)
	if !ok {
		return kernel{}, 0, 0, fmt.Errorf("kernels: no dot product for weight type %s", t)
	}
	bs := t.BlockSize()
	if n < 0 || n%bs != 0 {
		return kernel{}, 0, 0, fmt.Errorf("kernels: %s: %d elements are not a whole number of %d-element blocks", t, n, bs)
	}
	nb := n / bs
	return k, nb * t.BlockBytes(), nb * k.act.BlockBytes(), nil
}

// Dot returns the dot product of n elements: w holds exactly n/BlockSize(t) weight
// blocks of type t and x exactly the activation row converted to VecDotType(t).
func Dot(t gguf.Type, w, x []byte, n int) (float32, error) {
	k, wb, xb, err := rowSizes(t, n)
	if err != nil {
		return 0, err
	}
	if len(w) != wb {
		return 0, fmt.Errorf("kernels: %s row of %d elements takes %d bytes, have %d", t, n, wb, len(w))
	}
	if len(x) != xb {
		return 0, fmt.Errorf("kernels: %s activation row of %d elements takes %d bytes, have %d", k.act, n, xb, len(x))
	}
	return k.dot(w, x, n/t.BlockSize()), nil
}

// MatVec computes dst[r] = Dot(t, row r of w, x, n) for every r < len(dst): w holds
// exactly len(dst) consecutive rows of n elements of type t.
func MatVec(t gguf.Type, dst []float32, w, x []byte, n int) error {
	k, wb, xb, err := rowSizes(t, n)
	if err != nil {
		return err
	}
	if len(w) != wb*len(dst) {
		return fmt.Errorf("kernels: %d %s rows of %d elements take %d bytes, have %d", len(dst), t, n, wb*len(dst), len(w))
	}
	if len(x) != xb {
		return fmt.Errorf("kernels: %s activation row of %d elements takes %d bytes, have %d", k.act, n, xb, len(x))
	}
	if len(dst) == 0 || n == 0 {
		clear(dst)
		return nil
	}
	k.matVec(dst, w, wb, x, n/t.BlockSize())
	return nil
}
