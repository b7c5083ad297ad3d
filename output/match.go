package output

import (
	"bytes"
	"regexp"
	"regexp/syntax"
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
	// lit, when not nil, is a literal every match begins with (regexp's LiteralPrefix); searching for it is
	// faster than running pre.
	lit []byte
	// carry holds the start of the current incomplete line (at most MatchLineBytes); inLine reports that an
	// incomplete line has begun and reported that it already matched.
	carry    []byte
	inLine   bool
	reported bool
}

// NewLineMatcher returns a matcher of re over lines; partial selects matching of the incomplete last line.
func NewLineMatcher(re *regexp.Regexp, partial bool) *LineMatcher {
	m := &LineMatcher{re: re, partial: partial}
	if lit, _ := re.LiteralPrefix(); lit != "" {
		m.lit = []byte(lit)
	}
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
			// Every match begins with lit: find the next line holding it.
			region := p[i:last]
			k := bytes.Index(region, m.lit)
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
