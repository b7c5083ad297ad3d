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

// plainEnd stops exactly where the first byte that decoding or sanitising could change is: a byte >= 0x80 or a
// C0 control other than TAB, LF and CR, at every position of a word and in the tail.
func TestPlainEnd(t *testing.T) {
	base := strings.Repeat("a line\tof output\r\n", 3) // 54 bytes: words and a tail
	for pos := 0; pos <= len(base); pos++ {
		for _, odd := range []string{"", "\x00", "\x1b", "\x01", "\x0b", "\x0c", "\x1f", "\x80", "é", "\xff", "\u009b"} {
			s := base[:pos] + odd + base[pos:]
			want := len(s)
			if odd != "" {
				want = pos
			}
			if got := plainEnd([]byte(s)); got != want {
				t.Errorf("plainEnd(%q) = %d, want %d", s, got, want)
			}
		}
	}
	for c := 0; c < 256; c++ {
		s := []byte(strings.Repeat("x", 9))
		s[3] = byte(c)
		want := 3
		if c >= 0x20 && c < 0x80 || c == '\t' || c == '\n' || c == '\r' {
			want = len(s)
		}
		if got := plainEnd(s); got != want {
			t.Errorf("plainEnd with byte %#x = %d, want %d", c, got, want)
		}
	}
}

// groundEnd agrees with its byte-by-byte definition for every byte value at every position of a word, including
// controls next to each other and C1 introducers after a 0xC2 lead byte.
func TestGroundEndSweep(t *testing.T) {
	ref := func(s []byte) int {
		for i := range s {
			if stopsGround(s, i) {
				return i
			}
		}
		return len(s)
	}
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 17; pos++ {
			for _, next := range []byte{'x', '\n', 0x9b, 0x01} {
				s := []byte("ab\ncd\tef\rgh\nijklmnop")
				s[pos], s[pos+1] = byte(c), next
				if got, want := groundEnd(s, 0), ref(s); got != want {
					t.Fatalf("groundEnd(%q) = %d, want %d", s, got, want)
				}
			}
		}
	}
}
