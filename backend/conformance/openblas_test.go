//go:build openblas

package conformance

import _ "github.com/golem-llm/golem/backend/openblas" // runs the table on the OpenBLAS backend too
