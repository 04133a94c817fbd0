package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// runner holds what every step needs: where things are and whether to act.
type runner struct {
	root    string // the golem repository
	cache   string // generated models and the golem binary
	golem   string // the golem binary
	dryRun  bool
	verbose bool
	log     func(format string, args ...any)
}

// command prints cmd (always) and runs it unless this is a dry run, returning
// its stdout; stderr goes to the log when verbose and is returned too.
func (r *runner) command(ctx context.Context, dir string, name string, args ...string) (stdout, stderr []byte, err error) {
	r.log("$ %s", shellLine(name, args))
	if r.dryRun {
		return nil, nil, nil
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	if r.verbose {
		cmd.Stderr = io.MultiWriter(&errb, os.Stderr)
	}
	err = cmd.Run()
	if err != nil {
		tail := strings.TrimSpace(errb.String())
		if len(tail) > 2000 {
			tail = "..." + tail[len(tail)-2000:]
		}
		err = fmt.Errorf("%s: %w\n%s", name, err, tail)
	}
	return out.Bytes(), errb.Bytes(), err
}

// buildGolem compiles cmd/golem with the given tags into the cache folder.
func (r *runner) buildGolem(ctx context.Context, tags string) error {
	r.golem = filepath.Join(r.cache, "bin", "golem")
	args := []string{"build", "-o", r.golem}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	args = append(args, "./cmd/golem")
	_, _, err := r.command(ctx, r.root, "go", args...)
	return err
}

// backends asks the golem binary which backends it was built with.
func (r *runner) backends(ctx context.Context) ([]string, error) {
	if r.dryRun {
		r.log("# BACKEND below: each backend the binary is built with")
		return []string{"BACKEND"}, nil
	}
	out, _, err := r.command(ctx, r.root, r.golem, "bench", "--help")
	if err != nil {
		return nil, err
	}
	b := parseBackends(out)
	if len(b) == 0 {
		return nil, fmt.Errorf("%s bench --help lists no backends", r.golem)
	}
	return b, nil
}

// ensureModel generates the model's file into the cache unless it is there.
// golem gen writes a temporary file and renames it when complete, so a file
// under the final name is whole.
func (r *runner) ensureModel(ctx context.Context, m model) (string, error) {
	path := filepath.Join(r.cache, m.fileName())
	if _, err := os.Stat(path); err == nil {
		r.log("cached: %s", path)
		return path, nil
	}
	_, _, err := r.command(ctx, r.root, r.golem, "gen", "--preset", m.Preset, "--type", m.Type,
		"--seed", strconv.FormatUint(m.Seed, 10), "-o", path, "--quiet")
	return path, err
}

// golemBench runs one `golem bench -o json` invocation (a pp and/or a tg test)
// and returns its results and the memory bandwidth it measured (0 if none).
func (r *runner) golemBench(ctx context.Context, m model, path, backend string, threads int, t test, reps int) ([]result, float64, error) {
	stdout, stderr, err := r.command(ctx, r.root, r.golem, "bench", "-m", path, "--backend", backend,
		"-t", strconv.Itoa(threads), "-p", strconv.Itoa(t.NPrompt), "-n", strconv.Itoa(t.NGen),
		"-r", strconv.Itoa(reps), "-o", "json")
	if err != nil || r.dryRun {
		return nil, 0, err
	}
	rows, err := parseBenchJSON(stdout)
	if err != nil {
		return nil, 0, fmt.Errorf("golem bench: %w", err)
	}
	bw, _, _ := parseBandwidth(stderr)
	return toResults("golem", m, rows), bw, nil
}

func shellLine(name string, args []string) string {
	var b strings.Builder
	b.WriteString(shellQuote(name))
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(shellQuote(a))
	}
	return b.String()
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=,:+@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
