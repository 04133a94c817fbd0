package main

import (
	"fmt"
	"io"
	"strings"
)

// report is everything one run measured, and how.
type report struct {
	Machine  machine  `json:"machine"`
	Tags     string   `json:"build_tags"`
	Backends []string `json:"backends"`
	Llama    string   `json:"llama_cpp"` // what happened to llama-bench, in words
	Reps     int      `json:"repetitions"`
	Command  string   `json:"command"`
	Models   []model  `json:"models"`
	Tests    []test   `json:"tests"`
	Threads  []int    `json:"threads"`
	Results  []result `json:"results"`
	Errors   []string `json:"errors,omitempty"`
}

// series lists the result columns: golem's backends in the order run, then llama.cpp.
func (rp *report) series() []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, b := range rp.Backends {
		add("golem " + b)
	}
	for _, r := range rp.Results {
		if r.Engine == "golem" {
			add(r.series())
		}
	}
	for _, r := range rp.Results {
		if r.Engine != "golem" {
			add(r.series())
		}
	}
	return out
}

// rowKey is one line of the table: a test of a model at a thread count.
type rowKey struct {
	Model   model
	Test    test
	Threads int
}

// rows returns the table's lines in run order (models, then tests, then threads)
// and each line's results by series.
func (rp *report) rows() ([]rowKey, map[rowKey]map[string]result) {
	cells := map[rowKey]map[string]result{}
	for _, r := range rp.Results {
		k := rowKey{r.Model, r.Test, r.Threads}
		if cells[k] == nil {
			cells[k] = map[string]result{}
		}
		cells[k][r.series()] = r
	}
	var keys []rowKey
	seen := map[rowKey]bool{}
	for _, m := range rp.Models {
		for _, t := range rp.Tests {
			for _, th := range rp.Threads {
				k := rowKey{m, t, th}
				if cells[k] != nil {
					keys = append(keys, k)
					seen[k] = true
				}
			}
		}
	}
	for _, r := range rp.Results { // anything measured outside the plan (llama-bench's own choices)
		k := rowKey{r.Model, r.Test, r.Threads}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys, cells
}

// writeMarkdown writes the report: the machine, how it was run, then one table
// line per model, test and thread count with each engine's tokens/s.
func (rp *report) writeMarkdown(w io.Writer, chart string) {
	m := rp.Machine
	fmt.Fprintf(w, "# golem bench comparison, %s\n\n", m.Date.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "- **Machine:** %s\n", m)
	tags := rp.Tags
	if tags == "" {
		tags = "none"
	}
	fmt.Fprintf(w, "- **golem:** commit %s; build tags: %s; backends: %s\n", m.Commit, tags, strings.Join(rp.Backends, ", "))
	fmt.Fprintf(w, "- **llama.cpp:** %s\n", rp.Llama)
	if m.LoadBefore != "" {
		fmt.Fprintf(w, "- **Load** (1-minute load average, %s): %s before the run, %s after; other work on the machine lowers the numbers and widens their spread.\n",
			plural(m.Logical, "logical CPU"), m.LoadBefore, m.LoadAfter)
	}
	if len(m.Bandwidth) > 0 {
		var parts []string
		for _, th := range rp.Threads {
			if bw, ok := m.Bandwidth[th]; ok {
				parts = append(parts, fmt.Sprintf("%.1f GB/s with %s", bw, plural(th, "thread")))
			}
		}
		fmt.Fprintf(w, "- **Memory read bandwidth** (measured by golem bench): %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "- **Method:** model files from `golem gen` (random weights of the preset's real shape; speed does not depend on the values); "+
		"each test runs once to warm up, then %s; t/s is the mean ± standard deviation. "+
		"ppN: N prompt tokens in one batch into an empty cache; tgN: N tokens generated one at a time. "+
		"tg bound: golem's memory-bandwidth bound, bandwidth / bytes of weights read per token.\n", plural(rp.Reps, "repetition"))
	fmt.Fprintf(w, "- **Command:** `%s`\n\n", rp.Command)

	series := rp.series()
	_, hasLlama := rp.llamaSeries()
	hdr := []string{"model", "size", "test", "threads"}
	align := []string{"---", "---:", "---", "---:"}
	for _, s := range series {
		hdr = append(hdr, s+" t/s")
		align = append(align, "---:")
	}
	if hasLlama {
		hdr = append(hdr, "golem / llama.cpp")
		align = append(align, "---:")
	}
	hdr = append(hdr, "tg bound t/s")
	align = append(align, "---:")
	fmt.Fprintf(w, "| %s |\n| %s |\n", strings.Join(hdr, " | "), strings.Join(align, " | "))
	keys, cells := rp.rows()
	for _, k := range keys {
		c := cells[k]
		var size uint64
		for _, r := range c {
			size = max(size, r.Size)
		}
		line := []string{k.Model.Preset + " " + k.Model.Type, humanBytes(size), k.Test.String(), fmt.Sprint(k.Threads)}
		for _, s := range series {
			line = append(line, formatTS(c, s))
		}
		if hasLlama {
			line = append(line, ratio(c, series))
		}
		bound := ""
		if k.Test.NGen > 0 {
			for _, s := range series {
				if r, ok := c[s]; ok && r.Engine == "golem" && r.BoundTS > 0 {
					bound = fmt.Sprintf("%.2f", r.BoundTS)
					break
				}
			}
		}
		line = append(line, bound)
		fmt.Fprintf(w, "| %s |\n", strings.Join(line, " | "))
	}
	if len(keys) == 0 {
		fmt.Fprintln(w, "\n(no results)")
	}
	if len(rp.Errors) > 0 {
		fmt.Fprintf(w, "\n**Failed runs:**\n\n")
		for _, e := range rp.Errors {
			fmt.Fprintf(w, "- %s\n", strings.ReplaceAll(strings.TrimSpace(e), "\n", " "))
		}
	}
	if chart != "" {
		fmt.Fprintf(w, "\n![tokens per second](%s)\n", chart)
	}
}

func (rp *report) llamaSeries() (string, bool) {
	for _, s := range rp.series() {
		if !strings.HasPrefix(s, "golem ") {
			return s, true
		}
	}
	return "", false
}

// llamaNote is the chart's word on llama.cpp when it did not run.
func (rp *report) llamaNote() string {
	if _, ok := rp.llamaSeries(); ok {
		return ""
	}
	return " (llama.cpp not run)"
}

func formatTS(c map[string]result, s string) string {
	r, ok := c[s]
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.2f ± %.2f", r.AvgTS, r.StddevTS)
}

// ratio is golem's best backend over llama.cpp on one line, "1.23×".
func ratio(c map[string]result, series []string) string {
	var best, llama float64
	for _, s := range series {
		r, ok := c[s]
		if !ok {
			continue
		}
		if r.Engine == "golem" {
			best = max(best, r.AvgTS)
		} else {
			llama = r.AvgTS
		}
	}
	if best == 0 || llama == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", best/llama)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
