package gguf

import (
	"fmt"
	"strings"
)

// validateMetadata checks the rules that give keys their meaning, beyond what parsing
// already enforces.
func validateMetadata(m Metadata) error {
	for _, kv := range m.kvs {
		if isCountKey(kv.Key) && !isIntegerOrIntegers(kv.Value) {
			return fmt.Errorf("key %s: has type %s, want an integer", kv.Key, kv.Value.TypeName())
		}
	}
	if v, ok := m.Get("general.architecture"); ok && v.Type != String {
		return fmt.Errorf("key general.architecture: has type %s, want string", v.TypeName())
	}
	return checkTokenizerArrays(m)
}

// isCountKey reports whether a key names a count or a length (llama.block_count,
// llama.context_length, tokenizer.ggml.token_type_count, general.base_model.count).
func isCountKey(key string) bool {
	last := key[strings.LastIndexByte(key, '.')+1:]
	return last == "count" || last == "length" ||
		strings.HasSuffix(last, "_count") || strings.HasSuffix(last, "_length")
}

// isIntegerOrIntegers accepts an integer, or an array of integers (some models give
// per-layer values, such as head counts or feed-forward lengths).
func isIntegerOrIntegers(v Value) bool {
	if v.Type == Array {
		return v.Elem.isInteger()
	}
	return v.Type.isInteger()
}

// checkTokenizerArrays requires the per-token arrays to be arrays of one length.
func checkTokenizerArrays(m Metadata) error {
	keys := []string{"tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"}
	first, n := "", -1
	for _, k := range keys {
		v, ok := m.Get(k)
		if !ok {
			continue
		}
		if v.Type != Array {
			return fmt.Errorf("key %s: has type %s, want an array", k, v.TypeName())
		}
		if n >= 0 && v.Len() != n {
			return fmt.Errorf("key %s: %d entries, but %s has %d", k, v.Len(), first, n)
		}
		first, n = k, v.Len()
	}
	return nil
}
