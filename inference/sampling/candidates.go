package sampling

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Candidate is one token still in the running: its id, its (possibly adjusted) logit and, once a stage has
// computed it, its probability.
type Candidate struct {
	ID    int32
	Logit float32
	P     float32
}

// Candidates is the working set the stages of a chain narrow down, like llama.cpp's llama_token_data_array.
// Stages shrink Items, reorder it, rewrite logits and probabilities; the final stage sets Selected.
type Candidates struct {
	Items []Candidate
	// Sorted says Items is in descending logit order (ties: ascending id).
	Sorted bool
	// Selected is the index into Items chosen by the final stage, -1 before that or when nothing can be chosen.
	Selected int
}

// better is the total order every sort and selection here uses: higher logit first, and on equal logits the
// lower token id first, so that ties always resolve the same way (and greedy picks the lowest id).
func better(a, b Candidate) bool {
	return a.Logit > b.Logit || (a.Logit == b.Logit && a.ID < b.ID)
}

func compareDesc(a, b Candidate) int {
	switch {
	case better(a, b):
		return -1
	case better(b, a):
		return 1
	}
	return 0
}

// selectTop moves the k best candidates to the front of items in sorted order; the rest stay behind them in
// an unspecified order. A min-heap of size k over one pass keeps it O(n log k), which is what makes top-k
// over a 150k vocab cheap.
func selectTop(items []Candidate, k int) {
	n := len(items)
	if k <= 0 {
		return
	}
	if k >= n || k > n/2 {
		slices.SortFunc(items, compareDesc)
		return
	}
	h := items[:k]
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	for i := k; i < n; i++ {
		if better(items[i], h[0]) {
			h[0], items[i] = items[i], h[0]
			siftDown(h, 0)
		}
	}
	slices.SortFunc(h, compareDesc)
}

// siftDown restores a heap whose root is the worst candidate.
func siftDown(h []Candidate, i int) {
	n := len(h)
	for {
		worst := i
		l, r := 2*i+1, 2*i+2
		if l < n && better(h[worst], h[l]) {
			worst = l
		}
		if r < n && better(h[worst], h[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}

// sortAll sorts every candidate (descending logit, ascending id on ties).
func (c *Candidates) sortAll() {
	if !c.Sorted {
		slices.SortFunc(c.Items, compareDesc)
		c.Sorted = true
	}
}

// maxLogit is the largest logit, -Inf for an empty or fully masked set.
func (c *Candidates) maxLogit() float32 {
	if c.Sorted && len(c.Items) > 0 {
		return c.Items[0].Logit
	}
	m := float32(math.Inf(-1))
	for _, it := range c.Items {
		if it.Logit > m {
			m = it.Logit
		}
	}
	return m
}

// softmax fills P from the logits, like llama.cpp's llama_sampler_softmax_impl: expf(l - max) accumulated and
// normalised in single precision, so that threshold comparisons (top-p's cumulative sum) land where they land
// there. With sort it first sorts the candidates.
func (c *Candidates) softmax(sort bool) {
	if len(c.Items) == 0 {
		return
	}
	if sort {
		c.sortAll()
	}
	maxL := c.maxLogit()
	var sum float32
	for i := range c.Items {
		p := expf(c.Items[i].Logit - maxL)
		c.Items[i].P = p
		sum += p
	}
	for i := range c.Items {
		c.Items[i].P /= sum
	}
}

// draw picks an index with probability proportional to Items[i].P (which need not sum to one), accumulating in
// double precision as llama.cpp's dist sampler does. A zero-probability candidate is never chosen, even when the
// uniform draw is exactly zero. It returns -1 when no candidate has a positive probability.
func (c *Candidates) draw(rng *rand.Rand) int {
	var sum float64
	for _, it := range c.Items {
		sum += float64(it.P)
	}
	if !(sum > 0) || math.IsInf(sum, 0) {
		return -1
	}
	target := sum * rng.Float64()
	var run float64
	last := -1
	for i, it := range c.Items {
		if it.P <= 0 {
			continue
		}
		last = i
		run += float64(it.P)
		if run >= target {
			return i
		}
	}
	return last // rounding left the running sum a hair short of the target
}

func expf(x float32) float32 { return float32(math.Exp(float64(x))) }
func logf(x float32) float32 { return float32(math.Log(float64(x))) }
func log2f(x float32) float32 {
	return float32(math.Log2(float64(x)))
}
func powf(x, y float32) float32 { return float32(math.Pow(float64(x), float64(y))) }
