package server

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/internal/shared"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChatWithImageURL: an image_url part carrying a data: URI reaches the model as
// the message's image: the answer equals the API's Chat with Message.Images; remote
// URLs and images without --mmproj are refused with 400.
func TestChatWithImageURL(t *testing.T) {
	mm := shared.Path(t, "oracle", "multimodal")
	png, err := os.ReadFile(filepath.Join(mm, "image1.png"))
	require.NoError(t, err)
	m, err := golem.Load(context.Background(), filepath.Join(mm, "models", "llava-text-F32.gguf"),
		golem.LoadOptions{Threads: 2, MMProj: filepath.Join(mm, "models", "mmproj-F32.gguf")})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	_, ts := start(t, m, Config{})

	img, err := golem.DecodeImage(png)
	require.NoError(t, err)
	var want string
	for piece, err := range m.Chat(context.Background(), []golem.Message{{Role: "user", Content: "what is this?", Images: []golem.Image{img}}},
		golem.ChatOptions{GenerateOptions: golem.GenerateOptions{MaxTokens: 6}}) {
		require.NoError(t, err)
		want += piece
	}

	uri := "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	body := func(url string) string {
		return jsonBody(map[string]any{"max_tokens": 6, "temperature": 0, "messages": []any{
			map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "image_url", "image_url": map[string]any{"url": url}},
				map[string]any{"type": "text", "text": "what is this?"},
			}},
		}})
	}
	code, v := post(t, ts.URL+"/v1/chat/completions", body(uri))
	require.Equal(t, http.StatusOK, code, "%v", v)
	got := v["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"]
	assert.Equal(t, want, got)

	code, v = post(t, ts.URL+"/v1/chat/completions", body("https://example.com/cat.png"))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, v["error"].(map[string]any)["message"], "does not fetch")

	text, err := golem.Load(context.Background(), filepath.Join(mm, "models", "llava-text-F32.gguf"), golem.LoadOptions{Threads: 2})
	require.NoError(t, err)
	t.Cleanup(func() { text.Close() })
	_, ts2 := start(t, text, Config{})
	code, v = post(t, ts2.URL+"/v1/chat/completions", body(uri))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, "model_not_supported", v["error"].(map[string]any)["code"])
}
