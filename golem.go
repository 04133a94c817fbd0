package golem

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/golem-llm/golem/backend"
	_ "github.com/golem-llm/golem/backend/cpu" // the pure-Go backend, always compiled in
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/inference"
	"github.com/golem-llm/golem/internal/pagein"
	"github.com/golem-llm/golem/models"
	"github.com/golem-llm/golem/models/chat"
	"github.com/golem-llm/golem/models/embedded"
	"github.com/golem-llm/golem/models/tokenizer"
)

// ErrClosed is returned by the methods of a closed Model.
var ErrClosed = errors.New("the model is closed")

// EmbeddedModel is the name of the model Load uses for an empty path: stories260K, a
// 260K-parameter llama trained on TinyStories, built into the package.
const EmbeddedModel = embedded.Stories260KName

// MaxParallel is the most sequences a model decodes at once (LoadOptions.Parallel).
const MaxParallel = 64

// LoadOptions configure Load. The zero value loads the model on the best backend
// compiled in, with every CPU core, the model's own context length, batches of 512
// prompt tokens, an F32 KV cache, one sequence at a time and the model's chat template.
type LoadOptions struct {
	// Backend names the backend ("cpu", "cuda", ...); "" or "auto" picks the best one
	// compiled in that can run here (Info.Backend says which and why).
	Backend string
	// Threads is the number of CPU threads; 0 means all cores.
	Threads int
	// ContextSize is the KV cache's size in tokens, shared by the sequences decoded
	// at once; 0 means the model's context_length.
	ContextSize int
	// BatchSize is the most prompt tokens one forward pass takes; 0 means 512.
	BatchSize int
	// CacheType is the KV cache's element type: "" or "f32" (results equal to the
	// references), or "f16" (half the memory).
	CacheType string
	// Parallel is the most sequences decoded together (llama-server's slots); each
	// gets ContextSize/Parallel tokens of the cache. Further Generate and Chat calls
	// wait for a free slot. 0 means 1; at most MaxParallel.
	Parallel int
	// ChatTemplate overrides the model's chat template: a built-in format's name
	// (chatml, llama2, llama3, ...) or the path of a file holding a Jinja template.
	// "" uses the model's own template, or ChatML when it has none
	// (Info.ChatTemplateFallback).
	ChatTemplate string
	// Progress, when not nil, is called while the weights are read into memory with
	// the bytes read so far and the total (at least once, at the end).
	Progress func(done, total uint64)
	// Profile times every op by kind, layer and phase (Model.WriteProfile); it costs
	// a little time per op.
	Profile bool
	// MMProj is the path of a multimodal projector (a LLaVA mmproj GGUF, architecture
	// clip) loaded with the model, so that prompts can hold images
	// (GenerateOptions.Images, Message.Images). Its output width must be the model's
	// embedding size. "" loads none.
	MMProj string
}

// Info describes a loaded model.
type Info struct {
	// Name is the model file's path, or EmbeddedModel.
	Name string
	// Architecture is general.architecture (llama, qwen2, bert, ...).
	Architecture string
	// Backend is the backend's name; BackendReason says why it was chosen.
	Backend, BackendReason string
	// Threads is the number of CPU threads.
	Threads int
	// ContextSize is the KV cache's size in tokens; SequenceContext what each of the
	// Parallel sequences may hold; TrainContext the model's context_length.
	ContextSize, SequenceContext, TrainContext int
	// Parallel is the most sequences decoded at once.
	Parallel int
	// BatchSize is the most prompt tokens per forward pass.
	BatchSize int
	// CacheType is the KV cache's element type (F32 or F16).
	CacheType string
	// VocabSize, EmbeddingSize and Layers are the model's n_vocab, n_embd and
	// block_count.
	VocabSize, EmbeddingSize, Layers int
	// WeightBytes is the size of the weights as stored; CacheBytes the KV cache's (a
	// recurrent model's states included).
	WeightBytes, CacheBytes uint64
	// LoadTime is how long Load took.
	LoadTime time.Duration
	// ChatTemplate names the chat template Chat uses ("" when it could not be
	// compiled: Chat says why); ChatTemplateFallback is true when the model has none
	// and ChatML was chosen.
	ChatTemplate         string
	ChatTemplateFallback bool
	// Embeddings is true for models that embed (Model.Embed); Generates for models
	// with a language-model head (all but encoders such as BERT).
	Embeddings, Generates bool
	// AddBOS says whether tokenizing adds a BOS token.
	AddBOS bool
	// MMProj is the multimodal projector's path ("" when none was loaded);
	// ImageTokens the number of prompt positions one image takes (0 without one).
	MMProj      string
	ImageTokens int
}

// Model is a loaded model. Its methods are safe for concurrent use: generations
// (Generate, GenerateBatch, Chat) are decoded together, up to LoadOptions.Parallel at
// once, sharing one KV cache (a finished generation's cells stay as a prompt cache for
// the next one that shares its start); embeddings run between decoding steps.
// Tokenize, Detokenize and Info do not touch the engine. Close the model to free it.
type Model struct {
	info     Info
	file     *gguf.File
	be       backend.Backend
	model    models.Model
	tok      *tokenizer.Tokenizer
	cache    *backend.KVCache
	prof     *inference.Profiler
	tmpl     *chat.Template
	tmplErr  error
	eng      *engine
	vision   *vision // the multimodal projector (nil without LoadOptions.MMProj)
	closeMu  sync.Once
	closeErr error
}

// Load opens the GGUF model at path ("" for the embedded EmbeddedModel), reads its
// weights into memory (reporting opts.Progress), builds it on the backend and
// allocates its KV cache. An unsupported architecture, a broken file or bad options
// are errors that say which.
func Load(ctx context.Context, path string, opts LoadOptions) (*Model, error) {
	start := time.Now()
	if opts.BatchSize < 0 {
		return nil, fmt.Errorf("batch size %d must be positive", opts.BatchSize)
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 512
	}
	if opts.Threads < 0 {
		return nil, fmt.Errorf("threads %d must not be negative", opts.Threads)
	}
	if opts.ContextSize < 0 {
		return nil, fmt.Errorf("context size %d must not be negative", opts.ContextSize)
	}
	if opts.Parallel < 0 || opts.Parallel > MaxParallel {
		return nil, fmt.Errorf("parallel %d: want 1 to %d", opts.Parallel, MaxParallel)
	}
	if opts.Parallel == 0 {
		opts.Parallel = 1
	}
	var cacheType gguf.Type
	switch strings.ToLower(opts.CacheType) {
	case "", "f32":
		cacheType = gguf.TypeF32
	case "f16":
		cacheType = gguf.TypeF16
	default:
		return nil, fmt.Errorf("cache type %q: want f32 or f16", opts.CacheType)
	}
	// An explicit template that does not work is the caller's mistake: say so before
	// the model is read.
	if opts.ChatTemplate != "" {
		if _, err := chat.Select(opts.ChatTemplate, ""); err != nil {
			return nil, err
		}
	}

	m := &Model{}
	name := path
	var err error
	if path == "" {
		name = EmbeddedModel
		if m.file, err = gguf.FromBytes(embedded.Stories260K); err != nil {
			return nil, fmt.Errorf("embedded model: %w", err)
		}
	} else if m.file, err = gguf.Open(path); err != nil {
		return nil, err
	}
	fail := func(err error) (*Model, error) {
		m.release()
		return nil, err
	}
	if err := pagein.Touch(ctx, m.file, opts.Progress); err != nil {
		return fail(fmt.Errorf("%s: %w", name, err))
	}
	threads := opts.Threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	be, why, err := backend.Open(opts.Backend, backend.Options{Threads: threads})
	if err != nil {
		return fail(err)
	}
	if opts.Profile {
		m.prof = inference.NewProfiler(be)
		be = m.prof
	}
	m.be = be
	if m.model, err = models.Load(m.file, be, models.Options{MaxBatch: opts.BatchSize}); err != nil {
		return fail(fmt.Errorf("%s: %w", name, err))
	}
	if m.tok, err = tokenizer.FromGGUF(m.file.Meta); err != nil {
		return fail(fmt.Errorf("%s: %w", name, err))
	}
	cfg := m.model.Config()
	nctx := opts.ContextSize
	if nctx == 0 {
		nctx = cfg.NCtxTrain
	}
	if m.cache, err = m.model.NewCache(nctx, cacheType); err != nil {
		return fail(err)
	}
	seqCtx := m.cache.Size() / opts.Parallel
	if seqCtx < 1 {
		return fail(fmt.Errorf("parallel %d: the context of %d tokens leaves nothing to each sequence", opts.Parallel, m.cache.Size()))
	}
	m.tmpl, m.tmplErr = chat.FromGGUF(m.file.Meta, opts.ChatTemplate)
	_, embeds := m.model.(models.Embedder)
	m.info = Info{
		Name:            name,
		Architecture:    cfg.Arch,
		Backend:         be.Name(),
		BackendReason:   why,
		Threads:         threads,
		ContextSize:     m.cache.Size(),
		SequenceContext: seqCtx,
		TrainContext:    cfg.NCtxTrain,
		Parallel:        opts.Parallel,
		BatchSize:       opts.BatchSize,
		CacheType:       cacheType.String(),
		VocabSize:       cfg.NVocab,
		EmbeddingSize:   cfg.NEmbd,
		Layers:          cfg.NLayer,
		WeightBytes:     pagein.Total(m.file),
		CacheBytes:      cacheBytes(m.cache),
		Embeddings:      embeds,
		Generates:       !models.IsEncoder(m.model),
		AddBOS:          m.tok.AddBOS(),
	}
	if m.tmpl != nil {
		m.info.ChatTemplate = m.tmpl.String()
		m.info.ChatTemplateFallback = m.tmpl.Fallback
	}
	if opts.MMProj != "" {
		if err := m.loadVision(ctx, opts.MMProj); err != nil {
			return fail(err)
		}
	}
	b := inference.NewBatcher(m.model, m.cache, m.tok, opts.BatchSize)
	if opts.Parallel > 1 {
		b.NCtx = seqCtx
	}
	b.Profiler = m.prof
	m.eng = newEngine(b, opts.Parallel)
	m.info.LoadTime = time.Since(start)
	return m, nil
}

func cacheBytes(c *backend.KVCache) uint64 {
	var n uint64
	for _, t := range append(append([]backend.Tensor(nil), c.K...), c.V...) {
		n += uint64(t.Shape().Elements()) / uint64(t.DType().BlockSize()) * uint64(t.DType().BlockBytes())
	}
	return n
}

// Info describes the model.
func (m *Model) Info() Info { return m.info }

// Close stops the model's generations (they end with ErrClosed) and frees its memory.
// Calling it again does nothing.
func (m *Model) Close() error {
	m.closeMu.Do(func() {
		if m.eng != nil {
			m.eng.close()
		}
		m.closeErr = m.release()
	})
	return m.closeErr
}

func (m *Model) release() error {
	var err error
	if m.be != nil {
		err = m.be.Close()
	}
	if m.file != nil {
		if e := m.file.Close(); err == nil {
			err = e
		}
	}
	if m.vision != nil {
		if e := m.vision.file.Close(); err == nil {
			err = e
		}
	}
	return err
}
