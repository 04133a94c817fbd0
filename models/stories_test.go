package models

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/internal/shared"
	"github.com/golem-llm/golem/models/embedded"
	"github.com/stretchr/testify/require"
)

// goldenPrompt is one block of llama2.c's golden output for stories260K.
type goldenPrompt struct {
	tokens []int32
	argmax []int
	first8 [][]float32
}

func parseFloats(t *testing.T, fields []string) []float32 {
	out := make([]float32, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseFloat(f, 32)
		require.NoError(t, err)
		out[i] = float32(v)
	}
	return out
}

// TestStories260KGolden compares logits with llama2.c's run.c on the same weights.
func TestStories260KGolden(t *testing.T) {
	path := filepath.Join("..", "testdata", "stories260K", "golden_run_c_stories260K.txt")
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join(shared.Path(t, "models", "stories260K"), "golden_run_c_stories260K.txt")
	}
	fh, err := os.Open(path)
	require.NoError(t, err)
	defer fh.Close()
	var prompts []*goldenPrompt
	var bosAll []float32
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "PROMPT":
			prompts = append(prompts, &goldenPrompt{})
		case "TOKENS":
			for _, f := range fields[1:] {
				v, err := strconv.Atoi(f)
				require.NoError(t, err)
				prompts[len(prompts)-1].tokens = append(prompts[len(prompts)-1].tokens, int32(v))
			}
		case "POS":
			p := prompts[len(prompts)-1]
			am, err := strconv.Atoi(fields[5])
			require.NoError(t, err)
			p.argmax = append(p.argmax, am)
			p.first8 = append(p.first8, parseFloats(t, fields[7:15]))
		default:
			if len(fields) >= 512 {
				bosAll = parseFloats(t, fields[len(fields)-512:])
			}
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, prompts)

	f, err := gguf.FromBytes(embedded.Stories260K)
	require.NoError(t, err)
	for _, opts := range []backend.Options{{}, {Reference: true}} {
		for pi, p := range prompts {
			r := newRunner(t, f, opts, 512)
			rows := r.feed(t, p.tokens)
			for i, row := range rows {
				require.Equal(t, p.argmax[i], argmax(row), "prompt %d pos %d", pi, i)
				for j, want := range p.first8[i] {
					require.InDelta(t, want, row[j], 1e-4, "prompt %d pos %d logit %d", pi, i, j)
				}
			}
			if pi == 0 && bosAll != nil {
				var worst float64
				for j, want := range bosAll {
					worst = math.Max(worst, math.Abs(float64(want-rows[0][j])))
				}
				require.Less(t, worst, 1e-4, "BOS logits")
			}
		}
	}
}
