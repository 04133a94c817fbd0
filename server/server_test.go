package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golem-llm/golem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collect runs a generation of the API to its end.
func collect(t testing.TB, seq func(yield func(string, error) bool)) string {
	t.Helper()
	var sb strings.Builder
	for piece, err := range seq {
		require.NoError(t, err)
		sb.WriteString(piece)
	}
	return sb.String()
}

func TestHealthAndModels(t *testing.T) {
	s, ts := start(t, nil, Config{})
	res, err := http.Get(ts.URL + "/health")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "/health before the model is loaded")
	code, v := post(t, ts.URL+"/v1/completions", `{"prompt":"x"}`)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	_, _, c := errorOf(t, v)
	assert.Equal(t, "model_loading", c)

	s.SetModel(loadStories(t, 2, 256))
	res, err = http.Get(ts.URL + "/health")
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.JSONEq(t, `{"status":"ok"}`, string(b))

	for _, path := range []string{"/v1/models", "/v1/models/gpt-4o", "/v1/models/org/some-model"} {
		res, err := http.Get(ts.URL + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.Contains(t, string(b), `"id":"stories260K"`, path)
	}
}

// TestCompletionGreedy: a greedy completion is Generate's greedy text, with usage and
// finish_reason; the model field does not matter.
func TestCompletionGreedy(t *testing.T) {
	m := loadStories(t, 2, 512)
	_, ts := start(t, m, Config{})
	var st golem.Stats
	want := collect(t, m.Generate(context.Background(), "Once upon a time", golem.GenerateOptions{MaxTokens: 40, Stats: &st}))

	code, v := post(t, ts.URL+"/v1/completions", `{"model":"gpt-3.5-turbo-instruct","prompt":"Once upon a time","max_tokens":40,"temperature":0}`)
	require.Equal(t, http.StatusOK, code, "%v", v)
	assert.Equal(t, "text_completion", v["object"])
	assert.Equal(t, "stories260K", v["model"])
	choice := v["choices"].([]any)[0].(map[string]any)
	assert.Equal(t, want, choice["text"])
	assert.Equal(t, "length", choice["finish_reason"])
	u := v["usage"].(map[string]any)
	assert.EqualValues(t, st.PromptTokens, u["prompt_tokens"])
	assert.EqualValues(t, 40, u["completion_tokens"])
	assert.EqualValues(t, st.PromptTokens+40, u["total_tokens"])

	// echo puts the prompt in front.
	code, v = post(t, ts.URL+"/v1/completions", `{"prompt":["Once upon a time"],"max_tokens":40,"temperature":0,"echo":true}`)
	require.Equal(t, http.StatusOK, code, "%v", v)
	assert.Equal(t, "Once upon a time"+want, v["choices"].([]any)[0].(map[string]any)["text"])
}

// TestCompletionStop: a stop string ends the text before it, finish_reason "stop".
func TestCompletionStop(t *testing.T) {
	m := loadStories(t, 1, 256)
	_, ts := start(t, m, Config{})
	code, v := post(t, ts.URL+"/v1/completions", `{"prompt":"Once upon a time","max_tokens":60,"temperature":0,"stop":"Lily"}`)
	require.Equal(t, http.StatusOK, code, "%v", v)
	choice := v["choices"].([]any)[0].(map[string]any)
	assert.Equal(t, ", there was a little girl named ", choice["text"])
	assert.Equal(t, "stop", choice["finish_reason"])
	assert.NotZero(t, v["usage"].(map[string]any)["completion_tokens"])
}

// TestChatGreedy: a chat completion, streamed and not, is Chat's greedy answer.
func TestChatGreedy(t *testing.T) {
	m := loadStories(t, 2, 512)
	_, ts := start(t, m, Config{})
	msgs := []golem.Message{{Role: "system", Content: "You tell stories."}, {Role: "user", Content: "Tell me about Lily."}}
	var st golem.Stats
	want := collect(t, m.Chat(context.Background(), msgs, golem.ChatOptions{GenerateOptions: golem.GenerateOptions{MaxTokens: 30, Stats: &st}}))
	body := jsonBody(map[string]any{"model": "x", "messages": msgs, "max_tokens": 30, "temperature": 0})

	code, v := post(t, ts.URL+"/v1/chat/completions", body)
	require.Equal(t, http.StatusOK, code, "%v", v)
	assert.Equal(t, "chat.completion", v["object"])
	assert.True(t, strings.HasPrefix(v["id"].(string), "chatcmpl-"))
	choice := v["choices"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{"role": "assistant", "content": want}, choice["message"])
	assert.Equal(t, "length", choice["finish_reason"])
	u := v["usage"].(map[string]any)
	assert.EqualValues(t, st.PromptTokens, u["prompt_tokens"])
	assert.EqualValues(t, 30, u["completion_tokens"])

	// Streamed: a role chunk, content chunks, a finish chunk with usage, a usage
	// chunk (include_usage), [DONE].
	streamBody := strings.TrimSuffix(body, "}") + `,"stream":true,"stream_options":{"include_usage":true}}`
	res, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(streamBody))
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	evs := readEvents(t, res.Body)
	require.GreaterOrEqual(t, len(evs), 4)
	assert.Equal(t, "[DONE]", evs[len(evs)-1].raw)
	first := evs[0].data["choices"].([]any)[0].(map[string]any)
	assert.Equal(t, "assistant", first["delta"].(map[string]any)["role"])
	var text strings.Builder
	for _, ev := range evs[1 : len(evs)-3] {
		assert.Equal(t, "chat.completion.chunk", ev.data["object"])
		c := ev.data["choices"].([]any)[0].(map[string]any)
		assert.Nil(t, c["finish_reason"])
		text.WriteString(c["delta"].(map[string]any)["content"].(string))
	}
	assert.Equal(t, want, text.String())
	fin := evs[len(evs)-3].data
	assert.Equal(t, "length", fin["choices"].([]any)[0].(map[string]any)["finish_reason"])
	assert.EqualValues(t, 30, fin["usage"].(map[string]any)["completion_tokens"])
	usageChunk := evs[len(evs)-2].data
	assert.Empty(t, usageChunk["choices"])
	assert.EqualValues(t, st.PromptTokens, usageChunk["usage"].(map[string]any)["prompt_tokens"])
}

// TestCompletionStream: streamed text completion chunks add up to the greedy text.
func TestCompletionStream(t *testing.T) {
	m := loadStories(t, 1, 256)
	_, ts := start(t, m, Config{})
	want := collect(t, m.Generate(context.Background(), "Once upon a time", golem.GenerateOptions{MaxTokens: 25}))
	res, err := http.Post(ts.URL+"/v1/completions", "application/json",
		strings.NewReader(`{"prompt":"Once upon a time","max_tokens":25,"temperature":0,"stream":true}`))
	require.NoError(t, err)
	defer res.Body.Close()
	evs := readEvents(t, res.Body)
	require.Equal(t, "[DONE]", evs[len(evs)-1].raw)
	var text strings.Builder
	for _, ev := range evs[:len(evs)-2] {
		text.WriteString(ev.data["choices"].([]any)[0].(map[string]any)["text"].(string))
	}
	assert.Equal(t, want, text.String())
	fin := evs[len(evs)-2].data
	assert.Equal(t, "length", fin["choices"].([]any)[0].(map[string]any)["finish_reason"])
	assert.EqualValues(t, 25, fin["usage"].(map[string]any)["completion_tokens"])
}

// TestSeededSampling: the same seed gives the same text; the sampling fields are used.
func TestSeededSampling(t *testing.T) {
	m := loadStories(t, 2, 512)
	_, ts := start(t, m, Config{})
	body := `{"prompt":"Once upon a time","max_tokens":30,"temperature":1.0,"top_p":0.9,"seed":42,"presence_penalty":0.5,"frequency_penalty":0.5}`
	_, a := post(t, ts.URL+"/v1/completions", body)
	_, b := post(t, ts.URL+"/v1/completions", body)
	ta := a["choices"].([]any)[0].(map[string]any)["text"]
	assert.Equal(t, ta, b["choices"].([]any)[0].(map[string]any)["text"])
	opts := golem.DefaultGenerateOptions()
	opts.MaxTokens, opts.Temperature, opts.TopP, opts.Seed, opts.PresencePenalty, opts.FrequencyPenalty = 30, 1, 0.9, 42, 0.5, 0.5
	assert.Equal(t, collect(t, m.Generate(context.Background(), "Once upon a time", opts)), ta)
}

// TestBadRequests: malformed or impossible requests get a 400 (413 for a large body,
// 404/405 for a wrong route) with an OpenAI error object naming the parameter.
func TestBadRequests(t *testing.T) {
	m := loadStories(t, 2, 256) // 128 tokens per slot
	_, ts := start(t, m, Config{MaxBodyBytes: 4096})
	long := strings.Repeat("Once upon a time there was a girl. ", 60)
	cases := []struct {
		name, path, body string
		status           int
		param, code      any
		msg              string
	}{
		{"malformed", "/v1/chat/completions", `{"messages":[`, 400, nil, "invalid_json", "not valid JSON"},
		{"empty body", "/v1/completions", ``, 400, nil, "invalid_json", "empty"},
		{"not an object", "/v1/completions", `[1,2]`, 400, "", "invalid_type", "want an object"},
		{"trailing data", "/v1/completions", `{"prompt":"a"} x`, 400, nil, "invalid_json", "after the JSON"},
		{"wrong type", "/v1/completions", `{"prompt":"a","max_tokens":"ten"}`, 400, "max_tokens", "invalid_type", "max_tokens: want an integer"},
		{"wrong stop", "/v1/completions", `{"prompt":"a","stop":5}`, 400, "stop", "invalid_type", "want a string or an array of strings"},
		{"wrong content", "/v1/chat/completions", `{"messages":[{"role":"user","content":5}]}`, 400, "messages.content", "invalid_type", "content parts"},
		{"no messages", "/v1/chat/completions", `{"messages":[]}`, 400, "messages", "invalid_value", "at least one"},
		{"no role", "/v1/chat/completions", `{"messages":[{"content":"hi"}]}`, 400, "messages[0].role", "invalid_value", "no role"},
		{"image without mmproj", "/v1/chat/completions", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "messages[0].content", "model_not_supported", "multimodal projector"},
		{"audio part", "/v1/chat/completions", `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}`, 400, "messages[0].content", "unsupported_value", "input_audio"},
		{"no prompt", "/v1/completions", `{"max_tokens":3}`, 400, "prompt", "missing_parameter", "missing"},
		{"token prompt", "/v1/completions", `{"prompt":[1,2,3]}`, 400, "prompt", "unsupported_value", "token-id"},
		{"two prompts", "/v1/completions", `{"prompt":["a","b"]}`, 400, "prompt", "unsupported_value", "one prompt"},
		{"n", "/v1/completions", `{"prompt":"a","n":2}`, 400, "n", "unsupported_value", "n must be 1"},
		{"temperature", "/v1/completions", `{"prompt":"a","temperature":3}`, 400, "temperature", "invalid_value", "0 to 2"},
		{"top_p", "/v1/completions", `{"prompt":"a","top_p":1.5}`, 400, "top_p", "invalid_value", "0 to 1"},
		{"penalty", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"presence_penalty":-3}`, 400, "presence_penalty", "invalid_value", "-2 to 2"},
		{"seed", "/v1/completions", `{"prompt":"a","seed":-5}`, 400, "seed", "invalid_value", "seed -5"},
		{"max_tokens 0", "/v1/completions", `{"prompt":"a","max_tokens":0}`, 400, "max_tokens", "invalid_value", "at least 1"},
		{"max_tokens huge", "/v1/completions", `{"prompt":"a","max_tokens":1000000000000}`, 400, "max_tokens", "context_length_exceeded", "context of 128 tokens"},
		{"prompt + max_tokens", "/v1/completions", `{"prompt":"Once upon a time","max_tokens":124}`, 400, "max_tokens", "context_length_exceeded", "at most 123"},
		{"max_completion_tokens", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"max_completion_tokens":500}`, 400, "max_completion_tokens", "context_length_exceeded", "more than"},
		{"prompt too long", "/v1/completions", jsonBody(map[string]any{"prompt": long[:1500]}), 400, "prompt", "context_length_exceeded", "does not fit"},
		{"chat too long", "/v1/chat/completions", jsonBody(map[string]any{"messages": []map[string]string{{"role": "user", "content": long[:1500]}}}), 400, "messages", "context_length_exceeded", "does not fit"},
		{"too many stops", "/v1/completions", `{"prompt":"a","stop":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"]}`, 400, "stop", "invalid_value", "at most 16"},
		{"empty stop", "/v1/completions", `{"prompt":"a","stop":[""]}`, 400, "stop", "invalid_value", "empty"},
		{"logprobs", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"logprobs":true}`, 400, "logprobs", "unsupported_parameter", "logprobs"},
		{"tools", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"}],"tools":[{"type":"function"}]}`, 400, "tools", "unsupported_parameter", "tools"},
		{"body too large", "/v1/completions", jsonBody(map[string]any{"prompt": strings.Repeat("a", 5000)}), 413, nil, "request_too_large", "4 KiB"},
		{"embeddings no input", "/v1/embeddings", `{"model":"x"}`, 400, "input", "missing_parameter", "missing"},
		{"embeddings empty", "/v1/embeddings", `{"input":[]}`, 400, "input", "invalid_value", "empty"},
		{"embeddings bad type", "/v1/embeddings", `{"input":{"a":1}}`, 400, "input", "invalid_type", "token ids"},
		{"embeddings bad token", "/v1/embeddings", `{"input":[1,2,100000]}`, 400, "input", "invalid_value", "outside the vocabulary"},
		{"embeddings format", "/v1/embeddings", `{"input":"a","encoding_format":"hex"}`, 400, "encoding_format", "invalid_value", "float or base64"},
		{"unknown path", "/v1/engines", `{}`, 404, nil, nil, "no endpoint"},
		{"wrong method", "/v1/models", `{}`, 405, nil, nil, "takes GET"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, v := post(t, ts.URL+c.path, c.body)
			require.Equal(t, c.status, code, "%v", v)
			msg, param, ec := errorOf(t, v)
			assert.Contains(t, msg, c.msg)
			if c.param == "" {
				c.param = nil
			}
			assert.Equal(t, c.param, param)
			assert.Equal(t, c.code, ec)
		})
	}
	// The server still works after all that.
	code, v := post(t, ts.URL+"/v1/completions", `{"prompt":"Once upon a time","max_tokens":5,"temperature":0}`)
	assert.Equal(t, http.StatusOK, code, "%v", v)
}

// TestNotEmbedding: a model without embeddings refuses /v1/embeddings with a 400.
func TestNotEmbedding(t *testing.T) {
	f := newFake(1, false)
	_, ts := start(t, f, Config{})
	code, v := post(t, ts.URL+"/v1/embeddings", `{"input":"hello"}`)
	require.Equal(t, http.StatusBadRequest, code)
	msg, param, c := errorOf(t, v)
	assert.Contains(t, msg, "does not produce embeddings")
	assert.Equal(t, "model", param)
	assert.Equal(t, "model_not_supported", c)
}

// TestQueueFull: with every slot busy and the queue full, a request is answered 503
// at once; queued requests run when a slot frees up.
func TestQueueFull(t *testing.T) {
	f := newFake(1, true)
	s, ts := start(t, f, Config{Parallel: 1, Queue: 1})
	results := make(chan int, 2)
	for range 2 {
		go func() {
			code, _ := post(t, ts.URL+"/v1/completions", `{"prompt":"hi"}`)
			results <- code
		}()
	}
	<-f.started
	waitFor(t, "one running and one waiting", 5*time.Second, func() bool {
		r, w := s.Busy()
		return r == 1 && w == 1
	})
	res, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"messages":[{"role":"user","content":"hi"}]}`))
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "%s", b)
	assert.Equal(t, "1", res.Header.Get("Retry-After"))
	assert.Contains(t, string(b), `"code":"server_busy"`)

	f.release <- struct{}{} // the first ends, the second starts
	<-f.started
	f.release <- struct{}{}
	assert.Equal(t, http.StatusOK, <-results)
	assert.Equal(t, http.StatusOK, <-results)
	r, w := s.Busy()
	assert.Zero(t, r+w)

	metrics := get(t, ts.URL+"/metrics")
	assert.Contains(t, metrics, "golem_requests_rejected_total 1")
	assert.Contains(t, metrics, `golem_http_requests_total{code="503",endpoint="/v1/chat/completions"} 1`)
}

func get(t testing.TB, url string) string {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

// TestDisconnectCancels: a streaming client that goes away cancels its generation at
// once and frees its slot; so does one that gives up while queued.
func TestDisconnectCancels(t *testing.T) {
	f := newFake(1, true)
	s, ts := start(t, f, Config{Parallel: 1, Queue: 4})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/chat/completions",
		strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"stream":true}`))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	buf := make([]byte, 64)
	_, err = res.Body.Read(buf) // the first event has come: the generation runs
	require.NoError(t, err)

	// A second request waits for the slot, then gives up.
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan struct{})
	go func() {
		defer close(done2)
		req, _ := http.NewRequestWithContext(ctx2, http.MethodPost, ts.URL+"/v1/completions", strings.NewReader(`{"prompt":"hi"}`))
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	waitFor(t, "a request waiting", 5*time.Second, func() bool { _, w := s.Busy(); return w == 1 })
	cancel2()
	<-done2
	waitFor(t, "the queue to empty", 5*time.Second, func() bool { _, w := s.Busy(); return w == 0 })

	began := time.Now()
	cancel()
	res.Body.Close()
	waitFor(t, "the generation to be cancelled", 5*time.Second, func() bool { return f.cancellations() == 1 })
	waitFor(t, "the slot to be free", 5*time.Second, func() bool { r, _ := s.Busy(); return r == 0 })
	t.Logf("cancelled %s after the disconnect", time.Since(began))

	// The slot serves the next request.
	f.block = false
	code, v := post(t, ts.URL+"/v1/completions", `{"prompt":"hi"}`)
	assert.Equal(t, http.StatusOK, code, "%v", v)
	assert.Contains(t, get(t, ts.URL+"/metrics"), "golem_requests_cancelled_total 2")
}

// TestDisconnectStopsRealGeneration: with the real engine, a streaming client that
// disconnects stops its generation long before the context is full, and the one slot
// serves the next request.
func TestDisconnectStopsRealGeneration(t *testing.T) {
	m := loadStories(t, 1, 2048)
	s, ts := start(t, m, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/completions",
		strings.NewReader(`{"prompt":"Once upon a time","stream":true,"temperature":0}`))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	buf := make([]byte, 512)
	_, err = res.Body.Read(buf)
	require.NoError(t, err)
	cancel()
	res.Body.Close()
	waitFor(t, "the slot to be free", 10*time.Second, func() bool { r, _ := s.Busy(); return r == 0 })
	metrics := get(t, ts.URL+"/metrics")
	assert.Contains(t, metrics, "golem_requests_cancelled_total 1")
	var generated float64
	for line := range strings.SplitSeq(metrics, "\n") {
		if v, ok := strings.CutPrefix(line, "golem_completion_tokens_total "); ok {
			fmt.Sscan(v, &generated)
		}
	}
	assert.Less(t, generated, 2000.0, "the generation went on after the disconnect")
	code, v := post(t, ts.URL+"/v1/completions", `{"prompt":"Once upon a time","max_tokens":5,"temperature":0}`)
	assert.Equal(t, http.StatusOK, code, "%v", v)
}

// TestMetrics: /metrics speaks Prometheus' text format with the server's series.
func TestMetrics(t *testing.T) {
	m := loadStories(t, 1, 256)
	_, ts := start(t, m, Config{})
	code, _ := post(t, ts.URL+"/v1/completions", `{"prompt":"Once upon a time","max_tokens":10,"temperature":0}`)
	require.Equal(t, http.StatusOK, code)
	res, err := http.Get(ts.URL + "/metrics")
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Contains(t, res.Header.Get("Content-Type"), "text/plain")
	text := string(b)
	for _, want := range []string{
		`golem_http_requests_total{code="200",endpoint="/v1/completions"} 1`,
		"golem_completion_tokens_total 10",
		"golem_prompt_tokens_total 5",
		"golem_time_to_first_token_seconds_count 1",
		"golem_queue_depth 0",
		"golem_slots_busy 0",
		"golem_slots 1",
		"# TYPE golem_tokens_per_second gauge",
		"golem_model_loaded 1",
		"go_goroutines",
	} {
		assert.Contains(t, text, want)
	}
}

// TestGracefulShutdown: cancelling Serve's context stops new connections, lets a
// running stream finish within the grace period, and returns.
func TestGracefulShutdown(t *testing.T) {
	f := newFake(1, true)
	s := New(Config{})
	s.SetModel(f)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, 10*time.Second) }()
	url := "http://" + ln.Addr().String()

	res, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"hi","stream":true}`))
	require.NoError(t, err)
	<-f.started
	cancel()
	waitFor(t, "the listener to close", 5*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-served:
		t.Fatalf("Serve returned with a stream in flight: %v", err)
	default:
	}
	f.release <- struct{}{}
	evs := readEvents(t, res.Body)
	res.Body.Close()
	assert.Equal(t, "[DONE]", evs[len(evs)-1].raw, "the stream in flight finished")
	assert.NoError(t, <-served)
}

// TestShutdownCancelsAfterGrace: requests still running when the grace period ends are
// cancelled.
func TestShutdownCancelsAfterGrace(t *testing.T) {
	f := newFake(2, true)
	s := New(Config{})
	s.SetModel(f)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, 200*time.Millisecond) }()
	url := "http://" + ln.Addr().String()
	var wg sync.WaitGroup
	for _, body := range []string{`{"prompt":"hi","stream":true}`, `{"prompt":"hi"}`} {
		wg.Go(func() {
			if res, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(body)); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}
	<-f.started
	<-f.started
	cancel()
	select {
	case err := <-served:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	wg.Wait()
	assert.Equal(t, 2, f.cancellations())
}
