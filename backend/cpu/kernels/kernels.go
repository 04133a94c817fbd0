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

// Path names one of the code paths llama.cpp's CPU backend (x86-64 AVX2 build) takes for a
// matrix product. They add the same exact integer block sums in different float32
// orders, so reproducing its results bit for bit means taking the path it took.
type Path uint8

const (
	// PathVecDot is ggml_vec_dot_<type>_<vec_dot_type>, one output at a time: single
	// activation rows, the types tinyBLAS lacks, and MUL_MAT_ID (mixture of experts).
	PathVecDot Path = iota
	// PathTinyBLAS is llamafile_sgemm's tinyBLAS, which takes batches of two activation
	// rows or more for F32 and F16 (when the row length is a multiple of 8 and the
	// weight's row count a multiple of 4) and for Q8_0, Q4_0, Q5_0 and IQ4_NL.
	PathTinyBLAS
	// PathRepack is ggml-cpu-aarch64's Q4_0 path on AVX2: weights whose row count is a
	// multiple of 8 are repacked into interleaved 8-row blocks and multiplied by
	// ggml_gemv_q4_0_8x8_q8_0 / ggml_gemm_q4_0_8x8_q8_0, for every batch size and for
	// MUL_MAT_ID too.
	PathRepack
)

// SelectPath returns the path llama.cpp takes for weights of type t with out rows of in
// elements against batch activation rows; expert is true for MUL_MAT_ID.
func SelectPath(t gguf.Type, batch, out, in int, expert bool) Path {
	if t == gguf.TypeQ4_0 && out%8 == 0 {
		return PathRepack
	}
	if expert || batch < 2 {
		return PathVecDot
	}
	switch t {
	case gguf.TypeF32, gguf.TypeF16:
		if in%8 == 0 && out%4 == 0 {
			return PathTinyBLAS
		}
	case gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ5_0, gguf.TypeIQ4_NL:
		return PathTinyBLAS
	}
	return PathVecDot
}

// PathKernelOnce is PathKernel for a product whose weights are read once, straight from
// memory (a single activation row: decode). Same sums, same kernel arithmetic; only the
// grouping of rows per call differs where another grouping streams faster from DRAM:
// Q8_0 one row at a time (four rows per call win from cache but lose from memory:
// TinyLlama Q8_0 decode 33.9 against 31.2 tokens/s on two threads).
func PathKernelOnce(t gguf.Type, p Path) (MatVecFunc, bool) {
	if t == gguf.TypeQ8_0 && (p == PathVecDot || p == PathTinyBLAS) {
		return matVecQ8_0Rows, true
	}
	return PathKernel(t, p)
}

// PathKernel returns the unchecked multi-row kernel (see MatVecKernel) that reproduces
// path p for weights of type t. ok is false where llama.cpp has no such path for t.
func PathKernel(t gguf.Type, p Path) (MatVecFunc, bool) {
	switch p {
	case PathVecDot:
		return MatVecKernel(t)
	case PathTinyBLAS:
		switch t {
		case gguf.TypeF32:
			return MatTinyF32, true
		case gguf.TypeF16:
			return MatTinyF16, true
		case gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ5_0:
			// tinyBLAS_Q0_AVX adds these exactly as ggml_vec_dot does.
			return MatVecKernel(t)
		case gguf.TypeIQ4_NL:
			return MatTinyIQ4_NL, true
		}
	case PathRepack:
		if t == gguf.TypeQ4_0 {
			return MatGemvQ4_0, true
		}
	}
	return nil, false
}

// eachRow is the multi-row form of a one-row dot product without a multi-row kernel:
// dst[r] = dot(w[r*rowStride:], x, n).
func eachRow(dst []float32, w []byte, rowStride int, x []byte, n int, dot func(w, x []byte, n int) float32) {
	for r := range dst {
		dst[r] = dot(w[r*rowStride:], x, n)
	}
}
