package main

import (
	"fmt"
	"io"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/models/embedded"
	"github.com/spf13/cobra"
)

// openModelFile opens the GGUF file at path, or the embedded stories260K model when
// path is empty (saying so on stderr). The second result names the model for messages.
func openModelFile(path string, stderr io.Writer) (*gguf.File, string, error) {
	if path == "" {
		fmt.Fprintf(stderr, "golem: no model given (-m): using the embedded %s\n", embedded.Stories260KName)
		f, err := gguf.FromBytes(embedded.Stories260K)
		if err != nil {
			return nil, "", fmt.Errorf("embedded model: %w", err)
		}
		return f, embedded.Stories260KName, nil
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, "", err
	}
	return f, path, nil
}

// addModelFlag adds the common -m/--model flag.
func addModelFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "model", "m", "", "GGUF model file (default: the embedded stories260K model)")
}
