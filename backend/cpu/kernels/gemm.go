package kernels

import "github.com/golem-llm/golem/gguf"

// GemmFunc computes a tile of a matrix product: dst[i*dstStride+r] is the dot product of
// weight row r (rows rows, rowStride bytes apart, nBlocks blocks each) with activation
// row i (nx rows, xStride bytes apart, nBlocks blocks of the activation type). Each
// output is added in exactly the order the path's one-row kernel adds it: a tile kernel
// only shares loads and weight decoding between outputs, so its results are bit for bit
// those of calling the MatVecFunc once per activation row. It checks nothing; see
// PathGemm.
type GemmFunc func(dst []float32, dstStride int, w []byte, rowStride, rows int, x []byte, xStride, nx, nBlocks int)

// PathGemm returns the tile kernel of path p for weights of type t, where this build and
// CPU have one (ok false otherwise: multiply one activation row at a time with
// PathKernel). The caller guarantees what MatVecKernel asks for each of the nx
// activation rows, and that dst holds (nx-1)*dstStride+rows values.
func PathGemm(t gguf.Type, p Path) (GemmFunc, bool) {
	if !hasAVX2 {
		return nil, false
	}
	if t == gguf.TypeF16 && p == PathTinyBLAS {
		return gemmTinyF16AVX2, true
	}
	if t == gguf.TypeQ8_0 && p == PathTinyBLAS {
		return gemmTinyQ8_0AVX2, true
	}
	return nil, false
}
