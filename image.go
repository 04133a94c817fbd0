package golem

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/inference"
	"github.com/golem-llm/golem/models"
	"github.com/golem-llm/golem/models/clip"
)

// ImageMarker marks an image's place in a prompt's text or a message's content, as
// llama.cpp's llava-cli reads it ("USER: <image>\nWhat is this? ASSISTANT:"). In a
// text without images it is plain text.
const ImageMarker = "<image>"

// ImageToken marks an image's place in the ids of GenerateTokens; it becomes the
// image's Info.ImageTokens positions.
const ImageToken int32 = models.EmbdToken

// ErrNoVision is returned for a prompt with images when the model was loaded without
// a multimodal projector (LoadOptions.MMProj).
var ErrNoVision = errors.New("the model was loaded without a multimodal projector (mmproj): it cannot take images")

// Image is an image for a prompt: either an encoded PNG or JPEG file (Data), or
// decoded 8-bit RGB pixels (Width×Height, three bytes a pixel, row-major) when Data
// is nil. PNG decoding is exact; JPEG decoders differ, so a JPEG's result differs
// slightly from other programs'. Images beyond clip.MaxImageBytes,
// clip.MaxImageSide or clip.MaxImagePixels are errors.
type Image struct {
	Data          []byte
	Width, Height int
	Pix           []uint8
}

// LoadImage reads and decodes an image file (PNG or JPEG): a file that is missing,
// too large or not an image is an error.
func LoadImage(path string) (Image, error) {
	img, err := clip.LoadImage(path)
	if err != nil {
		return Image{}, err
	}
	return Image{Width: img.W, Height: img.H, Pix: img.Pix}, nil
}

// DecodeImage decodes an encoded PNG or JPEG image (such as a data: URI's bytes).
func DecodeImage(data []byte) (Image, error) {
	img, err := clip.Decode(data)
	if err != nil {
		return Image{}, err
	}
	return Image{Width: img.W, Height: img.H, Pix: img.Pix}, nil
}

// decode returns the image's pixels.
func (im Image) decode() (*clip.Image, error) {
	if im.Data != nil {
		return clip.Decode(im.Data)
	}
	if im.Width <= 0 || im.Height <= 0 || len(im.Pix) == 0 {
		return nil, errors.New("image: no data and no pixels")
	}
	if im.Width > clip.MaxImageSide || im.Height > clip.MaxImageSide || im.Width*im.Height > clip.MaxImagePixels {
		return nil, fmt.Errorf("image of %d×%d pixels: %w", im.Width, im.Height, clip.ErrImageTooLarge)
	}
	if len(im.Pix) != 3*im.Width*im.Height {
		return nil, fmt.Errorf("image of %d×%d pixels has %d bytes of RGB, want %d", im.Width, im.Height, len(im.Pix), 3*im.Width*im.Height)
	}
	return &clip.Image{W: im.Width, H: im.Height, Pix: im.Pix}, nil
}

// vision is a loaded multimodal projector with a cache of recent image embeddings
// (touched on the engine goroutine only).
type vision struct {
	path  string
	file  *gguf.File
	model *clip.Model
	cache []cachedImage // least recently used first
	bytes int
}

type cachedImage struct {
	key  [sha256.Size]byte
	embd []float32
}

// maxImageCache bounds the image embeddings kept for reuse (a conversation sends its
// images again with every turn).
const maxImageCache = 64 << 20

// loadVision loads the mmproj file at path on the model's backend and checks that its
// projection fits the text model.
func (m *Model) loadVision(ctx context.Context, path string) error {
	em, ok := m.model.(models.EmbeddingsInput)
	if !ok {
		return fmt.Errorf("mmproj %s: the %s model does not take input embeddings (images)", path, m.info.Architecture)
	}
	f, err := gguf.Open(path)
	if err != nil {
		return fmt.Errorf("mmproj: %w", err)
	}
	if err := ctx.Err(); err != nil {
		f.Close()
		return err
	}
	pm, err := clip.Load(f, m.be)
	if err == nil {
		err = pm.CheckTextModel(em.Config().NEmbd)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("mmproj %s: %w", path, err)
	}
	m.vision = &vision{path: path, file: f, model: pm}
	m.info.MMProj, m.info.ImageTokens = path, pm.NImageTokens()
	return nil
}

// embed returns img's embedding rows, from the cache when it was embedded lately.
// It runs on the engine goroutine.
func (v *vision) embed(ctx context.Context, key [sha256.Size]byte, img *clip.Image) ([]float32, error) {
	for i, c := range v.cache {
		if c.key == key {
			v.cache = append(append(v.cache[:i:i], v.cache[i+1:]...), c)
			return c.embd, nil
		}
	}
	embd, err := v.model.EmbedImage(ctx, img)
	if err != nil {
		return nil, err
	}
	v.cache = append(v.cache, cachedImage{key: key, embd: embd})
	v.bytes += 4 * len(embd)
	for len(v.cache) > 1 && v.bytes > maxImageCache {
		v.bytes -= 4 * len(v.cache[0].embd)
		v.cache = v.cache[1:]
	}
	return embd, nil
}

func imageKey(img *clip.Image) [sha256.Size]byte {
	h := sha256.New()
	var dims [16]byte
	binary.LittleEndian.PutUint64(dims[:], uint64(img.W))
	binary.LittleEndian.PutUint64(dims[8:], uint64(img.H))
	h.Write(dims[:])
	h.Write(img.Pix)
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// embedImages decodes images and embeds them on the engine goroutine.
func (m *Model) embedImages(ctx context.Context, images []Image) ([][]float32, error) {
	if m.vision == nil {
		return nil, ErrNoVision
	}
	decoded := make([]*clip.Image, len(images))
	keys := make([][sha256.Size]byte, len(images))
	for i, im := range images {
		img, err := im.decode()
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i+1, err)
		}
		decoded[i], keys[i] = img, imageKey(img)
	}
	out := make([][]float32, len(images))
	err := m.eng.run(ctx, func(ctx context.Context) error {
		for i, img := range decoded {
			e, err := m.vision.embed(ctx, keys[i], img)
			if err != nil {
				return fmt.Errorf("image %d: %w", i+1, err)
			}
			out[i] = e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// assemble makes a prompt of token parts with images between them: parts[0], image
// 0, parts[1], image 1, ... (len(parts) = len(images)+1).
func (m *Model) assemble(ctx context.Context, parts [][]int32, images []Image) (inference.Prompt, error) {
	embd, err := m.embedImages(ctx, images)
	if err != nil {
		return inference.Prompt{}, err
	}
	var p inference.Prompt
	for i, part := range parts {
		p.Tokens = append(p.Tokens, part...)
		if i < len(embd) {
			for range m.info.ImageTokens {
				p.Tokens = append(p.Tokens, models.EmbdToken)
			}
			p.Embd = append(p.Embd, embd[i]...)
		}
	}
	return p, nil
}

// textPrompt tokenizes a prompt text (BOS as the vocabulary says) with images at its
// ImageMarkers, or first after BOS when it has none.
func (m *Model) textPrompt(ctx context.Context, text string, images []Image) (inference.Prompt, error) {
	if len(images) == 0 {
		return inference.TokenPrompt(m.tok.Encode(text, true, false)), nil
	}
	segs := strings.Split(text, ImageMarker)
	switch {
	case len(segs) == 1:
		segs = append(make([]string, len(images)), text)
	case len(segs)-1 != len(images):
		return inference.Prompt{}, fmt.Errorf("the prompt has %d %s markers for %d images", len(segs)-1, ImageMarker, len(images))
	}
	parts := make([][]int32, len(segs))
	for i, s := range segs {
		parts[i] = m.tok.Encode(s, i == 0, false)
	}
	return m.assemble(ctx, parts, images)
}

// generateImages is Generate for a prompt with opts.Images.
func (m *Model) generateImages(ctx context.Context, prompt string, opts GenerateOptions, yield func(string, error) bool) {
	p, err := m.textPrompt(ctx, prompt, opts.Images)
	if err != nil {
		if opts.Stats != nil {
			*opts.Stats = Stats{}
		}
		yield("", err)
		return
	}
	m.streamPrompt(ctx, p, opts, prompt != "", yield)
}

// GenerateTokens continues a prompt given as token ids, used as given (no BOS is
// added), as Generate does: each ImageToken in ids is the place of the next of
// opts.Images. Ids outside the vocabulary are an error.
func (m *Model) GenerateTokens(ctx context.Context, ids []int32, opts GenerateOptions) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		fail := func(err error) {
			if opts.Stats != nil {
				*opts.Stats = Stats{PromptTokens: len(ids)}
			}
			yield("", err)
		}
		var parts [][]int32
		start := 0
		for i, id := range ids {
			switch {
			case id == ImageToken:
				parts = append(parts, ids[start:i])
				start = i + 1
			case id < 0 || int(id) >= m.info.VocabSize:
				fail(fmt.Errorf("token %d at position %d is outside the vocabulary of %d", id, i, m.info.VocabSize))
				return
			}
		}
		parts = append(parts, ids[start:])
		if len(parts)-1 != len(opts.Images) {
			fail(fmt.Errorf("the prompt has %d image tokens for %d images", len(parts)-1, len(opts.Images)))
			return
		}
		p := inference.TokenPrompt(ids)
		if len(opts.Images) > 0 {
			var err error
			if p, err = m.assemble(ctx, parts, opts.Images); err != nil {
				fail(err)
				return
			}
		}
		m.streamPrompt(ctx, p, opts, true, yield)
	}
}

// imageContent is a message's content with a marker (mark(i) for its image i) where
// each of its images goes: at its ImageMarkers, or first, each followed by a newline.
// A message without images keeps its content.
func imageContent(msg Message, mark func(i int) string) string {
	if len(msg.Images) == 0 {
		return msg.Content
	}
	segs := strings.Split(msg.Content, ImageMarker)
	if len(segs)-1 != len(msg.Images) {
		var sb strings.Builder
		for i := range msg.Images {
			sb.WriteString(mark(i))
			sb.WriteString("\n")
		}
		return sb.String() + msg.Content
	}
	var sb strings.Builder
	for i, s := range segs {
		if i > 0 {
			sb.WriteString(mark(i - 1))
		}
		sb.WriteString(s)
	}
	return sb.String()
}

func hasImages(messages []Message, opts ChatOptions) bool {
	if len(opts.Images) > 0 {
		return true
	}
	for _, msg := range messages {
		if len(msg.Images) > 0 {
			return true
		}
	}
	return false
}

// chatImages is Chat for messages with images: the template renders a unique
// placeholder where each image goes, and the text between them is tokenized piece by
// piece with the image rows in between.
func (m *Model) chatImages(ctx context.Context, messages []Message, opts ChatOptions, yield func(string, error) bool) {
	fail := func(err error) {
		if opts.Stats != nil {
			*opts.Stats = Stats{}
		}
		yield("", err)
	}
	if len(opts.Images) > 0 {
		fail(errors.New("chat: give images in Message.Images, not GenerateOptions.Images"))
		return
	}
	for i, msg := range messages {
		if len(msg.Images) > 0 {
			if n := strings.Count(msg.Content, ImageMarker); n > 0 && n != len(msg.Images) {
				fail(fmt.Errorf("chat: message %d has %d %s markers for %d images", i, n, ImageMarker, len(msg.Images)))
				return
			}
		}
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	tag := "<<golem-image-" + hex.EncodeToString(nonce[:]) + ">>"
	var images []Image
	msgs := make([]Message, len(messages))
	for i, msg := range messages {
		msgs[i] = Message{Role: msg.Role, Content: imageContent(msg, func(int) string { return tag })}
		images = append(images, msg.Images...)
	}
	text, err := m.ChatPrompt(msgs, opts)
	if err != nil {
		fail(err)
		return
	}
	segs := strings.Split(text, tag)
	if len(segs)-1 != len(images) {
		fail(fmt.Errorf("chat: the chat template placed %d of %d images", len(segs)-1, len(images)))
		return
	}
	parts := make([][]int32, len(segs))
	for i, s := range segs {
		parts[i] = m.tok.Encode(s, false, true)
	}
	if m.tok.AddBOS() && (len(parts[0]) == 0 || parts[0][0] != m.tok.BOS()) {
		parts[0] = append([]int32{m.tok.BOS()}, parts[0]...)
	}
	p, err := m.assemble(ctx, parts, images)
	if err != nil {
		fail(err)
		return
	}
	m.streamPrompt(ctx, p, opts.GenerateOptions, true, yield)
}
