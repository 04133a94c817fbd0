package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/golem-llm/golem/models/tokenizer"
	"github.com/spf13/cobra"
)

// loadTokenizer builds the tokenizer of -m MODEL (or the embedded model), or of the
// files given with --vocab.
func loadTokenizer(model, vocab, pre string, stderr io.Writer) (*tokenizer.Tokenizer, error) {
	if vocab != "" {
		if model != "" {
			return nil, errors.New("give either -m or --vocab, not both")
		}
		return tokenizer.LoadFile(vocab, pre)
	}
	if pre != "" {
		return nil, errors.New("--pre names the pre-tokenizer of --vocab files; a GGUF file names its own")
	}
	f, name, err := openModelFile(model, stderr)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if !tokenizer.HasTokenizer(f.Meta) {
		return nil, fmt.Errorf("%s has no tokenizer (no tokenizer.ggml.* keys)", name)
	}
	t, err := tokenizer.FromGGUF(f.Meta)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

func addVocabFlags(cmd *cobra.Command, vocab, pre *string) {
	cmd.Flags().StringVar(vocab, "vocab", "", "tokenizer files instead of a model: tokenizer.json, or encoder.json + vocab.bpe (gzip too)")
	cmd.Flags().StringVar(pre, "pre", "", "pre-tokenizer of the --vocab files when they do not name it (gpt-2, llama3, qwen2, ...)")
}

func newTokenizeCmd() *cobra.Command {
	var model, vocab, pre, file string
	var noBOS, special, pieces bool
	cmd := &cobra.Command{
		Use:   "tokenize [-m MODEL | --vocab PATH [--pre NAME]] [--no-bos] [--special] [--pieces] (TEXT | --file F)",
		Short: "Print the token ids of a text",
		Long: `Print the token ids of TEXT (or of the bytes of --file F) on one line.
The vocab's special tokens (BOS/EOS, or [CLS] ... [SEP]) are added as its metadata says
unless --no-bos; text that looks like a special token is plain text unless --special.
--pieces prints one token per line instead: its id and its vocabulary text.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var text string
			switch {
			case file != "" && len(args) > 0:
				return errors.New("give the text either as an argument or with --file, not both")
			case file != "":
				b, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				text = string(b)
			case len(args) == 1:
				text = args[0]
			default:
				return errors.New("no text: give TEXT or --file F")
			}
			tok, err := loadTokenizer(model, vocab, pre, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			ids := tok.Encode(text, !noBOS, special)
			var sb strings.Builder
			if pieces {
				for _, id := range ids {
					fmt.Fprintf(&sb, "%d\t%q\n", id, tok.Token(id))
				}
			} else {
				for i, id := range ids {
					if i > 0 {
						sb.WriteByte(' ')
					}
					sb.WriteString(strconv.FormatInt(int64(id), 10))
				}
				sb.WriteByte('\n')
			}
			_, err = io.WriteString(cmd.OutOrStdout(), sb.String())
			return err
		},
	}
	addModelFlag(cmd, &model)
	addVocabFlags(cmd, &vocab, &pre)
	cmd.Flags().BoolVar(&noBOS, "no-bos", false, "add no special tokens (no BOS/EOS, no [CLS]/[SEP])")
	cmd.Flags().BoolVar(&special, "special", false, "parse special-token text such as <s> or <|im_start|> as those tokens")
	cmd.Flags().BoolVar(&pieces, "pieces", false, "print each token's id and vocabulary text, one per line")
	cmd.Flags().StringVar(&file, "file", "", "tokenize the bytes of this file, verbatim")
	return cmd
}

func newDetokenizeCmd() *cobra.Command {
	var model, vocab, pre string
	cmd := &cobra.Command{
		Use:   "detokenize [-m MODEL] ID...",
		Short: "Print the text of token ids",
		Long: `Print the text of the token ids (separated by spaces or commas), with byte-fallback
tokens decoded and special tokens written as their text; no newline is added.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ids []int32
			for _, a := range args {
				for _, f := range strings.FieldsFunc(a, func(r rune) bool { return r == ',' || r == ' ' }) {
					v, err := strconv.ParseInt(f, 10, 32)
					if err != nil {
						return fmt.Errorf("%q is not a token id", f)
					}
					ids = append(ids, int32(v))
				}
			}
			tok, err := loadTokenizer(model, vocab, pre, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			text, err := tok.Decode(ids)
			if err != nil {
				return err
			}
			_, err = io.WriteString(cmd.OutOrStdout(), text)
			return err
		},
	}
	addModelFlag(cmd, &model)
	addVocabFlags(cmd, &vocab, &pre)
	return cmd
}
