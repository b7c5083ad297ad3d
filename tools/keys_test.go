package tools

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/execmcp/execmcp/sessions"
)

const esc = "\x1b"

func TestEncodeKeyTable(t *testing.T) {
	normal := sessions.CursorNormal
	app := sessions.CursorApplication
	tests := []struct {
		key  string
		mode sessions.CursorMode
		want string
		warn string
	}{
		// named keys of docs/reference.md#send-keys, every name
		{"enter", normal, "\r", ""}, {"Return", normal, "\r", ""}, {"ENTER", normal, "\r", ""},
		{"tab", normal, "\t", ""},
		{"escape", normal, esc, ""}, {"esc", normal, esc, ""},
		{"space", normal, " ", ""},
		{"bspace", normal, "\x7f", ""}, {"backspace", normal, "\x7f", ""},
		{"up", normal, esc + "[A", ""}, {"down", normal, esc + "[B", ""},
		{"right", normal, esc + "[C", ""}, {"left", normal, esc + "[D", ""},
		{"home", normal, esc + "[1~", ""}, {"end", normal, esc + "[4~", ""},
		{"pageup", normal, esc + "[5~", ""}, {"pgup", normal, esc + "[5~", ""}, {"ppage", normal, esc + "[5~", ""},
		{"pagedown", normal, esc + "[6~", ""}, {"pgdn", normal, esc + "[6~", ""}, {"npage", normal, esc + "[6~", ""},
		{"insert", normal, esc + "[2~", ""}, {"ic", normal, esc + "[2~", ""},
		{"delete", normal, esc + "[3~", ""}, {"del", normal, esc + "[3~", ""}, {"dc", normal, esc + "[3~", ""},
		{"btab", normal, esc + "[Z", ""},
		{"f1", normal, esc + "OP", ""}, {"f2", normal, esc + "OQ", ""}, {"f3", normal, esc + "OR", ""}, {"F4", normal, esc + "OS", ""},
		{"f5", normal, esc + "[15~", ""}, {"f6", normal, esc + "[17~", ""}, {"f7", normal, esc + "[18~", ""},
		{"f8", normal, esc + "[19~", ""}, {"f9", normal, esc + "[20~", ""}, {"f10", normal, esc + "[21~", ""},
		{"f11", normal, esc + "[23~", ""}, {"f12", normal, esc + "[24~", ""},
		{"kp/", normal, esc + "Oo", ""}, {"kp*", normal, esc + "Oj", ""}, {"kp-", normal, esc + "Om", ""}, {"kp+", normal, esc + "Ok", ""},
		{"kp0", normal, esc + "Op", ""}, {"kp1", normal, esc + "Oq", ""}, {"kp2", normal, esc + "Or", ""}, {"kp3", normal, esc + "Os", ""},
		{"kp4", normal, esc + "Ot", ""}, {"kp5", normal, esc + "Ou", ""}, {"kp6", normal, esc + "Ov", ""}, {"kp7", normal, esc + "Ow", ""},
		{"kp8", normal, esc + "Ox", ""}, {"kp9", normal, esc + "Oy", ""}, {"kp.", normal, esc + "On", ""}, {"KPEnter", normal, esc + "OM", ""},
		// application cursor mode
		{"up", app, esc + "OA", ""}, {"down", app, esc + "OB", ""}, {"right", app, esc + "OC", ""}, {"left", app, esc + "OD", ""},
		{"home", app, esc + "OH", ""}, {"end", app, esc + "OF", ""}, {"pageup", app, esc + "[5~", ""},
		{"up", sessions.CursorUnknown, esc + "[A", ""},
		// caret form
		{"^C", normal, "\x03", ""}, {"^c", normal, "\x03", ""}, {"^?", normal, "\x7f", ""}, {"^[", normal, esc, ""},
		{"^@", normal, "\x00", ""}, {"^_", normal, "\x1f", ""}, {"^1", normal, "^1", ""},
		// modifiers on modifiable keys (either mode)
		{"C-right", normal, esc + "[1;5C", ""}, {"M-up", normal, esc + "[1;3A", ""}, {"S-down", normal, esc + "[1;2B", ""},
		{"C-home", normal, esc + "[1;5~", ""}, {"C-delete", normal, esc + "[3;5~", ""}, {"C-M-S-left", normal, esc + "[1;8D", ""},
		{"C-up", app, esc + "[1;5A", ""}, {"s-pgdn", normal, esc + "[6;2~", ""},
		// shift-tab
		{"S-Tab", normal, esc + "[Z", ""}, {"s-tab", normal, esc + "[Z", ""},
		// alt on other named keys; ctrl and shift ignored
		{"M-enter", normal, esc + "\r", ""}, {"C-enter", normal, "\r", ""}, {"M-f1", normal, esc + esc + "OP", ""},
		// single characters
		{"C-c", normal, "\x03", ""}, {"C-C", normal, "\x03", ""}, {"M-x", normal, esc + "x", ""}, {"C-M-a", normal, esc + "\x01", ""},
		{"S-a", normal, "A", ""}, {"C-@", normal, "\x00", ""}, {"C-[", normal, esc, ""}, {`C-\`, normal, "\x1c", ""},
		{"C-]", normal, "\x1d", ""}, {"C-^", normal, "\x1e", ""}, {"C-_", normal, "\x1f", ""}, {"C-?", normal, "\x7f", ""},
		{"C-1", normal, "1", ""}, {"h", normal, "h", ""}, {"é", normal, "é", ""}, {"M-é", normal, esc + "é", ""},
		// anything else
		{"C-foo", normal, "foo", `Unknown key "foo" for modifiers; sending literal.`},
		{"hello", normal, "hello", ""}, {"  ", normal, "", ""}, {" Enter ", normal, "\r", ""},
		{"C-", normal, "C-", ""}, {"S--", normal, "-", ""},
	}
	for _, tc := range tests {
		got, warn := encodeKey(tc.key, tc.mode)
		if got != tc.want || warn != tc.warn {
			t.Errorf("encodeKey(%q, %s) = %q, %q; want %q, %q", tc.key, tc.mode, got, warn, tc.want, tc.warn)
		}
	}
}

func TestEncodeKeys(t *testing.T) {
	out, warnings := EncodeKeys("hi", []string{"0d", "0x0a", "zz"}, []string{"Enter"}, sessions.CursorNormal)
	if string(out) != "hi\r\n\r" {
		t.Errorf("payload %q", out)
	}
	if !reflect.DeepEqual(warnings, []string{"Invalid hex byte: zz"}) {
		t.Errorf("warnings %q", warnings)
	}
	out, warnings = EncodeKeys("", []string{"ff", " 0XFF ", "F", "0x", "100", "g1"}, nil, sessions.CursorNormal)
	if !bytes.Equal(out, []byte{0xff, 0xff, 0x0f}) {
		t.Errorf("hex payload %x", out)
	}
	want := []string{"Invalid hex byte: 0x", "Invalid hex byte: 100", "Invalid hex byte: g1"}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("hex warnings %q", warnings)
	}
	out, warnings = EncodeKeys("", nil, []string{"C-foo", "x"}, sessions.CursorNormal)
	if string(out) != "foox" || len(warnings) != 1 {
		t.Errorf("C-foo: %q %q", out, warnings)
	}
}

func TestIsCursorKeyToken(t *testing.T) {
	for tok, want := range map[string]bool{
		"up": true, " Down ": true, "LEFT": true, "right": true, "home": true, "End": true,
		"C-up": false, "pageup": false, "Enter": false, "upx": false, "": false,
	} {
		if got := isCursorKeyToken(tok); got != want {
			t.Errorf("isCursorKeyToken(%q) = %v", tok, got)
		}
	}
}

// allowedBytes is every byte the key table can produce.
var allowedBytes = func() map[byte]bool {
	m := map[byte]bool{}
	for _, k := range namedKeys {
		for i := 0; i < len(k.seq); i++ {
			m[k.seq[i]] = true
		}
	}
	for _, s := range applicationKeys {
		for i := 0; i < len(s); i++ {
			m[s[i]] = true
		}
	}
	for _, b := range []byte("0123456789;~[") {
		m[b] = true
	}
	for b := 0; b < 0x20; b++ {
		m[byte(b)] = true // ctrl characters
	}
	m[0x7f] = true
	return m
}()

func FuzzEncodeKeys(f *testing.F) {
	f.Add("hi", "0d", "Enter", false)
	f.Add("", "zz", "C-M-S-up", true)
	f.Add("", "0xff", "^?", false)
	f.Add("x", "", "M-é", true)
	f.Fuzz(func(t *testing.T, literal, hexItem, key string, app bool) {
		mode := sessions.CursorNormal
		if app {
			mode = sessions.CursorApplication
		}
		out, warnings := EncodeKeys(literal, []string{hexItem}, []string{key}, mode)
		if !bytes.HasPrefix(out, []byte(literal)) {
			t.Fatalf("payload %q does not start with the literal", out)
		}
		rest := out[len(literal):]
		if b, ok := hexByte(hexItem); ok {
			if len(rest) == 0 || rest[0] != b {
				t.Fatalf("hex byte missing: %q", out)
			}
			rest = rest[1:]
		}
		if len(warnings) > 2 {
			t.Fatalf("too many warnings %q", warnings)
		}
		// Every remaining byte comes from the key table, the ESC prefix, a ctrl mapping, or the key text.
		token := strings.TrimSpace(key)
		for _, b := range rest {
			if !allowedBytes[b] && !strings.ContainsRune(token, rune(b)) && !bytes.Contains([]byte(token), []byte{b}) && !(b >= 'A' && b <= 'Z') {
				t.Fatalf("byte %#x of %q not from the table or the token %q", b, rest, token)
			}
		}
		if len(rest) > len(token)+8 {
			t.Fatalf("payload %q too long for token %q", rest, token)
		}
	})
}
