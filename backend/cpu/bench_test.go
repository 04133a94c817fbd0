package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// BenchmarkMatMul measures the backend's MatMul per weight type at a decode shape (one
// token by a 2048→5632 projection, TinyLlama's ffn_up) and a prompt shape (64 tokens
// by 2048→2048), with every thread of the machine. Bytes are the weight bytes read per
// call, so MB/s is the weight throughput; gflop/s counts 2·n·in·out, and gflop/cpu-s is
// the same work per second of CPU time over all threads (steadier than wall time when
// other work shares the cores).
//
//	go test -run '^$' -bench BenchmarkMatMul -benchtime 20x ./backend/cpu/
func BenchmarkMatMul(b *testing.B) {
	be := New(backend.Options{})
	defer be.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, t := range []gguf.Type{gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ6_K, gguf.TypeQ5_K, gguf.TypeF16, gguf.TypeF32} {
		for _, s := range []struct{ n, in, out int }{{1, 2048, 5632}, {64, 2048, 2048}} {
			vals := make([]float32, s.in*s.out)
			for i := range vals {
				vals[i] = float32(rng.NormFloat64() * 0.02)
			}
			dims := []uint64{uint64(s.in), uint64(s.out)}
			size, _ := t.TensorBytes(dims)
			raw := make([]byte, size)
			if err := quant.Quantize(t, vals, raw); err != nil {
				b.Fatal(err)
			}
			w, err := be.Upload(&gguf.TensorInfo{Name: "w", Type: t, Dims: dims, Size: size}, raw)
			if err != nil {
				b.Fatal(err)
			}
			x, _ := be.Alloc("x", gguf.TypeF32, s.n, s.in)
			xv := make([]float32, s.n*s.in)
			for i := range xv {
				xv[i] = float32(rng.NormFloat64())
			}
			_ = be.Write(x, xv)
			dst, _ := be.Alloc("dst", gguf.TypeF32, s.n, s.out)
			b.Run(fmt.Sprintf("%s/%dx%d_by_%dx%d", t, s.n, s.in, s.in, s.out), func(b *testing.B) {
				b.SetBytes(int64(size))
				cpu0 := processCPU()
				for b.Loop() {
					if err := be.MatMul(dst, x, w); err != nil {
						b.Fatal(err)
					}
				}
				flops := 2 * float64(s.n) * float64(s.in) * float64(s.out) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "gflop/s")
				if cpu := processCPU() - cpu0; cpu > 0 {
					b.ReportMetric(flops/cpu.Seconds()/1e9, "gflop/cpu-s")
				}
			})
		}
	}
}
