// Package kernels holds the CPU backend's hot dot products: one row of weights, stored as
// raw GGUF blocks, against one activation row already converted to the weight type's
// activation type (VecDotType: Q8_0, Q8_1 or Q8_K quants, or F16/BF16/F32 values), as
// ggml's CPU backend computes them: integer dot products per block, scaled per block in
// float32.
//
// Dot and MatVec check their arguments and return errors. The per-type kernels (DotQ4_0,
// MatVecQ4_0, ...) and the functions MatVecKernel returns check nothing: they are meant
// for the backend's inner loop, called once per row or tile of rows, after the backend has
// validated shapes once per op.
//
// On amd64 CPUs with AVX2, FMA and F16C, Q4_0, Q8_0, Q4_K, Q6_K, F16 and F32 run in
// assembly; every other type, CPU and architecture uses portable Go. The build tag purego
// forces the portable kernels everywhere.
package kernels
