package inference

import "strings"

// stopFilter watches generated text for stop strings. Text that could still become
// the start of a stop string is held back, so a stop string split across tokens is
// caught and none of it is ever emitted.
type stopFilter struct {
	stops []string
	held  strings.Builder
}

// add takes the next piece of text and returns what may be emitted now; found is true
// when a stop string is complete (out is then the text before it, and the stop string
// is stop).
func (f *stopFilter) add(piece string) (out, stop string, found bool) {
	if len(f.stops) == 0 {
		return piece, "", false
	}
	f.held.WriteString(piece)
	text := f.held.String()
	first := -1
	for _, s := range f.stops {
		if i := strings.Index(text, s); i >= 0 && (first < 0 || i < first || (i == first && len(s) > len(stop))) {
			first, stop = i, s
		}
	}
	if first >= 0 {
		f.held.Reset()
		return text[:first], stop, true
	}
	hold := 0
	for _, s := range f.stops {
		for k := min(len(s)-1, len(text)); k > hold; k-- {
			if strings.HasSuffix(text, s[:k]) {
				hold = k
				break
			}
		}
	}
	out = text[:len(text)-hold]
	f.held.Reset()
	f.held.WriteString(text[len(text)-hold:])
	return out, "", false
}

// flush returns the text held back at the end of generation: it did not become a
// stop string.
func (f *stopFilter) flush() string {
	s := f.held.String()
	f.held.Reset()
	return s
}
