package golem_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/internal/shared"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mmOracle is the multimodal oracle (../shared/oracle/multimodal): the prompt's ids
// around the image and llama.cpp's 8 greedy tokens with each mmproj file.
type mmOracle struct {
	dir            string
	prefix, suffix []int32
	generated      map[string][]int32 // by mmproj: "mmproj-F32", "mmproj-F16"
}

func loadMMOracle(t *testing.T) *mmOracle {
	dir := shared.Path(t, "oracle", "multimodal")
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	require.NoError(t, err)
	var man struct {
		Prompt struct {
			PrefixIDs []int32 `json:"prefix_ids"`
			SuffixIDs []int32 `json:"suffix_ids"`
		} `json:"prompt"`
		Images []struct {
			Outputs map[string]json.RawMessage `json:"outputs"`
		} `json:"images"`
	}
	require.NoError(t, json.Unmarshal(b, &man))
	o := &mmOracle{dir: dir, prefix: man.Prompt.PrefixIDs, suffix: man.Prompt.SuffixIDs, generated: map[string][]int32{}}
	for _, name := range []string{"mmproj-F32", "mmproj-F16"} {
		var out struct {
			Generated []int32 `json:"generated_tokens"`
		}
		require.NoError(t, json.Unmarshal(man.Images[0].Outputs[name], &out))
		o.generated[name] = out.Generated
	}
	return o
}

func (o *mmOracle) path(elem ...string) string {
	return filepath.Join(append([]string{o.dir}, elem...)...)
}

// ids is the oracle's prompt with golem.ImageToken at the image.
func (o *mmOracle) ids() []int32 {
	return append(append(slices.Clone(o.prefix), golem.ImageToken), o.suffix...)
}

func (o *mmOracle) load(t *testing.T, mmproj string, opts golem.LoadOptions) *golem.Model {
	opts.MMProj = o.path("models", mmproj+".gguf")
	opts.Threads = 2
	if opts.ContextSize == 0 {
		opts.ContextSize = 128
	}
	return load(t, o.path("models", "llava-text-F32.gguf"), opts)
}

func (o *mmOracle) image(t *testing.T) golem.Image {
	img, err := golem.LoadImage(o.path("image1.png"))
	require.NoError(t, err)
	return img
}

// flipped is the image upside down: another image of the same size.
func flipped(img golem.Image) golem.Image {
	out := golem.Image{Width: img.Width, Height: img.Height, Pix: make([]uint8, len(img.Pix))}
	row := 3 * img.Width
	for y := range img.Height {
		copy(out.Pix[y*row:(y+1)*row], img.Pix[(img.Height-1-y)*row:])
	}
	return out
}

// TestImagePromptMatchesOracle: the oracle's prompt ids with image1 at its place give
// llama.cpp's 8 greedy tokens, with the F32 and the F16 mmproj, from the file's bytes
// or its decoded pixels.
func TestImagePromptMatchesOracle(t *testing.T) {
	o := loadMMOracle(t)
	data, err := os.ReadFile(o.path("image1.png"))
	require.NoError(t, err)
	for _, name := range []string{"mmproj-F32", "mmproj-F16"} {
		m := o.load(t, name, golem.LoadOptions{})
		in := m.Info()
		assert.Equal(t, 25, in.ImageTokens)
		assert.Equal(t, o.path("models", name+".gguf"), in.MMProj)
		// The text of the generated tokens as they follow the prompt (a leading space
		// of the first one kept).
		before, err := m.Detokenize(o.suffix)
		require.NoError(t, err)
		after, err := m.Detokenize(append(slices.Clone(o.suffix), o.generated[name]...))
		require.NoError(t, err)
		want := after[len(before):]
		for _, img := range []golem.Image{{Data: data}, o.image(t)} {
			var st golem.Stats
			text, err := collect(m.GenerateTokens(context.Background(), o.ids(),
				golem.GenerateOptions{MaxTokens: 8, Images: []golem.Image{img}, Stats: &st}))
			require.NoError(t, err, name)
			assert.Equal(t, want, text, name)
			assert.Equal(t, 36, st.PromptTokens)
			assert.Equal(t, 8, st.GeneratedTokens)
		}
	}
}

// TestImageMarkerPlacesTheImage: Generate puts the image at <image> (text before it
// with BOS, the rest tokenized on its own, as llava-cli does), or first after BOS.
func TestImageMarkerPlacesTheImage(t *testing.T) {
	o := loadMMOracle(t)
	m := o.load(t, "mmproj-F32", golem.LoadOptions{})
	img := o.image(t)
	opts := golem.GenerateOptions{MaxTokens: 8, Images: []golem.Image{img}}
	tokens := func(s string, bos bool) []int32 {
		return m.Tokenize(s, golem.TokenizeOptions{NoSpecial: !bos})
	}
	ids := append(append(tokens("USER: ", true), golem.ImageToken), tokens("\nwhat is it? ASSISTANT:", false)...)
	want, err := collect(m.GenerateTokens(context.Background(), ids, opts))
	require.NoError(t, err)
	got, err := collect(m.Generate(context.Background(), "USER: <image>\nwhat is it? ASSISTANT:", opts))
	require.NoError(t, err)
	assert.Equal(t, want, got)

	ids = append([]int32{1, golem.ImageToken}, tokens("what is it?", false)...)
	want, err = collect(m.GenerateTokens(context.Background(), ids, opts))
	require.NoError(t, err)
	got, err = collect(m.Generate(context.Background(), "what is it?", opts))
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// Two images, two markers; GenerateBatch takes them too.
	two := opts
	two.Images = []golem.Image{img, flipped(img)}
	ids = append(append(append(tokens("a ", true), golem.ImageToken), tokens(" b ", false)...), golem.ImageToken)
	want, err = collect(m.GenerateTokens(context.Background(), ids, two))
	require.NoError(t, err)
	got, err = collect(m.Generate(context.Background(), "a <image> b <image>", two))
	require.NoError(t, err)
	assert.Equal(t, want, got)
	res, err := m.GenerateBatch(context.Background(), []string{"a <image> b <image>"}, two)
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	assert.Equal(t, want, res[0].Text)
}

// TestImagePromptCache: a finished image prompt's cells are reused by the same image
// (all but the last position) but not by another image, which gets the answer it gets
// in a fresh model.
func TestImagePromptCache(t *testing.T) {
	o := loadMMOracle(t)
	img := o.image(t)
	other := flipped(img)
	gen := func(m *golem.Model, im golem.Image) (string, golem.Stats) {
		var st golem.Stats
		text, err := collect(m.GenerateTokens(context.Background(), o.ids(),
			golem.GenerateOptions{MaxTokens: 8, Images: []golem.Image{im}, Stats: &st}))
		require.NoError(t, err)
		return text, st
	}
	fresh, _ := gen(o.load(t, "mmproj-F32", golem.LoadOptions{}), other)
	first, _ := gen(o.load(t, "mmproj-F32", golem.LoadOptions{}), img)
	require.NotEqual(t, first, fresh, "the flipped image should change the answer")

	m := o.load(t, "mmproj-F32", golem.LoadOptions{})
	text, st := gen(m, img)
	assert.Equal(t, first, text)
	assert.Equal(t, 0, st.CachedTokens)
	text, st = gen(m, img)
	assert.Equal(t, first, text)
	assert.Equal(t, 35, st.CachedTokens)
	text, st = gen(m, other)
	assert.Equal(t, fresh, text)
	assert.Equal(t, len(o.prefix), st.CachedTokens, "another image must not reuse the first one's cells")
}

// TestChatWithImage: a message's image goes where its marker is (or first), the
// answer matches Generate on the rendered prompt, and the next turn reuses the cells
// of the image.
func TestChatWithImage(t *testing.T) {
	o := loadMMOracle(t)
	m := o.load(t, "mmproj-F32", golem.LoadOptions{ContextSize: 512})
	img := o.image(t)
	msgs := []golem.Message{{Role: "user", Content: "what is it?", Images: []golem.Image{img}}}
	prompt, err := m.ChatPrompt(msgs, golem.ChatOptions{})
	require.NoError(t, err)
	assert.Contains(t, prompt, golem.ImageMarker+"\nwhat is it?")

	var st golem.Stats
	answer, err := collect(m.Chat(context.Background(), msgs, golem.ChatOptions{GenerateOptions: golem.GenerateOptions{MaxTokens: 6, Stats: &st}}))
	require.NoError(t, err)
	assert.NotEmpty(t, answer)
	segs := strings.Split(prompt, golem.ImageMarker)
	require.Len(t, segs, 2)
	tokens := func(s string) int {
		return len(m.Tokenize(s, golem.TokenizeOptions{NoSpecial: true, ParseSpecial: true}))
	}
	assert.Equal(t, 1+tokens(segs[0])+25+tokens(segs[1]), st.PromptTokens, "BOS, the text, the image's 25 positions, the text")

	msgs = append(msgs, golem.Message{Role: "assistant", Content: answer}, golem.Message{Role: "user", Content: "and?"})
	_, err = collect(m.Chat(context.Background(), msgs, golem.ChatOptions{GenerateOptions: golem.GenerateOptions{MaxTokens: 4, Stats: &st}}))
	require.NoError(t, err)
	assert.Greater(t, st.CachedTokens, 25, "the second turn reuses the image's cells")

	_, err = collect(m.Chat(context.Background(), msgs[:1], golem.ChatOptions{GenerateOptions: golem.GenerateOptions{Images: []golem.Image{img}}}))
	require.Error(t, err)
	bad := []golem.Message{{Role: "user", Content: "<image> and <image>", Images: []golem.Image{img}}}
	_, err = collect(m.Chat(context.Background(), bad, golem.ChatOptions{}))
	require.ErrorContains(t, err, "markers")
}

func TestImageErrors(t *testing.T) {
	o := loadMMOracle(t)
	img := o.image(t)
	ctx := context.Background()

	// No mmproj.
	plain := load(t, o.path("models", "llava-text-F32.gguf"), golem.LoadOptions{Threads: 2, ContextSize: 64})
	_, err := collect(plain.Generate(ctx, "hi", golem.GenerateOptions{Images: []golem.Image{img}}))
	assert.True(t, errors.Is(err, golem.ErrNoVision), "%v", err)

	// An mmproj whose projection is not the text model's width (stories260K: 64).
	_, err = golem.Load(ctx, "", golem.LoadOptions{MMProj: o.path("models", "mmproj-F32.gguf")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "256")
	// A text model given as mmproj; a missing file.
	_, err = golem.Load(ctx, "", golem.LoadOptions{MMProj: o.path("models", "llava-text-F32.gguf")})
	require.Error(t, err)
	_, err = golem.Load(ctx, "", golem.LoadOptions{MMProj: o.path("nope.gguf")})
	require.Error(t, err)

	// Bad image files and pixels.
	_, err = golem.LoadImage(o.path("manifest.json"))
	require.Error(t, err)
	_, err = golem.LoadImage(o.path("missing.png"))
	require.Error(t, err)
	_, err = golem.DecodeImage([]byte("\x89PNG\r\n\x1a\nbroken"))
	require.Error(t, err)

	m := o.load(t, "mmproj-F32", golem.LoadOptions{})
	for _, bad := range []golem.Image{{Data: []byte("not an image")}, {}, {Width: 2, Height: 2, Pix: make([]uint8, 5)},
		{Width: 1 << 20, Height: 1 << 20, Pix: []uint8{1}}} {
		_, err = collect(m.Generate(ctx, "hi", golem.GenerateOptions{Images: []golem.Image{bad}}))
		require.Error(t, err)
	}
	// Markers and images that do not pair up; an image token without an image.
	_, err = collect(m.Generate(ctx, "<image> <image>", golem.GenerateOptions{Images: []golem.Image{img}}))
	require.ErrorContains(t, err, "markers")
	_, err = collect(m.GenerateTokens(ctx, o.ids(), golem.GenerateOptions{}))
	require.Error(t, err)
	_, err = collect(m.GenerateTokens(ctx, []int32{1, 100000}, golem.GenerateOptions{}))
	require.Error(t, err)

	// The model still works.
	_, err = collect(m.GenerateTokens(ctx, o.ids(), golem.GenerateOptions{MaxTokens: 2, Images: []golem.Image{img}}))
	require.NoError(t, err)
}
