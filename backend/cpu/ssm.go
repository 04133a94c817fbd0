package cpu

import (
	"fmt"
	"math"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

// Mamba's two state-space ops and sequence pooling. Each channel's recurrence is
// independent of the others, so the work is split over channels; within a channel
// the tokens run in order, which is what makes a batch equal to one token at a time.

// f32Operand checks that t is this backend's F32 tensor of the given element count.
func (b *Backend) f32Operand(t backend.Tensor, what string, elems int) (*tensor, error) {
	ct, err := b.own(t, what)
	if err != nil {
		return nil, err
	}
	if ct.dt != gguf.TypeF32 || ct.shape.Elements() != elems {
		return nil, fmt.Errorf("%s %s: want F32 of %d values", what, ct, elems)
	}
	return ct, nil
}

// stateSlots checks a state tensor [rows, channels, width] and the per-token rows.
func stateSlots(op string, st *tensor, channels, width int, slots []int32, n int) error {
	if len(st.shape) != 3 || st.shape[1] != channels || st.shape[2] != width {
		return fmt.Errorf("%s: state %s, want [rows %d %d]", op, st, channels, width)
	}
	if len(slots) != n {
		return fmt.Errorf("%s: %d state rows given for %d tokens", op, len(slots), n)
	}
	for i, s := range slots {
		if s < 0 || int(s) >= st.shape[0] {
			return fmt.Errorf("%s: token %d uses state row %d outside the %d rows", op, i, s, st.shape[0])
		}
	}
	return nil
}

// ssmConvJob convolves channels [lo, hi).
type ssmConvJob struct {
	dst, x, w, state []float32
	slots            []int32
	ch, k            int
}

func (j *ssmConvJob) run(_, lo, hi int) {
	k1 := j.k - 1
	for c := lo; c < hi; c++ {
		w := j.w[c*j.k : (c+1)*j.k]
		for i, slot := range j.slots {
			off := (int(slot)*j.ch + c) * k1
			st := j.state[off : off+k1]
			xi := j.x[i*j.ch+c]
			var sum float32
			for t, v := range st {
				sum += float32(v * w[t])
			}
			sum += float32(xi * w[k1])
			// The window moves one step: drop the oldest input, keep this one.
			copy(st, st[1:])
			st[k1-1] = xi
			j.dst[i*j.ch+c] = sum
		}
	}
}

// SSMConv is the causal depthwise convolution with carried state.
func (b *Backend) SSMConv(dst, x, w, state backend.Tensor, slots []int32) error {
	xt, err := b.own(x, "ssm_conv x")
	if err != nil {
		return err
	}
	if xt.dt != gguf.TypeF32 || len(xt.shape) < 1 {
		return fmt.Errorf("ssm_conv: x %s must be F32", xt)
	}
	n, ch := xt.rows(), xt.rowLen()
	d, err := b.f32Operand(dst, "ssm_conv dst", n*ch)
	if err != nil {
		return err
	}
	wt, err := b.own(w, "ssm_conv weight")
	if err != nil {
		return err
	}
	if wt.dt != gguf.TypeF32 || wt.rows() != ch || wt.rowLen() < 2 {
		return fmt.Errorf("ssm_conv: weight %s, want F32 [%d kernel≥2]", wt, ch)
	}
	k := wt.rowLen()
	st, err := b.own(state, "ssm_conv state")
	if err != nil {
		return err
	}
	if st.dt != gguf.TypeF32 {
		return fmt.Errorf("ssm_conv: state %s must be F32", st)
	}
	if err := stateSlots("ssm_conv", st, ch, k-1, slots, n); err != nil {
		return err
	}
	j := &ssmConvJob{dst: d.f32, x: xt.f32, w: wt.f32, state: st.f32, slots: slots, ch: ch, k: k}
	return b.run(ch, max(1, 16384/max(1, n*k)), j)
}

// ssmScanJob scans channels [lo, hi).
type ssmScanJob struct {
	dst, x, dt, a, bm, cm, state []float32
	slots                        []int32
	inner, ds                    int
}

// softplus is Mamba's: log1p(exp(x)) in float32, x itself above 20 (NUMERICS.md).
func softplus(x float32) float32 {
	if x > 20 {
		return x
	}
	return float32(math.Log1p(float64(expf(x))))
}

func (j *ssmScanJob) run(_, lo, hi int) {
	ds := j.ds
	for c := lo; c < hi; c++ {
		a := j.a[c*ds : (c+1)*ds]
		for i, slot := range j.slots {
			off := (int(slot)*j.inner + c) * ds
			s := j.state[off : off+ds]
			bv := j.bm[i*ds : (i+1)*ds]
			cv := j.cm[i*ds : (i+1)*ds]
			delta := softplus(j.dt[i*j.inner+c])
			xdt := j.x[i*j.inner+c] * delta
			var sum float32
			for t := range s {
				// float32(...) keeps each product rounded on its own, so results do
				// not depend on whether the compiler fuses multiply and add.
				v := float32(s[t]*expf(delta*a[t])) + float32(bv[t]*xdt)
				sum += float32(v * cv[t])
				s[t] = v
			}
			j.dst[i*j.inner+c] = sum
		}
	}
}

// SSMScan is the selective scan with carried state.
func (b *Backend) SSMScan(dst, x, dt, a, bm, cm, state backend.Tensor, slots []int32) error {
	xt, err := b.own(x, "ssm_scan x")
	if err != nil {
		return err
	}
	if xt.dt != gguf.TypeF32 {
		return fmt.Errorf("ssm_scan: x %s must be F32", xt)
	}
	n, inner := xt.rows(), xt.rowLen()
	at, err := b.own(a, "ssm_scan A")
	if err != nil {
		return err
	}
	if at.dt != gguf.TypeF32 || at.rows() != inner {
		return fmt.Errorf("ssm_scan: A %s, want F32 [%d d_state]", at, inner)
	}
	ds := at.rowLen()
	d, err := b.f32Operand(dst, "ssm_scan dst", n*inner)
	if err != nil {
		return err
	}
	dtt, err := b.f32Operand(dt, "ssm_scan dt", n*inner)
	if err != nil {
		return err
	}
	bt, err := b.f32Operand(bm, "ssm_scan B", n*ds)
	if err != nil {
		return err
	}
	ct, err := b.f32Operand(cm, "ssm_scan C", n*ds)
	if err != nil {
		return err
	}
	st, err := b.own(state, "ssm_scan state")
	if err != nil {
		return err
	}
	if st.dt != gguf.TypeF32 {
		return fmt.Errorf("ssm_scan: state %s must be F32", st)
	}
	if err := stateSlots("ssm_scan", st, inner, ds, slots, n); err != nil {
		return err
	}
	j := &ssmScanJob{dst: d.f32, x: xt.f32, dt: dtt.f32, a: at.f32, bm: bt.f32, cm: ct.f32, state: st.f32,
		slots: slots, inner: inner, ds: ds}
	return b.run(inner, max(1, 1024/max(1, n*ds)), j)
}

// seqMeanJob averages columns [lo, hi).
type seqMeanJob struct {
	dst, x []float32
	seqs   []int32
	inv    []float32
	d      int
}

func (j *seqMeanJob) run(_, lo, hi int) {
	nSeq := len(j.inv)
	for s := range nSeq {
		clear(j.dst[s*j.d+lo : s*j.d+hi])
	}
	sums := make([]float64, (hi-lo)*nSeq)
	for i, s := range j.seqs {
		row := j.x[i*j.d : (i+1)*j.d]
		acc := sums[int(s)*(hi-lo) : (int(s)+1)*(hi-lo)]
		for c := lo; c < hi; c++ {
			// Σ x·(1/n), as ggml's mean pooling multiplies by a matrix of 1/n.
			acc[c-lo] += float64(row[c] * j.inv[s])
		}
	}
	for s := range nSeq {
		for c := lo; c < hi; c++ {
			j.dst[s*j.d+c] = float32(sums[s*(hi-lo)+c-lo])
		}
	}
}

// SeqMean averages x's rows per sequence.
func (b *Backend) SeqMean(dst, x backend.Tensor, seqs []int32) error {
	xt, err := b.own(x, "seq_mean x")
	if err != nil {
		return err
	}
	dt, err := b.own(dst, "seq_mean dst")
	if err != nil {
		return err
	}
	if xt.dt != gguf.TypeF32 || dt.dt != gguf.TypeF32 || xt.rowLen() != dt.rowLen() {
		return fmt.Errorf("seq_mean: x %s and dst %s must be F32 rows of the same length", xt, dt)
	}
	if len(seqs) != xt.rows() {
		return fmt.Errorf("seq_mean: %d sequence ids for %d rows", len(seqs), xt.rows())
	}
	nSeq := dt.rows()
	count := make([]int, nSeq)
	for i, s := range seqs {
		if s < 0 || int(s) >= nSeq {
			return fmt.Errorf("seq_mean: row %d has sequence %d outside the %d rows of dst", i, s, nSeq)
		}
		count[s]++
	}
	inv := make([]float32, nSeq)
	for s, c := range count {
		if c > 0 {
			inv[s] = 1 / float32(c)
		}
	}
	d := xt.rowLen()
	j := &seqMeanJob{dst: dt.f32, x: xt.f32, seqs: seqs, inv: inv, d: d}
	return b.run(d, max(1, 65536/max(1, len(seqs))), j)
}
