package tokenizer

// ordered is a bigram that knows which of two merges comes first.
type ordered[T any] interface {
	before(other T) bool
}

// queue is a binary heap of candidate merges, the next merge on top; the SentencePiece
// and BPE tokenizers share it (their bigrams order themselves).
type queue[T ordered[T]] []T

func (q *queue[T]) push(b T) {
	*q = append(*q, b)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].before(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *queue[T]) pop() T {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && h[r].before(h[l]) {
			c = r
		}
		if !h[c].before(h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	*q = h
	return top
}
