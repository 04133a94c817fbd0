package server

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/golem-llm/golem"
)

// embeddings answers POST /v1/embeddings: one L2-normalised vector per input (as
// OpenAI's and llama-server's are), pooled as the model's file says, as float arrays
// or, with "encoding_format": "base64" (what the openai npm client asks for), as the
// base64 of little-endian float32s. Models without embeddings get a 400 saying so.
func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) *apiError {
	start := time.Now()
	st := s.state.Load()
	var req embeddingRequest
	if e := decode(w, r, &req); e != nil {
		return e
	}
	if !st.info.Embeddings {
		return badRequest("model", "model_not_supported",
			"the %s model does not produce embeddings: serve an embedding model (bert) for /v1/embeddings", st.info.Architecture)
	}
	switch req.EncodingFormat {
	case "", "float", "base64":
	default:
		return badRequest("encoding_format", "invalid_value", "encoding_format %q: want float or base64", req.EncodingFormat)
	}
	if req.Dimensions != nil && *req.Dimensions != int64(st.info.EmbeddingSize) {
		return badRequest("dimensions", "unsupported_value", "dimensions %d: this model's embeddings have %d", *req.Dimensions, st.info.EmbeddingSize)
	}
	in := req.Input
	count := len(in.texts) + len(in.tokens)
	switch {
	case !in.set:
		return badRequest("input", "missing_parameter", "input is missing: want a string or an array of strings")
	case count == 0:
		return badRequest("input", "invalid_value", "input is empty")
	case count > MaxEmbeddingInputs:
		return badRequest("input", "invalid_value", "%d inputs: at most %d per request", count, MaxEmbeddingInputs)
	}
	seqs := in.tokens
	if in.texts != nil {
		seqs = make([][]int32, len(in.texts))
		for i, t := range in.texts {
			seqs[i] = st.m.Tokenize(t, golem.TokenizeOptions{})
		}
	}
	promptTokens := 0
	for i, q := range seqs {
		switch {
		case len(q) == 0:
			return badRequest("input", "invalid_value", "input %d is empty", i)
		case len(q) > st.info.BatchSize:
			return badRequest("input", "context_length_exceeded", "input %d is %d tokens: at most %d (the batch size)", i, len(q), st.info.BatchSize)
		}
		for _, id := range q {
			if id < 0 || int(id) >= st.info.VocabSize {
				return badRequest("input", "invalid_value", "input %d: token id %d is outside the vocabulary (%d tokens)", i, id, st.info.VocabSize)
			}
		}
		promptTokens += len(q)
	}
	g, e := s.admit(r.Context(), st, start)
	if e != nil {
		return e
	}
	vecs, err := st.m.EmbedTokens(r.Context(), seqs, golem.EmbedOptions{Normalize: true})
	g.release()
	if err != nil {
		if r.Context().Err() != nil {
			s.met.cancelled.Inc()
			return nil
		}
		return failure(fmt.Errorf("embeddings: %w", err))
	}
	s.met.promptTokens.Add(float64(promptTokens))
	res := embeddingList{Object: "list", Model: st.id, Data: make([]embedding, len(vecs)),
		Usage: usage{PromptTokens: promptTokens, TotalTokens: promptTokens}}
	for i, v := range vecs {
		res.Data[i] = embedding{Object: "embedding", Index: i, Embedding: v}
		if req.EncodingFormat == "base64" {
			b := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
			}
			res.Data[i].Embedding = base64.StdEncoding.EncodeToString(b)
		}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
