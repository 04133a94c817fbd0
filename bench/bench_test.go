package main

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// llamaBenchJSON is the shape of llama-bench -o json (abridged, two tests).
const llamaBenchJSON = `ggml_cpu_init: some log line
[
  {
    "build_commit": "b5f3c2a",
    "build_number": 6000,
    "cpu_info": "AMD EPYC 7B13",
    "gpu_info": "",
    "backends": "CPU",
    "model_filename": "bench/cache/tinyllama-1.1b-Q4_0-s1.gguf",
    "model_type": "llama 1B Q4_0",
    "model_size": 635983872,
    "model_n_params": 1100048384,
    "n_batch": 2048,
    "n_ubatch": 512,
    "n_threads": 2,
    "type_k": "f16",
    "n_prompt": 64,
    "n_gen": 0,
    "test_time": "2025-11-29T02:00:00Z",
    "avg_ns": 1122807017,
    "stddev_ns": 1000000,
    "avg_ts": 57.0,
    "stddev_ts": 0.5,
    "samples_ns": [1122807017, 1122807017],
    "samples_ts": [57.0, 57.0]
  },
  {
    "build_commit": "b5f3c2a", "backends": "CPU", "model_filename": "x.gguf", "model_type": "llama 1B Q4_0",
    "model_size": 635983872, "model_n_params": 1100048384, "n_threads": 2, "n_prompt": 0, "n_gen": 32,
    "avg_ts": 30.1, "stddev_ts": 0.2, "samples_ts": [30.0, 30.2]
  }
]
`

// golemBenchJSON is golem bench -o json's shape.
const golemBenchJSON = `[
  {
    "model_filename": "tinyllama-1.1b-Q4_0-s1.gguf",
    "model_type": "llama 1.10B Q4_0",
    "model_size": 635983872,
    "model_n_params": 1100048384,
    "backends": "cpu",
    "n_threads": 1,
    "n_prompt": 0,
    "n_gen": 32,
    "avg_ts": 12.5,
    "stddev_ts": 0.25,
    "samples_ts": [12.25, 12.75],
    "bound_ts": 40.2
  }
]
`

func TestParseLlamaBenchJSON(t *testing.T) {
	rows, err := parseBenchJSON([]byte(llamaBenchJSON))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("got %d rows, want 2", len(rows))
	}
	r := rows[0]
	if r.BuildCommit != "b5f3c2a" || r.NThreads != 2 || r.NPrompt != 64 || r.NGen != 0 || r.AvgTS != 57 || r.StddevTS != 0.5 ||
		r.ModelSize != 635983872 || r.Backends != "CPU" || len(r.SamplesTS) != 2 {
		t.Errorf("row 0 = %+v", r)
	}
	res := toResults("llama.cpp", model{"tinyllama-1.1b", "Q4_0", 1}, rows)
	if res[1].series() != "llama.cpp" || res[1].Test.String() != "tg32" || res[1].AvgTS != 30.1 {
		t.Errorf("result 1 = %+v", res[1])
	}
}

func TestParseGolemBenchJSON(t *testing.T) {
	rows, err := parseBenchJSON([]byte(golemBenchJSON))
	if err != nil {
		t.Fatal(err)
	}
	res := toResults("golem", model{"tinyllama-1.1b", "Q4_0", 1}, rows)
	want := result{Engine: "golem", Backend: "cpu", Model: model{"tinyllama-1.1b", "Q4_0", 1}, Size: 635983872,
		NParams: 1100048384, Threads: 1, Test: test{NGen: 32}, AvgTS: 12.5, StddevTS: 0.25, BoundTS: 40.2}
	if len(res) != 1 || !reflect.DeepEqual(res[0], want) {
		t.Errorf("got %+v\nwant %+v", res, want)
	}
	if res[0].series() != "golem cpu" {
		t.Errorf("series %q", res[0].series())
	}
}

func TestParseBenchJSONErrors(t *testing.T) {
	for _, in := range []string{"", "no json here", "[{", `[{"n_prompt": 0, "n_gen": 0}]`, `[{"n_prompt": 4, "n_gen": 4}]`} {
		if _, err := parseBenchJSON([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestParseBandwidth(t *testing.T) {
	bw, th, ok := parseBandwidth([]byte("golem: loading...\ngolem: memory read bandwidth 19.4 GB/s (2 threads)\n"))
	if !ok || bw != 19.4 || th != 2 {
		t.Errorf("got %v %v %v", bw, th, ok)
	}
	if _, _, ok := parseBandwidth([]byte("nothing")); ok {
		t.Error("found a bandwidth in nothing")
	}
}

func TestParseBackends(t *testing.T) {
	help := `Flags:
      --backend string      backend: auto, cpu, openblas (default "auto")
  -t, --threads int         CPU threads (default: all cores)`
	if got := parseBackends([]byte(help)); !reflect.DeepEqual(got, []string{"cpu", "openblas"}) {
		t.Errorf("got %q", got)
	}
	if got := parseBackends([]byte("no flags")); got != nil {
		t.Errorf("got %q", got)
	}
}

func TestParseTests(t *testing.T) {
	got, err := parseTests("pp64, PP512,tg32,pp64")
	if err != nil {
		t.Fatal(err)
	}
	want := []test{{NPrompt: 64}, {NPrompt: 512}, {NGen: 32}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"", "pg64", "pp", "tg0", "ppx", "tg-1"} {
		if _, err := parseTests(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if p := pairTests(got); !reflect.DeepEqual(p, []test{{64, 32}, {512, 0}}) {
		t.Errorf("pairTests = %v", p)
	}
	if p := pairTests([]test{{NGen: 16}, {NGen: 32}}); !reflect.DeepEqual(p, []test{{0, 16}, {0, 32}}) {
		t.Errorf("pairTests = %v", p)
	}
}

func TestParseThreads(t *testing.T) {
	got, err := parseThreads("1,all,8,2", 2)
	if err != nil || !reflect.DeepEqual(got, []int{1, 2, 8}) {
		t.Errorf("got %v %v", got, err)
	}
	for _, bad := range []string{"", "0", "x", "-2"} {
		if _, err := parseThreads(bad, 2); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestModelsAndCacheKeys(t *testing.T) {
	ms, err := parseModels("tinyllama-1.1b", "q4_0,Q8_0,f16", 7)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, m := range ms {
		keys = append(keys, m.fileName())
	}
	want := []string{"tinyllama-1.1b-Q4_0-s7.gguf", "tinyllama-1.1b-Q8_0-s7.gguf", "tinyllama-1.1b-F16-s7.gguf"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("got %q, want %q", keys, want)
	}
	if a, b := (model{"gpt2", "Q4_0", 1}).key(), (model{"gpt2", "Q4_0", 2}).key(); a == b {
		t.Errorf("seeds share the key %q", a)
	}
	for _, bad := range [][2]string{{"no-such-model", "Q4_0"}, {"tinyllama-1.1b", "Q9_9"}, {"", "Q4_0"}, {"gpt2", ""}} {
		if _, err := parseModels(bad[0], bad[1], 1); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestLlamaArgs(t *testing.T) {
	got := strings.Join(llamaArgs("m.gguf", []test{{NPrompt: 64}, {NGen: 32}, {NPrompt: 512}}, []int{1, 2}, 3), " ")
	if want := "-m m.gguf -p 64,512 -n 32 -t 1,2 -r 3 -o json"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = strings.Join(llamaArgs("m.gguf", []test{{NGen: 32}}, []int{4}, 5), " ")
	if want := "-m m.gguf -p 0 -n 32 -t 4 -r 5 -o json"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMachineParsing(t *testing.T) {
	cpuinfo := "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nphysical id\t: 0\ncore id\t: 0\n\n" +
		"processor\t: 1\nmodel name\t: AMD EPYC 7B13\nphysical id\t: 0\ncore id\t: 0\n\n" +
		"processor\t: 2\nmodel name\t: AMD EPYC 7B13\nphysical id\t: 0\ncore id\t: 1\n"
	name, phys := parseCPUInfo([]byte(cpuinfo))
	if name != "AMD EPYC 7B13" || phys != 2 {
		t.Errorf("got %q %d", name, phys)
	}
	if got := parseMemTotal([]byte("MemFree: 1 kB\nMemTotal:       24570836 kB\n")); got != 24570836*1024 {
		t.Errorf("MemTotal = %d", got)
	}
	if got := parseLoadAvg([]byte("8.61 6.59 4.02 3/412 27851\n")); got != "8.61" {
		t.Errorf("load average %q", got)
	}
	m := machine{CPU: "Intel(R) Xeon(R) CPU @ 2.20GHz", Date: time.Date(2025, 11, 29, 0, 0, 0, 0, time.UTC)}
	if got := defaultName("", m, []int{1, 2}); got != "2025-11-29-intel-xeon-2t" {
		t.Errorf("defaultName = %q", got)
	}
	if got := defaultName("mine", m, []int{1}); got != "mine" {
		t.Errorf("defaultName = %q", got)
	}
}

func sampleReport(withLlama bool) *report {
	q4 := model{"tinyllama-1.1b", "Q4_0", 1}
	rp := &report{
		Machine:  machine{CPU: "AMD EPYC", Logical: 2, MemBytes: 8 << 30, Go: "go1.26.8", Commit: "abc", Date: time.Date(2025, 11, 29, 2, 0, 0, 0, time.UTC), Bandwidth: map[int]float64{1: 12.25, 2: 19.5}},
		Backends: []string{"cpu"}, Reps: 3, Command: "cd bench && go run . -r 3",
		Models: []model{q4}, Tests: []test{{NPrompt: 64}, {NGen: 32}}, Threads: []int{1, 2},
		Llama: "`llama-bench` is not on PATH: llama.cpp was not run.",
	}
	add := func(engine, backend string, th int, tt test, ts, bound float64) {
		rp.Results = append(rp.Results, result{Engine: engine, Backend: backend, Model: q4, Size: 635983872,
			Threads: th, Test: tt, AvgTS: ts, StddevTS: 0.5, BoundTS: bound})
	}
	// Run order differs from table order on purpose.
	add("golem", "cpu", 2, test{NGen: 32}, 20, 40)
	add("golem", "cpu", 1, test{NPrompt: 64}, 30, 0)
	add("golem", "cpu", 1, test{NGen: 32}, 10, 20)
	add("golem", "cpu", 2, test{NPrompt: 64}, 55, 0)
	if withLlama {
		add("llama.cpp", "CPU", 2, test{NPrompt: 64}, 50, 0)
		add("llama.cpp", "CPU", 2, test{NGen: 32}, 25, 0)
	}
	return rp
}

func TestMarkdownTable(t *testing.T) {
	var b strings.Builder
	sampleReport(false).writeMarkdown(&b, "x.png")
	out := b.String()
	for _, want := range []string{
		"- **llama.cpp:** `llama-bench` is not on PATH: llama.cpp was not run.",
		"12.2 GB/s with 1 thread, 19.5 GB/s with 2 threads",
		"| model | size | test | threads | golem cpu t/s | tg bound t/s |",
		"| tinyllama-1.1b Q4_0 | 606.52 MiB | pp64 | 1 | 30.00 ± 0.50 |  |\n" +
			"| tinyllama-1.1b Q4_0 | 606.52 MiB | pp64 | 2 | 55.00 ± 0.50 |  |\n" +
			"| tinyllama-1.1b Q4_0 | 606.52 MiB | tg32 | 1 | 10.00 ± 0.50 | 20.00 |\n" +
			"| tinyllama-1.1b Q4_0 | 606.52 MiB | tg32 | 2 | 20.00 ± 0.50 | 40.00 |\n",
		"![tokens per second](x.png)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}

	b.Reset()
	sampleReport(true).writeMarkdown(&b, "")
	out = b.String()
	for _, want := range []string{
		"| model | size | test | threads | golem cpu t/s | llama.cpp t/s | golem / llama.cpp | tg bound t/s |",
		"| tinyllama-1.1b Q4_0 | 606.52 MiB | pp64 | 1 | 30.00 ± 0.50 | — | — |  |",
		"| tinyllama-1.1b Q4_0 | 606.52 MiB | pp64 | 2 | 55.00 ± 0.50 | 50.00 ± 0.50 | 1.10× |  |",
		"| tinyllama-1.1b Q4_0 | 606.52 MiB | tg32 | 2 | 20.00 ± 0.50 | 25.00 ± 0.50 | 0.80× | 40.00 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "![") {
		t.Error("image link without a chart")
	}
}

func TestChart(t *testing.T) {
	path := t.TempDir() + "/c.png"
	if dir := os.Getenv("BENCH_CHART_DIR"); dir != "" { // to look at it
		path = dir + "/c.png"
	}
	if err := sampleReport(true).writeChart(path); err != nil {
		t.Fatal(err)
	}
	if err := (&report{}).writeChart(path); err == nil {
		t.Error("empty report charted")
	}
}

func TestShellQuote(t *testing.T) {
	if got := shellLine("golem", []string{"bench", "-m", "a b.gguf", "it's"}); got != `golem bench -m 'a b.gguf' 'it'\''s'` {
		t.Errorf("got %s", got)
	}
}
