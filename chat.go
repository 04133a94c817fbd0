package golem

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/golem-llm/golem/models/chat"
)

// Message is one turn of a conversation. Its JSON form is the OpenAI API's
// ({"role": "user", "content": "..."}).
type Message struct {
	// Role is system, user or assistant (or what else the template knows).
	Role    string `json:"role"`
	Content string `json:"content"`
	// Images go into the message (the model needs LoadOptions.MMProj): at the
	// content's ImageMarkers in order, or, when it has none, each first in the
	// content followed by a newline (LLaVA's "<image>\n..."). They are not part of
	// the JSON form.
	Images []Image `json:"-"`
}

// ChatOptions configure Chat: the generation's options and the template's extra
// variables.
type ChatOptions struct {
	GenerateOptions
	// Kwargs are extra template variables, such as "enable_thinking": false for
	// Qwen 3.
	Kwargs map[string]any
}

// ChatPrompt is the prompt text Chat generates from: the messages rendered with the
// model's chat template (LoadOptions.ChatTemplate, the model's own, or ChatML),
// ending with the opening of an assistant turn.
func (m *Model) ChatPrompt(messages []Message, opts ChatOptions) (string, error) {
	if len(messages) == 0 {
		return "", errors.New("chat: no messages")
	}
	if m.tmplErr != nil {
		return "", fmt.Errorf("chat: %w", m.tmplErr)
	}
	msgs := make([]chat.Message, len(messages))
	for i, msg := range messages {
		if msg.Role == "" {
			return "", fmt.Errorf("chat: message %d has no role", i)
		}
		msgs[i] = chat.Message{Role: msg.Role, Content: imageContent(msg, func(int) string { return ImageMarker })}
	}
	text, err := m.tmpl.Render(msgs, chat.Options{AddGenerationPrompt: true, Kwargs: opts.Kwargs})
	if err != nil {
		return "", fmt.Errorf("chat: %w", err)
	}
	return text, nil
}

// Chat answers the conversation as the assistant: it renders the messages with the
// chat template (ChatPrompt), tokenizes the text with its special tokens (adding BOS
// only when the vocabulary wants one and the template did not write it), and
// generates until an end-of-generation token (the end of the assistant's turn), a stop
// string or opts.MaxTokens, yielding pieces as Generate does. A finished answer's
// cells stay in the cache, so the next turn of the same conversation evaluates only
// what is new.
func (m *Model) Chat(ctx context.Context, messages []Message, opts ChatOptions) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		if hasImages(messages, opts) {
			m.chatImages(ctx, messages, opts, yield)
			return
		}
		text, err := m.ChatPrompt(messages, opts)
		if err != nil {
			yield("", err)
			return
		}
		ids := m.tok.Encode(text, false, true)
		if m.tok.AddBOS() && (len(ids) == 0 || ids[0] != m.tok.BOS()) {
			ids = append([]int32{m.tok.BOS()}, ids...)
		}
		m.stream(ctx, ids, opts.GenerateOptions, true, yield)
	}
}
