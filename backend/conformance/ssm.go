package conformance

import (
	"math"

	"github.com/golem-llm/golem/backend"
)

// ssmCases are Mamba's ops (Tokens tokens, Cols channels, K the kernel width or
// d_state, Cells state rows) and sequence pooling (Rows rows, Cols values, Cells
// sequences). "multiseq" interleaves the tokens of several sequences.
func ssmCases() []Case {
	var cs []Case
	for _, s := range []Shape{
		{Tokens: 16, Cols: 512, K: 4, Cells: 1}, // the oracle mamba model's layer
		{Tokens: 1, Cols: 64, K: 4, Cells: 1},   // decoding one token
		{Tokens: 7, Cols: 37, K: 3, Cells: 3},
	} {
		for _, v := range []string{"", "multiseq"} {
			if v == "multiseq" {
				s.Cells = 3
			}
			cs = append(cs, Case{Op: "SSM_CONV", Shape: s, Variant: v, MaxNMSE: nmseElementwise})
			scan := s
			scan.K = 16
			if s.Cols == 37 {
				scan.K = 5
			}
			cs = append(cs, Case{Op: "SSM_SCAN", Shape: scan, Variant: v, MaxNMSE: nmseElementwise})
		}
	}
	cs = append(cs,
		Case{Op: "SEQ_MEAN", Shape: Shape{Rows: 16, Cols: 256, Cells: 1}, MaxNMSE: nmseElementwise},
		Case{Op: "SEQ_MEAN", Shape: Shape{Rows: 13, Cols: 37, Cells: 3}, Variant: "multiseq", MaxNMSE: nmseElementwise})
	return cs
}

// slotsOf gives each token a state row: all 0, or drawn among Cells rows.
func slotsOf(in *inputs, c Case, n int) []int32 {
	slots := make([]int32, n)
	if c.Variant == "multiseq" {
		for i := range slots {
			slots[i] = int32(in.rng.IntN(c.Shape.Cells))
		}
	}
	return slots
}

// ssmCase returns the op's output followed by the updated state.
func ssmCase(in *inputs, c Case) ([]float32, string, error) {
	b, s := in.b, c.Shape
	switch c.Op {
	case "SSM_CONV":
		x, _, err := in.activation("x", 1, s.Tokens, s.Cols)
		if err != nil {
			return nil, "", err
		}
		w, _, err := in.activation("w", 0.5, s.Cols, s.K)
		if err != nil {
			return nil, "", err
		}
		st, _, err := in.activation("state", 1, s.Cells, s.Cols, s.K-1)
		if err != nil {
			return nil, "", err
		}
		dst, err := in.alloc("dst", s.Tokens, s.Cols)
		if err != nil {
			return nil, "", err
		}
		if err := b.SSMConv(dst, x, w, st, slotsOf(in, c, s.Tokens)); err != nil {
			return nil, "", err
		}
		return readAll(b, dst, st)

	case "SSM_SCAN":
		x, _, err := in.activation("x", 1, s.Tokens, s.Cols)
		if err != nil {
			return nil, "", err
		}
		dt, _, err := in.activation("dt", 2, s.Tokens, s.Cols)
		if err != nil {
			return nil, "", err
		}
		a, err := in.alloc("A", s.Cols, s.K)
		if err != nil {
			return nil, "", err
		}
		av := in.floats(s.Cols*s.K, 1)
		for i := range av {
			av[i] = -float32(math.Exp(float64(av[i]))) // A = -exp(A_log), as stored
		}
		if err := b.Write(a, av); err != nil {
			return nil, "", err
		}
		bm, _, err := in.activation("B", 1, s.Tokens, s.K)
		if err != nil {
			return nil, "", err
		}
		cm, _, err := in.activation("C", 1, s.Tokens, s.K)
		if err != nil {
			return nil, "", err
		}
		st, _, err := in.activation("state", 1, s.Cells, s.Cols, s.K)
		if err != nil {
			return nil, "", err
		}
		dst, err := in.alloc("dst", s.Tokens, s.Cols)
		if err != nil {
			return nil, "", err
		}
		if err := b.SSMScan(dst, x, dt, a, bm, cm, st, slotsOf(in, c, s.Tokens)); err != nil {
			return nil, "", err
		}
		return readAll(b, dst, st)

	default: // SEQ_MEAN
		x, _, err := in.activation("x", 1, s.Rows, s.Cols)
		if err != nil {
			return nil, "", err
		}
		dst, err := in.alloc("dst", s.Cells, s.Cols)
		if err != nil {
			return nil, "", err
		}
		if err := b.SeqMean(dst, x, slotsOf(in, c, s.Rows)); err != nil {
			return nil, "", err
		}
		return readAll(b, dst)
	}
}

// readAll reads tensors one after another into one slice.
func readAll(b backend.Backend, ts ...backend.Tensor) ([]float32, string, error) {
	var out []float32
	for _, t := range ts {
		v, err := read(b, t)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v...)
	}
	return out, "", nil
}
