// Package clip is the image side of LLaVA-style multimodal models: a CLIP vision
// tower and its projector, read from an mmproj GGUF file (general.architecture
// "clip", clip.vision.* keys, v.* and mm.* tensors, as llama.cpp's llava converter
// writes them), and the image preprocessing that feeds it. Its output, one row of the
// text model's n_embd values per image token, enters a text model as input
// embeddings (models.EmbeddingsInput).
package clip

import (
	"errors"
	"fmt"

	"github.com/golem-llm/golem/gguf"
)

// Activation is the vision MLP's activation.
type Activation int

const (
	// QuickGELU, x·sigmoid(1.702x): CLIP ViT (clip.use_gelu false).
	QuickGELU Activation = iota
	// GELU, ggml's tanh form (clip.use_gelu true).
	GELU
	// SiLU (clip.use_silu true).
	SiLU
)

func (a Activation) String() string {
	return [...]string{"quick_gelu", "gelu", "silu"}[a]
}

// Config holds an mmproj file's hyper-parameters, validated before anything is
// allocated.
type Config struct {
	ImageSize int // the square input's side
	PatchSize int
	NEmbd     int // the vision tower's width
	NFF       int
	NHead     int
	NLayer    int // blocks stored in the file
	Eps       float32
	Mean, Std [3]float32
	Act       Activation
	Projector string
}

// Grid is the number of patches along each side.
func (c *Config) Grid() int { return c.ImageSize / c.PatchSize }

// NPatches is the number of image tokens one image becomes.
func (c *Config) NPatches() int { return c.Grid() * c.Grid() }

// NRun is the number of blocks that run. LLaVA takes its features from CLIP's
// second-to-last layer: llama.cpp's converter already drops the last HF layer when it
// writes the file, and clip.cpp then skips the last stored block as well, so
// block_count-1 blocks run (reported upstream as a double skip; kept, to match the
// files and llama.cpp as they are).
func (c *Config) NRun() int { return c.NLayer - 1 }

// Limits that reject absurd values before they size anything.
const (
	maxImageSize = 1 << 13
	maxPatches   = 1 << 16
	maxEmbd      = 1 << 14
	maxFF        = 1 << 17
	maxLayers    = 1 << 9
)

// Projectors lists the projector types golem runs.
var Projectors = []string{"mlp"}

// ReadConfig reads and checks the keys of an mmproj file. Features golem does not
// have (other projectors, LLaVA-1.6 image grids, explicit feature layers) are refused
// by name.
func ReadConfig(m gguf.Metadata) (*Config, error) {
	if arch := m.Architecture(); arch != "clip" {
		return nil, fmt.Errorf("not an mmproj file: general.architecture is %q, want \"clip\"", arch)
	}
	r := &reader{m: m}
	c := &Config{}
	if !r.boolean("clip.has_vision_encoder", false, true) {
		r.fail(fmt.Errorf("clip.has_vision_encoder is false: the file has no vision encoder"))
	}
	c.Projector = r.str("clip.projector_type", "mlp")
	for _, k := range []string{"clip.has_minicpmv_projector", "clip.has_glm_projector", "clip.has_qwen2vl_merger"} {
		if r.boolean(k, false, false) {
			r.fail(fmt.Errorf("%s: this projector is not supported (supported: %v)", k, Projectors))
		}
	}
	if r.err == nil && c.Projector != "mlp" {
		r.fail(fmt.Errorf("projector type %q is not supported (supported: %v)", c.Projector, Projectors))
	}
	if !r.boolean("clip.has_llava_projector", false, false) {
		r.fail(fmt.Errorf("clip.has_llava_projector is absent or false: golem runs LLaVA projectors only"))
	}
	if merge := r.str("clip.vision.mm_patch_merge_type", "flat"); merge != "flat" {
		r.fail(fmt.Errorf("clip.vision.mm_patch_merge_type %q (LLaVA-1.6 image grids) is not supported (supported: flat)", merge))
	}
	for _, k := range []string{"clip.vision.image_grid_pinpoints", "clip.vision.feature_layer"} {
		if m.Has(k) {
			r.fail(fmt.Errorf("%s: not supported (LLaVA-1.5 files have none)", k))
		}
	}
	c.ImageSize = r.int("clip.vision.image_size", 1, maxImageSize)
	c.PatchSize = r.int("clip.vision.patch_size", 1, maxImageSize)
	c.NEmbd = r.int("clip.vision.embedding_length", 1, maxEmbd)
	c.NFF = r.int("clip.vision.feed_forward_length", 1, maxFF)
	c.NHead = r.int("clip.vision.attention.head_count", 1, maxEmbd)
	c.NLayer = r.int("clip.vision.block_count", 1, maxLayers)
	c.Eps = float32(r.float("clip.vision.attention.layer_norm_epsilon"))
	c.Mean = r.triple("clip.vision.image_mean")
	c.Std = r.triple("clip.vision.image_std")
	gelu := r.boolean("clip.use_gelu", false, true)
	silu := r.boolean("clip.use_silu", false, false)
	switch {
	case gelu:
		c.Act = GELU
	case silu:
		c.Act = SiLU
	default:
		c.Act = QuickGELU
	}
	if r.err != nil {
		return nil, r.err
	}
	switch {
	case c.PatchSize > c.ImageSize:
		return nil, fmt.Errorf("clip.vision.patch_size %d exceeds image_size %d", c.PatchSize, c.ImageSize)
	case c.NPatches() > maxPatches:
		return nil, fmt.Errorf("%d patches (image_size %d, patch_size %d): more than %d", c.NPatches(), c.ImageSize, c.PatchSize, maxPatches)
	case c.NEmbd%c.NHead != 0:
		return nil, fmt.Errorf("clip.vision.embedding_length %d is not a multiple of head_count %d", c.NEmbd, c.NHead)
	case !(c.Eps > 0 && c.Eps < 1):
		return nil, fmt.Errorf("clip.vision.attention.layer_norm_epsilon %g: want a small positive value", c.Eps)
	}
	for i := range 3 {
		if !(c.Std[i] > 0) || c.Mean[i] != c.Mean[i] {
			return nil, fmt.Errorf("clip.vision.image_mean/image_std: channel %d has mean %g, std %g", i, c.Mean[i], c.Std[i])
		}
	}
	return c, nil
}

// reader reads keys with errors that name them, keeping the first error.
type reader struct {
	m   gguf.Metadata
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) int(key string, lo, hi int) int {
	v, err := r.m.Uint(key)
	if err != nil {
		r.fail(fmt.Errorf("required key: %w", err))
		return 0
	}
	if v < uint64(lo) || v > uint64(hi) {
		r.fail(fmt.Errorf("key %s: %d is outside %d..%d", key, v, lo, hi))
		return 0
	}
	return int(v)
}

func (r *reader) float(key string) float64 {
	v, err := r.m.Float(key)
	if err != nil {
		r.fail(fmt.Errorf("required key: %w", err))
	}
	return v
}

// boolean reads a bool key; an absent key is def, or an error when required.
func (r *reader) boolean(key string, def, required bool) bool {
	v, err := r.m.Bool(key)
	if errors.Is(err, gguf.ErrKeyNotFound) && !required {
		return def
	}
	if err != nil {
		r.fail(fmt.Errorf("required key: %w", err))
		return def
	}
	return v
}

func (r *reader) str(key, def string) string {
	v, err := r.m.String(key)
	if errors.Is(err, gguf.ErrKeyNotFound) {
		return def
	}
	if err != nil {
		r.fail(err)
	}
	return v
}

func (r *reader) triple(key string) [3]float32 {
	var out [3]float32
	v, err := r.m.Float32s(key)
	if err != nil {
		r.fail(fmt.Errorf("required key: %w", err))
		return out
	}
	if len(v) != 3 {
		r.fail(fmt.Errorf("key %s: %d values, want 3 (R, G, B)", key, len(v)))
		return out
	}
	copy(out[:], v)
	return out
}
