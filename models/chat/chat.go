// Package chat turns a conversation into the prompt text a model was trained on:
// the model's own Jinja chat template (tokenizer.chat_template in a GGUF file),
// rendered the way Hugging Face transformers renders it, or a named built-in
// format written in Go for files that carry no template.
package chat

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ardanlabs/jinja"
)

// Message is one turn of a conversation.
type Message struct {
	Role string // system, user, assistant, tool, ...
	// Content is the text. An assistant turn with tool calls and no text gets
	// null content in the template (None), as in the OpenAI API, unless the
	// template fails on null content.
	Content string
	// ReasoningContent is an assistant turn's thinking, for templates that show
	// it (Qwen 3's reasoning_content); left out of the template data when empty.
	ReasoningContent string
	// ToolCalls are the calls an assistant turn made.
	ToolCalls []ToolCall
	// ToolCallID and Name identify the call a tool result answers.
	ToolCallID string
	Name       string
}

// ToolCall is one function call made by the assistant.
type ToolCall struct {
	ID   string
	Type string // "function" when empty
	Name string
	// Arguments is the JSON text of the arguments, as the OpenAI API carries it.
	// A JSON object is handed to the template as an ordered mapping (key order
	// kept through tojson) unless the template only works with the text.
	Arguments string
}

// Options are the per-render inputs besides the messages.
type Options struct {
	// AddGenerationPrompt ends the prompt with the opening of an assistant turn.
	AddGenerationPrompt bool
	// Tools are the tool definitions, usually {"type": "function", "function":
	// {...}} objects, as *OrderedMap or json.RawMessage to keep their key order.
	Tools []any
	// Kwargs are extra template variables, e.g. "enable_thinking": false for
	// Qwen 3 or "date_string" for Llama 3.1.
	Kwargs map[string]any
}

// Template is a chat format ready to render: a compiled Jinja template or a
// built-in format.
type Template struct {
	// Name is the built-in format's name, or "" for a Jinja template.
	Name string
	// Source is the Jinja template text ("" for a built-in).
	Source string
	// Detected is the built-in format a Jinja template's text looks like
	// (as Detect says), or "".
	Detected string
	// BOS and EOS are the texts of the vocabulary's BOS and EOS tokens, given to
	// the template as bos_token and eos_token.
	BOS, EOS string
	// Fallback is true when no template was asked for and the model has none, so
	// ChatML was chosen; the caller should say so.
	Fallback bool

	jt      *jinja.Template
	builtin builtinFunc

	capsOnce sync.Once
	caps     capabilities
}

// Parse compiles a Jinja chat template. Syntax the engine does not know is an
// error naming it.
func Parse(src string) (t *Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("chat template: compile: internal error: %v", r)
		}
	}()
	jt, err := jinja.Compile(renameToJSON(src))
	if err != nil {
		return nil, fmt.Errorf("chat template: compile: %w", err)
	}
	return &Template{Source: src, Detected: Detect(src), jt: jt}, nil
}

// String names the template for messages: the built-in's name, or "jinja"
// (with the format it resembles).
func (t *Template) String() string {
	if t.builtin != nil {
		return t.Name
	}
	if t.Detected != "" {
		return "jinja (" + t.Detected + "-like)"
	}
	return "jinja"
}

// Render turns messages into the prompt text.
func (t *Template) Render(messages []Message, opts Options) (string, error) {
	if t.builtin != nil {
		if len(opts.Tools) > 0 {
			return "", fmt.Errorf("chat format %s: tools need the model's own Jinja template", t.Name)
		}
		for _, m := range messages {
			if len(m.ToolCalls) > 0 {
				return "", fmt.Errorf("chat format %s: tool calls need the model's own Jinja template", t.Name)
			}
		}
		s, err := t.builtin(messages, opts.AddGenerationPrompt, t.BOS, t.EOS)
		if err != nil {
			return "", fmt.Errorf("chat format %s: %w", t.Name, err)
		}
		return s, nil
	}
	if t.jt == nil {
		return "", errors.New("chat template: empty Template (use Parse, Builtin or FromGGUF)")
	}
	caps := t.capabilities()
	if !caps.systemRole {
		messages = mergeSystem(messages)
	}
	s, err := t.render(messages, opts, caps)
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	return s, nil
}

// render runs the Jinja template once. The engine is third-party code run on
// untrusted templates, so a panic in it is returned as an error.
func (t *Template) render(messages []Message, opts Options, caps capabilities) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("internal error in the template engine: %v", r)
		}
	}()
	data, err := t.data(messages, opts, caps)
	if err != nil {
		return "", err
	}
	return t.jt.RenderValues(data)
}

func (t *Template) data(messages []Message, opts Options, caps capabilities) (map[string]jinja.Value, error) {
	data := make(map[string]jinja.Value, 8+len(opts.Kwargs))
	for k, v := range opts.Kwargs {
		jv, err := toValue(v)
		if err != nil {
			return nil, fmt.Errorf("template variable %s: %w", k, err)
		}
		data[k] = jv
	}
	msgs := make([]jinja.Value, len(messages))
	for i, m := range messages {
		mv, err := messageValue(m, caps)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		msgs[i] = mv
	}
	data[tojsonFilter] = pyToJSONValue
	data["messages"] = jinja.NewList(msgs)
	data["add_generation_prompt"] = jinja.NewBool(opts.AddGenerationPrompt)
	data["bos_token"] = jinja.NewString(t.BOS)
	data["eos_token"] = jinja.NewString(t.EOS)
	if len(opts.Tools) > 0 {
		tools := make([]jinja.Value, len(opts.Tools))
		for i, tool := range opts.Tools {
			tv, err := toValue(tool)
			if err != nil {
				return nil, fmt.Errorf("tool %d: %w", i, err)
			}
			tools[i] = tv
		}
		data["tools"] = jinja.NewList(tools)
	}
	return data, nil
}

// messageValue builds the mapping a template sees for a message. Keys a message
// does not use are left out, so `is defined` and `'tool_calls' in message`
// tests behave as they do with the OpenAI-style dicts templates are written for.
func messageValue(m Message, caps capabilities) (jinja.Value, error) {
	d := jinja.NewDict()
	md := d.AsDict()
	md.Set("role", jinja.NewString(m.Role))
	if m.Content == "" && len(m.ToolCalls) > 0 && caps.nullContent {
		// A turn that only calls tools has null content, as in the OpenAI API
		// and Hugging Face: templates such as DeepSeek R1/V3 test `content is
		// none` to choose the tool-call branch.
		md.Set("content", jinja.None())
	} else {
		md.Set("content", jinja.NewString(m.Content))
	}
	if m.ReasoningContent != "" {
		md.Set("reasoning_content", jinja.NewString(m.ReasoningContent))
	}
	if m.Name != "" {
		md.Set("name", jinja.NewString(m.Name))
	}
	if m.ToolCallID != "" {
		md.Set("tool_call_id", jinja.NewString(m.ToolCallID))
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]jinja.Value, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			cv, err := toolCallValue(tc, caps.objectArguments)
			if err != nil {
				return jinja.Value{}, fmt.Errorf("tool call %d: %w", i, err)
			}
			calls[i] = cv
		}
		md.Set("tool_calls", jinja.NewList(calls))
	}
	return d, nil
}

func toolCallValue(tc ToolCall, objectArgs bool) (jinja.Value, error) {
	typ := tc.Type
	if typ == "" {
		typ = "function"
	}
	args := jinja.NewString(tc.Arguments)
	if objectArgs {
		text := strings.TrimSpace(tc.Arguments)
		if text == "" {
			text = "{}"
		}
		p, err := ParseJSON([]byte(text))
		if err != nil {
			return jinja.Value{}, fmt.Errorf("%s: arguments: %w", tc.Name, err)
		}
		if _, ok := p.(*OrderedMap); ok {
			if args, err = toValue(p); err != nil {
				return jinja.Value{}, fmt.Errorf("%s: arguments: %w", tc.Name, err)
			}
		}
	}
	fn := jinja.NewDict()
	fn.AsDict().Set("name", jinja.NewString(tc.Name))
	fn.AsDict().Set("arguments", args)
	d := jinja.NewDict()
	if tc.ID != "" {
		d.AsDict().Set("id", jinja.NewString(tc.ID))
	}
	d.AsDict().Set("type", jinja.NewString(typ))
	d.AsDict().Set("function", fn)
	return d, nil
}

// capabilities are what a template can take, found by rendering probes once,
// as llama.cpp does, because templates differ in ways their text hides.
type capabilities struct {
	// systemRole: a system message's text reaches the output. Templates that
	// raise on it (Gemma, Mistral v0.2) or drop it (Phi-3 mini) get it merged
	// into the first user message instead.
	systemRole bool
	// objectArguments: tool-call arguments can be a mapping. Templates that
	// concatenate them as text (DeepSeek R1/V3) get the JSON text.
	objectArguments bool
	// nullContent: an assistant turn with tool calls and no text can have
	// null content. Templates that fail on it (Gemma 3, Llama 2: `content is
	// string` or content.strip()) get "" instead, as llama.cpp does.
	nullContent bool
}

// fullCaps is what the probes start from: everything allowed.
var fullCaps = capabilities{systemRole: true, objectArguments: true, nullContent: true}

const probeText = "golem-probe-4d1c"

func (t *Template) capabilities() capabilities {
	t.capsOnce.Do(func() {
		gen := Options{AddGenerationPrompt: true}
		out, err := t.render([]Message{
			{Role: "system", Content: probeText},
			{Role: "user", Content: "hi"},
		}, gen, fullCaps)
		t.caps.systemRole = err == nil && strings.Contains(out, probeText)

		// Null content, unless only "" works.
		call := Message{Role: "assistant", ToolCalls: []ToolCall{{ID: "call00001", Name: "probe", Arguments: `{"arg": "` + probeText + `"}`}}}
		t.caps.nullContent = true
		noTools := []Message{{Role: "user", Content: "hi"}, call, {Role: "user", Content: "hi"}}
		if _, err := t.render(noTools, gen, fullCaps); err != nil {
			empty := fullCaps
			empty.nullContent = false
			if _, err2 := t.render(noTools, gen, empty); err2 == nil {
				t.caps.nullContent = false
			}
		}

		calls := []Message{
			{Role: "user", Content: "hi"},
			call,
			{Role: "tool", ToolCallID: "call00001", Name: "probe", Content: "ok"},
			{Role: "user", Content: "hi"},
		}
		objCaps := fullCaps
		objCaps.nullContent = t.caps.nullContent
		textCaps := objCaps
		textCaps.objectArguments = false
		out, err = t.render(calls, gen, objCaps)
		// A mapping printed as Python's repr means the template concatenates
		// the arguments as a string, where Python raises TypeError (the
		// engine does not).
		t.caps.objectArguments = err == nil && !strings.Contains(out, "{'arg': '"+probeText+"'}")
		if !t.caps.objectArguments {
			// Only prefer text when text works where objects did not.
			if _, err2 := t.render(calls, gen, textCaps); err2 != nil {
				t.caps.objectArguments = true
			}
		}
	})
	return t.caps
}

// mergeSystem puts a leading system message into the first user message, for
// templates without a system role (llama.cpp's rule: system text, newline, user
// text).
func mergeSystem(messages []Message) []Message {
	if len(messages) == 0 || messages[0].Role != "system" {
		return messages
	}
	sys := messages[0].Content
	rest := messages[1:]
	out := make([]Message, 0, len(rest))
	merged := false
	for _, m := range rest {
		if !merged && m.Role == "user" {
			m.Content = sys + "\n" + m.Content
			merged = true
		}
		out = append(out, m)
	}
	if !merged {
		out = append([]Message{{Role: "user", Content: sys}}, out...)
	}
	return out
}
