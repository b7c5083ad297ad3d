package output

import (
	"fmt"
	"strings"
	"testing"
)

func ip(n int) *int { return &n }

func numbered(n int) string {
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "line-%d\n", i)
	}
	return sb.String()
}

func TestSliceLog(t *testing.T) {
	three := "one\ntwo\nthree\n"
	tests := []struct {
		name          string
		text          string
		offset, limit *int
		want          LogSlice
	}{
		{"empty", "", nil, nil, LogSlice{DefaultWindow: true}},
		{"empty with offset", "", ip(3), nil, LogSlice{}},
		{"default window", three, nil, nil,
			LogSlice{Text: "one\ntwo\nthree", TotalLines: 3, TotalChars: 14, Start: 0, End: 3, DefaultWindow: true}},
		{"limit 2", three, nil, ip(2), LogSlice{Text: "two\nthree", TotalLines: 3, TotalChars: 14, Start: 1, End: 3}},
		{"offset 1 limit 1", three, ip(1), ip(1), LogSlice{Text: "two", TotalLines: 3, TotalChars: 14, Start: 1, End: 2}},
		{"offset 5", three, ip(5), nil, LogSlice{TotalLines: 3, TotalChars: 14, Start: 5, End: 3}},
		{"offset -5 is 0", three, ip(-5), nil, LogSlice{Text: "one\ntwo\nthree", TotalLines: 3, TotalChars: 14, Start: 0, End: 3}},
		{"huge offset", three, ip(1e12), nil, LogSlice{TotalLines: 3, TotalChars: 14, Start: 1e12, End: 3}},
		{"huge offset and limit", three, ip(1 << 62), ip(1 << 62), LogSlice{TotalLines: 3, TotalChars: 14, Start: 1 << 62, End: 3}},
		{"limit -1", three, nil, ip(-1), LogSlice{TotalLines: 3, TotalChars: 14, Start: 3, End: 3}},
		{"limit 0 with offset", three, ip(1), ip(0), LogSlice{TotalLines: 3, TotalChars: 14, Start: 1, End: 1}},
		{"limit beyond", three, nil, ip(1 << 62), LogSlice{Text: "one\ntwo\nthree", TotalLines: 3, TotalChars: 14, Start: 0, End: 3}},
		{"offset and large limit", three, ip(2), ip(100), LogSlice{Text: "three", TotalLines: 3, TotalChars: 14, Start: 2, End: 3}},
		{"no trailing newline", "one\ntwo", nil, nil, LogSlice{Text: "one\ntwo", TotalLines: 2, TotalChars: 7, End: 2, DefaultWindow: true}},
		{"CRLF", "a\r\nb\r\n", nil, nil, LogSlice{Text: "a\nb", TotalLines: 2, TotalChars: 6, End: 2, DefaultWindow: true}},
		{"controls example", "ab\tc\r\n", nil, nil, LogSlice{Text: "ab\tc", TotalLines: 1, TotalChars: 6, End: 1, DefaultWindow: true}},
		{"progress bar is one line", "10%\r50%\r100%\n", nil, nil,
			LogSlice{Text: "10%\r50%\r100%", TotalLines: 1, TotalChars: 13, End: 1, DefaultWindow: true}},
		{"empty lines kept", "\n\na\n\n", nil, nil, LogSlice{Text: "\n\na\n", TotalLines: 4, TotalChars: 5, End: 4, DefaultWindow: true}},
		{"only a newline", "\n", nil, nil, LogSlice{Text: "", TotalLines: 1, TotalChars: 1, End: 1, DefaultWindow: true}},
		{"chars are code points", "é€\n", nil, nil, LogSlice{Text: "é€", TotalLines: 1, TotalChars: 3, End: 1, DefaultWindow: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SliceLog(tt.text, tt.offset, tt.limit, TextBudget); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSliceLog201(t *testing.T) {
	text := numbered(201)
	got := SliceLog(text, nil, nil, TextBudget)
	lines := strings.Split(got.Text, "\n")
	if lines[0] != "line-2" || lines[len(lines)-1] != "line-201" || len(lines) != 200 {
		t.Errorf("default window: %d lines, %q .. %q", len(lines), lines[0], lines[len(lines)-1])
	}
	// The default window hid line 1: Start > 0 is what the caller's window note reports.
	if got.TotalLines != 201 || got.Start != 1 || got.End != 201 || !got.DefaultWindow || got.Cut || got.Kept != 0 {
		t.Errorf("%+v", got)
	}

	got = SliceLog(text, ip(30), nil, TextBudget)
	lines = strings.Split(got.Text, "\n")
	if lines[0] != "line-31" || lines[len(lines)-1] != "line-201" || got.DefaultWindow {
		t.Errorf("offset 30: %q .. %q, default window %v", lines[0], lines[len(lines)-1], got.DefaultWindow)
	}
	if got := SliceLog(numbered(200), nil, nil, TextBudget); got.Start != 0 || !got.DefaultWindow {
		t.Errorf("200 lines: the default window hides lines from %d", got.Start)
	}
	// Only the default window hides lines without being asked to.
	if got := SliceLog(text, nil, ip(200), TextBudget); got.DefaultWindow || got.Text != SliceLog(text, nil, nil, TextBudget).Text {
		t.Errorf("limit 200: default window %v", got.DefaultWindow)
	}
	if got := SliceLog(text, ip(500), nil, TextBudget); got.Text != "" || got.TotalLines != 201 {
		t.Errorf("offset 500: %+v", got)
	}
}

func TestSliceLogBudget(t *testing.T) {
	// 10 lines of 8 chars: each costs 8+2 = 10.
	var sb strings.Builder
	for i := range 10 {
		fmt.Fprintf(&sb, "line-%03d\n", i)
	}
	text := sb.String()
	// wantKept 0: nothing cut. The notes these slices get are checked in tools (TestLogNotes).
	tests := []struct {
		name          string
		text          string
		offset, limit *int
		budget        int
		wantText      string
		wantKept      int
		wantStart     int
		wantEnd       int
	}{
		{"offset: whole lines that fit", text, ip(2), nil, 35, "line-002\nline-003\nline-004", 3, 2, 10},
		{"offset: exact fit has no note", text, ip(7), nil, 30, "line-007\nline-008\nline-009", 0, 7, 10},
		{"offset with limit", text, ip(0), ip(5), 20, "line-000\nline-001", 2, 0, 5},
		{"offset: first line prefix", text, ip(4), ip(3), 7, "line-", 1, 4, 7},
		{"offset: prefix by encoded size", "<<<<<\nx\n", ip(0), nil, 20, "<<<", 1, 0, 2},
		{"tail: last whole lines", text, nil, nil, 25, "line-008\nline-009", 2, 0, 10},
		{"tail with limit", text, nil, ip(4), 39, "line-007\nline-008\nline-009", 3, 6, 10},
		{"tail: exact fit has no note", text, nil, ip(4), 40, "line-006\nline-007\nline-008\nline-009", 0, 6, 10},
		{"tail: last line suffix", text, nil, ip(2), 6, "-009", 1, 8, 10},
		{"tail: suffix by encoded size", "a\nxx>>>>\n", nil, nil, 20, ">>>", 1, 0, 2},
		{"zero budget", text, ip(0), nil, 0, "", 1, 0, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SliceLog(tt.text, tt.offset, tt.limit, tt.budget)
			if got.Text != tt.wantText || got.Cut != (tt.wantKept > 0) || got.Kept != tt.wantKept ||
				got.Start != tt.wantStart || got.End != tt.wantEnd {
				t.Errorf("got %q cut %v kept %d window %d..%d\nwant %q kept %d window %d..%d", got.Text, got.Cut, got.Kept,
					got.Start, got.End, tt.wantText, tt.wantKept, tt.wantStart, tt.wantEnd)
			}
			if EncodedLen(got.Text) > max(tt.budget, 0) {
				t.Errorf("text over budget")
			}
		})
	}
}

// One line of 200000 '<' (the retained output of a 300000-char line with both caps at 200000), logged with
// offset 0 and in tail mode: the line is cut to the budget, its encoded size counted.
func TestSliceLogLargeLine(t *testing.T) {
	text := strings.Repeat("<", 200000)
	got := SliceLog(text, ip(0), nil, TextBudget)
	if !got.Cut || got.Kept != 1 || got.Start != 0 {
		t.Errorf("offset 0: cut %v kept %d start %d", got.Cut, got.Kept, got.Start)
	}
	if EncodedLen(got.Text) > TextBudget || len(got.Text) != (TextBudget-2)/6 {
		t.Errorf("kept %d chars", len(got.Text))
	}
	got = SliceLog(text, nil, nil, TextBudget)
	if !got.Cut || got.Kept != 1 || got.End-got.Start != 1 || EncodedLen(got.Text) > TextBudget {
		t.Errorf("tail: cut %v kept %d of %d..%d", got.Cut, got.Kept, got.Start, got.End)
	}
}
