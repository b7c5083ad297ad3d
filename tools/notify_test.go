package tools

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/execmcp/execmcp/sessions"
)

func TestExitEventText(t *testing.T) {
	tests := []struct {
		name string
		info sessions.Info
		want string
	}{
		{"completed", sessions.Info{ID: "amber-atlas", Status: "completed", ExitCode: intp(0), Tail: "done\n"},
			"Exec completed (amber-at, code 0) :: done"},
		{"quiet nonzero", sessions.Info{ID: "swift-otter", Status: "completed", ExitCode: intp(4)},
			"Exec completed (swift-ot, code 4)"},
		{"signal", sessions.Info{ID: "calm-reef", Status: "failed", ExitSignal: "SIGTERM", Tail: "partial output"},
			"Exec failed (calm-ree, signal SIGTERM) :: partial output"},
		{"not found", sessions.Info{ID: "tidy-bass", Status: "failed", ExitCode: intp(127), Tail: "sh: 1: nosuchcmd: not found\n"},
			"Exec failed (tidy-bas, code 127) :: sh: 1: nosuchcmd: not found"},
		{"unknown", sessions.Info{ID: "ab", Status: "failed"}, "Exec failed (ab, unknown exit code)"},
		{"whitespace", sessions.Info{ID: "x", Status: "completed", ExitCode: intp(0), Tail: " a\r\n\tb  \n\n c "},
			"Exec completed (x, code 0) :: a b c"},
		// A session killed by its timeout carries the retry guidance after the snippet, as OpenClaw's does.
		{"timeout", sessions.Info{ID: "brave-comet", Status: "failed", ExitSignal: "SIGTERM", ExitReason: "overall-timeout",
			TimedOut: true, Tail: "step 1\nstep 2\n"},
			"Exec failed (brave-co, signal SIGTERM) :: step 1 step 2\n\nThe command was terminated, but external side effects may already have completed. Verify the resulting state before retrying. Do not automatically rerun non-idempotent commands. Use a higher timeout only when the command is known to be safe to retry."},
		{"timeout without output", sessions.Info{ID: "brave-comet", Status: "failed", ExitCode: intp(143), ExitReason: "overall-timeout",
			TimedOut: true}, "Exec failed (brave-co, code 143)\n\nThe command was terminated, but external side effects may already have completed. Verify the resulting state before retrying. Do not automatically rerun non-idempotent commands. Use a higher timeout only when the command is known to be safe to retry."},
		{"killed by a signal is not a timeout", sessions.Info{ID: "brave-comet", Status: "failed", ExitSignal: "SIGKILL",
			ExitReason: "signal"}, "Exec failed (brave-co, signal SIGKILL)"},
	}
	for _, tc := range tests {
		if got := exitEventText(tc.info); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestExitSnippet(t *testing.T) {
	// Only the last 400 chars of the tail count.
	tail := strings.Repeat("x", 100) + " " + strings.Repeat("é", 399)
	if got := exitSnippet(tail); got != strings.Repeat("é", 179)+"…" {
		t.Errorf("snippet of long tail: %q", got)
	}
	// Exactly 180 chars stay.
	if s := strings.Repeat("b", 180); exitSnippet(s) != s {
		t.Error("180 chars were cut")
	}
	// 181 chars: 179 + ellipsis.
	if got := exitSnippet(strings.Repeat("c", 181)); got != strings.Repeat("c", 179)+"…" {
		t.Errorf("181: %q", got)
	}
	// The 400-char window is taken before collapsing whitespace.
	tail = "head " + strings.Repeat("  ", 200) + "end"
	if got := exitSnippet(tail); got != "end" {
		t.Errorf("window before collapse: %q", got)
	}
	if exitSnippet(" \n\t ") != "" {
		t.Error("whitespace snippet not empty")
	}
}

func TestShouldNotify(t *testing.T) {
	ok := sessions.Info{Status: "completed", ExitCode: intp(0), ExitReason: "exit", Tail: "hi", NotifyOnExit: true}
	mod := func(f func(*sessions.Info)) sessions.Info { in := ok; f(&in); return in }
	tests := []struct {
		name string
		info sessions.Info
		want bool
	}{
		{"output", ok, true},
		{"notify off", mod(func(i *sessions.Info) { i.NotifyOnExit = false }), false},
		{"killed", mod(func(i *sessions.Info) { i.KillRequested = true }), false},
		{"manual-cancel", mod(func(i *sessions.Info) { i.Status, i.ExitReason, i.ExitCode = "failed", "manual-cancel", nil }), false},
		{"shutdown", mod(func(i *sessions.Info) { i.Status, i.ExitReason = "failed", "shutdown" }), false},
		{"orphaned", mod(func(i *sessions.Info) { i.Status, i.ExitReason = "failed", "orphaned" }), false},
		{"quiet success", mod(func(i *sessions.Info) { i.Tail = " \n" }), false},
		{"quiet success allowed", mod(func(i *sessions.Info) { i.Tail = ""; i.NotifyOnExitEmptySuccess = true }), true},
		{"quiet nonzero", mod(func(i *sessions.Info) { i.Tail = ""; i.ExitCode = intp(4) }), true},
		{"quiet failed", mod(func(i *sessions.Info) { i.Tail = ""; i.Status, i.ExitCode, i.ExitSignal = "failed", nil, "SIGTERM" }), true},
		{"timeout", mod(func(i *sessions.Info) { i.Status, i.ExitReason = "failed", "overall-timeout" }), true},
	}
	for _, tc := range tests {
		if got := shouldNotify(tc.info); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

func TestSystemEventQueue(t *testing.T) {
	st := &scopeState{live: map[string]bool{}}
	for i := range 25 {
		st.enqueue(sysEvent{sessionID: "s" + strconv.Itoa(i), text: "t" + strconv.Itoa(i)})
	}
	if len(st.events) != 20 || st.events[0].text != "t5" || st.events[19].text != "t24" {
		t.Fatalf("cap: %d events, first %q", len(st.events), st.events[0].text)
	}
	st.enqueue(sysEvent{sessionID: "other", text: "t24"}) // duplicate of the preceding one
	if len(st.events) != 20 || st.events[19].sessionID != "s24" {
		t.Fatal("duplicate was queued")
	}
	st.enqueue(sysEvent{sessionID: "s5", text: "again"})
	if !st.ack("s5") || len(st.events) != 19 {
		t.Fatalf("ack removed %d", 21-len(st.events))
	}
	if st.ack("nope") {
		t.Fatal("ack of unknown id removed something")
	}
	st.enqueue(sysEvent{sessionID: "a", text: "t23"}) // equal to an older, not the preceding, text: kept
	texts := st.take()
	if len(texts) != 20 || texts[0] != "t6" || texts[19] != "t23" || len(st.events) != 0 {
		t.Fatalf("take %q", texts)
	}
	// A full queue drops its oldest watcher announcement before any exit event.
	st.enqueue(sysEvent{sessionID: "x", text: "exit x"})
	for i := range 25 {
		st.enqueue(sysEvent{sessionID: "w", text: "out " + strconv.Itoa(i), output: true})
	}
	st.enqueue(sysEvent{sessionID: "y", text: "exit y"})
	if texts := st.take(); len(texts) != 20 || texts[0] != "exit x" || texts[1] != "out 7" || texts[19] != "exit y" {
		t.Fatalf("announcements pushed an exit out: %q", texts)
	}
	if st.take() != nil {
		t.Fatal("second take not empty")
	}
	if systemEventsText([]string{"a", "b"}) != "System: a\nSystem: b" {
		t.Fatal("system events text")
	}
}

func TestLevelAllows(t *testing.T) {
	if !levelAllows(mcp.LoggingLevelInfo, mcp.LoggingLevelInfo) || !levelAllows(mcp.LoggingLevelDebug, mcp.LoggingLevelWarning) {
		t.Error("allowed level blocked")
	}
	if levelAllows(mcp.LoggingLevelWarning, mcp.LoggingLevelInfo) || levelAllows(mcp.LoggingLevelError, mcp.LoggingLevelWarning) {
		t.Error("blocked level allowed")
	}
}

func TestExitMessageParams(t *testing.T) {
	in := sessions.Info{ID: "amber-atlas", Status: "failed", ExitSignal: "SIGTERM", ExitReason: "signal",
		Command: strings.Repeat("c", 600), Tail: "t"}
	p := exitMessageParams(in, "text")
	if p["level"] != mcp.LoggingLevelWarning || p["logger"] != "exec" {
		t.Errorf("params %v", p)
	}
	d := p["data"].(map[string]any)
	want := map[string]any{"event": "exec.exit", "text": "text", "sessionId": "amber-atlas", "status": "failed",
		"exitCode": nil, "exitSignal": "SIGTERM", "exitReason": "signal", "name": nil,
		"command": strings.Repeat("c", 248) + "..." + strings.Repeat("c", 248), "tail": "t"}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("data %v", d)
	}
}
