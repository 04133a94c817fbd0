package conformance

import "github.com/golem-llm/golem/gguf"

// WeightTypes are the weight types MUL_MAT and MUL_MAT_ID are checked with.
var WeightTypes = []gguf.Type{
	gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16,
	gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0,
	gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K,
	gguf.TypeIQ4_NL, gguf.TypeIQ4_XS,
}

// Thresholds per op family (DESIGN.md): elementwise, norms and RoPE about 1e-7,
// softmax 1e-6, matmul and attention 5e-4.
const (
	nmseElementwise = 1e-7
	nmseSoftmax     = 1e-6
	nmseMatMul      = 5e-4
)

// Cases is the table every backend runs.
func Cases() []Case {
	var cs []Case
	for _, t := range WeightTypes {
		shapes := []Shape{{M: 16, N: 1, K: 256}, {M: 13, N: 7, K: 512}, {M: 11, N: 33, K: 256}}
		if t.BlockSize() < 256 {
			shapes = append(shapes, Shape{M: 5, N: 3, K: 7 * 32})
		}
		// Prompt-sized batches: BLAS backends take products from 17 to 64 rows up.
		shapes = append(shapes, Shape{M: 67, N: 64, K: 256}, Shape{M: 64, N: 37, K: 512})
		for _, s := range shapes {
			cs = append(cs, Case{Op: "MUL_MAT", Type: t, Shape: s, MaxNMSE: nmseMatMul})
		}
	}
	// CLIP's patch embedding: an im2col row of 3×14×14 pixels per patch.
	for _, t := range []gguf.Type{gguf.TypeF32, gguf.TypeF16} {
		cs = append(cs, Case{Op: "MUL_MAT", Type: t, Shape: Shape{M: 16, N: 25, K: 3 * 14 * 14}, MaxNMSE: nmseMatMul})
	}
	for _, t := range []gguf.Type{gguf.TypeF32, gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ6_K} {
		s := Shape{M: 13, N: 5, K: 256, Experts: 4, Used: 2}
		cs = append(cs,
			Case{Op: "MUL_MAT_ID", Type: t, Shape: s, MaxNMSE: nmseMatMul},
			Case{Op: "MUL_MAT_ID", Type: t, Shape: s, Variant: "per-slot", MaxNMSE: nmseMatMul})
	}
	for _, t := range []gguf.Type{gguf.TypeF32, gguf.TypeF16, gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ6_K} {
		cs = append(cs, Case{Op: "GET_ROWS", Type: t, Shape: Shape{M: 19, N: 7, K: 256}, MaxNMSE: 0})
	}
	rowShapes := []Shape{{Rows: 4, Cols: 4096}, {Rows: 5 * 7 * 11, Cols: 13}}
	for _, s := range rowShapes {
		cs = append(cs,
			Case{Op: "RMS_NORM", Shape: s, MaxNMSE: nmseElementwise},
			Case{Op: "RMS_NORM", Shape: s, Variant: "no-weight", MaxNMSE: nmseElementwise},
			Case{Op: "LAYER_NORM", Shape: s, MaxNMSE: nmseElementwise},
			Case{Op: "LAYER_NORM", Shape: s, Variant: "no-weight", MaxNMSE: nmseElementwise},
			Case{Op: "SILU", Shape: s, MaxNMSE: nmseElementwise},
			Case{Op: "GELU", Shape: s, MaxNMSE: nmseElementwise},
			Case{Op: "QUICK_GELU", Shape: s, MaxNMSE: nmseElementwise},
			Case{Op: "SWIGLU", Shape: s, MaxNMSE: nmseElementwise},
			Case{Op: "GEGLU", Shape: s, MaxNMSE: nmseElementwise},
			Case{Op: "ADD", Shape: s, MaxNMSE: nmseElementwise},
			Case{Op: "ADD", Shape: s, Variant: "broadcast", MaxNMSE: nmseElementwise},
			Case{Op: "MUL", Shape: s, MaxNMSE: nmseElementwise},
			Case{Op: "MUL", Shape: s, Variant: "broadcast", MaxNMSE: nmseElementwise},
			Case{Op: "SCALE", Shape: s, MaxNMSE: nmseElementwise},
			Case{Op: "SOFTMAX", Shape: s, MaxNMSE: nmseSoftmax},
		)
	}
	cs = append(cs, Case{Op: "WEIGHTED_SUM", Shape: Shape{Rows: 7, Used: 2, Cols: 256}, MaxNMSE: nmseElementwise},
		Case{Op: "WEIGHTED_SUM", Shape: Shape{Rows: 3, Used: 5, Cols: 13}, MaxNMSE: nmseElementwise})
	for _, v := range []string{"", "renorm"} {
		cs = append(cs, Case{Op: "TOP_K", Shape: Shape{Rows: 7, Experts: 8, Used: 2}, Variant: v, MaxNMSE: nmseSoftmax})
	}
	ropeShapes := []Shape{
		{Tokens: 7, Heads: 32, HeadDim: 128, RotDims: 128}, // LLaMA 7B heads
		{Tokens: 5, Heads: 3, HeadDim: 22, RotDims: 22},
		{Tokens: 5, Heads: 4, HeadDim: 64, RotDims: 32}, // partial rotary (GPT-NeoX, Phi-2)
	}
	for _, s := range ropeShapes {
		for _, v := range []string{"", "neox", "linear", "yarn", "freqs"} {
			cs = append(cs, Case{Op: "ROPE", Shape: s, Variant: v, MaxNMSE: nmseElementwise})
		}
	}
	for _, v := range []string{"", "neox", "yarn", "f16"} {
		cs = append(cs, Case{Op: "ROPE_SHIFT", Shape: Shape{Tokens: 11, Heads: 4, HeadDim: 64, RotDims: 64}, Variant: v, MaxNMSE: nmseElementwise})
	}
	attnShapes := []Shape{
		{Tokens: 7, Heads: 4, HeadsKV: 2, HeadDim: 64, Cells: 16}, // GQA
		{Tokens: 11, Heads: 8, HeadsKV: 8, HeadDim: 8, Cells: 13}, // stories260K-like MHA
		{Tokens: 5, Heads: 6, HeadsKV: 1, HeadDim: 128, Cells: 7}, // MQA
	}
	for _, s := range attnShapes {
		for _, v := range []string{"", "noncausal", "window", "multiseq", "softcap", "alibi", "f16cache"} {
			cs = append(cs, Case{Op: "ATTENTION", Shape: s, Variant: v, MaxNMSE: nmseMatMul})
		}
	}
	cs = append(cs, ssmCases()...)
	return cs
}
