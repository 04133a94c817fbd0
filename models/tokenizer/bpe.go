package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// splitMerge splits a merge line "left right" at its first space after position 0,
// as llama.cpp reads tokenizer.ggml.merges; a line without one merges nothing.
func splitMerge(w string) [2]string {
	if len(w) < 2 {
		return [2]string{}
	}
	i := strings.IndexByte(w[1:], ' ')
	if i < 0 {
		return [2]string{}
	}
	return [2]string{w[:i+1], w[i+2:]}
}

// Byte-level BPE: the pre-tokenizer splits text into words, each word's bytes
// become GPT-2 alphabet symbols, and adjacent symbols merge by the rank of their
// pair in the merge list, lowest rank (then leftmost) first.

type bpeModel struct {
	t       *Tokenizer
	intern  map[string]int32 // token ids, then ids for merge parts that are not tokens
	nIntern int32
	ranks   map[uint64]int32 // (left, right) interned ids -> rank
	results []int32          // rank -> interned id of the joined text
	byteSym [256]int32       // interned id of each byte's alphabet character, or -1
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func newBPEModel(t *Tokenizer, merges [][2]string) (*bpeModel, error) {
	m := &bpeModel{
		t:       t,
		intern:  t.ids,
		nIntern: int32(len(t.tokens)),
		ranks:   make(map[uint64]int32, len(merges)),
		results: make([]int32, len(merges)),
	}
	if len(merges) > 1<<30 {
		return nil, fmt.Errorf("%d merges, too many", len(merges))
	}
	extra := map[string]int32{}
	internOf := func(s string) int32 {
		if id, ok := t.ids[s]; ok {
			return id
		}
		if id, ok := extra[s]; ok {
			return id
		}
		id := m.nIntern
		m.nIntern++
		extra[s] = id
		return id
	}
	for rank, p := range merges {
		m.results[rank] = -1
		a, b := p[0], p[1]
		if a == "" || b == "" {
			continue
		}
		key := pairKey(internOf(a), internOf(b))
		if _, dup := m.ranks[key]; dup {
			continue // the first (lowest) rank of a pair counts
		}
		m.ranks[key] = int32(rank)
		m.results[rank] = internOf(a + b)
	}
	if len(extra) > 0 {
		m.intern = make(map[string]int32, len(t.ids)+len(extra))
		for k, v := range t.ids {
			m.intern[k] = v
		}
		for k, v := range extra {
			m.intern[k] = v
		}
	}
	for b := range m.byteSym {
		m.byteSym[b] = -1
		if id, ok := m.intern[byteEncoded[b]]; ok {
			m.byteSym[b] = id
		}
	}
	return m, nil
}

type bpeSymbol struct {
	prev, next int
	id         int32 // interned id of the symbol's text, -1 when unknown
	start, n   int   // original bytes of the word
}

type bpeBigram struct {
	rank        int32
	left, right int
	size        int
}

// before orders merges by rank, lowest first, then leftmost first.
func (b bpeBigram) before(o bpeBigram) bool {
	if b.rank != o.rank {
		return b.rank < o.rank
	}
	return b.left < o.left
}

type bpeSession struct {
	m       *bpeModel
	runes   []rune
	ends    []int
	word    []byte // the word's UTF-8 bytes
	enc     []byte // the word in the byte-level alphabet
	symbols []bpeSymbol
	queue   queue[bpeBigram]
}

func (m *bpeModel) session() *bpeSession { return &bpeSession{m: m} }

func (s *bpeSession) encode(text string, out []int32) []int32 {
	s.runes = decodeRunes(text, s.runes)
	s.ends = s.m.t.split.split(s.runes, s.ends)
	start := 0
	for _, end := range s.ends {
		s.word = s.word[:0]
		for _, r := range s.runes[start:end] {
			s.word = utf8.AppendRune(s.word, r)
		}
		start = end
		out = s.encodeWord(out)
	}
	return out
}

func (s *bpeSession) encodeWord(out []int32) []int32 {
	m, t := s.m, s.m.t
	if t.ignoreMerges {
		s.enc = s.enc[:0]
		for _, b := range s.word {
			s.enc = append(s.enc, byteEncoded[b]...)
		}
		if id, ok := t.ids[string(s.enc)]; ok {
			return append(out, id)
		}
	}
	s.symbols = s.symbols[:0]
	s.queue = s.queue[:0]
	for i, b := range s.word {
		next := i + 1
		if next == len(s.word) {
			next = -1
		}
		s.symbols = append(s.symbols, bpeSymbol{prev: i - 1, next: next, id: m.byteSym[b], start: i, n: 1})
	}
	for i := 1; i < len(s.symbols); i++ {
		s.tryAdd(i-1, i)
	}
	for len(s.queue) > 0 {
		b := s.queue.pop()
		l, r := &s.symbols[b.left], &s.symbols[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		l.id = m.results[b.rank]
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			s.symbols[r.next].prev = b.left
		}
		s.tryAdd(l.prev, b.left)
		s.tryAdd(b.left, l.next)
	}
	nTok := int32(len(t.tokens))
	for i := 0; len(s.symbols) > 0 && i != -1; i = s.symbols[i].next {
		sym := s.symbols[i]
		if sym.id >= 0 && sym.id < nTok {
			out = append(out, sym.id)
			continue
		}
		// Not a token: each byte of its alphabet text on its own, when the vocab has
		// it; the rest is dropped (llama.cpp does the same).
		for _, b := range s.word[sym.start : sym.start+sym.n] {
			enc := byteEncoded[b]
			for k := 0; k < len(enc); k++ {
				if id, ok := t.ids[enc[k:k+1]]; ok {
					out = append(out, id)
				}
			}
		}
	}
	return out
}

func (s *bpeSession) tryAdd(left, right int) {
	if left < 0 || right < 0 {
		return
	}
	l, r := s.symbols[left], s.symbols[right]
	if l.id < 0 || r.id < 0 {
		return
	}
	rank, ok := s.m.ranks[pairKey(l.id, r.id)]
	if !ok {
		return
	}
	s.queue.push(bpeBigram{rank: rank, left: left, right: right, size: l.n + r.n})
}
