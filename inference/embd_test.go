package inference

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/internal/shared"
	"github.com/golem-llm/golem/models"
	"github.com/golem-llm/golem/models/tokenizer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mmOracle is the multimodal oracle: the text model, the image rows llama.cpp fed in,
// the prompt around them, and what llama.cpp computed.
type mmOracle struct {
	dir            string
	prefix, suffix []int32
	nImage         int
	generated      []int32
}

func loadMMOracle(t *testing.T) *mmOracle {
	dir := shared.Path(t, "oracle", "multimodal")
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	require.NoError(t, err)
	var man struct {
		Prompt struct {
			PrefixIDs    []int32 `json:"prefix_ids"`
			SuffixIDs    []int32 `json:"suffix_ids"`
			NImageTokens int     `json:"n_image_tokens"`
		} `json:"prompt"`
		Images []struct {
			Outputs map[string]json.RawMessage `json:"outputs"`
		} `json:"images"`
	}
	require.NoError(t, json.Unmarshal(b, &man))
	var f32 struct {
		Generated []int32 `json:"generated_tokens"`
	}
	require.NoError(t, json.Unmarshal(man.Images[0].Outputs["mmproj-F32"], &f32))
	return &mmOracle{dir: dir, prefix: man.Prompt.PrefixIDs, suffix: man.Prompt.SuffixIDs,
		nImage: man.Prompt.NImageTokens, generated: f32.Generated}
}

func readF32(t *testing.T, path string) []float32 {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// prompt is the oracle's prompt with rows at the image positions.
func (o *mmOracle) prompt(rows []float32) Prompt {
	toks := slices.Clone(o.prefix)
	for range o.nImage {
		toks = append(toks, models.EmbdToken)
	}
	return Prompt{Tokens: append(toks, o.suffix...), Embd: rows}
}

func (o *mmOracle) textModel(t *testing.T, batch int) (models.Model, *tokenizer.Tokenizer) {
	f, err := gguf.Open(filepath.Join(o.dir, "models", "llava-text-F32.gguf"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	be := cpu.New(backend.Options{Threads: 2})
	t.Cleanup(func() { be.Close() })
	m, err := models.Load(f, be, models.Options{MaxBatch: batch})
	require.NoError(t, err)
	tok, err := tokenizer.FromGGUF(f.Meta)
	require.NoError(t, err)
	return m, tok
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestSessionImagePromptMatchesOracle: the oracle's own image rows, fed between the
// prefix and the suffix (positions running through), give llama.cpp's last logits and
// its 8 greedy tokens, in one batch or in chunks that cut the image.
func TestSessionImagePromptMatchesOracle(t *testing.T) {
	o := loadMMOracle(t)
	rows := readF32(t, filepath.Join(o.dir, "image1.mmproj-F32.image_embd.f32"))
	logits := readF32(t, filepath.Join(o.dir, "image1.mmproj-F32.logits.f32"))
	for _, batch := range []int{128, 7} {
		m, tok := o.textModel(t, batch)
		nv := m.Config().NVocab
		s := NewSession(m, newCache(t, m, 128), batch)
		require.NoError(t, s.EvalPrompt(context.Background(), o.prompt(rows)))
		assert.Equal(t, 36, s.Len())
		assert.Less(t, maxAbsDiff(s.Logits(), logits[35*nv:36*nv]), 1e-4, "batch %d", batch)

		s = NewSession(m, newCache(t, m, 128), batch)
		var ids []int32
		st, err := GeneratePrompt(context.Background(), s, tok, o.prompt(rows),
			GenerateOptions{MaxTokens: 8, Sampler: &recorder{ids: &ids, skip: len(o.prefix) + len(o.suffix)}}, nil)
		require.NoError(t, err)
		assert.Equal(t, o.generated, ids, "batch %d", batch)
		assert.Equal(t, 36, st.PromptTokens)
	}
}

// TestPromptChecks: rows that do not fit the embedding positions are an error, not a
// panic, and nothing is left in the sequence.
func TestPromptChecks(t *testing.T) {
	o := loadMMOracle(t)
	m, tok := o.textModel(t, 128)
	s := NewSession(m, newCache(t, m, 128), 128)
	p := o.prompt(make([]float32, 3))
	require.Error(t, s.EvalPrompt(context.Background(), p))
	_, err := GeneratePrompt(context.Background(), s, tok, p, GenerateOptions{MaxTokens: 1}, nil)
	require.Error(t, err)
	b := NewBatcher(m, newCache(t, m, 128), tok, 128)
	_, err = b.AddPrompt(p, GenerateOptions{MaxTokens: 1}, nil)
	require.Error(t, err)
	assert.Equal(t, 0, s.Len())

	// A model without input embeddings refuses rows.
	sm, stok := storiesModel(t, nil, 64)
	_, err = NewBatcher(sm, newCache(t, sm, 64), stok, 64).AddPrompt(
		Prompt{Tokens: []int32{1, models.EmbdToken}, Embd: make([]float32, sm.Config().NEmbd)}, GenerateOptions{}, nil)
	if _, ok := sm.(models.EmbeddingsInput); !ok {
		require.Error(t, err)
	}
}

// batchGreedy runs prompts through one Batcher (a prompt cache between them when run
// one after another) and returns each one's tokens and stats.
func batchGreedy(t *testing.T, b *Batcher, ps ...Prompt) ([][]int32, []Stats) {
	var qs []*Sequence
	for _, p := range ps {
		q, err := b.AddPrompt(p, GenerateOptions{MaxTokens: 8}, nil)
		require.NoError(t, err)
		qs = append(qs, q)
	}
	require.NoError(t, b.Run(context.Background()))
	var ids [][]int32
	var st []Stats
	for _, q := range qs {
		require.NoError(t, q.Err())
		ids = append(ids, slices.Clone(q.Generated()))
		st = append(st, q.Stats())
	}
	return ids, st
}

// TestBatcherImagePromptsAndCache: image prompts decode together in the Batcher with
// llama.cpp's tokens; a finished image prompt's cells are reused by the same image
// (all but the last token) but not by a different one (the prefix only), which then
// generates what it generates alone.
func TestBatcherImagePromptsAndCache(t *testing.T) {
	o := loadMMOracle(t)
	rows := readF32(t, filepath.Join(o.dir, "image1.mmproj-F32.image_embd.f32"))
	other := make([]float32, len(rows)) // another image: the rows negated
	for i, v := range rows {
		other[i] = -v
	}
	m, tok := o.textModel(t, 16)

	// Alone, in a fresh batcher each.
	alone, _ := batchGreedy(t, NewBatcher(m, newCache(t, m, 128), tok, 16), o.prompt(other))
	require.NotEqual(t, o.generated, alone[0], "the other image should change the answer")

	b := NewBatcher(m, newCache(t, m, 256), tok, 16)
	ids, st := batchGreedy(t, b, o.prompt(rows), o.prompt(other), TokenPrompt(o.prefix))
	assert.Equal(t, o.generated, ids[0])
	assert.Equal(t, alone[0], ids[1])
	assert.Equal(t, 0, st[0].CachedTokens)

	// The same image again: everything but the last token comes from the cache.
	ids, st = batchGreedy(t, b, o.prompt(rows))
	assert.Equal(t, o.generated, ids[0])
	assert.Equal(t, 35, st[0].CachedTokens)

	// After the first image, a different one reuses the text before it only.
	b = NewBatcher(m, newCache(t, m, 128), tok, 16)
	batchGreedy(t, b, o.prompt(rows))
	ids, st = batchGreedy(t, b, o.prompt(other))
	assert.Equal(t, len(o.prefix), st[0].CachedTokens)
	assert.Equal(t, alone[0], ids[0])

	// Same for a Session's Prefill.
	s := NewSession(m, newCache(t, m, 128), 16)
	_, err := s.PrefillPrompt(context.Background(), o.prompt(rows))
	require.NoError(t, err)
	n, err := s.PrefillPrompt(context.Background(), o.prompt(other))
	require.NoError(t, err)
	assert.Equal(t, len(o.prefix), n)
	n, err = s.PrefillPrompt(context.Background(), o.prompt(other))
	require.NoError(t, err)
	assert.Equal(t, 35, n)
}
