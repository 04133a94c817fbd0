package sampling

import (
	"math"
	"math/rand/v2"
)

// RandomSeed asks for a seed drawn at random (llama.cpp's LLAMA_DEFAULT_SEED, 0xFFFFFFFF, means the same). Any
// other value is used as is, so the same seed gives the same draws.
const RandomSeed uint32 = 0xFFFFFFFF

// seededRNG is the generator of a drawing stage. Reset reseeds it (drawing a fresh seed again for RandomSeed,
// as llama.cpp's reset does).
type seededRNG struct {
	seed uint32 // as asked
	cur  uint32 // in use
	pcg  *rand.PCG
	rng  *rand.Rand
}

func newSeededRNG(seed uint32) seededRNG {
	r := seededRNG{seed: seed, pcg: rand.NewPCG(0, 0)}
	r.rng = rand.New(r.pcg)
	r.reseed()
	return r
}

func (r *seededRNG) reseed() {
	r.cur = r.seed
	if r.seed == RandomSeed {
		r.cur = rand.Uint32()
	}
	// The second PCG word is a fixed odd constant so that nearby seeds still give unrelated streams.
	r.pcg.Seed(uint64(r.cur), 0x9e3779b97f4a7c15)
}

// Greedy selects the most likely candidate; among equal logits, the lowest token id.
type Greedy struct{}

func (Greedy) Name() string { return "greedy" }

func (Greedy) Apply(c *Candidates) {
	c.Selected = -1
	if len(c.Items) == 0 {
		return
	}
	best, bestL, bestID := 0, c.Items[0].Logit, c.Items[0].ID
	for i, it := range c.Items {
		if it.Logit > bestL || (it.Logit == bestL && it.ID < bestID) {
			best, bestL, bestID = i, it.Logit, it.ID
		}
	}
	if !math.IsInf(float64(bestL), -1) {
		c.Selected = best
	}
}

// Dist draws a candidate from the softmax of the logits with a seeded generator, like llama.cpp's dist sampler
// (which also leaves every candidate's normalised probability in P).
type Dist struct {
	rng seededRNG
}

// NewDist makes a dist stage seeded with seed (RandomSeed for a random one).
func NewDist(seed uint32) *Dist { return &Dist{rng: newSeededRNG(seed)} }

func (*Dist) Name() string { return "dist" }

// Seed is the seed in use.
func (s *Dist) Seed() uint32 { return s.rng.cur }

// Reset reseeds the generator.
func (s *Dist) Reset() { s.rng.reseed() }

func (s *Dist) Apply(c *Candidates) {
	c.Selected = -1
	if len(c.Items) == 0 {
		return
	}
	maxL := c.maxLogit()
	if math.IsInf(float64(maxL), -1) {
		return
	}
	var sum float64
	for i := range c.Items {
		p := expf(c.Items[i].Logit - maxL)
		c.Items[i].P = p
		sum += float64(p)
	}
	c.Selected = c.draw(s.rng.rng)
	for i := range c.Items {
		c.Items[i].P = float32(float64(c.Items[i].P) / sum)
	}
}

// MirostatV2 is Mirostat 2.0 (Basu et al.): it drops the candidates whose surprise (-log2 p) exceeds mu, draws
// from the rest, and moves mu by eta times the gap between the drawn token's surprise and the target tau. mu
// starts at 2·tau.
type MirostatV2 struct {
	tau, eta float32
	mu       float32
	rng      seededRNG
}

// NewMirostatV2 makes a Mirostat 2.0 stage.
func NewMirostatV2(seed uint32, tau, eta float32) *MirostatV2 {
	return &MirostatV2{tau: tau, eta: eta, mu: 2 * tau, rng: newSeededRNG(seed)}
}

func (*MirostatV2) Name() string { return "mirostat_v2" }

// Mu is the current truncation threshold in bits.
func (s *MirostatV2) Mu() float32 { return s.mu }

// Seed is the seed in use.
func (s *MirostatV2) Seed() uint32 { return s.rng.cur }

// Reset puts mu back to 2·tau and reseeds the generator.
func (s *MirostatV2) Reset() {
	s.mu = 2 * s.tau
	s.rng.reseed()
}

func (s *MirostatV2) Apply(c *Candidates) {
	c.Selected = -1
	if len(c.Items) == 0 || math.IsInf(float64(c.maxLogit()), -1) {
		return
	}
	c.softmax(false)
	// llama.cpp sorts everything and cuts at the first candidate whose surprise exceeds mu; since surprise only
	// grows down a sorted list, keeping every candidate within mu and then sorting just those is the same set,
	// without sorting the whole vocab.
	j := 0
	bestIdx := 0
	for i, it := range c.Items {
		if better(it, c.Items[bestIdx]) {
			bestIdx = i
		}
		if -log2f(it.P) <= s.mu {
			c.Items[j] = it
			j++
		}
	}
	if j == 0 {
		c.Items[0] = c.Items[bestIdx]
		j = 1
	}
	c.Items = c.Items[:j]
	c.Sorted = false
	c.softmax(true)
	idx := c.draw(s.rng.rng)
	if idx < 0 {
		return
	}
	c.Selected = idx
	surprise := -log2f(c.Items[idx].P)
	s.mu -= s.eta * (surprise - s.tau)
}

// Mirostat is Mirostat 1.0: it estimates the Zipf exponent s from the top M probabilities, derives the top-k
// that would give surprise mu, draws from those k, and updates mu like Mirostat 2.0.
type Mirostat struct {
	vocab    int
	tau, eta float32
	m        int
	mu       float32
	rng      seededRNG
}

// NewMirostat makes a Mirostat 1.0 stage for a vocab of vocabSize tokens estimating from the top m (llama.cpp
// uses 100).
func NewMirostat(vocabSize int, seed uint32, tau, eta float32, m int) *Mirostat {
	return &Mirostat{vocab: vocabSize, tau: tau, eta: eta, m: m, mu: 2 * tau, rng: newSeededRNG(seed)}
}

func (*Mirostat) Name() string { return "mirostat" }

// Mu is the current target surprise in bits.
func (s *Mirostat) Mu() float32 { return s.mu }

// Seed is the seed in use.
func (s *Mirostat) Seed() uint32 { return s.rng.cur }

// Reset puts mu back to 2·tau and reseeds the generator.
func (s *Mirostat) Reset() {
	s.mu = 2 * s.tau
	s.rng.reseed()
}

func (s *Mirostat) Apply(c *Candidates) {
	c.Selected = -1
	n := len(c.Items)
	if n == 0 || math.IsInf(float64(c.maxLogit()), -1) {
		return
	}
	c.softmax(false)
	top := min(s.m, n)
	wasSorted := c.Sorted
	if !wasSorted {
		selectTop(c.Items, top)
	}
	var sumTB, sumTT float32
	for i := 0; i < s.m-1 && i < n-1; i++ {
		t := logf(float32(i+2) / float32(i+1))
		b := logf(c.Items[i].P / c.Items[i+1].P)
		sumTB += t * b
		sumTT += t * t
	}
	sHat := sumTB / sumTT
	eps := sHat - 1
	kf := powf(eps*powf(2, s.mu)/(1-powf(float32(s.vocab), -eps)), 1/sHat)
	k := n
	if kf < float32(n) { // also false for NaN: keep everything rather than guess
		k = max(int(kf), 1)
	}
	if k > top && !wasSorted {
		selectTop(c.Items, k)
	}
	c.Items = c.Items[:k]
	c.Sorted = true
	c.softmax(false)
	idx := c.draw(s.rng.rng)
	if idx < 0 {
		return
	}
	c.Selected = idx
	surprise := -log2f(c.Items[idx].P)
	s.mu -= s.eta * (surprise - s.tau)
}
