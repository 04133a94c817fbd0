package chat

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/golem-llm/golem/gguf"
)

// Metadata keys read by FromGGUF.
const (
	KeyChatTemplate = "tokenizer.chat_template"
	keyTokens       = "tokenizer.ggml.tokens"
	keyBOS          = "tokenizer.ggml.bos_token_id"
	keyEOS          = "tokenizer.ggml.eos_token_id"
)

// FallbackFormat is used when no template was asked for and the model has none
// (llama-server does the same).
const FallbackFormat = "chatml"

// maxTemplateFile bounds a --chat-template FILE; real templates are a few KiB.
const maxTemplateFile = 1 << 20

// Select picks the chat template: override (a built-in name, or the path of a
// file holding a Jinja template) wins, then the model's own template text, then
// ChatML with Fallback set. A template the engine cannot compile is an error,
// not a silent fallback: the prompt would be wrong.
func Select(override, modelTemplate string) (*Template, error) {
	if override != "" {
		if _, ok := builtins[override]; ok {
			return Builtin(override)
		}
		st, err := os.Stat(override)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("--chat-template %q: neither a built-in format (%s) nor a file",
					override, strings.Join(Builtins(), ", "))
			}
			return nil, fmt.Errorf("--chat-template: %w", err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("--chat-template %s: not a regular file", override)
		}
		if st.Size() > maxTemplateFile {
			return nil, fmt.Errorf("--chat-template %s: %d bytes is too large for a chat template", override, st.Size())
		}
		src, err := os.ReadFile(override)
		if err != nil {
			return nil, fmt.Errorf("--chat-template: %w", err)
		}
		t, err := Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("--chat-template %s: %w", override, err)
		}
		return t, nil
	}
	if strings.TrimSpace(modelTemplate) != "" {
		t, err := Parse(modelTemplate)
		if err != nil {
			if d := Detect(modelTemplate); d != "" {
				return nil, fmt.Errorf("the model's %w (it looks like the %s format: try --chat-template %s)", err, d, d)
			}
			return nil, fmt.Errorf("the model's %w (choose a format with --chat-template NAME or FILE)", err)
		}
		return t, nil
	}
	t, err := Builtin(FallbackFormat)
	if err != nil {
		return nil, err
	}
	t.Fallback = true
	return t, nil
}

// FromGGUF picks the chat template for a model (see Select) and fills in the
// vocabulary's BOS and EOS token texts.
func FromGGUF(meta gguf.Metadata, override string) (*Template, error) {
	var src string
	if meta.Has(KeyChatTemplate) {
		s, err := meta.String(KeyChatTemplate)
		if err != nil {
			return nil, fmt.Errorf("chat template: %w", err)
		}
		src = s
	}
	t, err := Select(override, src)
	if err != nil {
		return nil, err
	}
	if t.BOS, err = tokenText(meta, keyBOS); err != nil {
		return nil, err
	}
	if t.EOS, err = tokenText(meta, keyEOS); err != nil {
		return nil, err
	}
	return t, nil
}

// tokenText is the text of the token whose id is stored under key, or "" when
// the file has no such key.
func tokenText(meta gguf.Metadata, key string) (string, error) {
	if !meta.Has(key) {
		return "", nil
	}
	id, err := meta.Uint(key)
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	tokens, err := meta.Strings(keyTokens)
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	if id >= uint64(len(tokens)) {
		return "", fmt.Errorf("chat template: %s = %d is outside the vocabulary (%d tokens)", key, id, len(tokens))
	}
	return tokens[id], nil
}
