package gguf

import (
	"fmt"
	"runtime/debug"
)

// Guard runs fn and turns a memory fault inside it into an error. Reading a mapping
// whose file was truncated or replaced after it was opened raises SIGBUS; under Guard
// that becomes "reading mapped tensor data faulted ..." instead of killing the process.
// Only faults on the calling goroutine are caught, so fn must not start goroutines
// that touch the mapping.
func Guard(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			if fe, ok := r.(interface{ Addr() uintptr }); ok {
				err = fmt.Errorf("reading mapped tensor data faulted at address %#x (was the file truncated or changed while open?)", fe.Addr())
				return
			}
			panic(r)
		}
	}()
	return fn()
}
