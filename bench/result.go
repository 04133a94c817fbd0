package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// benchRow is one object of `golem bench -o json` or `llama-bench -o json`: the
// two share llama-bench's field names; bound_ts is golem's, build_commit and
// cpu_info are llama-bench's.
type benchRow struct {
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
	SamplesTS     []float64 `json:"samples_ts"`
	BoundTS       float64   `json:"bound_ts"`
	BuildCommit   string    `json:"build_commit"`
	CPUInfo       string    `json:"cpu_info"`
}

// parseBenchJSON reads the JSON array either tool prints on stdout. llama-bench
// may print log lines before it, so reading starts at the first '['.
func parseBenchJSON(out []byte) ([]benchRow, error) {
	i := bytes.IndexByte(out, '[')
	if i < 0 {
		return nil, fmt.Errorf("no JSON array in the output (%d bytes)", len(out))
	}
	var rows []benchRow
	dec := json.NewDecoder(bytes.NewReader(out[i:]))
	if err := dec.Decode(&rows); err != nil {
		return nil, fmt.Errorf("parsing the JSON results: %w", err)
	}
	for _, r := range rows {
		if (r.NPrompt > 0) == (r.NGen > 0) {
			return nil, fmt.Errorf("result with n_prompt %d and n_gen %d: want exactly one of them > 0", r.NPrompt, r.NGen)
		}
	}
	return rows, nil
}

// A result is one measured test of one engine on one model file.
type result struct {
	Engine   string  `json:"engine"`  // "golem" or "llama.cpp"
	Backend  string  `json:"backend"` // golem's backend name, or llama-bench's backends field
	Model    model   `json:"model"`
	Size     uint64  `json:"model_size"`
	NParams  uint64  `json:"model_n_params"`
	Threads  int     `json:"n_threads"`
	Test     test    `json:"test"`
	AvgTS    float64 `json:"avg_ts"`
	StddevTS float64 `json:"stddev_ts"`
	BoundTS  float64 `json:"bound_ts,omitempty"`
}

// series names the column a result belongs in: "golem cpu", "llama.cpp".
func (r result) series() string {
	if r.Engine == "golem" {
		return "golem " + r.Backend
	}
	return r.Engine
}

func toResults(engine string, m model, rows []benchRow) []result {
	out := make([]result, 0, len(rows))
	for _, r := range rows {
		backend := r.Backends
		if engine == "golem" {
			backend = strings.ToLower(backend)
		}
		out = append(out, result{
			Engine: engine, Backend: backend, Model: m, Size: r.ModelSize, NParams: r.ModelNParams,
			Threads: r.NThreads, Test: test{NPrompt: r.NPrompt, NGen: r.NGen},
			AvgTS: r.AvgTS, StddevTS: r.StddevTS, BoundTS: r.BoundTS,
		})
	}
	return out
}

var bandwidthLine = regexp.MustCompile(`memory read bandwidth ([0-9.]+) GB/s \((\d+) threads?\)`)

// parseBandwidth finds golem bench's "memory read bandwidth 12.3 GB/s (2 threads)"
// line on its stderr; ok is false when there is none.
func parseBandwidth(stderr []byte) (gbps float64, threads int, ok bool) {
	m := bandwidthLine.FindSubmatch(stderr)
	if m == nil {
		return 0, 0, false
	}
	gbps, err1 := strconv.ParseFloat(string(m[1]), 64)
	threads, err2 := strconv.Atoi(string(m[2]))
	return gbps, threads, err1 == nil && err2 == nil
}

var backendFlag = regexp.MustCompile(`--backend string\s+backend: ([a-z0-9_, -]+)`)

// parseBackends reads the backends a golem binary was built with from its
// `bench --help` ("--backend string   backend: auto, cpu, openblas"), without "auto".
func parseBackends(help []byte) []string {
	m := backendFlag.FindSubmatch(help)
	if m == nil {
		return nil
	}
	var out []string
	for _, b := range splitList(string(m[1])) {
		if b != "auto" {
			out = append(out, b)
		}
	}
	return out
}
