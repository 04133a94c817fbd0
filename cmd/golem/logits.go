package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/golem-llm/golem/backend"
	"github.com/spf13/cobra"
)

func newLogitsCmd() *cobra.Command {
	var rt runtimeFlags
	var tokens, out, mmproj, imagePath string
	cmd := &cobra.Command{
		Use:   "logits -m MODEL --tokens IDS [-o OUT.f32] [--mmproj M --image I]",
		Short: "Run token ids through a model as one batch and write every position's logits",
		Long: `Run the comma-separated token ids exactly as given (no BOS added) as ONE batch at
positions 0..n-1. With -o, write raw little-endian float32 logits [n_tokens][n_vocab];
without it, print the top 5 of each position.

With --mmproj and --image, the word img in IDS marks where the image's embeddings go
(n_image_tokens positions, each written like a token's).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (mmproj == "") != (imagePath == "") {
				return fmt.Errorf("--mmproj and --image go together")
			}
			var img *imageInput
			var ids []int32
			var err error
			if mmproj != "" {
				if img, err = openImageInput(mmproj, imagePath, tokens); err != nil {
					return err
				}
				defer img.Close()
				ids = img.tokens
			} else if ids, err = parseIDs(tokens); err != nil {
				return withImageHint(err, tokens)
			}
			if len(ids) > rt.batchSize {
				rt.batchSize = len(ids) // one batch, as the contract says
			}
			l, err := rt.load(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()
			cfg := l.model.Config()
			if len(ids) > l.cache.Size() {
				return fmt.Errorf("%d tokens exceed the context of %d (raise -c/--ctx-size)", len(ids), l.cache.Size())
			}
			batch := &backend.Batch{}
			outputs := make([]int, len(ids))
			for i := range ids {
				batch.Pos = append(batch.Pos, int32(i))
				batch.Seq = append(batch.Seq, 0)
				batch.Cells = append(batch.Cells, int32(i))
				l.cache.Cells[i] = backend.Cell{Pos: int32(i), Seq: 0}
				outputs[i] = i
			}
			logits := make([]float32, len(ids)*cfg.NVocab)
			if img != nil {
				err = img.forward(cmd.ErrOrStderr(), l, batch, outputs, logits)
			} else {
				err = l.model.Forward(context.Background(), ids, batch, l.cache, outputs, logits)
			}
			if err != nil {
				return err
			}
			if out != "" {
				return writeF32(out, logits)
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			defer w.Flush()
			for i := range ids {
				row := logits[i*cfg.NVocab : (i+1)*cfg.NVocab]
				fmt.Fprintf(w, "%d:", i)
				for _, id := range top(row, 5) {
					fmt.Fprintf(w, " %d(%q)=%.6f", id, l.tok.Token(int32(id)), row[id])
				}
				fmt.Fprintln(w)
			}
			return nil
		},
	}
	rt.add(cmd)
	cmd.Flags().StringVar(&tokens, "tokens", "", "comma-separated token ids (required)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write float32 logits [n_tokens][n_vocab] to this file")
	cmd.Flags().StringVar(&mmproj, "mmproj", "", "multimodal projector GGUF: img in --tokens marks the image")
	cmd.Flags().StringVar(&imagePath, "image", "", "image file (PNG or JPEG) for the img positions")
	_ = cmd.MarkFlagRequired("tokens")
	return cmd
}

func parseIDs(s string) ([]int32, error) {
	var ids []int32
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--tokens: %q is not a token id", f)
		}
		ids = append(ids, int32(v))
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("--tokens: no ids")
	}
	return ids, nil
}

// top returns the indexes of the k largest values, largest first (lower index on ties).
func top(row []float32, k int) []int {
	idx := make([]int, len(row))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
	return idx[:min(k, len(idx))]
}

// writeF32 writes values as raw little-endian float32, through a temporary file.
func writeF32(path string, vals []float32) error {
	buf := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
