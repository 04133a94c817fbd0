package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/inference"
	"github.com/spf13/cobra"
)

func newRunCmd() *cobra.Command {
	var rt runtimeFlags
	var prompt, promptFile string
	var n, keep, parallel int
	var stops []string
	var contextShift, profile bool
	var sf samplingFlags
	cmd := &cobra.Command{
		Use:   "run [-m MODEL] [-p PROMPT | -f FILE] [-n N] [--temp T] [--seed S]",
		Short: "Generate text from a prompt",
		Long: `Generate text: stdout carries the prompt text, then the generated text as it is
produced, and nothing else. Without -m the embedded stories260K model tells a story.

Generation stops at the vocabulary's end-of-generation tokens, after -n new tokens, or
at a --stop string (matched across tokens; it is not printed). A full context is an
error unless -n is -1 (then it ends generation) or --context-shift is given: then the
first --keep tokens (after BOS) stay, the oldest half of the rest is dropped, and
generation goes on (llama.cpp's context shift).

--parallel N runs the prompts of -f, one per non-empty line, N at a time in one batch
(each with its own sampler and an equal share of the context). Their results are
printed once all have finished: for each line in order, the prompt and its generated
text, separated from the next by a blank line.

--profile prints on stderr the time per op kind and per layer for prompt processing
and generation, tokens/s, time to first token, and memory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if prompt != "" && promptFile != "" {
				return fmt.Errorf("give the prompt with -p or -f, not both")
			}
			if parallel < 1 {
				return fmt.Errorf("--parallel %d must be at least 1", parallel)
			}
			if parallel > 1 && promptFile == "" {
				return fmt.Errorf("--parallel %d needs -f FILE with one prompt per line", parallel)
			}
			if promptFile != "" {
				b, err := os.ReadFile(promptFile)
				if err != nil {
					return err
				}
				prompt = string(b)
			}
			var prof *inference.Profiler
			if profile {
				rt.wrap = func(b backend.Backend) backend.Backend {
					prof = inference.NewProfiler(b)
					return prof
				}
			}
			l, err := rt.load(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()
			opts := inference.GenerateOptions{MaxTokens: n, Stop: stops, ContextShift: contextShift, Keep: -1}
			if keep >= 0 {
				opts.Keep = keep
				if l.tok.AddBOS() {
					opts.Keep++ // the BOS token is always kept, as in llama.cpp
				}
			}
			run := &runJob{l: l, rt: rt, sf: sf, opts: opts, prof: prof, stderr: cmd.ErrOrStderr()}
			if parallel > 1 {
				return run.parallel(cmd.Context(), prompt, parallel, cmd.OutOrStdout())
			}
			return run.single(cmd.Context(), prompt, cmd.OutOrStdout())
		},
	}
	cmd.SetContext(context.Background())
	rt.add(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&prompt, "prompt", "p", "", "prompt text")
	fl.StringVarP(&promptFile, "file", "f", "", "read the prompt from a file (verbatim; with --parallel, one prompt per line)")
	fl.IntVarP(&n, "n-predict", "n", -1, "new tokens to generate (-1: until end of text or a full context)")
	fl.StringArrayVar(&stops, "stop", nil, "stop generating at this text, which is not printed (repeatable)")
	fl.BoolVar(&contextShift, "context-shift", false, "when the context is full, drop the oldest half of the tokens after --keep and go on")
	fl.IntVar(&keep, "keep", 0, "prompt tokens (after BOS) a context shift keeps (-1: the whole prompt)")
	fl.IntVar(&parallel, "parallel", 1, "run the prompts of -f (one per line) N at a time")
	fl.BoolVar(&profile, "profile", false, "print time per op kind and layer, tokens/s and memory on stderr")
	sf.add(cmd)
	return cmd
}

// runJob is one `golem run`: a loaded model and the generation settings.
type runJob struct {
	l      *loaded
	rt     runtimeFlags
	sf     samplingFlags
	opts   inference.GenerateOptions
	prof   *inference.Profiler
	stderr io.Writer
}

func (r *runJob) single(ctx context.Context, prompt string, stdout io.Writer) error {
	l := r.l
	sampler, err := r.sf.sampler(l.model.Config().NVocab, l.cache.Size())
	if err != nil {
		return err
	}
	ids := l.tok.Encode(prompt, true, false)
	if len(ids) == 0 {
		return fmt.Errorf("the prompt is empty and the vocabulary adds no BOS token: nothing to start from")
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	if _, err := out.WriteString(prompt); err != nil {
		return err
	}
	sess := inference.NewSession(l.model, l.cache, r.rt.batchSize)
	sess.Profiler = r.prof
	opts := r.opts
	opts.Sampler, opts.Continuation = sampler, prompt != ""
	st, err := inference.Generate(ctx, sess, l.tok, ids, opts, func(piece string) error {
		if _, err := out.WriteString(piece); err != nil {
			return err
		}
		return out.Flush()
	})
	if err != nil {
		return err
	}
	reportStats(r.stderr, "", st)
	if r.prof != nil {
		return r.prof.Report(r.stderr, st)
	}
	return nil
}

// parallel runs each non-empty line of text as a prompt, up to n at once in one batch,
// and prints the results in order once all have finished.
func (r *runJob) parallel(ctx context.Context, text string, n int, stdout io.Writer) error {
	l := r.l
	var prompts []string
	for line := range strings.SplitSeq(text, "\n") {
		if line = strings.TrimSuffix(line, "\r"); line != "" {
			prompts = append(prompts, line)
		}
	}
	if len(prompts) == 0 {
		return fmt.Errorf("the prompt file has no non-empty line")
	}
	nctx := l.cache.Size() / n
	if nctx < 1 {
		return fmt.Errorf("--parallel %d: the context of %d cells leaves nothing to each sequence", n, l.cache.Size())
	}
	b := inference.NewBatcher(l.model, l.cache, l.tok, r.rt.batchSize)
	b.NCtx, b.Profiler = nctx, r.prof
	texts := make([]strings.Builder, len(prompts))
	seqs := make([]*inference.Sequence, len(prompts))
	next := 0
	add := func() error {
		i := next
		next++
		ids := l.tok.Encode(prompts[i], true, false)
		sampler, err := r.sf.sampler(l.model.Config().NVocab, nctx)
		if err != nil {
			return err
		}
		opts := r.opts
		opts.Sampler, opts.Continuation = sampler, true
		texts[i].WriteString(prompts[i])
		seqs[i], err = b.Add(ids, opts, func(piece string) error {
			texts[i].WriteString(piece)
			return nil
		})
		if err != nil {
			return fmt.Errorf("prompt %d: %w", i+1, err)
		}
		return nil
	}
	for next < len(prompts) || b.Live() > 0 {
		for next < len(prompts) && b.Live() < n {
			if err := add(); err != nil {
				return err
			}
		}
		if err := b.Step(ctx); err != nil {
			return err
		}
	}
	var total inference.Stats
	for i, q := range seqs {
		if err := q.Err(); err != nil {
			return fmt.Errorf("prompt %d: %w", i+1, err)
		}
		st := q.Stats()
		reportStats(r.stderr, fmt.Sprintf("[%d] ", i+1), st)
		total.PromptTokens += st.PromptTokens
		total.GeneratedTokens += st.GeneratedTokens
		total.GenTime = max(total.GenTime, st.GenTime)
		if i == 0 {
			total.FirstToken = st.FirstToken
		}
	}
	out := bufio.NewWriter(stdout)
	for i := range texts {
		if i > 0 {
			out.WriteString("\n\n")
		}
		out.WriteString(texts[i].String())
	}
	out.WriteString("\n")
	if err := out.Flush(); err != nil {
		return err
	}
	if r.prof != nil {
		return r.prof.Report(r.stderr, total)
	}
	return nil
}

// reportStats prints timings on stderr, as llama.cpp's perf summary does.
func reportStats(w io.Writer, prefix string, st inference.Stats) {
	rate := func(n int, d float64) float64 {
		if d <= 0 {
			return 0
		}
		return float64(n) / d
	}
	stop := string(st.Stop)
	if st.Stop == inference.StopString {
		stop += fmt.Sprintf(" %q", st.StopString)
	}
	if st.Shifts > 0 {
		stop += fmt.Sprintf(", %d context shifts", st.Shifts)
	}
	if st.CachedTokens > 0 {
		stop += fmt.Sprintf(", %d prompt tokens from the cache", st.CachedTokens)
	}
	fmt.Fprintf(w, "\ngolem: %sprompt %d tokens in %.3fs (%.1f tokens/s), generated %d tokens in %.3fs (%.1f tokens/s), stop: %s\n",
		prefix, st.PromptTokens, st.PromptTime.Seconds(), rate(st.PromptTokens, st.PromptTime.Seconds()),
		st.GeneratedTokens, st.GenTime.Seconds(), rate(st.GeneratedTokens, st.GenTime.Seconds()), stop)
}
