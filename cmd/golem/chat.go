package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"

	golemapi "github.com/golem-llm/golem"
	"github.com/spf13/cobra"
)

const chatHelp = `commands:
  /reset       forget the conversation (the system message stays)
  /save FILE   write the conversation as JSON messages
  /load FILE   read a conversation written by /save (or any JSON array of {"role", "content"})
  /image PATH  attach an image (PNG or JPEG) to the next message (needs --mmproj)
  /help        this list
A line ending with \ goes on on the next line. Ctrl-C stops an answer; Ctrl-D leaves.
`

func newChatCmd() *cobra.Command {
	var rt runtimeFlags
	var sf samplingFlags
	var system, template, mmproj string
	var n int
	var stops []string
	var contextShift bool
	cmd := &cobra.Command{
		Use:   "chat [-m MODEL] [--system TEXT] [--chat-template NAME|FILE] [sampling flags]",
		Short: "Chat with a model in its chat template",
		Long: `An interactive chat: each line you type is a user message; the model answers in its
chat template (tokenizer.chat_template, or --chat-template: a built-in format's name or
a Jinja file; a model without one is chatted with in ChatML, said on stderr). The
conversation is kept, so every answer sees the turns before it.

` + chatHelp + `
When stdin is not a terminal, each line is a message (or a command) and each answer
is printed on stdout followed by a newline, so a chat can be scripted. Answers go to
stdout; the prompt and messages go to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := sf.options()
			if err != nil {
				return err
			}
			opts.MaxTokens, opts.Stop, opts.ContextShift = n, stops, contextShift
			m, err := rt.open(cmd.Context(), cmd.ErrOrStderr(), apiOptions{chatTemplate: template, mmproj: mmproj})
			if err != nil {
				return err
			}
			defer m.Close()
			in := m.Info()
			if in.ChatTemplate == "" {
				// The model's own template does not compile: say why before the first line.
				if _, err := m.ChatPrompt([]golemapi.Message{{Role: "user", Content: "hi"}}, golemapi.ChatOptions{}); err != nil {
					return err
				}
			}
			if in.ChatTemplateFallback {
				fmt.Fprintf(cmd.ErrOrStderr(), "golem: %s has no chat template: chatting in the ChatML format (choose one with --chat-template)\n", in.Name)
			}
			r := &chatREPL{
				m: m, opts: golemapi.ChatOptions{GenerateOptions: opts},
				stdin: cmd.InOrStdin(), stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr(),
				interactive: isTerminal(cmd.InOrStdin()),
			}
			if system != "" {
				r.system = []golemapi.Message{{Role: "system", Content: system}}
			}
			r.history = append(r.history, r.system...)
			if r.interactive {
				fmt.Fprintf(r.stderr, "golem: chatting with %s (template %s); /help lists the commands, Ctrl-C stops an answer, Ctrl-D leaves\n", in.Name, in.ChatTemplate)
			}
			return r.run(cmd.Context())
		},
	}
	cmd.SetContext(context.Background())
	rt.add(cmd)
	sf.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&system, "system", "", "system message that starts the conversation")
	fl.StringVar(&template, "chat-template", "", "chat format: a built-in name (chatml, llama2, llama3, ...) or a Jinja template file")
	fl.IntVarP(&n, "n-predict", "n", -1, "most tokens per answer (-1: until the end of the turn or a full context)")
	fl.StringArrayVar(&stops, "stop", nil, "end an answer at this text, which is not printed (repeatable)")
	fl.BoolVar(&contextShift, "context-shift", false, "when an answer fills the context, drop the oldest half of the tokens after BOS and go on")
	fl.StringVar(&mmproj, "mmproj", "", "multimodal projector GGUF (LLaVA mmproj): /image PATH attaches images")
	return cmd
}

// chatREPL is one `golem chat` session.
type chatREPL struct {
	m               *golemapi.Model
	opts            golemapi.ChatOptions
	system, history []golemapi.Message
	stdin           io.Reader
	stdout, stderr  io.Writer
	interactive     bool
	interrupts      chan os.Signal   // Ctrl-C, in an interactive session
	images          []golemapi.Image // attached by /image to the next message
}

// line is one line of input, or the end of it.
type line struct {
	text string
	eof  bool
	err  error
}

// readLines sends stdin's lines on a channel: a reader blocked on a terminal cannot be
// interrupted, so it runs beside the loop that also waits for Ctrl-C.
func readLines(r io.Reader) <-chan line {
	ch := make(chan line)
	go func() {
		br := bufio.NewReader(r)
		for {
			s, err := br.ReadString('\n')
			s = strings.TrimRight(s, "\r\n")
			switch {
			case err == io.EOF:
				if s != "" {
					ch <- line{text: s}
				}
				ch <- line{eof: true}
				return
			case err != nil:
				ch <- line{err: err}
				return
			}
			ch <- line{text: s}
		}
	}()
	return ch
}

func (r *chatREPL) run(ctx context.Context) error {
	if r.interactive {
		// Ctrl-C stops an answer (or clears the line being typed), never the program.
		r.interrupts = make(chan os.Signal, 1)
		signal.Notify(r.interrupts, os.Interrupt)
		defer signal.Stop(r.interrupts)
	}
	lines := readLines(r.stdin)
	var pending strings.Builder // a message continued with a trailing backslash
	for {
		r.prompt(pending.Len() > 0)
		var in line
		select {
		case in = <-lines:
		case <-r.interrupts:
			fmt.Fprintln(r.stderr, "\n(Ctrl-D leaves)")
			pending.Reset()
			continue
		case <-ctx.Done():
			return ctx.Err()
		}
		switch {
		case in.err != nil:
			return in.err
		case in.eof:
			if r.interactive {
				fmt.Fprintln(r.stderr)
			}
			return nil
		}
		text := in.text
		if strings.HasSuffix(text, `\`) {
			pending.WriteString(strings.TrimSuffix(text, `\`))
			pending.WriteByte('\n')
			continue
		}
		if pending.Len() > 0 {
			pending.WriteString(text)
			text = pending.String()
			pending.Reset()
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		if strings.HasPrefix(text, "/") {
			if err := r.command(text); err != nil {
				if !r.interactive {
					return err
				}
				fmt.Fprintf(r.stderr, "golem: chat: %v\n", err)
			}
			continue
		}
		if err := r.answer(ctx, text); err != nil {
			if !r.interactive {
				return err
			}
			fmt.Fprintf(r.stderr, "golem: chat: %v\n", err)
		}
	}
}

func (r *chatREPL) prompt(continued bool) {
	if !r.interactive {
		return
	}
	if continued {
		fmt.Fprint(r.stderr, "... ")
		return
	}
	fmt.Fprint(r.stderr, "> ")
}

// command runs a /command line.
func (r *chatREPL) command(text string) error {
	name, arg, _ := strings.Cut(strings.TrimSpace(text), " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case "/reset":
		r.history = append([]golemapi.Message(nil), r.system...)
		r.images = nil
		r.note("the conversation is forgotten")
	case "/save":
		if arg == "" {
			return errors.New("/save FILE: no file given")
		}
		b, err := json.MarshalIndent(r.history, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(arg, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("/save: %w", err)
		}
		r.note(fmt.Sprintf("saved %d messages to %s", len(r.history), arg))
	case "/load":
		if arg == "" {
			return errors.New("/load FILE: no file given")
		}
		msgs, err := loadMessages(arg)
		if err != nil {
			return fmt.Errorf("/load: %w", err)
		}
		r.history = msgs
		r.note(fmt.Sprintf("loaded %d messages from %s", len(msgs), arg))
	case "/image":
		if arg == "" {
			return errors.New("/image PATH: no file given")
		}
		if r.m.Info().ImageTokens == 0 {
			return errors.New("/image: the model takes no images: start the chat with --mmproj")
		}
		img, err := golemapi.LoadImage(arg)
		if err != nil {
			return fmt.Errorf("/image: %w", err)
		}
		r.images = append(r.images, img)
		r.note(fmt.Sprintf("%s is attached to the next message", arg))
	case "/help":
		fmt.Fprint(r.stderr, chatHelp)
	default:
		return fmt.Errorf("unknown command %s (/help lists them)", name)
	}
	return nil
}

// note tells the user what a command did (interactive sessions only: a script's
// stderr stays quiet).
func (r *chatREPL) note(s string) {
	if r.interactive {
		fmt.Fprintf(r.stderr, "golem: %s\n", s)
	}
}

// maxConversation bounds a /load file.
const maxConversation = 64 << 20

func loadMessages(path string) ([]golemapi.Message, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxConversation {
		return nil, fmt.Errorf("%s: %d bytes is too large for a conversation", path, st.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var msgs []golemapi.Message
	if err := json.Unmarshal(b, &msgs); err != nil {
		return nil, fmt.Errorf("%s: want a JSON array of {\"role\", \"content\"} messages: %w", path, err)
	}
	for i, m := range msgs {
		if m.Role == "" {
			return nil, fmt.Errorf("%s: message %d has no role", path, i)
		}
	}
	return msgs, nil
}

// answer sends a user message and prints the model's answer as it comes. Ctrl-C stops
// it: what was said so far stays in the conversation.
func (r *chatREPL) answer(ctx context.Context, text string) error {
	msgs := append(slices.Clip(r.history), golemapi.Message{Role: "user", Content: text, Images: r.images})
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stopped atomic.Bool
	watching := make(chan struct{})
	defer close(watching)
	if r.interrupts != nil {
		go func() {
			select {
			case <-r.interrupts:
				stopped.Store(true)
				cancel()
			case <-watching:
			}
		}()
	}
	out := bufio.NewWriter(r.stdout)
	var said strings.Builder
	var failure error
	for piece, err := range r.m.Chat(actx, msgs, r.opts) {
		if err != nil {
			failure = err
			break
		}
		said.WriteString(piece)
		out.WriteString(piece)
		if err := out.Flush(); err != nil {
			return err
		}
	}
	if said.Len() > 0 || failure == nil || stopped.Load() {
		out.WriteString("\n")
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if stopped.Load() {
		fmt.Fprintln(r.stderr, "golem: answer stopped")
		failure = nil
	}
	if failure != nil {
		return failure
	}
	r.history = append(msgs, golemapi.Message{Role: "assistant", Content: said.String()})
	r.images = nil
	return nil
}
