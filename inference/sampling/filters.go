package sampling

import (
	"math"
	"slices"
)

// Stage is one step of a sampling chain. Apply narrows or reshapes the candidates; a final stage (Greedy, Dist,
// Mirostat, MirostatV2) also sets Candidates.Selected.
type Stage interface {
	Name() string
	Apply(c *Candidates)
}

// TopK keeps the K candidates with the highest logits, sorted. K <= 0 leaves the candidates alone (llama.cpp's
// top_k 0). Ties at the cut keep the lower token ids.
type TopK struct {
	K int
}

func (TopK) Name() string { return "top_k" }

func (s TopK) Apply(c *Candidates) {
	if s.K <= 0 {
		return
	}
	k := min(s.K, len(c.Items))
	if !c.Sorted {
		selectTop(c.Items, k)
		c.Sorted = true
	}
	c.Items = c.Items[:k]
}

// TopP (nucleus) keeps the smallest prefix of the candidates, by descending probability, whose probabilities
// sum to at least P, and never fewer than MinKeep. P >= 1 leaves the candidates alone.
type TopP struct {
	P       float32
	MinKeep int
}

func (TopP) Name() string { return "top_p" }

func (s TopP) Apply(c *Candidates) {
	if s.P >= 1 || len(c.Items) == 0 {
		return
	}
	c.softmax(false)
	n := len(c.Items)
	// As in llama.cpp, a large unsorted set is first only partly sorted: the nucleus usually lies within the
	// best 256. When it does not, the sorted prefix grows by doubling (each round a selection over the rest)
	// rather than sorting the whole vocab at once.
	sortedTo := n
	if !c.Sorted {
		sortedTo = 0
	}
	var cum float32
	last := n
	for i := 0; i < n; i++ {
		if i == sortedTo {
			grow := n - sortedTo
			if n > 1024 {
				grow = min(grow, max(sortedTo, 256))
			}
			selectTop(c.Items[sortedTo:], grow)
			sortedTo += grow
		}
		cum += c.Items[i].P
		if cum >= s.P && i+1 >= s.MinKeep {
			last = i + 1
			break
		}
	}
	c.Sorted = true
	c.Items = c.Items[:last]
}

// MinP keeps the candidates whose probability is at least P times that of the most likely one (compared in the
// logit domain: logit >= max + ln P), and never fewer than MinKeep. P <= 0 leaves the candidates alone. An
// unsorted set keeps its order, as llama.cpp's unsorted path does.
type MinP struct {
	P       float32
	MinKeep int
}

func (MinP) Name() string { return "min_p" }

func (s MinP) Apply(c *Candidates) {
	if s.P <= 0 || len(c.Items) == 0 {
		return
	}
	if !c.Sorted {
		minLogit := c.maxLogit() + logf(s.P)
		kept := 0
		for _, it := range c.Items {
			if it.Logit >= minLogit {
				kept++
			}
		}
		if kept > 0 && kept >= s.MinKeep {
			j := 0
			for _, it := range c.Items {
				if it.Logit >= minLogit {
					c.Items[j] = it
					j++
				}
			}
			c.Items = c.Items[:j]
			return
		}
		c.sortAll()
	}
	minLogit := c.Items[0].Logit + logf(s.P)
	i := 1 // the best candidate always stays
	for ; i < len(c.Items); i++ {
		if c.Items[i].Logit < minLogit && i >= s.MinKeep {
			break
		}
	}
	c.Items = c.Items[:i]
}

// TypicalP is locally typical sampling (Meister et al.): candidates are ranked by how far their surprise
// (-ln p) is from the distribution's entropy, and the closest are kept until their probabilities sum to more
// than P (and at least MinKeep are kept). P >= 1 leaves the candidates alone. The kept candidates carry the
// probabilities of the full distribution, in typicality order.
type TypicalP struct {
	P       float32
	MinKeep int

	scored []typicalScore // reused between calls
	tmp    []Candidate
}

type typicalScore struct {
	shift float32
	idx   int32
}

func compareTypical(a, b typicalScore) int {
	switch {
	case a.shift < b.shift:
		return -1
	case a.shift > b.shift:
		return 1
	}
	return int(a.idx) - int(b.idx)
}

func (*TypicalP) Name() string { return "typ_p" }

func (s *TypicalP) Apply(c *Candidates) {
	if s.P >= 1 || len(c.Items) == 0 {
		return
	}
	c.softmax(true)
	var entropy float32
	for _, it := range c.Items {
		if it.P > 0 {
			entropy += -it.P * logf(it.P)
		}
	}
	n := len(c.Items)
	if cap(s.scored) < n {
		s.scored = make([]typicalScore, n)
		s.tmp = make([]Candidate, n)
	}
	scored := s.scored[:n]
	for i, it := range c.Items {
		shift := float32(math.Inf(1))
		if it.P > 0 {
			shift = float32(math.Abs(float64(-logf(it.P) - entropy)))
		}
		scored[i] = typicalScore{shift: shift, idx: int32(i)}
	}
	slices.SortFunc(scored, compareTypical)
	var cum float32
	last := n
	for i, sc := range scored {
		cum += c.Items[sc.idx].P
		if cum > s.P && (s.MinKeep == 0 || i >= s.MinKeep-1) {
			last = i + 1
			break
		}
	}
	tmp := s.tmp[:last]
	for i := range tmp {
		tmp[i] = c.Items[scored[i].idx]
	}
	c.Items = c.Items[:last]
	copy(c.Items, tmp)
	c.Sorted = false
}

// Temperature divides the logits by T. T <= 0 keeps only the most likely candidate (the lowest id among equal
// maxima) by setting every other logit to -Inf, as llama.cpp's temperature sampler does.
type Temperature struct {
	T float32
}

func (Temperature) Name() string { return "temperature" }

func (s Temperature) Apply(c *Candidates) {
	if len(c.Items) == 0 {
		return
	}
	if s.T <= 0 {
		best := 0
		for i := 1; i < len(c.Items); i++ {
			if better(c.Items[i], c.Items[best]) {
				best = i
			}
		}
		for i := range c.Items {
			if i != best {
				c.Items[i].Logit = float32(math.Inf(-1))
			}
		}
		return
	}
	for i := range c.Items {
		c.Items[i].Logit /= s.T
	}
}
