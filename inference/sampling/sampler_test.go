package sampling

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func mustNew(t testing.TB, p Params, vocab int) *Sampler {
	t.Helper()
	s, err := New(p, vocab)
	if err != nil {
		t.Fatalf("New(%+v): %v", p, err)
	}
	return s
}

func mustSample(t testing.TB, s *Sampler, logits []float32) int32 {
	t.Helper()
	id, err := s.Sample(logits)
	if err != nil {
		t.Fatalf("Sample: %v", err)
	}
	return id
}

func randomRows(seed uint64, rows, vocab int, scale float64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([][]float32, rows)
	for i := range out {
		out[i] = make([]float32, vocab)
		for j := range out[i] {
			out[i][j] = float32(r.NormFloat64() * scale)
		}
	}
	return out
}

func argmaxLowest(logits []float32) int32 {
	best := 0
	for i, l := range logits {
		if l > logits[best] {
			best = i
		}
	}
	return int32(best)
}

// generate samples one token per row, accepting each, and returns the sequence.
func generate(t testing.TB, s *Sampler, rows [][]float32) []int32 {
	t.Helper()
	out := make([]int32, len(rows))
	for i, row := range rows {
		out[i] = mustSample(t, s, row)
		if err := s.Accept(out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestGreedyTiesGoToLowestID(t *testing.T) {
	logits := []float32{1, 3, 3, 2, 3}
	for _, temp := range []float32{0, -1} {
		p := DefaultParams()
		p.Temperature = temp
		s := mustNew(t, p, len(logits))
		if got := mustSample(t, s, logits); got != 1 {
			t.Fatalf("temp %v: got %d, want 1", temp, got)
		}
	}
	// The zero Params is greedy too.
	if got := mustSample(t, mustNew(t, Params{}, len(logits)), logits); got != 1 {
		t.Fatalf("zero Params: got %d, want 1", got)
	}
	// top-k 1 keeps the lowest id of a tie as well, so it is greedy at any temperature.
	p := DefaultParams()
	p.TopK = 1
	p.Seed = 3
	s := mustNew(t, p, len(logits))
	for range 50 {
		if got := mustSample(t, s, logits); got != 1 {
			t.Fatalf("top-k 1: got %d, want 1", got)
		}
	}
}

// TestTopK1AndTemp0EqualGreedy is the "top-k=1 and temperature 0 equal greedy" on random logits.
func TestTopK1AndTemp0EqualGreedy(t *testing.T) {
	rows := randomRows(1, 100, 1000, 3)
	greedy := DefaultParams()
	greedy.Temperature = 0
	topk1 := DefaultParams()
	topk1.TopK = 1
	topk1.Seed = 99
	gs, ks := mustNew(t, greedy, 1000), mustNew(t, topk1, 1000)
	for i, row := range rows {
		want := argmaxLowest(row)
		if got := mustSample(t, gs, row); got != want {
			t.Fatalf("row %d: temp 0 got %d, want %d", i, got, want)
		}
		if got := mustSample(t, ks, row); got != want {
			t.Fatalf("row %d: top-k 1 got %d, want %d", i, got, want)
		}
	}
}

func TestSameSeedSameOutput(t *testing.T) {
	rows := randomRows(2, 200, 500, 2)
	p := DefaultParams()
	p.Seed = 1234
	p.RepeatPenalty = 1.1
	a := generate(t, mustNew(t, p, 500), rows)
	b := generate(t, mustNew(t, p, 500), rows)
	if !slices.Equal(a, b) {
		t.Fatal("same seed gave different sequences")
	}
	p.Seed = 1235
	if c := generate(t, mustNew(t, p, 500), rows); slices.Equal(a, c) {
		t.Fatal("a different seed gave the same sequence")
	}
	// Reset makes a used sampler start over.
	p.Seed = 1234
	s := mustNew(t, p, 500)
	generate(t, s, rows[:37])
	s.Reset()
	if d := generate(t, s, rows); !slices.Equal(a, d) {
		t.Fatal("Reset did not restore the sampler")
	}
	// RandomSeed draws one and reports it; reusing that seed reproduces the run.
	p.Seed = RandomSeed
	r := mustNew(t, p, 500)
	e := generate(t, r, rows)
	p.Seed = r.Seed()
	if f := generate(t, mustNew(t, p, 500), rows); !slices.Equal(e, f) {
		t.Fatal("the reported random seed does not reproduce the run")
	}
}

// chiSquare compares observed counts with expected probabilities; categories with zero probability must not be
// observed at all.
func chiSquare(t *testing.T, counts []int, probs []float64, n int) float64 {
	t.Helper()
	var x2 float64
	for i, p := range probs {
		if p == 0 {
			if counts[i] != 0 {
				t.Fatalf("token %d has probability 0 but was drawn %d times", i, counts[i])
			}
			continue
		}
		e := p * float64(n)
		d := float64(counts[i]) - e
		x2 += d * d / e
	}
	return x2
}

func softmax64(logits []float32, temp float64) []float64 {
	out := make([]float64, len(logits))
	m := math.Inf(-1)
	for _, l := range logits {
		m = math.Max(m, float64(l)/temp)
	}
	var sum float64
	for i, l := range logits {
		out[i] = math.Exp(float64(l)/temp - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// TestDistFrequencies draws many tokens with a fixed seed and checks the frequencies against the softmax with a
// chi-square statistic. The seed is fixed, so the test is deterministic; the bound is the 0.1% critical value.
func TestDistFrequencies(t *testing.T) {
	logits := []float32{1.0, 0.5, 2.0, -1.0, 0.0, 1.5}
	const n = 60000
	cases := []struct {
		name  string
		p     Params
		probs []float64
		bound float64 // chi-square 0.999 quantile for (non-zero categories - 1) degrees of freedom
	}{
		{"temp 1", Params{Temperature: 1, Seed: 5}, softmax64(logits, 1), 20.52},
		{"temp 0.5", Params{Temperature: 0.5, Seed: 6}, softmax64(logits, 0.5), 20.52},
		{"top-k 3", Params{Temperature: 1, TopK: 3, Seed: 7}, func() []float64 {
			q := softmax64([]float32{1.0, -inf32(), 2.0, -inf32(), -inf32(), 1.5}, 1)
			return q
		}(), 13.82},
	}
	for _, tc := range cases {
		s := mustNew(t, tc.p, len(logits))
		counts := make([]int, len(logits))
		for range n {
			counts[mustSample(t, s, logits)]++
		}
		if x2 := chiSquare(t, counts, tc.probs, n); x2 > tc.bound {
			t.Errorf("%s: chi-square %.2f > %.2f (counts %v, probs %v)", tc.name, x2, tc.bound, counts, tc.probs)
		}
		// The chain leaves the normalised probabilities behind.
		var sum float64
		for _, it := range s.Candidates().Items {
			sum += float64(it.P)
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("%s: remaining probabilities sum to %v", tc.name, sum)
		}
	}
}

func inf32() float32 { return float32(math.Inf(1)) }

func TestPenaltiesChangeOutcome(t *testing.T) {
	greedyWith := func(p Params, history []int32, logits []float32) int32 {
		t.Helper()
		s := mustNew(t, p, len(logits))
		for _, tok := range history {
			if err := s.Accept(tok); err != nil {
				t.Fatal(err)
			}
		}
		return mustSample(t, s, logits)
	}
	pos := []float32{2.0, 1.9, 0.5}
	neg := []float32{-1.0, -1.1, -3}

	// Unset (the defaults): history changes nothing.
	if got := greedyWith(Params{}, []int32{0, 0, 0}, pos); got != 0 {
		t.Fatalf("no penalties: got %d", got)
	}
	// Repeat penalty divides a positive logit (2.0/1.5 < 1.9) ...
	if got := greedyWith(Params{RepeatPenalty: 1.5}, []int32{0}, pos); got != 1 {
		t.Fatalf("repeat, positive logit: got %d, want 1", got)
	}
	// ... and multiplies a negative one (-1.0·1.5 < -1.1), so it always lowers.
	if got := greedyWith(Params{RepeatPenalty: 1.5}, []int32{0}, neg); got != 1 {
		t.Fatalf("repeat, negative logit: got %d, want 1", got)
	}
	// Frequency counts occurrences: one costs 0.06 (2.0 stays ahead), two cost 0.12 (1.9 wins).
	if got := greedyWith(Params{FrequencyPenalty: 0.06}, []int32{0}, pos); got != 0 {
		t.Fatalf("frequency x1: got %d, want 0", got)
	}
	if got := greedyWith(Params{FrequencyPenalty: 0.06}, []int32{0, 0}, pos); got != 1 {
		t.Fatalf("frequency x2: got %d, want 1", got)
	}
	// Presence is paid once however often the token was seen.
	if got := greedyWith(Params{PresencePenalty: 0.06}, []int32{0, 0, 0, 0}, pos); got != 0 {
		t.Fatalf("presence: got %d, want 0", got)
	}
	if got := greedyWith(Params{PresencePenalty: 0.2}, []int32{0}, pos); got != 1 {
		t.Fatalf("presence 0.2: got %d, want 1", got)
	}
	// The window: token 0 left the last 2 tokens, so it is not penalised.
	if got := greedyWith(Params{RepeatPenalty: 1.5, RepeatLastN: 2}, []int32{0, 2, 2}, pos); got != 0 {
		t.Fatalf("window: got %d, want 0", got)
	}
	if got := greedyWith(Params{RepeatPenalty: 1.5, RepeatLastN: 3}, []int32{0, 2, 2}, pos); got != 1 {
		t.Fatalf("window 3: got %d, want 1", got)
	}
	// Left out of the order, the penalties do not run (as in llama.cpp).
	if got := greedyWith(Params{RepeatPenalty: 1.5, Samplers: []string{"top_k"}}, []int32{0}, pos); got != 0 {
		t.Fatalf("penalties not in order: got %d, want 0", got)
	}
	// Reset forgets the history.
	s := mustNew(t, Params{RepeatPenalty: 1.5}, 3)
	_ = s.Accept(0)
	s.Reset()
	if got := mustSample(t, s, pos); got != 0 {
		t.Fatalf("after Reset: got %d, want 0", got)
	}
}

func TestPenaltiesAfterReorder(t *testing.T) {
	// With top-k ahead of the penalties the candidates are no longer in id order; the penalty must still find
	// its token. Draws at temperature 1 from two candidates: token 0 (logit 5) must become rare.
	logits := []float32{5, 4.9, -10, -10}
	p := Params{Temperature: 1, TopK: 2, RepeatPenalty: 100, Seed: 1, Samplers: []string{"top_k", "penalties", "temperature"}}
	s := mustNew(t, p, 4)
	_ = s.Accept(0)
	for range 200 {
		if got := mustSample(t, s, logits); got != 1 {
			t.Fatalf("got %d, want 1", got)
		}
	}
}

func TestLogitBias(t *testing.T) {
	logits := []float32{3, 2, 1}
	if got := mustSample(t, mustNew(t, Params{LogitBias: []Bias{{Token: 2, Bias: 2.5}}}, 3), logits); got != 2 {
		t.Fatalf("bias +2.5: got %d, want 2", got)
	}
	ban := Params{Temperature: 1, Seed: 4, LogitBias: []Bias{{Token: 0, Bias: float32(math.Inf(-1))}}}
	s := mustNew(t, ban, 3)
	for range 500 {
		if got := mustSample(t, s, logits); got == 0 {
			t.Fatal("a banned token was drawn")
		}
	}
	// Banning everything is an error, not a panic or a made-up token.
	all := Params{LogitBias: []Bias{{0, float32(math.Inf(-1))}, {1, float32(math.Inf(-1))}, {2, float32(math.Inf(-1))}}}
	for _, temp := range []float32{0, 1} {
		all.Temperature = temp
		if _, err := mustNew(t, all, 3).Sample(logits); !errors.Is(err, ErrBadLogits) {
			t.Fatalf("temp %v, all banned: err = %v", temp, err)
		}
	}
}

// TestMirostatV2Update checks each step against an independent computation: keep the tokens whose surprise
// -log2 p is within mu, renormalise, and move mu by eta·(surprise of the drawn token − tau).
func TestMirostatV2Update(t *testing.T) {
	logits := []float32{3, 2.5, 2, 1, 0.5, 0, -1, -2}
	const tau, eta = 1.5, 0.25
	s := mustNew(t, Params{Temperature: 1, Mirostat: 2, MirostatTau: tau, MirostatEta: eta, Seed: 11}, len(logits))
	mu, ok := s.Mu()
	if !ok || mu != 2*tau {
		t.Fatalf("initial mu = %v, %v; want %v", mu, ok, 2*tau)
	}
	probs := softmax64(logits, 1)
	want := float64(mu)
	for step := range 40 {
		id := mustSample(t, s, logits)
		var kept float64
		best := 0
		for i, p := range probs {
			if -math.Log2(p) <= want {
				kept += p
			}
			if p > probs[best] {
				best = i
			}
		}
		if kept == 0 {
			kept = probs[best]
			if int(id) != best {
				t.Fatalf("step %d: nothing within mu, drew %d, want the best %d", step, id, best)
			}
		} else if -math.Log2(probs[id]) > want {
			t.Fatalf("step %d: drew %d with surprise %.3f above mu %.3f", step, id, -math.Log2(probs[id]), want)
		}
		want -= eta * (-math.Log2(probs[id]/kept) - tau)
		got, _ := s.Mu()
		if math.Abs(float64(got)-want) > 1e-4 {
			t.Fatalf("step %d: mu = %v, want %v", step, got, want)
		}
	}
	s.Reset()
	if mu, _ := s.Mu(); mu != 2*tau {
		t.Fatalf("after Reset mu = %v", mu)
	}
}

// TestMirostatV2TracksTau: over a long run on a Zipf-like distribution the drawn tokens' surprise averages out
// at the target tau, which is what the feedback on mu is for.
func TestMirostatV2TracksTau(t *testing.T) {
	const vocab = 2000
	logits := make([]float32, vocab)
	for i := range logits {
		logits[i] = -1.1 * float32(math.Log(float64(i+1)))
	}
	for _, tau := range []float32{2, 4} {
		s := mustNew(t, Params{Temperature: 1, Mirostat: 2, MirostatTau: tau, MirostatEta: 0.1, Seed: 21}, vocab)
		var sum float64
		const warm, n = 500, 4000
		for i := range warm + n {
			mustSample(t, s, logits)
			c := s.Candidates()
			if i >= warm {
				sum += -math.Log2(float64(c.Items[c.Selected].P))
			}
		}
		if mean := sum / n; math.Abs(mean-float64(tau)) > 0.2 {
			t.Errorf("tau %v: mean surprise %.3f", tau, mean)
		}
	}
}

func TestMirostatV1Runs(t *testing.T) {
	const vocab = 3000
	logits := make([]float32, vocab)
	for i := range logits {
		logits[i] = -1.2 * float32(math.Log(float64(i+1)))
	}
	s := mustNew(t, Params{Temperature: 1, Mirostat: 1, MirostatTau: 3, Seed: 2}, vocab)
	var sum float64
	const warm, n = 300, 3000
	for i := range warm + n {
		mustSample(t, s, logits)
		c := s.Candidates()
		if i >= warm {
			sum += -math.Log2(float64(c.Items[c.Selected].P))
		}
	}
	if mean := sum / n; math.Abs(mean-3) > 0.5 {
		t.Errorf("mirostat v1: mean surprise %.3f, want about 3", mean)
	}
}

// TestEveryOptionChangesResults guards against the classic sampler bug, an option that is accepted and then
// silently ignored: for each knob, a run with it set differs from the same run without it.
func TestEveryOptionChangesResults(t *testing.T) {
	const vocab = 64
	rows := randomRows(3, 120, vocab, 1.5)
	base := Params{Temperature: 1, Seed: 42}
	with := func(f func(*Params)) Params { p := base; f(&p); return p }
	cases := []struct {
		name    string
		off, on Params
	}{
		{"Temperature", base, with(func(p *Params) { p.Temperature = 0.3 })},
		{"Temperature 0", base, with(func(p *Params) { p.Temperature = 0 })},
		{"TopK", base, with(func(p *Params) { p.TopK = 3 })},
		{"TopP", base, with(func(p *Params) { p.TopP = 0.5 })},
		{"MinP", base, with(func(p *Params) { p.MinP = 0.3 })},
		{"TypicalP", base, with(func(p *Params) { p.TypicalP = 0.3 })},
		{"MinKeep", with(func(p *Params) { p.TopP = 0.01 }), with(func(p *Params) { p.TopP = 0.01; p.MinKeep = 5 })},
		{"RepeatPenalty", base, with(func(p *Params) { p.RepeatPenalty = 2 })},
		{"FrequencyPenalty", base, with(func(p *Params) { p.FrequencyPenalty = 1 })},
		{"PresencePenalty", base, with(func(p *Params) { p.PresencePenalty = 1 })},
		{"RepeatLastN", with(func(p *Params) { p.RepeatPenalty = 3; p.RepeatLastN = 1 }),
			with(func(p *Params) { p.RepeatPenalty = 3; p.RepeatLastN = 32 })},
		{"LogitBias", base, with(func(p *Params) { p.LogitBias = []Bias{{Token: 5, Bias: 4}} })},
		{"Mirostat 2", base, with(func(p *Params) { p.Mirostat = 2 })},
		{"Mirostat 1", base, with(func(p *Params) { p.Mirostat = 1 })},
		{"MirostatTau", with(func(p *Params) { p.Mirostat = 2 }), with(func(p *Params) { p.Mirostat = 2; p.MirostatTau = 1 })},
		{"MirostatEta", with(func(p *Params) { p.Mirostat = 2; p.MirostatTau = 2 }),
			with(func(p *Params) { p.Mirostat = 2; p.MirostatTau = 2; p.MirostatEta = 1 })},
		{"Seed", base, with(func(p *Params) { p.Seed = 43 })},
		{"Samplers", with(func(p *Params) { p.Temperature = 3; p.MinP = 0.5; p.Samplers = []string{"min_p", "temperature"} }),
			with(func(p *Params) { p.Temperature = 3; p.MinP = 0.5; p.Samplers = []string{"temperature", "min_p"} })},
	}
	for _, tc := range cases {
		a := generate(t, mustNew(t, tc.off, vocab), rows)
		b := generate(t, mustNew(t, tc.on, vocab), rows)
		if slices.Equal(a, b) {
			t.Errorf("%s: setting it did not change the output", tc.name)
		}
	}
}

func TestDefaultOrderIsLlamaCpps(t *testing.T) {
	p := DefaultParams()
	p.Seed = 1
	s := mustNew(t, p, 10)
	const want = "logits -> penalties -> top_k -> typ_p -> top_p -> min_p -> temperature -> dist"
	if got := s.String(); got != want {
		t.Fatalf("chain %q, want %q", got, want)
	}
	p.Mirostat = 2
	p.LogitBias = []Bias{{1, 1}}
	if got := mustNew(t, p, 10).String(); got != "logits -> logit_bias -> temperature -> mirostat_v2" {
		t.Fatalf("mirostat chain %q", got)
	}
	p.Temperature = 0
	if got := mustNew(t, p, 10).String(); got != "logits -> logit_bias -> penalties -> greedy" {
		t.Fatalf("greedy chain %q", got)
	}
}

func TestSamplerNames(t *testing.T) {
	names, err := ParseSamplers("penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature")
	if err != nil {
		t.Fatal(err)
	}
	// llama.cpp's own default order (with its no-op stages) gives the default chain.
	p := Params{Temperature: 0.8, TopK: 40, Seed: 1, Samplers: names}
	q := p
	q.Samplers = nil
	rows := randomRows(4, 50, 100, 2)
	if !slices.Equal(generate(t, mustNew(t, p, 100), rows), generate(t, mustNew(t, q, 100), rows)) {
		t.Fatal("llama.cpp's full default order differs from DefaultSamplers")
	}
	alt, err := ParseSamplers("top-k;nucleus;typical;min-p;temp")
	if err != nil {
		t.Fatal(err)
	}
	if got := mustNew(t, Params{Temperature: 1, Samplers: alt}, 5).String(); got != "logits -> top_k -> top_p -> typ_p -> min_p -> temperature -> dist" {
		t.Fatalf("alt names chain %q", got)
	}
	seq, err := ParseSamplerSeq("ekypmt")
	if err != nil || !slices.Equal(seq, DefaultSamplers) {
		t.Fatalf("ParseSamplerSeq = %v, %v", seq, err)
	}
	for _, bad := range []string{"top_k;bogus", "top_k;;top_p", "infill"} {
		if _, err := ParseSamplers(bad); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("ParseSamplers(%q) err = %v", bad, err)
		}
	}
	if _, err := ParseSamplerSeq("kq"); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("ParseSamplerSeq(kq) err = %v", err)
	}
	if _, err := New(Params{Samplers: []string{"top_k", "nope"}}, 5); err == nil || !strings.Contains(err.Error(), "Samplers[1]") {
		t.Errorf("unknown sampler in Params: err = %v", err)
	}
}

func TestValidation(t *testing.T) {
	nan := float32(math.NaN())
	cases := []struct {
		field string
		p     Params
	}{
		{"Temperature", Params{Temperature: nan}},
		{"TopK", Params{TopK: -1}},
		{"TopP", Params{TopP: -0.1}},
		{"TopP", Params{TopP: 1.5}},
		{"TopP", Params{TopP: nan}},
		{"MinP", Params{MinP: 1.2}},
		{"MinP", Params{MinP: -0.5}},
		{"TypicalP", Params{TypicalP: 2}},
		{"MinKeep", Params{MinKeep: -1}},
		{"RepeatPenalty", Params{RepeatPenalty: -1}},
		{"RepeatPenalty", Params{RepeatPenalty: inf32()}},
		{"FrequencyPenalty", Params{FrequencyPenalty: nan}},
		{"PresencePenalty", Params{PresencePenalty: inf32()}},
		{"RepeatLastN", Params{RepeatLastN: -1}},
		{"Mirostat", Params{Mirostat: 3}},
		{"MirostatTau", Params{MirostatTau: -1}},
		{"MirostatEta", Params{MirostatEta: nan}},
		{"LogitBias[0].Token", Params{LogitBias: []Bias{{Token: 10, Bias: 1}}}},
		{"LogitBias[1].Token", Params{LogitBias: []Bias{{0, 1}, {Token: -1, Bias: 1}}}},
		{"LogitBias[0].Bias", Params{LogitBias: []Bias{{Token: 1, Bias: nan}}}},
		{"Samplers[0]", Params{Samplers: []string{"bogus"}}},
	}
	for _, tc := range cases {
		_, err := New(tc.p, 10)
		if !errors.Is(err, ErrInvalidParams) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: err = %v", tc.field, err)
		}
	}
	if _, err := New(Params{}, 0); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("vocab 0: err = %v", err)
	}
	if _, err := New(DefaultParams(), 10); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	s := mustNew(t, DefaultParams(), 4)
	for _, logits := range [][]float32{
		{1, 2, 3},
		{1, 2, 3, 4, 5},
		{1, float32(math.NaN()), 3, 4},
		{1, inf32(), 3, 4},
	} {
		if _, err := s.Sample(logits); !errors.Is(err, ErrBadLogits) {
			t.Errorf("Sample(%v) err = %v", logits, err)
		}
	}
	for _, tok := range []int32{-1, 4} {
		if err := s.Accept(tok); !errors.Is(err, ErrBadLogits) {
			t.Errorf("Accept(%d) err = %v", tok, err)
		}
	}
}

func TestNoAllocsPerSample(t *testing.T) {
	const vocab = 5000
	row := randomRows(5, 1, vocab, 3)[0]
	configs := map[string]Params{
		"default":   DefaultParams(),
		"greedy":    {RepeatPenalty: 1.2},
		"all":       {Temperature: 0.9, TopK: 100, TypicalP: 0.9, TopP: 0.9, MinP: 0.01, RepeatPenalty: 1.1, FrequencyPenalty: 0.1, PresencePenalty: 0.1, LogitBias: []Bias{{3, 1}}},
		"no top-k":  {Temperature: 0.9, TopP: 0.9, TypicalP: 0.95},
		"mirostat2": {Temperature: 1, Mirostat: 2},
		"mirostat1": {Temperature: 1, Mirostat: 1},
	}
	for name, p := range configs {
		s := mustNew(t, p, vocab)
		tok := int32(0)
		allocs := testing.AllocsPerRun(50, func() {
			tok, _ = s.Sample(row)
			_ = s.Accept(tok)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per Sample", name, allocs)
		}
	}
}
