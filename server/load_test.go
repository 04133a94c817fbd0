package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golem-llm/golem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Load test parameters: 32 streaming clients against 4 slots (docs/performance.md,
// "Server").
const (
	loadClients   = 32
	loadParallel  = 4
	loadMaxTokens = 128
)

var loadPrompts = []string{
	"Once upon a time",
	"Lily and Tom went to the park",
	"The little dog",
	"One day, a bird",
	"Tim had a red ball",
	"The sun was shining",
	"Mom said",
	"There was a big tree",
}

// streamResult is what one load-test client saw.
type streamResult struct {
	text       string
	ttft       time.Duration
	completion int
	finish     string
	err        error
}

// streamCompletion runs one streaming completion and times its first piece of text.
func streamCompletion(ctx context.Context, client *http.Client, url, prompt string) streamResult {
	body := jsonBody(map[string]any{"prompt": prompt, "max_tokens": loadMaxTokens, "temperature": 0, "stream": true})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/completions", strings.NewReader(body))
	if err != nil {
		return streamResult{err: err}
	}
	t0 := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return streamResult{err: err}
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return streamResult{err: fmt.Errorf("status %d", res.StatusCode)}
	}
	var r streamResult
	var sb strings.Builder
	sc := bufio.NewScanner(res.Body)
	done := false
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			done = true
			break
		}
		var chunk struct {
			Choices []struct {
				Text         string  `json:"text"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *usage `json:"usage"`
		}
		if err := json.Unmarshal([]byte(line), &chunk); err != nil {
			return streamResult{err: err}
		}
		for _, c := range chunk.Choices {
			if c.Text != "" && r.ttft == 0 {
				r.ttft = time.Since(t0)
			}
			sb.WriteString(c.Text)
			if c.FinishReason != nil {
				r.finish = *c.FinishReason
			}
		}
		if chunk.Usage != nil {
			r.completion = chunk.Usage.CompletionTokens
		}
	}
	if err := sc.Err(); err != nil {
		return streamResult{err: err}
	}
	if !done {
		return streamResult{err: fmt.Errorf("the stream ended without [DONE]")}
	}
	r.text = sb.String()
	return r
}

// TestLoad: 32 concurrent streaming clients against --parallel 4 on stories260K all get
// the greedy text Generate gives alone, and no goroutine outlives them. It logs the
// aggregate tokens/s and the clients' p50/p95 time to first token.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("the load test takes a few seconds")
	}
	// What each prompt must give: one generation at a time on a model of its own.
	ref := loadStories(t, 1, 512)
	want := map[string]string{}
	for _, p := range loadPrompts {
		want[p] = collect(t, ref.Generate(context.Background(), p, golem.GenerateOptions{MaxTokens: loadMaxTokens}))
	}

	m := loadStories(t, loadParallel, loadParallel*512)
	s, ts := start(t, m, Config{})
	transport := &http.Transport{MaxIdleConnsPerHost: loadClients}
	client := &http.Client{Transport: transport}
	// Warm up (the CPU backend's pools), then count goroutines.
	_ = streamCompletion(context.Background(), client, ts.URL, loadPrompts[0])
	transport.CloseIdleConnections()
	settle(t, 0, 2*time.Second)
	before := runtime.NumGoroutine()

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	results := make([]streamResult, loadClients)
	var wg sync.WaitGroup
	began := time.Now()
	for i := range loadClients {
		wg.Go(func() { results[i] = streamCompletion(ctx, client, ts.URL, loadPrompts[i%len(loadPrompts)]) })
	}
	wg.Wait()
	wall := time.Since(began)

	total := 0
	var ttfts []time.Duration
	for i, r := range results {
		p := loadPrompts[i%len(loadPrompts)]
		require.NoError(t, r.err, "client %d", i)
		assert.Equal(t, want[p], r.text, "client %d (%q)", i, p)
		assert.Equal(t, "length", r.finish, "client %d", i)
		assert.Equal(t, loadMaxTokens, r.completion, "client %d", i)
		total += r.completion
		ttfts = append(ttfts, r.ttft)
	}
	slices.Sort(ttfts)
	pct := func(q float64) time.Duration { return ttfts[int(q*float64(len(ttfts)-1)+0.5)] }
	t.Logf("load: %d streaming clients, --parallel %d, %d tokens each: %d tokens in %s = %.0f tokens/s; time to first token min %s, p50 %s, p95 %s, max %s",
		loadClients, loadParallel, loadMaxTokens, total, wall.Round(time.Millisecond), float64(total)/wall.Seconds(),
		ttfts[0].Round(time.Millisecond), pct(0.50).Round(time.Millisecond), pct(0.95).Round(time.Millisecond), ttfts[len(ttfts)-1].Round(time.Millisecond))

	r, w := s.Busy()
	assert.Zero(t, r+w, "slots still busy")
	transport.CloseIdleConnections()
	settle(t, before, 5*time.Second)
}

// settle waits until at most want goroutines run (any number when want is 0, just a
// pause), failing with their stacks when they do not end in time.
func settle(t *testing.T, want int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		n := runtime.NumGoroutine()
		if want == 0 {
			time.Sleep(50 * time.Millisecond)
			return
		}
		if n <= want {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, %d before the clients: leaked\n%s", n, want, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
