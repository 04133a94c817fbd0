//go:build cuda

package cuda_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/backend/conformance"
	"github.com/golem-llm/golem/backend/cuda"
	"github.com/golem-llm/golem/gguf"
	"github.com/stretchr/testify/require"
)

// open returns the CUDA backend, or skips the test saying why it cannot run here (no
// library, no driver, no GPU). Any other failure to open is an error.
func open(t *testing.T) *cuda.Backend {
	t.Helper()
	b, err := cuda.New(backend.Options{Threads: 2})
	if errors.Is(err, backend.ErrUnavailable) {
		if os.Getenv(requireEnv) != "" {
			t.Fatalf("%s is set but: %v", requireEnv, err)
		}
		t.Skipf("CUDA backend unavailable here (GPU tests run in the GPU session, scripts/gpu-check.sh): %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

// requireEnv, when set (scripts/gpu-check.sh sets it on the GPU machine), turns the
// skips for a missing GPU into failures.
const requireEnv = "GOLEM_CUDA_REQUIRE"

// TestSmoke is gpu-check's smoke test: one kernel (RMSNorm) and one cuBLAS GEMM (a
// 64-row Q4_0 matmul) against the CPU reference.
func TestSmoke(t *testing.T) {
	b := open(t)
	ref, _, err := backend.Open("cpu", backend.Options{Reference: true})
	require.NoError(t, err)
	defer ref.Close()
	for _, c := range []conformance.Case{
		{Op: "RMS_NORM", Shape: conformance.Shape{Rows: 4, Cols: 4096}, MaxNMSE: 1e-7},
		{Op: "MUL_MAT", Type: gguf.TypeQ4_0, Shape: conformance.Shape{M: 67, N: 64, K: 256}, MaxNMSE: 5e-4},
	} {
		r := conformance.Compare(ref, b, c, 1)
		require.NoError(t, r.Err, c.Name())
		require.LessOrEqual(t, r.NMSE, c.MaxNMSE, c.Name())
		t.Logf("%s: NMSE %.3g", c.Name(), r.NMSE)
	}
}

// TestOpenOrSkip: the backend opens on a GPU host and says why not elsewhere; the
// registry knows it either way.
func TestOpenOrSkip(t *testing.T) {
	require.Contains(t, backend.Compiled(), "cuda")
	b, err := cuda.New(backend.Options{})
	if err != nil && os.Getenv(requireEnv) != "" {
		t.Fatalf("%s is set but: %v", requireEnv, err)
	}
	if err != nil {
		require.ErrorIs(t, err, backend.ErrUnavailable, "a host without CUDA must give ErrUnavailable, not another error")
		require.NotEmpty(t, err.Error())
		t.Logf("unavailable, as expected without a GPU: %v", err)
		// auto falls back to a backend that runs here.
		fb, why, err := backend.Open("auto", backend.Options{Threads: 1})
		require.NoError(t, err)
		defer fb.Close()
		require.NotEqual(t, "cuda", fb.Name())
		require.Contains(t, why, "skipped cuda")
		t.Log(why)
		// Asking for cuda by name is a clear error.
		_, _, err = backend.Open("cuda", backend.Options{})
		require.ErrorIs(t, err, backend.ErrUnavailable)
		t.Skipf("no GPU: %v", err)
	}
	defer b.Close()
	d := b.Device()
	t.Logf("device %s (sm_%d%d, %d SMs, %.1f GiB, ~%.0f GB/s), library %s", d.Name, d.Major, d.Minor, d.Multiprocessors,
		float64(d.TotalMemory)/(1<<30), d.BandwidthGBs(), cuda.LibraryPath())
	require.NotEmpty(t, d.Name)
}

// TestDevicesOrSkip lists the GPUs through the library.
func TestDevicesOrSkip(t *testing.T) {
	devs, err := cuda.Devices()
	if err != nil {
		t.Skipf("no CUDA devices here: %v", err)
	}
	for _, d := range devs {
		t.Logf("%d: %s %d.%d, %d MiB", d.Index, d.Name, d.Major, d.Minor, d.TotalMemory>>20)
	}
}

// TestConformance runs the whole op table against the CPU reference (the same table
// backend/conformance runs on every backend compiled in), with each case's bound.
func TestConformance(t *testing.T) {
	b := open(t)
	ref, _, err := backend.Open("cpu", backend.Options{Reference: true})
	require.NoError(t, err)
	defer ref.Close()
	for _, c := range conformance.Cases() {
		t.Run(c.Name(), func(t *testing.T) {
			r := conformance.Compare(ref, b, c, 20261129)
			switch {
			case r.Skipped != "":
				t.Skip(r.Skipped)
			case r.Err != nil:
				t.Fatal(r.Err)
			case r.NMSE > c.MaxNMSE:
				t.Fatalf("NMSE %.3g > %.3g", r.NMSE, c.MaxNMSE)
			}
		})
	}
}

// TestBigShapes checks the kernels on real model sizes: a 4096-wide decode mat-vec
// and prompt-sized GEMMs through cuBLAS.
func TestBigShapes(t *testing.T) {
	b := open(t)
	ref, _, err := backend.Open("cpu", backend.Options{})
	require.NoError(t, err)
	defer ref.Close()
	for _, typ := range []gguf.Type{gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ6_K, gguf.TypeF16, gguf.TypeF32} {
		for _, n := range []int{1, 4, 8, 9, 128} {
			c := conformance.Case{Op: "MUL_MAT", Type: typ, Shape: conformance.Shape{M: 1024, N: n, K: 4096}, MaxNMSE: 5e-4}
			t.Run(c.Name(), func(t *testing.T) {
				r := conformance.Compare(ref, b, c, 7)
				require.NoError(t, r.Err)
				require.LessOrEqual(t, r.NMSE, c.MaxNMSE)
			})
		}
	}
}

// TestLongAttention fills a cache with a 700-token prompt of two sequences (the tiled
// prefill path), then decodes one token of each (split over blocks: flash-decoding),
// on CUDA and on the CPU, F32 and F16 caches.
func TestLongAttention(t *testing.T) {
	b := open(t)
	ref, _, err := backend.Open("cpu", backend.Options{})
	require.NoError(t, err)
	defer ref.Close()
	const heads, headsKV, hd, cells = 32, 8, 128, 1024
	for _, dt := range []gguf.Type{gguf.TypeF32, gguf.TypeF16} {
		for _, window := range []int{0, 300} {
			run := func(be backend.Backend) [][]float32 {
				rng := rand.New(rand.NewPCG(1, 2))
				kv, err := be.NewKVCache(1, cells, headsKV*hd, headsKV*hd, dt)
				require.NoError(t, err)
				var outs [][]float32
				tok := 0
				for _, n := range []int{700, 2} {
					batch := &backend.Batch{}
					for i := range n {
						seq, pos := int32((tok+i)%2), int32((tok+i)/2)
						batch.Pos, batch.Seq, batch.Cells = append(batch.Pos, pos), append(batch.Seq, seq), append(batch.Cells, int32(tok+i))
						kv.Cells[tok+i] = backend.Cell{Pos: pos, Seq: seq}
					}
					tok += n
					mk := func(h int) backend.Tensor {
						x, err := be.Alloc("x", gguf.TypeF32, n, h, hd)
						require.NoError(t, err)
						v := make([]float32, n*h*hd)
						for i := range v {
							v[i] = float32(rng.NormFloat64())
						}
						require.NoError(t, be.Write(x, v))
						return x
					}
					q, k, v := mk(heads), mk(headsKV), mk(headsKV)
					dst, err := be.Alloc("dst", gguf.TypeF32, n, heads, hd)
					require.NoError(t, err)
					require.NoError(t, be.Attention(dst, q, k, v, kv, 0, batch, backend.AttnParams{Scale: 0.088, Causal: true, Window: window}))
					out := make([]float32, n*heads*hd)
					require.NoError(t, be.Read(dst, out))
					outs = append(outs, out)
				}
				return outs
			}
			want, got := run(ref), run(b)
			for i := range want {
				nmse := conformance.NMSE(want[i], got[i])
				t.Logf("%s window %d step %d: NMSE %.3g", dt, window, i, nmse)
				require.LessOrEqual(t, nmse, 5e-4)
			}
		}
	}
}
