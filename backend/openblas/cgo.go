//go:build openblas

package openblas

// netlib's cgo binding declares the CBLAS functions but names no library to link, and
// it has no binding for OpenBLAS's own thread control: both are here.

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
*/
import "C"

import "sync"

var (
	threadsMu sync.Mutex
	threadsOn int // what openblas_set_num_threads was last given (0: never called)
)

// useThreads makes OpenBLAS run on n threads. The setting is process-wide, so every
// backend re-applies its own before its GEMMs when another one changed it.
func useThreads(n int) {
	threadsMu.Lock()
	defer threadsMu.Unlock()
	if threadsOn != n {
		C.openblas_set_num_threads(C.int(n))
		threadsOn = n
	}
}

// libThreads is the thread count OpenBLAS reports.
func libThreads() int { return int(C.openblas_get_num_threads()) }

// Config is OpenBLAS's build description (version, target core, threading).
func Config() string { return C.GoString(C.openblas_get_config()) }
