package main

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golem-llm/golem/internal/shared"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gunzipTestdata writes testdata/tokenizer/<name>.gz uncompressed into a temp dir.
func gunzipTestdata(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("../../testdata/tokenizer", name+".gz"))
	require.NoError(t, err)
	defer f.Close()
	z, err := gzip.NewReader(f)
	require.NoError(t, err)
	b, err := io.ReadAll(z)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

func TestTokenizeContract(t *testing.T) {
	spm := gunzipTestdata(t, "ggml-vocab-llama-spm.gguf")
	code, out, errOut := golem(t, "tokenize", "-m", spm, "Hello world")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "1 15043 3186\n", out)
	assert.Empty(t, errOut)

	code, out, _ = golem(t, "tokenize", "-m", spm, "--no-bos", "Hello world")
	require.Equal(t, 0, code)
	assert.Equal(t, "15043 3186\n", out)

	// An empty text gives an empty line (with --no-bos) or just BOS.
	code, out, _ = golem(t, "tokenize", "-m", spm, "--no-bos", "")
	require.Equal(t, 0, code)
	assert.Equal(t, "\n", out)
	code, out, _ = golem(t, "tokenize", "-m", spm, "")
	require.Equal(t, 0, code)
	assert.Equal(t, "1\n", out)

	// <s> is text unless --special.
	_, plain, _ := golem(t, "tokenize", "-m", spm, "--no-bos", "<s>")
	_, special, _ := golem(t, "tokenize", "-m", spm, "--no-bos", "--special", "<s>")
	assert.NotEqual(t, "1\n", plain)
	assert.Equal(t, "1\n", special)

	// --file: the bytes verbatim, trailing newline included.
	p := filepath.Join(t.TempDir(), "in.txt")
	require.NoError(t, os.WriteFile(p, []byte("Hello world\n"), 0o644))
	code, out, _ = golem(t, "tokenize", "-m", spm, "--no-bos", "--file", p)
	require.Equal(t, 0, code)
	assert.Equal(t, "15043 3186 13\n", out)

	code, out, _ = golem(t, "tokenize", "-m", spm, "--pieces", "Hi")
	require.Equal(t, 0, code)
	assert.Equal(t, "1\t\"<s>\"\n6324\t\"▁Hi\"\n", out)

	// WordPiece adds [CLS] ... [SEP].
	bert := gunzipTestdata(t, "ggml-vocab-bert-bge.gguf")
	code, out, _ = golem(t, "tokenize", "-m", bert, "hello")
	require.Equal(t, 0, code)
	assert.Equal(t, "101 7592 102\n", out)

	code, out, errOut = golem(t, "detokenize", "-m", spm, "15043", "3186", "13")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "Hello world\n", out)
}

func TestTokenizeErrors(t *testing.T) {
	spm := gunzipTestdata(t, "ggml-vocab-llama-spm.gguf")
	for _, args := range [][]string{
		{"tokenize", "-m", spm},
		{"tokenize", "-m", spm, "--file", "/no/such/file"},
		{"tokenize", "-m", spm, "--file", spm, "text"},
		{"tokenize", "-m", spm, "--vocab", spm, "x"},
		{"tokenize", "-m", spm, "--pre", "gpt-2", "x"},
		{"tokenize", "-m", "/no/such.gguf", "x"},
		{"detokenize", "-m", spm, "99999999"},
		{"detokenize", "-m", spm, "abc"},
	} {
		code, out, errOut := golem(t, args...)
		assert.NotEqual(t, 0, code, "%v", args)
		assert.Empty(t, out, "%v", args)
		assert.True(t, strings.HasPrefix(errOut, "golem: "), "%v: %q", args, errOut)
		assert.Equal(t, 1, strings.Count(errOut, "\n"), "%v: one line: %q", args, errOut)
	}
}

func TestTokenizeVocabFiles(t *testing.T) {
	dir := shared.Dir(t)
	code, out, errOut := golem(t, "tokenize", "--vocab", filepath.Join(dir, "tokenizers/gpt2/encoder.json"), "Hello world")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "15496 995\n", out)
	code, out, errOut = golem(t, "tokenize", "--vocab", filepath.Join(dir, "tokenizers/llama3/vocab.bpe.gz"), "--pre", "llama3", "Hello world")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "9906 1917\n", out)
	code, out, errOut = golem(t, "tokenize", "--vocab", filepath.Join(dir, "tokenizers/qwen3/tokenizer.json.gz"), "--special", "<|im_start|>Hello world")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "151644 9707 1879\n", out)
	code, _, errOut = golem(t, "tokenize", "--vocab", filepath.Join(dir, "tokenizers/gpt2/encoder.json"), "--pre", "bogus", "x")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `"bogus"`)
}
