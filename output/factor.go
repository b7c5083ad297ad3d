package output

import (
	"math/bits"
	"regexp/syntax"
	"slices"
	"unicode"
	"unicode/utf8"
)

// This file derives, from a pattern's syntax tree, a set of factors such that every match contains one of them:
// the prefilter of LineMatcher searches the text for those instead of running the regexp over it. A factor is a
// sequence of byte sets; a byte string w is an occurrence of factor f when len(w) == len(f) and each w[i] is in
// f[i]. Byte sets let a case-insensitive letter or a small class ([Ee], \d) stay one position instead of
// multiplying literals. The derivation may over-approximate (a factor may admit strings no match contains) but
// never under-approximate: a line that matches always holds an occurrence of some factor of the set.

// byteSet is a set of bytes.
type byteSet [4]uint64

func (s *byteSet) add(c byte)      { s[c>>6] |= 1 << (c & 63) }
func (s *byteSet) has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }
func (s *byteSet) union(t *byteSet) {
	s[0], s[1], s[2], s[3] = s[0]|t[0], s[1]|t[1], s[2]|t[2], s[3]|t[3]
}
func (s *byteSet) size() int {
	return bits.OnesCount64(s[0]) + bits.OnesCount64(s[1]) + bits.OnesCount64(s[2]) + bits.OnesCount64(s[3])
}
func (s *byteSet) equal(t *byteSet) bool { return *s == *t }

// each calls f with every byte of the set, in increasing order.
func (s *byteSet) each(f func(byte)) {
	for w, x := range s {
		for x != 0 {
			f(byte(w<<6 | bits.TrailingZeros64(x)))
			x &= x - 1
		}
	}
}

// factor is a sequence of byte sets; the empty factor occurs everywhere and so filters nothing.
type factor []byteSet

// at reports whether f occurs in p at index st.
func (f factor) at(p []byte, st int) bool {
	if st < 0 || st+len(f) > len(p) {
		return false
	}
	q := p[st : st+len(f)]
	for i := range f {
		if !f[i].has(q[i]) {
			return false
		}
	}
	return true
}

func (f factor) equal(g factor) bool {
	return slices.EqualFunc(f, g, func(a, b byteSet) bool { return a.equal(&b) })
}

// Bounds that keep the derivation small: a set holds at most maxFactors factors (a larger set is dropped, which
// only loses filtering), and exact, prefix and suffix factors at most maxFactorLen positions.
const (
	maxFactors   = 32
	maxFactorLen = 16
	// maxClassRunes bounds the non-ASCII runes of a class that is turned into byte positions.
	maxClassRunes = 256
)

// facts is what the derivation knows about the strings a node matches; a nil set means nothing is known.
type facts struct {
	exact  []factor // every string the node matches is an occurrence of one of these
	prefix []factor // every match starts with an occurrence of one of these
	suffix []factor // every match ends with one
	inner  []factor // every match contains one
}

func (f facts) pfx() []factor {
	if f.exact != nil {
		return f.exact
	}
	return f.prefix
}

func (f facts) sfx() []factor {
	if f.exact != nil {
		return f.exact
	}
	return f.suffix
}

// req returns the most selective set every match contains one of.
func (f facts) req() []factor { return best(f.inner, f.exact, f.prefix, f.suffix) }

// emptyOnly is the facts of an empty-width node: it matches the empty string only.
var emptyOnly = facts{exact: []factor{{}}}

// requiredFactors returns a set of factors one of which occurs in every match of re, or nil when none is known
// that filters anything.
func requiredFactors(re *syntax.Regexp) []factor {
	var set []factor
	for _, f := range deriveFacts(re.Simplify()).req() {
		if len(f) == 0 {
			return nil
		}
		// A line holds no LF, so a match holds none either: an LF at a position is no occurrence (\s would
		// otherwise stop at the end of every line), and a factor that needs one never occurs.
		g := slices.Clone(f)
		ok := true
		for i := range g {
			g[i][0] &^= 1 << '\n'
			ok = ok && g[i].size() > 0
		}
		if ok {
			set = append(set, g)
		}
	}
	if len(set) == 0 {
		return nil
	}
	return set
}

func deriveFacts(t *syntax.Regexp) facts {
	switch t.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return emptyOnly
	case syntax.OpLiteral:
		r := emptyOnly
		for _, c := range t.Rune {
			r = concatFacts(r, runeFacts(c, t.Flags&syntax.FoldCase != 0))
		}
		return r
	case syntax.OpCharClass:
		if pos, ok := classPosition(t.Rune); ok {
			return facts{exact: []factor{pos}}
		}
	case syntax.OpCapture:
		return deriveFacts(t.Sub[0])
	case syntax.OpConcat:
		r := emptyOnly
		for _, s := range t.Sub {
			r = concatFacts(r, deriveFacts(s))
		}
		return r
	case syntax.OpAlternate:
		subs := make([]facts, len(t.Sub))
		for i, s := range t.Sub {
			subs[i] = deriveFacts(s)
		}
		return altFacts(subs)
	case syntax.OpQuest:
		if s := deriveFacts(t.Sub[0]); s.exact != nil {
			return facts{exact: union(s.exact, []factor{{}})}
		}
	case syntax.OpPlus:
		s := deriveFacts(t.Sub[0])
		return facts{prefix: s.pfx(), suffix: s.sfx(), inner: s.req()}
	case syntax.OpRepeat:
		if t.Min >= 1 {
			s := deriveFacts(t.Sub[0])
			return facts{prefix: s.pfx(), suffix: s.sfx(), inner: s.req()}
		}
	}
	// Star, any char, large or non-ASCII classes, no match: nothing known.
	return facts{}
}

// runeFacts is a single rune: its UTF-8 bytes, or with fold the bytes of every rune of its case-folding orbit
// position by position, when they all have the same length (K and S also fold to the 3-byte KELVIN SIGN and
// 2-byte LONG S, so they are unknown). U+FFFD is unknown too: the regexp also matches it for an invalid byte.
func runeFacts(r rune, fold bool) facts {
	orbit := []rune{r}
	if fold {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			orbit = append(orbit, f)
		}
	}
	var pos factor
	for _, c := range orbit {
		if c == utf8.RuneError || c < 0 || c > unicode.MaxRune {
			return facts{}
		}
		var b [utf8.UTFMax]byte
		n := utf8.EncodeRune(b[:], c)
		if pos == nil {
			pos = make(factor, n)
		} else if n != len(pos) {
			return facts{}
		}
		for i := range n {
			pos[i].add(b[i])
		}
	}
	return facts{exact: []factor{pos}}
}

// classPosition turns a class (rune ranges) into byte positions: one position for an ASCII class, or one per byte
// for a small class whose runes all encode to the same length.
func classPosition(ranges []rune) (factor, bool) {
	n, width := 0, 0
	for i := 0; i < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		if lo <= utf8.RuneError && utf8.RuneError <= hi {
			return nil, false
		}
		if hi >= utf8.RuneSelf {
			n += int(hi-max(lo, utf8.RuneSelf)) + 1
			if n > maxClassRunes {
				return nil, false
			}
		}
		for _, w := range []int{utf8.RuneLen(lo), utf8.RuneLen(hi)} {
			if w < 0 || width != 0 && w != width {
				return nil, false
			}
			width = w
		}
	}
	if width == 0 {
		return nil, false
	}
	pos := make(factor, width)
	for i := 0; i < len(ranges); i += 2 {
		for c := ranges[i]; c <= ranges[i+1]; c++ {
			var b [utf8.UTFMax]byte
			utf8.EncodeRune(b[:], c)
			for j := range width {
				pos[j].add(b[j])
			}
		}
	}
	return pos, true
}

// concatFacts is the facts of a followed by b.
func concatFacts(a, b facts) facts {
	if a.exact != nil && b.exact != nil {
		if x := cross(a.exact, b.exact); x != nil {
			if longest(x) <= maxFactorLen {
				// One factor both share can be cheaper to search for than all the strings (fail(ed|ure)).
				return facts{exact: x, inner: best(x, a.req(), b.req())}
			}
			p, s := cut(x, false), cut(x, true)
			return facts{prefix: p, suffix: s, inner: best(x, p, s)}
		}
	}
	var r facts
	r.prefix = a.prefix
	if a.exact != nil {
		r.prefix = a.exact
		if x := cross(a.exact, b.pfx()); x != nil {
			r.prefix = cut(x, false)
		}
	}
	r.suffix = b.suffix
	if b.exact != nil {
		r.suffix = b.exact
		if x := cross(a.sfx(), b.exact); x != nil {
			r.suffix = cut(x, true)
		}
	}
	// Where a ends and b begins, a suffix of a is followed by a prefix of b.
	r.inner = best(a.req(), b.req(), cross(a.sfx(), b.pfx()), r.prefix, r.suffix)
	return r
}

// altFacts is the facts of an alternation: each set is the union of the alternatives' sets, known only when
// known for all.
func altFacts(subs []facts) facts {
	var r facts
	get := []func(facts) []factor{func(f facts) []factor { return f.exact }, facts.pfx, facts.sfx, facts.req}
	out := []*[]factor{&r.exact, &r.prefix, &r.suffix, &r.inner}
	for k, g := range get {
		var u []factor
		for i, s := range subs {
			x := g(s)
			if x == nil {
				u = nil
				break
			}
			if i == 0 {
				u = x
			} else if u = union(u, x); u == nil {
				break
			}
		}
		*out[k] = u
	}
	if r.exact != nil {
		return facts{exact: r.exact, inner: best(r.exact, r.inner)}
	}
	return r
}

// cross returns every factor of a followed by every factor of b, or nil when either is unknown or the product is
// too large.
func cross(a, b []factor) []factor {
	if a == nil || b == nil || len(a)*len(b) > maxFactors {
		return nil
	}
	out := make([]factor, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = appendUnique(out, append(slices.Clip(x), y...))
		}
	}
	return out
}

// union returns the factors of a and b, or nil when there are too many.
func union(a, b []factor) []factor {
	out := slices.Clone(a)
	for _, f := range b {
		out = appendUnique(out, f)
	}
	if len(out) > maxFactors {
		return nil
	}
	return out
}

func appendUnique(set []factor, f factor) []factor {
	for _, g := range set {
		if g.equal(f) {
			return set
		}
	}
	return append(set, f)
}

// cut bounds every factor to maxFactorLen positions, keeping the first ones (a prefix stays a prefix) or with
// fromEnd the last ones.
func cut(set []factor, fromEnd bool) []factor {
	var out []factor
	for _, f := range set {
		if len(f) > maxFactorLen {
			if fromEnd {
				f = f[len(f)-maxFactorLen:]
			} else {
				f = f[:maxFactorLen]
			}
		}
		out = appendUnique(out, f)
	}
	return out
}

func longest(set []factor) int {
	n := 0
	for _, f := range set {
		n = max(n, len(f))
	}
	return n
}

// best returns the set with the lowest estimated cost on typical text (priorCost); nil sets are skipped.
func best(sets ...[]factor) []factor {
	var b []factor
	bc, bo := 0.0, 0.0
	freq := func(c byte) float64 { return float64(prior[c]) / float64(priorSum) }
	for _, s := range sets {
		if s == nil {
			continue
		}
		// Between sets as cheap to search, the one whose occurrences are rarer: [Ee][Ee] rather than [Ee].
		c, o := setCost(s, freq), occurrences(s, freq)
		if b == nil || c < bc || c == bc && o < bo {
			b, bc, bo = s, c, o
		}
	}
	return b
}

// occurrences estimates how often a factor of set occurs per byte of text, the bytes taken as independent.
func occurrences(set []factor, freq func(byte) float64) float64 {
	total := 0.0
	for _, f := range set {
		o := 1.0
		for i := range f {
			p := 0.0
			f[i].each(func(b byte) { p += freq(b) })
			o *= min(p, 1)
		}
		total += o
	}
	return total
}

// setCost estimates how often a search for set stops on a candidate: for each factor, the frequency of the bytes
// of its rarest position; an empty factor is everywhere.
func setCost(set []factor, freq func(byte) float64) float64 {
	total := 0.0
	for _, f := range set {
		if len(f) == 0 {
			return 1e18
		}
		_, c := rarest(f, freq)
		total += c
	}
	return total
}

// rarest returns the position of f whose bytes are least frequent, and their summed frequency.
func rarest(f factor, freq func(byte) float64) (int, float64) {
	bi, bc := 0, 0.0
	for i := range f {
		c := 0.0
		f[i].each(func(b byte) { c += freq(b) })
		// Longer factors filter better once found, so ties go to later positions indifferently.
		if i == 0 || c < bc {
			bi, bc = i, c
		}
	}
	return bi, bc
}

// prior is an estimate, per byte, of how common it is in command output (English-like text, code and logs), in
// arbitrary units: it ranks the positions of a factor before any output has been seen, and breaks ties after.
var prior = func() (f [256]uint8) {
	for c := range f {
		switch {
		case c >= 0x80:
			f[c] = 2
		case c < 0x20:
			f[c] = 1
		default:
			f[c] = 4
		}
	}
	// Per mille of letters in English text, with the space and the characters of logs and code.
	for c, v := range map[byte]uint8{'e': 100, 't': 75, 'a': 65, 'o': 62, 'i': 58, 'n': 57, 's': 53, 'r': 50, 'h': 40,
		'l': 35, 'd': 33, 'c': 25, 'u': 24, 'm': 21, 'f': 19, 'p': 17, 'g': 17, 'w': 15, 'y': 14, 'b': 12, 'v': 8,
		'k': 6, 'x': 3, 'j': 2, 'q': 2, 'z': 2} {
		f[c] = v
		f[c-'a'+'A'] = max(v/8, 2)
	}
	for _, c := range []byte("0123456789") {
		f[c] = 12
	}
	for _, c := range []byte(".,:/-_=()'\"") {
		f[c] = 9
	}
	f[' '], f['\n'], f['\t'] = 150, 30, 5
	return f
}()

var priorSum = func() (n int) {
	for _, v := range prior {
		n += int(v)
	}
	return n
}()
