package quant

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stories260K is the real trained F32 model embedded in the binary (MIT): rows of 64 and
// 172, so every K-quant mix exercises the fall-back types.
const stories260K = "../../models/embedded/stories260K.gguf"

// testdataOracle holds two of llama.cpp's quantizations of the shared tiny llama oracle.
var testdataOracle = []struct {
	path string
	ft   gguf.FileType
}{
	{"../../testdata/oracle/llama-Q4_0.gguf", gguf.FileTypeQ4_0},
	{"../../testdata/oracle/llama-Q4_K_M.gguf", gguf.FileTypeQ4_K_M},
}

// TestPlanReproducesTestdataFiles gives Plan the tensors of llama.cpp's quantized files
// as F32, shuffled, and expects llama.cpp's order and types back; OutputMetadata of the
// file's own metadata must give it back unchanged.
func TestPlanReproducesTestdataFiles(t *testing.T) {
	for _, c := range testdataOracle {
		f, err := gguf.Open(c.path)
		require.NoError(t, err)
		ts := make([]gguf.TensorInfo, len(f.Tensors))
		for i, ti := range f.Tensors {
			ti.Type = gguf.TypeF32
			ts[i] = ti
		}
		rand.New(rand.NewPCG(7, 8)).Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
		plans, err := Plan(f.Meta, ts, c.ft)
		require.NoError(t, err)
		require.Len(t, plans, len(f.Tensors))
		for i, p := range plans {
			assert.Equal(t, f.Tensors[i].Name, p.Name)
			assert.Equal(t, f.Tensors[i].Type, p.To, p.Name)
			assert.Equal(t, p.To != gguf.TypeF32, p.Convert, p.Name)
		}
		meta, err := OutputMetadata(f.Meta, c.ft)
		require.NoError(t, err)
		require.Equal(t, len(f.Meta.KVs()), len(meta.KVs()))
		for i, kv := range f.Meta.KVs() {
			assert.Equal(t, kv.Key, meta.KVs()[i].Key)
			assert.Equal(t, kv.Value.String(), meta.KVs()[i].Value.String())
		}
		f.Close()
	}
}

// TestQuantizeFileStories quantizes the embedded F32 model to every mix llama-quantize
// can make of it and checks each output tensor against its planned type, Quantize of the
// source rows, and a decoded error small for its type. (Its FFN rows of 172 fit no
// block of 32: the K-quants fall back to F16 there and the legacy types fail, as they do
// in llama.cpp.)
func TestQuantizeFileStories(t *testing.T) {
	src, err := gguf.Open(stories260K)
	require.NoError(t, err)
	defer src.Close()
	dir := t.TempDir()
	for _, ft := range []gguf.FileType{
		gguf.FileTypeAllF32, gguf.FileTypeF16, gguf.FileTypeBF16, gguf.FileTypeQ2_K, gguf.FileTypeQ3_K_S,
		gguf.FileTypeQ3_K_M, gguf.FileTypeQ3_K_L, gguf.FileTypeQ4_K_S, gguf.FileTypeQ4_K_M,
		gguf.FileTypeQ5_K_S, gguf.FileTypeQ5_K_M, gguf.FileTypeQ6_K, gguf.FileTypeIQ4_XS,
	} {
		t.Run(ft.String(), func(t *testing.T) {
			out := filepath.Join(dir, ft.String()+".gguf")
			calls := 0
			require.NoError(t, QuantizeFile(t.Context(), stories260K, out, ft, Options{
				Progress: func(p Progress) {
					calls++
					assert.Equal(t, calls, p.Index)
					assert.Equal(t, len(src.Tensors), p.Count)
				},
			}))
			assert.Equal(t, len(src.Tensors), calls)
			plans, err := Plan(src.Meta, src.Tensors, ft)
			require.NoError(t, err)
			f, err := gguf.Open(out)
			require.NoError(t, err)
			defer f.Close()
			ftv, err := f.Meta.Uint("general.file_type")
			require.NoError(t, err)
			assert.Equal(t, uint64(ft), ftv)
			qv, err := f.Meta.Uint("general.quantization_version")
			require.NoError(t, err)
			assert.Equal(t, uint64(2), qv)
			require.Len(t, f.Tensors, len(plans))
			for i, p := range plans {
				ti := &f.Tensors[i]
				require.Equal(t, p.Name, ti.Name)
				require.Equal(t, p.To, ti.Type, p.Name)
				x := f32Tensor(t, src, p.Name)
				want := make([]byte, ti.Size)
				require.NoError(t, Quantize(p.To, x, want))
				got, err := f.TensorData(ti)
				require.NoError(t, err)
				require.Equal(t, want, got, p.Name)
				y := make([]float32, len(x))
				require.NoError(t, Dequantize(ti.Type, got, y))
				var num, den float64
				for j := range x {
					d := float64(x[j] - y[j])
					num += d * d
					den += float64(x[j]) * float64(x[j])
				}
				assert.Lessf(t, num/den, 0.05, "%s %s: NMSE %g", p.Name, p.To, num/den)
			}
		})
	}
}

func TestQuantizeFileFailuresLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.gguf")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := QuantizeFile(ctx, stories260K, out, gguf.FileTypeQ4_K_M, Options{})
	assert.ErrorIs(t, err, context.Canceled)
	// Rows of 172 fit no legacy block, as in llama.cpp.
	err = QuantizeFile(t.Context(), stories260K, out, gguf.FileTypeQ8_0, Options{})
	assert.ErrorContains(t, err, "blk.0.ffn_down.weight")
	// The lowest-bit mixes need an importance matrix.
	err = QuantizeFile(t.Context(), testdataOracle[0].path, out, gguf.FileTypeQ2_K_S, Options{AllowRequantize: true})
	assert.ErrorContains(t, err, "importance matrix")
	// Types golem cannot encode yet are refused before anything is written.
	err = QuantizeFile(t.Context(), testdataOracle[0].path, out, gguf.FileTypeIQ3_M, Options{AllowRequantize: true})
	assert.ErrorContains(t, err, "is not supported yet")
	// A quantized input is not requantized unless asked.
	err = QuantizeFile(t.Context(), testdataOracle[0].path, out, gguf.FileTypeQ8_0, Options{})
	assert.ErrorContains(t, err, "requantizing is disabled")
	err = QuantizeFile(t.Context(), filepath.Join(dir, "missing.gguf"), out, gguf.FileTypeQ8_0, Options{})
	assert.Error(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "no output or temporary file is left behind")

	// With AllowRequantize, a Q4_0 model converts to Q8_0.
	require.NoError(t, QuantizeFile(t.Context(), testdataOracle[0].path, out, gguf.FileTypeQ8_0, Options{AllowRequantize: true}))
	f, err := gguf.Open(out)
	require.NoError(t, err)
	defer f.Close()
	ti, ok := f.Tensor("blk.0.attn_q.weight")
	require.True(t, ok)
	assert.Equal(t, gguf.TypeQ8_0, ti.Type)
}

// TestDequantizeTestdataFiles decodes every tensor of llama.cpp's quantized files and
// checks the statistics the oracle's README gives for the weights: matrices N(0, 0.05),
// token embeddings N(0, 0.5), norm weights 1+N(0, 0.05).
func TestDequantizeTestdataFiles(t *testing.T) {
	for _, c := range testdataOracle {
		f, err := gguf.Open(c.path)
		require.NoError(t, err)
		for i := range f.Tensors {
			ti := &f.Tensors[i]
			raw, err := f.TensorData(ti)
			require.NoError(t, err)
			y := make([]float32, ti.Elements())
			require.NoError(t, Dequantize(ti.Type, raw, y), ti.Name)
			var sum, sum2 float64
			for _, v := range y {
				sum += float64(v)
				sum2 += float64(v) * float64(v)
			}
			n := float64(len(y))
			mean := sum / n
			std := math.Sqrt(sum2/n - mean*mean)
			switch {
			case ti.Name == "token_embd.weight":
				assert.InDelta(t, 0.5, std, 0.03, ti.Name)
			case nDims(ti.Dims) == 1:
				assert.InDelta(t, 1, mean, 0.02, ti.Name)
				assert.InDelta(t, 0.05, std, 0.015, ti.Name)
			default:
				assert.InDelta(t, 0, mean, 0.005, ti.Name)
				assert.InDelta(t, 0.05, std, 0.004, "%s %s", ti.Name, ti.Type)
			}
		}
		f.Close()
	}
}
