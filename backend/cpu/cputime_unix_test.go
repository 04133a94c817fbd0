//go:build unix

package cpu

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (every thread, user and system).
// Benchmarks report work per CPU-second beside wall-clock rates because the development
// machines are shared: other work stretches wall time, much less the CPU time we get.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
