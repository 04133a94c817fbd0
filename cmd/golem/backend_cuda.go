//go:build cuda

package main

import (
	"fmt"

	"github.com/golem-llm/golem/backend/cuda" // registers the CUDA backend
)

func init() { acceleratorListers = append(acceleratorListers, cudaAccelerators) }

// cudaAccelerators lists the GPUs through NVML (memory, driver, telemetry), adding what
// the kernel library's CUDA runtime says about each (compute capability, bandwidth)
// when it loads. Without NVML it falls back to the library alone.
func cudaAccelerators() ([]accelerator, error) {
	gpus, nvmlErr := cuda.NVMLDevices()
	devs, libErr := cuda.Devices()
	var out []accelerator
	for _, g := range gpus {
		a := accelerator{Backend: "cuda", Index: g.Index, Name: g.Name,
			Memory: fmt.Sprintf("%.1f GiB total, %.1f GiB used", gib(g.MemTotal), gib(g.MemUsed)),
			Driver: fmt.Sprintf("driver %s, CUDA %d.%d", g.Driver, g.CUDADriverVer/1000, g.CUDADriverVer%1000/10)}
		if g.Index < len(devs) {
			d := devs[g.Index]
			a.Detail = fmt.Sprintf("sm_%d%d, %d SMs, ~%.0f GB/s", d.Major, d.Minor, d.Multiprocessors, d.BandwidthGBs())
		}
		if g.TempC >= 0 {
			a.Detail += fmt.Sprintf(", %d°C", g.TempC)
		}
		if g.PowerW >= 0 {
			a.Detail += fmt.Sprintf(", %.0f W", g.PowerW)
		}
		out = append(out, a)
	}
	if len(gpus) == 0 {
		for _, d := range devs {
			out = append(out, accelerator{Backend: "cuda", Index: d.Index, Name: d.Name,
				Memory: fmt.Sprintf("%.1f GiB total, %.1f GiB free", gib(d.TotalMemory), gib(d.FreeMemory)),
				Driver: fmt.Sprintf("CUDA driver %d.%d, runtime %d.%d", d.DriverVersion/1000, d.DriverVersion%1000/10, d.RuntimeVersion/1000, d.RuntimeVersion%1000/10),
				Detail: fmt.Sprintf("sm_%d%d, %d SMs, ~%.0f GB/s", d.Major, d.Minor, d.Multiprocessors, d.BandwidthGBs())})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("cuda: no GPU found: %v; %v", nvmlErr, libErr)
	}
	return out, nil
}

func gib(b uint64) float64 { return float64(b) / (1 << 30) }
