package output

import (
	"strings"
	"unicode/utf8"
)

// defaultLogLines is the window of a log call with neither offset nor limit (docs/reference.md#process-log).
const defaultLogLines = 200

// LogSlice is one page of a log (docs/reference.md#process-log) cut to a response budget
// (docs/reference.md#output-budget). The zero value is the slice of an empty log. It carries no text but the
// selected lines: the caller words the notes, which it places around notes of its own.
type LogSlice struct {
	Text          string // the selected lines joined by LF (already cut to the budget)
	TotalLines    int
	TotalChars    int  // chars of the text before CRLF normalisation
	Start, End    int  // window selected by the algorithm (before budget); Start >= End selects no line
	DefaultWindow bool // neither offset nor limit given (tail mode, the last 200 lines; Start > 0 hid older ones)
	// Cut: the budget cut the window. Kept is then how many of its lines Text holds, the last one possibly
	// partial: the first lines when an offset was given (continue at Start+Kept), else the last ones. Kept is 0
	// when nothing was cut.
	Cut  bool
	Kept int
}

// logWindow is the window of lines [start, end) that offset and limit select from total lines
// (docs/reference.md#process-log): from offset, or the last limit lines without one, or the last
// defaultLogLines without either; start >= end when it is empty.
func logWindow(total int, offset, limit *int) (start, end int) {
	start, end = 0, total
	if offset != nil {
		start = max(0, *offset)
	}
	switch {
	case limit != nil:
		l := max(0, *limit)
		if offset == nil {
			start = max(total-l, 0)
		}
		if l < total-start { // written so that a huge limit cannot overflow
			end = start + l
		}
	case offset == nil:
		start = max(total-defaultLogLines, 0)
	}
	return start, end
}

// SliceLog selects lines of the retained text by offset and limit (nil = not given; callers floor numbers)
// and cuts the selection to budget encoded JSON bytes. With an offset the page is cut at its end, so that the
// caller can say where to continue; in tail mode it is cut at its start, keeping the newest lines.
func SliceLog(text string, offset, limit *int, budget int) LogSlice {
	ls := LogSlice{DefaultWindow: offset == nil && limit == nil}
	if text == "" {
		return ls
	}
	ls.TotalChars = utf8.RuneCountInString(text)
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	total := len(lines)
	ls.TotalLines = total

	start, end := logWindow(total, offset, limit)
	ls.Start, ls.End = start, end
	if start >= end {
		return ls
	}
	window := lines[start:end]

	if offset != nil {
		used, n := 0, 0
		for n < len(window) {
			c := EncodedLen(window[n]) + 2
			if used+c > budget {
				break
			}
			used += c
			n++
		}
		if n == len(window) {
			ls.Text = strings.Join(window, "\n")
			return ls
		}
		if n == 0 {
			ls.Text = keepOldest(window[0], budget-2)
			n = 1
			if len(window) == 1 && ls.Text == window[0] {
				return ls // an empty line under a budget below 2: nothing is missing
			}
		} else {
			ls.Text = strings.Join(window[:n], "\n")
		}
		ls.Cut, ls.Kept = true, n
		return ls
	}

	used, n := 0, 0
	for n < len(window) {
		c := EncodedLen(window[len(window)-1-n]) + 2
		if used+c > budget {
			break
		}
		used += c
		n++
	}
	if n == len(window) {
		ls.Text = strings.Join(window, "\n")
		return ls
	}
	if n == 0 {
		var cut bool
		ls.Text, cut = KeepNewest(window[len(window)-1], budget-2)
		n = 1
		if len(window) == 1 && !cut {
			return ls
		}
	} else {
		ls.Text = strings.Join(window[len(window)-n:], "\n")
	}
	ls.Cut, ls.Kept = true, n
	return ls
}
