package output

import (
	"strings"
	"unicode/utf8"
)

// Trim is the output trimming of results (docs/reference.md#exec-results): leading CR/LF chars and trailing spaces,
// TABs, CRs and LFs go. Leading spaces and TABs stay so that the indentation of the first line survives.
func Trim(s string) string {
	return strings.TrimRight(strings.TrimLeft(s, "\r\n"), " \t\r\n")
}

// TruncateMiddle shortens s to the first k and last k chars around "...", k = floor((max-3)/2), when s has
// more than max chars (docs/reference.md#middle-truncation); the ends carry the most information for commands
// and names. For max < 3, where no ellipsis fits, it returns the first max chars (empty for max <= 0), so the
// result never has more than max chars. Every middle truncation of the server goes through it.
func TruncateMiddle(s string, maxChars int) string {
	n := utf8.RuneCountInString(s)
	if n <= maxChars {
		return s
	}
	if maxChars < 3 {
		return s[:charOffset(s, max(maxChars, 0))]
	}
	k := (maxChars - 3) / 2
	return s[:charOffset(s, k)] + "..." + s[charOffset(s, n-k):]
}

// charOffset returns the byte offset of char k of s (len(s) when s has fewer chars). Unlike dropHeadOffset it
// follows Go's decoding of invalid bytes, since these helpers take strings from anywhere.
func charOffset(s string, k int) int {
	for i := range s {
		if k == 0 {
			return i
		}
		k--
	}
	return len(s)
}

// CollapseSpace turns every run of Unicode white space (including newlines) into one space and trims the
// ends, for one-line labels. Every whitespace collapsing of the server goes through it.
func CollapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// EncodedLen returns the bytes s takes inside a JSON string as encoding/json writes it by default (HTML escaping
// on), without the quotes (docs/reference.md#output-budget). Response budgets are measured this way because mcp-go
// encodes with encoding/json. An invalid byte costs 6, as encoding/json writes it as \ufffd.
func EncodedLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			n += asciiCost[c]
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		n += runeCost(r, size)
		i += size
	}
	return n
}

var asciiCost = func() (t [utf8.RuneSelf]int) {
	for c := range t {
		switch {
		case c == '"' || c == '\\' || c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r':
			t[c] = 2
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			t[c] = 6
		default:
			t[c] = 1
		}
	}
	return t
}()

// runeCost is the encoded size of one decoded char; size is its byte length in the input.
func runeCost(r rune, size int) int {
	switch {
	case r < utf8.RuneSelf:
		return asciiCost[r]
	case r == utf8.RuneError && size == 1, r == '\u2028', r == '\u2029':
		return 6
	default:
		return size
	}
}

// KeepNewest returns the longest suffix of s whose EncodedLen is at most budget, and whether anything was cut.
// Output is cut at its head because the newest output matters most and older output can still be paged.
func KeepNewest(s string, budget int) (kept string, cut bool) {
	if len(s)*6 <= budget {
		return s, false // even all-escaped it fits
	}
	used := 0
	i := len(s)
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		c := runeCost(r, size)
		if used+c > budget {
			break
		}
		used += c
		i -= size
	}
	return s[i:], i > 0
}

// keepOldest returns the longest prefix of s whose EncodedLen is at most budget.
func keepOldest(s string, budget int) string {
	used := 0
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		c := runeCost(r, size)
		if used+c > budget {
			break
		}
		used += c
		i += size
	}
	return s[:i]
}

// LastLine returns the last line of s that is not blank (lines split on LF, a trailing CR removed, white space
// trimmed), or "" when there is none; progress messages show it. It scans from the end so that a large buffer
// costs only its last lines.
func LastLine(s string) string {
	for s != "" {
		line := s
		if i := strings.LastIndexByte(s, '\n'); i >= 0 {
			line, s = s[i+1:], s[:i]
		} else {
			s = ""
		}
		if t := strings.TrimSpace(strings.TrimSuffix(line, "\r")); t != "" {
			return t
		}
	}
	return ""
}
