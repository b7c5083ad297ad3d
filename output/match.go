package output

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"strings"
)

// MatchLineBytes bounds the part of a line a pattern is matched against: longer lines are matched on their
// first MatchLineBytes bytes (docs/reference.md#poll-wait).
const MatchLineBytes = 64 << 10

// LineMatcher matches a pattern against the lines of one stream of sanitised output fed in arbitrary chunks.
// A line is the text between line feeds, without the LF and one CR before it; a line split across chunks is
// assembled first, so it is matched once whatever the chunk boundaries. With partial set, the trailing
// incomplete line is matched too, as it stands after each chunk (a prompt without a newline); a line is reported
// at most once either way. A LineMatcher is not safe for concurrent use.
type LineMatcher struct {
	re      *regexp.Regexp
	partial bool
	// pre is the pattern in multi-line mode, run over a whole run of complete lines to skip those that cannot
	// match; nil when that is not equivalent (text anchors). preEnd reports that pre uses $, which does not
	// match before a CR of CRLF, so a run holding a CR is scanned line by line.
	pre    *regexp.Regexp
	preEnd bool
	// lit, when not nil, is a literal every match contains (ASCII case-insensitively when fold); searching for it
	// is much faster than running pre, so only lines holding it are matched.
	lit  []byte
	fold bool
	// carry holds the start of the current incomplete line (at most MatchLineBytes); inLine reports that an
	// incomplete line has begun and reported that it already matched.
	carry    []byte
	inLine   bool
	reported bool
}

// NewLineMatcher returns a matcher of re over lines; partial selects matching of the incomplete last line.
func NewLineMatcher(re *regexp.Regexp, partial bool) *LineMatcher {
	m := &LineMatcher{re: re, partial: partial}
	m.lit, m.fold = requiredLiteral(re.String())
	if tree, err := syntax.Parse("(?m:"+re.String()+")", syntax.Perl); err == nil {
		textAnchor, endLine := false, false
		walk(tree, func(t *syntax.Regexp) {
			switch t.Op {
			case syntax.OpBeginText, syntax.OpEndText:
				textAnchor = true
			case syntax.OpEndLine:
				endLine = true
			}
		})
		if !textAnchor {
			if pre, err := regexp.Compile("(?m:" + re.String() + ")"); err == nil {
				m.pre, m.preEnd = pre, endLine
			}
		}
	}
	return m
}

func walk(t *syntax.Regexp, f func(*syntax.Regexp)) {
	f(t)
	for _, s := range t.Sub {
		walk(s, f)
	}
}

// match reports whether one line (terminator removed) matches, on its first MatchLineBytes bytes.
func (m *LineMatcher) match(line []byte) bool {
	if len(line) > MatchLineBytes {
		line = line[:MatchLineBytes]
	}
	return m.re.Match(line)
}

func trimCR(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}

// Feed scans one chunk and calls fn with each line that matches, in order. The slice passed to fn is only valid
// during the call.
func (m *LineMatcher) Feed(p []byte, fn func(line []byte)) {
	i := 0
	if m.inLine {
		nl := bytes.IndexByte(p, '\n')
		if nl < 0 {
			// Once the carry holds MatchLineBytes, more of the line changes nothing that is matched.
			if grew := m.addCarry(p); grew && m.partial && !m.reported && m.match(m.carry) {
				m.reported = true
				fn(m.carry)
			}
			return
		}
		m.addCarry(p[:nl])
		if !m.reported {
			if line := trimCR(m.carry); m.match(line) {
				fn(line)
			}
		}
		m.carry, m.inLine, m.reported = m.carry[:0], false, false
		i = nl + 1
	}
	last := bytes.LastIndexByte(p, '\n')
	for i <= last {
		if m.lit != nil {
			// Every match contains lit: find the next line holding it.
			region := p[i:last]
			k := m.findLit(region)
			if k < 0 {
				break
			}
			i += bytes.LastIndexByte(region[:k], '\n') + 1
		} else if m.pre != nil {
			region := p[i:last]
			if !m.preEnd || bytes.IndexByte(region, '\r') < 0 {
				loc := m.pre.FindIndex(region)
				if loc == nil {
					break
				}
				// Continue from the start of the line holding the candidate match.
				i += bytes.LastIndexByte(region[:loc[0]], '\n') + 1
			}
		}
		nl := i + bytes.IndexByte(p[i:], '\n')
		if line := trimCR(p[i:nl]); m.match(line) {
			fn(line)
		}
		i = nl + 1
	}
	if last+1 < len(p) {
		m.inLine = true
		m.addCarry(p[last+1:])
		if m.partial && m.match(m.carry) {
			m.reported = true
			fn(m.carry)
		}
	}
}

// addCarry appends the next part of the incomplete line and reports whether the carry grew.
func (m *LineMatcher) addCarry(p []byte) bool {
	m.inLine = true
	room := MatchLineBytes - len(m.carry)
	if room <= 0 || len(p) == 0 {
		return false
	}
	m.carry = append(m.carry, p[:min(room, len(p))]...)
	return true
}

// requiredLiteral returns the longest literal that every match of pattern contains: the pattern itself or one
// element of its top-level sequence. fold reports a case-insensitive literal, used only when it is ASCII.
func requiredLiteral(pattern string) (lit []byte, fold bool) {
	t, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false
	}
	t = unwrap(t.Simplify())
	subs := []*syntax.Regexp{t}
	if t.Op == syntax.OpConcat {
		subs = t.Sub
	}
	for _, sub := range subs {
		sub = unwrap(sub)
		if sub.Op != syntax.OpLiteral {
			continue
		}
		f := sub.Flags&syntax.FoldCase != 0
		b := []byte(string(sub.Rune))
		if f {
			if !isASCII(b) {
				continue
			}
			// K and S also fold to non-ASCII runes (KELVIN SIGN, LONG S), which a byte search would miss; any
			// part of a required literal is required too, so keep the longest part without them.
			var part []byte
			for _, piece := range bytes.FieldsFunc(b, func(r rune) bool { return strings.ContainsRune("kKsS", r) }) {
				if len(piece) > len(part) {
					part = piece
				}
			}
			b = part
		}
		if len(b) > len(lit) {
			lit, fold = b, f
		}
	}
	return lit, fold
}

func unwrap(t *syntax.Regexp) *syntax.Regexp {
	for t.Op == syntax.OpCapture {
		t = t.Sub[0]
	}
	return t
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// findLit returns the index of the first occurrence of m.lit in p, or -1. A case-insensitive literal is found by
// its first letter in either case, each searched with IndexByte (vectorised) and remembered until passed.
func (m *LineMatcher) findLit(p []byte) int {
	if !m.fold {
		return bytes.Index(p, m.lit)
	}
	c := m.lit[0]
	lo, up := c|0x20, c&^0x20
	if !('a' <= lo && lo <= 'z') {
		lo, up = c, c
	}
	next := func(from int, b byte) int {
		if k := bytes.IndexByte(p[from:], b); k >= 0 {
			return from + k
		}
		return len(p)
	}
	nl, nu := next(0, lo), len(p)
	if up != lo {
		nu = next(0, up)
	}
	for {
		j := min(nl, nu)
		if j+len(m.lit) > len(p) {
			return -1
		}
		if bytes.EqualFold(p[j:j+len(m.lit)], m.lit) {
			return j
		}
		if nl == j {
			nl = next(j+1, lo)
		}
		if nu == j && up != lo {
			nu = next(j+1, up)
		}
	}
}
