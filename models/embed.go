package models

import (
	"context"
	"fmt"
	"math"
)

// Pooling is how an embedding model reduces a sequence's per-token vectors to one
// vector. The values are llama.cpp's (the <arch>.pooling_type key).
type Pooling int

const (
	// PoolNone keeps every token's vector.
	PoolNone Pooling = 0
	// PoolMean averages the tokens' vectors.
	PoolMean Pooling = 1
	// PoolCLS takes the first token's vector.
	PoolCLS Pooling = 2
	// PoolLast takes the last token's vector.
	PoolLast Pooling = 3
)

var poolingNames = map[Pooling]string{PoolNone: "none", PoolMean: "mean", PoolCLS: "cls", PoolLast: "last"}

func (p Pooling) String() string {
	if s, ok := poolingNames[p]; ok {
		return s
	}
	return fmt.Sprintf("pooling(%d)", int(p))
}

// ParsePooling reads a pooling name: none, mean, cls or last.
func ParsePooling(s string) (Pooling, error) {
	for p, name := range poolingNames {
		if name == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("pooling %q: want mean, cls, last or none", s)
}

// Embedder is a model that turns token sequences into vectors.
type Embedder interface {
	Config() *Config
	// Pooling is the model's own pooling (what its file says).
	Pooling() Pooling
	// Embed runs the sequences together in one batch, each at positions 0..len-1 and
	// seeing only itself, and returns one vector of n_embd values per sequence, or
	// for PoolNone the sequence's per-token vectors, [len][n_embd] flattened.
	Embed(ctx context.Context, seqs [][]int32, pooling Pooling) ([][]float32, error)
}

// Normalize scales v to unit L2 norm in place, as llama.cpp's embedding example
// does: the sum of squares in float64, then a float32 factor (a zero vector stays
// zero).
func Normalize(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	var scale float32
	if sum > 0 {
		scale = float32(1 / math.Sqrt(sum))
	}
	for i := range v {
		v[i] *= scale
	}
}

// IsEncoder reports whether m only embeds (an encoder such as BERT, with no
// language-model head): a model says so with an Encoder() bool method.
func IsEncoder(m Model) bool {
	e, ok := m.(interface{ Encoder() bool })
	return ok && e.Encoder()
}
