package quant

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/golem-llm/golem/gguf"
)

// This file holds llama-quantize's choice of each tensor's type, as llama.cpp made it at
// commit c392e509 (src/llama-quant.cpp: the ftype's base type, which tensors are
// quantized at all, llama_tensor_get_type's per-tensor promotions, the fall-backs for
// rows that are not a whole number of blocks, and the order tensors are written in).

// DefaultType is the base tensor type of a file type: what most weight matrices get.
func DefaultType(ft gguf.FileType) (gguf.Type, error) {
	switch ft {
	case gguf.FileTypeAllF32:
		return gguf.TypeF32, nil
	case gguf.FileTypeF16:
		return gguf.TypeF16, nil
	case gguf.FileTypeBF16:
		return gguf.TypeBF16, nil
	case gguf.FileTypeQ4_0:
		return gguf.TypeQ4_0, nil
	case gguf.FileTypeQ4_1:
		return gguf.TypeQ4_1, nil
	case gguf.FileTypeQ5_0:
		return gguf.TypeQ5_0, nil
	case gguf.FileTypeQ5_1:
		return gguf.TypeQ5_1, nil
	case gguf.FileTypeQ8_0:
		return gguf.TypeQ8_0, nil
	case gguf.FileTypeQ2_K, gguf.FileTypeQ2_K_S:
		return gguf.TypeQ2_K, nil
	case gguf.FileTypeQ3_K_S, gguf.FileTypeQ3_K_M, gguf.FileTypeQ3_K_L:
		return gguf.TypeQ3_K, nil
	case gguf.FileTypeQ4_K_S, gguf.FileTypeQ4_K_M:
		return gguf.TypeQ4_K, nil
	case gguf.FileTypeQ5_K_S, gguf.FileTypeQ5_K_M:
		return gguf.TypeQ5_K, nil
	case gguf.FileTypeQ6_K:
		return gguf.TypeQ6_K, nil
	case gguf.FileTypeTQ1_0:
		return gguf.TypeTQ1_0, nil
	case gguf.FileTypeTQ2_0:
		return gguf.TypeTQ2_0, nil
	case gguf.FileTypeIQ2_XXS:
		return gguf.TypeIQ2_XXS, nil
	case gguf.FileTypeIQ2_XS:
		return gguf.TypeIQ2_XS, nil
	case gguf.FileTypeIQ2_S, gguf.FileTypeIQ2_M:
		return gguf.TypeIQ2_S, nil
	case gguf.FileTypeIQ3_XXS:
		return gguf.TypeIQ3_XXS, nil
	case gguf.FileTypeIQ1_S:
		return gguf.TypeIQ1_S, nil
	case gguf.FileTypeIQ1_M:
		return gguf.TypeIQ1_M, nil
	case gguf.FileTypeIQ4_NL:
		return gguf.TypeIQ4_NL, nil
	case gguf.FileTypeIQ4_XS:
		return gguf.TypeIQ4_XS, nil
	case gguf.FileTypeIQ3_S, gguf.FileTypeIQ3_M, gguf.FileTypeIQ3_XS:
		return gguf.TypeIQ3_S, nil
	}
	return 0, fmt.Errorf("file type %s cannot be produced by quantization", ft)
}

// TensorPlan is the quantizer's decision for one tensor.
type TensorPlan struct {
	Name string
	Dims []uint64
	From gguf.Type // the type in the input file
	To   gguf.Type // the type in the output file
	// Convert is false when the data is copied unchanged (To == From).
	Convert bool
	// Fallback is set when the rule's type did not fit the row length and a type with
	// smaller blocks (or F16) was used instead.
	Fallback bool
}

// modelInfo is what the rules read from the hyper-parameters.
type modelInfo struct {
	arch      string
	nLayer    int
	nExpert   int
	nGQA      int
	is70B     bool
	hasOutput bool
	nAttnWV   int
}

func readModelInfo(meta gguf.Metadata, names []string) modelInfo {
	arch := meta.Architecture()
	key := func(s string) string { return arch + "." + s }
	u := func(s string) int {
		v, err := meta.Uint(key(s))
		if err != nil {
			return 0
		}
		return int(v)
	}
	// head counts may be per-layer arrays; the rules use layer 0's.
	firstOf := func(s string) (int, bool) {
		if v, err := meta.Uint(key(s)); err == nil {
			return int(v), true
		}
		if a, err := meta.Int32s(key(s)); err == nil && len(a) > 0 {
			return int(a[0]), true
		}
		return 0, false
	}
	mi := modelInfo{arch: arch, nLayer: u("block_count"), nExpert: u("expert_count")}
	nHead, _ := firstOf("attention.head_count")
	nHeadKV, ok := firstOf("attention.head_count_kv")
	if !ok {
		nHeadKV = nHead
	}
	if nHeadKV > 0 {
		mi.nGQA = nHead / nHeadKV
	}
	switch arch {
	case "llama":
		mi.is70B = mi.nExpert != 8 && mi.nLayer == 80 && nHead != nHeadKV
	case "qwen2", "deci":
		mi.is70B = mi.nLayer == 80
	}
	for _, n := range names {
		if strings.Contains(n, "attn_v.weight") || strings.Contains(n, "attn_qkv.weight") || strings.Contains(n, "attn_kv_b.weight") {
			mi.nAttnWV++
		} else if n == "output.weight" {
			mi.hasOutput = true
		}
	}
	return mi
}

// parseLayer reads the N of a name "blk.N...." as C's sscanf("blk.%d.") does.
func parseLayer(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return 0, false
	}
	rest = strings.TrimLeft(rest, " \t\n\v\f\r")
	end := 0
	if end < len(rest) && (rest[end] == '+' || rest[end] == '-') {
		end++
	}
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil {
		return 0, false
	}
	return n, true
}

// layerOf is the layer a tensor sorts under: its blk.N, or -1 for the others.
func layerOf(name string) int {
	if n, ok := parseLayer(name); ok {
		return n
	}
	return -1
}

// sortTensors orders tensors as llama.cpp's model loader does (and so the quantizer
// writes them): by layer number (tensors outside blk.N first), then by name.
func sortTensors(ts []gguf.TensorInfo) []gguf.TensorInfo {
	out := slices.Clone(ts)
	slices.SortStableFunc(out, func(a, b gguf.TensorInfo) int {
		if c := cmp.Compare(layerOf(a.Name), layerOf(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// nDims is ggml_n_dims: the number of dimensions ignoring trailing ones.
func nDims(dims []uint64) int {
	n := len(dims)
	for n > 1 && dims[n-1] == 1 {
		n--
	}
	return n
}

// shouldQuantize reports whether llama-quantize converts the tensor at all; the rest
// (1-D tensors, norms, the MoE router, position and token-type embeddings, Mamba's conv,
// A and D, RWKV's small matrices, T5's relative bias) is copied as it is.
func shouldQuantize(name string, dims []uint64) bool {
	if !strings.HasSuffix(name, "weight") || nDims(dims) < 2 {
		return false
	}
	if name == "position_embd.weight" || name == "token_types.weight" {
		return false
	}
	for _, s := range []string{
		"_norm.weight", "ffn_gate_inp.weight", "ssm_conv1d.weight", "attn_rel_b.weight",
		"time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
		"time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
		"time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
		"time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
	} {
		if strings.Contains(name, s) {
			return false
		}
	}
	return true
}

// chooser carries llama_tensor_get_type's state: counters of the attn_v and FFN tensors
// seen so far, which decide the "more bits" layers of the mixes.
type chooser struct {
	ft                                  gguf.FileType
	mi                                  modelInfo
	iAttnWV, iFFNDown, iFFNGate, iFFNUp int
}

func useMoreBits(i, n int) bool { return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2 }

func (c *chooser) layerInfo(i int, name string) (int, int, error) {
	n := c.mi.nLayer
	if c.mi.nExpert > 1 {
		// Experts' FFN tensors are not in layer order: read the layer from the name.
		l, ok := parseLayer(name)
		if !ok {
			return 0, 0, fmt.Errorf("cannot determine the layer of tensor %s", name)
		}
		if i = l; i < 0 || i >= n {
			return 0, 0, fmt.Errorf("tensor %s: layer %d is not in [0, %d)", name, i, n)
		}
	}
	return i, n, nil
}

func (c *chooser) is(fts ...gguf.FileType) bool { return slices.Contains(fts, c.ft) }

// tensorType is llama_tensor_get_type for a tensor that is to be quantized.
func (c *chooser) tensorType(name string, dims []uint64, t gguf.Type) (gguf.Type, bool, error) {
	const (
		IQ2_XXS = gguf.FileTypeIQ2_XXS
		IQ2_XS  = gguf.FileTypeIQ2_XS
		IQ2_S   = gguf.FileTypeIQ2_S
		IQ2_M   = gguf.FileTypeIQ2_M
		IQ1_S   = gguf.FileTypeIQ1_S
		IQ1_M   = gguf.FileTypeIQ1_M
		IQ3_XXS = gguf.FileTypeIQ3_XXS
		IQ3_XS  = gguf.FileTypeIQ3_XS
		IQ3_S   = gguf.FileTypeIQ3_S
		IQ3_M   = gguf.FileTypeIQ3_M
		IQ4_NL  = gguf.FileTypeIQ4_NL
		IQ4_XS  = gguf.FileTypeIQ4_XS
		Q2_K    = gguf.FileTypeQ2_K
		Q2_K_S  = gguf.FileTypeQ2_K_S
		Q3_K_S  = gguf.FileTypeQ3_K_S
		Q3_K_M  = gguf.FileTypeQ3_K_M
		Q3_K_L  = gguf.FileTypeQ3_K_L
		Q4_K_S  = gguf.FileTypeQ4_K_S
		Q4_K_M  = gguf.FileTypeQ4_K_M
		Q5_K_M  = gguf.FileTypeQ5_K_M
	)
	mi := &c.mi
	falcon := mi.arch == "falcon"
	has := func(s string) bool { return strings.Contains(name, s) }
	switch {
	case name == "output.weight" || (!mi.hasOutput && name == "token_embd.weight"):
		// The output projection (or a tied embedding) gets more bits.
		switch {
		case falcon || dims[0]%uint64(t.BlockSize()) != 0:
			t = gguf.TypeQ8_0
		case c.is(IQ2_XXS, IQ2_XS, IQ3_XXS, IQ1_S, IQ2_S, IQ2_M, IQ1_M):
			t = gguf.TypeQ5_K
		case t != gguf.TypeQ8_0:
			t = gguf.TypeQ6_K
		}
	case name == "token_embd.weight":
		switch {
		case c.is(IQ2_XXS, IQ2_XS, IQ1_S, IQ1_M):
			t = gguf.TypeQ2_K
		case c.is(IQ2_S, IQ2_M, IQ3_XXS):
			t = gguf.TypeIQ3_S
		case c.is(gguf.FileTypeTQ1_0, gguf.FileTypeTQ2_0):
			t = gguf.TypeQ4_K
		}
	case c.is(IQ2_XXS, IQ2_XS, IQ1_S, IQ2_S, IQ2_M, IQ1_M):
		iq3sOrQ2K := gguf.TypeQ2_K
		if c.is(IQ2_S, IQ2_M) {
			iq3sOrQ2K = gguf.TypeIQ3_S
		}
		switch {
		case has("attn_v.weight"):
			if mi.nGQA >= 4 || mi.nExpert >= 4 {
				t = gguf.TypeQ4_K
			} else {
				t = iq3sOrQ2K
			}
			c.iAttnWV++
		case mi.nExpert == 8 && has("attn_k.weight"):
			t = gguf.TypeQ4_K
		case has("ffn_down"):
			if c.iFFNDown < mi.nLayer/8 {
				t = iq3sOrQ2K
			}
			c.iFFNDown++
		case has("attn_output.weight"):
			switch {
			case mi.nExpert == 8:
				t = gguf.TypeQ5_K
			case c.is(IQ1_S, IQ1_M):
				t = gguf.TypeIQ2_XXS
			case c.is(IQ2_S, IQ2_M):
				t = gguf.TypeIQ3_S
			}
		}
	case has("attn_v.weight"):
		switch {
		case c.is(Q2_K):
			t = gguf.TypeQ3_K
			if mi.nGQA >= 4 {
				t = gguf.TypeQ4_K
			}
		case c.is(Q2_K_S) && mi.nGQA >= 4:
			t = gguf.TypeQ4_K
		case c.is(IQ3_XXS):
			t = gguf.TypeIQ3_S // no importance matrix
			if mi.nGQA >= 4 {
				t = gguf.TypeQ4_K
			}
		case c.is(IQ3_XS, IQ3_S) && mi.nGQA >= 4:
			t = gguf.TypeQ4_K
		case c.is(IQ3_M):
			t = gguf.TypeQ4_K
		case c.is(Q3_K_M):
			t = gguf.TypeQ4_K
			if c.iAttnWV < 2 {
				t = gguf.TypeQ5_K
			}
		case c.is(Q3_K_L):
			t = gguf.TypeQ5_K
		case c.is(IQ4_NL, IQ4_XS) && mi.nGQA >= 4:
			t = gguf.TypeQ5_K
		case c.is(Q4_K_M, Q5_K_M) && useMoreBits(c.iAttnWV, mi.nAttnWV):
			t = gguf.TypeQ6_K
		case c.is(Q4_K_S) && c.iAttnWV < 4:
			t = gguf.TypeQ5_K
		}
		if mi.is70B && (t == gguf.TypeQ3_K || t == gguf.TypeQ4_K) {
			t = gguf.TypeQ5_K
		}
		if mi.nExpert == 8 {
			t = gguf.TypeQ8_0
		}
		c.iAttnWV++
	case has("attn_k.weight"):
		switch {
		case mi.nExpert == 8:
			t = gguf.TypeQ8_0
		case c.is(IQ3_XS):
			t = gguf.TypeIQ3_XXS
		case c.is(IQ3_XXS):
			t = gguf.TypeIQ2_S
		}
	case has("attn_q.weight"):
		switch {
		case c.is(IQ3_XS):
			t = gguf.TypeIQ3_XXS
		case c.is(IQ3_XXS):
			t = gguf.TypeIQ2_S
		}
	case has("ffn_down"):
		i, n, err := c.layerInfo(c.iFFNDown, name)
		if err != nil {
			return 0, false, err
		}
		switch {
		case c.is(Q2_K):
			t = gguf.TypeQ3_K
		case c.is(Q2_K_S):
			if i < n/8 {
				t = gguf.TypeQ4_K
			}
		case c.is(IQ3_XXS): // no importance matrix
			t = gguf.TypeQ3_K
			if i < n/8 {
				t = gguf.TypeQ4_K
			}
		case c.is(Q3_K_M):
			switch {
			case i < n/16:
				t = gguf.TypeQ5_K
			case !falcon || useMoreBits(i, n):
				t = gguf.TypeQ4_K
			default:
				t = gguf.TypeQ3_K
			}
		case c.is(IQ3_M) && (i < n/8 || (mi.nExpert == 8 && useMoreBits(i, n))):
			t = gguf.TypeQ4_K
		case c.is(Q3_K_L):
			t = gguf.TypeQ5_K
			if falcon {
				t = gguf.TypeQ4_K
			}
		case c.is(Q4_K_M):
			if falcon {
				switch {
				case i < n/16:
					t = gguf.TypeQ6_K
				case useMoreBits(i, n):
					t = gguf.TypeQ5_K
				default:
					t = gguf.TypeQ4_K
				}
			} else if useMoreBits(i, n) {
				t = gguf.TypeQ6_K
			}
		case i < n/8 && c.is(IQ4_NL, IQ4_XS): // no importance matrix
			t = gguf.TypeQ5_K
		case c.is(Q5_K_M) && useMoreBits(i, n):
			t = gguf.TypeQ6_K
		case c.is(Q4_K_S) && !falcon && i < n/8:
			t = gguf.TypeQ5_K
		}
		c.iFFNDown++
	case has("attn_output.weight"):
		if !falcon {
			if mi.nExpert == 8 {
				if c.is(Q2_K, IQ3_XS, IQ3_XXS, Q3_K_S, Q3_K_M, IQ4_NL, Q4_K_S, Q4_K_M, IQ3_S, IQ3_M, IQ4_XS) {
					t = gguf.TypeQ5_K
				}
			} else {
				switch {
				case c.is(Q2_K):
					t = gguf.TypeQ3_K
				case c.is(IQ3_XXS):
					t = gguf.TypeIQ3_S
				case c.is(Q3_K_M):
					t = gguf.TypeQ4_K
				case c.is(Q3_K_L):
					t = gguf.TypeQ5_K
				case c.is(IQ3_M):
					t = gguf.TypeQ4_K
				}
			}
		} else if c.is(Q3_K_L) {
			t = gguf.TypeQ4_K
		}
	case has("attn_qkv.weight"):
		switch {
		case c.is(Q3_K_M, Q3_K_L, IQ3_M):
			t = gguf.TypeQ4_K
		case c.is(Q4_K_M):
			t = gguf.TypeQ5_K
		case c.is(Q5_K_M):
			t = gguf.TypeQ6_K
		}
	case has("ffn_gate"):
		i, n, err := c.layerInfo(c.iFFNGate, name)
		if err != nil {
			return 0, false, err
		}
		if c.is(IQ3_XS) && i >= n/8 && i < 7*n/8 {
			t = gguf.TypeIQ3_XXS
		}
		c.iFFNGate++
	case has("ffn_up"):
		i, n, err := c.layerInfo(c.iFFNUp, name)
		if err != nil {
			return 0, false, err
		}
		if c.is(IQ3_XS) && i >= n/8 && i < 7*n/8 {
			t = gguf.TypeIQ3_XXS
		}
		c.iFFNUp++
	}
	return fallback(name, dims[0], t)
}

// fallback replaces a type whose blocks do not divide the row length nx.
func fallback(name string, nx uint64, t gguf.Type) (gguf.Type, bool, error) {
	if nx%uint64(t.BlockSize()) == 0 {
		return t, false, nil
	}
	var f gguf.Type
	switch t {
	case gguf.TypeTQ1_0, gguf.TypeTQ2_0:
		f = gguf.TypeQ4_0
	case gguf.TypeIQ2_XXS, gguf.TypeIQ2_XS, gguf.TypeIQ2_S, gguf.TypeIQ3_XXS, gguf.TypeIQ3_S,
		gguf.TypeIQ1_S, gguf.TypeIQ1_M, gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeIQ4_XS:
		f = gguf.TypeIQ4_NL
	case gguf.TypeQ4_K:
		f = gguf.TypeQ5_0
	case gguf.TypeQ5_K:
		f = gguf.TypeQ5_1
	case gguf.TypeQ6_K:
		f = gguf.TypeQ8_0
	default:
		return 0, false, fmt.Errorf("tensor %s: rows of %d elements do not fit %s's blocks of %d, and it has no fall-back type",
			name, nx, t, t.BlockSize())
	}
	if nx%uint64(f.BlockSize()) != 0 {
		f = gguf.TypeF16
	}
	return f, true, nil
}

// Plan decides, for a model with metadata meta and tensors, the order and type of every
// tensor of its quantization to ft, as llama-quantize (without importance matrix or
// overrides) would.
func Plan(meta gguf.Metadata, tensors []gguf.TensorInfo, ft gguf.FileType) ([]TensorPlan, error) {
	def, err := DefaultType(ft)
	if err != nil {
		return nil, err
	}
	sorted := sortTensors(tensors)
	names := make([]string, len(sorted))
	for i, t := range sorted {
		names[i] = t.Name
	}
	c := &chooser{ft: ft, mi: readModelInfo(meta, names)}
	plans := make([]TensorPlan, 0, len(sorted))
	for _, ti := range sorted {
		p := TensorPlan{Name: ti.Name, Dims: ti.Dims, From: ti.Type, To: ti.Type}
		if shouldQuantize(ti.Name, ti.Dims) {
			to := def
			if def.Quantized() {
				if to, p.Fallback, err = c.tensorType(ti.Name, ti.Dims, def); err != nil {
					return nil, err
				}
			}
			if to != ti.Type {
				p.To, p.Convert = to, true
			} else {
				p.Fallback = false
			}
		}
		plans = append(plans, p)
	}
	return plans, nil
}
