//go:build cuda

// Command cudabench measures the ceilings `golem bench` reports GPU results against:
// device memory bandwidth (device-to-device copy and memset) and kernel-launch
// latency (queued launches, and launch + synchronize), through the CUDA driver API
// with gorgonia.org/cu.
//
// It is its own module, built with -tags cuda, so that gorgonia.org/cu stays out of
// golem itself: that package initialises the driver in its package init and exits the
// process when there is no GPU, and it links against libcuda. Here a GPU is a given.
//
//	cd bench/cudabench && go build -tags cuda -o ../../bin/cudabench . && ../../bin/cudabench -json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"
	"unsafe"

	"gorgonia.org/cu"
)

// An empty kernel in PTX, JIT-compiled by the driver for whatever GPU is present.
const emptyPTX = `.version 7.0
.target sm_52
.address_size 64
.visible .entry golem_empty()
{
	ret;
}
`

type result struct {
	Device          string  `json:"device"`
	CopyGBs         float64 `json:"d2d_copy_GBps"` // bytes read + written per second
	MemsetGBs       float64 `json:"memset_GBps"`
	TheoreticalGBs  float64 `json:"theoretical_GBps"`
	LaunchQueuedUs  float64 `json:"launch_queued_us"` // per launch, many queued then one sync
	LaunchRoundtrip float64 `json:"launch_sync_us"`   // launch + synchronize, per iteration
	BufferMiB       int     `json:"buffer_MiB"`
}

func main() {
	mib := flag.Int("mib", 1024, "buffer size in MiB for the bandwidth tests")
	iters := flag.Int("iters", 20, "repetitions of each bandwidth test")
	launches := flag.Int("launches", 10000, "kernel launches for the latency tests")
	asJSON := flag.Bool("json", false, "print one JSON object instead of text")
	flag.Parse()
	r, err := measure(*mib, *iters, *launches)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cudabench:", err)
		os.Exit(1)
	}
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(r)
		return
	}
	fmt.Printf("device            %s\n", r.Device)
	fmt.Printf("d2d copy          %.0f GB/s (read+write, %d MiB)\n", r.CopyGBs, r.BufferMiB)
	fmt.Printf("memset            %.0f GB/s\n", r.MemsetGBs)
	fmt.Printf("theoretical       %.0f GB/s\n", r.TheoreticalGBs)
	fmt.Printf("launch (queued)   %.2f µs\n", r.LaunchQueuedUs)
	fmt.Printf("launch + sync     %.2f µs\n", r.LaunchRoundtrip)
}

func measure(mib, iters, launches int) (*result, error) {
	n, err := cu.NumDevices()
	if err != nil || n == 0 {
		return nil, fmt.Errorf("no CUDA device (%v)", err)
	}
	dev := cu.Device(0)
	name, _ := dev.Name()
	ctx, err := dev.MakeContext(cu.SchedAuto)
	if err != nil {
		return nil, fmt.Errorf("context: %w", err)
	}
	defer ctx.Destroy()
	r := &result{Device: name, BufferMiB: mib}
	memClock, _ := dev.Attribute(cu.MemoryClockRate)
	busWidth, _ := dev.Attribute(cu.GlobalMemoryBusWidth)
	r.TheoreticalGBs = 2 * float64(memClock) * 1e3 * float64(busWidth) / 8 / 1e9

	bytes := int64(mib) << 20
	a, err := cu.MemAlloc(bytes)
	if err != nil {
		return nil, fmt.Errorf("alloc: %w", err)
	}
	defer cu.MemFree(a)
	b, err := cu.MemAlloc(bytes)
	if err != nil {
		return nil, fmt.Errorf("alloc: %w", err)
	}
	defer cu.MemFree(b)
	if err := cu.MemsetD32(a, 1, bytes/4); err != nil {
		return nil, err
	}
	timeIt := func(f func() error) (time.Duration, error) {
		if err := f(); err != nil { // warm-up
			return 0, err
		}
		if err := cu.Synchronize(); err != nil {
			return 0, err
		}
		start := time.Now()
		for range iters {
			if err := f(); err != nil {
				return 0, err
			}
		}
		if err := cu.Synchronize(); err != nil {
			return 0, err
		}
		return time.Since(start) / time.Duration(iters), nil
	}
	d, err := timeIt(func() error { return cu.MemcpyDtoD(b, a, bytes) })
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	r.CopyGBs = 2 * float64(bytes) / d.Seconds() / 1e9
	d, err = timeIt(func() error { return cu.MemsetD32(b, 7, bytes/4) })
	if err != nil {
		return nil, fmt.Errorf("memset: %w", err)
	}
	r.MemsetGBs = float64(bytes) / d.Seconds() / 1e9

	mod, err := cu.LoadData(emptyPTX)
	if err != nil {
		return nil, fmt.Errorf("load PTX: %w", err)
	}
	fn, err := mod.Function("golem_empty")
	if err != nil {
		return nil, err
	}
	var noArgs []unsafe.Pointer
	launch := func() error { return fn.Launch(1, 1, 1, 32, 1, 1, 0, cu.Stream{}, noArgs) }
	if err := launch(); err != nil {
		return nil, fmt.Errorf("launch: %w", err)
	}
	cu.Synchronize()
	start := time.Now()
	for range launches {
		if err := launch(); err != nil {
			return nil, err
		}
	}
	if err := cu.Synchronize(); err != nil {
		return nil, err
	}
	r.LaunchQueuedUs = float64(time.Since(start).Microseconds()) / float64(launches)
	rt := min(launches, 2000)
	start = time.Now()
	for range rt {
		if err := launch(); err != nil {
			return nil, err
		}
		if err := cu.Synchronize(); err != nil {
			return nil, err
		}
	}
	r.LaunchRoundtrip = float64(time.Since(start).Microseconds()) / float64(rt)
	return r, nil
}
