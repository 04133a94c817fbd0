package main

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
	"github.com/golem-llm/golem/models/presets"
)

// A test is llama-bench's unit: pp N (N prompt tokens in one batch into an empty
// cache) or tg N (N tokens generated one at a time).
type test struct {
	NPrompt, NGen int
}

func (t test) String() string {
	if t.NGen > 0 {
		return fmt.Sprintf("tg%d", t.NGen)
	}
	return fmt.Sprintf("pp%d", t.NPrompt)
}

// parseTests reads a comma-separated list such as "pp64,pp512,tg32".
func parseTests(s string) ([]test, error) {
	var out []test
	seen := map[test]bool{}
	for _, f := range splitList(s) {
		f = strings.ToLower(f)
		if len(f) < 3 || (f[:2] != "pp" && f[:2] != "tg") {
			return nil, fmt.Errorf("test %q: want ppN or tgN", f)
		}
		n, err := strconv.Atoi(f[2:])
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("test %q: want a positive token count after %s", f, f[:2])
		}
		t := test{NPrompt: n}
		if f[:2] == "tg" {
			t = test{NGen: n}
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no tests")
	}
	return out, nil
}

// pairTests groups tests into golem bench invocations: each runs at most one pp
// and one tg test (-p N -n M), so a model is loaded and the bandwidth measured
// fewer times.
func pairTests(tests []test) []test {
	var pp, tg []int
	for _, t := range tests {
		if t.NGen > 0 {
			tg = append(tg, t.NGen)
		} else {
			pp = append(pp, t.NPrompt)
		}
	}
	var out []test
	for i := range max(len(pp), len(tg)) {
		var t test
		if i < len(pp) {
			t.NPrompt = pp[i]
		}
		if i < len(tg) {
			t.NGen = tg[i]
		}
		out = append(out, t)
	}
	return out
}

// parseThreads reads "1,all" or "1,2,4"; "all" is every logical CPU.
func parseThreads(s string, ncpu int) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, f := range splitList(s) {
		n := ncpu
		if f != "all" {
			var err error
			if n, err = strconv.Atoi(f); err != nil || n <= 0 {
				return nil, fmt.Errorf("threads %q: want a positive number or all", f)
			}
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no thread counts")
	}
	return out, nil
}

// A model is one preset written in one file type with one seed.
type model struct {
	Preset string
	Type   string // llama.cpp's file type name: Q4_0, Q8_0, F16
	Seed   uint64
}

// key names the model's cached file: everything that changes its bytes.
func (m model) key() string {
	return fmt.Sprintf("%s-%s-s%d", m.Preset, strings.ToUpper(m.Type), m.Seed)
}

func (m model) fileName() string { return m.key() + ".gguf" }

// parseModels checks the presets and types and returns every combination,
// presets outermost.
func parseModels(presetList, typeList string, seed uint64) ([]model, error) {
	var out []model
	types := splitList(typeList)
	if len(types) == 0 {
		return nil, fmt.Errorf("no types")
	}
	for _, name := range splitList(presetList) {
		if _, err := presets.Lookup(name); err != nil {
			return nil, err
		}
		for _, t := range types {
			ft, err := gguf.ParseFileType(t)
			if err != nil {
				return nil, err
			}
			if _, err := quant.DefaultType(ft); err != nil {
				return nil, fmt.Errorf("type %s: %w", t, err)
			}
			out = append(out, model{Preset: name, Type: ft.String(), Seed: seed})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no presets")
	}
	return out, nil
}

// weightBytes is the model's size on disk (its tensors), for the dry run.
func (m model) weightBytes() (uint64, error) {
	p, err := presets.Lookup(m.Preset)
	if err != nil {
		return 0, err
	}
	ft, err := gguf.ParseFileType(m.Type)
	if err != nil {
		return 0, err
	}
	return p.WeightBytes(ft)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func defaultThreads() string {
	if runtime.NumCPU() == 1 {
		return "1"
	}
	return "1,all"
}
