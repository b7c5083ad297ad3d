package output

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

var matchPatterns = []string{"NEEDLE", "^READY$", "Password: $", `\s`, "a.b", "(?i)err", "^", `\Aab`, `x\z`, "$", `b\b`, `a\sb`,
	"(?i)x[0-9]+ ERR", "(ab)c(?i:d)", "(?i)é", "a|b", "[ab]+c"}

// feedAll feeds text split at the given cut points and returns the reported lines.
func feedAll(m *LineMatcher, text []byte, cuts []int) []string {
	var got []string
	prev := 0
	for _, c := range append(cuts, len(text)) {
		if c < prev || c > len(text) {
			continue
		}
		m.Feed(text[prev:c], func(line []byte) { got = append(got, string(line)) })
		prev = c
	}
	return got
}

// refLines is the reference: complete lines matched one at a time.
func refLines(re *regexp.Regexp, text string) []string {
	var want []string
	lines := strings.Split(text, "\n")
	for _, l := range lines[:len(lines)-1] {
		l = strings.TrimSuffix(l, "\r")
		if len(l) > MatchLineBytes {
			l = l[:MatchLineBytes]
		}
		if re.MatchString(l) {
			want = append(want, l)
		}
	}
	return want
}

func TestLineMatcher(t *testing.T) {
	text := "one\nREADY\r\nxREADY\nPass" + "word: "
	re := regexp.MustCompile("^READY$")
	if got := feedAll(NewLineMatcher(re, false), []byte(text), []int{2, 7, 8}); strings.Join(got, "|") != "READY" {
		t.Errorf("got %q", got)
	}
	pw := regexp.MustCompile("Password: $")
	if got := feedAll(NewLineMatcher(pw, true), []byte(text+"\nPassword: \n"), []int{19, 23}); len(got) != 2 || got[0] != "Password: " {
		t.Errorf("partial: got %q", got)
	}
	if got := feedAll(NewLineMatcher(pw, false), []byte(text), nil); len(got) != 0 {
		t.Errorf("no partial: got %q", got)
	}
	for _, tc := range []struct{ pat, line string }{{"(?i)disk", "DI\u017fK"}, {"(?i)ok", "O\u212a"}, {"(?i)x[0-9] err", "x1 ERR"}} {
		if got := feedAll(NewLineMatcher(regexp.MustCompile(tc.pat), false), []byte("a\n"+tc.line+"\nb\n"), nil); len(got) != 1 {
			t.Errorf("%s on %q: got %q", tc.pat, tc.line, got)
		}
	}
	long := strings.Repeat("a", MatchLineBytes) + "NEEDLE\nNEEDLE\n"
	if got := feedAll(NewLineMatcher(regexp.MustCompile("NEEDLE"), false), []byte(long), []int{100, MatchLineBytes + 2}); len(got) != 1 || got[0] != "NEEDLE" {
		t.Errorf("long line: got %d matches", len(got))
	}
}

// FuzzLineMatcher checks that chunk boundaries never change what matches: a line split across reads matches
// exactly once, and the multi-line pre-filter never hides a line.
func FuzzLineMatcher(f *testing.F) {
	f.Add([]byte("one\nREADY\nPassword: "), uint8(1), uint16(3), uint16(9), false)
	f.Add([]byte("x NEEDLE y\r\nab\nerr\n"), uint8(0), uint16(5), uint16(12), true)
	f.Add([]byte("a b\na\nb\n"), uint8(11), uint16(1), uint16(2), false)
	f.Fuzz(func(t *testing.T, text []byte, pat uint8, c1, c2 uint16, partial bool) {
		re := regexp.MustCompile(matchPatterns[int(pat)%len(matchPatterns)])
		cuts := []int{int(c1) % (len(text) + 1), int(c2) % (len(text) + 1)}
		if cuts[0] > cuts[1] {
			cuts[0], cuts[1] = cuts[1], cuts[0]
		}
		want := refLines(re, string(text))
		m := NewLineMatcher(re, partial)
		got := feedAll(m, text, cuts)
		if !partial {
			if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
				t.Fatalf("pattern %q cuts %v: got %q, want %q", re, cuts, got, want)
			}
			return
		}
		lines := bytes.Count(text, []byte("\n")) + 1
		if len(got) < len(want) || len(got) > lines {
			t.Fatalf("partial, pattern %q cuts %v: %d reports, %d complete matches, %d lines", re, cuts, len(got), len(want), lines)
		}
	})
}

// BenchmarkLineMatcher scans 32 KiB reads of 40-byte lines that never match, as an until poll does during a flood.
func BenchmarkLineMatcher(b *testing.B) {
	chunk := []byte(strings.Repeat("yaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 32768/40+1)[:32768])
	for _, pat := range []string{"NEEDLE", "^NEVER MATCHES$", "(?i)error", `\d{5}`} {
		b.Run(pat, func(b *testing.B) {
			m := NewLineMatcher(regexp.MustCompile(pat), true)
			b.SetBytes(int64(len(chunk)))
			for b.Loop() {
				m.Feed(chunk, func([]byte) {})
			}
		})
	}
}
