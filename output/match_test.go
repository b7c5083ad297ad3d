package output

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// matchPatterns cover each way the matcher finds candidate lines: a literal, case-insensitive ones (with K and S,
// which also fold to non-ASCII runes), classes, alternations, optional parts, repeats, anchors, non-ASCII runes and
// classes, U+FFFD (which the regexp also matches for an invalid byte), and patterns with no factor at all.
var matchPatterns = []string{"NEEDLE", "^READY$", "Password: $", `\s`, "a.b", "(?i)err", "^", `\Aab`, `x\z`, "$", `b\b`, `a\sb`,
	"(?i)x[0-9]+ ERR", "(ab)c(?i:d)", "(?i)é", "a|b", "[ab]+c",
	"error|warning|fatal", "(?i)fail(ed|ure)", "[Ee]rror", `^\d+ passed`, `\d{3}`, "colou?r", "(?i)ks", "(?i)disk",
	`ab|\d\d`, "x(a|bc)+y", `[à-ÿ]b`, `\x{FFFD}`, "[^a]b", `\bab\b`, "(?i)straße", "a(b|)c", "a*b", `(?:ab){2,3}`,
	"^$", `\w+x`, "[a-c]{2}", "(?i)[a-c]d", "日本", "(a|ab)(c|bcd)", `x\r`, "a\nb", "(?i)ǅ"}

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

// TestLineMatcherLongLineCR: a CR that the carry keeps at its MatchLineBytes-th byte is not the end of the line,
// so it stays in the text matched, as when the whole line arrives in one read.
func TestLineMatcherLongLineCR(t *testing.T) {
	text := []byte(strings.Repeat("a", MatchLineBytes-1) + "\rbbb\n")
	for _, cuts := range [][]int{nil, {10}, {MatchLineBytes + 1}} {
		checkMatcher(t, `\r$`, text, cuts, false, 0)
		checkMatcher(t, `\r$`, text, cuts, true, 0)
	}
}

// TestLineMatcherLongLine: a line longer than MatchLineBytes, read in pieces, is matched on its first
// MatchLineBytes bytes whatever the plan: error ends right at the cut, NEEDLE begins after it.
func TestLineMatcherLongLine(t *testing.T) {
	long := strings.Repeat("-", MatchLineBytes)
	text := []byte("a\n" + long[:MatchLineBytes-6] + " error NEEDLE" + long[:200] + "\nb NEEDLE\n")
	for _, pattern := range []string{"NEEDLE", "(?i)error", "error|NEEDLE", `r$`, `E$`, "-{3}", `\d`} {
		for _, partial := range []bool{false, true} {
			for _, cuts := range [][]int{nil, {5, 30000, 65536, 65600}} {
				want := reference(pattern, text, cuts, partial)
				for _, mode := range []uint8{0, 1, 2, 3, 5} {
					compareMatcher(t, pattern, text, cuts, partial, mode, want)
				}
			}
		}
	}
}

// showFactors renders factors for comparison: a position of one byte as the byte, a larger one as [bytes].
func showFactors(set []factor) []string {
	var out []string
	for _, f := range set {
		var sb strings.Builder
		for _, pos := range f {
			if pos.size() > 1 {
				sb.WriteByte('[')
			}
			pos.each(func(c byte) { sb.WriteByte(c) })
			if pos.size() > 1 {
				sb.WriteByte(']')
			}
		}
		out = append(out, sb.String())
	}
	return out
}

func TestRequiredFactors(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    []string // nil: no factor, the matcher runs the regexp over the text
	}{
		{"NEEDLE", []string{"NEEDLE"}},
		{"(?i)err", []string{"[Ee][Rr][Rr]"}},
		{"error|warning|fatal", []string{"error", "warning", "fatal"}},
		{"[Ee]rror", []string{"[Ee]rror"}},
		{"^READY$", []string{"READY"}},
		{`^\d+ passed`, []string{"[0123456789] passed"}},
		// Of factors as cheap to search for, the longer: [Ee][Ee] (an e in both cases twice), not [Ee].
		{"(?i)see", []string{"[Ee][Ee]"}},
		{`\d{3}`, []string{"[0123456789][0123456789][0123456789]"}},
		// A factor the strings share is cheaper to search for than the strings.
		{"colou?r", []string{"colo"}},
		{"(?i)fail(ed|ure)", []string{"[Ff][Aa][Ii][Ll]"}},
		{"colou?r|x", []string{"colo", "x"}},
		{"(a|b)(c|d)x", []string{"[ab][cd]x"}},
		// K and S also fold to non-ASCII runes of other lengths: the factor stops at them.
		{"(?i)disk", []string{"[Dd][Ii]"}},
		{"(?i)ks", nil},
		{"(?i)é", []string{"\xc3[\x89\xa9]"}},
		{`[à-ÿ]b`, []string{"\xc3[\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf]b"}},
		{`[àé]`, []string{"\xc3[\xa0\xa9]"}},
		{`[aé]`, nil},
		// One factor x is cheaper to search for than xa and xbc, whose rarest byte is x too.
		{"x(a|bc)+y", []string{"x"}},
		{"(?i)x(a|bc)+y", []string{"[Xx]"}},
		{"(e|a)(b|c)", []string{"[ae][bc]"}},
		{`\x{FFFD}`, nil},
		{"a.b", []string{"b"}},
		{"a*b", []string{"b"}},
		{"a|b*", nil},
		{`\s`, []string{"[\t\f\r ]"}},
		{"a\nb|c", []string{"c"}},
		{"a\nb", nil},
		{`\w+`, []string{"[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz]"}},
		{".", nil},
		{"^", nil},
	} {
		tree, err := syntax.Parse(tc.pattern, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if got := showFactors(requiredFactors(tree)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: factors %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

// TestLineMatcherPlans runs every pattern over 50 KB of varied lines (matching ones, CRLF, non-ASCII, invalid
// bytes), in reads of random sizes, with each plan and with other stream positions than the chosen ones.
func TestLineMatcherPlans(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"error", "Error", "ERROR", "warning", "fatal", "12 passed", "colour", "READY", "NEEDLE", "Password: ",
		"failed", "FAILURE", "é", "É", "日本", "\u212a", "\u017f", "\xff", "\xef\xbf\xbd", "ab", "xbcy", "\r", "disk", "123",
		"the", "quick", "brown", "fox", "INFO", "server:", "GET", "/api/v1/items?page=2", "in", "12ms", "(status", "200)", "ok"}
	var sb strings.Builder
	for sb.Len() < 50000 {
		n := rng.IntN(12)
		for range n {
			if rng.IntN(3) > 0 {
				sb.WriteString(words[24+rng.IntN(len(words)-24)])
			} else {
				sb.WriteString(words[rng.IntN(len(words))])
			}
			sb.WriteByte(" \t"[rng.IntN(2)])
		}
		if rng.IntN(10) == 0 {
			sb.WriteByte('\r')
		}
		sb.WriteByte('\n')
	}
	text := []byte(sb.String())
	var cuts []int
	for c := 0; c < len(text); c += 1 + rng.IntN(10000) {
		cuts = append(cuts, c)
	}
	for _, pattern := range matchPatterns {
		for _, partial := range []bool{false, true} {
			want := reference(pattern, text, cuts, partial)
			for _, mode := range []uint8{0, 1, 2, 3, 5} {
				compareMatcher(t, pattern, text, cuts, partial, mode, want)
			}
		}
	}
}

// refPartial is the reference with partial matching: each line is reported once, as it stood at the first read
// end (within the line, after at least one of its bytes) where its start, up to MatchLineBytes, matched, or else
// complete when it matches; ends are the offsets where reads end, increasing.
func refPartial(re *regexp.Regexp, text string, ends []int) []string {
	var got []string
	for s := 0; s < len(text); {
		e := strings.IndexByte(text[s:], '\n')
		complete := e >= 0
		if complete {
			e += s
		} else {
			e = len(text)
		}
		reported := false
		for _, c := range ends {
			if s < c && c <= e { // the LF at e is not fed yet
				snap := text[s:c]
				if len(snap) > MatchLineBytes {
					snap = snap[:MatchLineBytes]
				}
				if re.MatchString(snap) {
					got, reported = append(got, snap), true
					break
				}
			}
		}
		if !reported && complete {
			got = append(got, refLines(re, text[s:e+1])...)
		}
		s = e + 1
	}
	return got
}

// runMatcher runs pattern over text in reads ending at cuts, with the prefilter's plan forced by mode%4 (0 the
// matcher's own choice, 1 byte searches, at the chosen positions moved on by mode/4, 2 the skip loop, 3 the pair
// loop).
func runMatcher(pattern string, text []byte, cuts []int, partial bool, mode uint8) []string {
	m := NewLineMatcher(regexp.MustCompile(pattern), partial)
	if m.pf != nil {
		m.pf.force, m.pf.rot = mode%4, mode/4
		m.pf.plan()
	}
	return feedAll(m, text, slices.Clone(cuts))
}

// reference is what the matcher must report for runMatcher's arguments.
func reference(pattern string, text []byte, cuts []int, partial bool) []string {
	re := regexp.MustCompile(pattern)
	if !partial {
		return refLines(re, string(text))
	}
	ends := []int{}
	for _, c := range cuts {
		if c >= 0 && c <= len(text) && (len(ends) == 0 || c >= ends[len(ends)-1]) {
			ends = append(ends, c)
		}
	}
	return refPartial(re, string(text), append(ends, len(text)))
}

// checkMatcher compares runMatcher with the reference.
func checkMatcher(t *testing.T, pattern string, text []byte, cuts []int, partial bool, mode uint8) {
	t.Helper()
	compareMatcher(t, pattern, text, cuts, partial, mode, reference(pattern, text, cuts, partial))
}

func compareMatcher(t *testing.T, pattern string, text []byte, cuts []int, partial bool, mode uint8, want []string) {
	t.Helper()
	if got := runMatcher(pattern, text, cuts, partial, mode); !slices.Equal(got, want) {
		if len(cuts) > 8 {
			cuts = append(cuts[:8:8], -1)
		}
		t.Fatalf("pattern %q partial %v mode %d cuts %v: got %s, want %s", pattern, partial, mode, cuts, showLines(got), showLines(want))
	}
}

// showLines renders lines for a failure message, long ones cut in the middle.
func showLines(lines []string) string {
	var out []string
	for _, l := range lines {
		if len(l) > 60 {
			l = fmt.Sprintf("%s...(%d bytes)...%s", l[:20], len(l), l[len(l)-20:])
		}
		out = append(out, strconv.Quote(l))
	}
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("...%d lines", len(lines)))
	}
	return "[" + strings.Join(out, " ") + "]"
}

// FuzzLineMatcher checks the matcher against the references, a line matched one at a time: chunk boundaries never
// change what matches (a line split across reads matches exactly once), and neither the prefilter, in either
// plan, nor the multi-line pre-filter ever hides a line. pattern, when it compiles, replaces the list's.
func FuzzLineMatcher(f *testing.F) {
	f.Add([]byte("one\nREADY\nPassword: "), uint8(1), uint16(3), uint16(9), false, uint8(0), "")
	f.Add([]byte("x NEEDLE y\r\nab\nerr\n"), uint8(0), uint16(5), uint16(12), true, uint8(1), "")
	f.Add([]byte("a b\na\nb\n"), uint8(11), uint16(1), uint16(2), false, uint8(2), "")
	f.Add([]byte("ok\nwarning: x\nFATAL\nfatal\n"), uint8(17), uint16(4), uint16(20), false, uint8(1), "")
	f.Add([]byte("Failure\nFAILED\nfai\nled\n"), uint8(18), uint16(8), uint16(13), true, uint8(2), "")
	f.Add([]byte("12 passed\n  3 passed\n4 passed in 2s\n"), uint8(20), uint16(3), uint16(11), false, uint8(0), "")
	f.Add([]byte("a\u212as\nK\u017f\nks\n"), uint8(23), uint16(2), uint16(6), false, uint8(2), "")
	f.Add([]byte("\xffb\n\xef\xbf\xbd\n"), uint8(28), uint16(1), uint16(3), false, uint8(1), "")
	f.Add([]byte("color\ncolour\ncolouur\n"), uint8(22), uint16(7), uint16(7), true, uint8(0), "")
	f.Add([]byte("xy\nxay\nxbcbcay\n"), uint8(0), uint16(2), uint16(9), false, uint8(2), `x(a|bc)+y`)
	f.Add([]byte("id 123456 ok\nid 12345\n"), uint8(0), uint16(9), uint16(15), false, uint8(2), `\d{6}`)
	f.Add([]byte("x\nerr\nERR\n"), uint8(5), uint16(1), uint16(4), false, uint8(5), "")
	f.Add([]byte("an error\nERROR: x\nerr or\n"+strings.Repeat("xErrOr ", 9)+"\n"), uint8(5), uint16(3), uint16(40), true, uint8(3), "(?i)error")
	f.Fuzz(func(t *testing.T, text []byte, pat uint8, c1, c2 uint16, partial bool, mode uint8, pattern string) {
		if _, err := regexp.Compile(pattern); err != nil || pattern == "" || len(pattern) > 1000 {
			pattern = matchPatterns[int(pat)%len(matchPatterns)]
		}
		cuts := []int{int(c1) % (len(text) + 1), int(c2) % (len(text) + 1)}
		if cuts[0] > cuts[1] {
			cuts[0], cuts[1] = cuts[1], cuts[0]
		}
		checkMatcher(t, pattern, text, cuts, partial, mode)
	})
}

// BenchmarkLineMatcher scans reads of 32 KiB (the reader's size) that never match, as an until poll does during a
// flood: 40-byte lines of one letter, 95-byte log lines and 31-byte lines of words, all full of the letters and
// digits patterns are made of. The reads are cut from 512 KiB of lines (which stay in the cache, as a read just
// sanitised does), so that they start at every offset of a line, as a flood's do: repeating one read would let the
// branch predictor learn where its occurrences are. Besides the time, it reports the process's CPU time per byte
// (cpu-ns/B), which other jobs on a loaded machine disturb less.
func BenchmarkLineMatcher(b *testing.B) {
	texts := []struct{ name, line string }{
		{"a40", "yaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"},
		{"log95", "2026-12-06 10:00:00.123 INFO  server: handled GET /api/v1/items?page=2 in 12ms (status 200) ok\n"},
		{"words31", "some log line with words 12345\n"},
	}
	pats := []string{"NEEDLE", "(?i)error", "error|warning|fatal", "[Ee]rror", "^READY$", `^\d+ passed`, `\d{6}`,
		`(?i)fail(ed|ure)`, `\w+Exception`}
	const read = 32 << 10
	for _, c := range texts {
		text := []byte(strings.Repeat(c.line, 512<<10/len(c.line)))
		text = text[:len(text)/read*read]
		for _, pat := range pats {
			b.Run(c.name+"/"+pat, func(b *testing.B) {
				m := NewLineMatcher(regexp.MustCompile(pat), true)
				b.SetBytes(read)
				off := 0
				cpu := processCPU()
				for b.Loop() {
					m.Feed(text[off:off+read], func([]byte) { b.Fatal("matched") })
					off = (off + read) % len(text)
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N)/read, "cpu-ns/B")
			})
		}
	}
}

// processCPU is the CPU time of this process so far, in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
