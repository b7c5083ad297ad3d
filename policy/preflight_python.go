package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// pyFrame is one level of the Python lexer's stack: code (the module, or the replacement field of an f-string), a
// string literal, or the format spec of a replacement field.
type pyFrame struct {
	kind pyFrameKind
	// strings
	quote       byte
	triple, raw bool
	fstr        bool
	// replacement fields: open brackets, and lambdas whose ':' is still to come
	depth, lambdas int
}

type pyFrameKind uint8

const (
	pyCode pyFrameKind = iota
	pyField
	pyString
	pySpec
)

// pythonShellVar finds the first shell variable reference, $NAME or ${NAME} with NAME an ASCII identifier, in the
// code of a Python source: outside comments and string literals, where f-string replacement fields are code (also
// strings nested in them, with the same quote as Python 3.12 allows) and their format specs after ':' are text. It
// returns the reference as written, NAME and the byte offset of the '$'.
//
// The lexer is no Python parser: it knows what decides whether a '$' is code (comments, the string prefixes r, b,
// u, f, t and their pairs, single and triple quotes, escapes, line continuations inside strings, an unterminated
// single-quoted string ending at a line break, '{{' and '}}' in f-strings, nested brackets, lambda's ':' and the
// '!r' conversions of fields). Any source is accepted; invalid Python gives a best guess.
func pythonShellVar(src string) (token, name string, off int, found bool) {
	stack := []pyFrame{{kind: pyCode}}
	top := func() *pyFrame { return &stack[len(stack)-1] }
	pop := func() {
		if len(stack) > 1 {
			stack = stack[:len(stack)-1]
		}
	}
	for i := 0; i < len(src); {
		f := top()
		c := src[i]
		switch f.kind {
		case pyString:
			switch {
			case c == '\\' && i+1 < len(src):
				// An escape (or, in a raw string, a backslash that still keeps the next quote from ending it). In an
				// f-string a brace after it is not escaped: f"\\{x}" and f"\{x}" both open a field.
				if f.fstr && (src[i+1] == '{' || src[i+1] == '}') {
					i++
				} else if src[i+1] == '\r' && i+2 < len(src) && src[i+2] == '\n' {
					i += 3
				} else {
					i += 2
				}
			case c == f.quote:
				if !f.triple {
					pop()
					i++
				} else if strings.HasPrefix(src[i:], strings.Repeat(string(c), 3)) {
					pop()
					i += 3
				} else {
					i++
				}
			case (c == '\n' || c == '\r') && !f.triple:
				pop() // unterminated: the line break ends it, and the next line is code again
			case f.fstr && c == '{':
				if i+1 < len(src) && src[i+1] == '{' {
					i += 2
				} else {
					stack = append(stack, pyFrame{kind: pyField})
					i++
				}
			case f.fstr && c == '}' && i+1 < len(src) && src[i+1] == '}':
				i += 2
			default:
				i++
			}
		case pySpec: // the field frame, turned into its format spec at its ':'
			switch c {
			case '{':
				stack = append(stack, pyFrame{kind: pyField})
				i++
			case '}':
				pop() // the field ends
				i++
			case '\n', '\r':
				if j := enclosingString(stack); stack[j].triple {
					i++
				} else {
					stack = stack[:j] // the string is unterminated: the next line is code
				}
			default:
				i++
			}
		default: // code: the module or a replacement field
			switch {
			case c == '#':
				for i < len(src) && src[i] != '\n' && src[i] != '\r' {
					i++
				}
			case c == '\'' || c == '"':
				i = openString(&stack, src, i, "")
			case c == '$':
				if tok, n, ok := shellVarAt(src[i:]); ok {
					return tok, n, i, true
				}
				i++
			case c == '\\' && i+1 < len(src) && (src[i+1] == '\n' || src[i+1] == '\r'):
				i += 2
			case isPyIdentStart(src, i):
				start := i
				for i < len(src) && isPyIdentChar(src, i) {
					_, size := utf8.DecodeRuneInString(src[i:])
					i += size
				}
				word := src[start:i]
				if i < len(src) && (src[i] == '\'' || src[i] == '"') && isStringPrefix(word) {
					i = openString(&stack, src, i, strings.ToLower(word))
				} else if word == "lambda" && f.kind == pyField {
					f.lambdas++
				}
			case f.kind == pyField:
				i = fieldPunct(&stack, src, i)
			default:
				i++
			}
		}
	}
	return "", "", 0, false
}

// fieldPunct handles the char at i inside a replacement field that is no identifier, string or comment: brackets
// nest; at depth 0 a '}' ends the field, a ':' starts its format spec unless it belongs to a lambda, and '!' with
// a letter is a conversion.
func fieldPunct(stack *[]pyFrame, src string, i int) int {
	f := &(*stack)[len(*stack)-1]
	switch c := src[i]; {
	case c == '(' || c == '[' || c == '{':
		f.depth++
	case (c == ')' || c == ']' || c == '}') && f.depth > 0:
		f.depth--
	case c == '}':
		*stack = (*stack)[:len(*stack)-1]
	case c == ':' && f.depth == 0 && f.lambdas > 0:
		f.lambdas--
	case c == ':' && f.depth == 0:
		f.kind = pySpec
	case c == '!' && f.depth == 0 && i+1 < len(src) && src[i+1] != '=':
		return i + 2 // !r, !s, !a
	case c == '\n' || c == '\r':
		// A field of a single-quoted f-string cannot span lines: the string is unterminated.
		if j := enclosingString(*stack); !(*stack)[j].triple {
			*stack = (*stack)[:j]
			return i
		}
	}
	return i + 1
}

// enclosingString is the index of the f-string that the replacement field or spec on top of stack belongs to.
func enclosingString(stack []pyFrame) int {
	for j := len(stack) - 2; j > 0; j-- {
		if stack[j].kind == pyString {
			return j
		}
	}
	return 1 // not reached: a field is only ever pushed above a string
}

// openString pushes the string literal whose opening quote is at i, with prefix (lower case), and returns the
// index after the quote(s).
func openString(stack *[]pyFrame, src string, i int, prefix string) int {
	q := src[i]
	f := pyFrame{kind: pyString, quote: q, raw: strings.ContainsRune(prefix, 'r'),
		fstr: strings.ContainsRune(prefix, 'f') || strings.ContainsRune(prefix, 't')}
	if strings.HasPrefix(src[i:], strings.Repeat(string(q), 3)) {
		f.triple = true
		i += 3
	} else {
		i++
	}
	*stack = append(*stack, f)
	return i
}

// isStringPrefix reports whether word, just before a quote, is a string prefix.
func isStringPrefix(word string) bool {
	switch strings.ToLower(word) {
	case "r", "u", "b", "f", "t", "br", "rb", "fr", "rf", "tr", "rt":
		return true
	}
	return false
}

// shellVarAt matches $NAME or ${NAME} at the start of s.
func shellVarAt(s string) (token, name string, ok bool) {
	rest := s[1:]
	braced := strings.HasPrefix(rest, "{")
	if braced {
		rest = rest[1:]
	}
	n := 0
	for n < len(rest) && (rest[n] == '_' || rest[n] >= 'A' && rest[n] <= 'Z' || rest[n] >= 'a' && rest[n] <= 'z' ||
		n > 0 && rest[n] >= '0' && rest[n] <= '9') {
		n++
	}
	if n == 0 {
		return "", "", false
	}
	if !braced {
		return s[:1+n], rest[:n], true
	}
	if n < len(rest) && rest[n] == '}' {
		return s[:2+n+1], rest[:n], true
	}
	return "", "", false
}

// isPyIdentStart reports whether an identifier (or a number, which is scanned the same way) starts at i.
func isPyIdentStart(src string, i int) bool {
	r, _ := utf8.DecodeRuneInString(src[i:])
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isPyIdentChar(src string, i int) bool {
	r, _ := utf8.DecodeRuneInString(src[i:])
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)
}
