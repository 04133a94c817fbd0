package server

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golem-llm/golem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientDir holds the openai npm package's test (.ci/run installs the package there).
const clientDir = "testdata/openai-client"

// TestOpenAIClient runs testdata/openai-client/client.test.mjs — the official OpenAI
// Node.js client driving chat, streaming chat, completions, embeddings and the error
// cases — against servers started here on 127.0.0.1. It skips, saying why, without
// node or the installed package.
func TestOpenAIClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: skipping the openai npm client test")
	}
	if _, err := os.Stat(filepath.Join(clientDir, "node_modules", "openai", "package.json")); err != nil {
		t.Skipf("the openai npm package is not installed: run `npm ci` in server/%s (.ci/run does)", clientDir)
	}

	// stories260K for the completions; its greedy answers are what the client must get.
	m := loadStories(t, 2, 1024)
	s, ts := start(t, m, Config{})
	chatMsgs := []golem.Message{{Role: "system", Content: "You tell stories."}, {Role: "user", Content: "Tell me about Lily."}}
	var chatStats, complStats golem.Stats
	expected := map[string]any{
		"chat":       collect(t, m.Chat(context.Background(), chatMsgs, golem.ChatOptions{GenerateOptions: golem.GenerateOptions{MaxTokens: 30, Stats: &chatStats}})),
		"completion": collect(t, m.Generate(context.Background(), "Once upon a time", golem.GenerateOptions{MaxTokens: 40, Stats: &complStats})),
	}
	expected["chatPromptTokens"] = chatStats.PromptTokens
	expected["completionPromptTokens"] = complStats.PromptTokens

	// A server whose one slot is taken and which queues nothing: 503.
	f := newFake(1, true)
	busy, busyTS := start(t, f, Config{Queue: -1})
	held := make(chan struct{})
	go func() {
		defer close(held)
		if res, err := http.Post(busyTS.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"hold"}`)); err == nil {
			res.Body.Close()
		}
	}()
	<-f.started
	waitFor(t, "the busy server's slot to be taken", 5*time.Second, func() bool { r, _ := busy.Busy(); return r == 1 })
	defer func() { f.release <- struct{}{}; <-held }()

	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "NO_PROXY=127.0.0.1", "no_proxy=127.0.0.1",
		"GOLEM_BASE_URL=" + ts.URL, "GOLEM_BUSY_URL=" + busyTS.URL}
	if bertPath() != "" {
		bert := loadBERT(t)
		_, bertTS := start(t, bert, Config{})
		texts := []string{"hello world", "a cat sat on the mat"}
		vecs, err := bert.Embed(context.Background(), texts, golem.EmbedOptions{Normalize: true})
		require.NoError(t, err)
		n := 0
		for _, txt := range texts {
			n += len(bert.Tokenize(txt, golem.TokenizeOptions{}))
		}
		expected["embeddings"], expected["embeddingTokens"] = vecs, n
		env = append(env, "GOLEM_EMBED_URL="+bertTS.URL)
	} else {
		t.Logf("no BERT model (set GOLEM_SHARED=../shared): the client's embedding test skips")
	}
	exp, err := json.Marshal(expected)
	require.NoError(t, err)
	env = append(env, "GOLEM_EXPECTED="+string(exp))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "client.test.mjs")
	cmd.Dir = clientDir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	t.Logf("node --test client.test.mjs:\n%s", out)
	require.NoError(t, err, "the openai client tests failed")
	assert.NotContains(t, string(out), "# fail 1")

	waitFor(t, "the slots to be free after the client's aborted stream", 10*time.Second, func() bool {
		r, w := s.Busy()
		return r+w == 0
	})
}
