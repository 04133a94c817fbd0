package golem_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/internal/shared"
	"github.com/golem-llm/golem/models/embedded"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func load(t *testing.T, path string, opts golem.LoadOptions) *golem.Model {
	t.Helper()
	m, err := golem.Load(context.Background(), path, opts)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

// collect runs a generation to its end.
func collect(seq func(yield func(string, error) bool)) (string, error) {
	var sb strings.Builder
	for piece, err := range seq {
		if err != nil {
			return sb.String(), err
		}
		sb.WriteString(piece)
	}
	return sb.String(), nil
}

// TestGenerateTellsLlama2cStory: greedy Generate gives `golem run --temp 0`'s output,
// llama2.c's story for the same weights.
func TestGenerateTellsLlama2cStory(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "stories260K", "expected_run_c_t0_n200.txt"))
	require.NoError(t, err)
	m := load(t, "", golem.LoadOptions{})
	var st golem.Stats
	got, err := collect(m.Generate(context.Background(), "", golem.GenerateOptions{MaxTokens: 200, Stats: &st}))
	require.NoError(t, err)
	assert.Equal(t, string(want), got)
	assert.Equal(t, 200, st.GeneratedTokens)
	assert.Equal(t, 1, st.PromptTokens)
	assert.Equal(t, golem.StopLength, st.Stop)
}

// TestGenerateCancel: cancelling the context stops the generation within a token and
// ends the iteration with the context's error; the model goes on working.
func TestGenerateCancel(t *testing.T) {
	m := load(t, "", golem.LoadOptions{ContextSize: 128})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var st golem.Stats
	n, after := 0, 0
	var final error
	for piece, err := range m.Generate(ctx, "Once upon a time", golem.GenerateOptions{ContextShift: true, Stats: &st}) {
		if err != nil {
			final = err
			break
		}
		_ = piece
		n++
		if n == 3 {
			cancel()
		} else if n > 3 {
			after++
		}
	}
	assert.Zero(t, after, "no piece after the cancellation")
	assert.ErrorIs(t, final, context.Canceled)
	assert.Empty(t, st.Stop, "stopped, not ended")

	story, err := os.ReadFile(filepath.Join("testdata", "stories260K", "expected_run_c_t0_n200.txt"))
	require.NoError(t, err)
	got, err := collect(m.Generate(context.Background(), "Once upon a time", golem.GenerateOptions{MaxTokens: 9}))
	require.NoError(t, err)
	assert.NotEmpty(t, got)
	assert.True(t, strings.HasPrefix(string(story), "Once upon a time"+got), got)
}

// TestGenerateBreak: leaving the loop early stops the generation; the next one (which
// reuses the cached prompt) gives what a fresh model gives.
func TestGenerateBreak(t *testing.T) {
	m := load(t, "", golem.LoadOptions{ContextSize: 256})
	for range m.Generate(context.Background(), "Lily and Ben", golem.GenerateOptions{}) {
		break
	}
	var st golem.Stats
	got, err := collect(m.Generate(context.Background(), "Lily and Ben", golem.GenerateOptions{MaxTokens: 20, Stats: &st}))
	require.NoError(t, err)
	fresh := load(t, "", golem.LoadOptions{ContextSize: 256})
	want, err := collect(fresh.Generate(context.Background(), "Lily and Ben", golem.GenerateOptions{MaxTokens: 20}))
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// TestConcurrentGenerate: generations started together from several goroutines are
// decoded in one batch and each gives what it gives alone.
func TestConcurrentGenerate(t *testing.T) {
	prompts := []string{"Once upon a time", "Lily and Ben", "The dog was", "One day", "Tom had a"}
	alone := load(t, "", golem.LoadOptions{ContextSize: 64})
	want := make([]string, len(prompts))
	for i, p := range prompts {
		var err error
		want[i], err = collect(alone.Generate(context.Background(), p, golem.GenerateOptions{MaxTokens: 24}))
		require.NoError(t, err)
	}
	m := load(t, "", golem.LoadOptions{ContextSize: 256, Parallel: 3})
	got := make([]string, len(prompts))
	errs := make([]error, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Go(func() {
			got[i], errs[i] = collect(m.Generate(context.Background(), p, golem.GenerateOptions{MaxTokens: 24}))
		})
	}
	wg.Wait()
	for i := range prompts {
		require.NoError(t, errs[i])
		assert.Equal(t, want[i], got[i], prompts[i])
	}

	res, err := m.GenerateBatch(context.Background(), prompts, golem.GenerateOptions{MaxTokens: 24})
	require.NoError(t, err)
	for i, r := range res {
		require.NoError(t, r.Err)
		assert.Equal(t, want[i], r.Text, prompts[i])
		assert.Equal(t, 24, r.Stats.GeneratedTokens)
	}
}

// rewriteStories writes the embedded model with its metadata edited.
func rewriteStories(t *testing.T, edit func(m *gguf.Metadata)) string {
	f, err := gguf.FromBytes(embedded.Stories260K)
	require.NoError(t, err)
	meta, err := gguf.NewMetadata(f.Meta.KVs())
	require.NoError(t, err)
	edit(&meta)
	specs := make([]gguf.TensorSpec, len(f.Tensors))
	for i, ti := range f.Tensors {
		specs[i] = gguf.TensorSpec{Name: ti.Name, Type: ti.Type, Dims: ti.Dims}
	}
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, meta, specs)
	require.NoError(t, err)
	for i := range f.Tensors {
		d, err := f.TensorData(&f.Tensors[i])
		require.NoError(t, err)
		size, err := f.Tensors[i].Type.TensorBytes(f.Tensors[i].Dims)
		require.NoError(t, err)
		require.NoError(t, w.WriteTensor(f.Tensors[i].Name, d[:size]))
	}
	require.NoError(t, w.Close())
	path := filepath.Join(t.TempDir(), "stories.gguf")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
}

// TestChatRendersAndStopsAtEOG: Chat renders the template, does not add a second BOS
// when the template wrote one, and ends the answer at an end-of-generation token
// (here the model's EOS is made the "." token, so the story's first sentence is the
// answer).
func TestChatRendersAndStopsAtEOG(t *testing.T) {
	m := load(t, "", golem.LoadOptions{})
	ids := m.Tokenize("Lily.", golem.TokenizeOptions{NoSpecial: true})
	dot := ids[len(ids)-1]
	path := rewriteStories(t, func(meta *gguf.Metadata) {
		meta.Set("tokenizer.ggml.eos_token_id", gguf.MustValue(uint32(dot)))
	})
	tmpl := filepath.Join(t.TempDir(), "story.jinja")
	require.NoError(t, os.WriteFile(tmpl, []byte(`{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}`), 0o644))
	m = load(t, path, golem.LoadOptions{ChatTemplate: tmpl})
	assert.False(t, m.Info().ChatTemplateFallback)

	msgs := []golem.Message{{Role: "user", Content: "Once upon a time"}}
	prompt, err := m.ChatPrompt(msgs, golem.ChatOptions{})
	require.NoError(t, err)
	assert.Equal(t, "<s>Once upon a time", prompt)

	var st golem.Stats
	answer, err := collect(m.Chat(context.Background(), msgs, golem.ChatOptions{GenerateOptions: golem.GenerateOptions{Stats: &st}}))
	require.NoError(t, err)
	assert.Equal(t, ", there was a little girl named Lily", answer)
	assert.Equal(t, golem.StopEOG, st.Stop)
	assert.Equal(t, len(m.Tokenize("Once upon a time", golem.TokenizeOptions{})), st.PromptTokens, "one BOS")

	// The second turn reuses the first one's cells.
	msgs = append(msgs, golem.Message{Role: "assistant", Content: answer}, golem.Message{Role: "user", Content: ". She"})
	_, err = collect(m.Chat(context.Background(), msgs, golem.ChatOptions{GenerateOptions: golem.GenerateOptions{MaxTokens: 5, Stats: &st}}))
	require.NoError(t, err)
	assert.Positive(t, st.CachedTokens)
}

// TestChatFallback: a model without a template is chatted with in ChatML.
func TestChatFallback(t *testing.T) {
	m := load(t, "", golem.LoadOptions{})
	assert.True(t, m.Info().ChatTemplateFallback)
	assert.Equal(t, "chatml", m.Info().ChatTemplate)
	p, err := m.ChatPrompt([]golem.Message{{Role: "user", Content: "hi"}}, golem.ChatOptions{})
	require.NoError(t, err)
	assert.Equal(t, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", p)
}

func readFloats(t *testing.T, path string) []float32 {
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// TestEmbedMatchesOracle: EmbedTokens of llama.cpp's BERT oracle ids gives its pooled,
// normalised and per-token embeddings.
func TestEmbedMatchesOracle(t *testing.T) {
	dir := shared.Path(t, "oracle", "models", "bert")
	m := load(t, filepath.Join(dir, "bert-F32.gguf"), golem.LoadOptions{})
	assert.True(t, m.Info().Embeddings)
	ids := []int32{101, 170, 464, 425, 173, 275, 499, 301, 376, 491, 324, 369, 486, 170, 233, 102}
	for _, c := range []struct {
		opts  golem.EmbedOptions
		file  string
		bound float64
	}{
		{golem.EmbedOptions{}, "embd_pooled", 1e-4},
		{golem.EmbedOptions{Normalize: true}, "embd_pooled_norm", 1e-4},
		{golem.EmbedOptions{Pooling: "none"}, "embd_tokens", 2e-3},
	} {
		vecs, err := m.EmbedTokens(context.Background(), [][]int32{ids}, c.opts)
		require.NoError(t, err)
		require.Len(t, vecs, 1)
		want := readFloats(t, filepath.Join(dir, "bert-F32."+c.file+".f32"))
		require.Len(t, vecs[0], len(want), c.file)
		for i := range want {
			require.InDelta(t, want[i], vecs[0][i], c.bound, "%s[%d]", c.file, i)
		}
	}

	vecs, err := m.Embed(context.Background(), []string{"hello world", "a", "the cat"}, golem.EmbedOptions{Normalize: true})
	require.NoError(t, err)
	require.Len(t, vecs, 3)
	for _, v := range vecs {
		require.Len(t, v, m.Info().EmbeddingSize)
	}

	_, err = collect(m.Generate(context.Background(), "hello", golem.GenerateOptions{}))
	assert.ErrorContains(t, err, "does not generate")
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	_, err := golem.Load(ctx, filepath.Join(t.TempDir(), "missing.gguf"), golem.LoadOptions{})
	assert.Error(t, err)
	_, err = golem.Load(ctx, "", golem.LoadOptions{CacheType: "q4"})
	assert.ErrorContains(t, err, "cache type")
	_, err = golem.Load(ctx, "", golem.LoadOptions{Parallel: golem.MaxParallel + 1})
	assert.ErrorContains(t, err, "parallel")
	_, err = golem.Load(ctx, "", golem.LoadOptions{ChatTemplate: "no-such-format"})
	assert.ErrorContains(t, err, "neither a built-in format")
	broken := rewriteStories(t, func(meta *gguf.Metadata) { meta.Set("general.architecture", gguf.MustValue("nosuch")) })
	_, err = golem.Load(ctx, broken, golem.LoadOptions{})
	assert.ErrorContains(t, err, `architecture "nosuch" is not supported`)

	m := load(t, "", golem.LoadOptions{})
	if !m.Info().Embeddings {
		_, err = m.Embed(ctx, []string{"hi"}, golem.EmbedOptions{})
		assert.ErrorContains(t, err, "does not produce embeddings")
	}
	_, err = m.Embed(ctx, nil, golem.EmbedOptions{})
	assert.Error(t, err)
	_, err = collect(m.Chat(ctx, nil, golem.ChatOptions{}))
	assert.ErrorContains(t, err, "no messages")
	_, err = collect(m.Chat(ctx, []golem.Message{{Content: "hi"}}, golem.ChatOptions{}))
	assert.ErrorContains(t, err, "no role")
	_, err = m.Detokenize([]int32{100000})
	assert.ErrorContains(t, err, "out of range")
	_, err = collect(m.Generate(ctx, "x", golem.GenerateOptions{Mirostat: 3}))
	assert.Error(t, err)
	_, err = collect(m.Generate(ctx, "Once upon a time there was", golem.GenerateOptions{MaxTokens: 10}))
	assert.NoError(t, err)

	small := load(t, "", golem.LoadOptions{ContextSize: 4})
	_, err = collect(small.Generate(ctx, "Once upon a time there was a girl", golem.GenerateOptions{MaxTokens: 10}))
	assert.ErrorContains(t, err, "context is full")

	require.NoError(t, m.Close())
	require.NoError(t, m.Close(), "a second Close does nothing")
	_, err = collect(m.Generate(ctx, "x", golem.GenerateOptions{}))
	assert.ErrorIs(t, err, golem.ErrClosed)
	_, err = m.Embed(ctx, []string{"x"}, golem.EmbedOptions{})
	assert.Error(t, err)
}

// TestCloseStopsGenerations: closing the model ends a running generation with
// ErrClosed.
func TestCloseStopsGenerations(t *testing.T) {
	m, err := golem.Load(context.Background(), "", golem.LoadOptions{ContextSize: 64})
	require.NoError(t, err)
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		first := true
		var final error
		for _, err := range m.Generate(context.Background(), "", golem.GenerateOptions{ContextShift: true}) {
			if first {
				close(started)
				first = false
			}
			if err != nil {
				final = err
			}
		}
		done <- final
	}()
	<-started
	require.NoError(t, m.Close())
	assert.True(t, errors.Is(<-done, golem.ErrClosed))
}
