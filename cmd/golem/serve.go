package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	golemapi "github.com/golem-llm/golem"
	"github.com/golem-llm/golem/server"
	"github.com/spf13/cobra"
)

func newServeCmd() *cobra.Command {
	var rt runtimeFlags
	var host, alias, template, mmproj string
	var port, parallel, queue int
	var maxBody int64
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "serve [-m MODEL] [--host 127.0.0.1] [--port 8080] [--parallel N]",
		Short: "Serve a model over an OpenAI-compatible HTTP API",
		Long: `An OpenAI-compatible HTTP server:

  POST /v1/chat/completions   chat in the model's template (ChatML when it has none)
  POST /v1/completions        continue a prompt
  POST /v1/embeddings         vectors of an embedding model (bert)
  GET  /v1/models             the model served (it answers whatever "model" a request names)
  GET  /health                200 once the model is loaded, 503 before
  GET  /metrics               Prometheus metrics

"stream": true answers as server-sent events ending with "data: [DONE]". Up to
--parallel generations are decoded together in one batch (continuous batching:
requests join and leave between decode steps), each with an equal share of the
context; up to --queue more wait for a slot, and further requests are answered 503.
A prompt plus max_tokens beyond a slot's context is refused (400), never truncated.
A client that disconnects stops its generation at once.

SIGINT or SIGTERM stops accepting connections, lets the requests in flight finish
for up to --shutdown-timeout, cancels the rest, and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if port < 0 || port > 65535 {
				return fmt.Errorf("--port %d: want 0 to 65535", port)
			}
			if parallel < 1 || parallel > golemapi.MaxParallel {
				return fmt.Errorf("--parallel %d: want 1 to %d", parallel, golemapi.MaxParallel)
			}
			if queue < 0 {
				return fmt.Errorf("--queue %d must not be negative", queue)
			}
			if maxBody < 1 {
				return fmt.Errorf("--max-body %d must be positive", maxBody)
			}
			if grace < 0 {
				return fmt.Errorf("--shutdown-timeout %s must not be negative", grace)
			}
			if _, err := rt.validate(); err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()

			ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				return err
			}
			q := queue
			if q == 0 {
				q = -1 // server.Config: negative is no queue
			}
			srv := server.New(server.Config{ModelID: alias, Parallel: parallel, Queue: q, MaxBodyBytes: maxBody, Logger: slog.Default()})
			fmt.Fprintf(stderr, "golem: listening on http://%s (loading the model: /health answers 503 until it is ready)\n", ln.Addr())
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ctx, ln, grace) }()

			m, err := rt.open(ctx, stderr, apiOptions{parallel: parallel, chatTemplate: template, mmproj: mmproj})
			if err != nil {
				cancel()
				<-served
				return err
			}
			defer m.Close()
			in := m.Info()
			switch {
			case !in.Generates:
				fmt.Fprintf(stderr, "golem: %s is an embedding model: /v1/embeddings answers, the completion endpoints refuse\n", in.Name)
			case in.ChatTemplateFallback:
				fmt.Fprintf(stderr, "golem: %s has no chat template: chatting in the ChatML format (choose one with --chat-template)\n", in.Name)
			case in.ChatTemplate == "":
				if _, err := m.ChatPrompt([]golemapi.Message{{Role: "user", Content: "hi"}}, golemapi.ChatOptions{}); err != nil {
					fmt.Fprintf(stderr, "golem: /v1/chat/completions will fail: %v (choose a template with --chat-template)\n", err)
				}
			}
			srv.SetModel(m)
			fmt.Fprintf(stderr, "golem: serving %s at http://%s/v1: %d slots of %d tokens, queue %d\n",
				in.Name, ln.Addr(), in.Parallel, in.SequenceContext, queue)
			if err := <-served; err != nil {
				return err
			}
			fmt.Fprintf(stderr, "golem: server stopped\n")
			return nil
		},
	}
	cmd.SetContext(context.Background())
	rt.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&host, "host", "127.0.0.1", "address to listen on (0.0.0.0: every interface)")
	fl.IntVar(&port, "port", 8080, "port to listen on (0: any free one, printed on stderr)")
	fl.IntVar(&parallel, "parallel", 1, "generations decoded together (slots), each with an equal share of the context")
	fl.IntVar(&queue, "queue", server.DefaultQueue, "requests waiting for a slot beyond those running; more are answered 503")
	fl.StringVar(&alias, "alias", "", "the model's name in /v1/models and answers (default: the file's name)")
	fl.StringVar(&template, "chat-template", "", "chat format: a built-in name (chatml, llama2, llama3, ...) or a Jinja template file")
	fl.StringVar(&mmproj, "mmproj", "", "multimodal projector (mmproj GGUF): chat messages may then carry image_url parts with data: URIs")
	fl.Int64Var(&maxBody, "max-body", server.DefaultMaxBodyBytes, "largest request body in bytes")
	fl.DurationVar(&grace, "shutdown-timeout", 10*time.Second, "on SIGINT/SIGTERM, how long requests in flight may go on before they are cancelled")
	return cmd
}
