package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInfoPreset(t *testing.T) {
	code, out, errOut := golem(t, "info", "--preset", "tinyllama-1.1b")
	require.Equal(t, 0, code, errOut)
	for _, want := range []string{
		"preset:", "tinyllama-1.1b", "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
		"1100048384 (1.10B) in 201 tensors",
		"llama.block_count:", "22", "llama.attention.head_count_kv:", "4", "llama.feed_forward_length:", "5632",
		"llama, 32000 tokens",
		"Q4_0:", "Q4_K_M:", "F16:", "2.05 GiB",
		// 2 (K and V) · 22 layers · 2048 tokens · 4 heads · 64 · 4 bytes = 88 MiB.
		"KV cache at 2048 tokens:", "88.00 MiB F32, 44.00 MiB F16",
	} {
		assert.Contains(t, out, want)
	}
	assert.Empty(t, errOut)

	code, out, _ = golem(t, "info", "--preset", "llama2-7b", "-c", "4096", "--json", "--tensors")
	require.Equal(t, 0, code)
	var info struct {
		Preset       string `json:"preset"`
		Architecture string `json:"architecture"`
		Params       uint64 `json:"n_params"`
		NTensors     int    `json:"n_tensors"`
		VocabSize    int    `json:"vocab_size"`
		HParams      []struct{ Key, Value string }
		Weights      []struct {
			Type  string `json:"type"`
			Bytes uint64 `json:"bytes"`
		} `json:"weights"`
		Cache struct {
			Kind    string `json:"kind"`
			Context int    `json:"context"`
			F16     uint64 `json:"f16_bytes"`
		} `json:"cache"`
		Tensors []struct {
			Name  string   `json:"name"`
			Shape []uint64 `json:"shape"`
		} `json:"tensors"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &info))
	assert.Equal(t, "llama2-7b", info.Preset)
	assert.Equal(t, "llama", info.Architecture)
	assert.Equal(t, uint64(6_738_415_616), info.Params)
	assert.Equal(t, 291, info.NTensors) // 32 layers of 9 tensors, embeddings, final norm, output
	assert.Len(t, info.Tensors, 291)
	assert.Equal(t, 32000, info.VocabSize)
	assert.Equal(t, "kv", info.Cache.Kind)
	assert.Equal(t, uint64(2048<<20), info.Cache.F16) // llama.cpp: "KV self size = 2048.00 MiB"
	var f16 uint64
	for _, w := range info.Weights {
		if w.Type == "F16" {
			f16 = w.Bytes
		}
	}
	// Every matrix in F16 and the 65 norms of 4096 in F32.
	norms := uint64(65 * 4096)
	assert.Equal(t, 2*(info.Params-norms)+4*norms, f16)

	code, out, _ = golem(t, "info", "--preset", "mamba-130m")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "recurrent state per sequence:")
	assert.Contains(t, out, "Q4_0:")
	assert.Contains(t, out, "cannot be made")
	code, out, _ = golem(t, "info", "--preset", "bert-base")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "none (encoder)")
	assert.Contains(t, out, "bert.pooling_type:")
}

func TestInfoPresetErrors(t *testing.T) {
	code, out, errOut := golem(t, "info", "--preset", "llama9")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.True(t, strings.HasPrefix(errOut, "golem: info: unknown preset \"llama9\" (known: "), errOut)
	assert.Contains(t, errOut, "bert-base")
	code, _, errOut = golem(t, "info", "--preset", "gpt2", "model.gguf")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "not both")
}
