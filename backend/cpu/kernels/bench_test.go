package kernels

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// The benchmarks multiply a TinyLlama-shape weight (5632 rows of 2048) by one activation
// row, reporting weight bytes per second. "L3" reuses one matrix (6-46 MB: it mostly
// stays in this machine's 32 MB L3); "DRAM" cycles through enough copies (>= 192 MB)
// that every weight comes from memory, as in a real decode.
const (
	benchRows = 5632
	benchCols = 2048
	dramBytes = 192 << 20
)

// benchWeights returns count matrices of random valid blocks (speed does not depend on
// the values, only on their being finite).
func benchWeights(wt gguf.Type, count int) []byte {
	src := rand.NewChaCha8([32]byte{byte(wt)})
	r := rand.New(src)
	rb := benchCols / wt.BlockSize() * wt.BlockBytes()
	buf := make([]byte, count*benchRows*rb)
	switch wt {
	case gguf.TypeF32:
		for i := 0; i < len(buf); i += 4 {
			binary.LittleEndian.PutUint32(buf[i:], math.Float32bits(float32(r.NormFloat64())))
		}
		return buf
	case gguf.TypeF16, gguf.TypeBF16:
		for i := 0; i < len(buf); i += 2 {
			f := float32(r.NormFloat64())
			h := quant.FP32ToFP16(f)
			if wt == gguf.TypeBF16 {
				h = quant.FP32ToBF16(f)
			}
			binary.LittleEndian.PutUint16(buf[i:], h)
		}
		return buf
	}
	_, _ = src.Read(buf)
	bb := wt.BlockBytes()
	for b := 0; b < len(buf)/bb; b++ {
		for _, off := range halfFields[wt] {
			binary.LittleEndian.PutUint16(buf[b*bb+off:], 0x2e66) // 0.1
		}
	}
	return buf
}

func benchActivations(b *testing.B, wt gguf.Type) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	at, _ := VecDotType(wt)
	f := randFloats(r, benchCols)
	buf := make([]byte, benchCols/at.BlockSize()*at.BlockBytes())
	var err error
	switch at {
	case gguf.TypeQ8_0:
		err = quant.QuantizeActivationsQ8_0(f, buf)
	case gguf.TypeQ8_1:
		err = quant.QuantizeActivationsQ8_1(f, buf)
	case gguf.TypeQ8_K:
		err = quant.QuantizeActivationsQ8_K(f, buf)
	default:
		err = quant.Quantize(at, f, buf)
	}
	if err != nil {
		b.Fatal(err)
	}
	return buf
}

func BenchmarkMatVec(b *testing.B) {
	for _, wt := range allTypes {
		rb := benchCols / wt.BlockSize() * wt.BlockBytes()
		matBytes := benchRows * rb
		for _, where := range []string{"L3", "DRAM"} {
			for _, threads := range []int{1, 2} {
				name := wt.String() + "/" + where + "/" + []string{"", "1thread", "2threads"}[threads]
				b.Run(name, func(b *testing.B) {
					count := 1
					if where == "DRAM" {
						count = max(1, (dramBytes+matBytes-1)/matBytes)
					}
					w := benchWeights(wt, count)
					x := benchActivations(b, wt)
					dst := make([]float32, benchRows)
					f, _ := MatVecKernel(wt)
					nb := benchCols / wt.BlockSize()
					b.SetBytes(int64(matBytes))
					b.ResetTimer()
					i := 0
					for b.Loop() {
						m := w[(i%count)*matBytes:][:matBytes]
						i++
						if threads == 1 {
							f(dst, m, rb, x, nb)
							continue
						}
						var wg sync.WaitGroup
						half := benchRows / 2
						wg.Go(func() { f(dst[half:], m[half*rb:], rb, x, nb) })
						f(dst[:half], m, rb, x, nb)
						wg.Wait()
					}
				})
			}
		}
	}
}

// BenchmarkMemRead is the plain read bandwidth beside them: a sum over 192 MB of
// uint64 words (one thread), and the same split over two threads.
func BenchmarkMemRead(b *testing.B) {
	buf := make([]uint64, dramBytes/8)
	for i := range buf {
		buf[i] = uint64(i)
	}
	for _, threads := range []int{1, 2} {
		b.Run([]string{"", "1thread", "2threads"}[threads], func(b *testing.B) {
			b.SetBytes(int64(len(buf) * 8))
			var sink uint64
			for b.Loop() {
				if threads == 1 {
					sink += sumWords(buf)
					continue
				}
				var wg sync.WaitGroup
				var s2 uint64
				half := len(buf) / 2
				wg.Go(func() { s2 = sumWords(buf[half:]) })
				sink += sumWords(buf[:half])
				wg.Wait()
				sink += s2
			}
			if sink == 1 {
				b.Log(sink)
			}
		})
	}
}

func sumWords(p []uint64) uint64 {
	var s0, s1, s2, s3, s4, s5, s6, s7 uint64
	for len(p) >= 8 {
		q := (*[8]uint64)(p)
		s0 += q[0]
		s1 += q[1]
		s2 += q[2]
		s3 += q[3]
		s4 += q[4]
		s5 += q[5]
		s6 += q[6]
		s7 += q[7]
		p = p[8:]
	}
	for _, v := range p {
		s0 += v
	}
	return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7
}

// BenchmarkGemm multiplies a 2048x2048 weight by 64 activation rows on one thread as the
// CPU backend's batches do (16 weight rows per chunk, the whole batch per chunk): the
// path's tile kernel ("tile") against its one-row kernel called per activation row
// ("rows"). ns/op over 2048*2048*64 is reported as ns per 32 products.
func BenchmarkGemm(b *testing.B) {
	const rows, cols, nx, chunk = 2048, 2048, 64, 16
	for _, c := range []struct {
		wt gguf.Type
		p  Path
	}{{gguf.TypeQ8_0, PathTinyBLAS}, {gguf.TypeF16, PathTinyBLAS}} {
		g, ok := PathGemm(c.wt, c.p)
		one, _ := PathKernel(c.wt, c.p)
		rb := cols / c.wt.BlockSize() * c.wt.BlockBytes()
		w := benchWeights(c.wt, 1)[:rows*rb]
		x1 := benchActivations(b, c.wt)
		xb := len(x1)
		x := make([]byte, nx*xb)
		for i := range nx {
			copy(x[i*xb:], x1)
		}
		nb := cols / c.wt.BlockSize()
		dst := make([]float32, nx*rows)
		for _, mode := range []string{"tile", "rows"} {
			if mode == "tile" && !ok {
				continue
			}
			b.Run(c.wt.String()+"/"+mode, func(b *testing.B) {
				for b.Loop() {
					for lo := 0; lo < rows; lo += chunk {
						if mode == "tile" {
							g(dst[lo:], rows, w[lo*rb:], rb, chunk, x, xb, nx, nb)
							continue
						}
						for i := range nx {
							one(dst[i*rows+lo:i*rows+lo+chunk], w[lo*rb:], rb, x[i*xb:], nb)
						}
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows*cols/32*nx), "ns/blk")
			})
		}
	}
}
