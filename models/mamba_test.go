package models

import (
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/internal/shared"
	"github.com/stretchr/testify/require"
)

// TestOracleMamba runs the shared llama.cpp references of the Mamba model in one
// batch and one token per call, and checks that the two agree.
func TestOracleMamba(t *testing.T) {
	dir := shared.Path(t, "oracle", "models", "mamba")
	for _, q := range []string{"F32", "Q8_0", "Q4_0", "Q4_K_M"} {
		name := "mamba-" + q
		t.Run(name, func(t *testing.T) {
			m := readManifest(t, filepath.Join(dir, name+".json"))
			f, err := gguf.Open(filepath.Join(dir, name+".gguf"))
			require.NoError(t, err)
			defer f.Close()
			want := readF32(t, filepath.Join(dir, m.Outputs.Logits.File))
			batch := newRunner(t, f, backend.Options{}, m.Run.NCtx).feed(t, m.TokenIDs)
			one := newRunner(t, f, backend.Options{}, m.Run.NCtx)
			var rows [][]float32
			for _, tok := range m.TokenIDs {
				rows = append(rows, one.feed(t, []int32{tok})[0])
			}
			if q == "Q4_0" {
				checkMambaQ4_0(t, want, batch, rows, m.NVocab)
				return
			}
			checkOracleRows(t, name+" batch", q != "F32", maxAbsPerRow(want, batch, m.NVocab))
			checkOracleRows(t, name+" one per call", q != "F32", maxAbsPerRow(want, rows, m.NVocab))
			if q == "F32" {
				for i := range rows {
					for j := range rows[i] {
						require.InDelta(t, batch[i][j], rows[i][j], 1e-4, "position %d logit %d", i, j)
					}
				}
			}
		})
	}
}

// TestMambaReferencePath runs the CPU reference path on the F32 model.
func TestMambaReferencePath(t *testing.T) {
	dir := shared.Path(t, "oracle", "models", "mamba")
	runOracle(t, filepath.Join(dir, "mamba-F32.gguf"), filepath.Join(dir, "mamba-F32.json"), backend.Options{Reference: true})
}

// TestMambaSequences: a second sequence in the same cache, interleaved with the
// first in one batch, gets what it gets alone, and a sequence restarted at position
// 0 forgets its old state.
func TestMambaSequences(t *testing.T) {
	dir := shared.Path(t, "oracle", "models", "mamba")
	m := readManifest(t, filepath.Join(dir, "mamba-F32.json"))
	f, err := gguf.Open(filepath.Join(dir, "mamba-F32.gguf"))
	require.NoError(t, err)
	defer f.Close()
	r := newRunner(t, f, backend.Options{}, m.Run.NCtx)
	alone := r.feed(t, m.TokenIDs[:4])
	nv := r.m.Config().NVocab

	// Restart sequence 0 and run sequences 0 and 3 interleaved.
	toks := []int32{}
	batch := &backend.Batch{}
	for i := range 4 {
		for _, s := range []int32{0, 3} {
			tok := m.TokenIDs[i]
			if s == 3 {
				tok = m.TokenIDs[i+4]
			}
			toks = append(toks, tok)
			batch.Pos = append(batch.Pos, int32(i))
			batch.Seq = append(batch.Seq, s)
			batch.Cells = append(batch.Cells, int32(len(batch.Cells)))
		}
	}
	outputs := []int{0, 2, 4, 6, 7}
	logits := make([]float32, len(outputs)*nv)
	require.NoError(t, r.m.Forward(t.Context(), toks, batch, r.cache, outputs, logits))
	for k, o := range outputs[:4] {
		require.Equal(t, alone[o/2], logits[k*nv:(k+1)*nv], "sequence 0 position %d", o/2)
	}
	other := newRunner(t, f, backend.Options{}, m.Run.NCtx).feed(t, m.TokenIDs[4:8])
	require.Equal(t, other[3], logits[4*nv:], "sequence 3 last position")

	// A recurrent state cannot skip or go back (a reused prompt prefix, a context
	// shift): refused, within a batch and across calls; so are absurd sequence ids.
	bad := &backend.Batch{Pos: []int32{7}, Seq: []int32{0}, Cells: []int32{0}}
	require.ErrorContains(t, r.m.Forward(t.Context(), []int32{1}, bad, r.cache, nil, nil), "only moves forward")
	bad = &backend.Batch{Pos: []int32{2}, Seq: []int32{3}, Cells: []int32{0}}
	require.Error(t, r.m.Forward(t.Context(), []int32{1}, bad, r.cache, nil, nil))
	good := &backend.Batch{Pos: []int32{4}, Seq: []int32{0}, Cells: []int32{0}}
	require.NoError(t, r.m.Forward(t.Context(), []int32{1}, good, r.cache, nil, nil))
	bad = &backend.Batch{Pos: []int32{0, 2}, Seq: []int32{1, 1}, Cells: []int32{0, 1}}
	require.Error(t, r.m.Forward(t.Context(), []int32{1, 2}, bad, r.cache, nil, nil))
	bad = &backend.Batch{Pos: []int32{0}, Seq: []int32{maxSeqStates}, Cells: []int32{0}}
	require.Error(t, r.m.Forward(t.Context(), []int32{1}, bad, r.cache, nil, nil))
}

// checkMambaQ4_0 handles the one oracle file whose batch reference is not what
// llama.cpp computes one token at a time. On AVX2, llama.cpp repacks Q4_0 weights and
// its batched GEMM quantizes four activation rows at a time assuming they are
// contiguous; ssm_dt's input is a strided view (the Δ columns of ssm_x's output), so
// rows 1-3 of each group of four are read from the wrong place, and the recurrent
// state carries the error to every later position. Emulating that misread reproduces
// the reference to 6e-7 at all 16 positions (checked by hand); golem computes what the
// model means, which is what llama.cpp gives one token at a time: the difference from
// the batch reference equals llama.cpp's own incremental-vs-batch difference in
// tolerance.json. The test holds golem to that, to the float-engine bound of 0.1, and
// to exactness at position 0 (before the misread can matter).
func checkMambaQ4_0(t *testing.T, want []float32, batch, one [][]float32, nv int) {
	t.Helper()
	for i := range batch {
		require.Equal(t, batch[i], one[i], "batch and one per call, position %d", i)
	}
	diffs := maxAbsPerRow(want, batch, nv)
	worst := 0.0
	for _, d := range diffs {
		worst = max(worst, d)
	}
	gap, ok := incrementalGap(t, "mamba-Q4_0")
	require.True(t, ok, "tolerance.json has no batch/incremental gap for mamba-Q4_0")
	t.Logf("mamba-Q4_0: position 0 off by %.3g, worst %.6g (llama.cpp incremental vs batch: %.6g)", diffs[0], worst, gap)
	require.LessOrEqual(t, diffs[0], 1e-4)
	require.LessOrEqual(t, worst, 0.1)
	require.InDelta(t, gap, worst, 1e-6, "the difference should be llama.cpp's own batch/incremental gap")
}
