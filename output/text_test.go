package output

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestTrim(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"hello\n", "hello"},
		{"\r\n\nhello", "hello"},
		{"  indented\n", "  indented"},
		{"\n\t x \t\r\n \n", "\t x"},
		{"a\r\n\r\n", "a"},
		{" \t\r\n", ""},
		{"x\u00a0", "x\u00a0"}, // only space, TAB, CR and LF are trimmed
		{"\vx\f", "\vx\f"},
	}
	for _, tt := range tests {
		if got := Trim(tt.in); got != tt.want {
			t.Errorf("Trim(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTruncateMiddle(t *testing.T) {
	a := strings.Repeat
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{a("a", 60), 48, a("a", 22) + "..." + a("a", 22)},
		{a("a", 48), 48, a("a", 48)},
		{a("a", 49), 48, a("a", 22) + "..." + a("a", 22)},
		{"0123456789", 9, "012...789"},
		{"0123456789", 8, "01...89"},
		{"éééééüüüüü", 7, "éé...üü"},
		{"abcdef", 3, "..."},
		{"abcdef", 4, "..."},
		{"abcdef", 2, "ab"},
		{"abcdef", 0, ""},
		{"abcdef", -1, ""},
		{"", 0, ""},
	}
	for _, tt := range tests {
		if got := TruncateMiddle(tt.in, tt.max); got != tt.want {
			t.Errorf("TruncateMiddle(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestCollapseSpace(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"a  b", "a b"},
		{" \tfor x in\n  y;\r\n do\u00a0z\u2003 ", "for x in y; do z"},
	}
	for _, tt := range tests {
		if got := CollapseSpace(tt.in); got != tt.want {
			t.Errorf("CollapseSpace(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// jsonLen is what EncodedLen must match: encoding/json with its defaults, minus the quotes.
func jsonLen(s string) int {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return len(b) - 2
}

func TestEncodedLen(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"a", 1},
		{`"`, 2}, {`\`, 2},
		{"\b", 2}, {"\t", 2}, {"\n", 2}, {"\f", 2}, {"\r", 2},
		{"\x00", 6}, {"\x01", 6}, {"\x1b", 6}, {"\x1f", 6}, {"\v", 6},
		{"<", 6}, {">", 6}, {"&", 6}, {"\u2028", 6}, {"\u2029", 6},
		{"\x7f", 1}, {"é", 2}, {"\u0085", 2}, {"€", 3}, {"\uFFFD", 3}, {"😀", 4},
		{"\xff", 6}, {"\xE2\x82", 12},
		{"<a href=\"x\">&amp;</a>\n", 50},
	}
	for _, tt := range tests {
		if got := EncodedLen(tt.in); got != tt.want {
			t.Errorf("EncodedLen(%q) = %d, want %d", tt.in, got, tt.want)
		}
		if j := jsonLen(tt.in); j != tt.want {
			t.Errorf("encoding/json gives %d for %q, table says %d", j, tt.in, tt.want)
		}
	}
}

func TestKeepNewest(t *testing.T) {
	tests := []struct {
		in     string
		budget int
		want   string
		cut    bool
	}{
		{"", 0, "", false},
		{"abc", 3, "abc", false},
		{"abc", 2, "bc", true},
		{"abc", 0, "", true},
		{"abc", -1, "", true},
		{"a<b", 6, "b", true},
		{"a<b", 7, "<b", true},
		{"a<b", 8, "a<b", false},
		{"x€€", 6, "€€", true},
		{"x€€", 5, "€", true},
		{"line\n", 2, "\n", true},
	}
	for _, tt := range tests {
		got, cut := KeepNewest(tt.in, tt.budget)
		if got != tt.want || cut != tt.cut {
			t.Errorf("KeepNewest(%q, %d) = %q %v, want %q %v", tt.in, tt.budget, got, cut, tt.want, tt.cut)
		}
	}
	// Large input: the kept part uses the budget as fully as the chars allow.
	s := strings.Repeat("<", 300000)
	got, cut := KeepNewest(s, TextBudget)
	if !cut || len(got) != TextBudget/6 || EncodedLen(got) > TextBudget {
		t.Errorf("large: %d chars, cut %v", len(got), cut)
	}
}

func TestLastLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"\n\n  \n", ""},
		{"one\ntwo\n", "two"},
		{"one\ntwo\r\n\r\n   \n", "two"},
		{"  progress 50%  \r", "progress 50%"},
		{"a\r50%\r100%", "a\r50%\r100%"},
		{"only", "only"},
	}
	for _, tt := range tests {
		if got := LastLine(tt.in); got != tt.want {
			t.Errorf("LastLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
