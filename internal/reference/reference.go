// Package reference is an independent float64 forward pass of the decoder
// architectures, written from their published definitions (the papers and Hugging
// Face's modelling code) for tests. It shares nothing with models/ or backend/: it reads
// weights through the GGUF reader and dequantizer only, keeps every value in float64,
// and computes the plain formulas (exact tanh GELU, libm exp, one token at a time).
package reference

import (
	"fmt"
	"math"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// arch describes one architecture as its papers define it.
type arch struct {
	layerNorm  bool   // LayerNorm (else RMSNorm)
	rope       string // "normal" (pairs 2i, 2i+1), "neox" (i, i+d/2), "" (none)
	learnedPos bool   // GPT-2 style absolute position embeddings
	alibi      bool   // BLOOM's ALiBi
	parallel   bool   // attention and MLP both read the layer input
	mlp        string // "swiglu", "geglu", "gelu"
	embedScale bool   // Gemma: embeddings × sqrt(d)
	embedNorm  bool   // BLOOM: LayerNorm on the embeddings
	qkNorm     bool   // Qwen3: RMSNorm of q and k per head
	gateUp     bool   // Phi-3: ffn_up = [gate; up]
	// Gemma 2: post_attention_norm and post_ffw_norm on the attention and MLP outputs
	// before their residual adds; attention scores and logits soft-capped as
	// cap·tanh(s/cap); the sliding window only on even layers (is_sliding = not
	// layer_idx % 2). Defaults are Gemma2Config's: caps 50 and 30, window 4096.
	gemma2 bool
}

var archs = map[string]arch{
	"llama":      {rope: "normal", mlp: "swiglu"},
	"qwen2":      {rope: "neox", mlp: "swiglu"},
	"qwen3":      {rope: "neox", mlp: "swiglu", qkNorm: true},
	"gemma":      {rope: "neox", mlp: "geglu", embedScale: true},
	"gemma2":     {rope: "neox", mlp: "geglu", embedScale: true, gemma2: true},
	"phi3":       {rope: "neox", mlp: "swiglu", gateUp: true},
	"gpt2":       {layerNorm: true, learnedPos: true, mlp: "gelu"},
	"starcoder":  {layerNorm: true, learnedPos: true, mlp: "gelu"},
	"starcoder2": {layerNorm: true, rope: "neox", mlp: "gelu"},
	"gptj":       {layerNorm: true, rope: "normal", mlp: "gelu", parallel: true},
	"phi2":       {layerNorm: true, rope: "neox", mlp: "gelu", parallel: true},
	"falcon":     {layerNorm: true, rope: "neox", mlp: "gelu", parallel: true},
	"gptneox":    {layerNorm: true, rope: "neox", mlp: "gelu", parallel: true},
	"bloom":      {layerNorm: true, alibi: true, mlp: "gelu", embedNorm: true},
}

// Model is a decoder loaded as float64 matrices.
type Model struct {
	a                          arch
	name                       string
	d, nLayer, nHead, nKV, hd  int
	ff, vocab, rot, nExp, nUse int
	eps, base, freqScale       float64
	window                     int     // sliding window (0: none)
	attnCap, finalCap          float64 // soft-caps (0: none)
	t                          map[string]*matrix
	keepHidden                 bool
	lastHidden                 []float64
}

type matrix struct {
	rows, cols int
	v          []float64
}

func (m *matrix) row(i int) []float64 { return m.v[i*m.cols : (i+1)*m.cols] }

// Load reads every tensor of f as float64.
func Load(f *gguf.File) (*Model, error) {
	name := f.Meta.Architecture()
	a, ok := archs[name]
	if !ok {
		return nil, fmt.Errorf("reference: no definition for %q", name)
	}
	m := &Model{a: a, name: name, t: map[string]*matrix{}}
	u := func(k string, def int) int {
		v, err := f.Meta.Uint(name + "." + k)
		if err != nil {
			return def
		}
		return int(v)
	}
	fl := func(k string, def float64) float64 {
		v, err := f.Meta.Float(name + "." + k)
		if err != nil {
			return def
		}
		return v
	}
	m.d, m.nLayer, m.nHead = u("embedding_length", 0), u("block_count", 0), u("attention.head_count", 1)
	m.nKV = u("attention.head_count_kv", m.nHead)
	m.hd = u("attention.key_length", m.d/m.nHead)
	m.ff = u("feed_forward_length", 0)
	m.rot = u("rope.dimension_count", m.hd)
	m.nExp, m.nUse = u("expert_count", 0), u("expert_used_count", 0)
	m.eps = fl("attention.layer_norm_rms_epsilon", fl("attention.layer_norm_epsilon", 1e-5))
	m.base = fl("rope.freq_base", 10000)
	m.freqScale = 1
	if a.gemma2 {
		m.window = u("attention.sliding_window", 4096)
		m.attnCap = fl("attn_logit_softcapping", 50)
		m.finalCap = fl("final_logit_softcapping", 30)
	} else {
		m.window = u("attention.sliding_window", 0)
	}
	if s := fl("rope.scaling.factor", 0); s > 0 {
		m.freqScale = 1 / s
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		data, err := f.TensorData(ti)
		if err != nil {
			return nil, err
		}
		vals := make([]float32, ti.Elements())
		if err := quant.Dequantize(ti.Type, data, vals); err != nil {
			return nil, fmt.Errorf("reference: %s: %w", ti.Name, err)
		}
		mt := &matrix{rows: int(ti.Rows()), cols: int(ti.Dims[0]), v: make([]float64, len(vals))}
		for j, x := range vals {
			mt.v[j] = float64(x)
		}
		m.t[ti.Name] = mt
	}
	m.vocab = m.t["token_embd.weight"].rows
	return m, nil
}

func (m *Model) get(name string) *matrix { return m.t[name] }

// linear is W·x (+ b) for W of [out, in].
func (m *Model) linear(x []float64, w, b string) []float64 {
	W := m.get(w)
	out := make([]float64, W.rows)
	for r := range out {
		var s float64
		for k, v := range W.row(r) {
			s += v * x[k]
		}
		out[r] = s
	}
	if B := m.get(b); B != nil {
		for i := range out {
			out[i] += B.v[i]
		}
	}
	return out
}

func (m *Model) norm(x []float64, w, b string) []float64 {
	y := make([]float64, len(x))
	if m.a.layerNorm {
		var mean, variance float64
		for _, v := range x {
			mean += v
		}
		mean /= float64(len(x))
		for _, v := range x {
			variance += (v - mean) * (v - mean)
		}
		variance /= float64(len(x))
		for i, v := range x {
			y[i] = (v - mean) / math.Sqrt(variance+m.eps)
		}
	} else {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		s := 1 / math.Sqrt(ss/float64(len(x))+m.eps)
		for i, v := range x {
			y[i] = v * s
		}
	}
	if W := m.get(w); W != nil {
		for i := range y {
			y[i] *= W.v[i]
		}
	}
	if B := m.get(b); B != nil {
		for i := range y {
			y[i] += B.v[i]
		}
	}
	return y
}

func gelu(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

func silu(x float64) float64 { return x / (1 + math.Exp(-x)) }

// rope rotates one head in place at position p.
func (m *Model) rope(x []float64, p int, freqs *matrix) {
	for i := 0; i < m.rot/2; i++ {
		theta := float64(p) * m.freqScale * math.Pow(m.base, -2*float64(i)/float64(m.rot))
		if freqs != nil {
			theta /= freqs.v[i]
		}
		a, b := 2*i, 2*i+1
		if m.a.rope == "neox" {
			a, b = i, i+m.rot/2
		}
		c, s := math.Cos(theta), math.Sin(theta)
		x0, x1 := x[a], x[b]
		x[a], x[b] = x0*c-x1*s, x0*s+x1*c
	}
}

// alibiSlope is BLOOM's slope for head h of n (max bias 8).
func alibiSlope(h, n int) float64 {
	closest := 1 << int(math.Floor(math.Log2(float64(n))))
	base := math.Pow(2, -8/float64(closest))
	if h < closest {
		return math.Pow(base, float64(h+1))
	}
	extra := math.Pow(2, -4/float64(closest))
	return math.Pow(extra, float64(2*(h-closest)+1))
}

// Hidden returns the final-normalised hidden state of the last token (what a decoder
// embeds with last-token pooling).
func (m *Model) Hidden(tokens []int32) ([]float64, error) {
	m.keepHidden = true
	defer func() { m.keepHidden = false }()
	if _, err := m.Forward(tokens); err != nil {
		return nil, err
	}
	return m.lastHidden, nil
}

// Forward returns the logits of every position for tokens at positions 0..n-1.
func (m *Model) Forward(tokens []int32) ([][]float64, error) {
	for _, t := range tokens {
		if int(t) < 0 || int(t) >= m.vocab {
			return nil, fmt.Errorf("reference: token %d outside the vocabulary", t)
		}
	}
	d, hd, nh, nkv := m.d, m.hd, m.nHead, m.nKV
	keys := make([][][]float64, m.nLayer) // [layer][pos] k rows (nkv*hd)
	vals := make([][][]float64, m.nLayer)
	freqs := m.get("rope_freqs.weight")
	if f := m.get("rope_factors_short.weight"); f != nil {
		freqs = f
	}
	var out [][]float64
	for p, tok := range tokens {
		x := append([]float64(nil), m.get("token_embd.weight").row(int(tok))...)
		if m.a.learnedPos {
			for i, v := range m.get("position_embd.weight").row(p) {
				x[i] += v
			}
		}
		if m.a.embedScale {
			for i := range x {
				x[i] *= math.Sqrt(float64(d))
			}
		}
		if m.a.embedNorm {
			x = m.norm(x, "token_embd_norm.weight", "token_embd_norm.bias")
		}
		for l := 0; l < m.nLayer; l++ {
			pre := fmt.Sprintf("blk.%d.", l)
			h := m.norm(x, pre+"attn_norm.weight", pre+"attn_norm.bias")
			var q, k, v []float64
			if m.get(pre+"attn_qkv.weight") != nil {
				qkv := m.linear(h, pre+"attn_qkv.weight", pre+"attn_qkv.bias")
				q, k, v = qkv[:nh*hd], qkv[nh*hd:(nh+nkv)*hd], qkv[(nh+nkv)*hd:]
			} else {
				q = m.linear(h, pre+"attn_q.weight", pre+"attn_q.bias")
				k = m.linear(h, pre+"attn_k.weight", pre+"attn_k.bias")
				v = m.linear(h, pre+"attn_v.weight", pre+"attn_v.bias")
			}
			for hh := 0; hh < nh; hh++ {
				if m.a.qkNorm {
					copy(q[hh*hd:], m.normRMS(q[hh*hd:(hh+1)*hd], pre+"attn_q_norm.weight"))
				}
				if m.a.rope != "" {
					m.rope(q[hh*hd:(hh+1)*hd], p, freqs)
				}
			}
			for hh := 0; hh < nkv; hh++ {
				if m.a.qkNorm {
					copy(k[hh*hd:], m.normRMS(k[hh*hd:(hh+1)*hd], pre+"attn_k_norm.weight"))
				}
				if m.a.rope != "" {
					m.rope(k[hh*hd:(hh+1)*hd], p, freqs)
				}
			}
			keys[l] = append(keys[l], k)
			vals[l] = append(vals[l], v)
			hdv := len(v) / nkv
			attn := make([]float64, nh*hdv)
			window := m.window
			if m.a.gemma2 && l%2 == 1 {
				window = 0
			}
			for hh := 0; hh < nh; hh++ {
				kh := hh / (nh / nkv)
				scores := make([]float64, p+1)
				mx := math.Inf(-1)
				for j := 0; j <= p; j++ {
					if window > 0 && p-j >= window {
						scores[j] = math.Inf(-1)
						continue
					}
					var s float64
					for i := 0; i < hd; i++ {
						s += q[hh*hd+i] * keys[l][j][kh*hd+i]
					}
					// Gemma 2 scales by query_pre_attn_scalar^-1/2, which the GGUF file
					// does not hold: it is the head size for 2B and 9B.
					s /= math.Sqrt(float64(hd))
					if m.attnCap > 0 {
						s = m.attnCap * math.Tanh(s/m.attnCap)
					}
					if m.a.alibi {
						s -= alibiSlope(hh, nh) * float64(p-j)
					}
					scores[j] = s
					mx = math.Max(mx, s)
				}
				var sum float64
				for j := range scores {
					scores[j] = math.Exp(scores[j] - mx)
					sum += scores[j]
				}
				for j, w := range scores {
					for i := 0; i < hdv; i++ {
						attn[hh*hdv+i] += w / sum * vals[l][j][kh*hdv+i]
					}
				}
			}
			ao := m.linear(attn, pre+"attn_output.weight", pre+"attn_output.bias")
			if m.a.gemma2 {
				ao = m.norm(ao, pre+"post_attention_norm.weight", "")
			}
			if m.a.parallel {
				hf := h
				switch {
				case m.get(pre+"ffn_norm.weight") != nil:
					hf = m.norm(x, pre+"ffn_norm.weight", pre+"ffn_norm.bias")
				case m.get(pre+"attn_norm_2.weight") != nil:
					hf = m.norm(x, pre+"attn_norm_2.weight", pre+"attn_norm_2.bias")
				}
				f := m.mlp(hf, pre)
				for i := range x {
					x[i] += ao[i] + f[i]
				}
				continue
			}
			for i := range x {
				x[i] += ao[i]
			}
			f := m.mlp(m.norm(x, pre+"ffn_norm.weight", pre+"ffn_norm.bias"), pre)
			if m.a.gemma2 {
				f = m.norm(f, pre+"post_ffw_norm.weight", "")
			}
			for i := range x {
				x[i] += f[i]
			}
		}
		y := m.norm(x, "output_norm.weight", "output_norm.bias")
		if m.keepHidden {
			m.lastHidden = y
		}
		w := "output.weight"
		if m.get(w) == nil {
			w = "token_embd.weight"
		}
		logits := m.linear(y, w, "output.bias")
		if m.finalCap > 0 {
			for i, v := range logits {
				logits[i] = m.finalCap * math.Tanh(v/m.finalCap)
			}
		}
		out = append(out, logits)
	}
	return out, nil
}

func (m *Model) normRMS(x []float64, w string) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	s := 1 / math.Sqrt(ss/float64(len(x))+m.eps)
	y := make([]float64, len(x))
	W := m.get(w)
	for i, v := range x {
		y[i] = v * s * W.v[i]
	}
	return y
}

// mlp is the feed-forward block (or the mixture of experts) of layer pre.
func (m *Model) mlp(h []float64, pre string) []float64 {
	if m.nExp > 0 {
		return m.moe(h, pre)
	}
	switch m.a.mlp {
	case "gelu":
		u := m.linear(h, pre+"ffn_up.weight", pre+"ffn_up.bias")
		for i := range u {
			u[i] = gelu(u[i])
		}
		return m.linear(u, pre+"ffn_down.weight", pre+"ffn_down.bias")
	}
	var g, u []float64
	if m.a.gateUp {
		gu := m.linear(h, pre+"ffn_up.weight", "")
		g, u = gu[:len(gu)/2], gu[len(gu)/2:]
	} else {
		g = m.linear(h, pre+"ffn_gate.weight", pre+"ffn_gate.bias")
		u = m.linear(h, pre+"ffn_up.weight", pre+"ffn_up.bias")
	}
	for i := range g {
		if m.a.mlp == "geglu" {
			g[i] = gelu(g[i]) * u[i]
		} else {
			g[i] = silu(g[i]) * u[i]
		}
	}
	return m.linear(g, pre+"ffn_down.weight", pre+"ffn_down.bias")
}

// moe is Mixtral's sparse block: softmax router, top-k, renormalised weights, SwiGLU
// experts.
func (m *Model) moe(h []float64, pre string) []float64 {
	logits := m.linear(h, pre+"ffn_gate_inp.weight", "")
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, v)
	}
	probs := make([]float64, len(logits))
	var sum float64
	for i, v := range logits {
		probs[i] = math.Exp(v - mx)
		sum += probs[i]
	}
	chosen := make([]int, 0, m.nUse)
	var wsum float64
	for len(chosen) < m.nUse {
		best := -1
		for e := range probs {
			taken := false
			for _, c := range chosen {
				taken = taken || c == e
			}
			if !taken && (best < 0 || probs[e] > probs[best]) {
				best = e
			}
		}
		chosen = append(chosen, best)
		wsum += probs[best]
	}
	out := make([]float64, m.d)
	gate, up, down := m.get(pre+"ffn_gate_exps.weight"), m.get(pre+"ffn_up_exps.weight"), m.get(pre+"ffn_down_exps.weight")
	ff := gate.rows / m.nExp
	for _, e := range chosen {
		a := make([]float64, ff)
		for r := 0; r < ff; r++ {
			var g, u float64
			for k, v := range h {
				g += gate.row(e*ff + r)[k] * v
				u += up.row(e*ff + r)[k] * v
			}
			a[r] = silu(g) * u
		}
		w := probs[e] / wsum
		for r := 0; r < m.d; r++ {
			var s float64
			for k, v := range a {
				s += down.row(e*m.d + r)[k] * v
			}
			out[r] += w * s
		}
	}
	return out
}
