package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machine describes where the numbers were measured.
type machine struct {
	CPU        string          `json:"cpu"`            // model name from /proc/cpuinfo
	Logical    int             `json:"logical_cpus"`   // what the Go runtime may use
	Physical   int             `json:"physical_cores"` // distinct (physical id, core id) pairs; 0 if unknown
	MemBytes   uint64          `json:"mem_bytes"`
	OS         string          `json:"os"`
	Go         string          `json:"go"`
	Commit     string          `json:"golem_commit"`
	Date       time.Time       `json:"date"`
	LoadBefore string          `json:"load_before,omitempty"` // 1-minute load average from /proc/loadavg
	LoadAfter  string          `json:"load_after,omitempty"`
	Bandwidth  map[int]float64 `json:"bandwidth_gbps,omitempty"` // golem bench's measured read bandwidth by threads
}

func describeMachine(root string) machine {
	m := machine{Logical: runtime.NumCPU(), Go: runtime.Version(), Date: time.Now().UTC(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, Bandwidth: map[int]float64{}}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU, m.Physical = parseCPUInfo(b)
	}
	if m.CPU == "" {
		m.CPU = "unknown CPU"
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemBytes = parseMemTotal(b)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS += ", Linux " + strings.TrimSpace(string(b))
	}
	goenv := exec.Command("go", "env", "GOVERSION")
	goenv.Dir = root
	if out, err := goenv.Output(); err == nil {
		m.Go = strings.TrimSpace(string(out)) // the toolchain that builds golem
	}
	m.Commit = gitCommit(root)
	m.LoadBefore = loadAverage()
	return m
}

// loadAverage is the 1-minute load average, "" where there is none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return parseLoadAvg(b)
}

func parseLoadAvg(b []byte) string {
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return ""
}

// parseCPUInfo returns the first "model name" and the number of physical cores.
func parseCPUInfo(b []byte) (name string, physical int) {
	cores := map[string]bool{}
	var phys string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "model name":
			if name == "" {
				name = v
			}
		case "physical id":
			phys = v
		case "core id":
			cores[phys+"/"+v] = true
		}
	}
	return name, len(cores)
}

// parseMemTotal reads MemTotal from /proc/meminfo, in bytes.
func parseMemTotal(b []byte) uint64 {
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseUint(f[0], 10, 64)
				if err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}

func gitCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output()
	if err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += " (with uncommitted changes)"
	}
	return c
}

func (m machine) String() string {
	cores := fmt.Sprintf("%d logical CPUs", m.Logical)
	if m.Physical > 0 {
		cores = fmt.Sprintf("%d cores / %d logical CPUs", m.Physical, m.Logical)
	}
	parts := []string{m.CPU, cores}
	if m.MemBytes > 0 {
		parts = append(parts, humanBytes(m.MemBytes)+" memory")
	}
	for _, s := range []string{m.OS, m.Go} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
