package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	golemapi "github.com/golem-llm/golem"
	"github.com/golem-llm/golem/gguf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childEnv makes the test binary run the CLI instead of the tests, so `golem chat` can
// be started as a process of its own on a pseudo-terminal.
const childEnv = "GOLEM_TEST_RUN_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// storyTemplate is a chat template that writes the messages' texts one after another:
// with stories260K, a user message "Once upon a time" is answered with the story.
const storyTemplate = `{% for m in messages %}{{ m['content'] }}{% endfor %}`

// chatModel writes the embedded model with a tokenizer.chat_template key added.
func chatModel(t *testing.T) string {
	return brokenStories(t, func(m *gguf.Metadata) {
		m.Set("tokenizer.chat_template", gguf.MustValue(storyTemplate))
	}, nil)
}

// cliCommand is the CLI as a child process.
func cliCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	return cmd
}

// terminal is a child process on a pseudo-terminal, with everything it wrote so far.
type terminal struct {
	t    *testing.T
	tty  *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	read chan struct{} // closed when the terminal's output ended
	seen int           // how far expect has consumed the output
}

func startTerminal(t *testing.T, args ...string) *terminal {
	cmd := cliCommand(args...)
	tty, err := pty.Start(cmd)
	require.NoError(t, err)
	term := &terminal{t: t, tty: tty, cmd: cmd, read: make(chan struct{})}
	go func() {
		defer close(term.read)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		tty.Close()
	})
	return term
}

// output is what the child wrote, with the terminal's \r\n made \n.
func (term *terminal) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return strings.ReplaceAll(term.out.String(), "\r\n", "\n")
}

// expect waits until want appears in the output after what earlier calls consumed,
// and returns the output between them.
func (term *terminal) expect(want string) string {
	term.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out := term.output()
		if i := strings.Index(out[term.seen:], want); i >= 0 {
			before := out[term.seen : term.seen+i]
			term.seen += i + len(want)
			return before
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("waited 60s for %q; the terminal shows:\n%s", want, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (term *terminal) send(s string) {
	term.t.Helper()
	_, err := term.tty.Write([]byte(s))
	require.NoError(term.t, err)
}

// wait waits for the child to exit and returns its status.
func (term *terminal) wait() int {
	term.t.Helper()
	done := make(chan error, 1)
	go func() { done <- term.cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		require.NoError(term.t, err)
		return 0
	case <-time.After(30 * time.Second):
		term.t.Fatalf("the chat did not exit; the terminal shows:\n%s", term.output())
		return -1
	}
}

// continuation is `golem run`'s greedy continuation of prompt in n tokens.
func continuation(t *testing.T, prompt, n string) string {
	code, out, errOut := golem(t, "run", "-p", prompt, "--temp", "0", "-n", n)
	require.Equal(t, 0, code, errOut)
	return strings.TrimPrefix(out, prompt)
}

// TestChatTerminal drives `golem chat` through a pseudo-terminal: the answer is the
// model's, a second turn sees the first, /reset forgets, /save writes the
// conversation, Ctrl-D leaves.
func TestChatTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the CLI on a pseudo-terminal")
	}
	model := chatModel(t)
	conv := filepath.Join(t.TempDir(), "conv.json")
	term := startTerminal(t, "chat", "-m", model, "--temp", "0", "-n", "8", "--system", "Once upon a time")
	banner := term.expect("> ")
	assert.Contains(t, banner, "chatting with")
	assert.NotContains(t, banner, "ChatML", "the model has its own template")

	term.send("\n")
	term.expect("> ")
	term.send("there was\n")
	term.expect("there was\n") // the terminal's echo
	first := term.expect("\n> ")
	// The template writes the texts one after another, so the first answer continues
	// "Once upon a timethere was" as `golem run` continues that prompt.
	assert.Equal(t, continuation(t, "Once upon a timethere was", "8"), first)

	term.send("/reset\n")
	term.expect("forgotten")
	term.expect("> ")
	term.send("there was\n")
	term.expect("there was\n")
	assert.Equal(t, first, term.expect("\n> "), "after /reset the same message gets the same answer")

	term.send("and\n")
	term.expect("and\n")
	second := term.expect("\n> ")
	assert.NotEmpty(t, second)

	term.send("/save " + conv + "\n")
	term.expect("saved 5 messages")
	term.expect("> ")
	term.send("\x04") // Ctrl-D
	assert.Equal(t, 0, term.wait(), term.output())

	raw, err := os.ReadFile(conv)
	require.NoError(t, err)
	var msgs []golemapi.Message
	require.NoError(t, json.Unmarshal(raw, &msgs))
	assert.Equal(t, []golemapi.Message{
		{Role: "system", Content: "Once upon a time"},
		{Role: "user", Content: "there was"},
		{Role: "assistant", Content: first},
		{Role: "user", Content: "and"},
		{Role: "assistant", Content: second},
	}, msgs)
}

// TestChatCtrlC: Ctrl-C stops an answer without leaving the chat.
func TestChatCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the CLI on a pseudo-terminal")
	}
	model := chatModel(t)
	term := startTerminal(t, "chat", "-m", model, "--temp", "0", "-n", "10000000", "-c", "128", "--context-shift")
	term.expect("> ")
	term.send("Once upon a time\n")
	term.expect("Once upon a time\n")
	term.expect(" ") // the answer has begun
	term.send("\x03")
	term.expect("answer stopped")
	term.expect("> ")
	term.send("\x03") // at the prompt: a hint, not an exit
	term.expect("Ctrl-D")
	term.send("\x04")
	assert.Equal(t, 0, term.wait(), term.output())
}

// TestChatScripted: with stdin not a terminal each line is a message and each answer
// one line of stdout; the answer is what `golem run` continues the same text with.
func TestChatScripted(t *testing.T) {
	model := chatModel(t)
	cmd := cliCommand("chat", "-m", model, "--temp", "0", "-n", "8")
	cmd.Stdin = strings.NewReader("Once upon a time\n/reset\nOnce upon a time\n")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	want := continuation(t, "Once upon a time", "8")
	assert.Equal(t, want+"\n"+want+"\n", stdout.String())
	assert.NotContains(t, stderr.String(), "> ")
}

// TestChatFallbackSaysChatML: a model without a template is chatted with in ChatML,
// said on stderr.
func TestChatFallbackSaysChatML(t *testing.T) {
	cmd := cliCommand("chat", "--temp", "0", "-n", "4")
	cmd.Stdin = strings.NewReader("Hello\n")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	assert.Contains(t, stderr.String(), "ChatML")
	assert.Equal(t, 1, strings.Count(stdout.String(), "\n"))
}

func TestChatErrors(t *testing.T) {
	code, _, errOut := golem(t, "chat", "--chat-template", "no-such-format")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "golem: chat: ")
	assert.Contains(t, errOut, "neither a built-in format")

	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"role": "user"}`), 0o644))
	cmd := cliCommand("chat", "--temp", "0", "-n", "4")
	cmd.Stdin = strings.NewReader("/load " + bad + "\n")
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	err := cmd.Run()
	require.Error(t, err)
	assert.Contains(t, stderr.String(), "golem: chat: /load: ")
	assert.Equal(t, 1, strings.Count(stderr.String(), "golem: chat:"), stderr.String())
}
