package output

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScanHelpers(t *testing.T) {
	inputs := []string{"", "a", "abcdefgh", "abcdefghi", "é€😀", strings.Repeat("é", 17), "abcdefg€hijklmnop😀qrstuvw",
		strings.Repeat("x€", 40) + "\x1b", "\x7f\x80", "\u0085\u009c", "12345678\x1f"}
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
			if !keptInGround(s[i]) {
				want = i
				break
			}
		}
		if got := groundEnd(s, 0); got != want {
			t.Errorf("groundEnd(%q) = %d, want %d", s, got, want)
		}
	}
}
