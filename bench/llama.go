package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// llamaBench is llama.cpp's llama-bench when it is on PATH.
type llamaBench struct {
	path   string // "" when not found
	commit string // build_commit from its first results
}

func findLlamaBench(name string) llamaBench {
	if name == "" {
		return llamaBench{}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return llamaBench{}
	}
	return llamaBench{path: p}
}

// llamaArgs is llama-bench's command line for the tests and thread counts on one
// file: llama-bench runs each -p value as a pp test and each -n value as a tg
// test, for every -t value, and skips zeros.
func llamaArgs(path string, tests []test, threads []int, reps int) []string {
	var pp, tg, th []string
	for _, t := range tests {
		if t.NGen > 0 {
			tg = append(tg, strconv.Itoa(t.NGen))
		} else {
			pp = append(pp, strconv.Itoa(t.NPrompt))
		}
	}
	for _, n := range threads {
		th = append(th, strconv.Itoa(n))
	}
	orZero := func(s []string) string {
		if len(s) == 0 {
			return "0"
		}
		return strings.Join(s, ",")
	}
	return []string{"-m", path, "-p", orZero(pp), "-n", orZero(tg), "-t", strings.Join(th, ","),
		"-r", strconv.Itoa(reps), "-o", "json"}
}

func (r *runner) llamaBench(ctx context.Context, lb *llamaBench, m model, path string, tests []test, threads []int, reps int) ([]result, error) {
	stdout, _, err := r.command(ctx, r.root, lb.path, llamaArgs(path, tests, threads, reps)...)
	if err != nil || r.dryRun {
		return nil, err
	}
	rows, err := parseBenchJSON(stdout)
	if err != nil {
		return nil, fmt.Errorf("llama-bench: %w", err)
	}
	if len(rows) > 0 && lb.commit == "" {
		lb.commit = rows[0].BuildCommit
	}
	return toResults("llama.cpp", m, rows), nil
}
