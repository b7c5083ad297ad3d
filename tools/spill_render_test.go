package tools

import (
	"fmt"
	"io/fs"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/execmcp/execmcp/output"
	"github.com/execmcp/execmcp/sessions"
)

// seqOutput is the output of seq 1 n.
func seqOutput(n int) string {
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		sb.WriteString(strconv.Itoa(i) + "\n")
	}
	return sb.String()
}

func fileView(text string) output.LogView {
	var idx output.LineIndex
	idx.Feed([]byte(text))
	return output.FileView(strings.NewReader(text), idx, len(text))
}

// The log of a spilled session (docs/reference.md#spill): offsets count from the first line, no discarded note
// while the file is complete, the stopped note and the lost lines once it stopped.
func TestRenderSpilledLog(t *testing.T) {
	ip := func(n int) *int { return &n }
	full := seqOutput(100000)
	info := sessions.Info{ID: "s", Status: "completed", ExitCode: intp(0), ExitReason: "exit", DiscardedChars: 5000,
		Truncated: true, Aggregated: full[len(full)-1000:],
		Log: sessions.LogInfo{Spilled: true, Path: "/run/x/s.log", Bytes: int64(len(full))}}
	v := fileView(full)
	r, err := renderLogView(info, &v, logWindow{offset: ip(0), limit: ip(3)})
	if err != nil || r.text != "1\n2\n3" {
		t.Fatalf("text %q, %v", r.text, err)
	}
	want := map[string]any{"status": "completed", "sessionId": "s", "total": 100000, "totalLines": 100000,
		"totalChars": len(full), "truncated": true, "exitCode": 0, "exitSignal": nil, "exitReason": "exit",
		"spilled": true, "logPath": "/run/x/s.log", "logBytes": int64(len(full))}
	if !reflect.DeepEqual(r.details, want) {
		t.Errorf("details %v", r.details)
	}
	r, _ = renderLogView(info, &v, logWindow{})
	if !strings.HasPrefix(r.text, "99801\n") || !strings.HasSuffix(r.text, "\n100000\n\n[showing last 200 of 100000 lines; pass offset/limit to page]") {
		t.Errorf("tail %q", r.text[len(r.text)-80:])
	}
	// In the sandbox the path is not visible.
	sandboxed := info
	sandboxed.Wrapped = true
	if r, _ := renderLogView(sandboxed, &v, logWindow{}); r.details["logPath"] != nil || r.details["spilled"] != true {
		t.Errorf("sandboxed details %v", r.details)
	}

	// Stopped at the per-session cap: the head from the file, the tail from memory, the lines between lost.
	head := full[:strings.Index(full, "\n18517\n")+7]
	stopped := info
	stopped.Log.Bytes, stopped.Log.Cause = int64(len(head)), sessions.StopSessionCap
	var idx output.LineIndex
	idx.Feed([]byte(head))
	sv := output.StoppedView(strings.NewReader(head), idx, info.Aggregated, 100000, len(full))
	r, _ = renderLogView(stopped, &sv, logWindow{offset: ip(18515), limit: ip(4)})
	note := fmt.Sprintf("[the full log stopped at %d bytes (per-session cap); later output is only in the retained tail]\n", len(head))
	if r.text != note+"18516\n18517\n\n[lines 18517 to 18518 were not kept: the full log stopped before them]" {
		t.Errorf("stopped page %q", r.text)
	}
	r, _ = renderLogView(stopped, &sv, logWindow{limit: ip(1)})
	if r.text != note+"100000" {
		t.Errorf("stopped tail %q", r.text)
	}
	for cause, reason := range map[sessions.StopCause]string{sessions.StopServerCap: "server cap", sessions.StopError: "No space left on device", sessions.StopLowSpace: "file system almost full"} {
		stopped.Log.Cause = cause
		stopped.Log.Err = &fs.PathError{Op: "write", Path: "/run/x/s.log", Err: syscall.ENOSPC}
		if got := logHeadNote(stopped); !strings.Contains(got, "("+reason+")") {
			t.Errorf("note %q lacks %q", got, reason)
		}
	}
	// A window inside the lost lines shows only the note.
	r, _ = renderLogView(stopped, &sv, logWindow{offset: ip(50000), limit: ip(2)})
	if !strings.HasSuffix(r.text, "tail]\n[lines 50000 to 50001 were not kept: the full log stopped before them]") {
		t.Errorf("lost window %q", r.text)
	}
}

// log with a pattern (docs/reference.md#log-pattern).
func TestRenderSearch(t *testing.T) {
	full := seqOutput(100000)
	info := sessions.Info{ID: "s", Status: "running", Log: sessions.LogInfo{Spilled: true, Path: "/p", Bytes: int64(len(full))}}
	v := fileView(full)
	search := func(pat string, offset, limit int) result {
		t.Helper()
		r, err := renderSearch(info, &v, regexp.MustCompile(pat), pat, offset, limit)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := search("^77777$", 0, 100)
	if r.text != "77776: 77777" || r.details["matches"] != 1 || r.details["pattern"] != "^77777$" || r.details["totalLines"] != 100000 {
		t.Errorf("one match: %q %v", r.text, r.details)
	}
	if r := search("^x", 0, 100); r.text != "(no lines match /^x/)" || r.details["matches"] != 0 {
		t.Errorf("no match: %q", r.text)
	}
	r = search("^9999.$", 0, 3)
	if r.text != "99989: 99990\n99990: 99991\n99991: 99992\n\n[3 of 10 matching lines shown; pass offset 99992 to continue]" {
		t.Errorf("continuation %q", r.text)
	}
	if r := search("^9999.$", 99992, 100); !strings.HasPrefix(r.text, "99992: 99993\n") || r.details["matches"] != 7 {
		t.Errorf("from the offset: %q", r.text)
	}
	more := fileView(seqOutput(100005))
	r, err := renderSearch(info, &more, regexp.MustCompile("^"), "^", 0, 2)
	if err != nil || r.text != "0: 1\n1: 2\n\n[2 of more than 100000 matching lines shown; pass offset 2 to continue]" || r.details["matches"] != 100000 {
		t.Errorf("count limit: %q %v", r.text, r.details["matches"])
	}
	if r := search("^", 0, 0); r.text != "[0 of 100000 matching lines shown; pass offset 0 to continue]" {
		t.Errorf("limit 0: %q", r.text)
	}

	// Long lines are cut to 2000 chars with …, and the response budget cuts the list.
	long := strings.Repeat(strings.Repeat("é", 3000)+"\n", 200)
	lv := fileView(long)
	r, err = renderSearch(info, &lv, regexp.MustCompile("é"), "é", 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(r.text, "\n")
	if first != "0: "+strings.Repeat("é", 2000)+"…" || output.EncodedLen(r.text) > output.TextBudget+200 {
		t.Errorf("first line %d chars, text %d bytes", len([]rune(first)), output.EncodedLen(r.text))
	}
	shown := strings.Count(r.text, "\n") - 1
	if !strings.HasSuffix(r.text, fmt.Sprintf("\n\n[%d of 200 matching lines shown; pass offset %d to continue]", shown, shown)) {
		t.Errorf("budget note %q", r.text[len(r.text)-80:])
	}
}

// While a complete spill file holds what the retention cap dropped, poll and the log resource point to the full
// log instead of calling the output lost; once the file stopped, it is lost again.
func TestDiscardedNoteWithSpill(t *testing.T) {
	running := sessions.Info{ID: "s", Status: "running", DiscardedChars: 10, Aggregated: "tail\n"}
	spilled := running
	spilled.Log = sessions.LogInfo{Spilled: true, Path: "/run/x/s.log", Bytes: 100}
	stopped := spilled
	stopped.Log.Cause = sessions.StopSessionCap
	for _, tc := range []struct {
		name string
		info sessions.Info
		want string
	}{
		{"no spill", running, noteDiscarded},
		{"complete spill", spilled, noteInFullLog},
		{"stopped spill", stopped, noteDiscarded},
	} {
		r := renderPoll(sessions.PollResult{Info: tc.info, Output: "x\n", Chunks: 1, Discarded: true}, 0)
		if !strings.HasPrefix(r.text, tc.want+"\n") {
			t.Errorf("%s: poll text %q, want the note %q", tc.name, r.text, tc.want)
		}
		if got := resourceLogText(tc.info); !strings.HasPrefix(got, tc.want+"\n") {
			t.Errorf("%s: log resource %q", tc.name, got)
		}
	}
}
