// Package shared locates the project's shared reference data (llama.cpp oracles, real
// tokenizer files, models) for tests. The folder is named by GOLEM_SHARED; .ci/run sets
// it to ../shared. Tests that need it skip, saying why, when it is unset.
package shared

import (
	"os"
	"path/filepath"
	"testing"
)

// Env is the environment variable that names the shared folder.
const Env = "GOLEM_SHARED"

// Dir returns the shared folder, or skips the test when GOLEM_SHARED is unset or the
// folder is missing. A relative GOLEM_SHARED is taken from the module root, so
// `GOLEM_SHARED=../shared go test ./...` works although each package's tests run in
// the package's own folder.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv(Env)
	if dir == "" {
		tb.Skipf("%s is not set: skipping the test of the full shared reference data (set it to ../shared)", Env)
	}
	if !filepath.IsAbs(dir) {
		if root, ok := moduleRoot(); ok {
			dir = filepath.Join(root, dir)
		}
	}
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		tb.Skipf("%s=%s: %v", Env, dir, err)
	}
	return resolved
}

// Path joins elem onto the shared folder, skipping the test when that path is missing.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Dir(tb)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("shared data %s is missing: %v", p, err)
	}
	return p
}

// moduleRoot finds the folder holding go.mod, from the working directory upwards.
func moduleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
