package quant

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/internal/shared"
	"github.com/stretchr/testify/require"
)

// oracleModels lists the architectures of the shared oracle, each with its -F32.gguf
// and its quantized files.
func oracleModels(t *testing.T) map[string][]string {
	t.Helper()
	dir := filepath.Join(shared.Dir(t), "oracle", "models")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string][]string{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		files, err := filepath.Glob(filepath.Join(dir, e.Name(), "*.gguf"))
		require.NoError(t, err)
		sort.Strings(files)
		if len(files) > 0 {
			out[e.Name()] = files
		}
	}
	require.NotEmpty(t, out, "no oracle models under %s", dir)
	return out
}

func f32Tensor(t *testing.T, f *gguf.File, name string) []float32 {
	t.Helper()
	ti, ok := f.Tensor(name)
	require.True(t, ok, "tensor %s missing", name)
	require.Equal(t, gguf.TypeF32, ti.Type)
	raw, err := f.TensorData(ti)
	require.NoError(t, err)
	x := make([]float32, ti.Elements())
	require.NoError(t, Dequantize(gguf.TypeF32, raw, x))
	return x
}

// TestOracleTensorBytes quantizes every F32 tensor of each architecture's -F32.gguf to
// the type the quantized oracle file holds for it and compares the bytes.
func TestOracleTensorBytes(t *testing.T) {
	for arch, files := range oracleModels(t) {
		var f32Path string
		var quantized []string
		for _, p := range files {
			if strings.HasSuffix(p, "-F32.gguf") {
				f32Path = p
			} else {
				quantized = append(quantized, p)
			}
		}
		require.NotEmpty(t, f32Path, arch)
		src, err := gguf.Open(f32Path)
		require.NoError(t, err)
		for _, qp := range quantized {
			t.Run(filepath.Base(qp), func(t *testing.T) {
				qf, err := gguf.Open(qp)
				require.NoError(t, err)
				defer qf.Close()
				for i := range qf.Tensors {
					ti := &qf.Tensors[i]
					want, err := qf.TensorData(ti)
					require.NoError(t, err)
					x := f32Tensor(t, src, ti.Name)
					got := make([]byte, len(want))
					require.NoError(t, Quantize(ti.Type, x, got), ti.Name)
					if string(got) != string(want) {
						t.Errorf("%s (%s %v): %d of %d bytes differ, first at %d", ti.Name, ti.Type, ti.Dims,
							countDiff(got, want), len(want), firstDiff(got, want))
					}
				}
			})
		}
		src.Close()
	}
}

func countDiff(a, b []byte) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestOracleQuantizeFile quantizes each -F32.gguf to Q8_0, Q4_0 and Q4_K_M and compares
// the output with llama.cpp's file: every tensor's name, order, type, shape and bytes,
// the metadata, and then the whole file byte for byte.
func TestOracleQuantizeFile(t *testing.T) {
	for arch, files := range oracleModels(t) {
		for _, ftName := range []string{"Q8_0", "Q4_0", "Q4_K_M"} {
			var f32Path, wantPath string
			for _, p := range files {
				switch {
				case strings.HasSuffix(p, "-F32.gguf"):
					f32Path = p
				case strings.HasSuffix(p, "-"+ftName+".gguf"):
					wantPath = p
				}
			}
			if f32Path == "" || wantPath == "" {
				continue
			}
			t.Run(arch+"-"+ftName, func(t *testing.T) {
				ft, err := gguf.ParseFileType(ftName)
				require.NoError(t, err)
				out := filepath.Join(t.TempDir(), "out.gguf")
				require.NoError(t, QuantizeFile(t.Context(), f32Path, out, ft, Options{}))
				compareGGUF(t, wantPath, out)
			})
		}
	}
}

func compareGGUF(t *testing.T, wantPath, gotPath string) {
	t.Helper()
	want, err := gguf.Open(wantPath)
	require.NoError(t, err)
	defer want.Close()
	got, err := gguf.Open(gotPath)
	require.NoError(t, err)
	defer got.Close()
	require.Equal(t, len(want.Meta.KVs()), len(got.Meta.KVs()))
	for i, kv := range want.Meta.KVs() {
		g := got.Meta.KVs()[i]
		require.Equal(t, kv.Key, g.Key)
		require.Equal(t, kv.Value.String(), g.Value.String(), kv.Key)
	}
	require.Equal(t, len(want.Tensors), len(got.Tensors))
	for i, wt := range want.Tensors {
		gt := got.Tensors[i]
		require.Equal(t, wt.Name, gt.Name, "tensor %d", i)
		require.Equal(t, wt.Type.String(), gt.Type.String(), wt.Name)
		require.Equal(t, wt.Dims, gt.Dims, wt.Name)
		wb, err := want.TensorData(&want.Tensors[i])
		require.NoError(t, err)
		gb, err := got.TensorData(&got.Tensors[i])
		require.NoError(t, err)
		if string(wb) != string(gb) {
			t.Errorf("%s (%s): %d of %d bytes differ", wt.Name, wt.Type, countDiff(wb, gb), len(wb))
		}
	}
	wb, err := os.ReadFile(wantPath)
	require.NoError(t, err)
	gb, err := os.ReadFile(gotPath)
	require.NoError(t, err)
	require.Equal(t, len(wb), len(gb), "file size")
	require.True(t, string(wb) == string(gb), "files differ, first at byte %d", firstDiff(wb, gb))
}
