package clip_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/internal/shared"
	"github.com/golem-llm/golem/models"
	"github.com/golem-llm/golem/models/clip"
	"github.com/stretchr/testify/require"
)

// The oracle: ../shared/oracle/multimodal (llama.cpp's llava library; README there).

type manifest struct {
	Prompt struct {
		Prefix []int32 `json:"prefix_ids"`
		NImage int     `json:"n_image_tokens"`
		Suffix []int32 `json:"suffix_ids"`
	} `json:"prompt"`
	Images []struct {
		Name    string                     `json:"name"`
		File    string                     `json:"file"`
		Outputs map[string]json.RawMessage `json:"outputs"`
	} `json:"images"`
}

type mmprojOutputs struct {
	Generated []int32 `json:"generated_tokens"`
}

func oracleDir(t *testing.T) string {
	return shared.Path(t, "oracle", "multimodal")
}

func readManifest(t *testing.T, dir string) *manifest {
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	require.NoError(t, err)
	var m manifest
	require.NoError(t, json.Unmarshal(raw, &m))
	require.NotEmpty(t, m.Images)
	return &m
}

func readF32(t *testing.T, path string) []float32 {
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

func maxAbs(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

func newBackend(t *testing.T) backend.Backend {
	b := cpu.New(backend.Options{Threads: 2})
	t.Cleanup(func() { b.Close() })
	return b
}

func openGGUF(t *testing.T, path string) *gguf.File {
	f, err := gguf.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func loadProj(t *testing.T, b backend.Backend, dir, variant string) *clip.Model {
	f := openGGUF(t, filepath.Join(dir, "models", "mmproj-"+variant+".gguf"))
	m, err := clip.Load(f, b)
	require.NoError(t, err)
	return m
}

// TestPreprocessMatchesOracle: the preprocessed image equals clip_image_preprocess's
// bit for bit, with either mmproj file's mean and std.
func TestPreprocessMatchesOracle(t *testing.T) {
	dir := oracleDir(t)
	want := readF32(t, filepath.Join(dir, "image1.preproc_chw.f32"))
	img, err := clip.LoadImage(filepath.Join(dir, "image1.png"))
	require.NoError(t, err)
	require.Equal(t, [2]int{64, 48}, [2]int{img.W, img.H})
	for _, variant := range []string{"F32", "F16"} {
		f := openGGUF(t, filepath.Join(dir, "models", "mmproj-"+variant+".gguf"))
		cfg, err := clip.ReadConfig(f.Meta)
		require.NoError(t, err)
		got, err := clip.Preprocess(img, cfg.ImageSize, cfg.Mean, cfg.Std)
		require.NoError(t, err)
		require.Len(t, got, len(want))
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: element %d (c %d, y %d, x %d): got %v, want %v", variant, i, i/4900, i%4900/70, i%70, got[i], want[i])
			}
		}
	}
}

// TestImageEmbeddingsMatchOracle: the projector's output within the README's bound
// (5e-3 max-abs) for the F32 and F16 mmproj files, from our own preprocessing.
func TestImageEmbeddingsMatchOracle(t *testing.T) {
	dir := oracleDir(t)
	img, err := clip.LoadImage(filepath.Join(dir, "image1.png"))
	require.NoError(t, err)
	b := newBackend(t)
	for _, variant := range []string{"F32", "F16"} {
		t.Run(variant, func(t *testing.T) {
			m := loadProj(t, b, dir, variant)
			require.Equal(t, 25, m.NImageTokens())
			require.Equal(t, 256, m.OutDim())
			want := readF32(t, filepath.Join(dir, "image1.mmproj-"+variant+".image_embd.f32"))
			got, err := m.EmbedImage(context.Background(), img)
			require.NoError(t, err)
			require.Len(t, got, len(want))
			d := maxAbs(got, want)
			t.Logf("mmproj-%s image_embd max-abs %.3g", variant, d)
			require.LessOrEqual(t, d, 5e-3)
			// Encoding again gives the same bits (buffers and cache are reused).
			again, err := m.EmbedImage(context.Background(), img)
			require.NoError(t, err)
			require.Equal(t, got, again)
		})
	}
}

// TestTextLogitsWithImage runs prefix, image and suffix as one batch through the
// text model: every position within 1e-4 of llama.cpp when the oracle's own image
// embeddings are fed in (the injection path alone), within 5e-3 with ours (the whole
// pipeline); then the greedy continuation, one token per call, gives the manifest's
// 8 tokens.
func TestTextLogitsWithImage(t *testing.T) {
	dir := oracleDir(t)
	man := readManifest(t, dir)
	img, err := clip.LoadImage(filepath.Join(dir, man.Images[0].File))
	require.NoError(t, err)
	b := newBackend(t)
	text := openGGUF(t, filepath.Join(dir, "models", "llava-text-F32.gguf"))
	lm, err := models.Load(text, b, models.Options{})
	require.NoError(t, err)
	em, ok := lm.(models.EmbeddingsInput)
	require.True(t, ok, "the llama decoder takes input embeddings")
	nv := lm.Config().NVocab
	var tokens []int32
	tokens = append(tokens, man.Prompt.Prefix...)
	for range man.Prompt.NImage {
		tokens = append(tokens, models.EmbdToken)
	}
	tokens = append(tokens, man.Prompt.Suffix...)
	n := len(tokens)
	require.Equal(t, 36, n)

	run := func(t *testing.T, embd []float32) (*backend.KVCache, []float32) {
		cache, err := lm.NewCache(128, gguf.TypeF32)
		require.NoError(t, err)
		batch := &backend.Batch{}
		outputs := make([]int, n)
		for i := range n {
			batch.Pos = append(batch.Pos, int32(i))
			batch.Seq = append(batch.Seq, 0)
			batch.Cells = append(batch.Cells, int32(i))
			cache.Cells[i] = backend.Cell{Pos: int32(i), Seq: 0}
			outputs[i] = i
		}
		logits := make([]float32, n*nv)
		require.NoError(t, em.ForwardEmbeddings(context.Background(), tokens, embd, batch, cache, outputs, logits))
		return cache, logits
	}
	rowMax := func(want, got []float32) (float64, int) {
		worst, at := 0.0, 0
		for i := range len(got) / nv {
			if d := maxAbs(got[i*nv:(i+1)*nv], want[i*nv:(i+1)*nv]); d > worst {
				worst, at = d, i
			}
		}
		return worst, at
	}
	for _, variant := range []string{"F32", "F16"} {
		t.Run(variant, func(t *testing.T) {
			var outs mmprojOutputs
			require.NoError(t, json.Unmarshal(man.Images[0].Outputs["mmproj-"+variant], &outs))
			want := readF32(t, filepath.Join(dir, "image1.mmproj-"+variant+".logits.f32"))
			oracleEmbd := readF32(t, filepath.Join(dir, "image1.mmproj-"+variant+".image_embd.f32"))

			_, got := run(t, oracleEmbd)
			d, at := rowMax(want, got)
			t.Logf("oracle image_embd fed in: logits max-abs %.3g (position %d)", d, at)
			require.LessOrEqual(t, d, 1e-4)

			proj := loadProj(t, b, dir, variant)
			require.NoError(t, proj.CheckTextModel(lm.Config().NEmbd))
			ours, err := proj.EmbedImage(context.Background(), img)
			require.NoError(t, err)
			cache, got := run(t, ours)
			d, at = rowMax(want, got)
			t.Logf("our image_embd: logits max-abs %.3g (position %d)", d, at)
			require.LessOrEqual(t, d, 5e-3)

			// Greedy, one token per call at positions 36.., continuing our cache.
			wantGen := readF32(t, filepath.Join(dir, "image1.mmproj-"+variant+".gen_logits.f32"))
			next := argmax(got[(n-1)*nv:])
			var gen []int32
			var genMax float64
			for s := range len(outs.Generated) {
				gen = append(gen, int32(next))
				p := int32(n + s)
				cache.Cells[p] = backend.Cell{Pos: p, Seq: 0}
				row := make([]float32, nv)
				batch := &backend.Batch{Pos: []int32{p}, Seq: []int32{0}, Cells: []int32{p}}
				require.NoError(t, lm.Forward(context.Background(), []int32{int32(next)}, batch, cache, []int{0}, row))
				genMax = math.Max(genMax, maxAbs(row, wantGen[s*nv:(s+1)*nv]))
				next = argmax(row)
			}
			t.Logf("greedy %v, step logits max-abs %.3g", gen, genMax)
			require.Equal(t, outs.Generated, gen)
			require.LessOrEqual(t, genMax, 5e-3)
		})
	}
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// TestHostileInputs: bad images and mismatched or unsupported files are errors.
func TestHostileInputs(t *testing.T) {
	dir := oracleDir(t)
	png, err := os.ReadFile(filepath.Join(dir, "image1.png"))
	require.NoError(t, err)

	t.Run("huge declared PNG", func(t *testing.T) {
		_, err := clip.Decode(pngHeader(100000, 100000))
		require.ErrorIs(t, err, clip.ErrImageTooLarge)
		_, err = clip.Decode(pngHeader(clip.MaxImageSide+1, 1))
		require.ErrorIs(t, err, clip.ErrImageTooLarge)
	})
	t.Run("truncated PNG", func(t *testing.T) {
		for _, cut := range []int{0, 8, 30, len(png) / 2, len(png) - 13} {
			_, err := clip.Decode(png[:cut])
			require.Error(t, err, "cut at %d", cut)
		}
	})
	t.Run("not an image", func(t *testing.T) {
		_, err := clip.Decode([]byte("GIF89a not really"))
		require.Error(t, err)
		_, err = clip.LoadImage(filepath.Join(dir, "missing.png"))
		require.Error(t, err)
	})
	t.Run("unsupported projector", func(t *testing.T) {
		f := openGGUF(t, filepath.Join(dir, "models", "mmproj-F32.gguf"))
		f.Meta.Set("clip.projector_type", gguf.MustValue("ldp"))
		_, err := clip.Load(f, newBackend(t))
		require.ErrorContains(t, err, `projector type "ldp" is not supported`)
	})
	t.Run("keys that disagree with the tensors", func(t *testing.T) {
		for key, v := range map[string]any{
			"clip.vision.block_count":                  uint32(4),
			"clip.vision.image_size":                   uint32(84),
			"clip.vision.feed_forward_length":          uint32(1 << 16),
			"clip.vision.attention.head_count":         uint32(3),
			"clip.vision.image_mean":                   []float32{0.5},
			"clip.vision.attention.layer_norm_epsilon": float32(-1),
		} {
			f := openGGUF(t, filepath.Join(dir, "models", "mmproj-F32.gguf"))
			f.Meta.Set(key, gguf.MustValue(v))
			_, err := clip.Load(f, newBackend(t))
			require.Error(t, err, key)
			t.Logf("%s: %v", key, err)
		}
	})
	t.Run("LLaVA-1.6 grid", func(t *testing.T) {
		f := openGGUF(t, filepath.Join(dir, "models", "mmproj-F32.gguf"))
		f.Meta.Set("clip.vision.mm_patch_merge_type", gguf.MustValue("spatial_unpad"))
		_, err := clip.ReadConfig(f.Meta)
		require.ErrorContains(t, err, "spatial_unpad")
	})
	t.Run("text model is not an mmproj", func(t *testing.T) {
		f := openGGUF(t, filepath.Join(dir, "models", "llava-text-F32.gguf"))
		_, err := clip.ReadConfig(f.Meta)
		require.ErrorContains(t, err, "not an mmproj file")
	})
	t.Run("width mismatch", func(t *testing.T) {
		b := newBackend(t)
		m := loadProj(t, b, dir, "F32")
		require.ErrorContains(t, m.CheckTextModel(384), "do not belong together")
		text := openGGUF(t, filepath.Join(dir, "models", "llava-text-F32.gguf"))
		lm, err := models.Load(text, b, models.Options{})
		require.NoError(t, err)
		cache, err := lm.NewCache(16, gguf.TypeF32)
		require.NoError(t, err)
		batch := &backend.Batch{Pos: []int32{0, 1}, Seq: []int32{0, 0}, Cells: []int32{0, 1}}
		cache.Cells[0], cache.Cells[1] = backend.Cell{Pos: 0}, backend.Cell{Pos: 1}
		logits := make([]float32, lm.Config().NVocab)
		em := lm.(models.EmbeddingsInput)
		err = em.ForwardEmbeddings(context.Background(), []int32{1, models.EmbdToken}, make([]float32, 384), batch, cache, []int{1}, logits)
		require.ErrorContains(t, err, "input-embedding values")
		// A negative id without embeddings is still an error.
		err = lm.Forward(context.Background(), []int32{1, models.EmbdToken}, batch, cache, []int{1}, logits)
		require.Error(t, err)
	})
	t.Run("wrong preprocessed size", func(t *testing.T) {
		m := loadProj(t, newBackend(t), dir, "F32")
		_, err := m.Encode(context.Background(), make([]float32, 10))
		require.Error(t, err)
	})
}

// pngHeader is the start of a PNG whose IHDR declares w×h 8-bit RGB pixels.
func pngHeader(w, h int) []byte {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 2 // 8-bit, truecolour
	chunk := append([]byte("IHDR"), ihdr...)
	_ = binary.Write(&buf, binary.BigEndian, uint32(len(ihdr)))
	buf.Write(chunk)
	_ = binary.Write(&buf, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return buf.Bytes()
}
