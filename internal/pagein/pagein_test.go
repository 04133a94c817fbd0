package pagein

import (
	"context"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/models/embedded"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTouchReportsProgress(t *testing.T) {
	f, err := gguf.FromBytes(embedded.Stories260K)
	require.NoError(t, err)
	var last, total uint64
	calls := 0
	require.NoError(t, Touch(context.Background(), f, func(d, n uint64) { last, total = d, n; calls++ }))
	assert.Positive(t, calls)
	assert.Equal(t, Total(f), total)
	assert.Equal(t, total, last)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, Touch(ctx, f, nil), context.Canceled)
}
