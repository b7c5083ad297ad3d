package tools

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/execmcp/execmcp/sessions"
)

// namedKey is one row of the key table (docs/reference.md#send-keys).
type namedKey struct {
	seq        string
	modifiable bool
}

var namedKeys = func() map[string]namedKey {
	m := map[string]namedKey{}
	add := func(seq string, modifiable bool, names ...string) {
		for _, n := range names {
			m[n] = namedKey{seq, modifiable}
		}
	}
	add("\r", false, "enter", "return")
	add("\t", false, "tab")
	add("\x1b", false, "escape", "esc")
	add(" ", false, "space")
	add("\x7f", false, "bspace", "backspace")
	add("\x1b[A", true, "up")
	add("\x1b[B", true, "down")
	add("\x1b[C", true, "right")
	add("\x1b[D", true, "left")
	add("\x1b[1~", true, "home")
	add("\x1b[4~", true, "end")
	add("\x1b[5~", true, "pageup", "pgup", "ppage")
	add("\x1b[6~", true, "pagedown", "pgdn", "npage")
	add("\x1b[2~", true, "insert", "ic")
	add("\x1b[3~", true, "delete", "del", "dc")
	add("\x1b[Z", false, "btab")
	add("\x1bOP", false, "f1")
	add("\x1bOQ", false, "f2")
	add("\x1bOR", false, "f3")
	add("\x1bOS", false, "f4")
	for i, n := range []string{"15", "17", "18", "19", "20", "21", "23", "24"} {
		add("\x1b["+n+"~", false, "f"+strconv.Itoa(i+5))
	}
	add("\x1bOo", false, "kp/")
	add("\x1bOj", false, "kp*")
	add("\x1bOm", false, "kp-")
	add("\x1bOk", false, "kp+")
	for d := range 10 {
		add("\x1bO"+string(rune('p'+d)), false, "kp"+strconv.Itoa(d))
	}
	add("\x1bOn", false, "kp.")
	add("\x1bOM", false, "kpenter")
	return m
}()

// applicationKeys are the unmodified cursor keys in application cursor mode (docs/reference.md#send-keys).
var applicationKeys = map[string]string{
	"up": "\x1bOA", "down": "\x1bOB", "right": "\x1bOC", "left": "\x1bOD", "home": "\x1bOH", "end": "\x1bOF",
}

// cursorKeys are the keys whose encoding depends on the cursor-key mode.
var cursorKeys = map[string]bool{"up": true, "down": true, "left": true, "right": true, "home": true, "end": true}

type modifiers struct{ ctrl, alt, shift bool }

func (m modifiers) any() bool { return m.ctrl || m.alt || m.shift }

// splitModifiers removes C-/M-/S- prefixes while the remaining text is longer than 2 chars.
func splitModifiers(tok string) (modifiers, string) {
	var m modifiers
	for utf8.RuneCountInString(tok) > 2 && tok[1] == '-' {
		switch tok[0] {
		case 'C', 'c':
			m.ctrl = true
		case 'M', 'm':
			m.alt = true
		case 'S', 's':
			m.shift = true
		default:
			return m, tok
		}
		tok = tok[2:]
	}
	return m, tok
}

// isCursorKeyToken reports whether a send-keys token is an unmodified cursor key, whose encoding needs the
// cursor-key mode (docs/reference.md#send-keys).
func isCursorKeyToken(tok string) bool {
	tok = strings.TrimSpace(tok)
	m, base := splitModifiers(tok)
	return !m.any() && cursorKeys[asciiLower(base)]
}

// EncodeKeys builds the send-keys payload (docs/reference.md#send-keys): literal + hex bytes + encoded keys, and
// the warnings of invalid hex items and unknown modified keys. mode selects the cursor-key encoding; unknown
// encodes like normal.
func EncodeKeys(literal string, hex, keys []string, mode sessions.CursorMode) ([]byte, []string) {
	var out []byte
	var warnings []string
	out = append(out, literal...)
	for _, raw := range hex {
		b, ok := hexByte(raw)
		if !ok {
			warnings = append(warnings, "Invalid hex byte: "+raw)
			continue
		}
		out = append(out, b)
	}
	for _, raw := range keys {
		seq, warn := encodeKey(raw, mode)
		out = append(out, seq...)
		if warn != "" {
			warnings = append(warnings, warn)
		}
	}
	return out, warnings
}

func hexByte(raw string) (byte, bool) {
	s := strings.TrimSpace(raw)
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		s = s[2:]
	}
	if len(s) < 1 || len(s) > 2 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 16, 8)
	if err != nil {
		return 0, false
	}
	return byte(v), true
}

// encodeKey encodes one key token.
func encodeKey(raw string, mode sessions.CursorMode) (string, string) {
	tok := strings.TrimSpace(raw)
	if tok == "" {
		return "", ""
	}
	// 1. Caret form.
	if utf8.RuneCountInString(tok) == 2 && tok[0] == '^' {
		x := tok[1]
		if x == '?' {
			return "\x7f", ""
		}
		if x >= 'a' && x <= 'z' {
			x -= 'a' - 'A'
		}
		if x >= '@' && x <= '_' {
			return string([]byte{x - 0x40}), ""
		}
	}
	// 2. Modifier prefixes.
	m, base := splitModifiers(tok)
	lower := asciiLower(base)
	// 3. Shift-Tab.
	if m.shift && lower == "tab" {
		return "\x1b[Z", ""
	}
	// 4-7. Named keys.
	if k, ok := namedKeys[lower]; ok {
		switch {
		case k.modifiable && m.any():
			p := 1
			if m.shift {
				p++
			}
			if m.alt {
				p += 2
			}
			if m.ctrl {
				p += 4
			}
			return modifySequence(k.seq, p), ""
		case k.modifiable && mode == sessions.CursorApplication && applicationKeys[lower] != "":
			return applicationKeys[lower], ""
		case m.alt:
			return "\x1b" + k.seq, ""
		default:
			return k.seq, ""
		}
	}
	// 8. A single character.
	if utf8.ValidString(base) && utf8.RuneCountInString(base) == 1 {
		r, _ := utf8.DecodeRuneInString(base)
		s := base
		if m.shift && r >= 'a' && r <= 'z' {
			s = string(r - ('a' - 'A'))
		}
		if m.ctrl {
			if c, ok := ctrlChar(r); ok {
				s = string([]byte{c})
			}
		}
		if m.alt {
			s = "\x1b" + s
		}
		return s, ""
	}
	// 9. Anything else is literal text.
	if m.any() {
		return base, fmt.Sprintf("Unknown key \"%s\" for modifiers; sending literal.", base)
	}
	return base, ""
}

// asciiLower lower-cases A..Z only: key names are ASCII, so a look-alike such as the Kelvin sign (which Unicode
// lower-cases to k) does not name a key.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// modifySequence adds the xterm modifier parameter: ESC[n~ => ESC[n;m~ and ESC[X => ESC[1;mX.
func modifySequence(seq string, m int) string {
	body := seq[2:] // after ESC[
	if strings.HasSuffix(body, "~") {
		return "\x1b[" + strings.TrimSuffix(body, "~") + ";" + strconv.Itoa(m) + "~"
	}
	return "\x1b[1;" + strconv.Itoa(m) + body
}

func ctrlChar(r rune) (byte, bool) {
	switch {
	case r >= 'a' && r <= 'z':
		return byte(r-'a') + 1, true
	case r >= 'A' && r <= 'Z':
		return byte(r-'A') + 1, true
	}
	switch r {
	case '@', ' ':
		return 0x00, true
	case '[':
		return 0x1b, true
	case '\\':
		return 0x1c, true
	case ']':
		return 0x1d, true
	case '^':
		return 0x1e, true
	case '_':
		return 0x1f, true
	case '?':
		return 0x7f, true
	}
	return 0, false
}
