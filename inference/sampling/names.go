package sampling

import (
	"fmt"
	"strings"
)

// stageKind names a position in the configurable part of the chain.
type stageKind int

const (
	kindPenalties stageKind = iota
	kindTopK
	kindTypicalP
	kindTopP
	kindMinP
	kindTemperature
	// llama.cpp stages golem does not implement. Their knobs are not in Params and their llama.cpp defaults
	// (dry_multiplier 0, top_n_sigma -1, xtc_probability 0) make them no-ops, so naming them in an order (as
	// llama.cpp's own printed default order does) changes nothing, exactly as in llama.cpp.
	kindDRY
	kindTopNSigma
	kindXTC
)

// DefaultSamplers is llama.cpp's default sampler order (common_params_sampling::samplers: penalties, dry,
// top_n_sigma, top_k, typ_p, top_p, min_p, xtc, temperature) without the stages that are no-ops here.
var DefaultSamplers = []string{"penalties", "top_k", "typ_p", "top_p", "min_p", "temperature"}

var canonicalNames = map[string]stageKind{
	"penalties":   kindPenalties,
	"dry":         kindDRY,
	"top_n_sigma": kindTopNSigma,
	"top_k":       kindTopK,
	"typ_p":       kindTypicalP,
	"top_p":       kindTopP,
	"min_p":       kindMinP,
	"xtc":         kindXTC,
	"temperature": kindTemperature,
}

// altNames are the other spellings llama.cpp's --samplers accepts.
var altNames = map[string]stageKind{
	"top-k":       kindTopK,
	"top-p":       kindTopP,
	"nucleus":     kindTopP,
	"typical-p":   kindTypicalP,
	"typical":     kindTypicalP,
	"typ-p":       kindTypicalP,
	"typ":         kindTypicalP,
	"min-p":       kindMinP,
	"temp":        kindTemperature,
	"top-n-sigma": kindTopNSigma,
}

// seqChars are llama.cpp's one-letter stage names (--sampling-seq).
var seqChars = map[rune]string{
	'e': "penalties",
	'd': "dry",
	's': "top_n_sigma",
	'k': "top_k",
	'y': "typ_p",
	'p': "top_p",
	'm': "min_p",
	'x': "xtc",
	't': "temperature",
}

var kindNames = map[stageKind]string{}

func init() {
	for name, k := range canonicalNames {
		kindNames[k] = name
	}
}

func lookupStage(name string) (stageKind, error) {
	if k, ok := canonicalNames[name]; ok {
		return k, nil
	}
	if k, ok := altNames[name]; ok {
		return k, nil
	}
	switch name {
	case "infill", "adaptive_p", "adaptive-p":
		return 0, fmt.Errorf("%w: sampler %q is not supported", ErrInvalidParams, name)
	}
	return 0, fmt.Errorf("%w: unknown sampler %q", ErrInvalidParams, name)
}

// ParseSamplers splits a llama.cpp-style --samplers value ("top_k;top_p;temperature") into names, checking
// each. An empty string is an empty order (no filtering stages).
func ParseSamplers(s string) ([]string, error) {
	if s == "" {
		return []string{}, nil
	}
	parts := strings.Split(s, ";")
	for i, name := range parts {
		if _, err := lookupStage(name); err != nil {
			return nil, fmt.Errorf("samplers[%d]: %w", i, err)
		}
	}
	return parts, nil
}

// ParseSamplerSeq turns llama.cpp's one-letter --sampling-seq form ("ekypmt") into names.
func ParseSamplerSeq(s string) ([]string, error) {
	names := make([]string, 0, len(s))
	for i, r := range s {
		name, ok := seqChars[r]
		if !ok {
			return nil, fmt.Errorf("%w: sampling sequence %q: unknown sampler letter %q at byte %d",
				ErrInvalidParams, s, r, i)
		}
		names = append(names, name)
	}
	return names, nil
}
