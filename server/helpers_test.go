package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golem-llm/golem"
	"github.com/stretchr/testify/require"
)

// loadStories loads the embedded stories260K model.
func loadStories(t testing.TB, parallel, nctx int) *golem.Model {
	t.Helper()
	m, err := golem.Load(context.Background(), "", golem.LoadOptions{Parallel: parallel, ContextSize: nctx, Threads: 2})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

// start serves m on a loopback httptest server (127.0.0.1).
func start(t testing.TB, m Model, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s := New(cfg)
	if m != nil {
		s.SetModel(m)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

// post sends a JSON body and returns the status and the decoded answer.
func post(t testing.TB, url, body string) (int, map[string]any) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(b, &v), "answer %q", b)
	return res.StatusCode, v
}

// event is one server-sent event's data, decoded (nil for [DONE]).
type event struct {
	raw  string
	data map[string]any
}

// readEvents reads a stream of `data:` events to its end.
func readEvents(t testing.TB, r io.Reader) []event {
	t.Helper()
	var evs []event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		require.True(t, strings.HasPrefix(line, "data: "), "line %q", line)
		payload := strings.TrimPrefix(line, "data: ")
		ev := event{raw: payload}
		if payload != "[DONE]" {
			require.NoError(t, json.Unmarshal([]byte(payload), &ev.data), "event %q", payload)
		}
		evs = append(evs, ev)
	}
	require.NoError(t, sc.Err())
	return evs
}

// errorOf checks an OpenAI error object and returns its message, param and code.
func errorOf(t testing.TB, v map[string]any) (msg string, param, code any) {
	t.Helper()
	e, ok := v["error"].(map[string]any)
	require.True(t, ok, "no error object in %v", v)
	for _, k := range []string{"message", "type", "param", "code"} {
		require.Contains(t, e, k)
	}
	msg, _ = e["message"].(string)
	require.NotEmpty(t, msg)
	require.NotEmpty(t, e["type"])
	return msg, e["param"], e["code"]
}

// fakeModel generates scripted pieces and then waits to be released, so tests can
// hold slots and watch cancellation.
type fakeModel struct {
	info    golem.Info
	pieces  []string
	block   bool          // after the pieces, wait for release or cancellation
	release chan struct{} // each receive ends one blocked generation
	started chan struct{} // one send per generation started (buffered)

	mu        sync.Mutex
	cancelled int
}

func newFake(parallel int, block bool) *fakeModel {
	return &fakeModel{
		info: golem.Info{Name: "/models/fake.gguf", Architecture: "fake", Parallel: parallel, ContextSize: 256 * parallel,
			SequenceContext: 256, VocabSize: 100, EmbeddingSize: 4, BatchSize: 64, ChatTemplate: "chatml", Generates: true},
		pieces: []string{"a", "b", "c"}, block: block,
		release: make(chan struct{}), started: make(chan struct{}, 128),
	}
}

func (f *fakeModel) Info() golem.Info { return f.info }

func (f *fakeModel) Tokenize(text string, _ golem.TokenizeOptions) []int32 {
	return make([]int32, len(text))
}

func (f *fakeModel) ChatPrompt(messages []golem.Message, _ golem.ChatOptions) (string, error) {
	var sb strings.Builder
	for _, m := range messages {
		sb.WriteString(m.Content)
	}
	return sb.String(), nil
}

func (f *fakeModel) Generate(ctx context.Context, prompt string, opts golem.GenerateOptions) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		f.started <- struct{}{}
		st := golem.Stats{PromptTokens: len(prompt), Stop: golem.StopEOG}
		defer func() {
			if opts.Stats != nil {
				*opts.Stats = st
			}
		}()
		for _, p := range f.pieces {
			if ctx.Err() != nil {
				f.cancel()
				st.Stop = ""
				yield("", ctx.Err())
				return
			}
			st.GeneratedTokens++
			if !yield(p, nil) {
				f.cancel()
				return
			}
		}
		if !f.block {
			return
		}
		select {
		case <-f.release:
		case <-ctx.Done():
			f.cancel()
			st.Stop = ""
			yield("", ctx.Err())
		}
	}
}

func (f *fakeModel) cancel() {
	f.mu.Lock()
	f.cancelled++
	f.mu.Unlock()
}

func (f *fakeModel) cancellations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cancelled
}

func (f *fakeModel) Chat(ctx context.Context, messages []golem.Message, opts golem.ChatOptions) iter.Seq2[string, error] {
	p, _ := f.ChatPrompt(messages, opts)
	return f.Generate(ctx, p, opts.GenerateOptions)
}

func (f *fakeModel) Embed(ctx context.Context, texts []string, opts golem.EmbedOptions) ([][]float32, error) {
	return nil, errors.New("fake: no embeddings")
}

func (f *fakeModel) EmbedTokens(ctx context.Context, seqs [][]int32, opts golem.EmbedOptions) ([][]float32, error) {
	return nil, errors.New("fake: no embeddings")
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(bytes.TrimSpace(b))
}
