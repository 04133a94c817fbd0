package presets

import (
	"fmt"

	"github.com/golem-llm/golem/gguf"
)

// This file lays out each architecture as llama.cpp names it at commit c392e509:
// the hyper-parameter keys convert_hf_to_gguf.py writes for the model class (in its
// order), and the tensors of src/llama-arch.cpp's LLM_TENSOR_NAMES with the shapes
// src/llama-model.cpp loads them with (ggml order: ne[0] is the input width).

var families = map[string]family{
	"llama":      {keys: llamaKeys, tensors: llamaTensors},
	"qwen2":      {keys: qwen2Keys, tensors: llamaTensors},
	"qwen3":      {keys: qwen3Keys, tensors: llamaTensors},
	"starcoder2": {keys: starcoder2Keys, tensors: starcoder2Tensors},
	"gemma":      {keys: gemmaKeys, tensors: llamaTensors},
	"gemma2":     {keys: gemma2Keys, tensors: gemma2Tensors},
	"phi2":       {keys: phi2Keys, tensors: phi2Tensors},
	"phi3":       {keys: phi3Keys, tensors: phi3Tensors},
	"gpt2":       {keys: gpt2Keys, tensors: gpt2Tensors},
	"gptj":       {keys: gptjKeys, tensors: gptjTensors},
	"gptneox":    {keys: gptneoxKeys, tensors: gpt2Tensors},
	"falcon":     {keys: falconKeys, tensors: falconTensors},
	"bloom":      {keys: bloomKeys, tensors: gpt2Tensors},
	"starcoder":  {keys: starcoderKeys, tensors: gpt2Tensors},
	"mamba":      {keys: mambaKeys, tensors: mambaTensors},
	"bert":       {keys: bertKeys, tensors: bertTensors},
}

// keyList builds "<arch>.<suffix>" entries in order.
type keyList struct {
	arch string
	kvs  []gguf.KV
}

func (k *keyList) u32(suffix string, v int) { k.kvs = append(k.kvs, kv(k.arch+"."+suffix, uint32(v))) }
func (k *keyList) f32(suffix string, v float32) {
	k.kvs = append(k.kvs, kv(k.arch+"."+suffix, v))
}
func (k *keyList) boolean(suffix string, v bool) { k.kvs = append(k.kvs, kv(k.arch+"."+suffix, v)) }
func (k *keyList) str(suffix, v string)          { k.kvs = append(k.kvs, kv(k.arch+"."+suffix, v)) }

// baseKeys is Model.set_gguf_parameters: what the converter writes for a Hugging Face
// config with the standard field names.
func baseKeys(p *Preset, rms bool) *keyList {
	c := p.Config
	k := &keyList{arch: p.Arch}
	k.u32("block_count", c.BlockCount)
	k.u32("context_length", c.ContextLength)
	k.u32("embedding_length", c.EmbeddingLength)
	k.u32("feed_forward_length", c.FeedForwardLength)
	k.u32("attention.head_count", c.HeadCount)
	if c.HeadCountKV > 0 {
		k.u32("attention.head_count_kv", c.HeadCountKV)
	}
	if c.RopeFreqBase > 0 {
		k.f32("rope.freq_base", c.RopeFreqBase)
	}
	if rms {
		k.f32("attention.layer_norm_rms_epsilon", c.NormEpsilon)
	} else {
		k.f32("attention.layer_norm_epsilon", c.NormEpsilon)
	}
	if c.ExpertCount > 0 {
		k.u32("expert_count", c.ExpertCount)
		k.u32("expert_used_count", c.ExpertUsedCount)
	}
	return k
}

// LlamaModel: the base keys, then vocab_size and rope.dimension_count.
func llamaKeys(p *Preset) []gguf.KV {
	k := baseKeys(p, true)
	k.u32("vocab_size", p.Vocab.Size)
	k.u32("rope.dimension_count", p.Config.ropeDims())
	return k.kvs
}

// Qwen2Model: the base keys only.
func qwen2Keys(p *Preset) []gguf.KV { return baseKeys(p, true).kvs }

// Qwen3Model: the base keys plus the head size (16 heads of 128 in a 1024-wide model).
func qwen3Keys(p *Preset) []gguf.KV {
	k := baseKeys(p, true)
	k.u32("attention.key_length", p.Config.headDim())
	k.u32("attention.value_length", p.Config.headDim())
	return k.kvs
}

// StarCoder2Model: Model.set_gguf_parameters with LayerNorm's epsilon and the window.
func starcoder2Keys(p *Preset) []gguf.KV {
	k := baseKeys(p, false)
	if p.Config.SlidingWindow > 0 {
		k.u32("attention.sliding_window", p.Config.SlidingWindow)
	}
	return k.kvs
}

// GemmaModel writes its own list, with the head size as key/value length.
func gemmaKeys(p *Preset) []gguf.KV {
	c := p.Config
	k := &keyList{arch: p.Arch}
	k.u32("context_length", c.ContextLength)
	k.u32("embedding_length", c.EmbeddingLength)
	k.u32("block_count", c.BlockCount)
	k.u32("feed_forward_length", c.FeedForwardLength)
	k.u32("attention.head_count", c.HeadCount)
	k.u32("attention.head_count_kv", c.headCountKV())
	k.f32("attention.layer_norm_rms_epsilon", c.NormEpsilon)
	k.u32("attention.key_length", c.headDim())
	k.u32("attention.value_length", c.headDim())
	return k.kvs
}

// Gemma2Model: Gemma's list, then both soft-caps and the sliding window.
func gemma2Keys(p *Preset) []gguf.KV {
	c := p.Config
	k := &keyList{arch: p.Arch, kvs: gemmaKeys(p)}
	k.f32("attn_logit_softcapping", c.AttnSoftCap)
	k.f32("final_logit_softcapping", c.FinalSoftCap)
	k.u32("attention.sliding_window", c.SlidingWindow)
	return k.kvs
}

func phi2Keys(p *Preset) []gguf.KV {
	c := p.Config
	k := &keyList{arch: p.Arch}
	k.u32("context_length", c.ContextLength)
	k.u32("embedding_length", c.EmbeddingLength)
	k.u32("feed_forward_length", c.FeedForwardLength)
	k.u32("block_count", c.BlockCount)
	k.u32("attention.head_count", c.HeadCount)
	k.u32("attention.head_count_kv", c.headCountKV())
	k.f32("attention.layer_norm_epsilon", c.NormEpsilon)
	k.u32("rope.dimension_count", c.ropeDims())
	return k.kvs
}

func phi3Keys(p *Preset) []gguf.KV {
	c := p.Config
	k := &keyList{arch: p.Arch}
	k.u32("context_length", c.ContextLength)
	k.u32("rope.scaling.original_context_length", c.OrigContextLength)
	k.u32("embedding_length", c.EmbeddingLength)
	k.u32("feed_forward_length", c.FeedForwardLength)
	k.u32("block_count", c.BlockCount)
	k.u32("attention.head_count", c.HeadCount)
	k.u32("attention.head_count_kv", c.headCountKV())
	k.f32("attention.layer_norm_rms_epsilon", c.NormEpsilon)
	k.u32("rope.dimension_count", c.ropeDims())
	k.f32("rope.freq_base", c.RopeFreqBase)
	k.u32("attention.sliding_window", c.SlidingWindow)
	return k.kvs
}

func gpt2Keys(p *Preset) []gguf.KV {
	c := p.Config
	k := &keyList{arch: p.Arch}
	k.u32("block_count", c.BlockCount)
	k.u32("context_length", c.ContextLength)
	k.u32("embedding_length", c.EmbeddingLength)
	k.u32("feed_forward_length", c.FeedForwardLength)
	k.u32("attention.head_count", c.HeadCount)
	k.f32("attention.layer_norm_epsilon", c.NormEpsilon)
	return k.kvs
}

// gptjKeys: llama.cpp has no GPT-J converter at c392e509; these are the keys of its
// former one (shared/oracle/gptj/README.md).
func gptjKeys(p *Preset) []gguf.KV {
	c := p.Config
	k := &keyList{arch: p.Arch}
	k.u32("context_length", c.ContextLength)
	k.u32("embedding_length", c.EmbeddingLength)
	k.u32("block_count", c.BlockCount)
	k.u32("feed_forward_length", c.FeedForwardLength)
	k.u32("rope.dimension_count", c.ropeDims())
	k.u32("attention.head_count", c.HeadCount)
	k.f32("attention.layer_norm_epsilon", c.NormEpsilon)
	return k.kvs
}

func gptneoxKeys(p *Preset) []gguf.KV {
	c := p.Config
	k := &keyList{arch: p.Arch}
	k.u32("context_length", c.ContextLength)
	k.u32("embedding_length", c.EmbeddingLength)
	k.u32("block_count", c.BlockCount)
	k.u32("feed_forward_length", c.FeedForwardLength)
	k.u32("rope.dimension_count", c.ropeDims())
	k.u32("attention.head_count", c.HeadCount)
	k.boolean("use_parallel_residual", true)
	k.f32("attention.layer_norm_epsilon", c.NormEpsilon)
	return k.kvs
}

func falconKeys(p *Preset) []gguf.KV {
	c := p.Config
	k := &keyList{arch: p.Arch}
	k.u32("context_length", c.ContextLength)
	k.str("tensor_data_layout", "jploski")
	k.u32("embedding_length", c.EmbeddingLength)
	k.u32("feed_forward_length", c.FeedForwardLength)
	k.u32("block_count", c.BlockCount)
	k.u32("attention.head_count", c.HeadCount)
	k.u32("attention.head_count_kv", c.headCountKV())
	k.f32("attention.layer_norm_epsilon", c.NormEpsilon)
	return k.kvs
}

func bloomKeys(p *Preset) []gguf.KV {
	c := p.Config
	k := &keyList{arch: p.Arch}
	k.u32("context_length", c.ContextLength)
	k.u32("embedding_length", c.EmbeddingLength)
	k.u32("feed_forward_length", c.FeedForwardLength)
	k.u32("block_count", c.BlockCount)
	k.u32("attention.head_count", c.HeadCount)
	k.u32("attention.head_count_kv", c.headCountKV())
	k.f32("attention.layer_norm_epsilon", c.NormEpsilon)
	return k.kvs
}

func starcoderKeys(p *Preset) []gguf.KV {
	c := p.Config
	k := &keyList{arch: p.Arch}
	k.u32("context_length", c.ContextLength)
	k.u32("embedding_length", c.EmbeddingLength)
	k.u32("feed_forward_length", c.FeedForwardLength)
	k.u32("block_count", c.BlockCount)
	k.u32("attention.head_count", c.HeadCount)
	k.u32("attention.head_count_kv", c.headCountKV())
	k.f32("attention.layer_norm_epsilon", c.NormEpsilon)
	return k.kvs
}

func mambaKeys(p *Preset) []gguf.KV {
	c := p.Config
	k := &keyList{arch: p.Arch}
	k.u32("context_length", c.ContextLength)
	k.u32("embedding_length", c.EmbeddingLength)
	k.u32("feed_forward_length", 0)  // unused, but llama.cpp requires it
	k.u32("attention.head_count", 0) // likewise
	k.u32("block_count", c.BlockCount)
	k.u32("ssm.conv_kernel", c.SSMConvKernel)
	k.u32("ssm.inner_size", c.SSMInnerSize)
	k.u32("ssm.state_size", c.SSMStateSize)
	k.u32("ssm.time_step_rank", c.SSMTimeStepRank)
	k.f32("attention.layer_norm_rms_epsilon", c.NormEpsilon)
	k.boolean("ssm.dt_b_c_rms", false)
	return k.kvs
}

func bertKeys(p *Preset) []gguf.KV {
	k := baseKeys(p, false)
	k.boolean("attention.causal", false)
	if p.Config.PoolingType > 0 {
		k.u32("pooling_type", p.Config.PoolingType)
	}
	return k.kvs
}

// ropeDims is rope.dimension_count: the rotated part of a head.
func (c Config) ropeDims() int {
	if c.RopeDims > 0 {
		return c.RopeDims
	}
	return c.headDim()
}

// tensorList collects tensors with llama.cpp's names.
type tensorList []Tensor

func (l *tensorList) add(name string, dims ...int) {
	d := make([]uint64, len(dims))
	for i, x := range dims {
		d[i] = uint64(x)
	}
	*l = append(*l, Tensor{Name: name, Dims: d})
}

// blk adds "blk.<i>.<name>".
func (l *tensorList) blk(i int, name string, dims ...int) {
	l.add(fmt.Sprintf("blk.%d.%s", i, name), dims...)
}

// norm adds a norm's weight, and its bias for LayerNorm.
func (l *tensorList) norm(name string, n int, bias bool) {
	l.add(name+".weight", n)
	if bias {
		l.add(name+".bias", n)
	}
}

func (l *tensorList) blkNorm(i int, name string, n int, bias bool) {
	l.norm(fmt.Sprintf("blk.%d.%s", i, name), n, bias)
}

// linear adds a matrix from in to out features, and its bias.
func (l *tensorList) linear(name string, in, out int, bias bool) {
	l.add(name+".weight", in, out)
	if bias {
		l.add(name+".bias", out)
	}
}

func (l *tensorList) blkLinear(i int, name string, in, out int, bias bool) {
	l.linear(fmt.Sprintf("blk.%d.%s", i, name), in, out, bias)
}

// output adds the final norm and, unless tied, the output projection.
func (l *tensorList) output(p *Preset, normBias, outBias bool) {
	c := p.Config
	l.norm("output_norm", c.EmbeddingLength, normBias)
	if !c.TiedOutput {
		l.linear("output", c.EmbeddingLength, p.Vocab.Size, outBias)
	}
}

// llamaTensors: LLaMA, Mistral, Mixtral (MoE), Qwen2 (q/k/v biases) and Gemma (tied).
func llamaTensors(p *Preset) []Tensor {
	c := p.Config
	n, hd, kv := c.EmbeddingLength, c.headDim(), c.headCountKV()
	qkvBias := p.Arch == "qwen2"
	var l tensorList
	l.add("token_embd.weight", n, p.Vocab.Size)
	for i := range c.BlockCount {
		l.blkNorm(i, "attn_norm", n, false)
		l.blkLinear(i, "attn_q", n, c.HeadCount*hd, qkvBias)
		l.blkLinear(i, "attn_k", n, kv*hd, qkvBias)
		l.blkLinear(i, "attn_v", n, kv*hd, qkvBias)
		l.blkLinear(i, "attn_output", c.HeadCount*hd, n, false)
		if p.Arch == "qwen3" {
			l.blkNorm(i, "attn_q_norm", hd, false)
			l.blkNorm(i, "attn_k_norm", hd, false)
		}
		l.blkNorm(i, "ffn_norm", n, false)
		if c.ExpertCount > 0 {
			l.blk(i, "ffn_gate_inp.weight", n, c.ExpertCount)
			l.blk(i, "ffn_gate_exps.weight", n, c.FeedForwardLength, c.ExpertCount)
			l.blk(i, "ffn_down_exps.weight", c.FeedForwardLength, n, c.ExpertCount)
			l.blk(i, "ffn_up_exps.weight", n, c.FeedForwardLength, c.ExpertCount)
		} else {
			l.blkLinear(i, "ffn_gate", n, c.FeedForwardLength, false)
			l.blkLinear(i, "ffn_down", c.FeedForwardLength, n, false)
			l.blkLinear(i, "ffn_up", n, c.FeedForwardLength, false)
		}
	}
	l.output(p, false, false)
	return l
}

// gemma2Tensors: Gemma's tensors (tied output) plus the post-attention and post-MLP
// norms of each block.
func gemma2Tensors(p *Preset) []Tensor {
	c := p.Config
	n, hd, kv := c.EmbeddingLength, c.headDim(), c.headCountKV()
	var l tensorList
	l.add("token_embd.weight", n, p.Vocab.Size)
	for i := range c.BlockCount {
		l.blkNorm(i, "attn_norm", n, false)
		l.blkLinear(i, "attn_q", n, c.HeadCount*hd, false)
		l.blkLinear(i, "attn_k", n, kv*hd, false)
		l.blkLinear(i, "attn_v", n, kv*hd, false)
		l.blkLinear(i, "attn_output", c.HeadCount*hd, n, false)
		l.blkNorm(i, "post_attention_norm", n, false)
		l.blkNorm(i, "ffn_norm", n, false)
		l.blkLinear(i, "ffn_gate", n, c.FeedForwardLength, false)
		l.blkLinear(i, "ffn_down", c.FeedForwardLength, n, false)
		l.blkLinear(i, "ffn_up", n, c.FeedForwardLength, false)
		l.blkNorm(i, "post_ffw_norm", n, false)
	}
	l.output(p, false, false)
	return l
}

// phi2Tensors: one LayerNorm feeding parallel attention and MLP, separate q/k/v with
// biases (the current microsoft/phi-2 checkpoint), biases everywhere, an output bias.
func phi2Tensors(p *Preset) []Tensor {
	c := p.Config
	n := c.EmbeddingLength
	var l tensorList
	l.add("token_embd.weight", n, p.Vocab.Size)
	for i := range c.BlockCount {
		l.blkNorm(i, "attn_norm", n, true)
		l.blkLinear(i, "attn_q", n, n, true)
		l.blkLinear(i, "attn_k", n, n, true)
		l.blkLinear(i, "attn_v", n, n, true)
		l.blkLinear(i, "attn_output", n, n, true)
		l.blkLinear(i, "ffn_up", n, c.FeedForwardLength, true)
		l.blkLinear(i, "ffn_down", c.FeedForwardLength, n, true)
	}
	l.output(p, true, true)
	return l
}

// phi3Tensors: fused attn_qkv, and gate and up fused in ffn_up (2·n_ff rows).
func phi3Tensors(p *Preset) []Tensor {
	c := p.Config
	n, hd, kv := c.EmbeddingLength, c.headDim(), c.headCountKV()
	var l tensorList
	l.add("token_embd.weight", n, p.Vocab.Size)
	for i := range c.BlockCount {
		l.blkNorm(i, "attn_norm", n, false)
		l.blkLinear(i, "attn_qkv", n, c.HeadCount*hd+2*kv*hd, false)
		l.blkLinear(i, "attn_output", c.HeadCount*hd, n, false)
		l.blkNorm(i, "ffn_norm", n, false)
		l.blkLinear(i, "ffn_up", n, 2*c.FeedForwardLength, false)
		l.blkLinear(i, "ffn_down", c.FeedForwardLength, n, false)
	}
	l.output(p, false, false)
	return l
}

// gpt2Tensors: GPT-2, GPT-NeoX, BLOOM and StarCoder: LayerNorm with biases, fused
// attn_qkv with bias, a GELU MLP with biases. GPT-2 and StarCoder have learned
// positions; BLOOM normalises its embeddings (ALiBi, no positions); GPT-NeoX has RoPE.
func gpt2Tensors(p *Preset) []Tensor {
	c := p.Config
	n, hd, kv := c.EmbeddingLength, c.headDim(), c.headCountKV()
	var l tensorList
	l.add("token_embd.weight", n, p.Vocab.Size)
	switch p.Arch {
	case "gpt2", "starcoder":
		l.add("position_embd.weight", n, c.ContextLength)
	case "bloom":
		l.norm("token_embd_norm", n, true)
	}
	for i := range c.BlockCount {
		l.blkNorm(i, "attn_norm", n, true)
		l.blkLinear(i, "attn_qkv", n, c.HeadCount*hd+2*kv*hd, true)
		l.blkLinear(i, "attn_output", c.HeadCount*hd, n, true)
		l.blkNorm(i, "ffn_norm", n, true)
		l.blkLinear(i, "ffn_up", n, c.FeedForwardLength, true)
		l.blkLinear(i, "ffn_down", c.FeedForwardLength, n, true)
	}
	l.output(p, true, false)
	return l
}

// starcoder2Tensors: LayerNorm with biases, separate q/k/v with biases (GQA), NeoX
// RoPE, a GELU MLP with biases.
func starcoder2Tensors(p *Preset) []Tensor {
	c := p.Config
	n, hd, kv := c.EmbeddingLength, c.headDim(), c.headCountKV()
	var l tensorList
	l.add("token_embd.weight", n, p.Vocab.Size)
	for i := range c.BlockCount {
		l.blkNorm(i, "attn_norm", n, true)
		l.blkLinear(i, "attn_q", n, c.HeadCount*hd, true)
		l.blkLinear(i, "attn_k", n, kv*hd, true)
		l.blkLinear(i, "attn_v", n, kv*hd, true)
		l.blkLinear(i, "attn_output", c.HeadCount*hd, n, true)
		l.blkNorm(i, "ffn_norm", n, true)
		l.blkLinear(i, "ffn_up", n, c.FeedForwardLength, true)
		l.blkLinear(i, "ffn_down", c.FeedForwardLength, n, true)
	}
	l.output(p, true, false)
	return l
}

// gptjTensors: one LayerNorm feeding parallel attention and MLP, q/k/v/out without
// bias, MLP with biases, an output bias (shared/oracle/gptj/README.md).
func gptjTensors(p *Preset) []Tensor {
	c := p.Config
	n := c.EmbeddingLength
	var l tensorList
	l.add("token_embd.weight", n, p.Vocab.Size)
	for i := range c.BlockCount {
		l.blkNorm(i, "attn_norm", n, true)
		l.blkLinear(i, "attn_q", n, n, false)
		l.blkLinear(i, "attn_k", n, n, false)
		l.blkLinear(i, "attn_v", n, n, false)
		l.blkLinear(i, "attn_output", n, n, false)
		l.blkLinear(i, "ffn_up", n, c.FeedForwardLength, true)
		l.blkLinear(i, "ffn_down", c.FeedForwardLength, n, true)
	}
	l.output(p, true, true)
	return l
}

// falconTensors: Falcon-7B: one LayerNorm, parallel attention and MLP, fused attn_qkv
// (multi-query: n_head query heads and one K and V head), no biases.
func falconTensors(p *Preset) []Tensor {
	c := p.Config
	n, hd, kv := c.EmbeddingLength, c.headDim(), c.headCountKV()
	var l tensorList
	l.add("token_embd.weight", n, p.Vocab.Size)
	for i := range c.BlockCount {
		l.blkNorm(i, "attn_norm", n, true)
		l.blkLinear(i, "attn_qkv", n, c.HeadCount*hd+2*kv*hd, false)
		l.blkLinear(i, "attn_output", c.HeadCount*hd, n, false)
		l.blkLinear(i, "ffn_up", n, c.FeedForwardLength, false)
		l.blkLinear(i, "ffn_down", c.FeedForwardLength, n, false)
	}
	l.output(p, true, false)
	return l
}

// mambaTensors: Mamba-1 blocks. ssm_a holds A = -exp(A_log); ssm_a and ssm_d have no
// ".weight" suffix; the conv weight is squeezed to {d_conv, d_inner}.
func mambaTensors(p *Preset) []Tensor {
	c := p.Config
	n, di, ds, dt := c.EmbeddingLength, c.SSMInnerSize, c.SSMStateSize, c.SSMTimeStepRank
	var l tensorList
	l.add("token_embd.weight", n, p.Vocab.Size)
	for i := range c.BlockCount {
		l.blkNorm(i, "attn_norm", n, false)
		l.blk(i, "ssm_in.weight", n, 2*di)
		l.blk(i, "ssm_conv1d.weight", c.SSMConvKernel, di)
		l.blk(i, "ssm_conv1d.bias", di)
		l.blk(i, "ssm_x.weight", di, dt+2*ds)
		l.blk(i, "ssm_dt.weight", dt, di)
		l.blk(i, "ssm_dt.bias", di)
		l.blk(i, "ssm_a", ds, di)
		l.blk(i, "ssm_d", di)
		l.blk(i, "ssm_out.weight", di, n)
	}
	l.output(p, false, false)
	return l
}

// bertTensors: post-LayerNorm encoder with token types and learned positions; the
// converter drops the pooler, and there is no output projection.
func bertTensors(p *Preset) []Tensor {
	c := p.Config
	n := c.EmbeddingLength
	var l tensorList
	l.add("token_embd.weight", n, p.Vocab.Size)
	l.add("token_types.weight", n, 2)
	l.add("position_embd.weight", n, c.ContextLength)
	l.norm("token_embd_norm", n, true)
	for i := range c.BlockCount {
		l.blkLinear(i, "attn_q", n, n, true)
		l.blkLinear(i, "attn_k", n, n, true)
		l.blkLinear(i, "attn_v", n, n, true)
		l.blkLinear(i, "attn_output", n, n, true)
		l.blkNorm(i, "attn_output_norm", n, true)
		l.blkLinear(i, "ffn_up", n, c.FeedForwardLength, true)
		l.blkLinear(i, "ffn_down", c.FeedForwardLength, n, true)
		l.blkNorm(i, "layer_output_norm", n, true)
	}
	return l
}
