package models

import (
	"math"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/internal/reference"
	"github.com/golem-llm/golem/models/embedded"
	"github.com/stretchr/testify/require"
)

// TestDecoderEmbeddings: a decoder embeds with last-token or mean pooling over the
// final-normalised hidden states; several sequences in one batch each get what they get
// alone, and the last-token vector agrees with the float64 reference's hidden state.
func TestDecoderEmbeddings(t *testing.T) {
	f, err := gguf.FromBytes(embedded.Stories260K)
	require.NoError(t, err)
	r := newRunner(t, f, backend.Options{}, 64)
	e, ok := r.m.(Embedder)
	require.True(t, ok, "the decoder implements Embedder")
	require.Equal(t, PoolLast, e.Pooling())

	a, b := []int32{1, 403, 407, 261}, []int32{1, 317, 269}
	both, err := e.Embed(t.Context(), [][]int32{a, b}, PoolLast)
	require.NoError(t, err)
	alone, err := e.Embed(t.Context(), [][]int32{b}, PoolLast)
	require.NoError(t, err)
	for i := range alone[0] {
		require.InDelta(t, alone[0][i], both[1][i], 1e-5)
	}
	tokens, err := e.Embed(t.Context(), [][]int32{a}, PoolNone)
	require.NoError(t, err)
	d := r.m.Config().NEmbd
	require.Len(t, tokens[0], len(a)*d)
	require.Equal(t, tokens[0][(len(a)-1)*d:], both[0], "last pooling is the last row")
	mean, err := e.Embed(t.Context(), [][]int32{a}, PoolMean)
	require.NoError(t, err)
	for i := range d {
		var s float64
		for p := range a {
			s += float64(tokens[0][p*d+i])
		}
		require.InDelta(t, s/float64(len(a)), mean[0][i], 1e-5)
	}

	ref, err := reference.Load(f)
	require.NoError(t, err)
	want, err := ref.Hidden(a)
	require.NoError(t, err)
	worst := 0.0
	for i, v := range want {
		worst = math.Max(worst, math.Abs(v-float64(both[0][i])))
	}
	require.Less(t, worst, 1e-4, "last-token embedding vs the float64 reference")
}
