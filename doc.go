// Package golem runs GGUF language models from Go: load a model file (or the small
// stories260K model built in), then generate text, chat with the model's chat
// template, embed texts, or tokenize — without the command line.
//
//	m, err := golem.Load(ctx, "model.gguf", golem.LoadOptions{})
//	if err != nil { ... }
//	defer m.Close()
//	for piece, err := range m.Generate(ctx, "Once upon a time", golem.GenerateOptions{MaxTokens: 50}) {
//		if err != nil { ... }
//		fmt.Print(piece)
//	}
//
// Options are plain structs whose zero values are sensible: LoadOptions{} picks the
// best backend compiled in, all CPU cores and the model's own context length;
// GenerateOptions{} is greedy decoding (deterministic) until the end of the text, and
// DefaultGenerateOptions gives llama.cpp's sampling defaults.
//
// Generate and Chat return an iter.Seq2 of text pieces as they are produced; a failure
// is the last pair. Breaking out of the loop, or cancelling the context, stops the
// generation within one token. A Model is safe for concurrent use: concurrent
// generations are decoded together in one batch (LoadOptions.Parallel at a time), and
// finished ones leave their KV-cache cells as a prompt cache, so a chat's next turn
// only evaluates the new messages.
//
// The engine underneath (inference, models, backend, gguf) is reached by the golem
// command's tools; this package is the stable surface.
package golem
