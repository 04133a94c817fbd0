package main

import (
	"fmt"
	"strings"

	golemapi "github.com/golem-llm/golem"
	"github.com/golem-llm/golem/inference/sampling"
	"github.com/spf13/cobra"
)

// samplingFlags are llama.cpp's sampling flags, with its defaults.
type samplingFlags struct {
	p        sampling.Params
	seed     int64
	samplers string
}

func (s *samplingFlags) add(cmd *cobra.Command) {
	d := sampling.DefaultParams()
	fl := cmd.Flags()
	fl.Float32Var(&s.p.Temperature, "temp", d.Temperature, "temperature; 0 is greedy (ties to the lowest id)")
	fl.IntVar(&s.p.TopK, "top-k", d.TopK, "top-k sampling (0: off)")
	fl.Float32Var(&s.p.TopP, "top-p", d.TopP, "top-p sampling (1: off)")
	fl.Float32Var(&s.p.MinP, "min-p", d.MinP, "min-p sampling (0: off)")
	fl.Float32Var(&s.p.TypicalP, "typical", d.TypicalP, "locally typical sampling (1: off)")
	fl.Float32Var(&s.p.RepeatPenalty, "repeat-penalty", d.RepeatPenalty, "repetition penalty (1: off)")
	fl.IntVar(&s.p.RepeatLastN, "repeat-last-n", d.RepeatLastN, "tokens the penalties look back over")
	fl.Float32Var(&s.p.PresencePenalty, "presence-penalty", 0, "presence penalty (0: off)")
	fl.Float32Var(&s.p.FrequencyPenalty, "frequency-penalty", 0, "frequency penalty (0: off)")
	fl.IntVar(&s.p.Mirostat, "mirostat", 0, "mirostat: 0 off, 1, or 2")
	fl.Float32Var(&s.p.MirostatTau, "mirostat-ent", d.MirostatTau, "mirostat target entropy (tau)")
	fl.Float32Var(&s.p.MirostatEta, "mirostat-lr", d.MirostatEta, "mirostat learning rate (eta)")
	fl.Int64Var(&s.seed, "seed", -1, "random seed (-1: random)")
	fl.StringVar(&s.samplers, "samplers", "", "sampler order, ';'-separated (default: llama.cpp's)")
}

// options turns the flags into package golem's options; temperature 0 is plain
// greedy. As in llama.cpp, --repeat-last-n 0 turns the penalties off and -1 means the
// whole context.
func (s *samplingFlags) options() (golemapi.GenerateOptions, error) {
	p := s.p
	o := golemapi.GenerateOptions{
		Temperature: p.Temperature, TopK: p.TopK, TopP: p.TopP, MinP: p.MinP, TypicalP: p.TypicalP,
		RepeatPenalty: p.RepeatPenalty, RepeatLastN: p.RepeatLastN,
		PresencePenalty: p.PresencePenalty, FrequencyPenalty: p.FrequencyPenalty,
		Mirostat: p.Mirostat, MirostatTau: p.MirostatTau, MirostatEta: p.MirostatEta,
	}
	if o.RepeatLastN == 0 {
		o.RepeatPenalty, o.FrequencyPenalty, o.PresencePenalty = 1, 0, 0
	}
	if o.RepeatLastN < -1 {
		return o, fmt.Errorf("--repeat-last-n %d: want -1 (the whole context) or more", o.RepeatLastN)
	}
	switch {
	case s.seed == -1:
		o.Seed = golemapi.RandomSeed
	case s.seed < 0 || s.seed > 0xFFFFFFFF:
		return o, fmt.Errorf("--seed %d: want -1 or 0..4294967295", s.seed)
	default:
		o.Seed = uint32(s.seed)
	}
	if s.samplers != "" {
		o.Samplers = strings.Split(s.samplers, ";")
	}
	return o, nil
}
