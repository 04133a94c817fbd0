//go:build !cuda

// Command cudabench needs the cuda build tag (see main.go); without it, it says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "cudabench: built without -tags cuda; build with: go build -tags cuda")
	os.Exit(2)
}
