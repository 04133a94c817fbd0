package tokenizer

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// A stage is one pre-tokenizer pattern: the length in code points of its match at
// pos within the fragment [start, end), or 0 when it does not match there. A stage
// splits each fragment into its matches and the gaps between them, as llama.cpp's
// unicode_regex_split does with each of a vocab's patterns in turn.
type stage func(c []rune, start, pos, end int) int

// preTokenizer is the ordered list of patterns a byte-level BPE vocab splits text
// with before merging. Each pattern is hand-written: Go's regexp has no look-ahead,
// and these are several times faster than a backtracking engine (see bench_test.go).
type preTokenizer struct {
	name   string
	stages []stage
}

// preSpec is what a tokenizer.ggml.pre name selects.
type preSpec struct {
	stages       []stage
	ignoreMerges bool // whole words found in the vocab skip merging (llama3)
	addBOS       bool // default for add_bos_token when the key is absent
}

var (
	gpt2Stages    = []stage{gpt2Stage}
	defaultStages = []stage{punctRun(false), gpt2Stage, run(isNumber), asciiDigitTriple}
)

// preSpecs maps tokenizer.ggml.pre names to their patterns, following llama.cpp's
// llama-vocab.cpp (aliases included).
var preSpecs = map[string]preSpec{
	"default":          {stages: defaultStages},
	"gpt-2":            {stages: gpt2Stages},
	"phi-2":            {stages: gpt2Stages},
	"jina-es":          {stages: gpt2Stages},
	"jina-de":          {stages: gpt2Stages},
	"jina-v2-es":       {stages: gpt2Stages},
	"jina-v2-de":       {stages: gpt2Stages},
	"jina-v1-en":       {stages: gpt2Stages},
	"jina-v2-code":     {stages: gpt2Stages},
	"roberta-bpe":      {stages: gpt2Stages},
	"gigachat":         {stages: gpt2Stages},
	"mpt":              {stages: gpt2Stages},
	"olmo":             {stages: gpt2Stages},
	"jais":             {stages: gpt2Stages},
	"exaone4":          {stages: gpt2Stages},
	"llama3":           {stages: []stage{llama3Stage(3)}, ignoreMerges: true, addBOS: true},
	"llama-v3":         {stages: []stage{llama3Stage(3)}, ignoreMerges: true, addBOS: true},
	"llama-bpe":        {stages: []stage{llama3Stage(3)}, ignoreMerges: true, addBOS: true},
	"falcon3":          {stages: []stage{llama3Stage(3)}, ignoreMerges: true, addBOS: true},
	"dbrx":             {stages: []stage{llama3Stage(3)}},
	"smaug-bpe":        {stages: []stage{llama3Stage(3)}},
	"chatglm-bpe":      {stages: []stage{llama3Stage(3)}},
	"glm4":             {stages: []stage{llama3Stage(3)}},
	"qwen2":            {stages: []stage{llama3Stage(1)}},
	"deepseek-r1-qwen": {stages: []stage{llama3Stage(1)}},
	"stablelm2":        {stages: []stage{llama3Stage(1)}},
	"megrez":           {stages: []stage{llama3Stage(1)}},
	"falcon":           {stages: []stage{punctRun(true), gpt2Stage, asciiDigitTriple}},
	"starcoder":        {stages: []stage{single(isNumber), gpt2Stage}},
	"refact":           {stages: []stage{single(isNumber), gpt2Stage}},
	"command-r":        {stages: []stage{single(isNumber), gpt2Stage}},
	"smollm":           {stages: []stage{single(isNumber), gpt2Stage}},
	"codeshell":        {stages: []stage{single(isNumber), gpt2Stage}},
	"exaone":           {stages: []stage{single(isNumber), gpt2Stage}},
	"minerva-7b":       {stages: []stage{single(isNumber), gpt2Stage}},
	"deepseek-llm": {stages: []stage{
		single(isCRLF),
		optSpaceRun(inRanges(deepseekLetters)),
		optSpaceRun(inRanges(deepseekPunct)),
		trailingSpace,
		run(inRanges(cjkRanges)),
		run(isNumber),
	}},
	"deepseek-coder": {stages: []stage{
		single(isCRLF),
		optSpaceRun(isLetter),
		optSpaceRun(isPunct),
		run(inRanges(cjkRanges)),
		single(isNumber),
	}},
}

// PreTokenizers lists the tokenizer.ggml.pre names this package knows.
func PreTokenizers() []string {
	names := make([]string, 0, len(preSpecs))
	for n := range preSpecs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func lookupPre(name string) (preSpec, error) {
	spec, ok := preSpecs[name]
	if !ok {
		return preSpec{}, fmt.Errorf("unknown pre-tokenizer %q (known: %s)", name, strings.Join(PreTokenizers(), ", "))
	}
	return spec, nil
}

// split returns the end offsets (in code points) of the words of c.
func (p *preTokenizer) split(c []rune, ends []int) []int {
	ends = append(ends[:0], len(c))
	if len(c) == 0 {
		return ends[:0]
	}
	var next []int
	for _, st := range p.stages {
		next = next[:0]
		start := 0
		for _, end := range ends {
			gap := start
			for pos := start; pos < end; {
				m := st(c, start, pos, end)
				if m <= 0 {
					pos++
					continue
				}
				if gap < pos {
					next = append(next, pos)
				}
				pos += m
				next = append(next, pos)
				gap = pos
			}
			if gap < end {
				next = append(next, end)
			}
			start = end
		}
		ends, next = next, ends
	}
	return ends
}

// The class tests below see text the way llama.cpp's std::regex fallback does:
// a non-ASCII white-space code point is only white space (it was replaced by \v).
func regexChar(r rune) rune {
	if r > 0x7F && isSpace(r) {
		return 0x0B
	}
	return r
}

func isCRLF(r rune) bool  { return r == '\r' || r == '\n' }
func isPunct(r rune) bool { return flagsOf(r)&flagPunct != 0 }

// gpt2Stage: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func gpt2Stage(c []rune, _, pos, end int) int {
	r := c[pos]
	if r == '\'' && pos+1 < end {
		if n := contraction(c, pos, end, false); n > 0 {
			return n
		}
	}
	i, f := pos, flagsOf(r)
	if r == ' ' && pos+1 < end {
		i, f = pos+1, flagsOf(c[pos+1])
	}
	switch {
	case f&flagLetter != 0:
		return runFrom(c, i+1, end, isLetter) - pos
	case f&flagNumber != 0:
		return runFrom(c, i+1, end, isNumber) - pos
	case f&(flagSpace|flagLetter|flagNumber) == 0:
		return runFrom(c, i+1, end, isOther) - pos
	}
	return spaceRun(c, pos, end)
}

// contraction matches 's|'t|'re|'ve|'m|'ll|'d at c[pos] == '\”.
func contraction(c []rune, pos, end int, fold bool) int {
	low := func(r rune) rune {
		if fold && r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	n := low(c[pos+1])
	if n == 's' || n == 't' || n == 'm' || n == 'd' {
		return 2
	}
	if pos+2 < end {
		nn := low(c[pos+2])
		if (n == 'r' && nn == 'e') || (n == 'v' && nn == 'e') || (n == 'l' && nn == 'l') {
			return 3
		}
	}
	return 0
}

// spaceRun: \s+(?!\S)|\s+ at pos.
func spaceRun(c []rune, pos, end int) int {
	j := runFrom(c, pos, end, isSpace)
	n := j - pos
	if n > 1 && j < end {
		return n - 1
	}
	return n
}

func runFrom(c []rune, j, end int, pred func(rune) bool) int {
	for j < end && pred(c[j]) {
		j++
	}
	return j
}

// llama3Stage: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}|
// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ (k = 3 for llama3, 1 for qwen2).
func llama3Stage(k int) stage {
	return func(c []rune, _, pos, end int) int {
		r := c[pos]
		if r == '\'' && pos+1 < end {
			if n := contraction(c, pos, end, true); n > 0 {
				return n
			}
		}
		f := flagsOf(r)
		if f&flagLetter != 0 {
			return runFrom(c, pos+1, end, isLetter) - pos
		}
		if r != '\r' && r != '\n' && f&flagNumber == 0 && pos+1 < end && isLetter(c[pos+1]) {
			return runFrom(c, pos+2, end, isLetter) - pos
		}
		if f&flagNumber != 0 {
			j := pos + 1
			for j < end && j-pos < k && isNumber(c[j]) {
				j++
			}
			return j - pos
		}
		i, g := pos, f
		if r == ' ' && pos+1 < end {
			i, g = pos+1, flagsOf(c[pos+1])
		}
		if g&(flagSpace|flagLetter|flagNumber) == 0 {
			j := runFrom(c, i+1, end, isOther)
			return runFrom(c, j, end, isCRLF) - pos
		}
		j, lastNL := pos, -1
		for j < end && isSpace(c[j]) {
			if c[j] == '\r' || c[j] == '\n' {
				lastNL = j + 1
			}
			j++
		}
		if lastNL >= 0 {
			return lastNL - pos
		}
		return spaceRun(c, pos, end)
	}
}

// punctRun: [\p{P}\$\+<=>\^~\|]+ (with ` too for falcon).
func punctRun(backtick bool) stage {
	return func(c []rune, _, pos, end int) int {
		is := func(r rune) bool {
			switch r {
			case '$', '+', '<', '=', '>', '^', '~', '|':
				return true
			case '`':
				return backtick
			}
			return isPunct(r)
		}
		return runFrom(c, pos, end, is) - pos
	}
}

// asciiDigitTriple: [0-9][0-9][0-9]
func asciiDigitTriple(c []rune, _, pos, end int) int {
	if pos+3 <= end {
		for _, r := range c[pos : pos+3] {
			if r < '0' || r > '9' {
				return 0
			}
		}
		return 3
	}
	return 0
}

// single matches one code point of the class.
func single(pred func(rune) bool) stage {
	return func(c []rune, _, pos, _ int) int {
		if pred(c[pos]) {
			return 1
		}
		return 0
	}
}

// run matches class+.
func run(pred func(rune) bool) stage {
	return func(c []rune, _, pos, end int) int { return runFrom(c, pos, end, pred) - pos }
}

// optSpaceRun matches \s?class+.
func optSpaceRun(pred func(rune) bool) stage {
	return func(c []rune, _, pos, end int) int {
		if isSpace(c[pos]) && pos+1 < end && pred(c[pos+1]) {
			return runFrom(c, pos+2, end, pred) - pos
		}
		return runFrom(c, pos, end, pred) - pos
	}
}

// trailingSpace matches \s+$.
func trailingSpace(c []rune, start, pos, end int) int {
	// Called at pos after white space at pos-1 failed: the same run, so fail too
	// (keeps long runs linear).
	if pos > start && isSpace(c[pos-1]) {
		return 0
	}
	if j := runFrom(c, pos, end, isSpace); j == end {
		return j - pos
	}
	return 0
}

type runeRange struct{ lo, hi rune }

func inRanges(rs []runeRange) func(rune) bool {
	return func(r rune) bool {
		r = regexChar(r)
		i, found := slices.BinarySearchFunc(rs, r, func(x runeRange, r rune) int {
			switch {
			case x.hi < r:
				return -1
			case x.lo > r:
				return 1
			}
			return 0
		})
		_ = i
		return found
	}
}

// cjkRanges: [一-龥ࠀ-一가-퟿] (sorted, merged).
var cjkRanges = []runeRange{{0x0800, 0x9FA5}, {0xAC00, 0xD7FF}}

// deepseekPunct: [!-/:-~！-／：-～‘-‟　-。]
var deepseekPunct = []runeRange{
	{0x21, 0x2F}, {0x3A, 0x7E}, {0x2018, 0x201F}, {0x3000, 0x3002}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E},
}

// deepseekLetters is the cased-letter class of DeepSeek LLM's second pattern.
var deepseekLetters = []runeRange{
	{0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA},
	{0x1BC, 0x1BF}, {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377}, {0x37B, 0x37D},
	{0x37F, 0x37F}, {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C}, {0x38E, 0x3A1}, {0x3A3, 0x3F5},
	{0x3F7, 0x481}, {0x48A, 0x52F}, {0x531, 0x556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD},
	{0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A},
	{0x1E00, 0x1F15}, {0x1F18, 0x1F1D}, {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57},
	{0x1F59, 0x1F59}, {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4},
	{0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3},
	{0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102},
	{0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124},
	{0x2126, 0x2126}, {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139},
	{0x213C, 0x213F}, {0x2145, 0x2149}, {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B},
	{0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B},
	{0xA722, 0xA76F}, {0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06},
	{0xFB13, 0xFB17}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3},
	{0x104D8, 0x104FB}, {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
}
