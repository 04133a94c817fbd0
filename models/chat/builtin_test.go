package chat

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each built-in must give the same text as the real template it stands for.
func TestBuiltinsMatchRealTemplates(t *testing.T) {
	type pair struct {
		builtin, file string
		bos, eos      string
	}
	pairs := []pair{
		{"chatml", "chatml", "", ""},
		{"llama2", "llama2", "<s>", "</s>"},
		{"llama3", "llama3", "<|begin_of_text|>", "<|eot_id|>"},
		{"mistral-v1", "mistral-v1", "<s>", "</s>"},
		{"mistral-v3", "mistral-v3", "<s>", "</s>"},
		{"mistral-v3-tekken", "mistral-v3-tekken", "<s>", "</s>"},
		{"mistral-v7", "mistral-v7", "<s>", "</s>"},
		{"mistral-v7-tekken", "mistral-v7-tekken", "<s>", "</s>"},
		{"gemma", "gemma2", "<bos>", "<eos>"},
		{"gemma", "gemma-7b-it", "", "<eos>"},
		{"phi3", "phi3.5", "", "<|endoftext|>"},
		{"phi3", "phi3-small", "", "<|endoftext|>"},
		{"zephyr", "zephyr", "<s>", "</s>"},
		{"vicuna", "vicuna", "<s>", "</s>"},
		{"vicuna-orca", "vicuna-orca", "<s>", "</s>"},
		{"openchat", "openchat", "<s>", "<|end_of_turn|>"},
		{"deepseek", "deepseek-coder", dsBOS, "<|EOT|>"},
		{"deepseek2", "deepseek-v2", dsBOS, dsEOS},
		{"deepseek3", "deepseek-v3", dsBOS, dsEOS},
		{"falcon", "falcon2", "", "<|endoftext|>"},
	}
	endsWithReply := []Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Content: " Hi "},
		{Role: "assistant", Content: "Hello!\n"},
	}
	convs := map[string][]Message{
		"single":      singleTurn,
		"system":      llamaCppConversation,
		"multi":       hfExampleChat,
		"reply":       endsWithReply,
		"with-system": hfExampleChatWithSystem,
	}
	for _, p := range pairs {
		real := loadTemplate(t, p.file, p.bos, p.eos)
		b, err := Builtin(p.builtin)
		require.NoError(t, err)
		b.BOS, b.EOS = p.bos, p.eos
		for name, msgs := range convs {
			for _, gen := range []bool{true, false} {
				want, err := real.Render(msgs, Options{AddGenerationPrompt: gen})
				require.NoError(t, err, "%s %s", p.file, name)
				got, err := b.Render(msgs, Options{AddGenerationPrompt: gen})
				require.NoError(t, err, "%s %s", p.builtin, name)
				assert.Equal(t, want, got, "built-in %s vs %s, %s, add_generation_prompt=%v", p.builtin, p.file, name, gen)
			}
		}
	}
}

func TestBuiltinErrors(t *testing.T) {
	for _, name := range []string{"llama2", "gemma", "mistral-v1", "mistral-v3"} {
		b, err := Builtin(name)
		require.NoError(t, err)
		_, err = b.Render([]Message{{Role: "user", Content: "a"}, {Role: "user", Content: "b"}}, Options{})
		assert.ErrorContains(t, err, "alternate", name)
	}
	b, err := Builtin("chatml")
	require.NoError(t, err)
	_, err = b.Render(singleTurn, Options{Tools: []any{map[string]any{"type": "function"}}})
	assert.ErrorContains(t, err, "tools")
	_, err = Builtin("nope")
	assert.ErrorContains(t, err, "chatml")
}

// Alpaca has no template of its own; the format is Stanford Alpaca's prompt
// ("### Instruction:\n...\n\n### Response:\n"), worked out by hand.
func TestAlpaca(t *testing.T) {
	b, err := Builtin("alpaca")
	require.NoError(t, err)
	b.EOS = "</s>"
	got, err := b.Render([]Message{
		{Role: "system", Content: "Below is an instruction that describes a task. Write a response that appropriately completes the request."},
		{Role: "user", Content: "Say hi."},
		{Role: "assistant", Content: "Hi."},
		{Role: "user", Content: "Again."},
	}, Options{AddGenerationPrompt: true})
	require.NoError(t, err)
	assert.Equal(t, "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"+
		"### Instruction:\nSay hi.\n\n### Response:\nHi.</s>\n\n### Instruction:\nAgain.\n\n### Response:\n", got)
}

func TestBuiltinsListed(t *testing.T) {
	for _, n := range []string{"llama2", "llama3", "chatml", "mistral-v1", "mistral-v3", "mistral-v7", "gemma", "phi3",
		"zephyr", "vicuna", "alpaca", "openchat", "deepseek", "falcon"} {
		assert.Contains(t, Builtins(), n)
	}
}
