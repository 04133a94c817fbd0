//go:build cuda

package cuda

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// GPU is what NVML (the driver's management library) reports about one GPU: the
// telemetry `golem devices` shows. It needs no CUDA context and no kernel library.
type GPU struct {
	Index         int
	Name          string
	UUID          string
	MemTotal      uint64 // bytes
	MemUsed       uint64
	TempC         int     // -1 when unknown
	PowerW        float64 // -1 when unknown
	UtilPercent   int     // -1 when unknown
	Driver        string  // driver version, "570.86.15"
	CUDADriverVer int     // the CUDA version the driver supports, 12080 = 12.8
}

// NVMLDevices lists the GPUs through NVML (github.com/NVIDIA/go-nvml, which dlopens
// libnvidia-ml.so.1). Without the library or a driver it returns an error saying so.
func NVMLDevices() ([]GPU, error) {
	if ret := nvml.Init(); ret != nvml.SUCCESS {
		return nil, fmt.Errorf("NVML (libnvidia-ml.so.1, from the NVIDIA driver) unavailable: %s", nvml.ErrorString(ret))
	}
	defer nvml.Shutdown()
	driver, _ := nvml.SystemGetDriverVersion()
	cudaVer, _ := nvml.SystemGetCudaDriverVersion()
	n, ret := nvml.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("NVML device count: %s", nvml.ErrorString(ret))
	}
	var out []GPU
	for i := range n {
		d, ret := nvml.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return out, fmt.Errorf("NVML device %d: %s", i, nvml.ErrorString(ret))
		}
		g := GPU{Index: i, Driver: driver, CUDADriverVer: cudaVer, TempC: -1, PowerW: -1, UtilPercent: -1}
		g.Name, _ = d.GetName()
		g.UUID, _ = d.GetUUID()
		if m, ret := d.GetMemoryInfo(); ret == nvml.SUCCESS {
			g.MemTotal, g.MemUsed = m.Total, m.Used
		}
		if t, ret := d.GetTemperature(nvml.TEMPERATURE_GPU); ret == nvml.SUCCESS {
			g.TempC = int(t)
		}
		if p, ret := d.GetPowerUsage(); ret == nvml.SUCCESS {
			g.PowerW = float64(p) / 1000
		}
		if u, ret := d.GetUtilizationRates(); ret == nvml.SUCCESS {
			g.UtilPercent = int(u.Gpu)
		}
		out = append(out, g)
	}
	return out, nil
}
