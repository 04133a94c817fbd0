package models

import (
	"fmt"

	"github.com/golem-llm/golem/backend"
)

// ShiftKeys re-rotates the cached keys of cells by delta[i] positions in every layer
// (llama.cpp's K-shift), after a context shift moved those cells' positions. Keys
// without RoPE (learned positions, ALiBi) hold no rotation to undo: nothing to do.
func (m *decoder) ShiftKeys(cache *backend.KVCache, cells, delta []int32) error {
	if m.spec.Pos != PosRoPE || len(cells) == 0 {
		return nil
	}
	rope := m.cfg.RoPE
	rope.Mode = m.spec.RoPE
	rope.Freqs = m.freqs
	for il, k := range cache.K {
		k3, err := m.b.Reshape(k, cache.Size(), m.cfg.NHeadKV, m.cfg.HeadDim)
		if err != nil {
			return fmt.Errorf("layer %d key shift: %w", il, err)
		}
		if err := m.b.RoPEShift(k3, cells, delta, rope); err != nil {
			return fmt.Errorf("layer %d key shift: %w", il, err)
		}
	}
	return nil
}
