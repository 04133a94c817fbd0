package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
	"github.com/spf13/cobra"
)

func newQuantizeCmd() *cobra.Command {
	var threads int
	var allowRequantize, quiet bool
	cmd := &cobra.Command{
		Use:   "quantize IN.gguf OUT.gguf TYPE",
		Short: "Quantize a GGUF model with llama.cpp's per-tensor rules (byte-identical to llama-quantize)",
		Long: `Quantize a GGUF model to TYPE, named as llama-quantize names it: F32, F16, BF16, Q8_0,
Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K
(also IQ4_NL, IQ4_XS). Each tensor gets the type llama.cpp's rules give it (the output
layer and some layers of the _M/_L mixes get more bits, norms and biases stay F32, rows
that do not fit 256-element blocks fall back to smaller blocks), without an importance
matrix. The output is written to a temporary file and renamed when complete.`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, out, typeName := args[0], args[1], args[2]
			ft, err := gguf.ParseFileType(typeName)
			if err != nil {
				return err
			}
			if _, err := quant.DefaultType(ft); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			stderr := cmd.ErrOrStderr()
			var totalIn, totalOut uint64
			opts := quant.Options{Threads: threads, AllowRequantize: allowRequantize}
			opts.Progress = func(p quant.Progress) {
				totalIn += p.BytesIn
				totalOut += p.BytesOut
				if !quiet {
					printProgress(stderr, p)
				}
			}
			if err := quant.QuantizeFile(ctx, in, out, ft, opts); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "golem: quantize: wrote %s as %s: tensors %s -> %s\n", out, ft, mib(totalIn), mib(totalOut))
			return nil
		},
	}
	cmd.Flags().IntVarP(&threads, "threads", "t", 0, "goroutines per tensor (default: all CPUs)")
	cmd.Flags().BoolVar(&allowRequantize, "allow-requantize", false, "allow converting tensors that are already quantized")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print no per-tensor progress")
	return cmd
}

func printProgress(w io.Writer, p quant.Progress) {
	t := p.Tensor
	note := ""
	if t.Fallback {
		note = " (fallback)"
	}
	width := len(fmt.Sprint(p.Count))
	fmt.Fprintf(w, "[%*d/%d] %-32s %-5s -> %-5s %v %s -> %s%s\n", width, p.Index, p.Count, t.Name,
		t.From, t.To, t.Dims, mib(p.BytesIn), mib(p.BytesOut), note)
}

func mib(n uint64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
