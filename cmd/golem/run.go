package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	golemapi "github.com/golem-llm/golem"
	"github.com/spf13/cobra"
)

func newRunCmd() *cobra.Command {
	var rt runtimeFlags
	var prompt, promptFile, mmproj string
	var imagePaths []string
	var n, keep, parallel int
	var stops []string
	var contextShift, profile bool
	var sf samplingFlags
	cmd := &cobra.Command{
		Use:   "run [-m MODEL] [-p PROMPT | -f FILE] [-n N] [--temp T] [--seed S] [--mmproj M --image I]",
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
and generation, tokens/s, time to first token, and memory.

--mmproj M --image I puts an image (PNG or JPEG) into the prompt through a LLaVA
multimodal projector: at the prompt's <image> marker (as llava-cli does:
"USER: <image>\nWhat is this? ASSISTANT:"), or first after BOS when there is none.
--image may be repeated, one per <image> marker in order.`,
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
			if len(imagePaths) > 0 && mmproj == "" {
				return fmt.Errorf("--image needs --mmproj (the multimodal projector of the model)")
			}
			images, err := loadImages(imagePaths)
			if err != nil {
				return err
			}
			if promptFile != "" {
				b, err := os.ReadFile(promptFile)
				if err != nil {
					return err
				}
				prompt = string(b)
			}
			if k := strings.Count(prompt, golemapi.ImageMarker); len(images) > 0 && parallel == 1 && k > 0 && k != len(images) {
				return fmt.Errorf("the prompt has %d %s markers for %d --image files", k, golemapi.ImageMarker, len(images))
			}
			m, err := rt.open(cmd.Context(), cmd.ErrOrStderr(), apiOptions{parallel: parallel, profile: profile, mmproj: mmproj})
			if err != nil {
				return err
			}
			defer m.Close()
			opts, err := sf.options()
			if err != nil {
				return err
			}
			opts.MaxTokens, opts.Stop, opts.ContextShift, opts.Keep = n, stops, contextShift, keep
			opts.Images = images
			run := &runJob{m: m, opts: opts, profile: profile, stderr: cmd.ErrOrStderr()}
			if parallel > 1 {
				return run.parallel(cmd.Context(), prompt, cmd.OutOrStdout())
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
	fl.StringVar(&mmproj, "mmproj", "", "multimodal projector GGUF (LLaVA mmproj) for --image")
	fl.StringArrayVar(&imagePaths, "image", nil, "image file (PNG or JPEG) for the prompt's <image> marker, or first (repeatable; needs --mmproj)")
	sf.add(cmd)
	return cmd
}

// runJob is one `golem run`: a loaded model and the generation settings.
type runJob struct {
	m       *golemapi.Model
	opts    golemapi.GenerateOptions
	profile bool
	stderr  io.Writer
}

func (r *runJob) single(ctx context.Context, prompt string, stdout io.Writer) error {
	if len(r.opts.Images) == 0 && len(r.m.Tokenize(prompt, golemapi.TokenizeOptions{})) == 0 {
		return fmt.Errorf("the prompt is empty and the vocabulary adds no BOS token: nothing to start from")
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	if _, err := out.WriteString(prompt); err != nil {
		return err
	}
	var st golemapi.Stats
	opts := r.opts
	opts.Stats = &st
	for piece, err := range r.m.Generate(ctx, prompt, opts) {
		if err != nil {
			return err
		}
		if _, err := out.WriteString(piece); err != nil {
			return err
		}
		if err := out.Flush(); err != nil {
			return err
		}
	}
	reportStats(r.stderr, "", st)
	if r.profile {
		return r.m.WriteProfile(r.stderr, st)
	}
	return nil
}

// parallel runs each non-empty line of text as a prompt, up to --parallel at once in
// one batch, and prints the results in order once all have finished.
func (r *runJob) parallel(ctx context.Context, text string, stdout io.Writer) error {
	var prompts []string
	for line := range strings.SplitSeq(text, "\n") {
		if line = strings.TrimSuffix(line, "\r"); line != "" {
			prompts = append(prompts, line)
		}
	}
	if len(prompts) == 0 {
		return fmt.Errorf("the prompt file has no non-empty line")
	}
	results, err := r.m.GenerateBatch(ctx, prompts, r.opts)
	if err != nil {
		return err
	}
	var total golemapi.Stats
	for i, res := range results {
		if res.Err != nil {
			return fmt.Errorf("prompt %d: %w", i+1, res.Err)
		}
		st := res.Stats
		reportStats(r.stderr, fmt.Sprintf("[%d] ", i+1), st)
		total.PromptTokens += st.PromptTokens
		total.GeneratedTokens += st.GeneratedTokens
		total.GenTime = max(total.GenTime, st.GenTime)
		if i == 0 {
			total.FirstToken = st.FirstToken
		}
	}
	out := bufio.NewWriter(stdout)
	for i, res := range results {
		if i > 0 {
			out.WriteString("\n\n")
		}
		out.WriteString(prompts[i])
		out.WriteString(res.Text)
	}
	out.WriteString("\n")
	if err := out.Flush(); err != nil {
		return err
	}
	if r.profile {
		return r.m.WriteProfile(r.stderr, total)
	}
	return nil
}

// loadImages reads and decodes image files.
func loadImages(paths []string) ([]golemapi.Image, error) {
	var images []golemapi.Image
	for _, p := range paths {
		img, err := golemapi.LoadImage(p)
		if err != nil {
			return nil, fmt.Errorf("--image: %w", err)
		}
		images = append(images, img)
	}
	return images, nil
}

// reportStats prints timings on stderr, as llama.cpp's perf summary does.
func reportStats(w io.Writer, prefix string, st golemapi.Stats) {
	rate := func(n int, d float64) float64 {
		if d <= 0 {
			return 0
		}
		return float64(n) / d
	}
	stop := string(st.Stop)
	if st.Stop == golemapi.StopString {
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
