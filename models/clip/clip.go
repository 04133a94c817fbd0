package clip

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

// Model is a CLIP vision tower with a LLaVA-1.5 MLP projector, on a backend.
type Model struct {
	cfg    *Config
	b      backend.Backend
	outDim int // the projector's output width: the text model's n_embd

	patchW, patchB backend.Tensor // [E, 3·P·P] (reshaped from the conv kernel), [E]
	class          backend.Tensor // [1, E], nil when the file has no class token
	pos            backend.Tensor // [positions, E]
	preW, preB     backend.Tensor
	postW, postB   backend.Tensor
	layers         []layer
	mm0W, mm0B     backend.Tensor
	mm2W, mm2B     backend.Tensor

	nPos  int // positions: the patches, plus the class token
	cache *backend.KVCache
	bufs  buffers
}

type layer struct {
	ln1W, ln1B, ln2W, ln2B backend.Tensor
	wq, wk, wv, wo         backend.Tensor
	bq, bk, bv, bo         backend.Tensor
	fc1W, fc1B             backend.Tensor // ffn_down in the file: E → F
	fc2W, fc2B             backend.Tensor // ffn_up in the file: F → E
}

type buffers struct {
	patches          backend.Tensor // [n, 3·P·P] im2col rows
	x, h, o          backend.Tensor // [nPos, E]
	q, k, v, attn    backend.Tensor // [nPos, heads, headDim]
	ff               backend.Tensor // [nPos, F]
	sel              backend.Tensor // [n, E] the patch rows
	mid, out         backend.Tensor // [n, T]
	posIDs, patchIDs []int32
}

// Load reads an mmproj file's configuration and binds its weights on b. Every stored
// block is bound (as clip.cpp loads them all) although the last one does not run.
func Load(f *gguf.File, b backend.Backend) (*Model, error) {
	cfg, err := ReadConfig(f.Meta)
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, b: b}
	bd := &binder{f: f, b: b}
	e, ff, p := cfg.NEmbd, cfg.NFF, cfg.PatchSize
	n := cfg.NPatches()
	m.nPos = n
	if bd.has("v.class_embd") {
		m.nPos++
		if c := bd.get("v.class_embd", e); c != nil {
			m.class = bd.reshape(c, 1, e)
		}
	}
	if k := bd.get("v.patch_embd.weight", p, p, 3, e); k != nil {
		m.patchW = bd.reshape(k, e, 3*p*p)
	}
	m.patchB = bd.vector("v.patch_embd.bias", e, true)
	m.pos = bd.get("v.position_embd.weight", e, m.nPos)
	m.preW, m.preB = bd.vector("v.pre_ln.weight", e, true), bd.vector("v.pre_ln.bias", e, true)
	m.postW, m.postB = bd.vector("v.post_ln.weight", e, true), bd.vector("v.post_ln.bias", e, true)
	m.layers = make([]layer, cfg.NLayer)
	for i := range m.layers {
		l := &m.layers[i]
		pre := fmt.Sprintf("v.blk.%d.", i)
		l.ln1W, l.ln1B = bd.vector(pre+"ln1.weight", e, false), bd.vector(pre+"ln1.bias", e, false)
		l.ln2W, l.ln2B = bd.vector(pre+"ln2.weight", e, false), bd.vector(pre+"ln2.bias", e, false)
		l.wq, l.bq = bd.get(pre+"attn_q.weight", e, e), bd.vector(pre+"attn_q.bias", e, false)
		l.wk, l.bk = bd.get(pre+"attn_k.weight", e, e), bd.vector(pre+"attn_k.bias", e, false)
		l.wv, l.bv = bd.get(pre+"attn_v.weight", e, e), bd.vector(pre+"attn_v.bias", e, false)
		l.wo, l.bo = bd.get(pre+"attn_out.weight", e, e), bd.vector(pre+"attn_out.bias", e, false)
		// The names are swapped relative to their meaning: ffn_down is CLIP's fc1.
		l.fc1W, l.fc1B = bd.get(pre+"ffn_down.weight", e, ff), bd.vector(pre+"ffn_down.bias", ff, false)
		l.fc2W, l.fc2B = bd.get(pre+"ffn_up.weight", ff, e), bd.vector(pre+"ffn_up.bias", e, false)
	}
	if bd.err != nil {
		return nil, bd.err
	}
	// The projector: mm.0 (E → T), GELU, mm.2 (T → T).
	ti, ok := f.Tensor("mm.0.weight")
	if !ok || len(ti.Dims) != 2 {
		return nil, fmt.Errorf("missing tensor mm.0.weight (the LLaVA projector's first layer)")
	}
	mid := int(ti.Dims[1])
	if mid <= 0 || mid > maxFF {
		return nil, fmt.Errorf("mm.0.weight: width %d outside 1..%d", mid, maxFF)
	}
	m.mm0W, m.mm0B = bd.get("mm.0.weight", e, mid), bd.vector("mm.0.bias", mid, false)
	ti, ok = f.Tensor("mm.2.weight")
	if !ok || len(ti.Dims) != 2 {
		return nil, fmt.Errorf("missing tensor mm.2.weight (the LLaVA projector's second layer)")
	}
	m.outDim = int(ti.Dims[1])
	if m.outDim <= 0 || m.outDim > maxFF {
		return nil, fmt.Errorf("mm.2.weight: width %d outside 1..%d", m.outDim, maxFF)
	}
	m.mm2W, m.mm2B = bd.get("mm.2.weight", mid, m.outDim), bd.vector("mm.2.bias", m.outDim, false)
	if bd.err != nil {
		return nil, bd.err
	}
	if err := m.allocate(mid); err != nil {
		return nil, err
	}
	return m, nil
}

// maxActivation bounds the values of one activation buffer (512 MiB of F32): far
// above real towers (CLIP-L/336: 577 positions × 4096), it stops a small hostile file
// whose shapes multiply into a huge allocation.
const maxActivation = 1 << 27

func (m *Model) allocate(mid int) error {
	cfg, b := m.cfg, m.b
	e, n, hd := cfg.NEmbd, cfg.NPatches(), cfg.NEmbd/cfg.NHead
	for _, w := range []int{e, cfg.NFF, mid, m.outDim, 3 * cfg.PatchSize * cfg.PatchSize} {
		if m.nPos*w > maxActivation {
			return fmt.Errorf("%d positions × %d values per position exceed the activation bound of %d", m.nPos, w, maxActivation)
		}
	}
	var err error
	alloc := func(name string, shape ...int) backend.Tensor {
		if err != nil {
			return nil
		}
		var t backend.Tensor
		t, err = b.Alloc("clip."+name, gguf.TypeF32, shape...)
		return t
	}
	bf := &m.bufs
	bf.patches = alloc("patches", n, 3*cfg.PatchSize*cfg.PatchSize)
	bf.x, bf.h, bf.o = alloc("x", m.nPos, e), alloc("h", m.nPos, e), alloc("o", m.nPos, e)
	bf.q, bf.k = alloc("q", m.nPos, cfg.NHead, hd), alloc("k", m.nPos, cfg.NHead, hd)
	bf.v, bf.attn = alloc("v", m.nPos, cfg.NHead, hd), alloc("attn", m.nPos, cfg.NHead, hd)
	bf.ff = alloc("ff", m.nPos, cfg.NFF)
	bf.sel = alloc("sel", n, e)
	bf.mid, bf.out = alloc("mid", n, mid), alloc("out", n, m.outDim)
	if err != nil {
		return err
	}
	bf.posIDs = make([]int32, m.nPos)
	for i := range bf.posIDs {
		bf.posIDs[i] = int32(i)
	}
	first := m.nPos - n // 1 with a class token: drop it
	bf.patchIDs = make([]int32, n)
	for i := range bf.patchIDs {
		bf.patchIDs[i] = int32(first + i)
	}
	layers := max(cfg.NRun(), 1)
	if m.cache, err = b.NewKVCache(layers, m.nPos, e, e, gguf.TypeF32); err != nil {
		return err
	}
	for i := range m.cache.Cells {
		m.cache.Cells[i] = backend.Cell{Pos: int32(i), Seq: 0}
	}
	return nil
}

// Config is the file's hyper-parameters.
func (m *Model) Config() *Config { return m.cfg }

// NImageTokens is the number of embedding rows one image becomes.
func (m *Model) NImageTokens() int { return m.cfg.NPatches() }

// OutDim is the width of each image-embedding row: the projector's output, which must
// equal the text model's n_embd.
func (m *Model) OutDim() int { return m.outDim }

// CheckTextModel returns an error when the projector's output width is not the text
// model's embedding size (llava's llava_validate_embed_size).
func (m *Model) CheckTextModel(nEmbd int) error {
	if m.outDim != nEmbd {
		return fmt.Errorf("the mmproj projects images to %d values per token, but the text model's n_embd is %d: they do not belong together", m.outDim, nEmbd)
	}
	return nil
}

// Preprocess turns an image into the tower's input with the file's size, mean and std.
func (m *Model) Preprocess(img *Image) ([]float32, error) {
	return Preprocess(img, m.cfg.ImageSize, m.cfg.Mean, m.cfg.Std)
}

// EmbedImage preprocesses and encodes an image: [NImageTokens][OutDim] values.
func (m *Model) EmbedImage(ctx context.Context, img *Image) ([]float32, error) {
	chw, err := m.Preprocess(img)
	if err != nil {
		return nil, err
	}
	return m.Encode(ctx, chw)
}

// Encode runs a preprocessed image ([3][size][size], as Preprocess returns it)
// through the vision tower and the projector, as clip.cpp's LLaVA graph does:
// patch embedding (im2col, then a MatMul with the conv kernel), class token first,
// position embeddings, pre-LayerNorm, block_count-1 encoder blocks (bidirectional
// attention; the MLP's activation per clip.use_gelu), post-LayerNorm when the file
// has one, the class token dropped, then mm.0 → GELU → mm.2. The result has
// NImageTokens rows of OutDim values, patches in row-major grid order.
func (m *Model) Encode(ctx context.Context, chw []float32) ([]float32, error) {
	cfg, b, bf := m.cfg, m.b, &m.bufs
	s := cfg.ImageSize
	if len(chw) != 3*s*s {
		return nil, fmt.Errorf("encode: %d values, want a [3][%d][%d] image", len(chw), s, s)
	}
	n := cfg.NPatches()
	if err := b.Write(bf.patches, im2col(chw, s, cfg.PatchSize)); err != nil {
		return nil, fmt.Errorf("encode: patches: %w", err)
	}
	x := bf.x
	pe := x
	if m.class != nil {
		cls, err := b.View(x, 0, 1)
		if err != nil {
			return nil, err
		}
		if err := b.GetRows(cls, m.class, []int32{0}); err != nil {
			return nil, fmt.Errorf("encode: class token: %w", err)
		}
		if pe, err = b.View(x, 1, m.nPos); err != nil {
			return nil, err
		}
	}
	if err := linear(b, pe, bf.patches, m.patchW, m.patchB); err != nil {
		return nil, fmt.Errorf("encode: patch embedding: %w", err)
	}
	if err := b.GetRows(bf.h, m.pos, bf.posIDs); err != nil {
		return nil, fmt.Errorf("encode: position embeddings: %w", err)
	}
	if err := b.Add(x, x, bf.h); err != nil {
		return nil, fmt.Errorf("encode: position embeddings: %w", err)
	}
	if m.preW != nil {
		if err := b.LayerNorm(x, x, m.preW, m.preB, cfg.Eps); err != nil {
			return nil, fmt.Errorf("encode: pre_ln: %w", err)
		}
	}
	e := cfg.NEmbd
	q2, err := b.Reshape(bf.q, m.nPos, e)
	if err != nil {
		return nil, err
	}
	k2, err := b.Reshape(bf.k, m.nPos, e)
	if err != nil {
		return nil, err
	}
	v2, err := b.Reshape(bf.v, m.nPos, e)
	if err != nil {
		return nil, err
	}
	attn2, err := b.Reshape(bf.attn, m.nPos, e)
	if err != nil {
		return nil, err
	}
	batch := &backend.Batch{Pos: bf.posIDs, Seq: make([]int32, m.nPos), Cells: bf.posIDs}
	// clip.cpp scales Q before Q·Kᵀ (not the scores, as the decoder does): doing the
	// same keeps the F16 file's embeddings bit-identical to llama.cpp's.
	qScale := float32(1 / math.Sqrt(float64(e/cfg.NHead)))
	attnP := backend.AttnParams{Scale: 1, Causal: false}
	for il := range cfg.NRun() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l := &m.layers[il]
		steps := []struct {
			name string
			run  func() error
		}{
			{"ln1", func() error { return b.LayerNorm(bf.h, x, l.ln1W, l.ln1B, cfg.Eps) }},
			{"attn_q", func() error { return linear(b, q2, bf.h, l.wq, l.bq) }},
			{"attn_q scale", func() error { return b.Scale(q2, q2, qScale) }},
			{"attn_k", func() error { return linear(b, k2, bf.h, l.wk, l.bk) }},
			{"attn_v", func() error { return linear(b, v2, bf.h, l.wv, l.bv) }},
			{"attention", func() error { return b.Attention(bf.attn, bf.q, bf.k, bf.v, m.cache, il, batch, attnP) }},
			{"attn_out", func() error { return linear(b, bf.o, attn2, l.wo, l.bo) }},
			{"attn residual", func() error { return b.Add(x, x, bf.o) }},
			{"ln2", func() error { return b.LayerNorm(bf.h, x, l.ln2W, l.ln2B, cfg.Eps) }},
			{"ffn_down (fc1)", func() error { return linear(b, bf.ff, bf.h, l.fc1W, l.fc1B) }},
			{"ffn " + cfg.Act.String(), func() error { return activate(b, cfg.Act, bf.ff) }},
			{"ffn_up (fc2)", func() error { return linear(b, bf.o, bf.ff, l.fc2W, l.fc2B) }},
			{"ffn residual", func() error { return b.Add(x, x, bf.o) }},
		}
		for _, st := range steps {
			if err := st.run(); err != nil {
				return nil, fmt.Errorf("encode: v.blk.%d %s: %w", il, st.name, err)
			}
		}
	}
	if m.postW != nil {
		if err := b.LayerNorm(x, x, m.postW, m.postB, cfg.Eps); err != nil {
			return nil, fmt.Errorf("encode: post_ln: %w", err)
		}
	}
	if err := b.GetRows(bf.sel, x, bf.patchIDs); err != nil {
		return nil, fmt.Errorf("encode: patch rows: %w", err)
	}
	if err := linear(b, bf.mid, bf.sel, m.mm0W, m.mm0B); err != nil {
		return nil, fmt.Errorf("encode: mm.0: %w", err)
	}
	if err := b.GELU(bf.mid, bf.mid); err != nil {
		return nil, fmt.Errorf("encode: projector gelu: %w", err)
	}
	if err := linear(b, bf.out, bf.mid, m.mm2W, m.mm2B); err != nil {
		return nil, fmt.Errorf("encode: mm.2: %w", err)
	}
	out := make([]float32, n*m.outDim)
	if err := b.Read(bf.out, out); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return out, nil
}

// im2col lays out the patches of a [3][s][s] image as rows of [3][p][p] values
// (channel, then kernel row, then kernel column, as the conv kernel's rows are),
// patches in row-major grid order. Pixels beyond the last whole patch are unused,
// as in a stride-p convolution without padding.
func im2col(chw []float32, s, p int) []float32 {
	g := s / p
	k := 3 * p * p
	out := make([]float32, g*g*k)
	for py := range g {
		for px := range g {
			row := out[(py*g+px)*k : (py*g+px+1)*k]
			i := 0
			for c := range 3 {
				for ky := range p {
					src := chw[c*s*s+(py*p+ky)*s+px*p:]
					copy(row[i:i+p], src[:p])
					i += p
				}
			}
		}
	}
	return out
}

// linear is dst = x·wᵀ (+ bias).
func linear(b backend.Backend, dst, x, w, bias backend.Tensor) error {
	if err := b.MatMul(dst, x, w); err != nil {
		return err
	}
	if bias != nil {
		return b.Add(dst, dst, bias)
	}
	return nil
}

func activate(b backend.Backend, a Activation, x backend.Tensor) error {
	switch a {
	case GELU:
		return b.GELU(x, x)
	case SiLU:
		return b.SiLU(x, x)
	}
	return b.QuickGELU(x, x)
}

// binder binds tensors by name with shape checks, keeping the first error.
type binder struct {
	f   *gguf.File
	b   backend.Backend
	err error
}

func (bd *binder) has(name string) bool {
	_, ok := bd.f.Tensor(name)
	return ok
}

// get uploads the named tensor, whose GGUF dims (contiguous first) must be dims.
func (bd *binder) get(name string, dims ...int) backend.Tensor {
	if bd.err != nil {
		return nil
	}
	ti, ok := bd.f.Tensor(name)
	if !ok {
		bd.err = fmt.Errorf("missing tensor %s", name)
		return nil
	}
	want := make([]uint64, len(dims))
	for i, d := range dims {
		want[i] = uint64(d)
	}
	if !slices.Equal(trimOnes(ti.Dims), trimOnes(want)) {
		bd.err = fmt.Errorf("%s: shape %v, want %v", name, ti.Dims, want)
		return nil
	}
	data, err := bd.f.TensorData(ti)
	if err != nil {
		bd.err = fmt.Errorf("%s: %w", name, err)
		return nil
	}
	t, err := bd.b.Upload(ti, data)
	if err != nil {
		bd.err = err
		return nil
	}
	return t
}

// vector binds a norm weight or bias of n values, which must be F32 (they are added
// and multiplied as activations are). An optional one may be absent (nil then).
func (bd *binder) vector(name string, n int, optional bool) backend.Tensor {
	if bd.err != nil {
		return nil
	}
	ti, ok := bd.f.Tensor(name)
	if !ok && optional {
		return nil
	}
	if ok && ti.Type != gguf.TypeF32 {
		bd.err = fmt.Errorf("%s: type %s, want F32", name, ti.Type)
		return nil
	}
	return bd.get(name, n)
}

func (bd *binder) reshape(t backend.Tensor, shape ...int) backend.Tensor {
	if bd.err != nil || t == nil {
		return nil
	}
	r, err := bd.b.Reshape(t, shape...)
	if err != nil {
		bd.err = err
		return nil
	}
	return r
}

// trimOnes drops trailing 1s, so a bias stored as [n, 1] matches [n].
func trimOnes(d []uint64) []uint64 {
	for len(d) > 1 && d[len(d)-1] == 1 {
		d = d[:len(d)-1]
	}
	return d
}
