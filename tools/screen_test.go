package tools

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/execmcp/execmcp/output"
	"github.com/execmcp/execmcp/sessions"
)

func TestRenderScreen(t *testing.T) {
	running := sessions.Info{ID: "amber-atlas", Status: "running", Name: "vim notes"}
	done := sessions.Info{ID: "calm-reef", Status: "completed"}
	rows := func(lines ...string) []string { return append(lines, "", "") }
	for _, tc := range []struct {
		name string
		in   sessions.Screen
		text string
		d    map[string]any
	}{
		{"rows", sessions.Screen{Lines: rows("X", "b"), Cols: 80, Rows: 4, CursorCol: 1, CursorVisible: true, Info: running},
			"X\nb", map[string]any{"status": "running", "sessionId": "amber-atlas", "cols": 80, "rows": 4, "altScreen": false,
				"cursor": map[string]any{"row": 0, "col": 1, "visible": true}, "name": "vim notes"}},
		{"blank", sessions.Screen{Lines: rows(), Cols: 120, Rows: 2, Info: running}, "(blank screen)", nil},
		{"empty rows inside", sessions.Screen{Lines: rows("a", "", "  b"), Info: running}, "a\n\n  b", nil},
		{"scrollback", sessions.Screen{Lines: rows("c"), Scrollback: []string{"a", "", "b"}, Info: running},
			"a\n\nb\n--- screen ---\nc", nil},
		{"scrollback, blank screen", sessions.Screen{Lines: rows(), Scrollback: []string{"a"}, Info: running},
			"a\n--- screen ---\n(blank screen)", nil},
		{"finished", sessions.Screen{Lines: rows("bye"), AltScreen: true, Title: "t", Info: done},
			"bye\n[session exited; last screen shown]", map[string]any{"status": "completed", "sessionId": "calm-reef",
				"cols": 0, "rows": 0, "altScreen": true, "terminalTitle": "t", "cursor": map[string]any{"row": 0, "col": 0, "visible": false}}},
	} {
		r := renderScreen(tc.in)
		if r.isError || r.text != tc.text {
			t.Errorf("%s: text %q, want %q", tc.name, r.text, tc.text)
		}
		if tc.d != nil && !reflect.DeepEqual(r.details, tc.d) {
			t.Errorf("%s: details %v, want %v", tc.name, r.details, tc.d)
		}
	}
	// The text budget: the newest part is kept (the screen, then the newest scrollback), under the cut note.
	wide := strings.Repeat("<", 1000)
	s := sessions.Screen{Lines: []string{"top", "bottom"}, Info: done}
	for range 1000 {
		s.Scrollback = append(s.Scrollback, wide)
	}
	r := renderScreen(s)
	if !strings.HasPrefix(r.text, noteCut+"\n") || !strings.HasSuffix(r.text, "--- screen ---\ntop\nbottom\n[session exited; last screen shown]") ||
		len(r.text) > output.TextBudget/6+len(noteCut)+200 {
		t.Errorf("budget: %d bytes, starts %q", len(r.text), r.text[:80])
	}
}

// waitScreen polls process screen until its text contains want.
func (h *harness) waitScreen(id, want string) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := h.process(M{"action": "screen", "sessionId": id})
		if !r.IsError && strings.Contains(text(r), want) {
			return details(r)
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("screen of %s lacks %q: %q", id, want, text(r))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestProcessScreen(t *testing.T) {
	h := newHarness(t, nil)
	r := h.exec(M{"command": "printf 'a\\nb\\033[1;1HX'; sleep 30", "pty": true, "background": true})
	id := details(r)["sessionId"].(string)
	d := h.waitScreen(id, "X")
	r = h.process(M{"action": "screen", "sessionId": id})
	if text(r) != "X\nb" || d["cols"] != 120 || d["rows"] != 30 || d["status"] != "running" ||
		!reflect.DeepEqual(d["cursor"], map[string]any{"row": 0, "col": 1, "visible": true}) || d["altScreen"] != false {
		t.Fatalf("screen %q %v", text(r), d)
	}
	if _, ok := d["terminalTitle"]; ok {
		t.Errorf("terminalTitle without a title: %v", d)
	}
	// Scrollback: none yet, so no marker line.
	if r := h.process(M{"action": "screen", "sessionId": id, "scrollback": 10}); text(r) != "X\nb" {
		t.Errorf("scrollback 10: %q", text(r))
	}

	// Errors, in the order of the checks.
	for _, tc := range []struct {
		args M
		want string
	}{
		{M{"action": "screen"}, "sessionId is required for this action."},
		{M{"action": "screen", "sessionId": "nope"}, "No session found for nope"},
		{M{"action": "resize", "sessionId": "nope", "cols": 1, "rows": 24}, textBadSize},
		{M{"action": "resize", "sessionId": id, "cols": 80}, textBadSize},
		{M{"action": "resize", "sessionId": id, "cols": 80.5, "rows": 24}, textBadSize},
		{M{"action": "resize", "sessionId": id, "cols": 80, "rows": 1001}, textBadSize},
		{M{"action": "resize", "sessionId": "nope", "cols": 80, "rows": 24}, "No session found for nope"},
		{M{"action": "screen", "sessionId": id, "scrollback": "x"}, `Invalid parameter "scrollback": expected a number.`},
	} {
		r := h.process(tc.args)
		if !r.IsError || text(r) != tc.want || details(r)["status"] != "failed" {
			t.Errorf("%v: %v %q, want %q", tc.args, r.IsError, text(r), tc.want)
		}
	}

	// Resize: the text, the details, and the screen follows.
	r = h.process(M{"action": "resize", "sessionId": id, "cols": "80", "rows": 24})
	if r.IsError || text(r) != "Resized session "+id+" to 80x24." ||
		!reflect.DeepEqual(details(r), map[string]any{"status": "running", "sessionId": id, "cols": 80, "rows": 24, "name": "printf a\\nb\\033[1;1HX"}) {
		t.Fatalf("resize: %q %v", text(r), details(r))
	}
	if d := details(h.process(M{"action": "screen", "sessionId": id})); d["cols"] != 80 || d["rows"] != 24 {
		t.Errorf("screen after resize: %v", d)
	}

	// A finished session: the last screen with the note; resize refused.
	h.process(M{"action": "kill", "sessionId": id, "signal": "KILL"})
	deadline := time.Now().Add(15 * time.Second)
	for details(h.process(M{"action": "screen", "sessionId": id}))["status"] == "running" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	r = h.process(M{"action": "screen", "sessionId": id})
	if r.IsError || text(r) != "X\nb\n[session exited; last screen shown]" || details(r)["status"] != "failed" {
		t.Fatalf("finished: %q %v", text(r), details(r))
	}
	if r := h.process(M{"action": "resize", "sessionId": id, "cols": 80, "rows": 24}); text(r) != "Session "+id+" is not running." {
		t.Errorf("resize finished: %q", text(r))
	}

	// Without a terminal.
	r = h.exec(M{"command": "sleep 30", "background": true})
	plain := details(r)["sessionId"].(string)
	want := "Session " + plain + " has no terminal (start it with pty: true)."
	for _, args := range []M{{"action": "screen", "sessionId": plain}, {"action": "resize", "sessionId": plain, "cols": 80, "rows": 24}} {
		if r := h.process(args); !r.IsError || text(r) != want {
			t.Errorf("%v: %q, want %q", args, text(r), want)
		}
	}
}

// exec cols and rows: the PTY's size, clamped with a warning, ignored without pty.
func TestExecTerminalSize(t *testing.T) {
	h := newHarness(t, nil)
	r := h.exec(M{"command": "stty size", "pty": true, "cols": 80, "rows": 24})
	if r.IsError || text(r) != "24 80" {
		t.Errorf("80x24: %q", text(r))
	}
	r = h.exec(M{"command": "stty size", "pty": true})
	if text(r) != "30 120" {
		t.Errorf("default: %q", text(r))
	}
	r = h.exec(M{"command": "stty size", "pty": true, "cols": 1, "rows": "5000.7"})
	want := "Warning: cols must be between 2 and 1000; using 2.\nWarning: rows must be between 2 and 1000; using 1000.\n\n1000 2"
	if text(r) != want || !reflect.DeepEqual(details(r)["warnings"], []string{
		"Warning: cols must be between 2 and 1000; using 2.", "Warning: rows must be between 2 and 1000; using 1000."}) {
		t.Errorf("clamped: %q %v", text(r), details(r)["warnings"])
	}
	r = h.exec(M{"command": "echo plain", "cols": 1, "rows": 99999})
	if text(r) != "plain" {
		t.Errorf("without pty: %q", text(r))
	}
}
