// Command bench compares golem's backends with each other and with llama.cpp on
// the same model files: it generates the preset models it needs (cached),
// builds golem, runs `golem bench -o json` for every backend compiled in and,
// when llama-bench is on PATH, llama.cpp's llama-bench on the same files; then
// writes a markdown table, a PNG chart and the raw results to bench/results/.
//
//	cd bench && go run . [flags]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	presetList := fs.String("presets", "tinyllama-1.1b", "comma-separated presets (golem gen's names)")
	typeList := fs.String("types", "Q4_0,Q8_0,F16", "comma-separated file types")
	threadList := fs.String("threads", defaultThreads(), "comma-separated thread counts; all: every logical CPU")
	testList := fs.String("tests", "pp64,pp512,tg32", "comma-separated tests: ppN (prompt processing), tgN (generation)")
	reps := fs.Int("r", 5, "repetitions of each test (after a warm-up run)")
	seed := fs.Uint64("seed", 1, "golem gen's seed for the model files")
	backendList := fs.String("backends", "", "golem backends to run (default: every one compiled in)")
	tags := fs.String("tags", runnerTags(), "build tags for golem (default: this program's own, e.g. go run -tags openblas .)")
	golemBin := fs.String("golem", "", "a golem binary to use instead of building one")
	llamaName := fs.String("llama-bench", "llama-bench", "llama-bench to run when on PATH (empty: never)")
	root := fs.String("root", "", "the golem repository (default: found from the working directory)")
	cacheDir := fs.String("cache", "", "folder of generated models and the golem binary (default ROOT/bench/cache)")
	outDir := fs.String("out", "", "folder for the results (default ROOT/bench/results)")
	name := fs.String("name", "", "base name of the result files (default DATE-CPU-Nt)")
	dryRun := fs.Bool("dry-run", false, "print what would be done and do nothing")
	verbose := fs.Bool("v", false, "show golem's and llama-bench's stderr")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run . [flags]   (in bench/)\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *reps <= 0 {
		return errors.New("-r must be positive")
	}
	models, err := parseModels(*presetList, *typeList, *seed)
	if err != nil {
		return err
	}
	tests, err := parseTests(*testList)
	if err != nil {
		return err
	}
	threads, err := parseThreads(*threadList, runtime.NumCPU())
	if err != nil {
		return err
	}
	if *root == "" {
		if *root, err = findRoot(); err != nil {
			return err
		}
	}
	if *cacheDir == "" {
		*cacheDir = filepath.Join(*root, "bench", "cache")
	}
	if *outDir == "" {
		*outDir = filepath.Join(*root, "bench", "results")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r := &runner{root: *root, cache: *cacheDir, dryRun: *dryRun, verbose: *verbose,
		log: func(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }}
	if *dryRun {
		r.log("dry run: printing the commands, running none")
	}
	if !*dryRun {
		if err := os.MkdirAll(filepath.Join(*cacheDir, "bin"), 0o755); err != nil {
			return err
		}
	}
	if *golemBin != "" {
		r.golem = *golemBin
	} else if err := r.buildGolem(ctx, *tags); err != nil {
		return err
	}
	backends, err := r.backends(ctx)
	if err != nil {
		return err
	}
	if *backendList != "" {
		want := splitList(*backendList)
		for _, b := range want {
			if !*dryRun && !slices.Contains(backends, b) {
				return fmt.Errorf("backend %q is not compiled into golem (it has %s); build tags: %q", b, strings.Join(backends, ", "), *tags)
			}
		}
		backends = want
	}
	lb := findLlamaBench(*llamaName)

	rp := &report{Machine: describeMachine(*root), Tags: *tags, Backends: backends, Reps: *reps,
		Command: commandLine(args), Models: models, Tests: tests, Threads: threads}
	failed := func(what string, err error) {
		if errors.Is(ctx.Err(), context.Canceled) {
			return
		}
		r.log("FAILED: %s: %v", what, err)
		rp.Errors = append(rp.Errors, fmt.Sprintf("%s: %v", what, err))
	}
	start := time.Now()
	for _, m := range models {
		if ctx.Err() != nil {
			break
		}
		if *dryRun {
			if size, err := m.weightBytes(); err == nil {
				r.log("# %s: %s of weights", m.key(), humanBytes(size))
			}
		}
		path, err := r.ensureModel(ctx, m)
		if err != nil {
			failed("golem gen "+m.key(), err)
			continue
		}
		for _, th := range threads {
			for _, t := range pairTests(tests) {
				for _, b := range backends {
					if ctx.Err() != nil {
						break
					}
					res, bw, err := r.golemBench(ctx, m, path, b, th, t, *reps)
					if err != nil {
						failed(fmt.Sprintf("golem bench %s %s %d threads %s", m.key(), b, th, pairName(t)), err)
						continue
					}
					rp.Results = append(rp.Results, res...)
					if bw > 0 {
						rp.Machine.Bandwidth[th] = max(rp.Machine.Bandwidth[th], bw)
					}
					for _, x := range res {
						r.log("  golem %s %s %s t%d: %.2f ± %.2f t/s", b, m.key(), x.Test, x.Threads, x.AvgTS, x.StddevTS)
					}
				}
			}
		}
		if lb.path != "" && ctx.Err() == nil {
			res, err := r.llamaBench(ctx, &lb, m, path, tests, threads, *reps)
			if err != nil {
				failed("llama-bench "+m.key(), err)
				continue
			}
			rp.Results = append(rp.Results, res...)
			for _, x := range res {
				r.log("  llama.cpp %s %s t%d: %.2f ± %.2f t/s", m.key(), x.Test, x.Threads, x.AvgTS, x.StddevTS)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case *llamaName == "":
		rp.Llama = "not run (-llama-bench \"\")."
	case lb.path == "":
		rp.Llama = fmt.Sprintf("`%s` is not on PATH: llama.cpp was not run.", *llamaName)
	case lb.commit != "":
		rp.Llama = fmt.Sprintf("`%s`, build %s, on the same files with the same threads and repetitions.", lb.path, lb.commit)
	default:
		rp.Llama = fmt.Sprintf("`%s` on the same files with the same threads and repetitions.", lb.path)
	}
	r.log("%s", "llama.cpp: "+rp.Llama)
	if *dryRun {
		r.log("would write %s.{md,png,json}", filepath.Join(*outDir, defaultName(*name, rp.Machine, threads)))
		return nil
	}
	rp.Machine.LoadAfter = loadAverage()
	r.log("measured in %s", time.Since(start).Round(time.Second))
	return rp.write(*outDir, defaultName(*name, rp.Machine, threads))
}

// write puts NAME.md, NAME.png and NAME.json (every number, for re-plotting) in dir.
func (rp *report) write(dir, name string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, name)
	chart := name + ".png"
	if err := rp.writeChart(base + ".png"); err != nil {
		fmt.Fprintf(os.Stderr, "bench: no chart: %v\n", err)
		chart = ""
	}
	var md strings.Builder
	rp.writeMarkdown(&md, chart)
	if err := os.WriteFile(base+".md", []byte(md.String()), 0o644); err != nil {
		return err
	}
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rp); err != nil {
		return err
	}
	if err := os.WriteFile(base+".json", js.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Print(md.String())
	fmt.Fprintf(os.Stderr, "bench: wrote %s.md, .json%s\n", base, map[bool]string{true: ", .png", false: ""}[chart != ""])
	return nil
}

func pairName(t test) string {
	var parts []string
	if t.NPrompt > 0 {
		parts = append(parts, fmt.Sprintf("pp%d", t.NPrompt))
	}
	if t.NGen > 0 {
		parts = append(parts, fmt.Sprintf("tg%d", t.NGen))
	}
	return strings.Join(parts, "+")
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// defaultName is DATE-CPU-Nt: the date, a short slug of the CPU model and the
// largest thread count, unless name is given.
func defaultName(name string, m machine, threads []int) string {
	if name != "" {
		return name
	}
	cpu := strings.ToLower(m.CPU)
	for _, noise := range []string{"(r)", "(tm)", "processor", "cpu", "core"} {
		cpu = strings.ReplaceAll(cpu, noise, " ")
	}
	if i := strings.Index(cpu, "@"); i >= 0 {
		cpu = cpu[:i]
	}
	words := strings.Fields(nonSlug.ReplaceAllString(cpu, " "))
	if len(words) > 4 {
		words = words[:4]
	}
	slug := strings.Join(words, "-")
	if slug == "" {
		slug = "cpu"
	}
	return fmt.Sprintf("%s-%s-%dt", m.Date.Format("2006-01-02"), slug, slices.Max(threads))
}

// findRoot walks up from the working directory to the golem module's go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modulePath(b) == "github.com/golem-llm/golem" {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("the golem repository is not above the working directory: give -root")
		}
		dir = parent
	}
}

func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// runnerTags are the build tags this program was built with, passed on to golem's build.
func runnerTags() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-tags" {
				return s.Value
			}
		}
	}
	return ""
}

func commandLine(args []string) string {
	var b strings.Builder
	b.WriteString("cd bench && go run .")
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(shellQuote(a))
	}
	return b.String()
}
