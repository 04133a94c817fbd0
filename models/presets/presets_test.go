package presets

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
	"github.com/golem-llm/golem/models/tokenizer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParams checks parameter counts worked out by hand from the published configs.
func TestParams(t *testing.T) {
	// A LLaMA-style decoder: embeddings V·n (and the output again unless tied), per
	// layer two norms (2n), q and o (2·n·n_head·hd), k and v (2·n·n_kv·hd), the SwiGLU
	// MLP (3·n·n_ff), and the final norm n.
	llama := func(v, n, layers, ff, heads, kvHeads, hd int, tied bool) uint64 {
		perLayer := 2*n + 2*n*heads*hd + 2*n*kvHeads*hd + 3*n*ff
		emb := v * n
		if !tied {
			emb *= 2
		}
		return uint64(emb + layers*perLayer + n)
	}
	for _, c := range []struct {
		name string
		want uint64
	}{
		// TinyLlama-1.1B config.json: vocab 32000, hidden 2048, 22 layers, intermediate
		// 5632, 32 heads, 4 KV heads: 1,100,048,384 (HF's model card: 1.1B).
		{"tinyllama-1.1b", llama(32000, 2048, 22, 5632, 32, 4, 64, false)},
		// Llama-2-7b-hf: 32000, 4096, 32 layers, 11008, 32/32 heads: 6,738,415,616, the
		// number Meta and llama.cpp print for LLaMA 2 7B.
		{"llama2-7b", 6_738_415_616},
		{"llama2-7b", llama(32000, 4096, 32, 11008, 32, 32, 128, false)},
		// Meta-Llama-3-8B: 128256, 4096, 32, 14336, 32/8: 8,030,261,248.
		{"llama3-8b", llama(128256, 4096, 32, 14336, 32, 8, 128, false)},
		{"llama3-8b", 8_030_261_248},
		// Mistral-7B-v0.1: 32000, 4096, 32, 14336, 32/8: 7,241,732,096.
		{"mistral-7b", 7_241_732_096},
		// Mixtral-8x7B: the Mistral shape with 8 experts' MLPs and a router (n·8) per
		// layer: 46,702,792,704.
		{"mixtral-8x7b", llama(32000, 4096, 32, 14336, 32, 8, 128, false) + 32*(7*3*4096*14336+4096*8)},
		// Qwen2-0.5B: 151936, 896, 24, 4864, 14/2, tied, plus q/k/v biases
		// (896+2·128 per layer): 494,032,768.
		{"qwen2-0.5b", llama(151936, 896, 24, 4864, 14, 2, 64, true) + 24*(896+2*128)},
		// Qwen2-7B: 152064, 3584, 28, 18944, 28/4, plus biases: 7,615,616,512.
		{"qwen2-7b", llama(152064, 3584, 28, 18944, 28, 4, 128, false) + 28*(3584+2*512)},
		// gemma-2b: 256000, 2048, 18, 16384, 8 heads of 256, one KV head, tied:
		// 2,506,172,416.
		{"gemma-2b", llama(256000, 2048, 18, 16384, 8, 1, 256, true)},
		{"gemma-2b", 2_506_172_416},
		// gemma-2-2b: 256000, 2304, 26, 9216, 8 heads of 256, 4 KV heads, tied, plus
		// two post-norms per layer: 2,614,341,888 (the published count).
		{"gemma2-2b", llama(256000, 2304, 26, 9216, 8, 4, 256, true) + 26*2*2304},
		{"gemma2-2b", 2_614_341_888},
		// pythia-1.4b: 50304, 2048, 24 layers, 8192: embeddings and output 2·V·n,
		// per layer 2 LayerNorms (4n), qkv n·3n+3n, dense n·n+n, MLP 2·n·ff+ff+n,
		// final LayerNorm 2n: 1,414,647,808 (EleutherAI's published count).
		{"gptneox-1.4b", 1_414_647_808},
		// bloom-560m: 559,214,592 (the model card), plus the output projection the
		// converter copies from the embeddings (250880·1024).
		{"bloom-560m", 559_214_592 + 250880*1024},
		// gpt2: 124,439,808 (HF), plus the copied output projection 50257·768.
		{"gpt2", 124_439_808 + 50257*768},
		// falcon-7b: 6,921,720,704 (HF), tied.
		{"falcon-7b", 6_921_720_704},
		// mamba-130m: V·n = 50280·768, per layer norm n, in_proj n·2di, conv 4·di+di,
		// x_proj di·(48+32), dt_proj 48·di+di, A 16·di, D di, out_proj di·n; final norm.
		{"mamba-130m", 50280*768 + 24*(768+768*3072+4*1536+1536+1536*80+48*1536+1536+16*1536+1536+1536*768) + 768},
		// bert-base-uncased: 109,482,240 less the pooler (768·768+768).
		{"bert-base", 109_482_240 - (768*768 + 768)},
	} {
		p, err := Lookup(c.name)
		require.NoError(t, err)
		assert.Equal(t, c.want, p.Params(), c.name)
	}
}

func find(t *testing.T, p Preset, name string) []uint64 {
	t.Helper()
	for _, x := range p.Tensors() {
		if x.Name == name {
			return x.Dims
		}
	}
	t.Fatalf("%s has no tensor %s", p.Name, name)
	return nil
}

func has(p Preset, name string) bool {
	for _, x := range p.Tensors() {
		if x.Name == name {
			return true
		}
	}
	return false
}

// TestShapes checks tensor shapes worked out from the configs (ggml order: input width
// first).
func TestShapes(t *testing.T) {
	for _, c := range []struct {
		preset, tensor string
		dims           []uint64
	}{
		{"tinyllama-1.1b", "blk.0.attn_k.weight", []uint64{2048, 256}},     // 4 KV heads of 64
		{"tinyllama-1.1b", "blk.21.ffn_down.weight", []uint64{5632, 2048}}, // last of 22 layers
		{"llama3-8b", "token_embd.weight", []uint64{4096, 128256}},         //
		{"llama3-8b", "blk.0.attn_v.weight", []uint64{4096, 1024}},         // 8 KV heads of 128
		{"mixtral-8x7b", "blk.3.ffn_down_exps.weight", []uint64{14336, 4096, 8}},
		{"mixtral-8x7b", "blk.3.ffn_gate_inp.weight", []uint64{4096, 8}},
		{"qwen2-0.5b", "blk.0.attn_k.bias", []uint64{128}},                  // 2 KV heads of 64
		{"gemma-2b", "blk.0.attn_q.weight", []uint64{2048, 2048}},           // 8 heads of 256
		{"gemma-2b", "blk.0.attn_k.weight", []uint64{2048, 256}},            // one KV head
		{"gemma2-2b", "blk.0.attn_q.weight", []uint64{2304, 2048}},          // 8 heads of 256
		{"gemma2-2b", "blk.25.post_ffw_norm.weight", []uint64{2304}},        // last of 26 layers
		{"phi2", "output.bias", []uint64{51200}},                            //
		{"phi3-mini", "blk.0.attn_qkv.weight", []uint64{3072, 3 * 3072}},    // fused q, k, v
		{"phi3-mini", "blk.0.ffn_up.weight", []uint64{3072, 2 * 8192}},      // fused gate and up
		{"gpt2", "position_embd.weight", []uint64{768, 1024}},               //
		{"gpt2-xl", "blk.47.attn_qkv.weight", []uint64{1600, 4800}},         //
		{"gptj-6b", "blk.27.ffn_up.weight", []uint64{4096, 16384}},          //
		{"gptneox-1.4b", "blk.0.attn_qkv.bias", []uint64{6144}},             //
		{"falcon-7b", "blk.0.attn_qkv.weight", []uint64{4544, 4544 + 2*64}}, // 71 heads + one K, one V
		{"bloom-560m", "token_embd_norm.bias", []uint64{1024}},              //
		{"starcoder-1b", "blk.0.attn_qkv.weight", []uint64{2048, 2048 + 2*128}},
		{"mamba-130m", "blk.0.ssm_x.weight", []uint64{1536, 48 + 2*16}}, // dt_rank + B + C
		{"mamba-130m", "blk.0.ssm_conv1d.weight", []uint64{4, 1536}},
		{"mamba-130m", "blk.0.ssm_a", []uint64{16, 1536}},
		{"mamba-2.8b", "blk.63.ssm_dt.weight", []uint64{160, 5120}},
		{"bert-base", "token_types.weight", []uint64{768, 2}},
		{"bert-base", "blk.11.layer_output_norm.bias", []uint64{768}},
	} {
		p, err := Lookup(c.preset)
		require.NoError(t, err)
		assert.Equal(t, c.dims, find(t, p, c.tensor), "%s %s", c.preset, c.tensor)
	}
	for _, c := range []struct {
		preset string
		output bool
	}{
		{"tinyllama-1.1b", true}, {"qwen2-0.5b", false}, {"qwen2-7b", true}, {"gemma-2b", false},
		{"gemma2-2b", false}, {"gpt2", true}, {"bloom-560m", true}, {"starcoder-1b", false}, {"falcon-7b", false},
		{"mamba-130m", false}, {"bert-base", false},
	} {
		p, _ := Lookup(c.preset)
		assert.Equal(t, c.output, has(p, "output.weight"), c.preset)
	}
}

func TestLookup(t *testing.T) {
	want := []string{"tinyllama-1.1b", "llama2-7b", "llama3-8b", "mistral-7b", "mixtral-8x7b", "qwen2-0.5b",
		"qwen3-0.6b", "qwen2-7b", "gemma-2b", "gemma2-2b", "phi2", "phi3-mini", "gpt2", "gpt2-xl", "gptj-6b", "gptneox-1.4b",
		"falcon-7b", "bloom-560m", "starcoder-1b", "starcoder2-3b", "mamba-130m", "mamba-2.8b", "bert-base"}
	assert.Equal(t, want, Names())
	p, err := Lookup("TinyLlama-1.1B")
	require.NoError(t, err)
	assert.Equal(t, "tinyllama-1.1b", p.Name)
	_, err = Lookup("llama9")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "llama9")
	assert.Contains(t, err.Error(), "mamba-2.8b")
	// Presets are values: changing one does not change the catalogue.
	p.Config.BlockCount = 1
	q, _ := Lookup("tinyllama-1.1b")
	assert.Equal(t, 22, q.Config.BlockCount)
	_, err = q.WithLayers(0)
	assert.Error(t, err)
}

// writeHeader writes a GGUF with the metadata and no tensors, and parses it back: the
// metadata passes golem's own writer and reader checks.
func writeHeader(t *testing.T, meta gguf.Metadata) *gguf.File {
	t.Helper()
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, meta, nil)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	f, err := gguf.FromBytes(buf.Bytes())
	require.NoError(t, err)
	return f
}

// TestMetadata checks every full-size preset's metadata: it round-trips through GGUF,
// names its keys after the architecture, and its vocabulary loads in golem's tokenizer.
func TestMetadata(t *testing.T) {
	for _, p := range All() {
		meta, err := p.Metadata(gguf.FileTypeQ4_K_M)
		require.NoError(t, err, p.Name)
		f := writeHeader(t, meta)
		m := f.Meta
		assert.Equal(t, p.Arch, m.Architecture(), p.Name)
		for _, k := range []string{"context_length", "embedding_length", "block_count"} {
			v, err := m.Uint(m.ArchKey(k))
			require.NoError(t, err, "%s %s", p.Name, k)
			assert.NotZero(t, v, "%s %s", p.Name, k)
		}
		ft, err := m.Uint("general.file_type")
		require.NoError(t, err)
		assert.Equal(t, uint64(gguf.FileTypeQ4_K_M), ft)
		kvs := m.KVs()
		assert.Equal(t, "general.file_type", kvs[len(kvs)-1].Key, "quantize writes the file type last")
		for _, e := range kvs {
			ok := strings.HasPrefix(e.Key, "general.") || strings.HasPrefix(e.Key, "tokenizer.") ||
				strings.HasPrefix(e.Key, p.Arch+".")
			assert.True(t, ok, "%s: key %s", p.Name, e.Key)
		}
		if p.Config.SSMInnerSize == 0 && p.Arch != "bert" {
			eps := p.Arch + ".attention.layer_norm_epsilon"
			if !m.Has(eps) {
				eps = p.Arch + ".attention.layer_norm_rms_epsilon"
			}
			assert.True(t, m.Has(eps), p.Name)
		}
		tok, err := tokenizer.FromGGUF(m)
		require.NoError(t, err, p.Name)
		assert.Equal(t, p.Vocab.Size, tok.NumTokens(), p.Name)
		ids := tok.Encode("hello world", false, false)
		assert.NotEmpty(t, ids, p.Name)
		text, err := tok.Decode(ids)
		require.NoError(t, err, p.Name)
		if p.Vocab.Model != "bert" {
			assert.Equal(t, "hello world", strings.TrimSpace(text), p.Name)
		}
	}
}

// TestArchKeys spells out the keys of a few architectures as the converter writes them.
func TestArchKeys(t *testing.T) {
	keys := func(name string) map[string]any {
		p, err := Lookup(name)
		require.NoError(t, err)
		m := map[string]any{}
		for _, e := range p.ArchKeys() {
			m[strings.TrimPrefix(e.Key, p.Arch+".")] = e.Value.Any()
		}
		return m
	}
	assert.Equal(t, map[string]any{
		"block_count": uint32(22), "context_length": uint32(2048), "embedding_length": uint32(2048),
		"feed_forward_length": uint32(5632), "attention.head_count": uint32(32), "attention.head_count_kv": uint32(4),
		"rope.freq_base": float32(10000), "attention.layer_norm_rms_epsilon": float32(1e-5),
		"vocab_size": uint32(32000), "rope.dimension_count": uint32(64),
	}, keys("tinyllama-1.1b"))
	mix := keys("mixtral-8x7b")
	assert.Equal(t, uint32(8), mix["expert_count"])
	assert.Equal(t, uint32(2), mix["expert_used_count"])
	assert.Equal(t, float32(1e6), mix["rope.freq_base"])
	gemma := keys("gemma-2b")
	assert.Equal(t, uint32(256), gemma["attention.key_length"])
	assert.Equal(t, uint32(256), gemma["attention.value_length"])
	gemma2 := keys("gemma2-2b")
	assert.Equal(t, float32(50), gemma2["attn_logit_softcapping"])
	assert.Equal(t, float32(30), gemma2["final_logit_softcapping"])
	assert.Equal(t, uint32(4096), gemma2["attention.sliding_window"])
	assert.Equal(t, uint32(256), gemma2["attention.key_length"])
	assert.NotContains(t, gemma2, "rope.freq_base")
	phi3 := keys("phi3-mini")
	assert.Equal(t, uint32(2047), phi3["attention.sliding_window"])
	assert.Equal(t, uint32(4096), phi3["rope.scaling.original_context_length"])
	assert.Equal(t, uint32(32), keys("phi2")["rope.dimension_count"])
	assert.Equal(t, uint32(32), keys("gptneox-1.4b")["rope.dimension_count"])
	assert.Equal(t, true, keys("gptneox-1.4b")["use_parallel_residual"])
	assert.Equal(t, "jploski", keys("falcon-7b")["tensor_data_layout"])
	mamba := keys("mamba-130m")
	assert.Equal(t, uint32(48), mamba["ssm.time_step_rank"])
	assert.Equal(t, uint32(1536), mamba["ssm.inner_size"])
	assert.Equal(t, uint32(0), mamba["attention.head_count"])
	bert := keys("bert-base")
	assert.Equal(t, false, bert["attention.causal"])
	assert.Equal(t, uint32(1), bert["pooling_type"])
	assert.Equal(t, float32(1e-12), bert["attention.layer_norm_epsilon"])
	assert.NotContains(t, bert, "attention.head_count_kv")
}

func TestCache(t *testing.T) {
	p, _ := Lookup("llama2-7b")
	c := p.Cache(4096)
	// llama.cpp: "KV self size = 2048.00 MiB" for LLaMA 2 7B at n_ctx 4096, F16.
	assert.Equal(t, uint64(2048<<20), c.F16)
	assert.Equal(t, uint64(4096<<20), c.F32)
	assert.Equal(t, CacheKV, c.Kind)
	p, _ = Lookup("tinyllama-1.1b")
	assert.Equal(t, uint64(2*22*2048*256*2), p.Cache(2048).F16) // 44 MiB
	p, _ = Lookup("mamba-130m")
	c = p.Cache(1 << 20)
	assert.Equal(t, CacheState, c.Kind)
	assert.Equal(t, uint64(24*(3*1536+16*1536)*4), c.F32)
	p, _ = Lookup("bert-base")
	assert.Equal(t, CacheNone, p.Cache(512).Kind)
}

func TestWeightBytes(t *testing.T) {
	p, _ := Lookup("tinyllama-1.1b")
	f32, err := p.WeightBytes(gguf.FileTypeAllF32)
	require.NoError(t, err)
	assert.Equal(t, 4*p.Params(), f32)
	q4, err := p.WeightBytes(gguf.FileTypeQ4_0)
	require.NoError(t, err)
	// Q4_0: 18 bytes per 32 weights for the matrices, Q6_K (210 per 256) for the
	// output, F32 norms.
	norms := uint64(2*22*2048 + 2048)
	out := uint64(32000 * 2048)
	matrices := p.Params() - norms - out
	assert.Equal(t, matrices/32*18+out/256*210+4*norms, q4)
	// mamba-130m's dt_proj rows of 48 fit no legacy block: golem quantize refuses it as
	// llama-quantize does.
	m, _ := Lookup("mamba-130m")
	_, err = m.WeightBytes(gguf.FileTypeQ4_0)
	assert.ErrorContains(t, err, "ssm_dt.weight")
}

// TestGenerateMiniatures writes a miniature of every preset and reads it back: tensor
// names, shapes and types are the plan's, values are finite and at sensible scales,
// the vocabulary loads.
func TestGenerateMiniatures(t *testing.T) {
	dir := t.TempDir()
	for _, full := range All() {
		p := full.Miniature()
		for _, ft := range []gguf.FileType{gguf.FileTypeAllF32, gguf.FileTypeQ4_0, gguf.FileTypeQ4_K_M} {
			path := filepath.Join(dir, p.Name+"-"+ft.String()+".gguf")
			require.NoError(t, p.WriteFile(context.Background(), path, ft, GenerateOptions{Seed: 1}), "%s %s", p.Name, ft)
			f, err := gguf.Open(path)
			require.NoError(t, err)
			plans, err := p.Plan(ft)
			require.NoError(t, err)
			require.Len(t, f.Tensors, len(plans))
			for i, pl := range plans {
				ti := f.Tensors[i]
				assert.Equal(t, pl.Name, ti.Name)
				assert.Equal(t, pl.Dims, ti.Dims)
				assert.Equal(t, pl.To, ti.Type, "%s %s %s", p.Name, ft, pl.Name)
			}
			want, err := p.Metadata(ft)
			require.NoError(t, err)
			require.Equal(t, want.Len(), f.Meta.Len())
			for i, e := range want.KVs() {
				assert.Equal(t, e.Key, f.Meta.KVs()[i].Key)
			}
			_, err = tokenizer.FromGGUF(f.Meta)
			require.NoError(t, err, p.Name)
			if ft == gguf.FileTypeAllF32 {
				checkValues(t, f)
			}
			require.NoError(t, f.Close())
			require.NoError(t, os.Remove(path))
		}
	}
}

func checkValues(t *testing.T, f *gguf.File) {
	t.Helper()
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		data, err := f.ReadTensor(ti)
		require.NoError(t, err)
		vals := make([]float32, ti.Elements())
		require.NoError(t, quant.Dequantize(ti.Type, data, vals))
		var sum, sq float64
		for _, v := range vals {
			require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0), ti.Name)
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		n := float64(len(vals))
		mean, std := sum/n, math.Sqrt(sq/n-(sum/n)*(sum/n))
		switch kind := initOf(ti.Name, ti.Dims); kind {
		case initNorm:
			assert.InDelta(t, 1, mean, 0.02, ti.Name)
		case initBias:
			assert.InDelta(t, 0.02, std, 0.01, ti.Name)
		case initMatrix:
			want := 1 / math.Sqrt(float64(ti.Dims[0]))
			assert.InDelta(t, want, std, want*0.1, ti.Name)
			assert.InDelta(t, 0, mean, want*0.1, ti.Name)
		case initSSMA:
			assert.Equal(t, float32(-1), vals[0])
			assert.Equal(t, -float32(ti.Dims[0]), vals[ti.Dims[0]-1])
		case initDtBias:
			// softplus(bias) is the initial step, in [1e-3, 1e-1].
			for _, v := range vals {
				dt := math.Log1p(math.Exp(float64(v)))
				require.True(t, dt > 0.9e-3 && dt < 0.11, "%s: dt %g", ti.Name, dt)
			}
		}
	}
}

// TestGenerateMatchesQuantize: a file generated at a type is what golem's quantizer
// makes of the F32 file of the same seed, byte for byte.
func TestGenerateMatchesQuantize(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for _, name := range []string{"llama3-8b", "mamba-130m", "falcon-7b"} {
		full, _ := Lookup(name)
		p := full.Miniature()
		src := filepath.Join(dir, "f32.gguf")
		require.NoError(t, p.WriteFile(ctx, src, gguf.FileTypeAllF32, GenerateOptions{Seed: 7}))
		for _, ft := range []gguf.FileType{gguf.FileTypeQ4_K_M, gguf.FileTypeQ8_0, gguf.FileTypeF16} {
			viaQuantize := filepath.Join(dir, "q.gguf")
			require.NoError(t, quant.QuantizeFile(ctx, src, viaQuantize, ft, quant.Options{}))
			direct := filepath.Join(dir, "g.gguf")
			require.NoError(t, p.WriteFile(ctx, direct, ft, GenerateOptions{Seed: 7, Threads: 3}))
			a, err := os.ReadFile(viaQuantize)
			require.NoError(t, err)
			b, err := os.ReadFile(direct)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(a, b), "%s %s", name, ft)
		}
	}
}

func TestGenerateSeeds(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	full, _ := Lookup("qwen2-7b")
	p := full.Miniature()
	gen := func(seed uint64, threads int) []byte {
		path := filepath.Join(dir, "x.gguf")
		require.NoError(t, p.WriteFile(ctx, path, gguf.FileTypeQ4_K_M, GenerateOptions{Seed: seed, Threads: threads}))
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		return b
	}
	a, b, c := gen(1, 1), gen(1, 4), gen(2, 2)
	assert.True(t, bytes.Equal(a, b), "same seed, different threads")
	assert.False(t, bytes.Equal(a, c), "different seeds")
	assert.Equal(t, len(a), len(c))
}

func TestGenerateCancelled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	full, _ := Lookup("gpt2")
	err := full.Miniature().WriteFile(ctx, filepath.Join(dir, "x.gguf"), gguf.FileTypeQ8_0, GenerateOptions{})
	assert.ErrorIs(t, err, context.Canceled)
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries, "no partial output")
}

func TestGenerateRefusals(t *testing.T) {
	dir := t.TempDir()
	full, _ := Lookup("llama2-7b")
	p := full.Miniature()
	err := p.WriteFile(context.Background(), filepath.Join(dir, "x.gguf"), gguf.FileTypeIQ2_XXS, GenerateOptions{})
	assert.Error(t, err)
	err = p.WriteFile(context.Background(), filepath.Join(dir, "x.gguf"), gguf.FileTypeQ2_K_S, GenerateOptions{})
	assert.ErrorContains(t, err, "importance matrix")
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries)
}
