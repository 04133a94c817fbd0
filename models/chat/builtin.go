package chat

import (
	"fmt"
	"slices"
	"strings"
)

// builtinFunc renders a conversation in a built-in format.
type builtinFunc func(msgs []Message, addGen bool, bos, eos string) (string, error)

type builtinFormat struct {
	render builtinFunc
	about  string // the real template the format reproduces
}

// builtins are formats written in Go for models whose file has no template. Each
// gives the same text as the real template it names (tests check this against
// the templates in testdata/chat); templates that have no system role are given
// the system text in the first user turn, as Render does for such templates.
var builtins = map[string]builtinFormat{
	"chatml":            {renderChatML, "ChatML (OpenHermes 2.5, Qwen 2.5 with a system message)"},
	"llama2":            {renderLlama2, "meta-llama/Llama-2-7b-chat-hf"},
	"llama3":            {renderLlama3, "meta-llama/Meta-Llama-3-8B-Instruct"},
	"mistral-v1":        {renderMistralV1, "Mistral 'v1' (Mistral-7B-Instruct-v0.1 with a system message)"},
	"mistral-v3":        {mistralV3(" ", true), "Mistral 'v3' (Mistral-Large-Instruct-2407)"},
	"mistral-v3-tekken": {mistralV3("", false), "Mistral 'v3-tekken' (Mistral-Nemo-Instruct-2407)"},
	"mistral-v7":        {mistralV7(" "), "Mistral 'v7' (Mistral-Large-Instruct-2411)"},
	"mistral-v7-tekken": {mistralV7(""), "Mistral 'v7-tekken' (Mistral-Small-24B-Instruct)"},
	"gemma":             {renderGemma, "google/gemma-2-2b-it (gemma-7b-it without the BOS)"},
	"phi3":              {renderPhi3, "microsoft/Phi-3.5-mini-instruct"},
	"zephyr":            {renderZephyr, "HuggingFaceH4/zephyr-7b-beta"},
	"vicuna":            {vicuna(""), "eachadea/vicuna-13b-1.1"},
	"vicuna-orca":       {vicuna("SYSTEM: "), "Orca-Vicuna"},
	"alpaca":            {renderAlpaca, "Stanford Alpaca's prompt, turn by turn"},
	"openchat":          {renderOpenChat, "openchat/openchat-3.5-0106"},
	"deepseek":          {renderDeepSeekCoder, "deepseek-ai/deepseek-coder-33b-instruct"},
	"deepseek2":         {renderDeepSeek2, "deepseek-ai/DeepSeek-V2-Chat, deepseek-llm-7b-chat"},
	"deepseek3":         {renderDeepSeek3, "deepseek-ai/DeepSeek-V3"},
	"falcon":            {renderFalcon, "tiiuae/falcon-11B (Falcon 2)"},
}

// Builtins lists the built-in format names, sorted.
func Builtins() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Builtin returns the named built-in format.
func Builtin(name string) (*Template, error) {
	f, ok := builtins[name]
	if !ok {
		return nil, fmt.Errorf("unknown chat format %q (built-in formats: %s)", name, strings.Join(Builtins(), ", "))
	}
	return &Template{Name: name, builtin: f.render}, nil
}

// pyStrip is Python's str.strip() / Jinja's trim.
func pyStrip(s string) string { return strings.TrimSpace(s) }

// alternate checks the user/assistant alternation many templates enforce.
func alternate(msgs []Message) error {
	for i, m := range msgs {
		if (m.Role == "user") != (i%2 == 0) {
			return fmt.Errorf("conversation roles must alternate user/assistant/user/assistant/... (message %d is %q)", i, m.Role)
		}
	}
	return nil
}

// splitSystem separates a leading system message.
func splitSystem(msgs []Message) (sys string, has bool, rest []Message) {
	if len(msgs) > 0 && msgs[0].Role == "system" {
		return msgs[0].Content, true, msgs[1:]
	}
	return "", false, msgs
}

func renderChatML(msgs []Message, addGen bool, _, _ string) (string, error) {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
	}
	if addGen {
		b.WriteString("<|im_start|>assistant\n")
	}
	return b.String(), nil
}

// renderLlama2 is Llama 2 chat: <<SYS>> inside the first [INST], BOS before every
// [INST], turns stripped. The real template has no generation prompt: a prompt
// ends with [/INST] either way.
func renderLlama2(msgs []Message, _ bool, bos, eos string) (string, error) {
	sys, hasSys, rest := splitSystem(msgs)
	if err := alternate(rest); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, m := range rest {
		content := m.Content
		if i == 0 && hasSys {
			content = "<<SYS>>\n" + sys + "\n<</SYS>>\n\n" + content
		}
		switch m.Role {
		case "user":
			b.WriteString(bos + "[INST] " + pyStrip(content) + " [/INST]")
		case "assistant":
			b.WriteString(" " + pyStrip(content) + " " + eos)
		}
	}
	return b.String(), nil
}

func renderLlama3(msgs []Message, addGen bool, bos, _ string) (string, error) {
	var b strings.Builder
	for i, m := range msgs {
		if i == 0 {
			b.WriteString(bos)
		}
		b.WriteString("<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n" + pyStrip(m.Content) + "<|eot_id|>")
	}
	if addGen {
		b.WriteString("<|start_header_id|>assistant<|end_header_id|>\n\n")
	}
	return b.String(), nil
}

func renderMistralV1(msgs []Message, _ bool, bos, eos string) (string, error) {
	sys, hasSys, rest := splitSystem(msgs)
	if err := alternate(rest); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(bos)
	for i, m := range rest {
		switch m.Role {
		case "user":
			if i == 0 && hasSys {
				b.WriteString(" [INST] " + sys + "\n\n" + m.Content + " [/INST]")
			} else {
				b.WriteString(" [INST] " + m.Content + " [/INST]")
			}
		case "assistant":
			b.WriteString(" " + m.Content + eos)
		}
	}
	return b.String(), nil
}

// mistralV3 is Mistral's v3 template: the system text goes into the last user
// turn (only when that turn is the last message), [INST] without spaces in the
// tekken variant, assistant turns trimmed in the plain one.
func mistralV3(space string, trim bool) builtinFunc {
	return func(msgs []Message, _ bool, bos, eos string) (string, error) {
		sys, hasSys, rest := splitSystem(msgs)
		if err := alternate(rest); err != nil {
			return "", err
		}
		var b strings.Builder
		b.WriteString(bos)
		for i, m := range rest {
			switch m.Role {
			case "user":
				if i == len(rest)-1 && hasSys {
					b.WriteString("[INST]" + space + sys + "\n\n" + m.Content + "[/INST]")
				} else {
					b.WriteString("[INST]" + space + m.Content + "[/INST]")
				}
			case "assistant":
				if trim {
					b.WriteString(" " + pyStrip(m.Content) + eos)
				} else {
					b.WriteString(m.Content + eos)
				}
			}
		}
		return b.String(), nil
	}
}

func mistralV7(space string) builtinFunc {
	return func(msgs []Message, _ bool, bos, eos string) (string, error) {
		var b strings.Builder
		b.WriteString(bos)
		for _, m := range msgs {
			switch m.Role {
			case "user":
				b.WriteString("[INST]" + space + m.Content + "[/INST]")
			case "system":
				b.WriteString("[SYSTEM_PROMPT]" + space + m.Content + "[/SYSTEM_PROMPT]")
			case "assistant":
				b.WriteString(space + m.Content + eos)
			default:
				return "", fmt.Errorf("only user, system and assistant roles are supported, not %q", m.Role)
			}
		}
		return b.String(), nil
	}
}

func renderGemma(msgs []Message, addGen bool, bos, _ string) (string, error) {
	msgs = mergeSystem(msgs)
	if err := alternate(msgs); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(bos)
	for _, m := range msgs {
		role := m.Role
		if role == "assistant" {
			role = "model"
		}
		b.WriteString("<start_of_turn>" + role + "\n" + pyStrip(m.Content) + "<end_of_turn>\n")
	}
	if addGen {
		b.WriteString("<start_of_turn>model\n")
	}
	return b.String(), nil
}

func renderPhi3(msgs []Message, addGen bool, _, eos string) (string, error) {
	var b strings.Builder
	for _, m := range msgs {
		switch {
		case m.Role == "system" && m.Content != "":
			b.WriteString("<|system|>\n" + m.Content + "<|end|>\n")
		case m.Role == "user":
			b.WriteString("<|user|>\n" + m.Content + "<|end|>\n")
		case m.Role == "assistant":
			b.WriteString("<|assistant|>\n" + m.Content + "<|end|>\n")
		}
	}
	if addGen {
		b.WriteString("<|assistant|>\n")
	} else {
		b.WriteString(eos)
	}
	return b.String(), nil
}

func renderZephyr(msgs []Message, addGen bool, _, eos string) (string, error) {
	var b strings.Builder
	for i, m := range msgs {
		switch m.Role {
		case "user", "system", "assistant":
			b.WriteString("<|" + m.Role + "|>\n" + m.Content + eos + "\n")
		}
		if i == len(msgs)-1 && addGen {
			b.WriteString("<|assistant|>\n")
		}
	}
	return b.String(), nil
}

func vicuna(systemPrefix string) builtinFunc {
	return func(msgs []Message, addGen bool, _, _ string) (string, error) {
		var b strings.Builder
		for _, m := range msgs {
			switch m.Role {
			case "system":
				if systemPrefix == "" {
					b.WriteString(m.Content + "\n\n")
				} else {
					b.WriteString(systemPrefix + m.Content + "\n")
				}
			case "user":
				b.WriteString("USER: " + m.Content + "\n")
			default:
				b.WriteString("ASSISTANT: " + m.Content + "</s>\n")
			}
		}
		if addGen {
			b.WriteString("ASSISTANT:")
		}
		return b.String(), nil
	}
}

// renderAlpaca follows Stanford Alpaca's prompt ("### Instruction:" /
// "### Response:" blocks separated by blank lines), with the system text as the
// preamble and each reply closed by EOS as in Alpaca's training data.
func renderAlpaca(msgs []Message, addGen bool, _, eos string) (string, error) {
	var b strings.Builder
	for _, m := range msgs {
		switch m.Role {
		case "system":
			b.WriteString(m.Content + "\n\n")
		case "user":
			b.WriteString("### Instruction:\n" + m.Content + "\n\n")
		case "assistant":
			b.WriteString("### Response:\n" + m.Content + eos + "\n\n")
		}
	}
	if addGen {
		b.WriteString("### Response:\n")
	}
	return b.String(), nil
}

func renderOpenChat(msgs []Message, addGen bool, bos, _ string) (string, error) {
	var b strings.Builder
	b.WriteString(bos)
	for _, m := range msgs {
		b.WriteString("GPT4 Correct " + pyTitle(m.Role) + ": " + m.Content + "<|end_of_turn|>")
	}
	if addGen {
		b.WriteString("GPT4 Correct Assistant:")
	}
	return b.String(), nil
}

const deepSeekCoderSystem = "You are an AI programming assistant, utilizing the Deepseek Coder model, developed by Deepseek Company, and you only answer questions related to computer science. For politically sensitive questions, security and privacy issues, and other non-computer science questions, you will refuse to answer\n"

func renderDeepSeekCoder(msgs []Message, addGen bool, bos, _ string) (string, error) {
	var b strings.Builder
	b.WriteString(bos)
	if !slices.ContainsFunc(msgs, func(m Message) bool { return m.Role == "system" }) {
		b.WriteString(deepSeekCoderSystem)
	}
	for _, m := range msgs {
		switch m.Role {
		case "system":
			b.WriteString(m.Content)
		case "user":
			b.WriteString("### Instruction:\n" + m.Content + "\n")
		default:
			b.WriteString("### Response:\n" + m.Content + "\n<|EOT|>\n")
		}
	}
	if addGen {
		b.WriteString("### Response:\n")
	}
	return b.String(), nil
}

func renderDeepSeek2(msgs []Message, addGen bool, bos, eos string) (string, error) {
	var b strings.Builder
	b.WriteString(bos)
	for _, m := range msgs {
		switch m.Role {
		case "user":
			b.WriteString("User: " + m.Content + "\n\n")
		case "assistant":
			b.WriteString("Assistant: " + m.Content + eos)
		case "system":
			b.WriteString(m.Content + "\n\n")
		}
	}
	if addGen {
		b.WriteString("Assistant:")
	}
	return b.String(), nil
}

// renderDeepSeek3 is DeepSeek V3's template for plain conversations: every
// system text first (joined by blank lines), then the turns.
func renderDeepSeek3(msgs []Message, addGen bool, bos, _ string) (string, error) {
	var sys []string
	for _, m := range msgs {
		if m.Role == "system" {
			sys = append(sys, m.Content)
		}
	}
	var b strings.Builder
	b.WriteString(bos + strings.Join(sys, "\n\n"))
	for _, m := range msgs {
		switch m.Role {
		case "user":
			b.WriteString("<｜User｜>" + m.Content)
		case "assistant":
			b.WriteString("<｜Assistant｜>" + m.Content + "<｜end▁of▁sentence｜>")
		case "system":
		default:
			return "", fmt.Errorf("role %q needs the model's own Jinja template", m.Role)
		}
	}
	if addGen {
		b.WriteString("<｜Assistant｜>")
	}
	return b.String(), nil
}

func renderFalcon(msgs []Message, addGen bool, _, _ string) (string, error) {
	var b strings.Builder
	for i, m := range msgs {
		switch m.Role {
		case "user":
			b.WriteString("User: \n" + m.Content + "\n")
		case "system":
			b.WriteString("System: " + m.Content + "\n")
		case "assistant":
			b.WriteString("Falcon:\n" + m.Content + "\n")
		}
		if i == len(msgs)-1 && addGen {
			b.WriteString("Falcon:\n")
		}
	}
	return b.String(), nil
}
