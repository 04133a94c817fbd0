package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
	"github.com/golem-llm/golem/models/presets"
	"github.com/spf13/cobra"
)

func newGenCmd() *cobra.Command {
	var presetName, typeName, out string
	var seed uint64
	var threads, layers int
	var mini, quiet bool
	cmd := &cobra.Command{
		Use:   "gen --preset NAME --type TYPE -o OUT.gguf [--seed S]",
		Short: "Write a GGUF model of a preset's real shape with seeded random weights (for benchmarks)",
		Long: `Write a GGUF file of a preset's exact shape (llama.cpp's metadata keys, tensor names and
dimensions, a synthetic vocabulary of the real size) with seeded random weights at sane
scales, quantized to TYPE with golem quantize's per-tensor rules: the file is what
'golem quantize' makes of the F32 file of the same seed. Speed does not depend on the
weights' values, so such files stand in for real models in benchmarks.

The model is streamed to disk one tensor at a time (memory holds one tensor) into a
temporary file that is renamed when complete. --layers N keeps the widths with fewer
blocks; --mini writes a few-MB model of the same architecture. Presets: ` + strings.Join(presets.Names(), ", ") + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if presetName == "" || typeName == "" || out == "" {
				return errors.New("--preset, --type and -o are required")
			}
			p, err := presets.Lookup(presetName)
			if err != nil {
				return err
			}
			ft, err := gguf.ParseFileType(typeName)
			if err != nil {
				return err
			}
			if _, err := quant.DefaultType(ft); err != nil {
				return err
			}
			if mini {
				p = p.Miniature()
			}
			if cmd.Flags().Changed("layers") {
				if p, err = p.WithLayers(layers); err != nil {
					return err
				}
			}
			size, err := p.WeightBytes(ft)
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			fmt.Fprintf(stderr, "golem: gen: %s (%s, %s parameters) as %s: %s of weights, seed %d\n",
				p.Name, p.Model, humanCount(p.Params()), ft, humanBytes(size), seed)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			bar := newProgressBar(stderr, quiet)
			start := time.Now()
			opts := presets.GenerateOptions{Seed: seed, Threads: threads, Progress: bar.update}
			err = p.WriteFile(ctx, out, ft, opts)
			bar.finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "golem: gen: wrote %s in %.1fs\n", out, time.Since(start).Seconds())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&presetName, "preset", "", "the model shape: "+strings.Join(presets.Names(), ", "))
	f.StringVar(&typeName, "type", "", "file type, as llama-quantize names it (F32, F16, Q8_0, Q4_0, Q4_K_M, ...)")
	f.StringVarP(&out, "output", "o", "", "the GGUF file to write")
	f.Uint64Var(&seed, "seed", 1, "random seed: the same seed writes the same file")
	f.IntVarP(&threads, "threads", "t", 0, "goroutines per tensor (default: all CPUs)")
	f.IntVar(&layers, "layers", 0, "number of blocks (default: the preset's)")
	f.BoolVar(&mini, "mini", false, "a miniature of the architecture: 2 blocks, 256 wide, ~512 tokens")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	return cmd
}

// progressBar draws the generation's progress on stderr: one line redrawn in place on a
// terminal, a line per tenth of the work otherwise (logs stay short).
type progressBar struct {
	w        io.Writer
	quiet    bool
	tty      bool
	start    time.Time
	lastTick int
	drawn    bool
}

func newProgressBar(w io.Writer, quiet bool) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressBar{w: w, quiet: quiet, tty: tty, start: time.Now(), lastTick: -1}
}

func (b *progressBar) update(p presets.GenerateProgress) {
	if b.quiet || p.Total == 0 {
		return
	}
	frac := float64(p.Done) / float64(p.Total)
	const width = 30
	filled := int(frac * width)
	line := fmt.Sprintf("[%s%s] %3.0f%% %d/%d tensors, %s/%s, %.0fs  %s %s",
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), 100*frac, p.Index, p.Count,
		humanBytes(p.Done), humanBytes(p.Total), time.Since(b.start).Seconds(), p.Tensor.Name, p.Tensor.To)
	if b.tty {
		fmt.Fprintf(b.w, "\r\033[K%s", line)
		b.drawn = true
		return
	}
	if tick := int(frac * 10); tick > b.lastTick || p.Index == p.Count {
		b.lastTick = tick
		fmt.Fprintln(b.w, line)
	}
}

func (b *progressBar) finish() {
	if b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
}
