package output

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScanHelpers(t *testing.T) {
	inputs := []string{"", "a", "abcdefgh", "abcdefghi", "é€😀", strings.Repeat("é", 17), "abcdefg€hijklmnop😀qrstuvw",
		strings.Repeat("x€", 40) + "\x1b", "\x7f\x80", "\u0085\u009c", "12345678\x1f",
		"abcdefg\u009bx", "\u00a0\u00a9\u00b0\u00bf\u0080\u009d", strings.Repeat("\u00e9", 5) + "\u009f", "1234567\u0090"}
	for _, s := range inputs {
		if !utf8.ValidString(s) {
			continue
		}
		n := utf8.RuneCountInString(s)
		if got := countChars(s); got != n {
			t.Errorf("countChars(%q) = %d, want %d", s, got, n)
		}
		rs := []rune(s)
		for k := 0; k <= n; k++ {
			if got, want := s[dropHeadOffset(s, n, k):], string(rs[k:]); got != want {
				t.Errorf("dropHeadOffset(%q, %d) keeps %q, want %q", s, k, got, want)
			}
			if got, want := s[skipForward(s, 0, k):], string(rs[k:]); got != want {
				t.Errorf("skipForward(%q, %d) keeps %q, want %q", s, k, got, want)
			}
			if got, want := s[skipBackward(s, k):], string(rs[n-k:]); got != want {
				t.Errorf("skipBackward(%q, %d) = %q, want %q", s, k, got, want)
			}
		}
		want := len(s)
		for i := 0; i < len(s); i++ {
			if !keptInGround(s[i]) || s[i] == 0xc2 && c1Introducer(rune(s[i+1])) {
				want = i
				break
			}
		}
		if got := groundEnd(s, 0); got != want {
			t.Errorf("groundEnd(%q) = %d, want %d", s, got, want)
		}
	}
}
