package tools

// The send-keys encoder against docs/reference.md#send-keys, typed in from the reference independently of keys.go:
// every row of the named-key table with every alias and case, every modifier combination and order, caret forms
// over all of ASCII, single-character modifiers, and a fuzz test comparing EncodeKeys with a reference encoder
// and checking that every output byte comes from the documented table, the literal, the hex items or the token.

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/execmcp/execmcp/sessions"
)

// specKeys is the named-key table of docs/reference.md#send-keys.
var specKeys = []struct {
	names      []string
	seq        string
	modifiable bool
	app        string // the application cursor mode sequence (step 5), "" when the mode does not matter
}{
	{[]string{"enter", "return"}, "\r", false, ""},
	{[]string{"tab"}, "\t", false, ""},
	{[]string{"escape", "esc"}, "\x1b", false, ""},
	{[]string{"space"}, " ", false, ""},
	{[]string{"bspace", "backspace"}, "\x7f", false, ""},
	{[]string{"up"}, "\x1b[A", true, "\x1bOA"},
	{[]string{"down"}, "\x1b[B", true, "\x1bOB"},
	{[]string{"right"}, "\x1b[C", true, "\x1bOC"},
	{[]string{"left"}, "\x1b[D", true, "\x1bOD"},
	{[]string{"home"}, "\x1b[1~", true, "\x1bOH"},
	{[]string{"end"}, "\x1b[4~", true, "\x1bOF"},
	{[]string{"pageup", "pgup", "ppage"}, "\x1b[5~", true, ""},
	{[]string{"pagedown", "pgdn", "npage"}, "\x1b[6~", true, ""},
	{[]string{"insert", "ic"}, "\x1b[2~", true, ""},
	{[]string{"delete", "del", "dc"}, "\x1b[3~", true, ""},
	{[]string{"btab"}, "\x1b[Z", false, ""},
	{[]string{"f1"}, "\x1bOP", false, ""},
	{[]string{"f2"}, "\x1bOQ", false, ""},
	{[]string{"f3"}, "\x1bOR", false, ""},
	{[]string{"f4"}, "\x1bOS", false, ""},
	{[]string{"f5"}, "\x1b[15~", false, ""},
	{[]string{"f6"}, "\x1b[17~", false, ""},
	{[]string{"f7"}, "\x1b[18~", false, ""},
	{[]string{"f8"}, "\x1b[19~", false, ""},
	{[]string{"f9"}, "\x1b[20~", false, ""},
	{[]string{"f10"}, "\x1b[21~", false, ""},
	{[]string{"f11"}, "\x1b[23~", false, ""},
	{[]string{"f12"}, "\x1b[24~", false, ""},
	{[]string{"kp/"}, "\x1bOo", false, ""},
	{[]string{"kp*"}, "\x1bOj", false, ""},
	{[]string{"kp-"}, "\x1bOm", false, ""},
	{[]string{"kp+"}, "\x1bOk", false, ""},
	{[]string{"kp0"}, "\x1bOp", false, ""},
	{[]string{"kp1"}, "\x1bOq", false, ""},
	{[]string{"kp2"}, "\x1bOr", false, ""},
	{[]string{"kp3"}, "\x1bOs", false, ""},
	{[]string{"kp4"}, "\x1bOt", false, ""},
	{[]string{"kp5"}, "\x1bOu", false, ""},
	{[]string{"kp6"}, "\x1bOv", false, ""},
	{[]string{"kp7"}, "\x1bOw", false, ""},
	{[]string{"kp8"}, "\x1bOx", false, ""},
	{[]string{"kp9"}, "\x1bOy", false, ""},
	{[]string{"kp."}, "\x1bOn", false, ""},
	{[]string{"kpenter"}, "\x1bOM", false, ""},
}

var allModes = []sessions.CursorMode{sessions.CursorNormal, sessions.CursorApplication, sessions.CursorUnknown}

// caseVariants returns s lower-case, upper-case and with the first letter upper-cased.
func caseVariants(s string) []string {
	return []string{s, strings.ToUpper(s), strings.ToUpper(s[:1]) + s[1:]}
}

// modCombos are every non-empty modifier set, as prefixes in every order, in both letter cases.
type modCombo struct {
	prefix           string
	ctrl, alt, shift bool
	param            int // the xterm modifier parameter 1 + shift + 2*alt + 4*ctrl
}

func allModCombos() []modCombo {
	var out []modCombo
	letters := []string{"C", "M", "S"}
	var perms func(prefix string, used [3]bool, c modCombo)
	perms = func(prefix string, used [3]bool, c modCombo) {
		if prefix != "" {
			c.prefix = prefix
			c.param = 1
			if c.shift {
				c.param++
			}
			if c.alt {
				c.param += 2
			}
			if c.ctrl {
				c.param += 4
			}
			out = append(out, c)
		}
		for i, l := range letters {
			if used[i] {
				continue
			}
			u := used
			u[i] = true
			n := c
			switch l {
			case "C":
				n.ctrl = true
			case "M":
				n.alt = true
			case "S":
				n.shift = true
			}
			perms(prefix+l+"-", u, n)
			perms(prefix+strings.ToLower(l)+"-", u, n)
		}
	}
	perms("", [3]bool{}, modCombo{})
	return out
}

// withParam is ESC[n~ => ESC[n;m~ and ESC[X => ESC[1;mX (step 6).
func withParam(seq string, m int) string {
	if strings.HasSuffix(seq, "~") {
		return strings.TrimSuffix(seq, "~") + fmt.Sprintf(";%d~", m)
	}
	return fmt.Sprintf("\x1b[1;%d%s", m, seq[2:])
}

// Every name and alias of the table, in three cases, in every mode, unmodified and with every modifier combination.
func TestKeysSpecTable(t *testing.T) {
	combos := allModCombos()
	if len(combos) != 2*3+4*6+8*6 { // 1, 2 or 3 modifiers, ordered, each letter in 2 cases
		t.Fatalf("%d modifier combinations", len(combos))
	}
	n := 0
	for _, row := range specKeys {
		for _, name := range row.names {
			for _, tok := range caseVariants(name) {
				for _, mode := range allModes {
					want := row.seq
					if mode == sessions.CursorApplication && row.app != "" {
						want = row.app
					}
					checkKey(t, tok, mode, want, "")
					checkKey(t, " \t"+tok+" ", mode, want, "")
					n++
					for _, c := range combos {
						var want string
						switch {
						case c.shift && name == "tab":
							want = "\x1b[Z"
						case row.modifiable:
							want = withParam(row.seq, c.param)
						case c.alt:
							want = "\x1b" + row.seq
						default:
							want = row.seq // ctrl and shift are ignored for non-modifiable keys
						}
						checkKey(t, c.prefix+tok, mode, want, "")
						n++
					}
				}
			}
		}
	}
	t.Logf("%d named-key cases", n)
	// The examples of the reference, spelled out.
	for tok, want := range map[string]string{
		"C-right": "\x1b[1;5C", "M-up": "\x1b[1;3A", "S-down": "\x1b[1;2B", "C-home": "\x1b[1;5~",
		"C-delete": "\x1b[3;5~", "M-enter": "\x1b\r", "S-Tab": "\x1b[Z", "KPEnter": "\x1bOM", "C-S-M-pgdn": "\x1b[6;8~",
		"M-S-left": "\x1b[1;4D", "C-S-end": "\x1b[4;6~", "c-m-ic": "\x1b[2;7~", "C-M-S-Tab": "\x1b[Z", "C-Tab": "\t",
		"S-enter": "\r", "C-esc": "\x1b", "M-Esc": "\x1b\x1b", "M-space": "\x1b ", "C-space": " ", "M-bspace": "\x1b\x7f",
		"M-btab": "\x1b\x1b[Z", "S-f12": "\x1b[24~", "M-kp.": "\x1b\x1bOn", "C-kp0": "\x1bOp",
	} {
		checkKey(t, tok, sessions.CursorNormal, want, "")
	}
}

func checkKey(t *testing.T, tok string, mode sessions.CursorMode, want, warn string) {
	t.Helper()
	got, w := encodeKey(tok, mode)
	if got != want || w != warn {
		t.Errorf("encodeKey(%q, %s) = %q, %q; want %q, %q", tok, mode, got, w, want, warn)
	}
}

// Caret form (step 1) for every printable ASCII character.
func TestKeysCaretForms(t *testing.T) {
	for c := byte(0x21); c < 0x7f; c++ { // "^ " trims to "^"
		tok := "^" + string(c)
		x := c
		if x >= 'a' && x <= 'z' {
			x -= 0x20
		}
		var want string
		switch {
		case c == '?':
			want = "\x7f"
		case x >= '@' && x <= '_':
			want = string([]byte{x - 0x40})
		default:
			want = tok // not a caret key: a two-char token without modifiers is sent as it is
		}
		for _, mode := range allModes {
			checkKey(t, tok, mode, want, "")
		}
	}
	for tok, want := range map[string]string{
		"^@": "\x00", "^[": "\x1b", `^\`: "\x1c", "^]": "\x1d", "^^": "\x1e", "^_": "\x1f", "^?": "\x7f",
		"^a": "\x01", "^Z": "\x1a", "^é": "^é", "^": "^", "^^^": "^^^", " ^C ": "\x03",
	} {
		checkKey(t, tok, sessions.CursorNormal, want, "")
	}
	// Modifiers do not combine with caret forms: the base ^A is not a key.
	checkKey(t, "C-^A", sessions.CursorNormal, "^A", `Unknown key "^A" for modifiers; sending literal.`)
}

// Single-character bases (step 8) with every modifier combination, for all printable ASCII and a few others.
func TestKeysSingleCharModifiers(t *testing.T) {
	ctrlSpecial := map[rune]byte{'@': 0x00, '[': 0x1b, '\\': 0x1c, ']': 0x1d, '^': 0x1e, '_': 0x1f, '?': 0x7f, ' ': 0x00}
	var chars []rune
	for c := rune(0x21); c < 0x7f; c++ {
		chars = append(chars, c)
	}
	chars = append(chars, 'é', '€', '😀', 'ß')
	for _, c := range chars {
		for _, m := range allModCombos() {
			s := string(c)
			if m.shift && c >= 'a' && c <= 'z' {
				s = string(c - 0x20)
			}
			if m.ctrl {
				switch {
				case c >= 'a' && c <= 'z':
					s = string(rune(c - 'a' + 1))
				case c >= 'A' && c <= 'Z':
					s = string(rune(c - 'A' + 1))
				default:
					if b, ok := ctrlSpecial[c]; ok {
						s = string([]byte{b})
					}
				}
			}
			if m.alt {
				s = "\x1b" + s
			}
			checkKey(t, m.prefix+string(c), sessions.CursorNormal, s, "")
		}
		checkKey(t, string(c), sessions.CursorApplication, string(c), "")
	}
	// The ctrl mapping of step 8 for every listed character, including space (which a trimmed token cannot
	// carry as its base).
	for r, want := range ctrlSpecial {
		if got, ok := ctrlChar(r); !ok || got != want {
			t.Errorf("ctrlChar(%q) = %#x, %v; want %#x", r, got, ok, want)
		}
	}
	for _, r := range []rune{'1', '-', '=', 'é', '{', '`', '~'} {
		if _, ok := ctrlChar(r); ok {
			t.Errorf("ctrlChar(%q) maps; want unchanged", r)
		}
	}
	// Prefix parsing stops at two chars; unknown bases with modifiers warn (step 9).
	for tok, want := range map[string][2]string{
		"C-":        {"C-", ""},
		"C-M-":      {"M-", `Unknown key "M-" for modifiers; sending literal.`},
		"M-C-a":     {"\x1b\x01", ""},
		"x-a":       {"x-a", ""},
		"C-up-":     {"up-", `Unknown key "up-" for modifiers; sending literal.`},
		"C-f13":     {"f13", `Unknown key "f13" for modifiers; sending literal.`},
		"f13":       {"f13", ""},
		"kp":        {"kp", ""},
		"M-héllo":   {"héllo", `Unknown key "héllo" for modifiers; sending literal.`},
		"\u212Ap1":  {"\u212Ap1", ""}, // the Kelvin sign is not the letter K
		"C-\u212Ap": {"\u212Ap", `Unknown key "` + "\u212Ap" + `" for modifiers; sending literal.`},
	} {
		checkKey(t, tok, sessions.CursorNormal, want[0], want[1])
	}
}

// The payload (docs/reference.md#send-keys): literal + hex + keys with the warnings in that order.
func TestKeysPayloadOrder(t *testing.T) {
	out, warnings := EncodeKeys("é", []string{"ff", " 0X1b ", "0x", "1g", "", "00"}, []string{"C-foo", "", "Enter", "S-x"}, sessions.CursorNormal)
	if want := []byte("é\xff\x1b\x00foo\rX"); !bytes.Equal(out, want) {
		t.Errorf("payload %q, want %q", out, want)
	}
	want := []string{"Invalid hex byte: 0x", "Invalid hex byte: 1g", "Invalid hex byte: ", `Unknown key "foo" for modifiers; sending literal.`}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings %q\nwant     %q", warnings, want)
	}
	if out, w := EncodeKeys("", nil, nil, sessions.CursorUnknown); len(out) != 0 || len(w) != 0 {
		t.Errorf("empty: %q %q", out, w)
	}
}

// The shared input preconditions (docs/reference.md#process-input) come in their order, before anything
// send-keys checks.
func TestInputPreconditionOrder(t *testing.T) {
	running := sessions.Info{Status: "running", Backgrounded: true, Writable: true, CursorMode: sessions.CursorUnknown}
	tests := []struct {
		name string
		info func(sessions.Info) sessions.Info
		err  error
		want string
	}{
		{"none", nil, sessions.ErrNotFound, "No active session found for s1"},
		{"foreground", nil, sessions.ErrNotBackgrounded, "Session s1 is not backgrounded."},
		{"finished", func(i sessions.Info) sessions.Info { i.Status = "completed"; i.Writable = false; return i }, nil, "No active session found for s1"},
		{"failed", func(i sessions.Info) sessions.Info { i.Status = "failed"; return i }, nil, "No active session found for s1"},
		{"finalizing", func(i sessions.Info) sessions.Info { i.Finalizing = true; i.Writable = false; return i }, nil, "Session s1 is finalizing."},
		{"not writable", func(i sessions.Info) sessions.Info { i.Writable = false; return i }, nil, "Session s1 stdin is not writable."},
		{"writable", func(i sessions.Info) sessions.Info { return i }, nil, ""},
	}
	for _, tc := range tests {
		info := sessions.Info{}
		if tc.info != nil {
			info = tc.info(running)
		}
		if got := preconditionText(info, tc.err); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := preconditionText(sessions.Info{}, errors.New("other")); got != "No active session found for s1" {
		t.Errorf("other error: %q", got)
	}
}

// preconditionText is the text of session s1's failed input precondition, "" when input may be sent.
func preconditionText(info sessions.Info, err error) string {
	if err := inputPrecondition(info, err); err != nil {
		return writeErrorText("s1", err)
	}
	return ""
}

// refKey encodes one token by the rules of docs/reference.md#send-keys, written from the reference text.
func refKey(raw string, mode sessions.CursorMode) (string, string) {
	tok := strings.TrimSpace(raw)
	if tok == "" {
		return "", ""
	}
	if rs := []rune(tok); utf8.RuneCountInString(tok) == 2 && rs[0] == '^' {
		if rs[1] == '?' {
			return "\x7f", ""
		}
		x := rs[1]
		if x >= 'a' && x <= 'z' {
			x -= 0x20
		}
		if x >= 0x40 && x <= 0x5f {
			return string([]byte{byte(x - 0x40)}), ""
		}
	}
	var ctrl, alt, shift bool
	base := tok
	for utf8.RuneCountInString(base) > 2 && base[1] == '-' && strings.ContainsRune("CMScms", rune(base[0])) {
		switch base[0] {
		case 'C', 'c':
			ctrl = true
		case 'M', 'm':
			alt = true
		default:
			shift = true
		}
		base = base[2:]
	}
	lower := asciiFold(base)
	if shift && lower == "tab" {
		return "\x1b[Z", ""
	}
	for _, row := range specKeys {
		for _, name := range row.names {
			if name != lower {
				continue
			}
			switch {
			case row.modifiable && (ctrl || alt || shift):
				m := 1
				if shift {
					m++
				}
				if alt {
					m += 2
				}
				if ctrl {
					m += 4
				}
				return withParam(row.seq, m), ""
			case mode == sessions.CursorApplication && row.app != "":
				return row.app, ""
			case alt:
				return "\x1b" + row.seq, ""
			}
			return row.seq, ""
		}
	}
	if utf8.ValidString(base) && utf8.RuneCountInString(base) == 1 {
		r := []rune(base)[0]
		s := base
		if shift && r >= 'a' && r <= 'z' {
			s = string(r - 0x20)
		}
		if ctrl {
			switch {
			case r >= 'a' && r <= 'z':
				s = string(rune(r - 'a' + 1))
			case r >= 'A' && r <= 'Z':
				s = string(rune(r - 'A' + 1))
			case r == '@' || r == ' ':
				s = "\x00"
			case r == '[':
				s = "\x1b"
			case r == '\\':
				s = "\x1c"
			case r == ']':
				s = "\x1d"
			case r == '^':
				s = "\x1e"
			case r == '_':
				s = "\x1f"
			case r == '?':
				s = "\x7f"
			}
		}
		if alt {
			s = "\x1b" + s
		}
		return s, ""
	}
	if ctrl || alt || shift {
		return base, `Unknown key "` + base + `" for modifiers; sending literal.`
	}
	return base, ""
}

func asciiFold(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 0x20
		}
		b.WriteByte(c)
	}
	return b.String()
}

func refHex(raw string) (byte, bool) {
	s := strings.TrimSpace(raw)
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		s = s[2:]
	}
	if len(s) < 1 || len(s) > 2 {
		return 0, false
	}
	var v byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | c
	}
	return v, true
}

// documented is every sequence the table and steps 5-7 can produce.
var documented = func() map[string]bool {
	m := map[string]bool{"\x1b[Z": true}
	for _, row := range specKeys {
		m[row.seq] = true
		m["\x1b"+row.seq] = true
		if row.app != "" {
			m[row.app] = true
		}
		if row.modifiable {
			for p := 2; p <= 8; p++ {
				m[withParam(row.seq, p)] = true
			}
		}
	}
	for b := 0; b < 0x20; b++ {
		m[string([]byte{byte(b)})] = true // caret forms
	}
	m["\x7f"] = true
	return m
}()

// fromToken reports whether seq is derived from the token's own text: a suffix of it (the literal base), or one
// char of it, possibly upper-cased or ctrl-mapped, possibly with an ESC prefix.
func fromToken(seq, token string) bool {
	if strings.HasSuffix(token, seq) {
		return true
	}
	s := strings.TrimPrefix(seq, "\x1b")
	if utf8.RuneCountInString(s) != 1 {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s)
	for _, c := range token {
		if c == r || (c >= 'a' && c <= 'z' && c-0x20 == r) {
			return true
		}
		if b, ok := ctrlChar(c); ok && rune(b) == r {
			return true
		}
	}
	return false
}

func FuzzKeysAgainstSpec(f *testing.F) {
	f.Add("hi", "0d,0x0a,zz", "Enter", uint8(0))
	f.Add("", "ff", "C-M-S-up,^?,M-x,S-Tab", uint8(1))
	f.Add("é", "", "kp.,KPEnter,f12,C-foo,c-s-pgdn", uint8(2))
	f.Add("\x00", "0X7,100,", "  ,^,^@,C-,M-é,\u212Ap1", uint8(1))
	f.Fuzz(func(t *testing.T, literal, hexList, keyList string, m uint8) {
		mode := allModes[int(m)%len(allModes)]
		hex := strings.Split(hexList, ",")
		keys := strings.Split(keyList, ",")
		out, warnings := EncodeKeys(literal, hex, keys, mode)

		// Exactly the reference encoding: literal, then the valid hex bytes, then every key.
		want := []byte(literal)
		var wantWarn []string
		for _, h := range hex {
			if b, ok := refHex(h); ok {
				want = append(want, b)
			} else {
				wantWarn = append(wantWarn, "Invalid hex byte: "+h)
			}
		}
		for _, k := range keys {
			seq, w := refKey(k, mode)
			want = append(want, seq...)
			if w != "" {
				wantWarn = append(wantWarn, w)
			}
			// Provenance: each key's bytes are a documented sequence or come from the token's own text.
			got, _ := encodeKey(k, mode)
			if got != "" && !documented[got] && !fromToken(got, strings.TrimSpace(k)) {
				t.Fatalf("key %q encodes to %q: neither a documented sequence nor the token's text", k, got)
			}
		}
		if !bytes.Equal(out, want) {
			t.Fatalf("EncodeKeys(%q, %q, %q, %s) = %q; reference %q", literal, hex, keys, mode, out, want)
		}
		if len(warnings) != len(wantWarn) || (len(wantWarn) > 0 && !reflect.DeepEqual(warnings, wantWarn)) {
			t.Fatalf("warnings %q; reference %q", warnings, wantWarn)
		}
	})
}
