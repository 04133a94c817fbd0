package presets

// The catalogue. Every number comes from the model's published config.json on Hugging
// Face (the repository in Model), mapped to GGUF keys the way llama.cpp's
// convert_hf_to_gguf.py maps it; where the converter writes a value of its own (Falcon's
// context, Mamba's context and its zero head count, n_ff = 4·n_embd), the comment says
// so. The parameter counts in the comments are what Params returns (the elements of the
// file's tensors); presets_test.go derives the main ones by hand.
var catalog = []Preset{
	{
		// 1,100,048,384 parameters.
		Name: "tinyllama-1.1b", Model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", Arch: "llama",
		Config: Config{
			ContextLength: 2048, EmbeddingLength: 2048, BlockCount: 22, FeedForwardLength: 5632,
			HeadCount: 32, HeadCountKV: 4, RopeFreqBase: 10000, NormEpsilon: 1e-5,
		},
		Vocab: spmVocab(32000),
	},
	{
		// 6,738,415,616 parameters.
		Name: "llama2-7b", Model: "meta-llama/Llama-2-7b-hf", Arch: "llama",
		Config: Config{
			ContextLength: 4096, EmbeddingLength: 4096, BlockCount: 32, FeedForwardLength: 11008,
			HeadCount: 32, HeadCountKV: 32, RopeFreqBase: 10000, NormEpsilon: 1e-5,
		},
		Vocab: spmVocab(32000),
	},
	{
		// 8,030,261,248 parameters.
		Name: "llama3-8b", Model: "meta-llama/Meta-Llama-3-8B", Arch: "llama",
		Config: Config{
			ContextLength: 8192, EmbeddingLength: 4096, BlockCount: 32, FeedForwardLength: 14336,
			HeadCount: 32, HeadCountKV: 8, RopeFreqBase: 500000, NormEpsilon: 1e-5,
		},
		Vocab: llama3Vocab(),
	},
	{
		// 7,241,732,096 parameters. v0.1: sliding_window 4096 is in config.json, but the
		// converter writes no sliding-window key for the llama architecture.
		Name: "mistral-7b", Model: "mistralai/Mistral-7B-v0.1", Arch: "llama",
		Config: Config{
			ContextLength: 32768, EmbeddingLength: 4096, BlockCount: 32, FeedForwardLength: 14336,
			HeadCount: 32, HeadCountKV: 8, RopeFreqBase: 10000, NormEpsilon: 1e-5,
		},
		Vocab: spmVocab(32000),
	},
	{
		// 46,702,792,704 parameters (8 experts, 2 used per token).
		Name: "mixtral-8x7b", Model: "mistralai/Mixtral-8x7B-v0.1", Arch: "llama",
		Config: Config{
			ContextLength: 32768, EmbeddingLength: 4096, BlockCount: 32, FeedForwardLength: 14336,
			HeadCount: 32, HeadCountKV: 8, RopeFreqBase: 1e6, NormEpsilon: 1e-5,
			ExpertCount: 8, ExpertUsedCount: 2,
		},
		Vocab: spmVocab(32000),
	},
	{
		// 494,032,768 parameters; tie_word_embeddings: true.
		Name: "qwen2-0.5b", Model: "Qwen/Qwen2-0.5B", Arch: "qwen2",
		Config: Config{
			ContextLength: 131072, EmbeddingLength: 896, BlockCount: 24, FeedForwardLength: 4864,
			HeadCount: 14, HeadCountKV: 2, RopeFreqBase: 1e6, NormEpsilon: 1e-6, TiedOutput: true,
		},
		Vocab: qwen2Vocab(151936),
	},
	{
		// Qwen3-0.6B: head_dim 128 with 16 query heads in a 1024-wide model, q/k norms,
		// tie_word_embeddings: true.
		Name: "qwen3-0.6b", Model: "Qwen/Qwen3-0.6B", Arch: "qwen3",
		Config: Config{
			ContextLength: 40960, EmbeddingLength: 1024, BlockCount: 28, FeedForwardLength: 3072,
			HeadCount: 16, HeadCountKV: 8, HeadDim: 128, RopeFreqBase: 1e6, NormEpsilon: 1e-6, TiedOutput: true,
		},
		Vocab: qwen2Vocab(151936),
	},
	{
		// 7,615,616,512 parameters.
		Name: "qwen2-7b", Model: "Qwen/Qwen2-7B", Arch: "qwen2",
		Config: Config{
			ContextLength: 131072, EmbeddingLength: 3584, BlockCount: 28, FeedForwardLength: 18944,
			HeadCount: 28, HeadCountKV: 4, RopeFreqBase: 1e6, NormEpsilon: 1e-6,
		},
		Vocab: qwen2Vocab(152064),
	},
	{
		// 2,506,172,416 parameters; head_dim 256, multi-query, embeddings tied.
		Name: "gemma-2b", Model: "google/gemma-2b", Arch: "gemma",
		Config: Config{
			ContextLength: 8192, EmbeddingLength: 2048, BlockCount: 18, FeedForwardLength: 16384,
			HeadCount: 8, HeadCountKV: 1, HeadDim: 256, RopeFreqBase: 10000, NormEpsilon: 1e-6,
			TiedOutput: true,
		},
		Vocab: withExtra(spmVocab(256000), kv("tokenizer.ggml.add_space_prefix", false)),
	},
	{
		// 2,614,341,888 parameters; head_dim 256 (8 query heads in a 2304-wide model),
		// GQA, embeddings tied; query_pre_attn_scalar 256 (the head size, not stored),
		// sliding_window 4096 on alternating layers, soft-caps 50 (attention) and 30
		// (logits).
		Name: "gemma2-2b", Model: "google/gemma-2-2b", Arch: "gemma2",
		Config: Config{
			ContextLength: 8192, EmbeddingLength: 2304, BlockCount: 26, FeedForwardLength: 9216,
			HeadCount: 8, HeadCountKV: 4, HeadDim: 256, RopeFreqBase: 10000, NormEpsilon: 1e-6,
			SlidingWindow: 4096, AttnSoftCap: 50, FinalSoftCap: 30, TiedOutput: true,
		},
		Vocab: withExtra(spmVocab(256000), kv("tokenizer.ggml.add_space_prefix", false)),
	},
	{
		// 2,779,683,840 parameters; partial_rotary_factor 0.4 of 80-wide heads: 32
		// rotated dimensions.
		Name: "phi2", Model: "microsoft/phi-2", Arch: "phi2",
		Config: Config{
			ContextLength: 2048, EmbeddingLength: 2560, BlockCount: 32, FeedForwardLength: 10240,
			HeadCount: 32, HeadCountKV: 32, RopeDims: 32, RopeFreqBase: 10000, NormEpsilon: 1e-5,
		},
		Vocab: withExtra(gpt2Vocab(51200, "phi-2"), kv("tokenizer.ggml.add_bos_token", false)),
	},
	{
		// 3,821,079,552 parameters.
		Name: "phi3-mini", Model: "microsoft/Phi-3-mini-4k-instruct", Arch: "phi3",
		Config: Config{
			ContextLength: 4096, OrigContextLength: 4096, EmbeddingLength: 3072, BlockCount: 32,
			FeedForwardLength: 8192, HeadCount: 32, HeadCountKV: 32, RopeFreqBase: 10000,
			NormEpsilon: 1e-5, SlidingWindow: 2047,
		},
		Vocab: phi3Vocab(),
	},
	{
		// 163,037,184 parameters: 124,439,808 of the model plus the output projection the
		// converter copies from wte (38,597,376).
		Name: "gpt2", Model: "openai-community/gpt2", Arch: "gpt2",
		Config: Config{
			ContextLength: 1024, EmbeddingLength: 768, BlockCount: 12, FeedForwardLength: 3072,
			HeadCount: 12, NormEpsilon: 1e-5,
		},
		Vocab: gpt2Vocab(50257, "gpt-2"),
	},
	{
		// 1,638,022,400 parameters (1,557,611,200 plus the copied output projection).
		Name: "gpt2-xl", Model: "openai-community/gpt2-xl", Arch: "gpt2",
		Config: Config{
			ContextLength: 1024, EmbeddingLength: 1600, BlockCount: 48, FeedForwardLength: 6400,
			HeadCount: 25, NormEpsilon: 1e-5,
		},
		Vocab: gpt2Vocab(50257, "gpt-2"),
	},
	{
		// 6,050,882,784 parameters; rotary_dim 64 of 256-wide heads.
		Name: "gptj-6b", Model: "EleutherAI/gpt-j-6b", Arch: "gptj",
		Config: Config{
			ContextLength: 2048, EmbeddingLength: 4096, BlockCount: 28, FeedForwardLength: 16384,
			HeadCount: 16, RopeDims: 64, NormEpsilon: 1e-5,
		},
		Vocab: gpt2Vocab(50400, "gpt-2"),
	},
	{
		// 1,414,647,808 parameters; rotary_pct 0.25 of 128-wide heads.
		Name: "gptneox-1.4b", Model: "EleutherAI/pythia-1.4b", Arch: "gptneox",
		Config: Config{
			ContextLength: 2048, EmbeddingLength: 2048, BlockCount: 24, FeedForwardLength: 8192,
			HeadCount: 16, RopeDims: 32, NormEpsilon: 1e-5,
		},
		Vocab: neoxVocab(50304),
	},
	{
		// 6,921,720,704 parameters; multi-query (one K/V head of 64), embeddings tied; the
		// converter writes context_length 2048 ("not in config.json").
		Name: "falcon-7b", Model: "tiiuae/falcon-7b", Arch: "falcon",
		Config: Config{
			ContextLength: 2048, EmbeddingLength: 4544, BlockCount: 32, FeedForwardLength: 4 * 4544,
			HeadCount: 71, HeadCountKV: 1, NormEpsilon: 1e-5, TiedOutput: true,
		},
		Vocab: falconVocab(),
	},
	{
		// 559,214,592 parameters of the model plus the output projection the converter
		// copies from the embeddings (256,901,120): 816,115,712 in the file. ALiBi.
		// config.json has no seq_length (the converter would fall back to n_embed); 2048
		// is the trained sequence length from the model card.
		Name: "bloom-560m", Model: "bigscience/bloom-560m", Arch: "bloom",
		Config: Config{
			ContextLength: 2048, EmbeddingLength: 1024, BlockCount: 24, FeedForwardLength: 4096,
			HeadCount: 16, HeadCountKV: 16, NormEpsilon: 1e-5,
		},
		Vocab: bloomVocab(),
	},
	{
		// 1,137,207,296 parameters; multi-query, embeddings tied.
		Name: "starcoder-1b", Model: "bigcode/starcoderbase-1b", Arch: "starcoder",
		Config: Config{
			ContextLength: 8192, EmbeddingLength: 2048, BlockCount: 24, FeedForwardLength: 8192,
			HeadCount: 16, HeadCountKV: 1, NormEpsilon: 1e-5, TiedOutput: true,
		},
		Vocab: starcoderVocab(),
	},
	{
		// StarCoder2-3B: GQA (24 query heads, 2 KV heads), sliding window 4096,
		// use_bias: true, tie_word_embeddings: true.
		Name: "starcoder2-3b", Model: "bigcode/starcoder2-3b", Arch: "starcoder2",
		Config: Config{
			ContextLength: 16384, EmbeddingLength: 3072, BlockCount: 30, FeedForwardLength: 12288,
			HeadCount: 24, HeadCountKV: 2, RopeFreqBase: 999999.44, NormEpsilon: 1e-5,
			SlidingWindow: 4096, TiedOutput: true,
		},
		Vocab: starcoderVocab(),
	},
	{
		// 129,135,360 parameters; d_inner 2·768, dt_rank ceil(768/16) = 48; the converter
		// writes context_length 2^20 and ties the output (equal to the embeddings).
		Name: "mamba-130m", Model: "state-spaces/mamba-130m-hf", Arch: "mamba",
		Config: Config{
			ContextLength: 1 << 20, EmbeddingLength: 768, BlockCount: 24, NormEpsilon: 1e-5,
			SSMConvKernel: 4, SSMInnerSize: 1536, SSMStateSize: 16, SSMTimeStepRank: 48,
			TiedOutput: true,
		},
		Vocab: neoxVocab(50280),
	},
	{
		// 2,768,345,600 parameters; dt_rank ceil(2560/16) = 160.
		Name: "mamba-2.8b", Model: "state-spaces/mamba-2.8b-hf", Arch: "mamba",
		Config: Config{
			ContextLength: 1 << 20, EmbeddingLength: 2560, BlockCount: 64, NormEpsilon: 1e-5,
			SSMConvKernel: 4, SSMInnerSize: 5120, SSMStateSize: 16, SSMTimeStepRank: 160,
			TiedOutput: true,
		},
		Vocab: neoxVocab(50280),
	},
	{
		// 108,891,648 parameters: bert-base-uncased's 109,482,240 without the pooler the
		// converter drops. Mean pooling, as a sentence-transformers checkpoint of it
		// declares (modules.json); bare bert-base-uncased has no pooling key.
		Name: "bert-base", Model: "google-bert/bert-base-uncased", Arch: "bert",
		Config: Config{
			ContextLength: 512, EmbeddingLength: 768, BlockCount: 12, FeedForwardLength: 3072,
			HeadCount: 12, NormEpsilon: 1e-12, PoolingType: 1,
		},
		Vocab: bertVocab(30522),
	},
}
