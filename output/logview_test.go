package output

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// naiveLines splits text as log slicing does (docs/reference.md#process-log): CRLF becomes LF, split on LF, a
// trailing empty element dropped.
func naiveLines(text string) []string {
	if text == "" {
		return nil
	}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// naiveStarts returns the byte offset where each line of text starts.
func naiveStarts(text string) []int64 {
	var starts []int64
	if text == "" {
		return nil
	}
	starts = append(starts, 0)
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' && i+1 < len(text) {
			starts = append(starts, int64(i+1))
		}
	}
	return starts
}

// indexOf feeds text to a LineIndex in the chunks cuts describes, with marks every spacing bytes.
func indexOf(text string, cuts []byte, spacing int64) LineIndex {
	x := LineIndex{spacing: spacing}
	for _, p := range splitAt([]byte(text), cuts) {
		x.Feed(p)
	}
	return x
}

func checkIndex(t *testing.T, text string, x LineIndex) {
	t.Helper()
	lines := naiveLines(text)
	if got := x.Lines(); got != int64(len(lines)) {
		t.Fatalf("Lines() = %d, want %d (text %q)", got, len(lines), text)
	}
	if x.Size() != int64(len(text)) || x.Newlines() != int64(strings.Count(text, "\n")) {
		t.Fatalf("Size %d Newlines %d for %q", x.Size(), x.Newlines(), text)
	}
	if want := int64(strings.LastIndexByte(text, '\n') + 1); x.LastStart() != want {
		t.Fatalf("LastStart() = %d, want %d", x.LastStart(), want)
	}
	starts := naiveStarts(text)
	prev := LineMark{}
	for _, m := range x.marks {
		if m.Line <= prev.Line && m.Off != 0 || m.Off <= prev.Off || m.Line > int64(len(starts)) ||
			m.Line < int64(len(starts)) && starts[m.Line] != m.Off || m.Line == int64(len(starts)) && m.Off != int64(len(text)) {
			t.Fatalf("bad mark %+v after %+v (starts %v)", m, prev, starts)
		}
		prev = m
	}
	u := lineRun{r: strings.NewReader(text), idx: x, to: x.Lines()}
	step := max(x.Newlines()/500, 1) // every line of small texts, a sample of big ones
	for k := int64(0); k <= x.Newlines(); k += step {
		got, err := u.lineStart(k)
		want := int64(len(text)) // the start of the line after a final LF
		if k < int64(len(starts)) {
			want = starts[k]
		}
		if err != nil || got != want {
			t.Fatalf("lineStart(%d) = %d, %v; want %d (text %q)", k, got, err, want, text)
		}
	}
}

func TestLineIndex(t *testing.T) {
	long := strings.Repeat("x", 3*MarkSpacing)
	tests := []string{
		"", "\n", "\n\n\n", "a", "a\n", "a\nb", "a\r\nb\r\n", "a\rb\r", "a\r\r\nb\n\n",
		long, long + "\n" + long, strings.Repeat("ab\n", 100000), strings.Repeat("\n", 200000) + "z",
	}
	for i, text := range tests {
		for _, spacing := range []int64{1, 2, 7, 0} {
			for _, cuts := range [][]byte{nil, {1}, {5, 0, 3, 15}} {
				t.Run(fmt.Sprintf("%d/%d/%v", i, spacing, cuts), func(t *testing.T) {
					checkIndex(t, text, indexOf(text, cuts, spacing))
				})
			}
		}
	}
	// The default spacing holds the index to one mark per MarkSpacing bytes.
	x := indexOf(strings.Repeat("\n", 1<<20), nil, 0)
	if x.Marks() > (1<<20)/MarkSpacing {
		t.Errorf("%d marks for 1 MiB", x.Marks())
	}
}

// FuzzLineIndex checks the index and the line starts it finds against a naive split, for any chunking, CR/LF mix
// and line length, and the views built on it against SliceLog.
func FuzzLineIndex(f *testing.F) {
	f.Add("one\ntwo\r\nthree", []byte{3, 1, 4}, uint8(2), 1, 2, true, true, uint32(TextBudget))
	f.Add("\r\n\r\n\r\r\n\n", []byte{1, 1, 1}, uint8(1), 0, 0, false, false, uint32(7))
	f.Add(strings.Repeat("long", 300)+"\n"+strings.Repeat("é", 100)+"\r", []byte{15, 2}, uint8(3), 0, 1, false, true, uint32(40))
	f.Add("a\nb\nc\n", []byte{}, uint8(0), -1, 1<<40, true, true, uint32(0))
	f.Fuzz(func(t *testing.T, text string, cuts []byte, spacing uint8, off, lim int, hasOff, hasLim bool, budgetU uint32) {
		x := indexOf(text, cuts, int64(spacing%9)+1)
		checkIndex(t, text, x)

		budget := int(budgetU % (2 * TextBudget))
		var offset, limit *int
		if hasOff {
			offset = &off
		}
		if hasLim {
			limit = &lim
		}
		want := SliceLog(text, offset, limit, budget)
		v := FileView(strings.NewReader(text), x, utf8.RuneCountInString(text))
		pg, err := v.Slice(offset, limit, budget)
		if err != nil || pg.LogSlice != want {
			t.Fatalf("file view: %+v, %v\nwant %+v", pg.LogSlice, err, want)
		}
		tv := TextView(text)
		if pg, err := tv.Slice(offset, limit, budget); err != nil || pg.LogSlice != want {
			t.Fatalf("text view: %+v, %v\nwant %+v", pg.LogSlice, err, want)
		}
	})
}

// naivePage is SliceLog's budget rule over a list of lines (offsetGiven: keep the first ones).
func naivePage(window []string, offsetGiven bool, budget int) (text string, cut bool, kept int) {
	if len(window) == 0 {
		return "", false, 0
	}
	used, n := 0, 0
	for n < len(window) {
		line := window[n]
		if !offsetGiven {
			line = window[len(window)-1-n]
		}
		c := EncodedLen(line) + 2
		if used+c > budget {
			break
		}
		used += c
		n++
	}
	if n == len(window) {
		return strings.Join(window, "\n"), false, 0
	}
	if offsetGiven {
		if n == 0 {
			text = keepOldest(window[0], budget-2)
			if len(window) == 1 && text == window[0] {
				return text, false, 0
			}
			return text, true, 1
		}
		return strings.Join(window[:n], "\n"), true, n
	}
	if n == 0 {
		text, c := KeepNewest(window[len(window)-1], budget-2)
		if len(window) == 1 && !c {
			return text, false, 0
		}
		return text, true, 1
	}
	return strings.Join(window[len(window)-n:], "\n"), true, n
}

// searchLines is naiveLines as a search sees them: the incomplete last line loses a final CR too, like every
// line a LineMatcher assembles.
func searchLines(text string) []string {
	lines := naiveLines(text)
	if len(lines) > 0 && !strings.HasSuffix(text, "\n") {
		lines[len(lines)-1] = strings.TrimSuffix(lines[len(lines)-1], "\r")
	}
	return lines
}

// stoppedModel is the naive model of a stopped view: the lines by number (lost ones absent). split is
// naiveLines for pages, searchLines for searches.
func stoppedModel(file, retained string, total int, split func(string) []string) (lines map[int]string, lost [2]int) {
	fl, ml := split(file), split(retained)
	memFirst := max(total-len(ml), 0)
	fileLines := strings.Count(file, "\n")
	if memFirst > fileLines {
		fileLines = len(fl)
	}
	fileLines = min(fileLines, total)
	lines = map[int]string{}
	for i := range fileLines {
		lines[i] = fl[i]
	}
	for i := max(memFirst, fileLines); i < total; i++ {
		lines[i] = ml[i-memFirst]
	}
	if memFirst > fileLines {
		lost = [2]int{fileLines, memFirst}
	}
	return lines, lost
}

// FuzzStoppedView checks a stopped view (the head of the output in a file, its tail retained) against the naive
// model: pages and searches.
func FuzzStoppedView(f *testing.F) {
	f.Add("l0\nl1\nl2\nl3\nl4\n", uint16(7), uint16(9), []byte{2, 3}, 1, 3, true, true, uint32(TextBudget), "l")
	f.Add("aa\r\nbb\r\ncc", uint16(5), uint16(1), []byte{}, 0, 0, false, false, uint32(5), "^$")
	f.Add(strings.Repeat("x", 200)+"\ny\n", uint16(150), uint16(3), []byte{9}, 0, 1, false, true, uint32(60), "x+")
	f.Fuzz(func(t *testing.T, text string, fileEnd, memStart uint16, cuts []byte, off, lim int, hasOff, hasLim bool, budgetU uint32, pat string) {
		re, err := regexp.Compile(pat)
		if err != nil {
			return
		}
		text = strings.ToValidUTF8(text, "\uFFFD") // as the decoder writes it
		fe := min(int(fileEnd), len(text))
		ms := min(int(memStart), len(text))
		if len(text) > 0 && ms == len(text) {
			ms = len(text) - 1 // the retained text is never empty when there was output
		}
		for fe < len(text) && !utf8.RuneStart(text[fe]) {
			fe++ // the writer cuts at char boundaries; the buffer drops whole chars
		}
		for ms < len(text) && !utf8.RuneStart(text[ms]) {
			ms++
		}
		file, retained := text[:fe], text[ms:]
		total := len(naiveLines(text))
		x := indexOf(file, cuts, 3)
		v := StoppedView(strings.NewReader(file), x, retained, total, utf8.RuneCountInString(text))
		lines, lost := stoppedModel(file, retained, total, naiveLines)
		found, _ := stoppedModel(file, retained, total, searchLines)

		budget := int(budgetU % (2 * TextBudget))
		var offset, limit *int
		if hasOff {
			offset = &off
		}
		if hasLim {
			limit = &lim
		}
		pg, err := v.Slice(offset, limit, budget)
		if err != nil {
			t.Fatal(err)
		}
		if pg.TotalLines != total {
			t.Fatalf("TotalLines %d, want %d", pg.TotalLines, total)
		}
		var window []string
		for g := pg.Start; g < pg.End && g < total; g++ {
			if l, ok := lines[g]; ok {
				window = append(window, l)
			}
		}
		text2, cut, kept := naivePage(window, hasOff, budget)
		if pg.Text != text2 || pg.Cut != cut || pg.Kept != kept || pg.Lines != len(window) {
			t.Fatalf("page %q cut %v kept %d lines %d; want %q %v %d %d (lost %v, window %d..%d)",
				pg.Text, pg.Cut, pg.Kept, pg.Lines, text2, cut, kept, len(window), lost, pg.Start, pg.End)
		}
		if pg.Cut && hasOff {
			// Resume is the line after the last one kept.
			n := 0
			g := pg.Start
			for ; n < kept; g++ {
				if _, ok := lines[g]; ok {
					n++
				}
			}
			if pg.Resume != g {
				t.Fatalf("Resume %d, want %d", pg.Resume, g)
			}
		}

		// Search from the offset: every existing line matched on its first MatchLineBytes bytes.
		from := max(off, 0)
		if !hasOff {
			from = 0
		}
		fd, err := v.Search(re, from, 3, 5, 10)
		if err != nil {
			t.Fatal(err)
		}
		var want []Match
		count, more := 0, false
		for g := from; g < total; g++ {
			l, ok := found[g]
			if !ok || !re.MatchString(l[:min(len(l), MatchLineBytes)]) {
				continue
			}
			if count == 5 {
				more = true
				break
			}
			count++
			if len(want) < 3 {
				m := Match{Line: g, Text: l}
				if utf8.RuneCountInString(l) > 10 {
					m.Text, m.Cut = string([]rune(l)[:10]), true
				}
				want = append(want, m)
			}
		}
		if fmt.Sprint(fd.Matches) != fmt.Sprint(want) || fd.Count != count || fd.More != more {
			t.Fatalf("search %q from %d: %v count %d more %v; want %v %d %v", pat, from, fd.Matches, fd.Count, fd.More, want, count, more)
		}
	})
}

func TestViewSearchLongLines(t *testing.T) {
	long := strings.Repeat("y", searchBlock+MatchLineBytes) // longer than a search block
	text := "first\n" + long + "needle\n" + "needle here\n" + long + "\nlast needle"
	x := indexOf(text, nil, 0)
	v := FileView(bytes.NewReader([]byte(text)), x, utf8.RuneCountInString(text))
	fd, err := v.Search(regexp.MustCompile("needle"), 0, 10, 100, 2000)
	if err != nil {
		t.Fatal(err)
	}
	// The needle at the end of the long line lies beyond its first MatchLineBytes bytes: not matched.
	if fmt.Sprint(fd.Matches) != fmt.Sprint([]Match{{Line: 2, Text: "needle here"}, {Line: 4, Text: "last needle"}}) || fd.Count != 2 {
		t.Fatalf("got %v count %d", fd.Matches, fd.Count)
	}
	fd, err = v.Search(regexp.MustCompile("^y"), 0, 10, 100, 5)
	if err != nil || len(fd.Matches) != 2 || fd.Matches[0] != (Match{Line: 1, Text: "yyyyy", Cut: true}) || fd.Matches[1].Line != 3 {
		t.Fatalf("got %v, %v", fd.Matches, err)
	}
	// A page in the middle of the long line reads only the budget.
	pg, err := v.Slice(ip(1), ip(1), 100)
	if err != nil || pg.Text != strings.Repeat("y", 98) || !pg.Cut || pg.Resume != 2 {
		t.Fatalf("page %+v, %v", pg, err)
	}
	pg, err = v.Slice(nil, ip(2), 100)
	if err != nil || pg.Text != "last needle" || !pg.Cut || pg.Kept != 1 {
		t.Fatalf("tail page %+v, %v", pg, err)
	}
}

// TestSearchUsesViews guards the fast path of Search: LineMatcher hands out views of the block it is fed, so
// line numbers come from counting LFs before each view (the fallback matches line by line).
func TestSearchUsesViews(t *testing.T) {
	block := []byte("a\nbb\r\nccc\n")
	m := NewLineMatcher(regexp.MustCompile("."), false)
	var offs []int
	m.Feed(block, func(line []byte) {
		i, ok := viewOffset(block, line)
		if !ok {
			t.Errorf("line %q is not a view of the block", line)
		}
		offs = append(offs, i)
	})
	if fmt.Sprint(offs) != "[0 2 6]" {
		t.Errorf("offsets %v", offs)
	}
}

// shortReader is a file that lost its end.
type shortReader struct{ *strings.Reader }

func (r shortReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > 10 {
		n, _ := r.Reader.ReadAt(p[:max(10-off, 0)], off)
		return n, nil
	}
	return r.Reader.ReadAt(p, off)
}

func TestViewShortFile(t *testing.T) {
	text := strings.Repeat("line\n", 100)
	v := FileView(shortReader{strings.NewReader(text)}, indexOf(text, nil, 0), len(text))
	if _, err := v.Slice(nil, nil, TextBudget); err == nil {
		t.Error("a page of a file shorter than its index: no error")
	}
	if _, err := v.Search(regexp.MustCompile("x"), 0, 1, 1, 1); err == nil {
		t.Error("a search of a file shorter than its index: no error")
	}
}
