//go:build openblas

package main

import _ "github.com/golem-llm/golem/backend/openblas" // OpenBLAS GEMMs for prompt processing
