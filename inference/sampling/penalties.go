package sampling

import "slices"

// Bias is one logit bias entry: Bias is added to the logit of Token. A Bias of -Inf bans the token.
type Bias struct {
	Token int32
	Bias  float32
}

// LogitBias adds fixed biases to chosen tokens' logits; llama.cpp puts it ahead of the whole chain.
type LogitBias struct {
	biases []Bias
}

// NewLogitBias makes a logit bias stage. The entries are used as given (tokens are checked by New).
func NewLogitBias(biases []Bias) *LogitBias {
	return &LogitBias{biases: slices.Clone(biases)}
}

func (*LogitBias) Name() string { return "logit_bias" }

func (s *LogitBias) Apply(c *Candidates) {
	if len(s.biases) == 0 {
		return
	}
	if identityFor(c, s.biases, func(b Bias) int32 { return b.Token }) {
		for _, b := range s.biases {
			c.Items[b.Token].Logit += b.Bias
		}
	} else {
		for i := range c.Items {
			for _, b := range s.biases {
				if c.Items[i].ID == b.Token {
					c.Items[i].Logit += b.Bias
				}
			}
		}
	}
	c.Sorted = false
}

// Penalties applies llama.cpp's repetition, frequency and presence penalties over the last LastN accepted tokens.
// For a token seen count > 0 times in that window: a positive logit is divided by Repeat and a non-positive one
// multiplied by it (so the penalty always lowers it), then count·Freq + Present is subtracted.
type Penalties struct {
	lastN   int
	repeat  float32
	freq    float32
	present float32

	ring   []int32 // the window, oldest at head once full
	head   int
	filled int
	counts []int32 // per token id, occurrences in the window
	seen   []int32 // distinct tokens with a non-zero count
	seenAt []int32 // position of a token in seen, -1 when absent
}

// NewPenalties makes a penalties stage over a vocab of vocabSize tokens. lastN <= 0 disables it, as llama.cpp's
// penalty_last_n 0 does.
func NewPenalties(vocabSize, lastN int, repeat, freq, present float32) *Penalties {
	s := &Penalties{lastN: max(lastN, 0), repeat: repeat, freq: freq, present: present}
	if s.lastN > 0 {
		s.ring = make([]int32, s.lastN)
		s.counts = make([]int32, vocabSize)
		s.seenAt = make([]int32, vocabSize)
		for i := range s.seenAt {
			s.seenAt[i] = -1
		}
		s.seen = make([]int32, 0, min(s.lastN, vocabSize))
	}
	return s
}

func (*Penalties) Name() string { return "penalties" }

// active reports whether applying the stage can change anything.
func (s *Penalties) active() bool {
	return s.lastN > 0 && (s.repeat != 1 || s.freq != 0 || s.present != 0)
}

// Accept records a token in the window. Tokens outside the vocab are ignored (the Sampler checks them first).
func (s *Penalties) Accept(token int32) {
	if s.lastN == 0 || token < 0 || int(token) >= len(s.counts) {
		return
	}
	if s.filled == s.lastN {
		old := s.ring[s.head]
		s.counts[old]--
		if s.counts[old] == 0 {
			s.forget(old)
		}
		s.ring[s.head] = token
		s.head = (s.head + 1) % s.lastN
	} else {
		s.ring[(s.head+s.filled)%s.lastN] = token
		s.filled++
	}
	if s.counts[token] == 0 {
		s.seenAt[token] = int32(len(s.seen))
		s.seen = append(s.seen, token)
	}
	s.counts[token]++
}

func (s *Penalties) forget(token int32) {
	i := s.seenAt[token]
	last := s.seen[len(s.seen)-1]
	s.seen[i] = last
	s.seenAt[last] = i
	s.seen = s.seen[:len(s.seen)-1]
	s.seenAt[token] = -1
}

// Reset empties the window.
func (s *Penalties) Reset() {
	for _, t := range s.seen {
		s.counts[t] = 0
		s.seenAt[t] = -1
	}
	s.seen = s.seen[:0]
	s.head, s.filled = 0, 0
}

func (s *Penalties) Apply(c *Candidates) {
	if !s.active() || len(s.seen) == 0 {
		return
	}
	if identityFor(c, s.seen, func(t int32) int32 { return t }) {
		for _, t := range s.seen {
			s.penalize(&c.Items[t], s.counts[t])
		}
	} else {
		for i := range c.Items {
			id := c.Items[i].ID
			if id < 0 || int(id) >= len(s.counts) {
				continue
			}
			if n := s.counts[id]; n > 0 {
				s.penalize(&c.Items[i], n)
			}
		}
	}
	c.Sorted = false
}

func (s *Penalties) penalize(it *Candidate, count int32) {
	if it.Logit <= 0 {
		it.Logit *= s.repeat
	} else {
		it.Logit /= s.repeat
	}
	it.Logit -= float32(count)*s.freq + s.present
}

// identityFor reports whether every token named by keys sits at the index equal to its id, which holds while
// the candidates are still the untouched full vocab; then a stage can go straight to its few tokens instead of
// scanning the whole set.
func identityFor[T any](c *Candidates, keys []T, id func(T) int32) bool {
	for _, k := range keys {
		t := id(k)
		if t < 0 || int(t) >= len(c.Items) || c.Items[t].ID != t {
			return false
		}
	}
	return true
}
