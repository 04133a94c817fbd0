//go:build !unix

package gguf

import (
	"errors"
	"os"
)

// mmapFile is unavailable here; Open falls back to reading tensor data on demand.
func mmapFile(*os.File, int64) ([]byte, func() error, error) {
	return nil, nil, errors.New("mmap is not supported on this platform")
}
