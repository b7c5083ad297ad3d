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
	// pf, when not nil, finds the places where a factor every match contains occurs (prefilter.go): only the
	// lines holding one are run through re, and the rest of the text is skipped at the speed of a byte search.
	pf *prefilter
	// pre, used without pf or when its factors occur about every line (planNone), is the pattern in multi-line
	// mode, run over a whole run of complete lines to skip those that cannot match; nil when that is not
	// equivalent (text anchors). preEnd reports that pre uses $, which does not match before a CR of CRLF, so a
	// run holding a CR is scanned line by line.
	pre    *regexp.Regexp
	preEnd bool
	// carry holds the start of the current incomplete line (at most MatchLineBytes); inLine reports that an
	// incomplete line has begun, reported that it already matched, and cut that the carry dropped bytes of it.
	carry    []byte
	inLine   bool
	reported bool
	cut      bool
}

// NewLineMatcher returns a matcher of re over lines; partial selects matching of the incomplete last line.
func NewLineMatcher(re *regexp.Regexp, partial bool) *LineMatcher {
	m := &LineMatcher{re: re, partial: partial}
	if tree, err := syntax.Parse(re.String(), syntax.Perl); err == nil {
		if set := requiredFactors(tree); set != nil {
			m.pf = newPrefilter(set)
		}
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
	line = capLine(line)
	if m.pf != nil && !m.pf.contains(line) {
		return false
	}
	return m.re.Match(line)
}

func trimCR(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}

// Feed scans one chunk and calls fn with each line that matches, in order: the part matched, its first
// MatchLineBytes bytes. The slice passed to fn is only valid during the call.
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
			// A CR ending a carry that dropped the rest of the line is not the line's last byte.
			line := m.carry
			if !m.cut {
				line = trimCR(line)
			}
			if m.match(line) {
				fn(line)
			}
		}
		m.carry, m.inLine, m.reported, m.cut = m.carry[:0], false, false, false
		i = nl + 1
	}
	last := bytes.LastIndexByte(p, '\n')
	if m.pf != nil {
		m.pf.observe(p)
		m.pf.begin()
	}
	usePF := m.pf != nil && (m.pf.mode != planNone || m.pre == nil)
	for i <= last {
		if usePF {
			// Every match contains a factor: find the next line holding one. The search runs to the last LF, so
			// its remembered positions stay valid from line to line.
			k := m.pf.search(p[:last], i)
			if k < 0 {
				break
			}
			i += bytes.LastIndexByte(p[i:k], '\n') + 1
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
		if line := capLine(trimCR(p[i:nl])); m.re.Match(line) {
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
	if room < len(p) {
		m.cut = true
	}
	if room <= 0 || len(p) == 0 {
		return false
	}
	m.carry = append(m.carry, p[:min(room, len(p))]...)
	return true
}

// capLine returns the part of line that is matched and reported.
func capLine(line []byte) []byte {
	if len(line) > MatchLineBytes {
		return line[:MatchLineBytes]
	}
	return line
}
