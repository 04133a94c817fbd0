package conformance

import (
	"fmt"
	"math/rand/v2"

	"github.com/golem-llm/golem/backend"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/gguf/quant"
)

// Execute runs case c on backend b with inputs drawn from seed and returns the output.
// A non-empty skip says the case does not apply (an unsupported type, say).
func Execute(b backend.Backend, c Case, seed uint64) (out []float32, skip string, err error) {
	in := &inputs{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), b: b}
	s := c.Shape
	switch c.Op {
	case "MUL_MAT":
		if !quant.CanQuantize(c.Type) {
			return nil, fmt.Sprintf("no quantizer for %s", c.Type), nil
		}
		w, err := in.weight("w", c.Type, 0.05, s.M, s.K)
		if err != nil {
			return nil, "", err
		}
		x, _, err := in.activation("x", 1, s.N, s.K)
		if err != nil {
			return nil, "", err
		}
		dst, err := in.alloc("dst", s.N, s.M)
		if err != nil {
			return nil, "", err
		}
		if err := b.MatMul(dst, x, w); err != nil {
			return nil, "", err
		}
		out, err := read(b, dst)
		return out, "", err

	case "MUL_MAT_ID":
		if !quant.CanQuantize(c.Type) {
			return nil, fmt.Sprintf("no quantizer for %s", c.Type), nil
		}
		w, err := in.weight("w", c.Type, 0.05, s.Experts, s.M, s.K)
		if err != nil {
			return nil, "", err
		}
		xs := 1
		if c.Variant == "per-slot" {
			xs = s.Used
		}
		x, _, err := in.activation("x", 1, s.N, xs, s.K)
		if err != nil {
			return nil, "", err
		}
		ids, err := b.Alloc("ids", gguf.TypeI32, s.N, s.Used)
		if err != nil {
			return nil, "", err
		}
		idv := make([]int32, s.N*s.Used)
		for t := range s.N {
			perm := in.rng.Perm(s.Experts)
			for k := range s.Used {
				idv[t*s.Used+k] = int32(perm[k])
			}
		}
		if err := b.WriteInt32(ids, idv); err != nil {
			return nil, "", err
		}
		dst, err := in.alloc("dst", s.N, s.Used, s.M)
		if err != nil {
			return nil, "", err
		}
		if err := b.MatMulID(dst, x, w, ids); err != nil {
			return nil, "", err
		}
		out, err := read(b, dst)
		return out, "", err

	case "GET_ROWS":
		if !quant.CanQuantize(c.Type) {
			return nil, fmt.Sprintf("no quantizer for %s", c.Type), nil
		}
		table, err := in.weight("table", c.Type, 1, s.M, s.K)
		if err != nil {
			return nil, "", err
		}
		ids := make([]int32, s.N)
		for i := range ids {
			ids[i] = int32(in.rng.IntN(s.M))
		}
		dst, err := in.alloc("dst", s.N, s.K)
		if err != nil {
			return nil, "", err
		}
		if err := b.GetRows(dst, table, ids); err != nil {
			return nil, "", err
		}
		out, err := read(b, dst)
		return out, "", err

	case "WEIGHTED_SUM":
		x, _, err := in.activation("x", 1, s.Rows, s.Used, s.Cols)
		if err != nil {
			return nil, "", err
		}
		w, _, err := in.activation("w", 1, s.Rows, s.Used)
		if err != nil {
			return nil, "", err
		}
		dst, err := in.alloc("dst", s.Rows, s.Cols)
		if err != nil {
			return nil, "", err
		}
		if err := b.WeightedSum(dst, x, w); err != nil {
			return nil, "", err
		}
		out, err := read(b, dst)
		return out, "", err

	case "RMS_NORM", "LAYER_NORM", "SILU", "GELU", "QUICK_GELU", "SCALE", "SOFTMAX", "SWIGLU", "GEGLU", "ADD", "MUL":
		return rowCase(in, c)

	case "TOP_K":
		probs, _, err := in.activation("probs", 1, s.Rows, s.Experts)
		if err != nil {
			return nil, "", err
		}
		if err := b.Softmax(probs, probs); err != nil {
			return nil, "", err
		}
		w, err := in.alloc("w", s.Rows, s.Used)
		if err != nil {
			return nil, "", err
		}
		ids, err := b.Alloc("ids", gguf.TypeI32, s.Rows, s.Used)
		if err != nil {
			return nil, "", err
		}
		if err := b.TopK(w, ids, probs, s.Used, c.Variant == "renorm"); err != nil {
			return nil, "", err
		}
		wv, err := read(b, w)
		if err != nil {
			return nil, "", err
		}
		iv, err := read(b, ids)
		return append(wv, iv...), "", err

	case "ROPE":
		return ropeCase(in, c)

	case "ROPE_SHIFT":
		return ropeShiftCase(in, c)

	case "ATTENTION":
		return attentionCase(in, c)

	case "SSM_CONV", "SSM_SCAN", "SEQ_MEAN":
		return ssmCase(in, c)
	}
	return nil, "", fmt.Errorf("unknown op %s", c.Op)
}

func rowCase(in *inputs, c Case) ([]float32, string, error) {
	b, s := in.b, c.Shape
	x, _, err := in.activation("x", 2, s.Rows, s.Cols)
	if err != nil {
		return nil, "", err
	}
	dst, err := in.alloc("dst", s.Rows, s.Cols)
	if err != nil {
		return nil, "", err
	}
	second := func() (backend.Tensor, error) {
		rows := s.Rows
		if c.Variant == "broadcast" {
			rows = 1
		}
		t, _, err := in.activation("y", 1, rows, s.Cols)
		return t, err
	}
	param := func(name string, center float64) (backend.Tensor, error) {
		t, err := in.alloc(name, s.Cols)
		if err != nil {
			return nil, err
		}
		v := in.floats(s.Cols, 0.1)
		for i := range v {
			v[i] += float32(center)
		}
		return t, b.Write(t, v)
	}
	switch c.Op {
	case "RMS_NORM":
		var w backend.Tensor
		if c.Variant != "no-weight" {
			if w, err = param("w", 1); err != nil {
				return nil, "", err
			}
		}
		err = b.RMSNorm(dst, x, w, 1e-5)
	case "LAYER_NORM":
		var w, bias backend.Tensor
		if c.Variant != "no-weight" {
			if w, err = param("w", 1); err != nil {
				return nil, "", err
			}
			if bias, err = param("b", 0); err != nil {
				return nil, "", err
			}
		}
		err = b.LayerNorm(dst, x, w, bias, 1e-5)
	case "SILU":
		err = b.SiLU(dst, x)
	case "GELU":
		err = b.GELU(dst, x)
	case "QUICK_GELU":
		err = b.QuickGELU(dst, x)
	case "SCALE":
		err = b.Scale(dst, x, 0.125)
	case "SOFTMAX":
		err = b.Softmax(dst, x)
	case "SWIGLU", "GEGLU", "ADD", "MUL":
		y, e := second()
		if e != nil {
			return nil, "", e
		}
		switch c.Op {
		case "SWIGLU":
			err = b.SwiGLU(dst, x, y)
		case "GEGLU":
			err = b.GeGLU(dst, x, y)
		case "ADD":
			err = b.Add(dst, x, y)
		case "MUL":
			err = b.Mul(dst, x, y)
		}
	}
	if err != nil {
		return nil, "", err
	}
	out, err := read(b, dst)
	return out, "", err
}

// RoPEParamsFor is the RoPE configuration a case's variant names.
func RoPEParamsFor(c Case) backend.RoPEParams {
	p := backend.RoPEParams{Mode: backend.RoPENormal, Dims: c.Shape.RotDims, Base: 10000, FreqScale: 1}
	switch c.Variant {
	case "neox":
		p.Mode = backend.RoPENeoX
	case "linear":
		p.FreqScale = 0.25
	case "yarn":
		p.Mode = backend.RoPENeoX
		p.FreqScale, p.ExtFactor, p.BetaFast, p.BetaSlow, p.OrigCtx, p.Base = 0.25, 1, 32, 1, 4096, 1e6
	case "freqs":
		p.Base = 500000
		p.Freqs = make([]float32, c.Shape.RotDims/2)
		for i := range p.Freqs {
			p.Freqs[i] = 1 + float32(i%7)
		}
	}
	return p
}

func ropeCase(in *inputs, c Case) ([]float32, string, error) {
	s := c.Shape
	x, _, err := in.activation("x", 1, s.Tokens, s.Heads, s.HeadDim)
	if err != nil {
		return nil, "", err
	}
	pos := make([]int32, s.Tokens)
	for i := range pos {
		pos[i] = int32(i*37 + 3) // spread positions over a longer context
	}
	if err := in.b.RoPE(x, pos, RoPEParamsFor(c)); err != nil {
		return nil, "", err
	}
	out, err := read(in.b, x)
	return out, "", err
}

// ropeShiftCase re-rotates some rows of a cache-like tensor (F32, or F16 for the
// "f16" variant) by positive and negative deltas; the other rows must stay as they are.
func ropeShiftCase(in *inputs, c Case) ([]float32, string, error) {
	s := c.Shape
	dt := gguf.TypeF32
	if c.Variant == "f16" {
		dt = gguf.TypeF16
	}
	x, err := in.b.Alloc("x", dt, s.Tokens, s.Heads, s.HeadDim)
	if err != nil {
		return nil, "", err
	}
	if err := in.b.Write(x, in.floats(s.Tokens*s.Heads*s.HeadDim, 1)); err != nil {
		return nil, "", err
	}
	var rows, delta []int32
	for r := s.Tokens - 1; r >= 0; r -= 2 {
		rows = append(rows, int32(r))
		delta = append(delta, int32(r*29-150))
	}
	if err := in.b.RoPEShift(x, rows, delta, RoPEParamsFor(c)); err != nil {
		return nil, "", err
	}
	out, err := read(in.b, x)
	return out, "", err
}

// attentionCase fills a cache with an earlier batch of each sequence, then runs a
// second batch through Attention, so tokens see both cached and new cells.
func attentionCase(in *inputs, c Case) ([]float32, string, error) {
	b, s := in.b, c.Shape
	cacheType := gguf.TypeF32
	if c.Variant == "f16cache" {
		cacheType = gguf.TypeF16
	}
	kv, err := b.NewKVCache(1, s.Cells, s.HeadsKV*s.HeadDim, s.HeadsKV*s.HeadDim, cacheType)
	if err != nil {
		return nil, "", err
	}
	p := backend.AttnParams{Scale: 0.125, Causal: c.Variant != "noncausal"}
	switch c.Variant {
	case "window":
		p.Window = 3
	case "softcap":
		p.SoftCap = 2
	case "alibi":
		p.MaxALiBiBias = 8
	}
	seqs := 1
	if c.Variant == "multiseq" {
		seqs = 2
	}
	step := func(first, n int) ([]float32, error) {
		batch := &backend.Batch{}
		for i := range n {
			tok := first + i
			seq := int32(tok % seqs)
			pos := int32(tok / seqs)
			cell := int32(tok)
			batch.Pos, batch.Seq, batch.Cells = append(batch.Pos, pos), append(batch.Seq, seq), append(batch.Cells, cell)
			kv.Cells[cell] = backend.Cell{Pos: pos, Seq: seq}
		}
		q, _, err := in.activation("q", 1, n, s.Heads, s.HeadDim)
		if err != nil {
			return nil, err
		}
		k, _, err := in.activation("k", 1, n, s.HeadsKV, s.HeadDim)
		if err != nil {
			return nil, err
		}
		v, _, err := in.activation("v", 1, n, s.HeadsKV, s.HeadDim)
		if err != nil {
			return nil, err
		}
		dst, err := in.alloc("dst", n, s.Heads, s.HeadDim)
		if err != nil {
			return nil, err
		}
		if err := b.Attention(dst, q, k, v, kv, 0, batch, p); err != nil {
			return nil, err
		}
		return read(b, dst)
	}
	first := s.Tokens / 2
	out1, err := step(0, first)
	if err != nil {
		return nil, "", err
	}
	out2, err := step(first, s.Tokens-first)
	if err != nil {
		return nil, "", err
	}
	return append(out1, out2...), "", nil
}
