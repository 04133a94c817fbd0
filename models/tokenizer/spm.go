package tokenizer

// SentencePiece-style encoding: start from UTF-8 characters and repeatedly merge the
// adjacent pair whose joined text is the highest-scoring token; what stays unknown
// falls back to <0xNN> byte tokens.

type symbol struct {
	prev, next int
	start, n   int // bytes of the text
}

type spmBigram struct {
	left, right int
	score       float32
	size        int
}

// before orders merges by score, highest first, then leftmost first.
func (b spmBigram) before(o spmBigram) bool {
	if b.score != o.score {
		return b.score > o.score
	}
	return b.left < o.left
}

type spmSession struct {
	t       *Tokenizer
	text    string
	symbols []symbol
	queue   queue[spmBigram]
}

func (s *spmSession) encode(text string, out []int32) []int32 {
	s.text = text
	s.symbols = s.symbols[:0]
	s.queue = s.queue[:0]
	for offs := 0; offs < len(text); {
		n := min(utf8Len(text[offs]), len(text)-offs)
		idx := len(s.symbols)
		next := idx + 1
		if offs+n == len(text) {
			next = -1
		}
		s.symbols = append(s.symbols, symbol{prev: idx - 1, next: next, start: offs, n: n})
		offs += n
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
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			s.symbols[r.next].prev = b.left
		}
		s.tryAdd(l.prev, b.left)
		s.tryAdd(b.left, l.next)
	}
	if len(s.symbols) == 0 {
		return out
	}
	for i := 0; i != -1; i = s.symbols[i].next {
		sym := s.symbols[i]
		piece := text[sym.start : sym.start+sym.n]
		if id, ok := s.t.ids[piece]; ok {
			out = append(out, id)
			continue
		}
		for j := 0; j < len(piece); j++ {
			if id, ok := s.t.byteToken(piece[j]); ok {
				out = append(out, id)
			}
		}
	}
	return out
}

func (s *spmSession) tryAdd(left, right int) {
	if left < 0 || right < 0 {
		return
	}
	l, r := s.symbols[left], s.symbols[right]
	text := s.text[l.start : r.start+r.n]
	id, ok := s.t.ids[text]
	if !ok {
		return
	}
	s.queue.push(spmBigram{left: left, right: right, score: s.t.scores[id], size: len(text)})
}

var hexDigits = "0123456789ABCDEF"

// byteToken is the SentencePiece byte-fallback token of b: <0xNN>, else the
// one-byte token, else none.
func (t *Tokenizer) byteToken(b byte) (int32, bool) {
	buf := [6]byte{'<', '0', 'x', hexDigits[b>>4], hexDigits[b&15], '>'}
	if id, ok := t.ids[string(buf[:])]; ok {
		return id, true
	}
	id, ok := t.ids[string([]byte{b})]
	return id, ok
}
