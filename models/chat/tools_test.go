package chat

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// DeepSeek V3 and R1 choose their tool-call branch with `message['content'] is
// none`, so a turn that only calls tools must have null content, and they
// concatenate the arguments as text, so they get the JSON text as sent. Expected
// strings worked out by hand from testdata/chat/deepseek-v3.jinja and
// deepseek-r1.jinja (hand): the first call opens with <｜Assistant｜><｜tool▁calls▁begin｜>;
// a later call, in the template's else branch, starts with "\n" and ends with
// <｜tool▁calls▁end｜><｜end▁of▁sentence｜> (a lone call gets no closing, as the
// template is written); the first result opens <｜tool▁outputs▁begin｜>, later
// ones start with "\n"; the assistant turn after results is
// <｜tool▁outputs▁end｜> + text + <｜end▁of▁sentence｜>.
func TestDeepSeekV3ToolCall(t *testing.T) {
	tmpl := loadTemplate(t, "deepseek-v3", dsBOS, dsEOS)
	assert.False(t, tmpl.capabilities().objectArguments, "DeepSeek concatenates the arguments as text")
	assert.True(t, tmpl.capabilities().nullContent)
	got, err := tmpl.Render([]Message{
		{Role: "user", Content: "What's the weather in Paris?"},
		{Role: "assistant", ToolCalls: []ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city": "Paris", "unit": "c"}`}}},
		{Role: "tool", ToolCallID: "call_1", Content: "22°C"},
		{Role: "assistant", Content: "It is 22°C in Paris."},
		{Role: "user", Content: "Thanks"},
	}, Options{AddGenerationPrompt: true})
	require.NoError(t, err)
	assert.Equal(t, dsBOS+"<｜User｜>What's the weather in Paris?"+
		"<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\", \"unit\": \"c\"}\n```<｜tool▁call▁end｜>"+
		"<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>22°C<｜tool▁output▁end｜>"+
		"<｜tool▁outputs▁end｜>It is 22°C in Paris.<｜end▁of▁sentence｜>"+
		"<｜User｜>Thanks<｜Assistant｜>", got)
}

func TestDeepSeekR1ToolCalls(t *testing.T) {
	tmpl := loadTemplate(t, "deepseek-r1", dsBOS, dsEOS)
	got, err := tmpl.Render([]Message{
		{Role: "system", Content: "You are a helpful assistant"},
		{Role: "user", Content: "Weather in Paris and Rome?"},
		{Role: "assistant", ToolCalls: []ToolCall{
			{ID: "call_1", Name: "get_weather", Arguments: `{"city": "Paris"}`},
			{ID: "call_2", Name: "get_weather", Arguments: `{"city": "Rome", "temp": 1.0}`},
		}},
		{Role: "tool", ToolCallID: "call_1", Content: "22"},
		{Role: "tool", ToolCallID: "call_2", Content: "25"},
	}, Options{AddGenerationPrompt: true})
	require.NoError(t, err)
	assert.Equal(t, dsBOS+"You are a helpful assistant<｜User｜>Weather in Paris and Rome?"+
		"<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>"+
		"\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Rome\", \"temp\": 1.0}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>"+
		"<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>22<｜tool▁output▁end｜>"+
		"\n<｜tool▁output▁begin｜>25<｜tool▁output▁end｜>"+
		"<｜tool▁outputs▁end｜>", got, "no generation prompt after tool results, as the template says")

	// Text beside the calls is content, not null: the plain assistant branch.
	got, err = tmpl.Render([]Message{
		{Role: "user", Content: "Hi"},
		{Role: "assistant", Content: "Let me check.", ToolCalls: []ToolCall{{Name: "f", Arguments: `{}`}}},
	}, Options{})
	require.NoError(t, err)
	assert.Equal(t, dsBOS+"<｜User｜>Hi<｜Assistant｜>Let me check.<｜end▁of▁sentence｜>", got)
}

// Templates that fail on null content (Gemma 3: `content is string`, else a
// list; Llama 2: content.strip()) get "" for a turn that only calls tools, as
// before; the others get null.
func TestNullContentFallback(t *testing.T) {
	for name, want := range map[string]bool{
		"gemma3": false, "llama2": false,
		"deepseek-v3": true, "deepseek-r1": true, "qwen3": true, "llama3.1": true, "mistral-v3": true, "chatml": true,
	} {
		tmpl := loadTemplate(t, name, "<s>", "</s>")
		assert.Equal(t, want, tmpl.capabilities().nullContent, name)
	}
	tmpl := loadTemplate(t, "gemma3", "<bos>", "<eos>")
	got, err := tmpl.Render([]Message{
		{Role: "user", Content: "Hi"},
		{Role: "assistant", ToolCalls: []ToolCall{{Name: "f", Arguments: `{}`}}},
	}, Options{})
	require.NoError(t, err)
	// hand: Gemma 3 writes the (empty) text of the model turn.
	assert.Equal(t, "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n<end_of_turn>\n", got)
}

// Floats in tool definitions and arguments come out as Python's json.dumps
// writes them (1.0, 0.95, 1e-05, 1e+16), integers as integers. Expected text
// worked out by hand from testdata/chat/qwen3.jinja and Python's float repr.
func TestQwen3ToolFloats(t *testing.T) {
	tmpl := loadTemplate(t, "qwen3", "", "<|im_end|>")
	tool := json.RawMessage(`{"type": "function", "function": {"name": "sample", "description": "Sample text",
 "parameters": {"type": "object", "properties": {"temperature": {"type": "number", "default": 1.0, "minimum": 0.0, "maximum": 2.0},
 "top_p": {"type": "number", "default": 0.95}, "eps": {"type": "number", "default": 1E-5}, "n": {"type": "integer", "default": 1},
 "big": {"type": "number", "default": 1e16}, "mid": {"type": "number", "default": 1e15}}}}}`)
	msgs := []Message{
		{Role: "user", Content: "Sample"},
		{Role: "assistant", ToolCalls: []ToolCall{{ID: "c1", Name: "sample", Arguments: `{"temperature": 1.0, "seed": 42, "scale": 1e16, "eps": 0.00001, "neg": -0.0, "x": 2.50}`}}},
		{Role: "tool", ToolCallID: "c1", Content: "ok"},
	}
	got, err := tmpl.Render(msgs, Options{AddGenerationPrompt: true, Tools: []any{tool}, Kwargs: map[string]any{"enable_thinking": false}})
	require.NoError(t, err)
	want := "<|im_start|>system\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
		"You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
		`{"type": "function", "function": {"name": "sample", "description": "Sample text", "parameters": {"type": "object", "properties": {"temperature": {"type": "number", "default": 1.0, "minimum": 0.0, "maximum": 2.0}, "top_p": {"type": "number", "default": 0.95}, "eps": {"type": "number", "default": 1e-05}, "n": {"type": "integer", "default": 1}, "big": {"type": "number", "default": 1e+16}, "mid": {"type": "number", "default": 1000000000000000.0}}}}}` +
		"\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n" +
		"<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" +
		"<|im_start|>user\nSample<|im_end|>\n" +
		"<|im_start|>assistant\n<tool_call>\n{\"name\": \"sample\", \"arguments\": {\"temperature\": 1.0, \"seed\": 42, \"scale\": 1e+16, \"eps\": 1e-05, \"neg\": -0.0, \"x\": 2.5}}\n</tool_call><|im_end|>\n" +
		"<|im_start|>user\n<tool_response>\nok\n</tool_response><|im_end|>\n" +
		"<|im_start|>assistant\n<think>\n\n</think>\n\n"
	assert.Equal(t, want, got)

	// The same floats from Go values.
	params := NewOrderedMap().Set("type", "object").Set("properties", NewOrderedMap().
		Set("temperature", NewOrderedMap().Set("type", "number").Set("default", 1.0).Set("minimum", 0.0).Set("maximum", float32(2))))
	got, err = tmpl.Render(nil, Options{Tools: []any{NewOrderedMap().Set("p", params)}})
	require.NoError(t, err)
	assert.Contains(t, got, `{"p": {"type": "object", "properties": {"temperature": {"type": "number", "default": 1.0, "minimum": 0.0, "maximum": 2.0}}}}`)
}

// Python's repr of a float (what json.dumps writes), by its rules: the
// shortest digits that read back; exponent form when the exponent is below -4
// or at least 16, with a sign and two digits at least; else fixed, with ".0"
// for a whole number.
func TestPyFloatRepr(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 0.5: "0.5", 1e-05: "1e-05", 0.0001: "0.0001", 1.5e-7: "1.5e-07",
		1e16: "1e+16", 2.5e16: "2.5e+16", 1e15: "1000000000000000.0", 9999999999999998: "9999999999999998.0",
		1e6: "1000000.0", 123456789: "123456789.0", 0.1: "0.1", 0.30000000000000004: "0.30000000000000004",
		-2.5: "-2.5", 0: "0.0", 1e100: "1e+100", 1e-100: "1e-100", 12345.678: "12345.678",
		math.MaxFloat64: "1.7976931348623157e+308", 5e-324: "5e-324", 100: "100.0", 0.001: "0.001",
	} {
		assert.Equal(t, want, pyFloatRepr(f), "%v", f)
	}
	assert.Equal(t, "-0.0", pyFloatRepr(math.Copysign(0, -1)))
	assert.Equal(t, "NaN", pyFloatJSON(math.NaN()))
	assert.Equal(t, "Infinity", pyFloatJSON(math.Inf(1)))
	assert.Equal(t, "-Infinity", pyFloatJSON(math.Inf(-1)))
}

// tojson's options as transformers passes them to json.dumps; expected text by
// Python's rules (indent: "," between items, a newline and the indent before
// each; empty containers stay [] and {}; ensure_ascii escapes all but
// printable ASCII).
func TestToJSONOptions(t *testing.T) {
	v := json.RawMessage(`{"b": 1.0, "a": [1, "x<>&é😀"], "c": {}, "d": [], "e": "q\"\\\n\t\u0001\u007f\u2028"}`)
	cases := map[string]string{
		`{{ x | tojson }}`:                        `{"b": 1.0, "a": [1, "x<>&é😀"], "c": {}, "d": [], "e": "q\"\\\n\t\u0001` + "\x7f\u2028" + `"}`,
		`{{ x | tojson(indent=2) }}`:              "{\n  \"b\": 1.0,\n  \"a\": [\n    1,\n    \"x<>&é😀\"\n  ],\n  \"c\": {},\n  \"d\": [],\n  \"e\": \"q\\\"\\\\\\n\\t\\u0001\x7f\u2028\"\n}",
		`{{ x.a | tojson(indent='\t') }}`:         "[\n\t1,\n\t\"x<>&é😀\"\n]",
		`{{ x | tojson(sort_keys=true) }}`:        `{"a": [1, "x<>&é😀"], "b": 1.0, "c": {}, "d": [], "e": "q\"\\\n\t\u0001` + "\x7f\u2028" + `"}`,
		`{{ x.a | tojson(ensure_ascii=true) }}`:   `[1, "x<>&\u00e9\ud83d\ude00"]`,
		`{{ x.e | tojson(ensure_ascii=true) }}`:   `"q\"\\\n\t\u0001\u007f\u2028"`,
		`{{ x | tojson(separators=[',', ':']) }}`: `{"b":1.0,"a":[1,"x<>&é😀"],"c":{},"d":[],"e":"q\"\\\n\t\u0001` + "\x7f\u2028" + `"}`,
		`{%- set s = x.c|tojson -%}[{{ s }}]`:     `[{}]`,
		// Not filters: text, comments and string literals keep the word.
		`| tojson {# x | tojson #}{{ "| tojson" }}`: `| tojson | tojson`,
	}
	for src, want := range cases {
		tmpl, err := Parse(src)
		require.NoError(t, err, src)
		got, err := tmpl.Render(nil, Options{Kwargs: map[string]any{"x": v}})
		require.NoError(t, err, src)
		assert.Equal(t, want, got, src)
	}
	tmpl, err := Parse(`{{ 1 | tojson(bogus=1) }}`)
	require.NoError(t, err)
	_, err = tmpl.Render(nil, Options{})
	assert.ErrorContains(t, err, "bogus")
}

func TestRenameToJSON(t *testing.T) {
	for src, want := range map[string]string{
		`{{ x|tojson }}`:                         `{{ x|golem_tojson }}`,
		"{%- set y = x |\n tojson(indent=4) -%}": "{%- set y = x |\n golem_tojson(indent=4) -%}",
		`{{ x | tojsonx }}{{ 'a|tojson' }}`:      `{{ x | tojsonx }}{{ 'a|tojson' }}`,
		`a | tojson {# | tojson #}`:              `a | tojson {# | tojson #}`,
		`{{ "}}" | tojson }} | tojson`:           `{{ "}}" | golem_tojson }} | tojson`,
		`{% filter tojson %}x{% endfilter %}`:    `{% filter tojson %}x{% endfilter %}`,
	} {
		assert.Equal(t, want, renameToJSON(src), src)
	}
}
