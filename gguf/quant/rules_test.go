package quant

import (
	"fmt"
	"slices"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// synthModel builds the tensor list of a llama-like model: n layers, the given head
// counts and experts, a separate output unless tied.
func synthModel(t *testing.T, arch string, nLayer, nHead, nHeadKV, nExpert int, tied bool) (gguf.Metadata, []gguf.TensorInfo) {
	t.Helper()
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: gguf.MustValue(arch)},
		{Key: arch + ".block_count", Value: gguf.MustValue(uint32(nLayer))},
		{Key: arch + ".attention.head_count", Value: gguf.MustValue(uint32(nHead))},
		{Key: arch + ".attention.head_count_kv", Value: gguf.MustValue(uint32(nHeadKV))},
		{Key: "general.file_type", Value: gguf.MustValue(uint32(0))},
	}
	if nExpert > 0 {
		kvs = append(kvs, gguf.KV{Key: arch + ".expert_count", Value: gguf.MustValue(uint32(nExpert))})
	}
	meta, err := gguf.NewMetadata(kvs)
	require.NoError(t, err)
	const e, ff = 512, 1024
	ts := []gguf.TensorInfo{{Name: "token_embd.weight", Dims: []uint64{e, 1000}}, {Name: "output_norm.weight", Dims: []uint64{e}}}
	if !tied {
		ts = append(ts, gguf.TensorInfo{Name: "output.weight", Dims: []uint64{e, 1000}})
	}
	for i := 0; i < nLayer; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		ts = append(ts,
			gguf.TensorInfo{Name: p + "attn_norm.weight", Dims: []uint64{e}},
			gguf.TensorInfo{Name: p + "attn_q.weight", Dims: []uint64{e, e}},
			gguf.TensorInfo{Name: p + "attn_k.weight", Dims: []uint64{e, e / uint64(nHead/nHeadKV)}},
			gguf.TensorInfo{Name: p + "attn_v.weight", Dims: []uint64{e, e / uint64(nHead/nHeadKV)}},
			gguf.TensorInfo{Name: p + "attn_output.weight", Dims: []uint64{e, e}},
			gguf.TensorInfo{Name: p + "ffn_norm.weight", Dims: []uint64{e}},
		)
		if nExpert > 0 {
			ts = append(ts,
				gguf.TensorInfo{Name: p + "ffn_gate_inp.weight", Dims: []uint64{e, uint64(nExpert)}},
				gguf.TensorInfo{Name: p + "ffn_gate_exps.weight", Dims: []uint64{e, ff, uint64(nExpert)}},
				gguf.TensorInfo{Name: p + "ffn_up_exps.weight", Dims: []uint64{e, ff, uint64(nExpert)}},
				gguf.TensorInfo{Name: p + "ffn_down_exps.weight", Dims: []uint64{ff, e, uint64(nExpert)}},
			)
		} else {
			ts = append(ts,
				gguf.TensorInfo{Name: p + "ffn_gate.weight", Dims: []uint64{e, ff}},
				gguf.TensorInfo{Name: p + "ffn_up.weight", Dims: []uint64{e, ff}},
				gguf.TensorInfo{Name: p + "ffn_down.weight", Dims: []uint64{ff, e}},
			)
		}
	}
	for i := range ts {
		ts[i].Type = gguf.TypeF32
	}
	return meta, ts
}

func planTypes(t *testing.T, meta gguf.Metadata, ts []gguf.TensorInfo, ft gguf.FileType) map[string]gguf.Type {
	t.Helper()
	plans, err := Plan(meta, ts, ft)
	require.NoError(t, err)
	out := map[string]gguf.Type{}
	for _, p := range plans {
		out[p.Name] = p.To
	}
	return out
}

// moreBits32 are the layers of a 32-layer model that use_more_bits picks: the first and
// last 4, and every third from layer 6 (i-4 ≡ 2 mod 3).
var moreBits32 = []int{0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}

func TestRulesLlama32Layers(t *testing.T) {
	meta, ts := synthModel(t, "llama", 32, 32, 8, 0, false) // GQA 4
	q := gguf.TypeQ4_K
	got := planTypes(t, meta, ts, gguf.FileTypeQ4_K_M)
	assert.Equal(t, gguf.TypeQ6_K, got["output.weight"])
	assert.Equal(t, q, got["token_embd.weight"])
	assert.Equal(t, gguf.TypeF32, got["output_norm.weight"])
	for i := 0; i < 32; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		want := q
		if slices.Contains(moreBits32, i) {
			want = gguf.TypeQ6_K
		}
		assert.Equal(t, want, got[p+"attn_v.weight"], p)
		assert.Equal(t, want, got[p+"ffn_down.weight"], p)
		assert.Equal(t, q, got[p+"attn_q.weight"], p)
		assert.Equal(t, q, got[p+"ffn_up.weight"], p)
		assert.Equal(t, gguf.TypeF32, got[p+"attn_norm.weight"], p)
	}

	got = planTypes(t, meta, ts, gguf.FileTypeQ3_K_M)
	for i := 0; i < 32; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		v, down := gguf.TypeQ4_K, gguf.TypeQ4_K
		if i < 2 {
			v, down = gguf.TypeQ5_K, gguf.TypeQ5_K // attn_v: first two; ffn_down: n/16
		}
		assert.Equal(t, v, got[p+"attn_v.weight"], p)
		assert.Equal(t, down, got[p+"ffn_down.weight"], p)
		assert.Equal(t, gguf.TypeQ4_K, got[p+"attn_output.weight"], p)
		assert.Equal(t, gguf.TypeQ3_K, got[p+"attn_q.weight"], p)
	}

	got = planTypes(t, meta, ts, gguf.FileTypeQ2_K)
	assert.Equal(t, gguf.TypeQ4_K, got["blk.5.attn_v.weight"], "GQA >= 4")
	assert.Equal(t, gguf.TypeQ3_K, got["blk.5.ffn_down.weight"])
	assert.Equal(t, gguf.TypeQ3_K, got["blk.5.attn_output.weight"])
	assert.Equal(t, gguf.TypeQ2_K, got["blk.5.ffn_gate.weight"])
	assert.Equal(t, gguf.TypeQ6_K, got["output.weight"])

	got = planTypes(t, meta, ts, gguf.FileTypeQ4_K_S)
	assert.Equal(t, gguf.TypeQ5_K, got["blk.3.attn_v.weight"])
	assert.Equal(t, gguf.TypeQ4_K, got["blk.4.attn_v.weight"])
	assert.Equal(t, gguf.TypeQ5_K, got["blk.3.ffn_down.weight"])
	assert.Equal(t, gguf.TypeQ4_K, got["blk.4.ffn_down.weight"])

	got = planTypes(t, meta, ts, gguf.FileTypeQ5_K_M)
	assert.Equal(t, gguf.TypeQ6_K, got["blk.6.attn_v.weight"])
	assert.Equal(t, gguf.TypeQ5_K, got["blk.7.attn_v.weight"])

	got = planTypes(t, meta, ts, gguf.FileTypeQ3_K_L)
	assert.Equal(t, gguf.TypeQ5_K, got["blk.7.attn_v.weight"])
	assert.Equal(t, gguf.TypeQ5_K, got["blk.7.ffn_down.weight"])
	assert.Equal(t, gguf.TypeQ5_K, got["blk.7.attn_output.weight"])

	// Legacy types keep the output at Q6_K; F16 converts everything that is quantized.
	got = planTypes(t, meta, ts, gguf.FileTypeQ4_0)
	assert.Equal(t, gguf.TypeQ6_K, got["output.weight"])
	assert.Equal(t, gguf.TypeQ4_0, got["blk.0.attn_v.weight"])
	got = planTypes(t, meta, ts, gguf.FileTypeQ8_0)
	assert.Equal(t, gguf.TypeQ8_0, got["output.weight"])
	got = planTypes(t, meta, ts, gguf.FileTypeF16)
	assert.Equal(t, gguf.TypeF16, got["output.weight"])
	assert.Equal(t, gguf.TypeF32, got["blk.0.attn_norm.weight"])
}

func TestRules70BAndExperts(t *testing.T) {
	meta, ts := synthModel(t, "llama", 80, 64, 8, 0, false)
	got := planTypes(t, meta, ts, gguf.FileTypeQ3_K_S)
	assert.Equal(t, gguf.TypeQ5_K, got["blk.40.attn_v.weight"], "70B bumps attn_v")

	meta, ts = synthModel(t, "llama", 4, 32, 8, 8, false)
	got = planTypes(t, meta, ts, gguf.FileTypeQ4_K_M)
	assert.Equal(t, gguf.TypeQ8_0, got["blk.2.attn_v.weight"])
	assert.Equal(t, gguf.TypeQ8_0, got["blk.2.attn_k.weight"])
	assert.Equal(t, gguf.TypeF32, got["blk.2.ffn_gate_inp.weight"], "router stays F32")
	// Experts: the layer comes from the name. With 4 layers use_more_bits picks layer 3
	// (>= 7*4/8) and layer 2 ((2-0)%3 == 2).
	assert.Equal(t, gguf.TypeQ4_K, got["blk.0.ffn_down_exps.weight"])
	assert.Equal(t, gguf.TypeQ4_K, got["blk.1.ffn_down_exps.weight"])
	assert.Equal(t, gguf.TypeQ6_K, got["blk.2.ffn_down_exps.weight"])
	assert.Equal(t, gguf.TypeQ6_K, got["blk.3.ffn_down_exps.weight"])
	assert.Equal(t, gguf.TypeQ5_K, got["blk.3.attn_output.weight"], "8 experts")
	assert.Equal(t, gguf.TypeQ4_K, got["blk.3.ffn_up_exps.weight"])
	got = planTypes(t, meta, ts, gguf.FileTypeQ6_K)
	assert.Equal(t, gguf.TypeQ6_K, got["blk.3.attn_output.weight"])
}

func TestRulesTiedFallbackAndKept(t *testing.T) {
	meta, ts := synthModel(t, "llama", 2, 4, 4, 0, true)
	ts = append(ts,
		gguf.TensorInfo{Name: "position_embd.weight", Type: gguf.TypeF32, Dims: []uint64{512, 128}},
		gguf.TensorInfo{Name: "token_types.weight", Type: gguf.TypeF32, Dims: []uint64{512, 2}},
		gguf.TensorInfo{Name: "blk.0.ssm_conv1d.weight", Type: gguf.TypeF32, Dims: []uint64{4, 512}},
		gguf.TensorInfo{Name: "blk.0.ssm_dt.weight", Type: gguf.TypeF32, Dims: []uint64{32, 512}},
		gguf.TensorInfo{Name: "blk.0.ssm_a", Type: gguf.TypeF32, Dims: []uint64{16, 512}},
		gguf.TensorInfo{Name: "blk.0.odd.weight", Type: gguf.TypeF32, Dims: []uint64{48, 16}},
		gguf.TensorInfo{Name: "blk.0.attn_q.bias", Type: gguf.TypeF32, Dims: []uint64{512}},
		gguf.TensorInfo{Name: "blk.0.column.weight", Type: gguf.TypeF32, Dims: []uint64{512, 1}},
		gguf.TensorInfo{Name: "blk.0.f16.weight", Type: gguf.TypeF16, Dims: []uint64{256, 4}},
	)
	got := planTypes(t, meta, ts, gguf.FileTypeQ4_K_M)
	assert.Equal(t, gguf.TypeQ6_K, got["token_embd.weight"], "tied embedding takes the output's rule")
	for _, kept := range []string{"position_embd.weight", "token_types.weight", "blk.0.ssm_conv1d.weight",
		"blk.0.ssm_a", "blk.0.attn_q.bias", "blk.0.column.weight"} {
		assert.Equal(t, gguf.TypeF32, got[kept], kept)
	}
	assert.Equal(t, gguf.TypeQ5_0, got["blk.0.ssm_dt.weight"], "Q4_K rows of 32 fall back to Q5_0")
	assert.Equal(t, gguf.TypeF16, got["blk.0.odd.weight"], "rows of 48 fit no block: F16")
	assert.Equal(t, gguf.TypeQ4_K, got["blk.0.f16.weight"])

	got = planTypes(t, meta, ts, gguf.FileTypeQ3_K_S)
	assert.Equal(t, gguf.TypeIQ4_NL, got["blk.0.ssm_dt.weight"], "Q3_K falls back to IQ4_NL")
	got = planTypes(t, meta, ts, gguf.FileTypeQ5_K_S)
	assert.Equal(t, gguf.TypeQ5_1, got["blk.0.ssm_dt.weight"])
	got = planTypes(t, meta, ts, gguf.FileTypeQ6_K)
	assert.Equal(t, gguf.TypeQ8_0, got["blk.0.ssm_dt.weight"])

	// A tied embedding with rows of 288: for Q4_K_M the output rule itself picks Q8_0
	// (288 is not a multiple of Q4_K's 256); for Q4_0 it picks Q6_K (288 is a multiple of
	// Q4_0's 32), which then falls back to Q8_0.
	meta2, ts2 := synthModel(t, "llama", 2, 4, 4, 0, true)
	ts2[0].Dims = []uint64{288, 1000}
	for _, ft := range []gguf.FileType{gguf.FileTypeQ4_0, gguf.FileTypeQ4_K_M} {
		plans, err := Plan(meta2, ts2, ft)
		require.NoError(t, err)
		i := slices.IndexFunc(plans, func(p TensorPlan) bool { return p.Name == "token_embd.weight" })
		assert.Equal(t, gguf.TypeQ8_0, plans[i].To, ft)
		assert.Equal(t, ft == gguf.FileTypeQ4_0, plans[i].Fallback, ft)
	}
}

func TestPlanOrderAndErrors(t *testing.T) {
	meta, ts := synthModel(t, "llama", 12, 4, 4, 0, false)
	slices.Reverse(ts)
	plans, err := Plan(meta, ts, gguf.FileTypeQ8_0)
	require.NoError(t, err)
	var names []string
	for _, p := range plans[:6] {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"output.weight", "output_norm.weight", "token_embd.weight",
		"blk.0.attn_k.weight", "blk.0.attn_norm.weight", "blk.0.attn_output.weight"}, names)
	assert.Equal(t, "blk.1.attn_k.weight", plans[3+9].Name, "blk.2 sorts after blk.1, blk.10 after blk.9")
	assert.Equal(t, "blk.11.ffn_up.weight", plans[len(plans)-1].Name)

	_, err = Plan(meta, ts, gguf.FileType(99))
	assert.Error(t, err)
	bad := append(slices.Clone(ts), gguf.TensorInfo{Name: "blk.0.weird.weight", Type: gguf.TypeF32, Dims: []uint64{20, 4}})
	_, err = Plan(meta, bad, gguf.FileTypeQ4_0)
	assert.ErrorContains(t, err, "blk.0.weird.weight")

	meta, ts = synthModel(t, "llama", 2, 4, 4, 4, false)
	ts = append(ts, gguf.TensorInfo{Name: "ffn_down_exps.weight", Type: gguf.TypeF32, Dims: []uint64{1024, 512, 4}})
	_, err = Plan(meta, ts, gguf.FileTypeQ4_K_M)
	assert.ErrorContains(t, err, "layer")
}

func TestLayerOf(t *testing.T) {
	assert.Equal(t, 12, layerOf("blk.12.attn_q.weight"))
	assert.Equal(t, -1, layerOf("output.weight"))
	assert.Equal(t, -1, layerOf("blk.x.attn_q.weight"))
	assert.Equal(t, 3, layerOf("blk.3x"))
}
