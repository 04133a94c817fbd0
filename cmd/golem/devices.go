package main

import (
	"fmt"
	"strings"

	"github.com/golem-llm/golem/backend"
	"github.com/spf13/cobra"
)

// accelerator is one device a backend compiled into this binary can use.
type accelerator struct {
	Backend string // "cuda"
	Index   int
	Name    string
	Memory  string // "141.0 GiB total, 0.5 GiB used"
	Driver  string // "driver 570.86.15, CUDA 12.8"
	Detail  string // compute capability, telemetry
}

// acceleratorListers are filled in by the backends that drive devices (backend_cuda.go
// under the cuda build tag). Each returns its devices, or why it found none.
var acceleratorListers []func() ([]accelerator, error)

func newDevicesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "devices",
		Short: "List the accelerators golem can use, with memory and driver",
		Long: "List the accelerators (GPUs) the backends compiled into this binary can use, with their memory\n" +
			"and driver. A CPU-only build or host has none; the command then says which backends are compiled in.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
			var all []accelerator
			var why []string
			for _, list := range acceleratorListers {
				devs, err := list()
				if err != nil {
					why = append(why, err.Error())
				}
				all = append(all, devs...)
			}
			for _, w := range why {
				fmt.Fprintln(errw, "devices:", w)
			}
			compiled := strings.Join(backend.Compiled(), ", ")
			if len(all) == 0 {
				fmt.Fprintf(out, "no accelerators (backends compiled in: %s)\n", compiled)
				return nil
			}
			for _, a := range all {
				fmt.Fprintf(out, "%s:%d  %s  %s  %s", a.Backend, a.Index, a.Name, a.Memory, a.Driver)
				if a.Detail != "" {
					fmt.Fprintf(out, "  %s", a.Detail)
				}
				fmt.Fprintln(out)
			}
			fmt.Fprintf(errw, "backends compiled in: %s\n", compiled)
			return nil
		},
	}
}
