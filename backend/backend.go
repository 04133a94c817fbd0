// Package backend defines how model graphs run: a Backend owns tensors (weights as
// stored in the GGUF file, activations, the KV cache) and executes a small set of
// coarse, fused ops on them. Implementations live in subpackages (cpu always; openblas
// and cuda behind build tags) and register themselves; Open picks one.
package backend

import (
	"fmt"
	"strings"

	"github.com/golem-llm/golem/gguf"
)

// DType is a tensor's element type: a ggml type. Weights keep the type they have in
// the file; activations are F32; the KV cache is F32 or F16; expert ids are I32.
type DType = gguf.Type

// Shape lists a tensor's dimensions outermost first, as in row-major Go code: an
// activation matrix of n tokens by d features is [n, d]. This is the reverse of GGUF's
// (ggml's) order, where the contiguous dimension comes first.
type Shape []int

// Elements is the product of the dimensions.
func (s Shape) Elements() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Last is the innermost (contiguous) dimension.
func (s Shape) Last() int {
	if len(s) == 0 {
		return 1
	}
	return s[len(s)-1]
}

// Rows is the number of rows of length Last.
func (s Shape) Rows() int {
	if s.Last() == 0 {
		return 0
	}
	return s.Elements() / s.Last()
}

// Equal reports whether two shapes are the same.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// ShapeFromDims converts GGUF dims (contiguous first) to a Shape (outermost first).
func ShapeFromDims(dims []uint64) Shape {
	s := make(Shape, len(dims))
	for i, d := range dims {
		s[len(dims)-1-i] = int(d)
	}
	return s
}

// Tensor is a handle to data a backend owns. Only the backend that made a tensor can
// use it in its ops.
type Tensor interface {
	Name() string
	DType() DType
	Shape() Shape
}

// Backend is one way of running ops. Ops are eager: each one runs (or, on a device, is
// queued) when called and writes into a tensor the backend owns. Read waits for queued
// work. Every op checks its operands' types and shapes and returns an error for a case
// it cannot take; none panics.
type Backend interface {
	// Name identifies the backend: "cpu", "openblas", "cuda".
	Name() string
	// Upload makes a weight tensor from a GGUF tensor's data, kept as stored (a
	// quantized weight stays quantized). Host backends may keep a view of data, which
	// must then stay valid (mapped) while the tensor is used.
	Upload(info *gguf.TensorInfo, data []byte) (Tensor, error)
	// Alloc makes a zeroed tensor for activations, caches and scratch (F32, F16 or I32).
	Alloc(name string, dt DType, shape ...int) (Tensor, error)
	// View is a zero-copy tensor over part of t: the outermost-dimension slices
	// [start, end). For a weight matrix that is a range of rows, for a 3-D expert
	// tensor a range of experts.
	View(t Tensor, start, end int) (Tensor, error)
	// Reshape is a zero-copy tensor over all of t with another shape of the same size.
	Reshape(t Tensor, shape ...int) (Tensor, error)
	// Write copies host values into an F32, F16 or I32 tensor (I32 values given as
	// float32 integers are refused: use WriteInt32).
	Write(t Tensor, src []float32) error
	// WriteInt32 copies host values into an I32 tensor.
	WriteInt32(t Tensor, src []int32) error
	// Read copies a tensor into host memory as F32 (quantized tensors are dequantized),
	// after all queued work.
	Read(t Tensor, dst []float32) error
	// ReadInt32 copies an I32 tensor into host memory.
	ReadInt32(t Tensor, dst []int32) error
	// NewKVCache allocates a cache for layers of cells holding K rows of kDim and V
	// rows of vDim values each, of type dt (F32 or F16).
	NewKVCache(layers, cells, kDim, vDim int, dt DType) (*KVCache, error)
	// Close releases the backend's resources.
	Close() error

	Ops
}

// Ops is the op set. Shapes are outermost first. "Rows" are the innermost dimension;
// an op over rows treats a tensor of shape [a, b, d] as a·b rows of d values.
type Ops interface {
	// MatMul: dst[n, out] = x[n, in] · w[out, in]ᵀ for a weight w of any supported
	// type. x and dst may have more leading dimensions; they are flattened into n.
	MatMul(dst, x, w Tensor) error
	// MatMulID is the expert-gather product of mixture-of-experts layers (ggml's
	// mul_mat_id): w is [experts, out, in], ids is I32 [n, k] naming each token's
	// experts, x is [n, 1, in] (one input row per token, shared by its experts) or
	// [n, k, in] (one per token and expert); dst[t, j] = x[t, j or 0] · w[ids[t, j]]ᵀ,
	// shape [n, k, out].
	MatMulID(dst, x, w, ids Tensor) error
	// WeightedSum combines expert outputs: dst[t] = Σ_j w[t, j]·x[t, j] for x
	// [n, k, d], w [n, k] and dst [n, d], summed in slot order.
	WeightedSum(dst, x, w Tensor) error
	// GetRows: dst[i] = table[ids[i]] as F32, for a table of any supported type.
	GetRows(dst, table Tensor, ids []int32) error
	// RMSNorm: dst = x / sqrt(mean(x²) + eps) per row, times w when w is not nil.
	RMSNorm(dst, x, w Tensor, eps float32) error
	// LayerNorm: dst = (x - mean) / sqrt(var + eps) per row, times w and plus b when
	// they are not nil.
	LayerNorm(dst, x, w, b Tensor, eps float32) error
	// RoPE rotates x [n, heads, headDim] in place; pos[i] is token i's position.
	RoPE(x Tensor, pos []int32, p RoPEParams) error
	// RoPEShift rotates rows of x [n, heads, headDim] (F32 or F16: a KV cache's keys,
	// reshaped) in place: row rows[i] by delta[i] positions, as RoPE would. Rotations
	// compose, so keys cached at position p become keys at p+delta (llama.cpp's
	// K-shift, used when a context shift moves cached tokens).
	RoPEShift(x Tensor, rows, delta []int32, p RoPEParams) error
	// Attention writes the batch's k and v ([n, headsKV, headDim]) into the cache
	// cells batch.Cells of layer, then computes dst [n, heads, headDimV] from q
	// [n, heads, headDim] over every cache cell that each token may see (see
	// AttnParams and KVCache).
	Attention(dst, q, k, v Tensor, kv *KVCache, layer int, batch *Batch, p AttnParams) error
	// SiLU: dst = x·sigmoid(x).
	SiLU(dst, x Tensor) error
	// GELU: dst = gelu(x), tanh approximation, computed as ggml does (NUMERICS.md).
	GELU(dst, x Tensor) error
	// QuickGELU: dst = x·sigmoid(1.702x) (CLIP's MLP), computed as ggml does
	// (NUMERICS.md).
	QuickGELU(dst, x Tensor) error
	// SwiGLU: dst = silu(gate) · up.
	SwiGLU(dst, gate, up Tensor) error
	// GeGLU: dst = gelu(gate) · up.
	GeGLU(dst, gate, up Tensor) error
	// Add: dst = a + b. b has a's shape, or is one row broadcast over a's rows.
	Add(dst, a, b Tensor) error
	// Mul: dst = a · b, element-wise, with Add's broadcasting.
	Mul(dst, a, b Tensor) error
	// Scale: dst = x · s.
	Scale(dst, x Tensor, s float32) error
	// Softmax over each row.
	Softmax(dst, x Tensor) error
	// TopK selects, per row of probs [n, e], the k largest entries (the lower index
	// first on ties): ids [n, k] (I32) and their values in weights [n, k], divided by
	// their sum when renorm is set.
	TopK(weights, ids, probs Tensor, k int, renorm bool) error
	// SSMConv is Mamba's causal depthwise convolution (ggml's ssm_conv) with carried
	// state. x and dst are [n, channels], tokens in order; token i continues the
	// sequence whose state is row slots[i] of state [rows, channels, kernel-1] (the
	// inputs of that sequence's previous kernel-1 tokens, oldest first), which is
	// updated in place. dst[i, c] = Σ_k window[k]·w[c, k] over the state's values
	// followed by x[i, c], summed in order; w is F32 [channels, kernel].
	SSMConv(dst, x, w, state Tensor, slots []int32) error
	// SSMScan is Mamba's selective scan (ggml's ssm_scan) with carried state. x, dt
	// and dst are [n, inner], B and C [n, dState], A [inner, dState], state [rows,
	// inner, dState] updated in place, token i using row slots[i]. Per token,
	// Δ = softplus(dt) (log1p(exp(dt)), dt itself above 20), s = s·exp(Δ·A) + B·(x·Δ),
	// dst = Σ s·C.
	SSMScan(dst, x, dt, a, b, c, state Tensor, slots []int32) error
	// SeqMean averages rows by sequence: dst [nSeq, d] row s is the mean of the rows
	// i of x [n, d] with seqs[i] == s (zero when there are none).
	SeqMean(dst, x Tensor, seqs []int32) error
}

// RoPEMode is how rotary embedding pairs dimensions.
type RoPEMode int

const (
	// RoPENormal rotates adjacent pairs (2i, 2i+1): LLaMA as converted to GGUF.
	RoPENormal RoPEMode = iota
	// RoPENeoX rotates (i, i+dims/2): GPT-NeoX, Qwen2, Phi-3, Gemma, Falcon.
	RoPENeoX
)

// RoPEParams configure RoPE, with ggml's meaning (NUMERICS.md).
type RoPEParams struct {
	Mode RoPEMode
	// Dims is the number of rotated dimensions per head (n_rot); the rest are left as
	// they are (partial rotary).
	Dims int
	// Base is the frequency base (theta).
	Base float32
	// FreqScale is 1/factor for linear and YaRN scaling; 1 (or 0) means none.
	FreqScale float32
	// ExtFactor is YaRN's extrapolation mix (1 for YaRN, 0 otherwise).
	ExtFactor float32
	// AttnFactor multiplies cos and sin (0 means 1).
	AttnFactor float32
	// BetaFast and BetaSlow bound YaRN's correction range (32 and 1 by default).
	BetaFast, BetaSlow float32
	// OrigCtx is the context length the model was trained at (YaRN).
	OrigCtx int
	// Freqs are per-pair frequency factors (rope_freqs): pair i's angle is divided by
	// Freqs[i]. Nil means none.
	Freqs []float32
}

// AttnParams configure Attention.
type AttnParams struct {
	// Scale multiplies Q·K, usually 1/sqrt(headDim).
	Scale float32
	// Causal restricts each token to cells at positions up to its own; false gives
	// bidirectional attention within the sequence (encoders).
	Causal bool
	// Window, when positive, restricts each token to cells less than Window positions
	// behind it (sliding-window attention).
	Window int
	// SoftCap, when positive, caps scores as SoftCap·tanh(s/SoftCap) (Gemma 2).
	SoftCap float32
	// MaxALiBiBias, when positive, adds ALiBi position biases with this maximum bias
	// (BLOOM uses 8).
	MaxALiBiBias float32
}

// Batch describes the tokens of one forward pass: each token's position, sequence,
// and the cache cell its K and V go to.
type Batch struct {
	Pos   []int32
	Seq   []int32
	Cells []int32
}

// Len is the number of tokens.
func (b *Batch) Len() int { return len(b.Pos) }

// Validate checks that the three slices agree and that cells are inside a cache of
// nCells (pass 0 to skip that check).
func (b *Batch) Validate(nCells int) error {
	if len(b.Seq) != len(b.Pos) || len(b.Cells) != len(b.Pos) {
		return fmt.Errorf("batch: %d positions, %d sequence ids, %d cells", len(b.Pos), len(b.Seq), len(b.Cells))
	}
	for i, c := range b.Cells {
		if c < 0 || (nCells > 0 && int(c) >= nCells) {
			return fmt.Errorf("batch: token %d: cell %d outside the cache of %d cells", i, c, nCells)
		}
	}
	return nil
}

// Cell is one slot of the KV cache: the position and sequence of the token whose K and
// V it holds. Seq < 0 marks an empty cell.
type Cell struct {
	Pos int32
	Seq int32
}

// KVCache is the attention cache: per layer, K and V tensors of [cells, dim] owned by
// the backend, and per cell the position and sequence it holds. The inference layer
// decides which cells a batch uses and keeps Cells up to date (before the forward pass
// that fills them); Attention lets a token see a cell only when the cell's sequence is
// the token's own and, when causal, its position is not after the token's.
type KVCache struct {
	K, V  []Tensor
	Cells []Cell
	DType DType
	KDim  int
	VDim  int
}

// NewKVCacheMeta fills the host side of a cache whose tensors a backend allocated.
func NewKVCacheMeta(k, v []Tensor, cells, kDim, vDim int, dt DType) *KVCache {
	c := &KVCache{K: k, V: v, Cells: make([]Cell, cells), DType: dt, KDim: kDim, VDim: vDim}
	c.Clear()
	return c
}

// Clear empties every cell.
func (c *KVCache) Clear() {
	for i := range c.Cells {
		c.Cells[i] = Cell{Pos: -1, Seq: -1}
	}
}

// Size is the number of cells.
func (c *KVCache) Size() int { return len(c.Cells) }

// Visible reports whether a token of sequence seq at position pos may attend to cell
// c under p's rules.
func (c *KVCache) Visible(cell int, seq, pos int32, p AttnParams) bool {
	cl := c.Cells[cell]
	if cl.Seq < 0 || cl.Seq != seq {
		return false
	}
	if p.Causal && cl.Pos > pos {
		return false
	}
	if p.Window > 0 && pos-cl.Pos >= int32(p.Window) {
		return false
	}
	return true
}
