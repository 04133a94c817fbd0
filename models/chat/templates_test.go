package chat

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The real templates are in testdata/chat (sources in its README). Expected
// strings come from llama.cpp's tests/test-chat-template.cpp (marked llama.cpp),
// from huggingface.js's packages/jinja/test/e2e.test.js, whose targets were made
// with Python transformers (marked hf.js), or were worked out by hand from the
// template text (marked hand).

func loadTemplate(t *testing.T, name, bos, eos string) *Template {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "chat", name+".jinja"))
	require.NoError(t, err)
	tmpl, err := Parse(string(src))
	require.NoError(t, err, name)
	tmpl.BOS, tmpl.EOS = bos, eos
	return tmpl
}

// llamaCppConversation is the conversation of llama.cpp's chat-template tests.
var llamaCppConversation = []Message{
	{Role: "system", Content: "You are a helpful assistant"},
	{Role: "user", Content: "Hello"},
	{Role: "assistant", Content: "Hi there"},
	{Role: "user", Content: "Who are you"},
	{Role: "assistant", Content: "   I am an assistant   "},
	{Role: "user", Content: "Another question"},
}

var singleTurn = []Message{{Role: "user", Content: "Hello"}}

// The conversations of huggingface.js's tests.
var (
	hfExampleChat = []Message{
		{Role: "user", Content: "Hello, how are you?"},
		{Role: "assistant", Content: "I'm doing great. How can I help you today?"},
		{Role: "user", Content: "I'd like to show off how chat templating works!"},
	}
	hfExampleChatWithSystem = append([]Message{
		{Role: "system", Content: "You are a friendly chatbot who always responds in the style of a pirate"},
	}, hfExampleChat...)
)

const (
	dsBOS = "<｜begin▁of▁sentence｜>"
	dsEOS = "<｜end▁of▁sentence｜>"

	chatMLConversation = "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n<|im_start|>assistant\n   I am an assistant   <|im_end|>\n<|im_start|>user\nAnother question<|im_end|>\n<|im_start|>assistant\n"
	gemmaConversation  = "<start_of_turn>user\nYou are a helpful assistant\nHello<end_of_turn>\n<start_of_turn>model\nHi there<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\nI am an assistant<end_of_turn>\n<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n"
	phi3Conversation   = "<|system|>\nYou are a helpful assistant<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n<|user|>\nWho are you<|end|>\n<|assistant|>\n   I am an assistant   <|end|>\n<|user|>\nAnother question<|end|>\n<|assistant|>\n"
	llama3Turns        = "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nI am an assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnother question<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
	deepSeek3Turns     = "<｜User｜>Hello<｜Assistant｜>Hi there<｜end▁of▁sentence｜><｜User｜>Who are you<｜Assistant｜>   I am an assistant   <｜end▁of▁sentence｜><｜User｜>Another question<｜Assistant｜>"
)

type renderCase struct {
	file     string
	bos, eos string
	msgs     []Message
	gen      bool
	kwargs   map[string]any
	want     string
	source   string
}

func TestRealTemplates(t *testing.T) {
	conv := llamaCppConversation
	cases := []renderCase{
		// System prompt + multi-turn: llama.cpp's conversation and published outputs.
		{file: "chatml", msgs: conv, gen: true, source: "llama.cpp", want: chatMLConversation},
		{file: "mistral-7b-instruct-v0.2", eos: "</s>", msgs: conv, gen: true, source: "llama.cpp",
			want: "[INST] You are a helpful assistant\nHello [/INST]Hi there</s>[INST] Who are you [/INST]   I am an assistant   </s>[INST] Another question [/INST]"},
		{file: "gemma-7b-it", msgs: conv, gen: true, source: "llama.cpp", want: gemmaConversation},
		{file: "openchat", msgs: conv, gen: true, source: "llama.cpp",
			want: "GPT4 Correct System: You are a helpful assistant<|end_of_turn|>GPT4 Correct User: Hello<|end_of_turn|>GPT4 Correct Assistant: Hi there<|end_of_turn|>GPT4 Correct User: Who are you<|end_of_turn|>GPT4 Correct Assistant:    I am an assistant   <|end_of_turn|>GPT4 Correct User: Another question<|end_of_turn|>GPT4 Correct Assistant:"},
		{file: "deepseek-coder", msgs: conv, gen: true, source: "llama.cpp",
			want: "You are a helpful assistant### Instruction:\nHello\n### Response:\nHi there\n<|EOT|>\n### Instruction:\nWho are you\n### Response:\n   I am an assistant   \n<|EOT|>\n### Instruction:\nAnother question\n### Response:\n"},
		{file: "vicuna", msgs: conv, gen: true, source: "llama.cpp",
			want: "You are a helpful assistant\n\nUSER: Hello\nASSISTANT: Hi there</s>\nUSER: Who are you\nASSISTANT:    I am an assistant   </s>\nUSER: Another question\nASSISTANT:"},
		{file: "vicuna-orca", msgs: conv, gen: true, source: "llama.cpp",
			want: "SYSTEM: You are a helpful assistant\nUSER: Hello\nASSISTANT: Hi there</s>\nUSER: Who are you\nASSISTANT:    I am an assistant   </s>\nUSER: Another question\nASSISTANT:"},
		{file: "llama3", msgs: conv, gen: true, source: "llama.cpp",
			want: "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>" + llama3Turns},
		{file: "phi3-mini", msgs: conv, gen: true, source: "llama.cpp",
			want: "<|user|>\nYou are a helpful assistant\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n<|user|>\nWho are you<|end|>\n<|assistant|>\n   I am an assistant   <|end|>\n<|user|>\nAnother question<|end|>\n<|assistant|>\n"},
		{file: "phi3-small", msgs: conv, gen: true, source: "llama.cpp", want: phi3Conversation},
		{file: "deepseek-v2", eos: dsEOS, msgs: conv, gen: true, source: "llama.cpp",
			want: "You are a helpful assistant\n\nUser: Hello\n\nAssistant: Hi there<｜end▁of▁sentence｜>User: Who are you\n\nAssistant:    I am an assistant   <｜end▁of▁sentence｜>User: Another question\n\nAssistant:"},
		{file: "mistral-v1", eos: "</s>", msgs: conv, gen: true, source: "llama.cpp",
			want: " [INST] You are a helpful assistant\n\nHello [/INST] Hi there</s> [INST] Who are you [/INST]    I am an assistant   </s> [INST] Another question [/INST]"},
		{file: "mistral-v3", eos: "</s>", msgs: conv, gen: true, source: "llama.cpp",
			want: "[INST] Hello[/INST] Hi there</s>[INST] Who are you[/INST] I am an assistant</s>[INST] You are a helpful assistant\n\nAnother question[/INST]"},
		{file: "mistral-v3-tekken", eos: "</s>", msgs: conv, gen: true, source: "llama.cpp",
			want: "[INST]Hello[/INST]Hi there</s>[INST]Who are you[/INST]   I am an assistant   </s>[INST]You are a helpful assistant\n\nAnother question[/INST]"},
		{file: "mistral-v7", eos: "</s>", msgs: conv, gen: true, source: "llama.cpp",
			want: "[SYSTEM_PROMPT] You are a helpful assistant[/SYSTEM_PROMPT][INST] Hello[/INST] Hi there</s>[INST] Who are you[/INST]    I am an assistant   </s>[INST] Another question[/INST]"},

		// System prompt + multi-turn, worked out by hand.
		{file: "qwen2.5", msgs: conv, gen: true, source: "hand", want: chatMLConversation},
		{file: "qwen3", msgs: conv, gen: true, source: "hand", want: chatMLConversation},
		{file: "gemma2", bos: "<bos>", msgs: conv, gen: true, source: "hand", want: "<bos>" + gemmaConversation},
		{file: "gemma3", bos: "<bos>", msgs: conv, gen: true, source: "hand",
			want: "<bos><start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n<start_of_turn>model\nHi there<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\nI am an assistant<end_of_turn>\n<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n"},
		{file: "llama2", bos: "<s>", eos: "</s>", msgs: conv, gen: true, source: "hand",
			want: "<s>[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there </s><s>[INST] Who are you [/INST] I am an assistant </s><s>[INST] Another question [/INST]"},
		{file: "llama3.1", bos: "<|begin_of_text|>", msgs: conv, gen: true, source: "hand",
			want: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are a helpful assistant<|eot_id|>" + llama3Turns},
		{file: "llama3.1", bos: "<|begin_of_text|>", msgs: conv, gen: true, source: "hand", kwargs: map[string]any{"date_string": "01 Jan 2025"},
			want: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\nYou are a helpful assistant<|eot_id|>" + llama3Turns},
		{file: "mistral-v7-tekken", eos: "</s>", msgs: conv, gen: true, source: "hand",
			want: "[SYSTEM_PROMPT]You are a helpful assistant[/SYSTEM_PROMPT][INST]Hello[/INST]Hi there</s>[INST]Who are you[/INST]   I am an assistant   </s>[INST]Another question[/INST]"},
		{file: "mistral-7b-instruct-v0.1", eos: "</s>", msgs: conv, gen: true, source: "hand",
			want: "[INST] You are a helpful assistant\nHello [/INST]Hi there</s> [INST] Who are you [/INST]   I am an assistant   </s> [INST] Another question [/INST]"},
		{file: "phi3", msgs: conv, gen: true, source: "hand", want: phi3Conversation},
		{file: "phi3.5", msgs: conv, gen: true, source: "hand", want: phi3Conversation},
		{file: "zephyr", eos: "</s>", msgs: conv, gen: true, source: "hand",
			want: "<|system|>\nYou are a helpful assistant</s>\n<|user|>\nHello</s>\n<|assistant|>\nHi there</s>\n<|user|>\nWho are you</s>\n<|assistant|>\n   I am an assistant   </s>\n<|user|>\nAnother question</s>\n<|assistant|>\n"},
		{file: "deepseek-v3", msgs: conv, gen: true, source: "hand", want: "You are a helpful assistant" + deepSeek3Turns},
		{file: "deepseek-r1", msgs: conv, gen: true, source: "hand", want: "You are a helpful assistant" + deepSeek3Turns},
		{file: "falcon2", msgs: conv, gen: true, source: "hand",
			want: "System: You are a helpful assistant\nUser: \nHello\nFalcon:\nHi there\nUser: \nWho are you\nFalcon:\n   I am an assistant   \nUser: \nAnother question\nFalcon:\n"},

		// Multi-turn without a system prompt: huggingface.js targets (made with Python).
		{file: "zephyr", eos: "</s>", msgs: hfExampleChatWithSystem, source: "hf.js",
			want: "<|system|>\nYou are a friendly chatbot who always responds in the style of a pirate</s>\n<|user|>\nHello, how are you?</s>\n<|assistant|>\nI'm doing great. How can I help you today?</s>\n<|user|>\nI'd like to show off how chat templating works!</s>\n"},
		{file: "zephyr", eos: "</s>", gen: true, source: "hf.js",
			msgs: []Message{{Role: "system", Content: "You are a friendly chatbot who always responds in the style of a pirate"}, {Role: "user", Content: "How many helicopters can a human eat in one sitting?"}},
			want: "<|system|>\nYou are a friendly chatbot who always responds in the style of a pirate</s>\n<|user|>\nHow many helicopters can a human eat in one sitting?</s>\n<|assistant|>\n"},
		{file: "mistral-7b-instruct-v0.1", bos: "<s>", eos: "</s>", msgs: hfExampleChat, source: "hf.js",
			want: "<s>[INST] Hello, how are you? [/INST]I'm doing great. How can I help you today?</s> [INST] I'd like to show off how chat templating works! [/INST]"},
		{file: "openchat", bos: "<s>", eos: "</s>", msgs: hfExampleChat, source: "hf.js",
			want: "<s>GPT4 Correct User: Hello, how are you?<|end_of_turn|>GPT4 Correct Assistant: I'm doing great. How can I help you today?<|end_of_turn|>GPT4 Correct User: I'd like to show off how chat templating works!<|end_of_turn|>"},
		{file: "deepseek-v2", bos: dsBOS, eos: dsEOS, msgs: hfExampleChat, source: "hf.js",
			want: "<｜begin▁of▁sentence｜>User: Hello, how are you?\n\nAssistant: I'm doing great. How can I help you today?<｜end▁of▁sentence｜>User: I'd like to show off how chat templating works!\n\n"},
		{file: "deepseek-coder", bos: dsBOS, eos: "<|EOT|>", msgs: hfExampleChat, source: "hf.js",
			want: "<｜begin▁of▁sentence｜>You are an AI programming assistant, utilizing the Deepseek Coder model, developed by Deepseek Company, and you only answer questions related to computer science. For politically sensitive questions, security and privacy issues, and other non-computer science questions, you will refuse to answer\n### Instruction:\nHello, how are you?\n### Response:\nI'm doing great. How can I help you today?\n<|EOT|>\n### Instruction:\nI'd like to show off how chat templating works!\n"},
		// hf.js renders the Llama 2 template's USE_DEFAULT_PROMPT variant; with a
		// system message both variants take the same path.
		{file: "llama2", bos: "<s>", eos: "</s>", msgs: hfExampleChatWithSystem, source: "hf.js",
			want: "<s>[INST] <<SYS>>\nYou are a friendly chatbot who always responds in the style of a pirate\n<</SYS>>\n\nHello, how are you? [/INST] I'm doing great. How can I help you today? </s><s>[INST] I'd like to show off how chat templating works! [/INST]"},

		// Single turn, worked out by hand.
		{file: "chatml", msgs: singleTurn, gen: true, source: "hand", want: "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"},
		{file: "qwen2.5", msgs: singleTurn, gen: true, source: "hand",
			want: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"},
		{file: "qwen3", msgs: singleTurn, gen: true, source: "hand", want: "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"},
		{file: "llama2", bos: "<s>", eos: "</s>", msgs: singleTurn, gen: true, source: "hand", want: "<s>[INST] Hello [/INST]"},
		{file: "llama3", bos: "<|begin_of_text|>", msgs: singleTurn, gen: true, source: "hand",
			want: "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{file: "llama3.1", bos: "<|begin_of_text|>", msgs: singleTurn, gen: true, source: "hand",
			want: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{file: "mistral-v1", bos: "<s>", eos: "</s>", msgs: singleTurn, gen: true, source: "hand", want: "<s> [INST] Hello [/INST]"},
		{file: "mistral-v3", bos: "<s>", eos: "</s>", msgs: singleTurn, gen: true, source: "hand", want: "<s>[INST] Hello[/INST]"},
		{file: "mistral-v3-tekken", bos: "<s>", eos: "</s>", msgs: singleTurn, gen: true, source: "hand", want: "<s>[INST]Hello[/INST]"},
		{file: "mistral-v7", bos: "<s>", eos: "</s>", msgs: singleTurn, gen: true, source: "hand", want: "<s>[INST] Hello[/INST]"},
		{file: "mistral-v7-tekken", bos: "<s>", eos: "</s>", msgs: singleTurn, gen: true, source: "hand", want: "<s>[INST]Hello[/INST]"},
		{file: "mistral-7b-instruct-v0.2", bos: "<s>", eos: "</s>", msgs: singleTurn, gen: true, source: "hand", want: "<s>[INST] Hello [/INST]"},
		{file: "gemma-7b-it", bos: "<bos>", msgs: singleTurn, gen: true, source: "hand", want: "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n"},
		{file: "gemma2", bos: "<bos>", msgs: singleTurn, gen: true, source: "hand", want: "<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n"},
		{file: "gemma3", bos: "<bos>", msgs: singleTurn, gen: true, source: "hand", want: "<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n"},
		{file: "phi3-mini", bos: "<s>", msgs: singleTurn, gen: true, source: "hand", want: "<s><|user|>\nHello<|end|>\n<|assistant|>\n"},
		{file: "phi3-small", bos: "<s>", msgs: singleTurn, gen: true, source: "hand", want: "<s><|user|>\nHello<|end|>\n<|assistant|>\n"},
		{file: "phi3", eos: "<|endoftext|>", msgs: singleTurn, gen: true, source: "hand", want: "<|user|>\nHello<|end|>\n<|assistant|>\n"},
		{file: "phi3.5", eos: "<|endoftext|>", msgs: singleTurn, source: "hand", want: "<|user|>\nHello<|end|>\n<|endoftext|>"},
		{file: "zephyr", eos: "</s>", msgs: singleTurn, gen: true, source: "hand", want: "<|user|>\nHello</s>\n<|assistant|>\n"},
		{file: "vicuna", msgs: singleTurn, gen: true, source: "hand", want: "USER: Hello\nASSISTANT:"},
		{file: "vicuna-orca", msgs: singleTurn, gen: true, source: "hand", want: "USER: Hello\nASSISTANT:"},
		{file: "openchat", bos: "<s>", msgs: singleTurn, gen: true, source: "hand", want: "<s>GPT4 Correct User: Hello<|end_of_turn|>GPT4 Correct Assistant:"},
		{file: "deepseek-coder", bos: dsBOS, msgs: singleTurn, gen: true, source: "hand",
			want: dsBOS + deepSeekCoderSystem + "### Instruction:\nHello\n### Response:\n"},
		{file: "deepseek-v2", bos: dsBOS, eos: dsEOS, msgs: singleTurn, gen: true, source: "hand", want: dsBOS + "User: Hello\n\nAssistant:"},
		{file: "deepseek-v3", bos: dsBOS, msgs: singleTurn, gen: true, source: "hand", want: dsBOS + "<｜User｜>Hello<｜Assistant｜>"},
		{file: "deepseek-r1", bos: dsBOS, msgs: singleTurn, gen: true, source: "hand", want: dsBOS + "<｜User｜>Hello<｜Assistant｜>"},
		{file: "falcon2", msgs: singleTurn, gen: true, source: "hand", want: "User: \nHello\nFalcon:\n"},
	}
	for _, c := range cases {
		t.Run(c.file+"/"+c.source, func(t *testing.T) {
			tmpl := loadTemplate(t, c.file, c.bos, c.eos)
			got, err := tmpl.Render(c.msgs, Options{AddGenerationPrompt: c.gen, Kwargs: c.kwargs})
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestDetectRealTemplates(t *testing.T) {
	want := map[string]string{
		"chatml": "chatml", "qwen2.5": "chatml", "qwen3": "chatml",
		"llama2": "llama2", "mistral-7b-instruct-v0.1": "llama2", "mistral-7b-instruct-v0.2": "llama2",
		"llama3": "llama3", "llama3.1": "llama3",
		"mistral-v1": "mistral-v1", "mistral-v3": "mistral-v3", "mistral-v3-tekken": "mistral-v3-tekken",
		"mistral-v7": "mistral-v7", "mistral-v7-tekken": "mistral-v7-tekken",
		"gemma-7b-it": "gemma", "gemma2": "gemma", "gemma3": "gemma",
		"phi3-mini": "phi3", "phi3-small": "phi3", "phi3": "phi3", "phi3.5": "phi3",
		"zephyr": "zephyr", "vicuna": "vicuna", "vicuna-orca": "vicuna-orca", "openchat": "openchat",
		"deepseek-coder": "deepseek", "deepseek-v2": "deepseek2", "deepseek-v3": "deepseek3", "deepseek-r1": "deepseek3",
		"falcon2": "falcon",
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "chat", "*.jinja"))
	require.NoError(t, err)
	require.Len(t, files, len(want), "every template in testdata/chat has an expected detection")
	for _, f := range files {
		name := filepath.Base(f)
		name = name[:len(name)-len(".jinja")]
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Equal(t, want[name], Detect(string(src)), name)
	}
	for _, n := range Builtins() {
		assert.Equal(t, n, Detect(n))
	}
	assert.Equal(t, "", Detect("{{ messages }}"))
}
