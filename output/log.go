package output

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// defaultLogLines is the window of a log call with neither offset nor limit (process.md §8.1).
const defaultLogLines = 200

// LogSlice is one page of a log (process.md §8.1) cut to a response budget (output.md §8). The zero value is
// the slice of an empty log.
type LogSlice struct {
	Text          string // the selected lines joined by LF (already cut to the budget); no notes
	TotalLines    int
	TotalChars    int    // chars of the text before CRLF normalisation
	Start, End    int    // window selected by the algorithm (before budget); Start >= End selects no line
	DefaultWindow bool   // neither offset nor limit given (tail mode, 200 lines)
	WindowNote    string // "" or "[showing last 200 of <N> lines; pass offset/limit to page]"
	BudgetNote    string // "" or the exact "[response size limit reached ...]" note
}

// SliceLog selects lines of the retained text by offset and limit (nil = not given; callers floor numbers)
// and cuts the selection to budget encoded JSON bytes. With an offset the page is cut at its end, so the
// budget note can say where to continue; in tail mode it is cut at its start, keeping the newest lines.
// Notes are returned separately because the caller places them around other notes (process.md §8).
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

	start, end := 0, total
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
	ls.Start, ls.End = start, end
	if ls.DefaultWindow && total > defaultLogLines {
		ls.WindowNote = fmt.Sprintf("[showing last %d of %d lines; pass offset/limit to page]", defaultLogLines, total)
	}
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
		ls.BudgetNote = fmt.Sprintf("[response size limit reached after %d lines; pass offset=%d to continue]", n, start+n)
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
	ls.BudgetNote = fmt.Sprintf("[response size limit reached; showing the last %d of %d requested lines]", n, end-start)
	return ls
}
