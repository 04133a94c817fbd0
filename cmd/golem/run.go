package main

import (
	"bufio"
	"context"
	"fmt"
	"os"

	"github.com/golem-llm/golem/inference"
	"github.com/spf13/cobra"
)

func newRunCmd() *cobra.Command {
	var rt runtimeFlags
	var prompt, promptFile string
	var n int
	var sf samplingFlags
	cmd := &cobra.Command{
		Use:   "run [-m MODEL] [-p PROMPT | -f FILE] [-n N] [--temp T] [--seed S]",
		Short: "Generate text from a prompt",
		Long: `Generate text: stdout carries the prompt text, then the generated text as it is
produced, and nothing else. Without -m the embedded stories260K model tells a story.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if prompt != "" && promptFile != "" {
				return fmt.Errorf("give the prompt with -p or -f, not both")
			}
			if promptFile != "" {
				b, err := os.ReadFile(promptFile)
				if err != nil {
					return err
				}
				prompt = string(b)
			}
			l, err := rt.load(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()
			sampler, err := sf.sampler(l.model.Config().NVocab, l.cache.Size())
			if err != nil {
				return err
			}
			ids := l.tok.Encode(prompt, true, false)
			if len(ids) == 0 {
				return fmt.Errorf("the prompt is empty and the vocabulary adds no BOS token: nothing to start from")
			}
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			if _, err := out.WriteString(prompt); err != nil {
				return err
			}
			sess := inference.NewSession(l.model, l.cache, rt.batchSize)
			st, err := inference.Generate(cmd.Context(), sess, l.tok, ids, inference.GenerateOptions{
				MaxTokens: n, Sampler: sampler, Continuation: prompt != "",
			}, func(piece string) error {
				if _, err := out.WriteString(piece); err != nil {
					return err
				}
				return out.Flush()
			})
			if err != nil {
				return err
			}
			reportStats(cmd, st)
			return nil
		},
	}
	cmd.SetContext(context.Background())
	rt.add(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&prompt, "prompt", "p", "", "prompt text")
	fl.StringVarP(&promptFile, "file", "f", "", "read the prompt from a file (verbatim)")
	fl.IntVarP(&n, "n-predict", "n", -1, "new tokens to generate (-1: until end of text or a full context)")
	sf.add(cmd)
	return cmd
}

// reportStats prints timings on stderr, as llama.cpp's perf summary does.
func reportStats(cmd *cobra.Command, st inference.Stats) {
	rate := func(n int, d float64) float64 {
		if d <= 0 {
			return 0
		}
		return float64(n) / d
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "\ngolem: prompt %d tokens in %.3fs (%.1f tokens/s), generated %d tokens in %.3fs (%.1f tokens/s), stop: %s\n",
		st.PromptTokens, st.PromptTime.Seconds(), rate(st.PromptTokens, st.PromptTime.Seconds()),
		st.GeneratedTokens, st.GenTime.Seconds(), rate(st.GeneratedTokens, st.GenTime.Seconds()), st.Stop)
}
