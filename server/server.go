// Package server is golem's OpenAI-compatible HTTP server (`golem serve`): chat and
// text completions (streamed as server-sent events or not), embeddings, the model list,
// a readiness probe and Prometheus metrics, over one model loaded through package golem.
//
// Generations are decoded together by the model's engine (continuous batching: requests
// join and leave the running batch between decode steps). The server admits up to
// Config.Parallel of them at once — the model's slots — and keeps at most Config.Queue
// more waiting; a request beyond that is answered 503 at once. A client that goes away
// cancels its generation, which frees its slot before the next decode step.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golem-llm/golem"
)

// Model is what the server needs of a loaded model; *golem.Model has it.
type Model interface {
	Info() golem.Info
	Tokenize(text string, opts golem.TokenizeOptions) []int32
	ChatPrompt(messages []golem.Message, opts golem.ChatOptions) (string, error)
	Generate(ctx context.Context, prompt string, opts golem.GenerateOptions) iter.Seq2[string, error]
	Chat(ctx context.Context, messages []golem.Message, opts golem.ChatOptions) iter.Seq2[string, error]
	Embed(ctx context.Context, texts []string, opts golem.EmbedOptions) ([][]float32, error)
	EmbedTokens(ctx context.Context, seqs [][]int32, opts golem.EmbedOptions) ([][]float32, error)
}

var _ Model = (*golem.Model)(nil)

// Defaults of Config.
const (
	// DefaultQueue is the most requests waiting for a slot.
	DefaultQueue = 64
	// DefaultMaxBodyBytes is the largest request body.
	DefaultMaxBodyBytes = 4 << 20
	// MaxEmbeddingInputs is the most inputs of one embeddings request (OpenAI's limit).
	MaxEmbeddingInputs = 2048
	// MaxStops is the most stop strings of one request.
	MaxStops = 16
	// maxStopBytes is the longest stop string.
	maxStopBytes = 1024
	// bodyReadTimeout bounds the time a client may take to send its request body.
	bodyReadTimeout = 30 * time.Second
)

// Config configures a Server. The zero value serves the model's slots with a queue of
// DefaultQueue, bodies up to DefaultMaxBodyBytes, and names the model after its file.
type Config struct {
	// ModelID names the model in /v1/models and in answers; "" means the model file's
	// base name (or golem.EmbeddedModel's short name).
	ModelID string
	// Parallel is the most generations running at once; 0 means the model's
	// Info().Parallel (its engine's slots, which it should not exceed).
	Parallel int
	// Queue is the most requests waiting for a slot beyond those running; 0 means
	// DefaultQueue, a negative value no waiting at all.
	Queue int
	// MaxBodyBytes is the largest request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives the request log; nil means slog.Default().
	Logger *slog.Logger
}

// Server answers the OpenAI API over one model. It serves before the model is set
// (/health then answers 503, as do the API's endpoints) so that a load balancer can
// probe it while a large model loads.
type Server struct {
	cfg     Config
	log     *slog.Logger
	met     *metrics
	state   atomic.Pointer[served]
	closing atomic.Bool
	handler http.Handler
}

// served is the model being served with what the handlers need of it.
type served struct {
	m       Model
	info    golem.Info
	id      string
	created int64
	gate    *gate
	bos     int32
	hasBOS  bool
}

// New returns a Server with no model yet: call SetModel once it is loaded.
func New(cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Queue == 0 {
		cfg.Queue = DefaultQueue
	} else if cfg.Queue < 0 {
		cfg.Queue = 0
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.met = newMetrics(s)
	s.handler = s.routes()
	return s
}

// SetModel makes the server answer with m; /health then answers 200.
func (s *Server) SetModel(m Model) {
	info := m.Info()
	st := &served{m: m, info: info, id: s.cfg.ModelID, created: time.Now().Unix()}
	if st.id == "" {
		st.id = modelID(info.Name)
	}
	parallel := s.cfg.Parallel
	if parallel <= 0 {
		parallel = max(info.Parallel, 1)
	}
	st.gate = newGate(parallel, s.cfg.Queue)
	if info.AddBOS {
		if ids := m.Tokenize("", golem.TokenizeOptions{}); len(ids) > 0 {
			st.bos, st.hasBOS = ids[0], true
		}
	}
	s.state.Store(st)
}

// modelID is the name of a model file as /v1/models lists it.
func modelID(name string) string {
	if name == golem.EmbeddedModel {
		if i := strings.IndexByte(name, ' '); i > 0 {
			return name[:i]
		}
		return name
	}
	return filepath.Base(name)
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Busy reports the generations running and waiting for a slot.
func (s *Server) Busy() (running, waiting int) {
	st := s.state.Load()
	if st == nil {
		return 0, 0
	}
	return int(st.gate.busy.Load()), int(st.gate.waiting.Load())
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern, method string, h func(http.ResponseWriter, *http.Request) *apiError) {
		mux.Handle(pattern, s.met.instrument(pattern, s.endpoint(method, h)))
	}
	api("/v1/chat/completions", http.MethodPost, s.chatCompletions)
	api("/v1/completions", http.MethodPost, s.completions)
	api("/v1/embeddings", http.MethodPost, s.embeddings)
	api("/v1/models", http.MethodGet, s.models)
	api("/v1/models/{id...}", http.MethodGet, s.model)
	mux.Handle("/health", s.met.instrument("/health", http.HandlerFunc(s.health)))
	mux.Handle("/metrics", s.met.handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Type: typeNotFound,
			Message: "no endpoint " + r.Method + " " + r.URL.Path + " (golem serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models, /health, /metrics)"})
	})
	return mux
}

// endpoint wraps an API handler: the method check, the model's readiness, the body's
// size limit, and the error answer.
func (s *Server) endpoint(method string, h func(http.ResponseWriter, *http.Request) *apiError) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", method)
			writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Type: typeInvalidRequest,
				Message: r.URL.Path + " takes " + method + ", not " + r.Method})
			return
		}
		if s.state.Load() == nil {
			writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable,
				Message: "the model is still loading", Code: ptr("model_loading")})
			return
		}
		if s.closing.Load() {
			w.Header().Set("Connection", "close")
			writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable,
				Message: "the server is shutting down", Code: ptr("shutting_down")})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		if e := h(w, r); e != nil {
			switch {
			case e.Status == http.StatusServiceUnavailable:
				s.log.Warn("request refused", "path", r.URL.Path, "status", e.Status, "err", e.Message)
			case e.Status >= 500:
				s.log.Error("request failed", "path", r.URL.Path, "status", e.Status, "err", e.Message)
			default:
				s.log.Debug("request refused", "path", r.URL.Path, "status", e.Status, "err", e.Message)
			}
			writeError(w, e)
		}
	})
}

// decode reads the JSON body into v: a malformed body, a wrong type or trailing data is
// a 400 naming the field; a body over the limit a 413.
func decode(w http.ResponseWriter, r *http.Request, v any) *apiError {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyReadTimeout))
	defer rc.SetReadDeadline(time.Time{})
	dec := json.NewDecoder(r.Body)
	err := dec.Decode(v)
	if err == nil {
		if _, e := dec.Token(); !errors.Is(e, io.EOF) {
			err = errors.New("data after the JSON object")
		}
	}
	if err == nil {
		return nil
	}
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &tooBig):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Code: ptr("request_too_large"),
			Message: "the request body is larger than the limit of " + formatBytes(tooBig.Limit)}
	case errors.As(err, &typeErr):
		field := strings.TrimPrefix(typeErr.Field, "samplingRequest.")
		return badRequest(field, "invalid_type", "%s: want %s, got JSON %s", fieldName(field), describe(typeErr.Type), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return badRequest("", "invalid_json", "the body is not valid JSON: %v (at byte %d)", err, syntaxErr.Offset)
	case errors.Is(err, io.EOF):
		return badRequest("", "invalid_json", "the request body is empty: want a JSON object")
	}
	return badRequest("", "invalid_json", "the body is not valid JSON: %v", err)
}

// describe names the JSON a Go type decodes from.
func describe(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[stringList]():
		return "a string or an array of strings"
	case reflect.TypeFor[messageText]():
		return "a string or an array of content parts"
	case reflect.TypeFor[promptText]():
		return "a string or an array of strings"
	case reflect.TypeFor[embeddingInput]():
		return "a string, an array of strings, or token ids (an array of integers or of arrays of integers)"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return describe(t.Elem())
	}
	return "an object"
}

func fieldName(f string) string {
	if f == "" {
		return "the body"
	}
	return f
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"encoding the answer failed","type":"server_error","param":null,"code":null}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func marshal(v any) ([]byte, error) {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(buf.String(), "\n")), nil
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.Status, errorBody{Error: e})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Type: typeInvalidRequest, Message: "/health takes GET"})
		return
	}
	switch {
	case s.state.Load() == nil:
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Message: "the model is still loading", Code: ptr("model_loading")})
	case s.closing.Load():
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Message: "the server is shutting down", Code: ptr("shutting_down")})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}

func (s *Server) card(st *served) modelCard {
	in := st.info
	return modelCard{ID: st.id, Object: "model", Created: st.created, OwnedBy: "golem", Meta: map[string]any{
		"architecture": in.Architecture, "n_ctx": in.ContextSize, "n_ctx_slot": in.SequenceContext,
		"n_ctx_train": in.TrainContext, "n_vocab": in.VocabSize, "n_embd": in.EmbeddingSize,
		"parallel": st.gate.slots, "backend": in.Backend, "chat_template": in.ChatTemplate,
		"embeddings": in.Embeddings, "generates": in.Generates,
	}}
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) *apiError {
	st := s.state.Load()
	writeJSON(w, http.StatusOK, modelList{Object: "list", Data: []modelCard{s.card(st)}})
	return nil
}

// model answers GET /v1/models/{id}: a server of one model answers for it whatever the
// id (CONTRACTS.md: `serve`).
func (s *Server) model(w http.ResponseWriter, r *http.Request) *apiError {
	writeJSON(w, http.StatusOK, s.card(s.state.Load()))
	return nil
}

// newID returns a response id: prefix and 24 random hex digits.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// gate admits generations: up to slots at once, up to queue more waiting in order of
// arrival, and refuses the rest.
type gate struct {
	slots   int
	sem     chan struct{}
	limit   int64
	inside  atomic.Int64 // running or waiting
	waiting atomic.Int64
	busy    atomic.Int64
}

var errFull = errors.New("every slot is busy and the queue is full")

func newGate(slots, queue int) *gate {
	return &gate{slots: slots, sem: make(chan struct{}, slots), limit: int64(slots + queue)}
}

// enter waits for a slot; it returns the release function, errFull at once when the
// queue is full, or ctx's error when the caller gave up waiting.
func (g *gate) enter(ctx context.Context) (func(), error) {
	if g.inside.Add(1) > g.limit {
		g.inside.Add(-1)
		return nil, errFull
	}
	select {
	case g.sem <- struct{}{}:
	default:
		g.waiting.Add(1)
		select {
		case g.sem <- struct{}{}:
			g.waiting.Add(-1)
		case <-ctx.Done():
			g.waiting.Add(-1)
			g.inside.Add(-1)
			return nil, ctx.Err()
		}
	}
	g.busy.Add(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			g.busy.Add(-1)
			<-g.sem
			g.inside.Add(-1)
		})
	}, nil
}
