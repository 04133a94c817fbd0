package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/models/presets"
	"github.com/spf13/cobra"
)

func newInfoCmd() *cobra.Command {
	var tensors, asJSON bool
	var model, preset string
	var ctxSize int
	cmd := &cobra.Command{
		Use:   "info [FILE] | info --preset NAME",
		Short: "Describe a GGUF file: architecture, parameters, types, hyper-parameters, tokenizer",
		Long: `Describe any valid GGUF file, whatever its architecture: full models, vocab-only
files and mmproj files. Without FILE (or -m), the embedded stories260K model is described.

With --preset NAME, describe a preset (the shape 'golem gen' writes) without any file: its
hyper-parameters, parameter count, the weights' size at each common file type (with golem
quantize's per-tensor types) and the cache one sequence needs at -c tokens (default: the
preset's context length). Presets: ` + strings.Join(presets.Names(), ", ") + `.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if preset != "" {
				if len(args) > 0 || model != "" {
					return fmt.Errorf("give either a file or --preset, not both")
				}
				return describePreset(cmd.OutOrStdout(), preset, ctxSize, asJSON, tensors)
			}
			path := model
			if len(args) == 1 {
				if path != "" {
					return fmt.Errorf("give the file either as an argument or with -m, not both")
				}
				path = args[0]
			}
			f, name, err := openModelFile(path, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer f.Close()
			info := describe(f, name)
			if asJSON {
				if !tensors {
					info.TensorList = nil
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			return info.print(cmd.OutOrStdout(), tensors)
		},
	}
	addModelFlag(cmd, &model)
	cmd.Flags().BoolVar(&tensors, "tensors", false, "list every tensor: name, type, shape, bytes")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	cmd.Flags().StringVar(&preset, "preset", "", "describe a preset instead of a file")
	cmd.Flags().IntVarP(&ctxSize, "ctx-size", "c", 0, "with --preset: the context the cache is sized for (default: the preset's)")
	return cmd
}

// fileInfo is what `golem info` reports; its JSON form is the --json output.
type fileInfo struct {
	File            string            `json:"file"`
	Version         uint32            `json:"gguf_version"`
	Architecture    string            `json:"architecture"`
	Name            string            `json:"name,omitempty"`
	FileType        string            `json:"file_type,omitempty"`
	Params          uint64            `json:"n_params"`
	WeightsBytes    uint64            `json:"weights_bytes"`
	FileBytes       int64             `json:"file_bytes"`
	NTensors        int               `json:"n_tensors"`
	Types           []typeSummary     `json:"tensor_types"`
	HParams         []hparam          `json:"hparams"`
	TokenizerModel  string            `json:"tokenizer_model,omitempty"`
	VocabSize       int               `json:"vocab_size,omitempty"`
	HasChatTemplate bool              `json:"has_chat_template"`
	Metadata        map[string]string `json:"-"`
	TensorList      []tensorRow       `json:"tensors,omitempty"`
}

type typeSummary struct {
	Type  string `json:"type"`
	Count int    `json:"count"`
	Bytes uint64 `json:"bytes"`
}

type hparam struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type tensorRow struct {
	Name  string   `json:"name"`
	Type  string   `json:"type"`
	Shape []uint64 `json:"shape"`
	Bytes uint64   `json:"bytes"`
}

// hparamKeys are the architecture-prefixed hyper-parameters worth showing, in order.
var hparamKeys = []string{
	"context_length", "embedding_length", "block_count", "feed_forward_length",
	"attention.head_count", "attention.head_count_kv", "attention.key_length", "attention.value_length",
	"attention.layer_norm_rms_epsilon", "attention.layer_norm_epsilon", "attention.sliding_window",
	"rope.dimension_count", "rope.freq_base", "rope.scaling.type", "rope.scaling.factor",
	"expert_count", "expert_used_count", "vocab_size", "pooling_type",
	"ssm.conv_kernel", "ssm.inner_size", "ssm.state_size", "ssm.time_step_rank",
	"vision.image_size", "vision.patch_size", "vision.embedding_length", "vision.block_count",
}

func describe(f *gguf.File, name string) fileInfo {
	m := f.Meta
	info := fileInfo{
		File:         name,
		Version:      f.Version,
		Architecture: m.Architecture(),
		FileBytes:    f.Size,
		NTensors:     len(f.Tensors),
	}
	info.Name, _ = m.String("general.name")
	if ft, err := m.Uint("general.file_type"); err == nil {
		info.FileType = gguf.FileType(ft).String()
	}
	byType := map[gguf.Type]*typeSummary{}
	for _, t := range f.Tensors {
		info.Params += t.Elements()
		info.WeightsBytes += t.Size
		s := byType[t.Type]
		if s == nil {
			s = &typeSummary{Type: t.Type.String()}
			byType[t.Type] = s
		}
		s.Count++
		s.Bytes += t.Size
		info.TensorList = append(info.TensorList, tensorRow{Name: t.Name, Type: t.Type.String(), Shape: t.Dims, Bytes: t.Size})
	}
	for _, s := range byType {
		info.Types = append(info.Types, *s)
	}
	slices.SortFunc(info.Types, func(a, b typeSummary) int { return cmp.Compare(b.Bytes, a.Bytes) })
	info.HParams = []hparam{}
	for _, k := range hparamKeys {
		// clip files keep their keys under "clip." whatever general.architecture says.
		for _, key := range []string{m.ArchKey(k), "clip." + k} {
			if v, ok := m.Get(key); ok {
				info.HParams = append(info.HParams, hparam{Key: key, Value: strings.Trim(v.String(), `"`)})
				break
			}
		}
	}
	info.TokenizerModel, _ = m.String("tokenizer.ggml.model")
	if v, ok := m.Get("tokenizer.ggml.tokens"); ok {
		info.VocabSize = v.Len()
	}
	info.HasChatTemplate = m.Has("tokenizer.chat_template")
	return info
}

func (info fileInfo) print(w io.Writer, withTensors bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	row("file", info.File)
	row("gguf version", info.Version)
	row("architecture", orNone(info.Architecture))
	if info.Name != "" {
		row("name", info.Name)
	}
	if info.FileType != "" {
		row("file type", info.FileType)
	}
	row("parameters", fmt.Sprintf("%d (%s)", info.Params, humanCount(info.Params)))
	row("weights", fmt.Sprintf("%d bytes (%s) in %d tensors", info.WeightsBytes, humanBytes(info.WeightsBytes), info.NTensors))
	for _, s := range info.Types {
		row("  "+s.Type, fmt.Sprintf("%d tensors, %s", s.Count, humanBytes(s.Bytes)))
	}
	for _, h := range info.HParams {
		row(h.Key, h.Value)
	}
	if info.TokenizerModel != "" || info.VocabSize > 0 {
		row("tokenizer", fmt.Sprintf("%s, %d tokens", orNone(info.TokenizerModel), info.VocabSize))
	}
	row("chat template", yesNo(info.HasChatTemplate))
	if err := tw.Flush(); err != nil {
		return err
	}
	if !withTensors {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "tensor\ttype\tshape\tbytes")
	for _, t := range info.TensorList {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%d\n", t.Name, t.Type, t.Shape, t.Bytes)
	}
	return tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func humanCount(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.2fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for x := n / unit; x >= unit; x /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// presetInfo is what `golem info --preset` reports; its JSON form is the --json output.
type presetInfo struct {
	Preset         string          `json:"preset"`
	Model          string          `json:"model"`
	Architecture   string          `json:"architecture"`
	Params         uint64          `json:"n_params"`
	NTensors       int             `json:"n_tensors"`
	HParams        []hparam        `json:"hparams"`
	TokenizerModel string          `json:"tokenizer_model"`
	TokenizerPre   string          `json:"tokenizer_pre"`
	VocabSize      int             `json:"vocab_size"`
	Weights        []presetWeights `json:"weights"`
	Cache          presets.Cache   `json:"cache"`
	TensorList     []presetTensor  `json:"tensors,omitempty"`
}

// presetWeights is the size of the weights at one file type; Error says why a type
// cannot be made (a row length that fits none of its blocks).
type presetWeights struct {
	Type          string  `json:"type"`
	Bytes         uint64  `json:"bytes,omitempty"`
	BitsPerWeight float64 `json:"bits_per_weight,omitempty"`
	Error         string  `json:"error,omitempty"`
}

type presetTensor struct {
	Name   string   `json:"name"`
	Shape  []uint64 `json:"shape"`
	Params uint64   `json:"n_params"`
}

// presetFileTypes are the file types info --preset sizes the weights at.
var presetFileTypes = []gguf.FileType{
	gguf.FileTypeAllF32, gguf.FileTypeF16, gguf.FileTypeQ8_0, gguf.FileTypeQ6_K, gguf.FileTypeQ5_K_M,
	gguf.FileTypeQ5_0, gguf.FileTypeQ4_K_M, gguf.FileTypeQ4_0, gguf.FileTypeQ3_K_M, gguf.FileTypeQ2_K,
}

func describePreset(w io.Writer, name string, ctxSize int, asJSON, withTensors bool) error {
	p, err := presets.Lookup(name)
	if err != nil {
		return err
	}
	if ctxSize < 0 {
		return fmt.Errorf("--ctx-size must not be negative, have %d", ctxSize)
	}
	if ctxSize == 0 {
		ctxSize = p.Config.ContextLength
	}
	ts := p.Tensors()
	info := presetInfo{
		Preset: p.Name, Model: p.Model, Architecture: p.Arch, Params: p.Params(), NTensors: len(ts),
		TokenizerModel: p.Vocab.Model, TokenizerPre: p.Vocab.Pre, VocabSize: p.Vocab.Size,
		Cache: p.Cache(ctxSize), HParams: []hparam{},
	}
	for _, kv := range p.ArchKeys() {
		info.HParams = append(info.HParams, hparam{Key: kv.Key, Value: strings.Trim(kv.Value.String(), `"`)})
	}
	for _, ft := range presetFileTypes {
		pw := presetWeights{Type: ft.String()}
		if b, err := p.WeightBytes(ft); err != nil {
			pw.Error = err.Error()
		} else {
			pw.Bytes = b
			pw.BitsPerWeight = 8 * float64(b) / float64(info.Params)
		}
		info.Weights = append(info.Weights, pw)
	}
	if withTensors {
		for _, t := range ts {
			info.TensorList = append(info.TensorList, presetTensor{Name: t.Name, Shape: t.Dims, Params: t.Elements()})
		}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	return info.print(w)
}

func (info presetInfo) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	row("preset", info.Preset)
	row("model", info.Model)
	row("architecture", info.Architecture)
	row("parameters", fmt.Sprintf("%d (%s) in %d tensors", info.Params, humanCount(info.Params), info.NTensors))
	for _, h := range info.HParams {
		row(h.Key, h.Value)
	}
	pre := ""
	if info.TokenizerPre != "" && info.TokenizerPre != "default" {
		pre = " (pre " + info.TokenizerPre + ")"
	}
	row("tokenizer", fmt.Sprintf("%s%s, %d tokens (synthetic)", info.TokenizerModel, pre, info.VocabSize))
	row("weights", "")
	for _, pw := range info.Weights {
		if pw.Error != "" {
			row("  "+pw.Type, "cannot be made: "+pw.Error)
			continue
		}
		row("  "+pw.Type, fmt.Sprintf("%s (%.2f bits/weight)", humanBytes(pw.Bytes), pw.BitsPerWeight))
	}
	c := info.Cache
	switch c.Kind {
	case presets.CacheKV:
		row(fmt.Sprintf("KV cache at %d tokens", c.Context), fmt.Sprintf("%s F32, %s F16", humanBytes(c.F32), humanBytes(c.F16)))
	case presets.CacheState:
		row("recurrent state per sequence", fmt.Sprintf("%s F32, %s F16 (any context)", humanBytes(c.F32), humanBytes(c.F16)))
	default:
		row("cache", "none (encoder)")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(info.TensorList) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "tensor\tshape\tparameters")
	for _, t := range info.TensorList {
		fmt.Fprintf(tw, "%s\t%v\t%d\n", t.Name, t.Shape, t.Params)
	}
	return tw.Flush()
}
