package quant

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/golem-llm/golem/gguf"
)

// QuantizationVersion is the value llama.cpp stores as general.quantization_version
// (GGML_QNT_VERSION).
const QuantizationVersion = 2

// Progress reports one tensor of a file quantization, after it was written.
type Progress struct {
	Index, Count int // 1-based position of the tensor and the number of tensors
	Tensor       TensorPlan
	BytesIn      uint64 // the tensor's size in the input
	BytesOut     uint64 // and in the output
}

// Options tune QuantizeFile; the zero value is llama-quantize's default behaviour.
type Options struct {
	// Progress, when set, is called after each tensor is written.
	Progress func(Progress)
	// Threads bounds the goroutines quantizing one tensor; 0 means GOMAXPROCS.
	Threads int
	// AllowRequantize permits converting tensors that are already quantized (lossy
	// twice); llama-quantize refuses that unless asked.
	AllowRequantize bool
}

// OutputMetadata is the metadata of a quantization to ft: the input's entries, with
// general.quantization_version and general.file_type (re)appended at the end in that
// order and the split keys dropped, as llama-quantize writes them.
func OutputMetadata(in gguf.Metadata, ft gguf.FileType) (gguf.Metadata, error) {
	meta, err := gguf.NewMetadata(append([]gguf.KV(nil), in.KVs()...))
	if err != nil {
		return gguf.Metadata{}, err
	}
	for _, kv := range []gguf.KV{
		{Key: "general.quantization_version", Value: gguf.MustValue(uint32(QuantizationVersion))},
		{Key: "general.file_type", Value: gguf.MustValue(uint32(ft))},
	} {
		meta.Delete(kv.Key)
		meta.Set(kv.Key, kv.Value)
	}
	for _, k := range []string{"split.no", "split.count", "split.tensors.count"} {
		meta.Delete(k)
	}
	return meta, nil
}

// QuantizeFile writes the model at inPath, quantized to ft with llama-quantize's rules,
// to outPath. Tensors are converted one at a time (memory holds one tensor, not the
// model), into a temporary file beside outPath that is renamed over it only when
// complete: an error or a cancelled ctx leaves no partial output behind.
func QuantizeFile(ctx context.Context, inPath, outPath string, ft gguf.FileType, opts Options) (err error) {
	in, err := gguf.Open(inPath)
	if err != nil {
		return err
	}
	defer in.Close()
	plans, err := Plan(in.Meta, in.Tensors, ft)
	if err != nil {
		return err
	}
	specs := make([]gguf.TensorSpec, len(plans))
	for i, p := range plans {
		if p.Convert {
			if err := checkConvertible(p, ft, opts.AllowRequantize); err != nil {
				return err
			}
		}
		specs[i] = gguf.TensorSpec{Name: p.Name, Type: p.To, Dims: p.Dims}
	}
	meta, err := OutputMetadata(in.Meta, ft)
	if err != nil {
		return err
	}

	tmp, err := os.CreateTemp(filepath.Dir(outPath), "."+filepath.Base(outPath)+".tmp-*")
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
	for i, p := range plans {
		if err := ctx.Err(); err != nil {
			return err
		}
		ti, _ := in.Tensor(p.Name)
		var data []byte
		if p.Convert {
			data, err = convertTensor(in, ti, p.To, opts.Threads)
		} else {
			data, err = in.ReadTensor(ti)
		}
		if err != nil {
			return fmt.Errorf("tensor %s: %w", p.Name, err)
		}
		if err := w.WriteTensor(p.Name, data); err != nil {
			return err
		}
		if opts.Progress != nil {
			opts.Progress(Progress{Index: i + 1, Count: len(plans), Tensor: p, BytesIn: ti.Size, BytesOut: uint64(len(data))})
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing the output: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the output: %w", err)
	}
	if err := os.Rename(tmp.Name(), outPath); err != nil {
		return fmt.Errorf("renaming the output into place: %w", err)
	}
	return nil
}

func checkConvertible(p TensorPlan, ft gguf.FileType, allowRequantize bool) error {
	// llama-quantize refuses the lowest-bit types without an importance matrix.
	needsIMatrix := false
	switch p.To {
	case gguf.TypeIQ2_XXS, gguf.TypeIQ2_XS, gguf.TypeIQ2_S, gguf.TypeIQ1_S:
		needsIMatrix = true
	case gguf.TypeIQ1_M:
		needsIMatrix = p.Name != "token_embd.weight" && p.Name != "output.weight"
	case gguf.TypeQ2_K:
		needsIMatrix = ft == gguf.FileTypeQ2_K_S && p.Name != "token_embd.weight"
	}
	if needsIMatrix {
		return fmt.Errorf("tensor %s: %s in a %s model needs an importance matrix, which golem's quantizer does not take", p.Name, p.To, ft)
	}
	if !CanQuantize(p.To) {
		return fmt.Errorf("tensor %s: %w", p.Name, notSupported(p.To))
	}
	if !CanDequantize(p.From) {
		return fmt.Errorf("tensor %s: reading it: %w", p.Name, notSupported(p.From))
	}
	if p.From.Quantized() && !allowRequantize {
		return fmt.Errorf("tensor %s is already quantized (%s): requantizing is disabled", p.Name, p.From)
	}
	return nil
}

// convertTensor decodes the tensor's rows and encodes them as type to, in chunks of
// rows spread over goroutines (rows are independent, so the bytes do not depend on the
// split).
func convertTensor(f *gguf.File, ti *gguf.TensorInfo, to gguf.Type, threads int) ([]byte, error) {
	src, err := f.TensorData(ti)
	if err != nil {
		return nil, err
	}
	rowLen := int(ti.Dims[0])
	rows := int(ti.Rows())
	inRow, err := ti.Type.RowBytes(uint64(rowLen))
	if err != nil {
		return nil, err
	}
	outRow, err := to.RowBytes(uint64(rowLen))
	if err != nil {
		return nil, err
	}
	out := make([]byte, uint64(rows)*outRow)
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	// A few chunks per goroutine balance the load; chunks of at least 16K elements keep
	// each worth its start.
	per := max(1, (rows+4*threads-1)/(4*threads), 16384/rowLen)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, threads)
	for r0 := 0; r0 < rows; r0 += per {
		r1 := min(rows, r0+per)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			buf := make([]float32, (r1-r0)*rowLen)
			err := gguf.Guard(func() error {
				if err := Dequantize(ti.Type, src[uint64(r0)*inRow:uint64(r1)*inRow], buf); err != nil {
					return err
				}
				return Quantize(to, buf, out[uint64(r0)*outRow:uint64(r1)*outRow])
			})
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
