package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// The request and response bodies of the OpenAI API, as far as golem serves them.
// Fields a client may send that golem does not use are accepted and ignored, as the
// OpenAI API and llama-server do; fields whose meaning golem cannot honour (n > 1,
// logprobs, tools, images without --mmproj) are refused with a 400 that names them.

// samplingRequest holds the sampling fields shared by chat and text completions.
// Pointers tell "not given" (llama.cpp's defaults apply) from zero.
type samplingRequest struct {
	Model               string          `json:"model"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Stop                stringList      `json:"stop"`
	Seed                *int64          `json:"seed"`
	PresencePenalty     *float64        `json:"presence_penalty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	N                   *int64          `json:"n"`
	Stream              bool            `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	Logprobs            json.RawMessage `json:"logprobs"`
	LogitBias           json.RawMessage `json:"logit_bias"`
	// llama-server's extensions.
	TopK          *int64   `json:"top_k"`
	MinP          *float64 `json:"min_p"`
	RepeatPenalty *float64 `json:"repeat_penalty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatRequest struct {
	samplingRequest
	Messages   []chatMessage   `json:"messages"`
	Tools      json.RawMessage `json:"tools"`
	ToolChoice json.RawMessage `json:"tool_choice"`
	// ChatTemplateKwargs are extra template variables (llama-server's extension), such
	// as {"enable_thinking": false} for Qwen 3.
	ChatTemplateKwargs map[string]any `json:"chat_template_kwargs"`
}

type chatMessage struct {
	Role    string      `json:"role"`
	Content messageText `json:"content"`
}

type completionRequest struct {
	samplingRequest
	Prompt  promptText      `json:"prompt"`
	Echo    bool            `json:"echo"`
	Suffix  json.RawMessage `json:"suffix"`
	BestOf  *int64          `json:"best_of"`
	UserTag json.RawMessage `json:"user"`
}

type embeddingRequest struct {
	Model          string         `json:"model"`
	Input          embeddingInput `json:"input"`
	EncodingFormat string         `json:"encoding_format"`
	Dimensions     *int64         `json:"dimensions"`
}

// stringList is a string or an array of strings (the stop field); null is empty.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*s = nil
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return typeError[stringList](b)
	}
	*s = many
	return nil
}

// messageText is a message's content: a string, null, or an array of content parts:
// text parts, and image_url parts whose URL is a data: URI (remote URLs are never
// fetched).
type messageText struct {
	text   string
	images []string // the image_url parts' URLs, in order
	other  string   // the type of the first part golem cannot use
}

func (m *messageText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &m.text)
	}
	var parts []struct {
		Type     string  `json:"type"`
		Text     *string `json:"text"`
		ImageURL *struct {
			URL string `json:"url"`
		} `json:"image_url"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return typeError[messageText](b)
	}
	var buf bytes.Buffer
	for _, p := range parts {
		if p.Type == "image_url" && p.ImageURL != nil {
			m.images = append(m.images, p.ImageURL.URL)
			continue
		}
		if p.Type != "text" || p.Text == nil {
			if m.other == "" {
				m.other = p.Type
				if m.other == "" {
					m.other = "untyped"
				}
			}
			continue
		}
		buf.WriteString(*p.Text)
	}
	m.text = buf.String()
	return nil
}

// promptText is a completion's prompt: a string or an array of strings (golem takes
// one prompt per request). Token-id prompts are recognised to refuse them clearly.
type promptText struct {
	set     bool
	prompts []string
	tokens  bool
}

func (p *promptText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	p.set = true
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		p.prompts = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err == nil {
		p.prompts = many
		return nil
	}
	var ids []json.Number
	if err := json.Unmarshal(b, &ids); err == nil {
		p.tokens = true
		return nil
	}
	var idLists [][]json.Number
	if err := json.Unmarshal(b, &idLists); err == nil {
		p.tokens = true
		return nil
	}
	return typeError[promptText](b)
}

// embeddingInput is a string, an array of strings, an array of token ids or an array
// of arrays of token ids.
type embeddingInput struct {
	set    bool
	texts  []string
	tokens [][]int32
}

func (e *embeddingInput) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	e.set = true
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		e.texts = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err == nil {
		e.texts = many
		return nil
	}
	var ids []int32
	if err := json.Unmarshal(b, &ids); err == nil {
		e.tokens = [][]int32{ids}
		return nil
	}
	var idLists [][]int32
	if err := json.Unmarshal(b, &idLists); err == nil {
		e.tokens = idLists
		return nil
	}
	return typeError[embeddingInput](b)
}

// Responses.

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []chatChoice `json:"choices"`
	Usage             *usage       `json:"usage,omitempty"`
}

type chatChoice struct {
	Index        int       `json:"index"`
	Message      *chatOut  `json:"message,omitempty"`
	Delta        *chatOut  `json:"delta,omitempty"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type chatOut struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type textCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []textChoice `json:"choices"`
	Usage             *usage       `json:"usage,omitempty"`
}

type textChoice struct {
	Index        int       `json:"index"`
	Text         string    `json:"text"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type embeddingList struct {
	Object string      `json:"object"`
	Data   []embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  usage       `json:"usage"`
}

type embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string of little-endian float32
}

type modelCard struct {
	ID      string         `json:"id"`
	Object  string         `json:"object"`
	Created int64          `json:"created"`
	OwnedBy string         `json:"owned_by"`
	Meta    map[string]any `json:"meta,omitempty"`
}

type modelList struct {
	Object string      `json:"object"`
	Data   []modelCard `json:"data"`
}

// apiError is the OpenAI error object: {"error": {"message", "type", "param", "code"}}.
type apiError struct {
	Status  int     `json:"-"`
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) Error() string { return e.Message }

type errorBody struct {
	Error *apiError `json:"error"`
}

// The error types the OpenAI API uses.
const (
	typeInvalidRequest = "invalid_request_error"
	typeNotFound       = "not_found_error"
	typeServer         = "server_error"
	typeUnavailable    = "service_unavailable_error"
)

// typeError is the error of a custom field that got JSON b of the wrong shape; the
// decoder adds the field's name to it.
func typeError[T any](b []byte) error {
	kind := "value"
	if len(b) > 0 {
		switch b[0] {
		case '"':
			kind = "string"
		case '[':
			kind = "array (of other things)"
		case '{':
			kind = "object"
		case 't', 'f':
			kind = "bool"
		case 'n':
			kind = "null"
		default:
			kind = "number"
		}
	}
	return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[T]()}
}

func ptr[T any](v T) *T { return &v }

// badRequest is a 400 about param (empty: the request as a whole).
func badRequest(param, code, format string, args ...any) *apiError {
	e := &apiError{Status: 400, Message: fmt.Sprintf(format, args...), Type: typeInvalidRequest}
	if param != "" {
		e.Param = ptr(param)
	}
	if code != "" {
		e.Code = ptr(code)
	}
	return e
}

// decodeDataURI returns the bytes of a data: URI ("data:image/png;base64,...").
// Anything else, remote URLs included, is refused: golem serve never fetches.
func decodeDataURI(uri string) ([]byte, error) {
	rest, ok := strings.CutPrefix(uri, "data:")
	if !ok {
		return nil, fmt.Errorf("only data: URIs are accepted (golem serve does not fetch remote images)")
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, fmt.Errorf("data: URI without a comma")
	}
	if !strings.HasSuffix(meta, ";base64") {
		return nil, fmt.Errorf("data: URI is not base64")
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return nil, fmt.Errorf("data: URI: %w", err)
	}
	return data, nil
}
