package sampling

import (
	"math"
	"testing"
)

// The cases in this file are llama.cpp's tests/test-sampling.cpp (ggml-org/llama.cpp), which publishes the
// probability vector each stage must leave on a small input. As there, the candidates are built with
// logit = logf(p) and P = p, the stage runs, then (except for typical-p) a dist stage normalises P, and the
// surviving candidates are compared in order within 1e-5.

func fromProbs(probs []float32) *Candidates {
	items := make([]Candidate, len(probs))
	for i, p := range probs {
		items[i] = Candidate{ID: int32(i), Logit: logf(p), P: p}
	}
	return &Candidates{Items: items, Selected: -1}
}

func checkProbs(t *testing.T, name string, c *Candidates, want []float32) {
	t.Helper()
	if len(c.Items) != len(want) {
		t.Fatalf("%s: %d candidates left %v, want %d (%v)", name, len(c.Items), c.Items, len(want), want)
	}
	for i, w := range want {
		if d := math.Abs(float64(c.Items[i].P - w)); d >= 1e-5 {
			t.Fatalf("%s: candidate %d (id %d) p = %v, want %v", name, i, c.Items[i].ID, c.Items[i].P, w)
		}
	}
}

// runStage mirrors test-sampling.cpp's sampler_tester: apply the stage, then dist(0) unless noDist.
func runStage(probs []float32, st Stage, noDist bool) *Candidates {
	c := fromProbs(probs)
	st.Apply(c)
	if !noDist {
		NewDist(0).Apply(c)
	}
	return c
}

var base4 = []float32{0.1, 0.2, 0.3, 0.4}

func TestTemperatureLlamaCpp(t *testing.T) {
	// test_temp
	checkProbs(t, "temp 1", runStage(base4, Temperature{T: 1}, false), []float32{0.1, 0.2, 0.3, 0.4})
	checkProbs(t, "temp 0", runStage(base4, Temperature{T: 0}, false), []float32{0, 0, 0, 1})
}

func TestTopKLlamaCpp(t *testing.T) {
	// test_top_k
	cases := []struct {
		k    int
		want []float32
	}{
		{1, []float32{1}},
		{3, []float32{0.44444, 0.33333, 0.22222}},
		{4, []float32{0.4, 0.3, 0.2, 0.1}},
		{0, []float32{0.1, 0.2, 0.3, 0.4}},
	}
	for _, tc := range cases {
		checkProbs(t, "top_k", runStage(base4, TopK{K: tc.k}, false), tc.want)
	}
}

func TestTopPLlamaCpp(t *testing.T) {
	// test_top_p
	cases := []struct {
		p    float32
		want []float32
	}{
		{0, []float32{1}},
		{0.7, []float32{0.571429, 0.428571}},
		{0.8, []float32{0.44444, 0.33333, 0.22222}},
		{1, []float32{0.1, 0.2, 0.3, 0.4}},
	}
	for _, tc := range cases {
		checkProbs(t, "top_p", runStage(base4, TopP{P: tc.p}, false), tc.want)
	}
}

func TestMinPLlamaCpp(t *testing.T) {
	// test_min_p
	cases := []struct {
		p    float32
		want []float32
	}{
		{0.00, []float32{0.1, 0.2, 0.3, 0.4}},
		{0.24, []float32{0.1, 0.2, 0.3, 0.4}},
		{0.26, []float32{0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9}},
		{0.49, []float32{0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9}},
		{0.51, []float32{0.3 / 0.7, 0.4 / 0.7}},
		{0.74, []float32{0.3 / 0.7, 0.4 / 0.7}},
		{0.76, []float32{1}},
		{1.00, []float32{1}},
		{1.05, []float32{1}},
	}
	for _, tc := range cases {
		checkProbs(t, "min_p", runStage(base4, MinP{P: tc.p}, false), tc.want)
	}
}

func TestTypicalLlamaCpp(t *testing.T) {
	// test_typical: no dist afterwards, so the kept candidates carry the full distribution's probabilities.
	checkProbs(t, "typical a", runStage([]float32{0.97, 0.01, 0.01, 0.01}, &TypicalP{P: 0.5}, true), []float32{0.97})
	checkProbs(t, "typical b", runStage([]float32{0.4, 0.2, 0.2, 0.2}, &TypicalP{P: 0.5}, true), []float32{0.2, 0.2, 0.2})
}

func TestPenaltiesLlamaCpp(t *testing.T) {
	// test_penalties: the window is as long as the history, the vocab as long as probs.
	flat := []float32{0.2, 0.2, 0.2, 0.2, 0.2}
	cases := []struct {
		last                   []int32
		want                   []float32
		repeat, freq, presence float32
	}{
		{[]int32{0}, []float32{0, 0.25, 0.25, 0.25, 0.25}, 50, 0, 0},
		{[]int32{0, 1, 2}, []float32{0, 0, 0, 0.5, 0.5}, 50, 0, 0},
		{[]int32{0, 1, 2, 0, 0}, []float32{0, 0, 0, 0.5, 0.5}, 50, 0, 0},
		{[]int32{0}, []float32{0.000011, 0.249997, 0.249997, 0.249997, 0.249997}, 1, 5, 5},
		{[]int32{0, 1, 2}, []float32{0.000023, 0.000023, 0.000023, 0.499966, 0.499966}, 1, 5, 5},
		{[]int32{0, 1, 2, 0, 0}, []float32{0.000000, 0.000023, 0.000023, 0.499977, 0.499977}, 1, 5, 5},
	}
	for _, tc := range cases {
		pen := NewPenalties(len(flat), len(tc.last), tc.repeat, tc.freq, tc.presence)
		for _, tok := range tc.last {
			pen.Accept(tok)
		}
		checkProbs(t, "penalties", runStage(flat, pen, false), tc.want)
	}
}

// TestSamplerQueueLlamaCpp is test_sampler_queue: over a 10000-token vocab with logit(id) = ln(id), chains of
// top-k, top-p and min-p (min_keep 1) must leave exactly the sizes and end ids that the closed forms give.
func TestSamplerQueueLlamaCpp(t *testing.T) {
	cases := []struct {
		seq        string
		topK       int
		topP, minP float32
	}{
		{"k", 10000, 1, 1}, {"k", 1, 1, 1}, {"p", 10000, 1, 1}, {"p", 10000, 0, 1},
		{"m", 10000, 1, 1}, {"m", 10000, 1, 1e-12},
		{"k", 100, 1, 1}, {"p", 10000, 0.0003, 1}, {"p", 10000, 0.8, 1},
		{"m", 10000, 1, 9997.9 / 9999.0}, {"m", 10000, 1, 0.1},
		{"kp", 100, 0.8, 0.1}, {"km", 100, 0.8, 0.1}, {"pk", 100, 0.8, 0.1}, {"pm", 100, 0.8, 0.1},
		{"mk", 100, 0.8, 0.1}, {"mp", 100, 0.8, 9997.9 / 9999.0}, {"mp", 100, 0.8, 0.1},
		{"kpm", 100, 0.8, 0.1}, {"kmp", 100, 0.8, 0.1}, {"pkm", 100, 0.8, 0.1}, {"pmk", 100, 0.8, 0.1},
		{"mkp", 100, 0.8, 0.1}, {"mpk", 100, 0.8, 0.1},
	}
	const nVocab = 10000
	for _, tc := range cases {
		items := make([]Candidate, nVocab)
		for i := range items {
			items[i] = Candidate{ID: int32(i), Logit: logf(float32(i))}
		}
		c := &Candidates{Items: items, Selected: -1}
		minID := int32(0)
		const maxID = int32(nVocab - 1)
		for _, s := range tc.seq {
			switch s {
			case 'k':
				TopK{K: tc.topK}.Apply(c)
			case 'p':
				TopP{P: tc.topP, MinKeep: 1}.Apply(c)
			case 'm':
				MinP{P: tc.minP, MinKeep: 1}.Apply(c)
			}
			NewDist(0).Apply(c)
			size := len(c.Items)
			fail := func(what string, got, want any) {
				t.Fatalf("%s k=%d p=%v m=%v after %c: %s = %v, want %v", tc.seq, tc.topK, tc.topP, tc.minP, s, what, got, want)
			}
			switch s {
			case 'k':
				want := min(size, tc.topK)
				minID = max(minID, int32(nVocab-tc.topK))
				if size != want {
					fail("size", size, want)
				}
				if c.Items[0].ID != maxID || c.Items[want-1].ID != minID {
					fail("ends", [2]int32{c.Items[0].ID, c.Items[want-1].ID}, [2]int32{maxID, minID})
				}
			case 'p':
				divisor := nVocab*(nVocab-1)/2 - int(minID)*(int(minID)-1)/2
				target := int(math.Ceil(float64(tc.topP * float32(divisor))))
				minID = nVocab
				want, cum := 0, 0
				for {
					minID--
					want++
					cum += int(minID)
					if cum >= target {
						break
					}
				}
				if minID == 1 {
					minID--
					want++
				}
				if size != want {
					fail("size", size, want)
				}
				if c.Sorted && (c.Items[0].ID != maxID || c.Items[want-1].ID != minID) {
					fail("ends", [2]int32{c.Items[0].ID, c.Items[want-1].ID}, [2]int32{maxID, minID})
				}
			case 'm':
				want := int(math.Ceil(float64((1 - tc.minP) * float32(nVocab))))
				want = min(max(want, 1), size)
				minID = int32(math.Floor(float64(tc.minP * float32(nVocab))))
				minID = min(max(minID, 1, int32(nVocab-size)), nVocab-1)
				if size != want {
					fail("size", size, want)
				}
				if c.Sorted && (c.Items[0].ID != maxID || c.Items[want-1].ID != minID) {
					fail("ends", [2]int32{c.Items[0].ID, c.Items[want-1].ID}, [2]int32{maxID, minID})
				}
			}
		}
	}
}
