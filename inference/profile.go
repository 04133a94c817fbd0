package inference

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
)

// Phase is what a forward pass is for.
type Phase int

const (
	PhasePrompt Phase = iota // prompt processing (prefill)
	PhaseDecode              // one new token per sequence
	nPhases
)

func (p Phase) String() string {
	if p == PhasePrompt {
		return "prompt"
	}
	return "decode"
}

// opKind indexes the timed ops.
type opKind int

const (
	opMatMul opKind = iota
	opMatMulID
	opWeightedSum
	opGetRows
	opRMSNorm
	opLayerNorm
	opRoPE
	opRoPEShift
	opAttention
	opSiLU
	opGELU
	opSwiGLU
	opGeGLU
	opAdd
	opMul
	opScale
	opSoftmax
	opTopK
	opRead
	nOps
)

var opNames = [nOps]string{"MatMul", "MatMulID", "WeightedSum", "GetRows", "RMSNorm", "LayerNorm", "RoPE",
	"RoPEShift", "Attention", "SiLU", "GELU", "SwiGLU", "GeGLU", "Add", "Mul", "Scale", "Softmax", "TopK", "Read"}

type opStat struct {
	calls int
	time  time.Duration
}

type phaseStat struct {
	ops      [nOps]opStat
	layers   []time.Duration // [0] outside the layers (embeddings, output head), [l+1] layer l
	tokens   int
	forwards int
	wall     time.Duration
}

// Profiler is a Backend that times every op call it passes on, by op kind, by layer
// and by phase, and counts the memory it allocates. A model built on it is profiled;
// sessions and batches given it say which phase each forward pass is. Times are as
// the host sees them: exact for the CPU backend, enqueue times on a device that queues
// work (until a Read waits for it). Ops it does not know (added after it) are passed
// on untimed; their time shows in the phase's wall time only. Not safe for concurrent
// use (nor is a backend).
type Profiler struct {
	backend.Backend
	phase   Phase
	layer   int // the layer of the ops being run (-1: outside the layers)
	start   time.Time
	stats   [nPhases]phaseStat
	weights uint64
	cache   uint64
	scratch uint64
}

// NewProfiler wraps b.
func NewProfiler(b backend.Backend) *Profiler { return &Profiler{Backend: b, layer: -1} }

// begin starts a forward pass of n tokens in phase ph (nil-safe: a session without a
// profiler calls it too).
func (p *Profiler) begin(ph Phase, n int) {
	if p == nil {
		return
	}
	p.phase, p.layer = ph, -1
	p.stats[ph].tokens += n
	p.stats[ph].forwards++
	p.start = time.Now()
}

func (p *Profiler) end() {
	if p == nil {
		return
	}
	p.stats[p.phase].wall += time.Since(p.start)
}

// layerOf reads the layer from a weight's name ("blk.12.attn_q.weight" → 12); a weight
// without one (token_embd, output) is outside the layers (-1). ok is false for no
// tensor or a name that is not a weight's.
func layerOf(t backend.Tensor) (layer int, ok bool) {
	if t == nil {
		return 0, false
	}
	name := t.Name()
	rest, found := strings.CutPrefix(name, "blk.")
	if !found {
		return -1, strings.HasSuffix(name, ".weight")
	}
	n := 0
	i := 0
	for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
		n = n*10 + int(rest[i]-'0')
	}
	if i == 0 {
		return 0, false
	}
	return n, true
}

// at notes the layer a weight belongs to.
func (p *Profiler) at(w backend.Tensor) {
	if l, ok := layerOf(w); ok {
		p.layer = l
	}
}

// timed records an op call that started at t0.
func (p *Profiler) timed(k opKind, t0 time.Time, err error) error {
	d := time.Since(t0)
	st := &p.stats[p.phase]
	st.ops[k].calls++
	st.ops[k].time += d
	i := p.layer + 1
	for len(st.layers) <= i {
		st.layers = append(st.layers, 0)
	}
	st.layers[i] += d
	return err
}

func (p *Profiler) Upload(info *gguf.TensorInfo, data []byte) (backend.Tensor, error) {
	p.weights += uint64(len(data))
	return p.Backend.Upload(info, data)
}

func (p *Profiler) Alloc(name string, dt backend.DType, shape ...int) (backend.Tensor, error) {
	t, err := p.Backend.Alloc(name, dt, shape...)
	if err == nil {
		p.scratch += uint64(backend.Shape(shape).Elements()) * uint64(dt.BlockBytes()) / uint64(dt.BlockSize())
	}
	return t, err
}

func (p *Profiler) NewKVCache(layers, cells, kDim, vDim int, dt backend.DType) (*backend.KVCache, error) {
	kv, err := p.Backend.NewKVCache(layers, cells, kDim, vDim, dt)
	if err == nil {
		p.cache += uint64(layers) * uint64(cells) * uint64(kDim+vDim) * uint64(dt.BlockBytes()) / uint64(dt.BlockSize())
	}
	return kv, err
}

func (p *Profiler) Read(t backend.Tensor, dst []float32) error {
	t0 := time.Now()
	return p.timed(opRead, t0, p.Backend.Read(t, dst))
}

func (p *Profiler) MatMul(dst, x, w backend.Tensor) error {
	p.at(w)
	t0 := time.Now()
	return p.timed(opMatMul, t0, p.Backend.MatMul(dst, x, w))
}

func (p *Profiler) MatMulID(dst, x, w, ids backend.Tensor) error {
	p.at(w)
	t0 := time.Now()
	return p.timed(opMatMulID, t0, p.Backend.MatMulID(dst, x, w, ids))
}

func (p *Profiler) WeightedSum(dst, x, w backend.Tensor) error {
	t0 := time.Now()
	return p.timed(opWeightedSum, t0, p.Backend.WeightedSum(dst, x, w))
}

func (p *Profiler) GetRows(dst, table backend.Tensor, ids []int32) error {
	p.at(table)
	t0 := time.Now()
	return p.timed(opGetRows, t0, p.Backend.GetRows(dst, table, ids))
}

func (p *Profiler) RMSNorm(dst, x, w backend.Tensor, eps float32) error {
	p.at(w)
	t0 := time.Now()
	return p.timed(opRMSNorm, t0, p.Backend.RMSNorm(dst, x, w, eps))
}

func (p *Profiler) LayerNorm(dst, x, w, b backend.Tensor, eps float32) error {
	p.at(w)
	t0 := time.Now()
	return p.timed(opLayerNorm, t0, p.Backend.LayerNorm(dst, x, w, b, eps))
}

func (p *Profiler) RoPE(x backend.Tensor, pos []int32, rp backend.RoPEParams) error {
	t0 := time.Now()
	return p.timed(opRoPE, t0, p.Backend.RoPE(x, pos, rp))
}

func (p *Profiler) RoPEShift(x backend.Tensor, rows, delta []int32, rp backend.RoPEParams) error {
	t0 := time.Now()
	return p.timed(opRoPEShift, t0, p.Backend.RoPEShift(x, rows, delta, rp))
}

func (p *Profiler) Attention(dst, q, k, v backend.Tensor, kv *backend.KVCache, layer int, batch *backend.Batch, ap backend.AttnParams) error {
	p.layer = layer
	t0 := time.Now()
	return p.timed(opAttention, t0, p.Backend.Attention(dst, q, k, v, kv, layer, batch, ap))
}

func (p *Profiler) SiLU(dst, x backend.Tensor) error {
	t0 := time.Now()
	return p.timed(opSiLU, t0, p.Backend.SiLU(dst, x))
}

func (p *Profiler) GELU(dst, x backend.Tensor) error {
	t0 := time.Now()
	return p.timed(opGELU, t0, p.Backend.GELU(dst, x))
}

func (p *Profiler) SwiGLU(dst, gate, up backend.Tensor) error {
	t0 := time.Now()
	return p.timed(opSwiGLU, t0, p.Backend.SwiGLU(dst, gate, up))
}

func (p *Profiler) GeGLU(dst, gate, up backend.Tensor) error {
	t0 := time.Now()
	return p.timed(opGeGLU, t0, p.Backend.GeGLU(dst, gate, up))
}

func (p *Profiler) Add(dst, a, b backend.Tensor) error {
	if l, ok := layerOf(b); ok && l >= 0 {
		p.layer = l // a layer's bias
	}
	t0 := time.Now()
	return p.timed(opAdd, t0, p.Backend.Add(dst, a, b))
}

func (p *Profiler) Mul(dst, a, b backend.Tensor) error {
	t0 := time.Now()
	return p.timed(opMul, t0, p.Backend.Mul(dst, a, b))
}

func (p *Profiler) Scale(dst, x backend.Tensor, s float32) error {
	t0 := time.Now()
	return p.timed(opScale, t0, p.Backend.Scale(dst, x, s))
}

func (p *Profiler) Softmax(dst, x backend.Tensor) error {
	t0 := time.Now()
	return p.timed(opSoftmax, t0, p.Backend.Softmax(dst, x))
}

func (p *Profiler) TopK(weights, ids, probs backend.Tensor, k int, renorm bool) error {
	t0 := time.Now()
	return p.timed(opTopK, t0, p.Backend.TopK(weights, ids, probs, k, renorm))
}

// OpTime is the time and number of calls of one op kind in one phase.
func (p *Profiler) OpTime(ph Phase, op string) (calls int, d time.Duration) {
	for k, n := range opNames {
		if n == op {
			s := p.stats[ph].ops[k]
			return s.calls, s.time
		}
	}
	return 0, 0
}

// Tokens is the number of tokens and forward passes run in phase ph.
func (p *Profiler) Tokens(ph Phase) (tokens, forwards int) {
	return p.stats[ph].tokens, p.stats[ph].forwards
}

// LayerTime is the op time attributed to layer l (-1: outside the layers) in ph.
func (p *Profiler) LayerTime(ph Phase, l int) time.Duration {
	if ls := p.stats[ph].layers; l+1 >= 0 && l+1 < len(ls) {
		return ls[l+1]
	}
	return 0
}

// Report writes the profile: per phase the tokens, forward passes, wall time and
// tokens/s; memory; time per op kind and per layer, by phase.
func (p *Profiler) Report(w io.Writer, st Stats) error {
	ms := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds()*1000, 'f', 3, 64) }
	rate := func(n int, d time.Duration) string {
		if d <= 0 {
			return "-"
		}
		return strconv.FormatFloat(float64(n)/d.Seconds(), 'f', 1, 64)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "golem: profile (%s backend; op times as the host sees them)\n", p.Backend.Name())
	fmt.Fprintln(tw, "phase\ttokens\tforwards\twall ms\tops ms\ttokens/s\t")
	var total [nPhases]time.Duration
	for ph := range nPhases {
		s := &p.stats[ph]
		for _, o := range s.ops {
			total[ph] += o.time
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t\n", ph, s.tokens, s.forwards, ms(s.wall), ms(total[ph]), rate(s.tokens, s.wall))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "time to first token: %s ms; generated %d tokens at %s tokens/s\n", ms(st.FirstToken), st.GeneratedTokens, rate(st.GeneratedTokens, st.GenTime))
	fmt.Fprintf(w, "memory: weights %s, KV cache %s, scratch %s\n", mib(p.weights), mib(p.cache), mib(p.scratch))

	kinds := make([]int, 0, nOps)
	for k := range int(nOps) {
		if p.stats[PhasePrompt].ops[k].calls+p.stats[PhaseDecode].ops[k].calls > 0 {
			kinds = append(kinds, k)
		}
	}
	sort.SliceStable(kinds, func(i, j int) bool {
		a, b := kinds[i], kinds[j]
		return p.stats[PhasePrompt].ops[a].time+p.stats[PhaseDecode].ops[a].time > p.stats[PhasePrompt].ops[b].time+p.stats[PhaseDecode].ops[b].time
	})
	pct := func(d, of time.Duration) string {
		if of <= 0 {
			return "-"
		}
		return strconv.FormatFloat(100*d.Seconds()/of.Seconds(), 'f', 1, 64)
	}
	fmt.Fprintln(tw, "op\tprompt ms\t%\tcalls\tdecode ms\t%\tcalls\t")
	for _, k := range kinds {
		a, b := p.stats[PhasePrompt].ops[k], p.stats[PhaseDecode].ops[k]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\t\n", opNames[k], ms(a.time), pct(a.time, total[PhasePrompt]), a.calls,
			ms(b.time), pct(b.time, total[PhaseDecode]), b.calls)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	n := max(len(p.stats[PhasePrompt].layers), len(p.stats[PhaseDecode].layers))
	fmt.Fprintln(tw, "layer\tprompt ms\tdecode ms\t")
	for i := range n {
		name := "other"
		if i > 0 {
			name = strconv.Itoa(i - 1)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", name, ms(p.LayerTime(PhasePrompt, i-1)), ms(p.LayerTime(PhaseDecode, i-1)))
	}
	return tw.Flush()
}

func mib(b uint64) string {
	return strconv.FormatFloat(float64(b)/(1<<20), 'f', 2, 64) + " MiB"
}
