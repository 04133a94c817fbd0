package sampling

import (
	"fmt"
	"testing"
)

// BenchmarkSample is one Sample + Accept per op over a LLaMA-2 (32000) and a Qwen2 (152064) vocab, with the
// default chain (llama.cpp's defaults), greedy, and the default chain without top-k (top-p then sorts the vocab
// itself, the slow path).
func BenchmarkSample(b *testing.B) {
	for _, vocab := range []int{32000, 152064} {
		rows := randomRows(9, 8, vocab, 3)
		def := DefaultParams()
		def.Seed = 1
		noTopK := def
		noTopK.TopK = 0
		for _, cfg := range []struct {
			name string
			p    Params
		}{
			{"default", def},
			{"greedy", Params{}},
			{"no-top-k", noTopK},
		} {
			b.Run(fmt.Sprintf("vocab=%d/%s", vocab, cfg.name), func(b *testing.B) {
				s := mustNew(b, cfg.p, vocab)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					id, err := s.Sample(rows[i%len(rows)])
					if err != nil {
						b.Fatal(err)
					}
					_ = s.Accept(id)
					i++
				}
			})
		}
	}
}
