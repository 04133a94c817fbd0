package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/internal/shared"
)

// A tool definition whose keys are not in sorted order anywhere: a sorted map
// would print "function" before "type", "description" before "name", and so on.
const weatherTool = `{"type": "function", "function": {"name": "get_weather", "description": "Get the weather",
 "parameters": {"type": "object", "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
 "required": ["location"]}}}`

// Qwen 3 with tools, a tool call and its result, thinking off and on. Expected
// text worked out by hand from the template in testdata/chat/qwen3.jinja.
func TestQwen3ToolsAndThinking(t *testing.T) {
	tmpl := loadTemplate(t, "qwen3", "", "<|im_end|>")
	msgs := []Message{
		{Role: "system", Content: "You are helpful."},
		{Role: "user", Content: "Weather in Paris?"},
		{Role: "assistant", ToolCalls: []ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"unit": "c", "location": "Paris"}`}}},
		{Role: "tool", ToolCallID: "call_1", Content: `{"temp": 20}`},
	}
	prefix := "<|im_start|>system\nYou are helpful.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
		"You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
		`{"type": "function", "function": {"name": "get_weather", "description": "Get the weather", "parameters": {"type": "object", "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["location"]}}}` +
		"\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n" +
		"<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" +
		"<|im_start|>user\nWeather in Paris?<|im_end|>\n" +
		"<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"unit\": \"c\", \"location\": \"Paris\"}}\n</tool_call><|im_end|>\n" +
		"<|im_start|>user\n<tool_response>\n{\"temp\": 20}\n</tool_response><|im_end|>\n" +
		"<|im_start|>assistant\n"

	tools := []any{json.RawMessage(weatherTool)}
	got, err := tmpl.Render(msgs, Options{AddGenerationPrompt: true, Tools: tools, Kwargs: map[string]any{"enable_thinking": false}})
	require.NoError(t, err)
	assert.Equal(t, prefix+"<think>\n\n</think>\n\n", got)

	got, err = tmpl.Render(msgs, Options{AddGenerationPrompt: true, Tools: tools, Kwargs: map[string]any{"enable_thinking": true}})
	require.NoError(t, err)
	assert.Equal(t, prefix, got)

	got, err = tmpl.Render(msgs, Options{AddGenerationPrompt: true, Tools: tools})
	require.NoError(t, err)
	assert.Equal(t, prefix, got, "thinking is on when enable_thinking is not given")

	// The same tool built in code as an OrderedMap.
	params := NewOrderedMap().
		Set("type", "object").
		Set("properties", NewOrderedMap().
			Set("location", NewOrderedMap().Set("type", "string")).
			Set("unit", NewOrderedMap().Set("type", "string").Set("enum", []string{"c", "f"}))).
		Set("required", []string{"location"})
	tool := NewOrderedMap().Set("type", "function").Set("function", NewOrderedMap().
		Set("name", "get_weather").Set("description", "Get the weather").Set("parameters", params))
	got, err = tmpl.Render(msgs, Options{AddGenerationPrompt: true, Tools: []any{tool}})
	require.NoError(t, err)
	assert.Equal(t, prefix, got)
}

// The last assistant turn after the last user query shows its thinking.
func TestQwen3ReasoningContent(t *testing.T) {
	tmpl := loadTemplate(t, "qwen3", "", "<|im_end|>")
	got, err := tmpl.Render([]Message{
		{Role: "user", Content: "Hi"},
		{Role: "assistant", Content: "Hello!", ReasoningContent: "The user greets me."},
	}, Options{})
	require.NoError(t, err)
	assert.Equal(t, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nThe user greets me.\n</think>\n\nHello!<|im_end|>\n", got)
}

// Llama 3.1 writes tool-call arguments with tojson: their order must be kept.
func TestLlama31ToolCallOrder(t *testing.T) {
	tmpl := loadTemplate(t, "llama3.1", "<|begin_of_text|>", "<|eot_id|>")
	got, err := tmpl.Render([]Message{
		{Role: "user", Content: "Weather?"},
		{Role: "assistant", ToolCalls: []ToolCall{{Name: "get_weather", Arguments: `{"zone": "eu", "city": "Paris", "days": 2}`}}},
	}, Options{})
	require.NoError(t, err)
	assert.Equal(t, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"+
		"<|start_header_id|>user<|end_header_id|>\n\nWeather?<|eot_id|>"+
		"<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"get_weather\", \"parameters\": {\"zone\": \"eu\", \"city\": \"Paris\", \"days\": 2}}<|eot_id|>", got)
}

func TestUnsupportedConstructIsNamed(t *testing.T) {
	_, err := Parse("{% include 'other.jinja' %}")
	assert.ErrorContains(t, err, "include")

	tmpl, err := Parse("{{ messages | shuffle }}")
	require.NoError(t, err)
	_, err = tmpl.Render(singleTurn, Options{})
	assert.ErrorContains(t, err, "shuffle")

	tmpl, err = Parse("{{ raise_exception('no system role') }}")
	require.NoError(t, err)
	_, err = tmpl.Render(singleTurn, Options{})
	assert.ErrorContains(t, err, "no system role")

	_, err = Select("", "{% for m in messages %}{{ m.content | bogus_filter }")
	require.Error(t, err)
}

func TestBadInputIsAnError(t *testing.T) {
	tmpl := loadTemplate(t, "qwen3", "", "")
	_, err := tmpl.Render([]Message{{Role: "assistant", ToolCalls: []ToolCall{{Name: "f", Arguments: "{not json"}}}}, Options{})
	assert.Error(t, err)
	_, err = tmpl.Render(singleTurn, Options{Tools: []any{json.RawMessage(`{"a":`)}})
	assert.Error(t, err)
	_, err = tmpl.Render(singleTurn, Options{Kwargs: map[string]any{"x": make(chan int)}})
	assert.Error(t, err)
	var empty Template
	_, err = empty.Render(singleTurn, Options{})
	assert.Error(t, err)
}

func TestSelect(t *testing.T) {
	tmpl, err := Select("", "")
	require.NoError(t, err)
	assert.True(t, tmpl.Fallback)
	assert.Equal(t, "chatml", tmpl.Name)

	tmpl, err = Select("llama3", "{{ messages }}")
	require.NoError(t, err)
	assert.False(t, tmpl.Fallback)
	assert.Equal(t, "llama3", tmpl.Name)

	file := filepath.Join(t.TempDir(), "t.jinja")
	require.NoError(t, os.WriteFile(file, []byte("{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"), 0o644))
	tmpl, err = Select(file, "ignored")
	require.NoError(t, err)
	got, err := tmpl.Render(singleTurn, Options{})
	require.NoError(t, err)
	assert.Equal(t, "[user]Hello", got)

	_, err = Select("no-such-format-or-file", "")
	assert.ErrorContains(t, err, "built-in format")
	_, err = Select(t.TempDir(), "")
	assert.Error(t, err)

	tmpl, err = Select("", "{{ bos_token }}{{ messages[0].content }}")
	require.NoError(t, err)
	assert.False(t, tmpl.Fallback)
	assert.Equal(t, "", tmpl.Name)

	// An unparsable template that looks like a known format says which.
	_, err = Select("", "{% include 'x' %}<|im_start|>")
	assert.ErrorContains(t, err, "--chat-template chatml")
}

func TestFromGGUF(t *testing.T) {
	meta := func(kvs ...gguf.KV) gguf.Metadata {
		m, err := gguf.NewMetadata(kvs)
		require.NoError(t, err)
		return m
	}
	toks := gguf.KV{Key: "tokenizer.ggml.tokens", Value: gguf.MustValue([]string{"<unk>", "<s>", "</s>"})}
	bos := gguf.KV{Key: "tokenizer.ggml.bos_token_id", Value: gguf.MustValue(uint32(1))}
	eos := gguf.KV{Key: "tokenizer.ggml.eos_token_id", Value: gguf.MustValue(uint32(2))}
	ct := gguf.KV{Key: KeyChatTemplate, Value: gguf.MustValue("{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}")}

	tmpl, err := FromGGUF(meta(toks, bos, eos, ct), "")
	require.NoError(t, err)
	got, err := tmpl.Render(singleTurn, Options{})
	require.NoError(t, err)
	assert.Equal(t, "<s>Hello</s>", got)

	tmpl, err = FromGGUF(meta(toks, bos, eos), "")
	require.NoError(t, err)
	assert.True(t, tmpl.Fallback)

	_, err = FromGGUF(meta(toks, gguf.KV{Key: "tokenizer.ggml.bos_token_id", Value: gguf.MustValue(uint32(9))}), "")
	assert.ErrorContains(t, err, "outside the vocabulary")
	_, err = FromGGUF(meta(gguf.KV{Key: KeyChatTemplate, Value: gguf.MustValue(uint32(3))}), "")
	assert.Error(t, err)
	_, err = FromGGUF(meta(bos), "")
	assert.Error(t, err, "a BOS id without tokens")
}

func TestFromGGUFPhi3Vocab(t *testing.T) {
	path := shared.Path(t, "oracle", "vocab", "ggml-vocab-phi-3.gguf")
	f, err := gguf.Open(path)
	require.NoError(t, err)
	tmpl, err := FromGGUF(f.Meta, "")
	require.NoError(t, err)
	assert.False(t, tmpl.Fallback)
	assert.Equal(t, "phi3", tmpl.Detected)
	assert.Equal(t, "<s>", tmpl.BOS)
	assert.Equal(t, "<|endoftext|>", tmpl.EOS)
	got, err := tmpl.Render(llamaCppConversation, Options{AddGenerationPrompt: true})
	require.NoError(t, err)
	// llama.cpp's expected output for Phi-3-mini (bos_token "" there).
	assert.Equal(t, "<s><|user|>\nYou are a helpful assistant\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n<|user|>\nWho are you<|end|>\n<|assistant|>\n   I am an assistant   <|end|>\n<|user|>\nAnother question<|end|>\n<|assistant|>\n", got)

	tmpl, err = FromGGUF(f.Meta, "zephyr")
	require.NoError(t, err)
	assert.Equal(t, "zephyr", tmpl.Name)
	assert.Equal(t, "<|endoftext|>", tmpl.EOS)

	// A vocab without a template falls back to ChatML.
	f, err = gguf.Open(shared.Path(t, "oracle", "vocab", "ggml-vocab-llama-spm.gguf"))
	require.NoError(t, err)
	tmpl, err = FromGGUF(f.Meta, "")
	require.NoError(t, err)
	assert.True(t, tmpl.Fallback)
	assert.Equal(t, "<s>", tmpl.BOS)
	assert.Equal(t, "</s>", tmpl.EOS)
}

func TestOrderedMapJSON(t *testing.T) {
	var m OrderedMap
	require.NoError(t, json.Unmarshal([]byte(`{"z": 1, "a": {"y": [1, 2.5, "x", null, true], "b": {}}, "m": "é<>&"}`), &m))
	assert.Equal(t, []string{"z", "a", "m"}, m.Keys())
	b, err := json.Marshal(&m)
	require.NoError(t, err)
	assert.Equal(t, `{"z":1,"a":{"y":[1,2.5,"x",null,true],"b":{}},"m":"é\u003c\u003e\u0026"}`, string(b))
	assert.Error(t, json.Unmarshal([]byte(`[1]`), &m))
	_, err = ParseJSON([]byte(`{"a": 1} x`))
	assert.Error(t, err)

	// tojson keeps the order and writes Python's separators, without HTML escapes.
	tmpl, err := Parse("{{ tools[0] | tojson }}")
	require.NoError(t, err)
	got, err := tmpl.Render(nil, Options{Tools: []any{&m}})
	require.NoError(t, err)
	assert.Equal(t, `{"z": 1, "a": {"y": [1, 2.5, "x", null, true], "b": {}}, "m": "é<>&"}`, got)
}

func TestMergeSystem(t *testing.T) {
	assert.Equal(t, []Message{{Role: "user", Content: "s\nu"}, {Role: "assistant", Content: "a"}},
		mergeSystem([]Message{{Role: "system", Content: "s"}, {Role: "user", Content: "u"}, {Role: "assistant", Content: "a"}}))
	assert.Equal(t, []Message{{Role: "user", Content: "s"}}, mergeSystem([]Message{{Role: "system", Content: "s"}}))
	assert.Empty(t, mergeSystem(nil))
}
