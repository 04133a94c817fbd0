package main

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	golemapi "github.com/golem-llm/golem"
	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/cpu"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/inference"
	"github.com/golem-llm/golem/internal/shared"
	"github.com/golem-llm/golem/models"
	"github.com/golem-llm/golem/models/tokenizer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const imagePrompt = "USER: <image>\nwhat is it? ASSISTANT:"

// greedyWithOracleRows generates n tokens greedily from the text model with llama.cpp's
// own image rows (image1, F32 mmproj) in place of <image> in prompt: text before it
// tokenized with BOS, the rest on its own, as llava-cli does.
func greedyWithOracleRows(t *testing.T, dir, prompt string, n int) string {
	f, err := gguf.Open(filepath.Join(dir, "models", "llava-text-F32.gguf"))
	require.NoError(t, err)
	defer f.Close()
	be := cpu.New(backend.Options{Threads: 2})
	defer be.Close()
	m, err := models.Load(f, be, models.Options{MaxBatch: 128})
	require.NoError(t, err)
	tok, err := tokenizer.FromGGUF(f.Meta)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "image1.mmproj-F32.image_embd.f32"))
	require.NoError(t, err)
	rows := make([]float32, len(b)/4)
	for i := range rows {
		rows[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	before, after, ok := strings.Cut(prompt, golemapi.ImageMarker)
	require.True(t, ok)
	ids := tok.Encode(before, true, false)
	for range len(rows) / m.Config().NEmbd {
		ids = append(ids, models.EmbdToken)
	}
	ids = append(ids, tok.Encode(after, false, false)...)
	cache, err := m.NewCache(128, gguf.TypeF32)
	require.NoError(t, err)
	var sb strings.Builder
	_, err = inference.GeneratePrompt(context.Background(), inference.NewSession(m, cache, 128), tok,
		inference.Prompt{Tokens: ids, Embd: rows}, inference.GenerateOptions{MaxTokens: n, Continuation: true},
		func(s string) error { sb.WriteString(s); return nil })
	require.NoError(t, err)
	return sb.String()
}

// TestRunWithImage: `golem run --mmproj --image` prints the prompt and the greedy
// continuation with the image at <image>: the same text as with llama.cpp's own image
// embeddings at that place, and as the Go API gives. (The oracle's prompt ids cannot
// be written as text: its random vocabulary's tokenizer never produces them; the
// API's GenerateTokens is checked against the oracle's tokens in package golem.)
func TestRunWithImage(t *testing.T) {
	dir := shared.Path(t, "oracle", "multimodal")
	text := filepath.Join(dir, "models", "llava-text-F32.gguf")
	code, out, errOut := golem(t, "run", "-m", text, "--mmproj", filepath.Join(dir, "models", "mmproj-F32.gguf"),
		"--image", filepath.Join(dir, "image1.png"), "-p", imagePrompt, "--temp", "0", "-n", "8", "-c", "128", "-t", "2")
	require.Equal(t, 0, code, errOut)
	require.True(t, strings.HasPrefix(out, imagePrompt), out)
	got := strings.TrimPrefix(out, imagePrompt)
	assert.Equal(t, greedyWithOracleRows(t, dir, imagePrompt, 8), got)
	assert.Contains(t, errOut, "generated 8 tokens")

	m, err := golemapi.Load(context.Background(), text, golemapi.LoadOptions{
		MMProj: filepath.Join(dir, "models", "mmproj-F32.gguf"), ContextSize: 128, Threads: 2})
	require.NoError(t, err)
	defer m.Close()
	img, err := golemapi.LoadImage(filepath.Join(dir, "image1.png"))
	require.NoError(t, err)
	var sb strings.Builder
	for p, err := range m.Generate(context.Background(), imagePrompt, golemapi.GenerateOptions{MaxTokens: 8, Images: []golemapi.Image{img}}) {
		require.NoError(t, err)
		sb.WriteString(p)
	}
	assert.Equal(t, sb.String(), got)
}

func TestRunImageErrors(t *testing.T) {
	dir := shared.Path(t, "oracle", "multimodal")
	text := filepath.Join(dir, "models", "llava-text-F32.gguf")
	mmproj := filepath.Join(dir, "models", "mmproj-F32.gguf")
	img := filepath.Join(dir, "image1.png")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"image without mmproj", []string{"-m", text, "--image", img}, "--image needs --mmproj"},
		{"width mismatch", []string{"--mmproj", mmproj, "--image", img}, "256"},
		{"not an image", []string{"-m", text, "--mmproj", mmproj, "--image", filepath.Join(dir, "manifest.json")}, "--image"},
		{"missing image", []string{"-m", text, "--mmproj", mmproj, "--image", filepath.Join(dir, "none.png")}, "none.png"},
		{"mmproj is no clip file", []string{"-m", text, "--mmproj", text, "--image", img}, "mmproj"},
		{"markers and images", []string{"-m", text, "--mmproj", mmproj, "--image", img, "-p", "<image><image>"}, "markers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "-n", "2", "-c", "128", "-t", "2"}, tc.args...)
			code, out, errOut := golem(t, args...)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, "golem: run: ")
			assert.Contains(t, errOut, tc.want)
			assert.NotContains(t, errOut, "panic")
			assert.Empty(t, out)
		})
	}
}

// TestChatImageCommand: /image attaches an image to the next message; the answer is the
// API's Chat with that image, and the next message has none of its own.
func TestChatImageCommand(t *testing.T) {
	dir := shared.Path(t, "oracle", "multimodal")
	text := filepath.Join(dir, "models", "llava-text-F32.gguf")
	mmproj := filepath.Join(dir, "models", "mmproj-F32.gguf")
	img := filepath.Join(dir, "image1.png")
	cmd := cliCommand("chat", "-m", text, "--mmproj", mmproj, "--temp", "0", "-n", "6", "-c", "512", "-t", "2")
	cmd.Stdin = strings.NewReader("/image " + img + "\nwhat is it?\nand?\n")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())

	m, err := golemapi.Load(context.Background(), text, golemapi.LoadOptions{MMProj: mmproj, ContextSize: 512, Threads: 2})
	require.NoError(t, err)
	defer m.Close()
	image, err := golemapi.LoadImage(img)
	require.NoError(t, err)
	opts := golemapi.ChatOptions{GenerateOptions: golemapi.GenerateOptions{MaxTokens: 6}}
	chat := func(msgs []golemapi.Message) string {
		var sb strings.Builder
		for p, err := range m.Chat(context.Background(), msgs, opts) {
			require.NoError(t, err)
			sb.WriteString(p)
		}
		return sb.String()
	}
	msgs := []golemapi.Message{{Role: "user", Content: "what is it?", Images: []golemapi.Image{image}}}
	first := chat(msgs)
	msgs = append(msgs, golemapi.Message{Role: "assistant", Content: first}, golemapi.Message{Role: "user", Content: "and?"})
	second := chat(msgs)
	assert.Equal(t, first+"\n"+second+"\n", stdout.String())

	// Without --mmproj, /image is an error.
	cmd = cliCommand("chat", "-m", text, "--temp", "0", "-n", "2", "-c", "128", "-t", "2")
	cmd.Stdin = strings.NewReader("/image " + img + "\n")
	stderr.Reset()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.Error(t, cmd.Run())
	assert.Contains(t, stderr.String(), "golem: chat: /image: ")
	assert.Contains(t, stderr.String(), "--mmproj")
}
