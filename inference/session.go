package inference

import (
	"context"
	"errors"
	"fmt"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/models"
)

// ErrContextFull is returned when a sequence would outgrow its context or the cache
// has no free cell left.
var ErrContextFull = errors.New("context is full")

// KeyShifter is a model whose cached keys can be moved to other positions (the RoPE
// re-rotation of llama.cpp's K-shift). A context shift needs it.
type KeyShifter interface {
	ShiftKeys(cache *backend.KVCache, cells, delta []int32) error
}

// StateModel is a model whose cache keeps a running state per sequence (Mamba) rather
// than an entry per token: a sequence cannot be cut back to a prefix, so a cached
// sequence is reused only whole, and a failed evaluation starts it over.
type StateModel interface {
	RecurrentState() bool
}

func recurrent(m models.Model) bool {
	r, ok := m.(StateModel)
	return ok && r.RecurrentState()
}

// Session is one sequence in a cache: the tokens it holds and the cells they are in.
// Token i is at position i (a context shift renumbers the kept tokens); its cell is
// any free cell of the cache, so several sessions with distinct Seq ids can share
// one cache.
type Session struct {
	Model     models.Model
	Cache     *backend.KVCache
	BatchSize int
	// Seq is the sequence id the session's cells carry.
	Seq int32
	// NCtx caps the number of tokens the sequence holds; 0 means the cache's size.
	NCtx int
	// Profiler, when set, is told which phase each forward pass belongs to.
	Profiler *Profiler

	tokens []int32
	keys   []uint64 // per token: 0 for a token id, the row's hash for an input embedding
	cells  []int32
	logits []float32 // the last evaluated token's logits
	batch  backend.Batch
	out    [1]int
	hint   int // where the search for free cells starts
}

// NewSession starts an empty sequence (id 0) in cache.
func NewSession(m models.Model, cache *backend.KVCache, batchSize int) *Session {
	if batchSize <= 0 {
		batchSize = 512
	}
	return &Session{Model: m, Cache: cache, BatchSize: batchSize}
}

// Len is the number of tokens in the sequence.
func (s *Session) Len() int { return len(s.tokens) }

// Tokens are the sequence's tokens, position by position (not to be modified).
func (s *Session) Tokens() []int32 { return s.tokens }

// Logits is the last evaluated token's row of logits.
func (s *Session) Logits() []float32 { return s.logits }

// Limit is the most tokens the sequence may hold.
func (s *Session) Limit() int {
	if s.NCtx > 0 && s.NCtx < s.Cache.Size() {
		return s.NCtx
	}
	return s.Cache.Size()
}

// Eval runs tokens through the model in batches of BatchSize, appending them to the
// sequence; afterwards Logits holds the last token's logits. On an error the sequence
// is left as it was.
func (s *Session) Eval(ctx context.Context, tokens []int32) error {
	phase := PhaseDecode
	if len(tokens) > 1 {
		phase = PhasePrompt
	}
	return s.eval(ctx, tokens, phase)
}

func (s *Session) eval(ctx context.Context, tokens []int32, phase Phase) error {
	return s.evalRows(ctx, tokens, nil, nil, phase)
}

// evalRows is eval for tokens that may hold models.EmbdToken: embd has their rows in
// order and keys (nil for none) the prompt cache's key of each token.
func (s *Session) evalRows(ctx context.Context, tokens []int32, keys []uint64, embd []float32, phase Phase) error {
	if len(tokens) == 0 {
		return nil
	}
	if len(s.tokens)+len(tokens) > s.Limit() {
		return fmt.Errorf("%w: %d tokens in the sequence + %d new exceed the context of %d (raise -c/--ctx-size)",
			ErrContextFull, len(s.tokens), len(tokens), s.Limit())
	}
	nv := s.Model.Config().NVocab
	if cap(s.logits) < nv {
		s.logits = make([]float32, nv)
	}
	s.logits = s.logits[:nv]
	start := len(s.tokens)
	d := s.Model.Config().NEmbd
	row := 0
	for lo := 0; lo < len(tokens); lo += s.BatchSize {
		hi := min(lo+s.BatchSize, len(tokens))
		chunk := tokens[lo:hi]
		var ck []uint64
		if keys != nil {
			ck = keys[lo:hi]
		}
		n := embdRows(chunk)
		rows := embd[row*d : (row+n)*d]
		row += n
		b := &s.batch
		b.Pos, b.Seq, b.Cells = b.Pos[:0], b.Seq[:0], b.Cells[:0]
		if err := s.pushKeys(chunk, ck, b); err != nil {
			s.Truncate(start) // nothing was evaluated: a recurrent state is intact
			return err
		}
		var outputs []int
		var logits []float32
		if lo+len(chunk) == len(tokens) {
			s.out[0] = len(chunk) - 1
			outputs, logits = s.out[:], s.logits
		}
		s.Profiler.begin(phase, len(chunk))
		err := forward(ctx, s.Model, chunk, rows, b, s.Cache, outputs, logits)
		s.Profiler.end()
		if err != nil {
			if recurrent(s.Model) {
				start = 0 // the state may have moved on: start over
			}
			s.Truncate(start)
			return err
		}
	}
	return nil
}

// push gives tokens cells at the sequence's next positions, marks the cells and
// appends the tokens to the sequence and to batch. Nothing changes on an error.
func (s *Session) push(tokens []int32, b *backend.Batch) error {
	return s.pushKeys(tokens, nil, b)
}

// pushKeys is push with the prompt cache's keys of the tokens (nil: all 0, token ids).
func (s *Session) pushKeys(tokens []int32, keys []uint64, b *backend.Batch) error {
	if len(s.tokens)+len(tokens) > s.Limit() {
		return fmt.Errorf("%w: %d tokens in the sequence + %d new exceed its context of %d",
			ErrContextFull, len(s.tokens), len(tokens), s.Limit())
	}
	n0 := len(s.cells)
	var ok bool
	s.cells, ok = allocCells(s.Cache, &s.hint, len(tokens), s.cells)
	if !ok {
		return fmt.Errorf("%w (%d needed)", errNoCells, len(tokens))
	}
	for i, c := range s.cells[n0:] {
		p := int32(n0 + i)
		s.Cache.Cells[c] = backend.Cell{Pos: p, Seq: s.Seq}
		b.Pos = append(b.Pos, p)
		b.Seq = append(b.Seq, s.Seq)
		b.Cells = append(b.Cells, c)
	}
	s.tokens = append(s.tokens, tokens...)
	if keys != nil {
		s.keys = append(s.keys, keys...)
	} else {
		for range tokens {
			s.keys = append(s.keys, 0)
		}
	}
	return nil
}

// allocCells appends n free cells of cache (Seq < 0) to dst, searching from *hint on,
// or reports false (dst unchanged) when there are fewer.
func allocCells(cache *backend.KVCache, hint *int, n int, dst []int32) ([]int32, bool) {
	size := cache.Size()
	n0 := len(dst)
	h := *hint
	if h < 0 || h >= size {
		h = 0
	}
	for i := 0; i < size && len(dst)-n0 < n; i++ {
		c := (h + i) % size
		if cache.Cells[c].Seq >= 0 {
			continue
		}
		dst = append(dst, int32(c))
	}
	if len(dst)-n0 < n {
		return dst[:n0], false
	}
	*hint = (int(dst[len(dst)-1]) + 1) % size
	return dst, true
}

// Truncate drops the tokens from position n on, freeing their cells.
func (s *Session) Truncate(n int) {
	if n < 0 {
		n = 0
	}
	if n >= len(s.tokens) {
		return
	}
	for _, c := range s.cells[n:] {
		s.Cache.Cells[c] = backend.Cell{Pos: -1, Seq: -1}
	}
	s.tokens, s.keys, s.cells = s.tokens[:n], s.keys[:n], s.cells[:n]
	if n > 0 {
		s.hint = int(s.cells[n-1]) + 1
	}
}

// Prefill makes the sequence hold prompt, reusing the cells of the longest prefix it
// shares with the tokens already held (a prompt cache: the cells beyond are freed) and
// evaluating the rest. The last prompt token is always evaluated, so Logits are the
// prompt's. It returns how many tokens were reused.
func (s *Session) Prefill(ctx context.Context, prompt []int32) (int, error) {
	keep := s.reusable(prompt)
	s.Truncate(keep)
	return keep, s.eval(ctx, prompt[keep:], PhasePrompt)
}

// reusable is how many of the sequence's tokens a new prompt can keep: the shared
// prefix, short of the prompt's last token (whose logits are needed); for a recurrent
// model, the whole sequence or nothing.
func (s *Session) reusable(prompt []int32) int {
	return s.reusableKeys(prompt, nil)
}

// reusableKeys is reusable for a prompt whose tokens have keys (nil: all 0): a
// position is shared only when both its token and its key are.
func (s *Session) reusableKeys(prompt []int32, keys []uint64) int {
	keep := min(s.commonPrefix(prompt, keys), len(prompt)-1)
	if recurrent(s.Model) && keep < len(s.tokens) {
		return 0
	}
	return max(keep, 0)
}

func commonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// Shift makes room in a full sequence as llama.cpp's context shift does: it keeps the
// first keep tokens, drops the oldest half of the rest, moves the later tokens back
// by that many positions and re-rotates their cached keys. It returns the number of
// tokens dropped.
func (s *Session) Shift(keep int) (int, error) {
	ks, ok := s.Model.(KeyShifter)
	if !ok {
		return 0, fmt.Errorf("context shift: the %s model cannot move cached keys", s.Model.Config().Arch)
	}
	keep = max(keep, 0)
	discard := (len(s.tokens) - keep) / 2
	if discard <= 0 {
		return 0, fmt.Errorf("context shift: keeping %d of %d tokens leaves nothing to drop", keep, len(s.tokens))
	}
	moved := s.cells[keep+discard:]
	delta := make([]int32, len(moved))
	for i := range delta {
		delta[i] = -int32(discard)
	}
	if err := ks.ShiftKeys(s.Cache, moved, delta); err != nil {
		return 0, fmt.Errorf("context shift: %w", err)
	}
	for _, c := range s.cells[keep : keep+discard] {
		s.Cache.Cells[c] = backend.Cell{Pos: -1, Seq: -1}
	}
	for _, c := range moved {
		s.Cache.Cells[c].Pos -= int32(discard)
	}
	s.tokens = append(s.tokens[:keep], s.tokens[keep+discard:]...)
	s.keys = append(s.keys[:keep], s.keys[keep+discard:]...)
	s.cells = append(s.cells[:keep], s.cells[keep+discard:]...)
	return discard, nil
}
