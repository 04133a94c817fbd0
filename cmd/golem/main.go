// Command golem loads GGUF language models and runs them: text generation, chat,
// embeddings, an OpenAI-compatible server, benchmarks and model tools.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI and returns the exit status. Errors are printed as one line,
// "golem: <command>: <why>", never as a panic trace.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	var exit exitError
	if errors.As(err, &exit) {
		return exit.code
	}
	name := "golem"
	if cmd != nil && cmd != root {
		name = cmd.Name()
	}
	fmt.Fprintf(stderr, "golem: %s: %v\n", name, err)
	return 1
}

// exitError ends the program with a status and no further message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "golem",
		Short:         "Run GGUF language models: generate, chat, embed, serve, benchmark",
		SilenceErrors: true,
		SilenceUsage:  true,
		CompletionOptions: cobra.CompletionOptions{
			DisableDefaultCmd: true,
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	verbose := root.PersistentFlags().BoolP("verbose", "v", false, "log debug details to stderr")
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) {
		level := slog.LevelInfo
		if *verbose {
			level = slog.LevelDebug
		}
		slog.SetDefault(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})))
	}
	for _, c := range commands() {
		root.AddCommand(c)
	}
	return root
}

// commands lists the subcommands; each lives in a file of its own.
func commands() []*cobra.Command {
	return []*cobra.Command{
		newInfoCmd(),
		newRunCmd(),
		newChatCmd(),
		newLogitsCmd(),
		newEmbedCmd(),
		newEmbedImageCmd(),
		newServeCmd(),
		newBenchCmd(),
		newTokenizeCmd(),
		newDetokenizeCmd(),
		newQuantizeCmd(),
		newGenCmd(),
		newDevicesCmd(),
	}
}
