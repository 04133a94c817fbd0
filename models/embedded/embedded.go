// Package embedded carries the default model, stories260K, inside the golem binary.
//
// stories260K is a 260K-parameter LLaMA trained on TinyStories with llama2.c
// (karpathy/tinyllamas, MIT license), converted to GGUF by llama.cpp's tools.
package embedded

import _ "embed"

// Stories260K is the GGUF file of the stories260K model (1.2 MB, F32, 512-token
// SentencePiece vocab).
//
//go:embed stories260K.gguf
var Stories260K []byte

// Stories260KName is how the embedded model is named in messages.
const Stories260KName = "stories260K (embedded)"
