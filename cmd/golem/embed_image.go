package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/models"
	"github.com/golem-llm/golem/models/clip"
	"github.com/spf13/cobra"
)

func newEmbedImageCmd() *cobra.Command {
	var mmproj, imagePath, out, preprocessed, backendName string
	var threads int
	cmd := &cobra.Command{
		Use:   "embed-image --mmproj M --image I [-o OUT.f32] [--preprocessed OUT2.f32]",
		Short: "Encode an image with a multimodal projector (LLaVA mmproj)",
		Long: `Preprocess an image (PNG or JPEG) as llama.cpp's clip library does and run it
through the mmproj file's CLIP vision tower and projector. -o writes raw little-endian
float32 image embeddings [n_image_tokens][n_embd] (n_embd is the text model's); without
it they are printed, one row per line. --preprocessed writes the normalised image
[3][H][W] as float32. PNG decoding is exact; JPEG decoders differ, so a JPEG's values
do not match other programs' bit for bit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if threads < 0 {
				return fmt.Errorf("--threads %d must not be negative", threads)
			}
			if threads == 0 {
				threads = runtime.NumCPU()
			}
			be, why, err := backend.Open(backendName, backend.Options{Threads: threads})
			if err != nil {
				return err
			}
			defer be.Close()
			fmt.Fprintf(cmd.ErrOrStderr(), "golem: %s, %d threads\n", why, threads)
			proj, err := loadProjector(mmproj, be, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer proj.Close()
			img, err := clip.LoadImage(imagePath)
			if err != nil {
				return err
			}
			chw, err := proj.model.Preprocess(img)
			if err != nil {
				return err
			}
			if preprocessed != "" {
				if err := writeF32(preprocessed, chw); err != nil {
					return err
				}
			}
			embd, err := proj.model.Encode(cmd.Context(), chw)
			if err != nil {
				return err
			}
			if out != "" {
				return writeF32(out, embd)
			}
			return printEmbedText(cmd.OutOrStdout(), [][]float32{embd}, proj.model.OutDim())
		},
	}
	cmd.SetContext(context.Background())
	fl := cmd.Flags()
	fl.StringVar(&mmproj, "mmproj", "", "multimodal projector GGUF (general.architecture clip)")
	fl.StringVar(&imagePath, "image", "", "image file (PNG or JPEG)")
	fl.StringVarP(&out, "output", "o", "", "write the image embeddings as raw float32 [n_image_tokens][n_embd]")
	fl.StringVar(&preprocessed, "preprocessed", "", "write the preprocessed image as raw float32 [3][H][W]")
	fl.StringVar(&backendName, "backend", "auto", "backend: auto, "+strings.Join(backend.Compiled(), ", "))
	fl.IntVarP(&threads, "threads", "t", 0, "CPU threads (default: all cores)")
	_ = cmd.MarkFlagRequired("mmproj")
	_ = cmd.MarkFlagRequired("image")
	return cmd
}

// projector is a loaded mmproj file.
type projector struct {
	file  *gguf.File
	model *clip.Model
}

func (p *projector) Close() {
	if p.file != nil {
		p.file.Close()
	}
}

// loadProjector opens an mmproj file and builds its vision tower on be.
func loadProjector(path string, be backend.Backend, stderr io.Writer) (*projector, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := buildProjector(f, path, be, stderr)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &projector{file: f, model: m}, nil
}

// buildProjector builds an opened mmproj file's vision tower on be and says so.
func buildProjector(f *gguf.File, path string, be backend.Backend, stderr io.Writer) (*clip.Model, error) {
	m, err := clip.Load(f, be)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := m.Config()
	fmt.Fprintf(stderr, "golem: loaded %s (clip, %d of %d blocks run, %s MLP, projector %s): %d image tokens of %d\n",
		path, c.NRun(), c.NLayer, c.Act, c.Projector, m.NImageTokens(), m.OutDim())
	return m, nil
}

// imageWord marks an image's place in logits --tokens.
const imageWord = "img"

// imageInput is an image for a text model's prompt: the mmproj file (opened, so that
// the number of image tokens is known before the text model is loaded), the decoded
// image, and the prompt's ids with models.EmbdToken at the image rows.
type imageInput struct {
	path   string
	file   *gguf.File
	image  *clip.Image
	marks  int
	tokens []int32
}

// openImageInput checks the mmproj file and the image, and expands each img in ids
// into the image's rows.
func openImageInput(mmproj, imagePath, ids string) (*imageInput, error) {
	f, err := gguf.Open(mmproj)
	if err != nil {
		return nil, err
	}
	in := &imageInput{path: mmproj, file: f}
	cfg, err := clip.ReadConfig(f.Meta)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", mmproj, err)
	}
	for _, field := range strings.Split(ids, ",") {
		field = strings.TrimSpace(field)
		if field == imageWord {
			in.marks++
			for range cfg.NPatches() {
				in.tokens = append(in.tokens, models.EmbdToken)
			}
			continue
		}
		v, err := strconv.ParseInt(field, 10, 32)
		if err != nil || v < 0 {
			f.Close()
			return nil, fmt.Errorf("--tokens: %q is not a token id or %s", field, imageWord)
		}
		in.tokens = append(in.tokens, int32(v))
	}
	if in.marks == 0 {
		f.Close()
		return nil, fmt.Errorf("--tokens: no %s: with --mmproj/--image, %s marks where the image goes", imageWord, imageWord)
	}
	if in.image, err = clip.LoadImage(imagePath); err != nil {
		f.Close()
		return nil, err
	}
	return in, nil
}

func (in *imageInput) Close() { in.file.Close() }

// forward encodes the image on the text model's backend and runs the whole prompt,
// image rows included, as one batch.
func (in *imageInput) forward(stderr io.Writer, l *loaded, batch *backend.Batch, outputs []int, logits []float32) error {
	em, ok := l.model.(models.EmbeddingsInput)
	if !ok {
		return fmt.Errorf("architecture %s does not take input embeddings (images)", l.model.Config().Arch)
	}
	proj, err := buildProjector(in.file, in.path, l.be, stderr)
	if err != nil {
		return err
	}
	if err := proj.CheckTextModel(l.model.Config().NEmbd); err != nil {
		return fmt.Errorf("%s: %w", in.path, err)
	}
	ctx := context.Background()
	embd, err := proj.EmbedImage(ctx, in.image)
	if err != nil {
		return err
	}
	all := make([]float32, 0, in.marks*len(embd))
	for range in.marks {
		all = append(all, embd...)
	}
	return em.ForwardEmbeddings(ctx, in.tokens, all, batch, l.cache, outputs, logits)
}

// withImageHint explains an img in --tokens without --mmproj/--image.
func withImageHint(err error, ids string) error {
	for _, field := range strings.Split(ids, ",") {
		if strings.TrimSpace(field) == imageWord {
			return fmt.Errorf("--tokens: %s needs --mmproj and --image", imageWord)
		}
	}
	return err
}
