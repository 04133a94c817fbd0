package inference

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/models"
	"github.com/golem-llm/golem/models/embedded"
	"github.com/golem-llm/golem/models/tokenizer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func stories(t *testing.T, ctx, batch int) (*Session, *tokenizer.Tokenizer) {
	f, err := gguf.FromBytes(embedded.Stories260K)
	require.NoError(t, err)
	b := cpu.New(backend.Options{})
	t.Cleanup(func() { b.Close() })
	m, err := models.Load(f, b, models.Options{MaxBatch: batch})
	require.NoError(t, err)
	cache, err := m.NewCache(ctx, gguf.TypeF32)
	require.NoError(t, err)
	tok, err := tokenizer.FromGGUF(f.Meta)
	require.NoError(t, err)
	return NewSession(m, cache, batch), tok
}

// TestPrefillInChunksEqualsOneBatch: a prompt evaluated in batches of 3 gives the
// same last logits as one batch.
func TestPrefillInChunksEqualsOneBatch(t *testing.T) {
	prompt := []int32{1, 403, 407, 261, 378, 286, 261, 425}
	one, _ := stories(t, 64, 512)
	require.NoError(t, one.Eval(context.Background(), prompt))
	chunked, _ := stories(t, 64, 3)
	require.NoError(t, chunked.Eval(context.Background(), prompt))
	require.Equal(t, len(prompt), chunked.Len())
	for i, v := range one.Logits() {
		require.InDelta(t, v, chunked.Logits()[i], 1e-5)
	}
}

func TestContextFull(t *testing.T) {
	s, _ := stories(t, 4, 512)
	err := s.Eval(context.Background(), []int32{1, 2, 3, 4, 5})
	require.ErrorIs(t, err, ErrContextFull)
}

func TestGenerateLimitsAndStops(t *testing.T) {
	s, tok := stories(t, 64, 512)
	var out strings.Builder
	st, err := Generate(context.Background(), s, tok, []int32{1}, GenerateOptions{MaxTokens: 7}, func(p string) error {
		out.WriteString(p)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 7, st.GeneratedTokens)
	assert.Equal(t, StopLength, st.Stop)
	assert.True(t, strings.HasPrefix(out.String(), "Once upon a time"), out.String())

	// Without a limit, generation stops at a full context.
	s2, _ := stories(t, 12, 512)
	st, err = Generate(context.Background(), s2, tok, []int32{1}, GenerateOptions{}, func(string) error { return nil })
	require.NoError(t, err)
	assert.Equal(t, StopCtx, st.Stop)
	assert.Equal(t, 12, s2.Len())
}

// eosSampler always answers the vocab's EOS: generation must stop at once.
type eosSampler struct{ id int32 }

func (e eosSampler) Sample([]float32) (int32, error) { return e.id, nil }
func (eosSampler) Accept(int32) error                { return nil }

func TestGenerateStopsAtEOS(t *testing.T) {
	s, tok := stories(t, 64, 512)
	st, err := Generate(context.Background(), s, tok, []int32{1}, GenerateOptions{MaxTokens: 10, Sampler: eosSampler{tok.EOS()}}, func(string) error { return nil })
	require.NoError(t, err)
	assert.Equal(t, StopEOG, st.Stop)
	assert.Zero(t, st.GeneratedTokens)
}

func TestGenerateCancels(t *testing.T) {
	s, tok := stories(t, 64, 512)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := Generate(ctx, s, tok, []int32{1}, GenerateOptions{MaxTokens: 50}, func(string) error {
		n++
		if n == 3 {
			cancel()
		}
		return nil
	})
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
	assert.Equal(t, 3, n, "stopped within one token of the cancellation")
}
