package presets

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// GenerateOptions tune WriteFile.
type GenerateOptions struct {
	// Seed selects the weights: the same seed gives the same file, byte for byte,
	// whatever Threads is.
	Seed uint64
	// Threads bounds the goroutines filling and quantizing a tensor; 0 means GOMAXPROCS.
	Threads int
	// Progress, when set, is called after each tensor is written.
	Progress func(GenerateProgress)
}

// GenerateProgress reports one tensor of WriteFile, after it was written.
type GenerateProgress struct {
	Index, Count int // 1-based position of the tensor, and the number of tensors
	Tensor       quant.TensorPlan
	Bytes        uint64 // the tensor's size in the file
	Done, Total  uint64 // tensor bytes written so far, and in all
}

// chunkElems is the number of values generated with one random stream: a chunk is a
// run of whole rows, so chunks are quantized independently and in any order.
const chunkElems = 1 << 16

// WriteFile writes a GGUF file of the preset's shape with seeded random weights,
// quantized to ft with golem quantize's per-tensor rules: the file is what `golem
// quantize` makes of the F32 file WriteFile writes for gguf.FileTypeAllF32 with the
// same seed. Tensors are generated one at a time (memory holds one tensor), each spread
// over Threads goroutines, into a temporary file beside path that is renamed over it
// only when complete: an error or a cancelled ctx leaves nothing behind.
//
// The scales keep activations finite through every layer: matrices are N(0, 1/fan_in)
// (so a product keeps its input's scale), norm weights 1+N(0, 0.02²), biases
// N(0, 0.02²); Mamba's A is -(1..d_state) per channel, D is 1 and the dt bias is the
// inverse softplus of a log-uniform step in [0.001, 0.1], as in Mamba's initialisation.
func (p Preset) WriteFile(ctx context.Context, path string, ft gguf.FileType, opts GenerateOptions) (err error) {
	if _, err := quant.DefaultType(ft); err != nil {
		return err
	}
	plans, err := p.Plan(ft)
	if err != nil {
		return err
	}
	specs := make([]gguf.TensorSpec, len(plans))
	var total uint64
	for i, pl := range plans {
		if err := checkGeneratable(pl, ft); err != nil {
			return err
		}
		specs[i] = gguf.TensorSpec{Name: pl.Name, Type: pl.To, Dims: pl.Dims}
		b, err := pl.To.TensorBytes(pl.Dims)
		if err != nil {
			return fmt.Errorf("tensor %s: %w", pl.Name, err)
		}
		total += b
	}
	meta, err := p.Metadata(ft)
	if err != nil {
		return err
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating the output: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w, err := gguf.NewWriter(tmp, meta, specs)
	if err != nil {
		return err
	}
	var done uint64
	for i, pl := range plans {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := tensorData(ctx, pl, opts.Seed, threads)
		if err != nil {
			return fmt.Errorf("tensor %s: %w", pl.Name, err)
		}
		if err := w.WriteTensor(pl.Name, data); err != nil {
			return err
		}
		done += uint64(len(data))
		if opts.Progress != nil {
			opts.Progress(GenerateProgress{Index: i + 1, Count: len(plans), Tensor: pl,
				Bytes: uint64(len(data)), Done: done, Total: total})
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	// CreateTemp makes the file private (0600); a model file is an ordinary file.
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing the output: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing the output: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the output: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("renaming the output into place: %w", err)
	}
	return nil
}

// checkGeneratable refuses what golem quantize refuses: types it cannot encode and the
// mixes that need an importance matrix.
func checkGeneratable(pl quant.TensorPlan, ft gguf.FileType) error {
	if !pl.Convert {
		return nil
	}
	if ft == gguf.FileTypeQ2_K_S && pl.To == gguf.TypeQ2_K && pl.Name != "token_embd.weight" {
		return fmt.Errorf("tensor %s: %s in a %s model needs an importance matrix, which golem's quantizer does not take", pl.Name, pl.To, ft)
	}
	if !quant.CanQuantize(pl.To) {
		return fmt.Errorf("tensor %s: type %s is not supported yet", pl.Name, pl.To)
	}
	return nil
}

// initKind is how a tensor's values are drawn.
type initKind int

const (
	initMatrix initKind = iota // N(0, 1/fan_in)
	initNorm                   // 1 + N(0, 0.02²)
	initBias                   // N(0, 0.02²)
	initOnes                   // 1
	initSSMA                   // -(1..d_state) along each row
	initDtBias                 // softplus⁻¹ of a log-uniform step in [1e-3, 1e-1]
)

func initOf(name string, dims []uint64) initKind {
	switch {
	case strings.HasSuffix(name, "_norm.weight"):
		return initNorm
	case strings.HasSuffix(name, "ssm_dt.bias"):
		return initDtBias
	case strings.HasSuffix(name, ".bias"):
		return initBias
	case strings.HasSuffix(name, "ssm_a"):
		return initSSMA
	case strings.HasSuffix(name, "ssm_d") || len(dims) == 1:
		return initOnes
	}
	return initMatrix
}

// streamSeed derives the seed of a tensor's random streams from the file's seed and the
// tensor's name, so that tensors do not share values and the order of generation does
// not matter.
func streamSeed(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	x := seed ^ h.Sum64()
	// splitmix64's finaliser spreads nearby seeds apart.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// fill writes the values of rows [row0, row0+len(dst)/rowLen) of a tensor.
func fill(kind initKind, dst []float32, rowLen int, std float64, rng *rand.Rand) {
	switch kind {
	case initMatrix:
		for i := range dst {
			dst[i] = float32(rng.NormFloat64() * std)
		}
	case initNorm:
		for i := range dst {
			dst[i] = float32(1 + 0.02*rng.NormFloat64())
		}
	case initBias:
		for i := range dst {
			dst[i] = float32(0.02 * rng.NormFloat64())
		}
	case initOnes:
		for i := range dst {
			dst[i] = 1
		}
	case initSSMA:
		for i := range dst {
			dst[i] = -float32(i%rowLen + 1)
		}
	case initDtBias:
		lo, hi := math.Log(1e-3), math.Log(1e-1)
		for i := range dst {
			dt := max(math.Exp(lo+(hi-lo)*rng.Float64()), 1e-4)
			dst[i] = float32(dt + math.Log(-math.Expm1(-dt)))
		}
	}
}

// tensorData generates and encodes one tensor. Chunks of whole rows each have their own
// random stream and are encoded independently, so the bytes do not depend on threads.
func tensorData(ctx context.Context, pl quant.TensorPlan, seed uint64, threads int) ([]byte, error) {
	rowLen := int(pl.Dims[0])
	var elems uint64 = 1
	for _, d := range pl.Dims {
		elems *= d
	}
	rows := int(elems / uint64(rowLen))
	outRow, err := pl.To.RowBytes(uint64(rowLen))
	if err != nil {
		return nil, err
	}
	out := make([]byte, uint64(rows)*outRow)
	kind := initOf(pl.Name, pl.Dims)
	std := 1 / math.Sqrt(float64(rowLen))
	base := streamSeed(seed, pl.Name)
	chunkRows := max(1, chunkElems/rowLen)
	nChunks := (rows + chunkRows - 1) / chunkRows
	workers := min(threads, nChunks)

	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	setErr := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]float32, chunkRows*rowLen)
			for {
				c := int(next.Add(1) - 1)
				if c >= nChunks {
					return
				}
				if err := ctx.Err(); err != nil {
					setErr(err)
					return
				}
				r0 := c * chunkRows
				r1 := min(rows, r0+chunkRows)
				vals := buf[:(r1-r0)*rowLen]
				rng := rand.New(rand.NewPCG(base, uint64(c)))
				err := gguf.Guard(func() error {
					fill(kind, vals, rowLen, std, rng)
					return quant.Quantize(pl.To, vals, out[uint64(r0)*outRow:uint64(r1)*outRow])
				})
				if err != nil {
					setErr(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
