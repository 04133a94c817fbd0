package backend

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Options are the settings every backend takes.
type Options struct {
	// Threads is the number of CPU threads for host work; 0 means all cores.
	Threads int
	// Reference selects the plain scalar path of every op (the CPU backend's
	// conformance oracle); slow, for tests.
	Reference bool
}

// Factory opens a backend. It returns ErrUnavailable (wrapped, with the reason) when
// the backend is compiled in but cannot run here (no GPU, no driver, no library).
type Factory func(Options) (Backend, error)

// ErrUnavailable says a compiled-in backend cannot run on this host.
var ErrUnavailable = errors.New("backend unavailable")

type entry struct {
	name     string
	priority int
	open     Factory
}

var (
	mu       sync.Mutex
	registry []entry
)

// Register adds a backend under name. "auto" tries backends from the highest priority
// down: cuda > openblas > cpu.
func Register(name string, priority int, open Factory) {
	mu.Lock()
	defer mu.Unlock()
	registry = append(registry, entry{name, priority, open})
	slices.SortStableFunc(registry, func(a, b entry) int { return b.priority - a.priority })
}

// Compiled lists the backends compiled into this binary, best first.
func Compiled() []string {
	mu.Lock()
	defer mu.Unlock()
	names := make([]string, len(registry))
	for i, e := range registry {
		names[i] = e.name
	}
	return names
}

// Open opens the backend called name, or with "auto" (or "") the best one that is
// compiled in and can run here. The second result says which was chosen and why, for
// the user (commands print it on stderr).
func Open(name string, opts Options) (Backend, string, error) {
	mu.Lock()
	entries := slices.Clone(registry)
	mu.Unlock()
	if name == "" || name == "auto" {
		var skipped []string
		for _, e := range entries {
			b, err := e.open(opts)
			if err == nil {
				why := fmt.Sprintf("backend %s (auto: best of %s", e.name, strings.Join(names(entries), ", "))
				if len(skipped) > 0 {
					why += "; skipped " + strings.Join(skipped, "; ")
				}
				return b, why + ")", nil
			}
			skipped = append(skipped, fmt.Sprintf("%s: %v", e.name, err))
		}
		return nil, "", fmt.Errorf("no backend can run here: %s", strings.Join(skipped, "; "))
	}
	for _, e := range entries {
		if e.name == name {
			b, err := e.open(opts)
			if err != nil {
				return nil, "", fmt.Errorf("backend %s: %w", name, err)
			}
			return b, "backend " + name + " (requested)", nil
		}
	}
	return nil, "", fmt.Errorf("backend %q is not compiled into this binary (compiled in: %s)", name, strings.Join(names(entries), ", "))
}

func names(entries []entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.name
	}
	return out
}
