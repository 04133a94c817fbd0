package cpu

// scratch holds buffers reused across ops so the hot path does not allocate: they grow
// to the largest size asked for and stay.
type scratch struct {
	act     []byte        // quantized activation rows
	actF32  []float32     // float activation scratch
	workers [][][]float32 // per worker, a few float32 buffers
	gather  gathered      // rows routed to one expert
}

// gathered holds the activation rows routed to one expert and where their results go.
type gathered struct {
	xq      []byte
	dstRows []int32
}

func (g *gathered) reset() { g.xq, g.dstRows = g.xq[:0], g.dstRows[:0] }

func (s *scratch) actBytes(n int) []byte {
	if cap(s.act) < n {
		s.act = make([]byte, n)
	}
	return s.act[:n]
}

// worker returns buffer slot of worker w with n floats. Each worker touches only its
// own entry of workers (sized to the thread count up front), so workers never race.
func (s *scratch) worker(w, slot, n int) []float32 {
	bufs := s.workers[w]
	for len(bufs) <= slot {
		bufs = append(bufs, nil)
	}
	if cap(bufs[slot]) < n {
		bufs[slot] = make([]float32, n)
	}
	s.workers[w] = bufs
	return bufs[slot][:n]
}

func (s *scratch) actFloats(n int) []float32 {
	if cap(s.actF32) < n {
		s.actF32 = make([]float32, n)
	}
	return s.actF32[:n]
}
