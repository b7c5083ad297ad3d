package output

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// LogView is the complete output of a session as log pages and searches it (docs/reference.md#spill): lines
// numbered from the first line the command printed, read from up to two runs of text, a spill file (through an
// io.ReaderAt and its LineIndex) and the retained text. A file that stopped growing leaves the lines between its
// end and the start of the retained text lost; a view says which.
//
// A LogView reads only through the io.ReaderAt its constructor was given, and only the bytes its index covers,
// so the writer may go on appending to the file. Building one costs no reading; a page reads about one response
// budget of text plus at most MarkSpacing bytes to find its first line, whatever the size of the file.
type LogView struct {
	runs  []lineRun
	total int // lines of the complete output
	chars int // chars of the complete output
	// lost is the range of lines that are neither in the file nor in the retained text (lost[0] >= lost[1]:
	// none).
	lost [2]int
}

// lineRun is the lines from..to-1 of one text (read through r, indexed by idx), numbered from first.
type lineRun struct {
	r        io.ReaderAt
	idx      LineIndex
	from, to int64
	first    int
}

// global returns the number in the view of local line k.
func (u *lineRun) global(k int64) int { return u.first + int(k-u.from) }

// local returns the local number of line g of the view.
func (u *lineRun) local(g int) int64 { return u.from + int64(g-u.first) }

// TextView returns the view of a retained text whose head was never discarded or which is paged as it is: its
// lines are numbered from 0. Sliced, it gives what SliceLog gives.
func TextView(text string) LogView {
	u := textRun(text)
	v := LogView{total: int(u.to), chars: utf8.RuneCountInString(text)}
	if u.to > 0 {
		v.runs = []lineRun{u}
	}
	return v
}

func textRun(text string) lineRun {
	u := lineRun{r: strings.NewReader(text)}
	u.idx.Feed([]byte(text))
	u.to = u.idx.Lines()
	return u
}

// FileView returns the view of a complete spill file: idx indexes the bytes of r that are written (a snapshot),
// and chars is their number of chars.
func FileView(r io.ReaderAt, idx LineIndex, chars int) LogView {
	v := LogView{total: int(idx.Lines()), chars: chars}
	if v.total > 0 {
		v.runs = []lineRun{{r: r, idx: idx, to: idx.Lines()}}
	}
	return v
}

// StoppedView returns the view of a spill file that stopped growing (idx indexes it) followed by the retained
// text, which holds the last lines of the complete output of totalLines lines and totalChars chars. The file
// serves its complete lines, and its incomplete last line too when the retained text does not hold that line's
// end; the retained text serves the lines after the file's.
func StoppedView(r io.ReaderAt, idx LineIndex, retained string, totalLines, totalChars int) LogView {
	v := LogView{total: totalLines, chars: totalChars}
	mem := textRun(retained)
	memFirst := max(totalLines-int(mem.to), 0) // number of the first retained line
	fileLines := idx.Newlines()
	if int64(memFirst) > fileLines {
		fileLines = idx.Lines()
	}
	fileLines = min(fileLines, int64(totalLines))
	if fileLines > 0 {
		v.runs = append(v.runs, lineRun{r: r, idx: idx, to: fileLines})
	}
	first := max(memFirst, int(fileLines))
	mem.from = min(int64(first-memFirst), mem.to)
	mem.first = first
	if mem.from < mem.to {
		v.runs = append(v.runs, mem)
	}
	if memFirst > int(fileLines) {
		v.lost = [2]int{int(fileLines), memFirst}
	}
	return v
}

// TotalLines returns the number of lines of the complete output.
func (v *LogView) TotalLines() int { return v.total }

// TotalChars returns the number of chars of the complete output.
func (v *LogView) TotalChars() int { return v.chars }

// Page is one page of a LogView: the LogSlice of its window and what a view adds to it.
type Page struct {
	LogSlice
	// Resume is where a page with an offset that the budget cut continues: the line after the last one kept.
	Resume int
	// Lines is how many lines of the window exist, the lost ones not counted.
	Lines int
	// LostStart..LostEnd-1 are the lines of the window that were lost (LostStart >= LostEnd: none).
	LostStart, LostEnd int
}

// Slice selects lines by offset and limit as SliceLog does (docs/reference.md#process-log) and cuts the page to
// budget encoded JSON bytes. The error is a read error of the file.
func (v *LogView) Slice(offset, limit *int, budget int) (Page, error) {
	var pg Page
	pg.DefaultWindow = offset == nil && limit == nil
	if v.total == 0 {
		return pg, nil
	}
	pg.TotalLines, pg.TotalChars = v.total, v.chars
	start, end := logWindow(v.total, offset, limit)
	pg.Start, pg.End = start, end
	if start >= end {
		return pg, nil
	}
	pg.LostStart, pg.LostEnd = max(start, v.lost[0]), min(end, v.lost[1])
	pg.Lines = end - start - max(pg.LostEnd-pg.LostStart, 0)
	if offset != nil {
		return pg, v.sliceForward(&pg, budget)
	}
	return pg, v.sliceBackward(&pg, budget)
}

// readCap is how many bytes of text a page of budget needs at most: every byte of a line costs at least one
// encoded byte, so a page never holds more, and a longer piece cannot fit (docs/reference.md#output-budget).
func readCap(budget int) int { return max(budget, 0) + 8 }

// sliceForward fills an offset page: the first lines of the window that fit, the first one cut when none does.
func (v *LogView) sliceForward(pg *Page, budget int) error {
	var kept []string
	used := 0
	full := true // every line of the window fitted
	var first string
	for i := range v.runs {
		u := &v.runs[i]
		lo, hi := max(pg.Start, u.first), min(pg.End, u.global(u.to))
		if lo >= hi {
			continue
		}
		stop := false
		err := u.forward(u.local(lo), u.local(hi), readCap(budget-used), func(line string, whole bool) bool {
			c := EncodedLen(line) + 2
			if !whole || used+c > budget {
				if len(kept) == 0 {
					first = line
				}
				stop = true
				return false
			}
			used += c
			kept = append(kept, line)
			return true
		})
		if err != nil {
			return err
		}
		if stop {
			full = false
			break
		}
	}
	if full {
		pg.Text = strings.Join(kept, "\n")
		return nil
	}
	n := len(kept)
	if n == 0 {
		pg.Text = keepOldest(first, budget-2)
		n = 1
		if pg.Lines == 1 && pg.Text == first {
			return nil // an empty line under a budget below 2: nothing is missing
		}
	} else {
		pg.Text = strings.Join(kept, "\n")
	}
	pg.Cut, pg.Kept = true, n
	pg.Resume = v.after(pg.Start, n)
	return nil
}

// after returns the number of the line after the n-th existing line from start.
func (v *LogView) after(start, n int) int {
	g := start + n
	if start < v.lost[1] && g > v.lost[0] {
		g += v.lost[1] - max(start, v.lost[0])
	}
	return g
}

// sliceBackward fills a tail page: the last lines of the window that fit, the last one cut when none does.
func (v *LogView) sliceBackward(pg *Page, budget int) error {
	var kept []string // newest first
	used := 0
	full := true
	var last string
	for i := len(v.runs) - 1; i >= 0; i-- {
		u := &v.runs[i]
		lo, hi := max(pg.Start, u.first), min(pg.End, u.global(u.to))
		if lo >= hi {
			continue
		}
		stop := false
		err := u.backward(u.local(lo), u.local(hi), readCap(budget-used), func(line string, whole bool) bool {
			c := EncodedLen(line) + 2
			if !whole || used+c > budget {
				if len(kept) == 0 {
					last = line
				}
				stop = true
				return false
			}
			used += c
			kept = append(kept, line)
			return true
		})
		if err != nil {
			return err
		}
		if stop {
			full = false
			break
		}
	}
	for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
		kept[i], kept[j] = kept[j], kept[i]
	}
	if full {
		pg.Text = strings.Join(kept, "\n")
		return nil
	}
	n := len(kept)
	if n == 0 {
		var cut bool
		pg.Text, cut = KeepNewest(last, budget-2)
		n = 1
		if pg.Lines == 1 && !cut {
			return nil
		}
	} else {
		pg.Text = strings.Join(kept, "\n")
	}
	pg.Cut, pg.Kept = true, n
	return nil
}

// readFull reads len(p) bytes at off; a short read is an error even at the end of the file, since the index
// says the bytes exist.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// seekBlock is the read size when looking for a line start after a mark.
const seekBlock = 32 << 10

// lineStart returns the offset where local line k starts (k <= Newlines, or k == 0), reading at most about
// MarkSpacing bytes after the nearest mark.
func (u *lineRun) lineStart(k int64) (int64, error) {
	m := u.idx.Nearest(k)
	if m.Line == k {
		return m.Off, nil
	}
	if k == u.idx.Newlines() {
		return u.idx.LastStart(), nil
	}
	need := k - m.Line // LFs to pass
	off := m.Off
	buf := make([]byte, seekBlock)
	for off < u.idx.Size() {
		p := buf[:min(int64(len(buf)), u.idx.Size()-off)]
		if err := readFull(u.r, p, off); err != nil {
			return 0, err
		}
		if c := int64(bytes.Count(p, newline)); c < need {
			need -= c
			off += int64(len(p))
			continue
		}
		return off + int64(nthLF(p, need)) + 1, nil
	}
	return 0, io.ErrUnexpectedEOF
}

// nthLF returns the offset of the n-th LF of p (1-based; p has at least n), counting in sub-blocks first so that
// a block of empty lines costs a few vectorised counts rather than an IndexByte call per line.
func nthLF(p []byte, n int64) int {
	const sub = 1024
	i := 0
	for len(p)-i > sub {
		c := int64(bytes.Count(p[i:i+sub], newline))
		if c >= n {
			break
		}
		n -= c
		i += sub
	}
	for {
		j := bytes.IndexByte(p[i:], '\n')
		i += j
		if n--; n == 0 {
			return i
		}
		i++
	}
}

// forward calls fn with local lines lo..hi-1 in order until it returns false. It reads at most limit bytes from
// the start of line lo; a line that goes beyond them is passed cut, with whole false.
func (u *lineRun) forward(lo, hi int64, limit int, fn func(line string, whole bool) bool) error {
	off, err := u.lineStart(lo)
	if err != nil {
		return err
	}
	size := u.idx.Size()
	if off > size {
		return errChanged
	}
	buf := make([]byte, min(int64(limit), size-off))
	if err := readFull(u.r, buf, off); err != nil {
		return err
	}
	reachedEnd := off+int64(len(buf)) == size
	for k := lo; k < hi; k++ {
		j := bytes.IndexByte(buf, '\n')
		if j < 0 {
			// The incomplete last line of the text, or a line longer than limit, which cannot fit.
			if reachedEnd && len(buf) == 0 {
				return errChanged // the index promised a line the text does not have
			}
			fn(string(buf), reachedEnd)
			return nil
		}
		if !fn(string(dropCR(buf[:j])), true) {
			return nil
		}
		buf = buf[j+1:]
	}
	return nil
}

// errChanged reports a text that does not have the lines its index says it has: someone else wrote to the file.
var errChanged = errors.New("the log file was changed")

// dropCR removes one CR at the end of a line that an LF followed.
func dropCR(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}

// backward calls fn with local lines hi-1 down to lo until it returns false. It reads at most limit bytes before
// the end of line hi-1; a line that starts before them is passed cut (its end), with whole false.
func (u *lineRun) backward(lo, hi int64, limit int, fn func(line string, whole bool) bool) error {
	var end int64 // where line hi-1 ends, its LF included
	switch {
	case hi == u.idx.Lines():
		end = u.idx.Size()
	default:
		var err error
		if end, err = u.lineStart(hi); err != nil {
			return err
		}
	}
	// One byte more than needed shows whether the first byte read starts a line.
	from := max(end-int64(limit)-1, 0)
	buf := make([]byte, end-from)
	if err := readFull(u.r, buf, from); err != nil {
		return err
	}
	head := 0 // buf[head:] holds whole lines when it starts at a line start
	startsLine := from == 0
	if from > 0 {
		head = 1
		startsLine = buf[0] == '\n'
	}
	text := buf[head:]
	// The last line keeps a CR when no LF follows it (the incomplete last line of the text).
	incomplete := hi == u.idx.Lines() && u.idx.Size() > u.idx.LastStart()
	if !incomplete && len(text) > 0 {
		text = text[:len(text)-1] // the LF that ends line hi-1
	}
	for k := hi - 1; k >= lo; k-- {
		j := bytes.LastIndexByte(text, '\n')
		line := text[j+1:]
		if k != hi-1 || !incomplete {
			line = dropCR(line)
		}
		if j < 0 {
			// The first line read: whole when the read began at its start. Lines before it lie beyond limit.
			if fn(string(line), startsLine) && k > lo {
				return errChanged // whole lines of limit bytes never all fit
			}
			return nil
		}
		if !fn(string(line), true) {
			return nil
		}
		text = text[:j]
	}
	return nil
}

// Match is one line a search found.
type Match struct {
	Line int    // 0-based line number in the view
	Text string // the line, cut to the search's char limit
	Cut  bool   // Text is cut
}

// Found is the result of a search.
type Found struct {
	// Matches are the first matches from the offset on, at most the limit.
	Matches []Match
	// Count is the number of matches from the offset on; More says that counting stopped at the count limit and
	// there are more.
	Count int
	More  bool
	// Next is the line of the first match after Matches (valid when Count > len(Matches)).
	Next int
	// LostStart..LostEnd-1 are the lost lines at or after the offset (LostStart >= LostEnd: none).
	LostStart, LostEnd int
}

// searchBlock is the read size of a search.
const searchBlock = 1 << 20

// Search finds the lines from offset on that match re, as a LineMatcher matches lines
// (docs/reference.md#patterns): the first limit ones with their text cut to maxChars chars, and the count of all
// of them, which stops once it passes maxCount. The error is a read error of the file.
func (v *LogView) Search(re *regexp.Regexp, offset, limit, maxCount, maxChars int) (Found, error) {
	var f Found
	offset = max(offset, 0)
	f.LostStart, f.LostEnd = max(offset, v.lost[0]), v.lost[1]
	s := searcher{re: re, f: &f, limit: limit, maxCount: maxCount, maxChars: maxChars}
	for i := range v.runs {
		u := &v.runs[i]
		if offset >= u.global(u.to) {
			continue
		}
		if err := s.run(u, max(u.local(offset), u.from)); err != nil {
			return f, err
		}
		if f.More {
			break
		}
	}
	return f, nil
}

type searcher struct {
	re                        *regexp.Regexp
	f                         *Found
	limit, maxCount, maxChars int
	buf, line                 []byte
}

// found records a matching line; it reports false once counting is over.
func (s *searcher) found(g int, line []byte) bool {
	f := s.f
	if f.Count == s.maxCount {
		f.More = true
		return false
	}
	f.Count++
	switch {
	case len(f.Matches) < s.limit:
		m := Match{Line: g}
		if len(line) > 4*s.maxChars {
			line = line[:4*s.maxChars] // enough for maxChars chars
		}
		if cut := skipForward(line, 0, s.maxChars); cut < len(line) {
			line, m.Cut = line[:cut], true
		}
		m.Text = string(line)
		f.Matches = append(f.Matches, m)
	case f.Count == s.limit+1:
		f.Next = g
	}
	return true
}

// run searches local lines k.. of u.
func (s *searcher) run(u *lineRun, k int64) error {
	off, err := u.lineStart(k)
	if err != nil {
		return err
	}
	if s.buf == nil {
		s.buf = make([]byte, searchBlock+1)
	}
	size := u.idx.Size()
	m := NewLineMatcher(s.re, false)
	// The incomplete last line of the text is searched when the run includes it: it gets an LF of its own.
	withLast := u.to == u.idx.Lines() && size > u.idx.LastStart()
	for k < u.to && off < size {
		n := int(min(int64(searchBlock), size-off))
		if err := readFull(u.r, s.buf[:n], off); err != nil {
			return err
		}
		block := s.buf[:n]
		switch j := bytes.LastIndexByte(block, '\n'); {
		case off+int64(n) == size && j < n-1:
			if !withLast {
				block = block[:j+1]
				break
			}
			block = append(block, '\n') // s.buf has room for it
		case j < 0:
			// A line longer than the block: match its first MatchLineBytes bytes, then find its end.
			s.line = append(append(s.line[:0], block[:min(n, MatchLineBytes)]...), '\n')
			if !s.feed(m, u, s.line, k, true) {
				return nil
			}
			next, err := u.skipLine(off + int64(n))
			if err != nil {
				return err
			}
			off, k = next, k+1
			continue
		default:
			block = block[:j+1]
		}
		if len(block) == 0 {
			break
		}
		if !s.feed(m, u, block, k, false) {
			return nil
		}
		k += int64(bytes.Count(block, newline))
		off += int64(len(block))
	}
	return nil
}

// feed matches the whole lines of block, which begins with local line k; single is a block of one line. It
// reports false once the search is over.
func (s *searcher) feed(m *LineMatcher, u *lineRun, block []byte, k int64, single bool) bool {
	// pos, cur: the offset and local number of the first line not matched yet.
	pos, cur := 0, k
	more, views := true, true
	m.Feed(block, func(line []byte) {
		if !more || !views {
			return
		}
		i, ok := viewOffset(block, line)
		switch {
		case single:
			i = 0
		case !ok || i < pos:
			views = false
			return
		}
		g := cur + int64(bytes.Count(block[pos:i], newline))
		if g >= u.to {
			more = false
			return
		}
		more = s.found(u.global(g), line)
		pos, cur = i+bytes.IndexByte(block[i:], '\n')+1, g+1
	})
	if !views {
		// The matcher handed out a copy: match line by line from the first line not matched yet.
		more = s.scan(u, block[pos:], cur)
	}
	return more
}

// scan matches the lines of block (whole lines), which begins with local line k, one at a time.
func (s *searcher) scan(u *lineRun, block []byte, k int64) bool {
	for len(block) > 0 && k < u.to {
		j := bytes.IndexByte(block, '\n')
		line := dropCR(block[:j])
		if s.re.Match(line[:min(len(line), MatchLineBytes)]) && !s.found(u.global(k), line) {
			return false
		}
		block = block[j+1:]
		k++
	}
	return true
}

// viewOffset returns where line lies in block when it is a view of block's bytes.
func viewOffset(block, line []byte) (int, bool) {
	i := cap(block) - cap(line)
	if i < 0 || i > len(block) {
		return 0, false
	}
	if cap(line) == 0 {
		return i, i == len(block)
	}
	return i, &block[:cap(block)][i] == &line[:1][0]
}

// skipLine returns the offset after the next LF at or after off (the size when there is none).
func (u *lineRun) skipLine(off int64) (int64, error) {
	size := u.idx.Size()
	buf := make([]byte, seekBlock)
	for off < size {
		p := buf[:min(int64(len(buf)), size-off)]
		if err := readFull(u.r, p, off); err != nil {
			return 0, err
		}
		if j := bytes.IndexByte(p, '\n'); j >= 0 {
			return off + int64(j) + 1, nil
		}
		off += int64(len(p))
	}
	return size, nil
}
