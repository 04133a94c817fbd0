package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/golem-llm/golem/models"
	"github.com/spf13/cobra"
)

func newEmbedCmd() *cobra.Command {
	var rt runtimeFlags
	var tokens, pooling, out string
	var normalize, asJSON bool
	cmd := &cobra.Command{
		Use:   "embed [-m MODEL] (--tokens IDS | TEXT...) [--pooling mean|cls|last|none] [--normalize] [-o OUT.f32] [--json]",
		Short: "Compute embeddings of texts or token ids",
		Long: `Run an embedding model (BERT) over token ids or texts. --tokens takes comma-separated
ids used exactly as given (no [CLS]/[SEP] added); each TEXT is tokenized with the
vocabulary's special tokens and embedded as its own sequence (several texts share one
batch, each attending only to itself). The pooling defaults to the model's
pooling_type. -o writes raw little-endian float32: the pooled vectors [n][n_embd] (one
text: [n_embd]), or with --pooling none every token's vector [n_tokens][n_embd].
Without -o the vectors are printed, one per line, or as JSON with --json.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (tokens == "") == (len(args) == 0) {
				return fmt.Errorf("give either --tokens IDS or one or more TEXT arguments")
			}
			var poolOverride *models.Pooling
			if pooling != "" {
				p, err := models.ParsePooling(pooling)
				if err != nil {
					return err
				}
				poolOverride = &p
			}
			var seqs [][]int32
			if tokens != "" {
				ids, err := parseIDs(tokens)
				if err != nil {
					return err
				}
				seqs = [][]int32{ids}
				rt.batchSize = max(rt.batchSize, len(ids)) // one batch, as for logits
			}
			l, err := rt.load(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()
			e, ok := l.model.(models.Embedder)
			if !ok {
				return fmt.Errorf("architecture %s does not produce embeddings (embedding models: bert)", l.model.Config().Arch)
			}
			pool := e.Pooling()
			if poolOverride != nil {
				pool = *poolOverride
			}
			for _, text := range args {
				ids := l.tok.Encode(text, true, false)
				if len(ids) == 0 {
					return fmt.Errorf("text %q gives no tokens", text)
				}
				seqs = append(seqs, ids)
			}
			vecs, err := embedBatches(cmd.Context(), e, seqs, pool, rt.batchSize)
			if err != nil {
				return err
			}
			d := e.Config().NEmbd
			if normalize {
				for _, v := range vecs {
					for i := 0; i < len(v); i += d {
						models.Normalize(v[i : i+d])
					}
				}
			}
			if out != "" {
				var all []float32
				for _, v := range vecs {
					all = append(all, v...)
				}
				if err := writeF32(out, all); err != nil {
					return err
				}
			}
			switch {
			case asJSON:
				return printEmbedJSON(cmd.OutOrStdout(), seqs, vecs, pool, normalize, d)
			case out == "":
				return printEmbedText(cmd.OutOrStdout(), vecs, d)
			}
			return nil
		},
	}
	cmd.SetContext(context.Background())
	rt.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&tokens, "tokens", "", "comma-separated token ids, used as given")
	fl.StringVar(&pooling, "pooling", "", "mean, cls, last or none (default: the model's pooling_type)")
	fl.BoolVar(&normalize, "normalize", false, "scale each vector to unit L2 norm")
	fl.StringVarP(&out, "output", "o", "", "write the vectors as raw float32 to this file")
	fl.BoolVar(&asJSON, "json", false, "print the vectors as JSON")
	return cmd
}

// embedBatches embeds the sequences in as few batches of at most maxBatch tokens as
// keep them in order.
func embedBatches(ctx context.Context, e models.Embedder, seqs [][]int32, pool models.Pooling, maxBatch int) ([][]float32, error) {
	var out [][]float32
	for start := 0; start < len(seqs); {
		end, n := start, 0
		for end < len(seqs) && (end == start || n+len(seqs[end]) <= maxBatch) {
			n += len(seqs[end])
			end++
		}
		if n > maxBatch {
			return nil, fmt.Errorf("sequence %d has %d tokens, more than the batch size %d (raise -b/--batch-size)", start, n, maxBatch)
		}
		vecs, err := e.Embed(ctx, seqs[start:end], pool)
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
		start = end
	}
	return out, nil
}

func printEmbedText(w io.Writer, vecs [][]float32, d int) error {
	bw := bufio.NewWriter(w)
	for _, v := range vecs {
		for i := 0; i < len(v); i += d {
			parts := make([]string, d)
			for j, x := range v[i : i+d] {
				parts[j] = strconv.FormatFloat(float64(x), 'g', -1, 32)
			}
			fmt.Fprintln(bw, strings.Join(parts, " "))
		}
	}
	return bw.Flush()
}

type embedJSON struct {
	Pooling    string          `json:"pooling"`
	Normalized bool            `json:"normalized"`
	NEmbd      int             `json:"n_embd"`
	Data       []embedJSONItem `json:"data"`
}

type embedJSONItem struct {
	Index   int `json:"index"`
	NTokens int `json:"n_tokens"`
	// Embedding is [n_embd] pooled, or [n_tokens][n_embd] with pooling none.
	Embedding any `json:"embedding"`
}

func printEmbedJSON(w io.Writer, seqs [][]int32, vecs [][]float32, pool models.Pooling, normalized bool, d int) error {
	doc := embedJSON{Pooling: pool.String(), Normalized: normalized, NEmbd: d}
	for i, v := range vecs {
		item := embedJSONItem{Index: i, NTokens: len(seqs[i]), Embedding: v}
		if pool == models.PoolNone {
			rows := make([][]float32, 0, len(v)/d)
			for j := 0; j < len(v); j += d {
				rows = append(rows, v[j:j+d])
			}
			item.Embedding = rows
		}
		doc.Data = append(doc.Data, item)
	}
	enc := json.NewEncoder(w)
	return enc.Encode(doc)
}
