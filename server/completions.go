package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"time"

	"github.com/golem-llm/golem"
)

// options turns the request's sampling fields into generation options, starting from
// llama.cpp's defaults as llama-server does (temperature 0.8, top-k 40, top-p 0.95,
// min-p 0.05, a random seed), and checks the prompt plus max_tokens against the
// context of one slot.
func (req *samplingRequest) options(st *served, promptTokens int) (golem.GenerateOptions, *apiError) {
	o := golem.DefaultGenerateOptions()
	if req.N != nil && *req.N != 1 {
		return o, badRequest("n", "unsupported_value", "n must be 1: golem serve returns one choice per request")
	}
	if present(req.Logprobs) && !bytes.Equal(bytes.TrimSpace(req.Logprobs), []byte("false")) {
		return o, badRequest("logprobs", "unsupported_parameter", "logprobs are not supported by golem serve")
	}
	if present(req.LogitBias) && !bytes.Equal(bytes.TrimSpace(req.LogitBias), []byte("{}")) {
		return o, badRequest("logit_bias", "unsupported_parameter", "logit_bias is not supported by golem serve")
	}
	if v := req.Temperature; v != nil {
		if *v < 0 || *v > 2 {
			return o, badRequest("temperature", "invalid_value", "temperature %g: want 0 to 2", *v)
		}
		o.Temperature = float32(*v)
	}
	if v := req.TopP; v != nil {
		if *v < 0 || *v > 1 {
			return o, badRequest("top_p", "invalid_value", "top_p %g: want 0 to 1", *v)
		}
		o.TopP = float32(*v)
		if *v == 0 {
			o.TopP = 1e-9 // only the most likely token: OpenAI's top_p 0 (0 is "off" in golem)
		}
	}
	if v := req.TopK; v != nil {
		if *v < 0 || *v > int64(st.info.VocabSize) {
			return o, badRequest("top_k", "invalid_value", "top_k %d: want 0 (off) to the vocabulary's %d", *v, st.info.VocabSize)
		}
		o.TopK = int(*v)
	}
	if v := req.MinP; v != nil {
		if *v < 0 || *v > 1 {
			return o, badRequest("min_p", "invalid_value", "min_p %g: want 0 to 1", *v)
		}
		o.MinP = float32(*v)
	}
	if v := req.RepeatPenalty; v != nil {
		if *v < 0 || *v > 10 {
			return o, badRequest("repeat_penalty", "invalid_value", "repeat_penalty %g: want 0 to 10 (1 or 0: off)", *v)
		}
		o.RepeatPenalty = float32(*v)
	}
	for _, p := range []struct {
		name string
		v    *float64
		dst  *float32
	}{{"presence_penalty", req.PresencePenalty, &o.PresencePenalty}, {"frequency_penalty", req.FrequencyPenalty, &o.FrequencyPenalty}} {
		if p.v == nil {
			continue
		}
		if *p.v < -2 || *p.v > 2 {
			return o, badRequest(p.name, "invalid_value", "%s %g: want -2 to 2", p.name, *p.v)
		}
		*p.dst = float32(*p.v)
	}
	if v := req.Seed; v != nil {
		switch {
		case *v == -1:
			o.Seed = golem.RandomSeed
		case *v < 0 || *v >= int64(golem.RandomSeed):
			return o, badRequest("seed", "invalid_value", "seed %d: want 0 to %d, or -1 for a random one", *v, int64(golem.RandomSeed)-1)
		default:
			o.Seed = uint32(*v)
		}
	}
	if len(req.Stop) > MaxStops {
		return o, badRequest("stop", "invalid_value", "%d stop strings: at most %d", len(req.Stop), MaxStops)
	}
	for i, s := range req.Stop {
		if s == "" {
			return o, badRequest("stop", "invalid_value", "stop string %d is empty", i)
		}
		if len(s) > maxStopBytes {
			return o, badRequest("stop", "invalid_value", "stop string %d is %d bytes long: at most %d", i, len(s), maxStopBytes)
		}
	}
	o.Stop = req.Stop

	// The context: one slot's share of the cache. Never truncate: refuse.
	nctx := st.info.SequenceContext
	if promptTokens >= nctx {
		return o, badRequest("messages", "context_length_exceeded",
			"the prompt is %d tokens: it does not fit this server's context of %d tokens per request (leaving room for at least one new token)", promptTokens, nctx)
	}
	param, maxTokens := "max_tokens", req.MaxTokens
	if req.MaxCompletionTokens != nil {
		param, maxTokens = "max_completion_tokens", req.MaxCompletionTokens
	}
	if maxTokens != nil {
		n := *maxTokens
		if n < 1 {
			return o, badRequest(param, "invalid_value", "%s %d: want at least 1", param, n)
		}
		if int64(promptTokens)+n > int64(nctx) {
			return o, badRequest(param, "context_length_exceeded",
				"the prompt (%d tokens) plus %s (%d) is %d tokens, more than this server's context of %d tokens per request: lower %s to at most %d or shorten the prompt",
				promptTokens, param, n, int64(promptTokens)+n, nctx, param, nctx-promptTokens)
		}
		o.MaxTokens = int(n)
	}
	// Without max_tokens a generation ends at an end-of-generation token or a full
	// context (finish_reason "length").
	return o, nil
}

// present reports whether a raw JSON field was given and is not null.
func present(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// finishReason is OpenAI's name of why a generation ended.
func finishReason(st golem.Stats) string {
	switch st.Stop {
	case golem.StopLength, golem.StopContext:
		return "length"
	}
	return "stop"
}

// generation is one admitted generation's run: it streams the pieces to emit and
// records the metrics.
type generation struct {
	s       *Server
	start   time.Time
	release func()
}

// admit waits for a slot; the error is the answer (503 when the queue is full).
func (s *Server) admit(ctx context.Context, st *served, start time.Time) (*generation, *apiError) {
	release, err := st.gate.enter(ctx)
	if errors.Is(err, errFull) {
		s.met.rejected.Inc()
		return nil, &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Code: ptr("server_busy"),
			Message: fmt.Sprintf("the server is busy: all %d slots are generating and %d requests are waiting; retry later", st.gate.slots, st.gate.limit-int64(st.gate.slots))}
	}
	if err != nil {
		s.met.cancelled.Inc()
		return nil, &apiError{Status: 499, Type: typeInvalidRequest, Message: "the client went away while waiting for a slot"}
	}
	return &generation{s: s, start: start, release: release}, nil
}

// run consumes seq, calling emit with each piece; the slot is released at the end.
// It returns the text and the statistics; err is the generation's failure, or
// emit's (the client is gone), or the context's.
func (g *generation) run(ctx context.Context, seq iter.Seq2[string, error], stats *golem.Stats, emit func(string) error) (string, error) {
	defer g.release()
	var sb strings.Builder
	pieces := 0
	var failure error
	for piece, err := range seq {
		if err != nil {
			failure = err
			break
		}
		if pieces == 0 {
			g.s.met.ttft.Observe(time.Since(g.start).Seconds())
		}
		pieces++
		g.s.met.window.add(1)
		sb.WriteString(piece)
		if emit != nil {
			if err := emit(piece); err != nil {
				failure = fmt.Errorf("writing to the client: %w", err)
				break
			}
		}
	}
	g.s.met.window.add(stats.GeneratedTokens - pieces)
	g.s.met.promptTokens.Add(float64(stats.PromptTokens))
	g.s.met.completionTokens.Add(float64(stats.GeneratedTokens))
	if failure != nil && (ctx.Err() != nil || errors.Is(failure, context.Canceled)) {
		g.s.met.cancelled.Inc()
	}
	g.s.log.Debug("generation", "prompt_tokens", stats.PromptTokens, "cached_tokens", stats.CachedTokens,
		"completion_tokens", stats.GeneratedTokens, "stop", string(stats.Stop), "took", time.Since(g.start), "err", failure)
	return sb.String(), failure
}

// failure is the answer to a generation that failed before it could answer.
func failure(err error) *apiError {
	if errors.Is(err, golem.ErrClosed) {
		return &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Code: ptr("shutting_down"), Message: "the server is shutting down"}
	}
	return &apiError{Status: http.StatusInternalServerError, Type: typeServer, Message: "generation failed: " + err.Error()}
}

// chatCompletions answers POST /v1/chat/completions.
func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) *apiError {
	start := time.Now()
	st := s.state.Load()
	var req chatRequest
	if e := decode(w, r, &req); e != nil {
		return e
	}
	if !st.info.Generates {
		return badRequest("model", "model_not_supported", "the %s model does not generate text (it embeds: use /v1/embeddings)", st.info.Architecture)
	}
	if len(req.Messages) == 0 {
		return badRequest("messages", "invalid_value", "messages is empty: want at least one message")
	}
	if present(req.Tools) && !bytes.Equal(bytes.TrimSpace(req.Tools), []byte("[]")) {
		return badRequest("tools", "unsupported_parameter", "tools are not supported by golem serve")
	}
	msgs := make([]golem.Message, len(req.Messages))
	images := 0
	for i, m := range req.Messages {
		if m.Role == "" {
			return badRequest(fmt.Sprintf("messages[%d].role", i), "invalid_value", "message %d has no role", i)
		}
		if m.Content.other != "" {
			return badRequest(fmt.Sprintf("messages[%d].content", i), "unsupported_value",
				"message %d has a %q content part: golem serve takes text only", i, m.Content.other)
		}
		msgs[i] = golem.Message{Role: m.Role, Content: m.Content.text}
		for j, url := range m.Content.images {
			param := fmt.Sprintf("messages[%d].content", i)
			if st.info.MMProj == "" {
				return badRequest(param, "model_not_supported", "message %d has an image, but the model was loaded without a multimodal projector (--mmproj)", i)
			}
			data, err := decodeDataURI(url)
			if err != nil {
				return badRequest(param, "invalid_value", "message %d image %d: %v", i, j, err)
			}
			img, err := golem.DecodeImage(data)
			if err != nil {
				return badRequest(param, "invalid_value", "message %d image %d: %v", i, j, err)
			}
			msgs[i].Images = append(msgs[i].Images, img)
			images++
		}
	}
	copts := golem.ChatOptions{Kwargs: req.ChatTemplateKwargs}
	text, err := st.m.ChatPrompt(msgs, copts)
	if err != nil {
		return badRequest("messages", "invalid_value", "%v", err)
	}
	ids := st.m.Tokenize(text, golem.TokenizeOptions{NoSpecial: true, ParseSpecial: true})
	n := len(ids) + images*st.info.ImageTokens // each image takes its rows (an upper bound: its marker's tokens count too)
	if st.hasBOS && (n == 0 || ids[0] != st.bos) {
		n++ // Chat adds BOS when the template did not write it
	}
	opts, e := req.options(st, n)
	if e != nil {
		return e
	}
	var stats golem.Stats
	opts.Stats = &stats
	copts.GenerateOptions = opts
	g, e := s.admit(r.Context(), st, start)
	if e != nil {
		return e
	}
	id, created := newID("chatcmpl-"), time.Now().Unix()
	seq := st.m.Chat(r.Context(), msgs, copts)
	chunk := func(delta *chatOut, finish *string) chatCompletion {
		return chatCompletion{ID: id, Object: "chat.completion.chunk", Created: created, Model: st.id, SystemFingerprint: fingerprint,
			Choices: []chatChoice{{Delta: delta, FinishReason: finish}}}
	}
	if !req.Stream {
		out, err := g.run(r.Context(), seq, &stats, nil)
		if err != nil {
			return s.ended(r, err)
		}
		reason := finishReason(stats)
		writeJSON(w, http.StatusOK, chatCompletion{ID: id, Object: "chat.completion", Created: created, Model: st.id, SystemFingerprint: fingerprint,
			Choices: []chatChoice{{Message: &chatOut{Role: "assistant", Content: &out}, FinishReason: &reason}},
			Usage:   usageOf(stats)})
		return nil
	}
	ev := newEvents(w)
	if err := ev.send(chunk(&chatOut{Role: "assistant", Content: ptr("")}, nil)); err != nil {
		g.release()
		return nil
	}
	_, err = g.run(r.Context(), seq, &stats, func(piece string) error {
		return ev.send(chunk(&chatOut{Content: &piece}, nil))
	})
	if err != nil {
		s.streamEnded(r, ev, err)
		return nil
	}
	reason := finishReason(stats)
	last := chunk(&chatOut{}, &reason)
	last.Usage = usageOf(stats)
	_ = ev.send(last)
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		u := chunk(nil, nil)
		u.Choices, u.Usage = []chatChoice{}, usageOf(stats)
		_ = ev.send(u)
	}
	_ = ev.done()
	return nil
}

// completions answers POST /v1/completions.
func (s *Server) completions(w http.ResponseWriter, r *http.Request) *apiError {
	start := time.Now()
	st := s.state.Load()
	var req completionRequest
	if e := decode(w, r, &req); e != nil {
		return e
	}
	if !st.info.Generates {
		return badRequest("model", "model_not_supported", "the %s model does not generate text (it embeds: use /v1/embeddings)", st.info.Architecture)
	}
	switch {
	case !req.Prompt.set:
		return badRequest("prompt", "missing_parameter", "prompt is missing: want a string")
	case req.Prompt.tokens:
		return badRequest("prompt", "unsupported_value", "token-id prompts are not supported by golem serve: send the text")
	case len(req.Prompt.prompts) != 1:
		return badRequest("prompt", "unsupported_value", "prompt has %d strings: golem serve takes one prompt per request", len(req.Prompt.prompts))
	case present(req.Suffix):
		return badRequest("suffix", "unsupported_parameter", "suffix is not supported by golem serve")
	case req.BestOf != nil && *req.BestOf != 1:
		return badRequest("best_of", "unsupported_value", "best_of must be 1")
	}
	prompt := req.Prompt.prompts[0]
	n := len(st.m.Tokenize(prompt, golem.TokenizeOptions{}))
	if n == 0 {
		return badRequest("prompt", "invalid_value", "the prompt is empty and the vocabulary adds no BOS token: nothing to start from")
	}
	opts, e := req.options(st, n)
	if e != nil {
		if e.Param != nil && *e.Param == "messages" {
			e.Param = ptr("prompt")
		}
		return e
	}
	var stats golem.Stats
	opts.Stats = &stats
	g, e := s.admit(r.Context(), st, start)
	if e != nil {
		return e
	}
	id, created := newID("cmpl-"), time.Now().Unix()
	seq := st.m.Generate(r.Context(), prompt, opts)
	chunk := func(text string, finish *string) textCompletion {
		return textCompletion{ID: id, Object: "text_completion", Created: created, Model: st.id, SystemFingerprint: fingerprint,
			Choices: []textChoice{{Text: text, FinishReason: finish}}}
	}
	if !req.Stream {
		out, err := g.run(r.Context(), seq, &stats, nil)
		if err != nil {
			return s.ended(r, err)
		}
		if req.Echo {
			out = prompt + out
		}
		reason := finishReason(stats)
		res := chunk(out, &reason)
		res.Usage = usageOf(stats)
		writeJSON(w, http.StatusOK, res)
		return nil
	}
	ev := newEvents(w)
	if req.Echo {
		if err := ev.send(chunk(prompt, nil)); err != nil {
			g.release()
			return nil
		}
	}
	_, err := g.run(r.Context(), seq, &stats, func(piece string) error {
		return ev.send(chunk(piece, nil))
	})
	if err != nil {
		s.streamEnded(r, ev, err)
		return nil
	}
	reason := finishReason(stats)
	last := chunk("", &reason)
	last.Usage = usageOf(stats)
	_ = ev.send(last)
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		u := chunk("", nil)
		u.Choices, u.Usage = []textChoice{}, usageOf(stats)
		_ = ev.send(u)
	}
	_ = ev.done()
	return nil
}

const fingerprint = "golem"

func usageOf(st golem.Stats) *usage {
	return &usage{PromptTokens: st.PromptTokens, CompletionTokens: st.GeneratedTokens, TotalTokens: st.PromptTokens + st.GeneratedTokens}
}

// ended is the answer to a non-streamed generation that did not finish: nothing when
// the client went away, otherwise the failure.
func (s *Server) ended(r *http.Request, err error) *apiError {
	if r.Context().Err() != nil {
		s.log.Debug("client went away: generation cancelled", "path", r.URL.Path)
		return nil
	}
	return failure(err)
}

// streamEnded ends a stream that did not finish: with an error event when the client
// is still there.
func (s *Server) streamEnded(r *http.Request, ev *events, err error) {
	if r.Context().Err() != nil || ev.err != nil {
		s.log.Debug("client went away: generation cancelled", "path", r.URL.Path)
		return
	}
	e := failure(err)
	s.log.Error("generation failed", "path", r.URL.Path, "err", err)
	_ = ev.send(errorBody{Error: e})
	_ = ev.done()
}

// events writes server-sent events.
type events struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func newEvents(w http.ResponseWriter) *events {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &events{w: w, rc: http.NewResponseController(w)}
}

// send writes one `data:` event and flushes it.
func (e *events) send(v any) error {
	if e.err != nil {
		return e.err
	}
	b, err := marshal(v)
	if err != nil {
		return err
	}
	return e.write(append(append([]byte("data: "), b...), '\n', '\n'))
}

// done writes the final `data: [DONE]`.
func (e *events) done() error { return e.write([]byte("data: [DONE]\n\n")) }

func (e *events) write(b []byte) error {
	if e.err != nil {
		return e.err
	}
	if _, err := e.w.Write(b); err != nil {
		e.err = err
		return err
	}
	if err := e.rc.Flush(); err != nil {
		e.err = err
	}
	return e.err
}
