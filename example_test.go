package golem_test

import (
	"context"
	"fmt"
	"log"

	"github.com/golem-llm/golem"
)

// Generate streams the continuation of a prompt. The zero GenerateOptions decode
// greedily, so the embedded stories260K model always tells the same story.
func ExampleModel_Generate() {
	ctx := context.Background()
	m, err := golem.Load(ctx, "", golem.LoadOptions{}) // "": the embedded model
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fmt.Print("Once upon a time")
	for piece, err := range m.Generate(ctx, "Once upon a time", golem.GenerateOptions{MaxTokens: 27}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(piece)
	}
	fmt.Println()
	// Output:
	// Once upon a time, there was a little girl named Lily. She loved to play outside in the park.
}

// DefaultGenerateOptions samples as llama.cpp does; a fixed seed makes the draws
// repeatable (on one backend: another one's logits differ in the last bits).
func ExampleDefaultGenerateOptions() {
	ctx := context.Background()
	m, err := golem.Load(ctx, "", golem.LoadOptions{Backend: "cpu"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	opts := golem.DefaultGenerateOptions()
	opts.Seed, opts.MaxTokens = 42, 20
	var st golem.Stats
	opts.Stats = &st
	fmt.Print("Once upon a time")
	for piece, err := range m.Generate(ctx, "Once upon a time", opts) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(piece)
	}
	fmt.Printf("\n%d tokens, stop: %s\n", st.GeneratedTokens, st.Stop)
	// Output:
	// Once upon a time, there was a little bird named Lily. She had a flower in the
	// 20 tokens, stop: length
}

// Chat renders the conversation with the model's chat template. The embedded model
// has none, so ChatML is used (and it was trained on stories, not chats).
func ExampleModel_Chat() {
	ctx := context.Background()
	m, err := golem.Load(ctx, "", golem.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	msgs := []golem.Message{
		{Role: "system", Content: "You tell stories."},
		{Role: "user", Content: "Tell me about Lily."},
	}
	prompt, err := m.ChatPrompt(msgs, golem.ChatOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("template %s (fallback %v):\n%s", m.Info().ChatTemplate, m.Info().ChatTemplateFallback, prompt)
	var answer string
	for piece, err := range m.Chat(ctx, msgs, golem.ChatOptions{GenerateOptions: golem.GenerateOptions{MaxTokens: 12}}) {
		if err != nil {
			log.Fatal(err)
		}
		answer += piece
	}
	fmt.Printf("%q\n", answer)
	// Output:
	// template chatml (fallback true):
	// <|im_start|>system
	// You tell stories.<|im_end|>
	// <|im_start|>user
	// Tell me about Lily.<|im_end|>
	// <|im_start|>assistant
	// "\"Here,\" Annab"
}

func ExampleModel_Tokenize() {
	m, err := golem.Load(context.Background(), "", golem.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	ids := m.Tokenize("Once upon a time", golem.TokenizeOptions{}) // with BOS (1)
	text, err := m.Detokenize(ids[1:])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ids)
	fmt.Printf("%q\n", text)
	// Output:
	// [1 403 407 261 378]
	// "Once upon a time"
}

func ExampleModel_Info() {
	m, err := golem.Load(context.Background(), "", golem.LoadOptions{ContextSize: 256})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	in := m.Info()
	fmt.Println(in.Name, in.Architecture, in.Layers, "layers,", in.VocabSize, "tokens, context", in.ContextSize, "of", in.TrainContext)
	// Output:
	// stories260K (embedded) llama 5 layers, 512 tokens, context 256 of 2048
}
