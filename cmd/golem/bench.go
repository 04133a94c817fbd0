package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"time"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/inference"
	"github.com/golem-llm/golem/models"
	"github.com/spf13/cobra"
)

func newBenchCmd() *cobra.Command {
	var rt runtimeFlags
	var nPrompt, nGen, reps int
	var format string
	cmd := &cobra.Command{
		Use:   "bench -m FILE [-p N] [-n N] [-r N] [-t N] [--backend B] [-o md|json|csv]",
		Short: "Measure prompt processing (pp) and generation (tg) speed, as llama-bench does",
		Long: `Run a pp test (n_prompt tokens in one batch into an empty cache) and a tg test
(n_gen tokens one at a time) with random token ids, after a warm-up run, repeated -r
times; report mean ± stddev tokens/s. For tg, bound_ts is the memory-bandwidth bound:
measured read bandwidth / bytes of weights read per token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if reps <= 0 || nPrompt < 0 || nGen < 0 || nPrompt+nGen == 0 {
				return fmt.Errorf("need -r > 0 and at least one of -p, -n > 0")
			}
			if nPrompt > rt.batchSize {
				rt.batchSize = nPrompt
			}
			if rt.ctxSize == 0 {
				rt.ctxSize = max(nPrompt, nGen, 1)
			}
			l, err := rt.load(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()
			bw := measureBandwidth(l.threads())
			fmt.Fprintf(cmd.ErrOrStderr(), "golem: memory read bandwidth %.1f GB/s (%d threads)\n", bw/1e9, l.threads())
			var results []benchResult
			base := l.describe(rt)
			if enc, ok := l.model.(models.Embedder); ok && models.IsEncoder(l.model) {
				// An encoder (BERT) has no generation: its pp test is embedding
				// throughput, as llama-bench measures it; tg does not apply.
				if nGen > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "golem: %s is an encoder: no tg test (it does not generate)\n", l.name)
				}
				if nPrompt > 0 {
					r, err := benchEmbed(cmd.Context(), enc, base, nPrompt, reps)
					if err != nil {
						return err
					}
					results = append(results, r)
				}
				return printBench(cmd.OutOrStdout(), format, results)
			}
			if nPrompt > 0 {
				r, err := l.benchTest(cmd.Context(), base, nPrompt, 0, reps)
				if err != nil {
					return err
				}
				results = append(results, r)
			}
			if nGen > 0 {
				r, err := l.benchTest(cmd.Context(), base, 0, nGen, reps)
				if err != nil {
					return err
				}
				r.BoundTS = bw / float64(r.ModelSize)
				results = append(results, r)
			}
			return printBench(cmd.OutOrStdout(), format, results)
		},
	}
	cmd.SetContext(context.Background())
	rt.add(cmd)
	fl := cmd.Flags()
	fl.IntVarP(&nPrompt, "n-prompt", "p", 512, "prompt tokens of the pp test (0: none)")
	fl.IntVarP(&nGen, "n-gen", "n", 128, "generated tokens of the tg test (0: none)")
	fl.IntVarP(&reps, "repetitions", "r", 5, "repetitions of each test")
	fl.StringVarP(&format, "output", "o", "md", "output format: md, json or csv")
	return cmd
}

// benchResult uses llama-bench's field names, plus golem's bound_ts.
type benchResult struct {
	ModelFilename string    `json:"model_filename"`
	ModelType     string    `json:"model_type"`
	ModelSize     uint64    `json:"model_size"`
	ModelNParams  uint64    `json:"model_n_params"`
	Backends      string    `json:"backends"`
	NThreads      int       `json:"n_threads"`
	NPrompt       int       `json:"n_prompt"`
	NGen          int       `json:"n_gen"`
	AvgTS         float64   `json:"avg_ts"`
	StddevTS      float64   `json:"stddev_ts"`
	Samples       []float64 `json:"samples_ts"`
	BoundTS       float64   `json:"bound_ts,omitempty"`
}

func (l *loaded) threads() int {
	if t, ok := l.be.(interface{ Threads() int }); ok {
		return t.Threads()
	}
	return 1
}

func (l *loaded) describe(rt runtimeFlags) benchResult {
	r := benchResult{ModelFilename: filepath.Base(l.name), Backends: l.be.Name(), NThreads: l.threads()}
	for _, t := range l.file.Tensors {
		r.ModelSize += t.Size
		r.ModelNParams += t.Elements()
	}
	cfg := l.model.Config()
	r.ModelType = fmt.Sprintf("%s %s", cfg.Arch, humanCount(r.ModelNParams))
	if v, err := l.file.Meta.Uint("general.file_type"); err == nil {
		r.ModelType += " " + gguf.FileType(v).String()
	}
	return r
}

// benchTest runs one test reps times after a warm-up; each run starts from an empty cache.
// benchEmbed times embedding n random tokens as one sequence (mean pooling), reps times
// after a warm-up.
func benchEmbed(ctx context.Context, e models.Embedder, r benchResult, n, reps int) (benchResult, error) {
	r.NPrompt = n
	rng := rand.New(rand.NewPCG(1, 2))
	nv := e.Config().NVocab
	seq := make([]int32, n)
	for i := range seq {
		seq[i] = int32(rng.IntN(nv))
	}
	once := func() (time.Duration, error) {
		start := time.Now()
		_, err := e.Embed(ctx, [][]int32{seq}, models.PoolMean)
		return time.Since(start), err
	}
	if _, err := once(); err != nil {
		return r, err
	}
	for range reps {
		d, err := once()
		if err != nil {
			return r, err
		}
		r.Samples = append(r.Samples, float64(n)/d.Seconds())
	}
	r.AvgTS, r.StddevTS = meanStddev(r.Samples)
	return r, nil
}

func (l *loaded) benchTest(ctx context.Context, r benchResult, nPrompt, nGen, reps int) (benchResult, error) {
	r.NPrompt, r.NGen = nPrompt, nGen
	rng := rand.New(rand.NewPCG(1, 2))
	nv := l.model.Config().NVocab
	token := func() int32 { return int32(rng.IntN(nv)) }
	once := func() (time.Duration, error) {
		l.cache.Clear()
		s := inference.NewSession(l.model, l.cache, max(nPrompt, 1))
		start := time.Now()
		if nPrompt > 0 {
			ids := make([]int32, nPrompt)
			for i := range ids {
				ids[i] = token()
			}
			if err := s.Eval(ctx, ids); err != nil {
				return 0, err
			}
		}
		for range nGen {
			if err := s.Eval(ctx, []int32{token()}); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	if _, err := once(); err != nil { // warm-up
		return r, err
	}
	n := float64(nPrompt + nGen)
	for range reps {
		d, err := once()
		if err != nil {
			return r, err
		}
		r.Samples = append(r.Samples, n/d.Seconds())
	}
	r.AvgTS, r.StddevTS = meanStddev(r.Samples)
	return r, nil
}

// meanStddev is the mean and sample standard deviation of xs.
func meanStddev(xs []float64) (mean, stddev float64) {
	var sum, sq float64
	for _, s := range xs {
		sum += s
	}
	mean = sum / float64(len(xs))
	for _, s := range xs {
		sq += (s - mean) * (s - mean)
	}
	if len(xs) > 1 {
		stddev = math.Sqrt(sq / float64(len(xs)-1))
	}
	return mean, stddev
}

func printBench(w io.Writer, format string, results []benchResult) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"model_filename", "model_type", "model_size", "model_n_params", "backends", "n_threads", "n_prompt", "n_gen", "avg_ts", "stddev_ts", "bound_ts"})
		for _, r := range results {
			_ = cw.Write([]string{r.ModelFilename, r.ModelType, strconv.FormatUint(r.ModelSize, 10), strconv.FormatUint(r.ModelNParams, 10),
				r.Backends, strconv.Itoa(r.NThreads), strconv.Itoa(r.NPrompt), strconv.Itoa(r.NGen),
				fmt.Sprintf("%.3f", r.AvgTS), fmt.Sprintf("%.3f", r.StddevTS), fmt.Sprintf("%.3f", r.BoundTS)})
		}
		cw.Flush()
		return cw.Error()
	case "md":
		fmt.Fprintln(w, "| model | size | params | backend | threads | test | t/s | bound t/s |")
		fmt.Fprintln(w, "| --- | ---: | ---: | --- | ---: | --- | ---: | ---: |")
		for _, r := range results {
			test := fmt.Sprintf("pp%d", r.NPrompt)
			bound := ""
			if r.NGen > 0 {
				test = fmt.Sprintf("tg%d", r.NGen)
				bound = fmt.Sprintf("%.2f", r.BoundTS)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %s | %.2f ± %.2f | %s |\n", r.ModelType, humanBytes(r.ModelSize),
				humanCount(r.ModelNParams), r.Backends, r.NThreads, test, r.AvgTS, r.StddevTS, bound)
		}
		return nil
	}
	return fmt.Errorf("-o %q: want md, json or csv", format)
}

// measureBandwidth reads a 256 MiB buffer with the given number of threads and
// returns bytes per second (the best of three passes).
func measureBandwidth(threads int) float64 {
	const size = 256 << 20
	buf := make([]uint64, size/8)
	for i := range buf {
		buf[i] = uint64(i)
	}
	best := 0.0
	for range 3 {
		start := time.Now()
		done := make(chan uint64, threads)
		chunk := len(buf) / threads
		for t := range threads {
			go func(part []uint64) {
				var s uint64
				for i := 0; i+4 <= len(part); i += 4 {
					s += part[i] ^ part[i+1] ^ part[i+2] ^ part[i+3]
				}
				done <- s
			}(buf[t*chunk : (t+1)*chunk])
		}
		var sink uint64
		for range threads {
			sink += <-done
		}
		_ = sink
		best = math.Max(best, float64(size)/time.Since(start).Seconds())
	}
	return best
}
