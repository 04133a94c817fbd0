package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/golem-llm/golem/backend"
	_ "github.com/golem-llm/golem/backend/cpu"
	"github.com/stretchr/testify/require"
)

const seed = 20261129

// TestBackendsMatchReference runs every case on every backend compiled in and
// available here, against the CPU backend's reference path.
func TestBackendsMatchReference(t *testing.T) {
	ref, _, err := backend.Open("cpu", backend.Options{Reference: true})
	require.NoError(t, err)
	defer ref.Close()
	table := map[string]map[string]string{} // op → backend → status
	var names []string
	for _, name := range backend.Compiled() {
		b, why, err := backend.Open(name, backend.Options{})
		if err != nil {
			t.Logf("backend %s: skipped: %v", name, err)
			continue
		}
		t.Log(why)
		names = append(names, name)
		for _, c := range Cases() {
			t.Run(name+"/"+c.Name(), func(t *testing.T) {
				r := Compare(ref, b, c, seed)
				status := table[c.Op]
				if status == nil {
					status = map[string]string{}
					table[c.Op] = status
				}
				switch {
				case r.Skipped != "":
					if status[name] == "" {
						status[name] = "skip"
					}
					t.Skip(r.Skipped)
				case r.Err != nil:
					status[name] = "FAIL"
					t.Fatalf("seed %d: %v", seed, r.Err)
				case r.NMSE > c.MaxNMSE:
					status[name] = "FAIL"
					t.Fatalf("seed %d: NMSE %.3g > %.3g", seed, r.NMSE, c.MaxNMSE)
				default:
					if status[name] != "FAIL" {
						status[name] = "pass"
					}
				}
			})
		}
		b.Close()
	}
	if os.Getenv("GOLEM_WRITE_OPS_DOC") != "" {
		writeOpsDoc(t, table, names)
	}
}

// writeOpsDoc writes docs/ops.md: which ops each backend passes.
func writeOpsDoc(t *testing.T, table map[string]map[string]string, names []string) {
	var ops []string
	for op := range table {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var sb strings.Builder
	sb.WriteString("# Ops × backends\n\nWritten by `GOLEM_WRITE_OPS_DOC=1 go test -tags openblas ./backend/conformance/` (add the tags of the backends to list): each op's cases (backend/conformance/cases.go)\nrun on each backend against the CPU reference path. pass = every case within its NMSE bound.\n\n")
	sb.WriteString("| op | " + strings.Join(names, " | ") + " |\n|---|" + strings.Repeat("---|", len(names)) + "\n")
	for _, op := range ops {
		row := []string{op}
		for _, n := range names {
			row = append(row, table[op][n])
		}
		sb.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	require.NoError(t, os.WriteFile(filepath.Join("..", "..", "docs", "ops.md"), []byte(sb.String()), 0o644))
	fmt.Println("wrote docs/ops.md")
}
