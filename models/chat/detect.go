package chat

import "strings"

// Detect names the built-in format a Jinja template's text looks like, from
// marker strings in the text, in the spirit of llama.cpp's
// llm_chat_detect_template; "" when none fits. A built-in name is its own
// answer.
func Detect(src string) string {
	if _, ok := builtins[src]; ok {
		return src
	}
	has := func(s string) bool { return strings.Contains(src, s) }
	switch {
	case has("<|im_start|>"):
		if has("<|im_sep|>") || has("<end_of_utterance>") {
			return "" // Phi-4 and SmolVLM: not ChatML
		}
		return "chatml"
	case strings.HasPrefix(src, "mistral") || has("[INST]"):
		switch {
		case has("[SYSTEM_PROMPT]"):
			if has("'[INST]' +") || has(`"[INST]" +`) {
				return "mistral-v7-tekken"
			}
			return "mistral-v7"
		case has("' [INST] ' + system_message"):
			return "mistral-v1"
		case has("[AVAILABLE_TOOLS]"):
			if has(`"[INST]"`) {
				return "mistral-v3-tekken"
			}
			if has(" [INST]") && !has(`"[INST] "`) {
				return "mistral-v1"
			}
			return "mistral-v3"
		}
		return "llama2"
	case has("<|assistant|>") && has("<|end|>"):
		return "phi3"
	case has("<|user|>") && (has("<|endoftext|>") || has("eos_token")) && !has("[gMASK]"):
		return "zephyr"
	case has("<start_of_turn>"):
		return "gemma"
	case has("GPT4 Correct "):
		return "openchat"
	case has("USER: ") && has("ASSISTANT: "):
		if has("SYSTEM: ") {
			return "vicuna-orca"
		}
		return "vicuna"
	case has("### Instruction:") && has("<|EOT|>"):
		return "deepseek"
	case has("### Instruction:") && has("### Response:"):
		return "alpaca"
	case has("<|start_header_id|>") && has("<|end_header_id|>"):
		return "llama3"
	case has("'Assistant: ' + message['content'] + eos_token"):
		return "deepseek2"
	case has("<｜Assistant｜>") && has("<｜User｜>") && has("<｜end▁of▁sentence｜>"):
		return "deepseek3"
	case has("Falcon:") && has("User:"):
		return "falcon"
	}
	return ""
}
