package output

import (
	"slices"
	"strings"
	"testing"
)

func sanitizeParts(parts ...string) (string, []Event) {
	var s Sanitizer
	var sb strings.Builder
	var evs []Event
	for _, p := range parts {
		c, e := s.Sanitize(p)
		sb.WriteString(c)
		evs = append(evs, e...)
	}
	return sb.String(), evs
}

func TestSanitizer(t *testing.T) {
	const E = "\x1b"
	app, norm, dsr := EventCursorApplication, EventCursorNormal, EventDSR
	tests := []struct {
		name   string
		parts  []string
		want   string
		events []Event
	}{
		{"plain", []string{"hello\n"}, "hello\n", nil},
		{"escapes (reference example)", []string{E + "[31mRED" + E + "[0m " + E + "]0;title\aok\n"}, "RED ok\n", nil},
		{"split CSI (reference example)", []string{E + "[3", "1mX\n"}, "X\n", nil},
		{"controls (reference example)", []string{"a\x01b\tc\r\n"}, "ab\tc\r\n", nil},
		{"progress bar (reference example)", []string{"10%\r50%\r100%\n"}, "10%\r50%\r100%\n", nil},
		{"C0 dropped", []string{"\x00a\x07b\x08c\x0bd\x0ce\x1ff"}, "abcdef", nil},
		{"DEL, C1, format chars, U+FFFD kept", []string{"a\x7fb\u0085c\u009cd\u0080\u009a\u200be\uFFFD"}, "a\x7fb\u0085c\u009cd\u0080\u009a\u200be\uFFFD", nil},
		{"C1 CSI", []string{"a\u009b31mred\u009b0mb"}, "aredb", nil},
		{"C1 OSC ST", []string{"a\u009d0;title\u009cb"}, "ab", nil},
		{"C1 OSC BEL", []string{"a\u009d0;title\ab"}, "ab", nil},
		{"C1 OSC ESC ST", []string{"a\u009d0;t" + E + "\\b"}, "ab", nil},
		{"C1 DCS SOS PM APC", []string{"\u0090q#0\u009ca\u0098s\u009cb\u009ep\u009cc\u009fG\u009cd"}, "abcd", nil},
		{"C1 split across reads", []string{"ABC", "DE\u009d0;ti", "tle\u009cF", "G\u009b3", "1mH"}, "ABCDEFGH", nil},
		{"C1 DSR and DECCKM", []string{"\u009b6nx\u009b?1h"}, "x", []Event{dsr, app}},
		{"C1 CSI aborts CSI", []string{E + "[31\u009b0mX"}, "X", nil},
		{"C1 after ESC", []string{"a" + E + "\u009b1mb"}, "ab", nil},
		{"C1 CSI inside a string is consumed", []string{E + "]t\u009b1m\ab"}, "b", nil},
		{"C1 lead without introducer", []string{"\u00a0\u00a9\u00b0 ok"}, "\u00a0\u00a9\u00b0 ok", nil},
		{"C1 CSI in a long plain run", []string{strings.Repeat("x", 13) + "\u009b1m" + strings.Repeat("y", 9)}, strings.Repeat("x", 13) + strings.Repeat("y", 9), nil},
		{"lone ESC held across reads", []string{"a" + E, "[1mb"}, "ab", nil},
		{"lone ESC then text", []string{"a" + E, "b"}, "a", nil}, // ESC b is a complete two-char sequence
		{"two-char sequences", []string{E + "=" + E + ">" + E + "7" + E + "8" + E + "M" + E + "cX"}, "X", nil},
		{"ESC ESC", []string{E + E + "[31mX"}, "X", nil},
		{"ESC then LF", []string{"a" + E + "\nb"}, "a\nb", nil},
		{"ESC then control", []string{"a" + E + "\x01b"}, "ab", nil},
		{"ESC then non-ASCII", []string{"a" + E + "éb"}, "aéb", nil},
		{"ESC then DEL", []string{"a" + E + "\x7fb"}, "a\x7fb", nil},
		{"charset designation", []string{E + "(B" + E + "#8X"}, "X", nil},
		{"escape-intermediate split", []string{E, "(", "BX"}, "X", nil},
		{"escape-intermediate abort", []string{E + "(\x01X" + E + "(éY"}, "XéY", nil},
		{"16 intermediates", []string{E + strings.Repeat(" ", 16) + "0X"}, "X", nil},
		{"17th intermediate is processed in ground", []string{E + strings.Repeat(" ", 17) + "0X"}, " 0X", nil},
		{"OSC BEL", []string{E + "]0;title\aok"}, "ok", nil},
		{"OSC ST", []string{E + "]8;;http://x" + E + "\\link" + E + "]8;;" + E + "\\"}, "link", nil},
		{"OSC ST split", []string{E + "]0;t" + E, "\\ok"}, "ok", nil},
		{"OSC U+009C", []string{E + "]0;t\u009cok"}, "ok", nil},
		{"string-escape other char", []string{E + "]0;t" + E + "[31mX"}, "X", nil},
		{"string-escape ESC", []string{E + "]0;t" + E + E + "[31mX"}, "X", nil},
		{"string-escape plain letter", []string{E + "]0;t" + E + "aX"}, "X", nil},
		{"string-escape control", []string{E + "]0;t" + E + "\nX"}, "\nX", nil},
		{"DCS SOS PM APC", []string{E + "Pq#0" + E + "\\a" + E + "Xs\ab" + E + "^p\ac" + E + "_a\ad"}, "abcd", nil},
		{"string swallows controls and text", []string{E + "]a\nb\x01c", "de\af"}, "f", nil},
		{"string limit", []string{E + "]" + strings.Repeat("a", 4096) + "bc"}, "bc", nil},
		{"string limit split", []string{E + "]" + strings.Repeat("é", 4000), strings.Repeat("é", 96) + "b"}, "b", nil},
		{"string just under limit", []string{E + "]" + strings.Repeat("a", 4095) + "\ab"}, "b", nil},
		{"CSI ESC aborts", []string{E + "[31" + E + "[0mX"}, "X", nil},
		{"CSI other aborts", []string{E + "[31éX" + E + "[1\nY"}, "éX\nY", nil},
		{"CSI control aborts and is dropped", []string{E + "[31\x01X"}, "X", nil},
		{"CSI intermediates", []string{E + "[1 qX" + E + "[?25$pY"}, "XY", nil},
		{"CSI 64 collected", []string{E + "[" + strings.Repeat("1", 64) + "mX"}, "X", nil},
		{"CSI more than 64 collected", []string{E + "[" + strings.Repeat("1", 70) + "mX"}, "11111mX", nil},
		{"CSI limit split", []string{E + "[" + strings.Repeat("1", 40), strings.Repeat("1", 30) + "X"}, "11111X", nil},
		{"DSR", []string{E + "[6n"}, "", []Event{dsr}},
		{"DSR private", []string{"a" + E + "[?6nb"}, "ab", []Event{dsr}},
		{"DSR split", []string{E + "[", "6", "n"}, "", []Event{dsr}},
		{"not DSR", []string{E + "[5n" + E + "[16n" + E + "[6;1n" + E + "[?6 n" + E + "[6m"}, "", nil},
		{"DECCKM set", []string{E + "[?1h"}, "", []Event{app}},
		{"DECCKM reset", []string{E + "[?1l"}, "", []Event{norm}},
		{"DECCKM in list", []string{E + "[?1;1049h" + E + "[?1049;1l"}, "", []Event{app, norm}},
		{"not DECCKM", []string{E + "[1h" + E + "[?12h" + E + "[?1049h" + E + "[?1$h" + E + "[?11l" + E + "=" + E + ">"}, "", nil},
		{"events in order", []string{E + "[?1h" + E + "[6nx" + E + "[?1l", E + "[?", "6n"}, "x", []Event{app, dsr, norm, dsr}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, evs := sanitizeParts(tt.parts...)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if !slices.Equal(evs, tt.events) {
				t.Errorf("events %v, want %v", evs, tt.events)
			}
			// The same input byte by byte must give the same result.
			joined := strings.Join(tt.parts, "")
			var one []string
			for _, r := range joined {
				one = append(one, string(r))
			}
			got1, evs1 := sanitizeParts(one...)
			if got1 != tt.want || !slices.Equal(evs1, tt.events) {
				t.Errorf("char by char: got %q %v", got1, evs1)
			}
		})
	}
}

func TestSanitizerReset(t *testing.T) {
	var s Sanitizer
	if c, _ := s.Sanitize("a\x1b[12"); c != "a" {
		t.Fatalf("got %q", c)
	}
	s.Reset()
	if c, _ := s.Sanitize("3mb"); c != "3mb" {
		t.Fatalf("partial sequence survived Reset: %q", c)
	}
}

func TestSanitizerFastPathNoCopy(t *testing.T) {
	var s Sanitizer
	in := strings.Repeat("plain text é\t\r\n", 100)
	out, evs := s.Sanitize(in)
	if out != in || evs != nil {
		t.Fatal("plain text changed")
	}
	if allocs := testing.AllocsPerRun(100, func() { s.Sanitize(in) }); allocs != 0 {
		t.Errorf("plain text allocates %v times", allocs)
	}
}
