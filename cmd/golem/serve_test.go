package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeMatchesRun starts `golem serve` as a process on 127.0.0.1 (port 0), checks
// that a greedy completion through it is `golem run --temp 0`'s output for the same
// prompt, and that SIGTERM shuts it down cleanly.
func TestServeMatchesRun(t *testing.T) {
	cmd := cliCommand("serve", "--host", "127.0.0.1", "--port", "0", "--parallel", "2", "-c", "1024", "-t", "2")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	var log bytes.Buffer
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // ErrProcessDone once it has exited
	var url string
	select {
	case url = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatalf("golem serve did not say where it listens")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(url + "/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "/health never answered 200")
		time.Sleep(20 * time.Millisecond)
	}

	for _, prompt := range []string{"Once upon a time", "Lily and Tom went to the park"} {
		var stdout, errOut bytes.Buffer
		require.Equal(t, 0, run([]string{"run", "-p", prompt, "-n", "48", "--temp", "0", "-t", "2"}, &stdout, &errOut), errOut.String())

		body, _ := json.Marshal(map[string]any{"model": "any", "prompt": prompt, "max_tokens": 48, "temperature": 0})
		res, err := http.Post(url+"/v1/completions", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", b)
		var v struct {
			Choices []struct {
				Text         string `json:"text"`
				FinishReason string `json:"finish_reason"`
			} `json:"choices"`
			Usage struct {
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
		}
		require.NoError(t, json.Unmarshal(b, &v))
		assert.Equal(t, stdout.String(), prompt+v.Choices[0].Text, "server vs golem run for %q", prompt)
		assert.Equal(t, "length", v.Choices[0].FinishReason)
		assert.Equal(t, 48, v.Usage.CompletionTokens)
	}

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		assert.NoError(t, err, "exit after SIGTERM; stderr:\n%s", log.String())
	case <-time.After(30 * time.Second):
		t.Fatal("golem serve did not exit after SIGTERM")
	}
	out := log.String()
	assert.Contains(t, out, "has no chat template: chatting in the ChatML format")
	assert.Contains(t, out, "server stopped")
}

func TestServeFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--parallel", "0"}, "--parallel 0: want 1 to 64"},
		{[]string{"serve", "--port", "70000"}, "--port 70000"},
		{[]string{"serve", "--queue", "-1"}, "--queue -1"},
		{[]string{"serve", "--cache-type", "q1"}, "--cache-type"},
	} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, 1, run(c.args, &stdout, &stderr), strings.Join(c.args, " "))
		assert.Contains(t, stderr.String(), "golem: serve: "+c.want)
		assert.Empty(t, stdout.String())
	}
}
