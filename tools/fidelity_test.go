package tools

import (
	"strings"
	"testing"
	"time"
)

// zeros makes every id draw of the registry pick the first word: the sessions of a harness are amber-atlas,
// amber-atlas-2, amber-atlas-3, ... in start order (docs/reference.md#session-ids).
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestExecTitle(t *testing.T) {
	h := newHarness(t, nil)
	long := strings.Repeat("é", 121)
	for _, tc := range []struct {
		title any
		msg   string
	}{
		{long, "title is too long (121 chars; limit 120)."},
		{"two\nlines", "title must not contain control characters."},
		{"bell\a", "title must not contain control characters."},
		{"c1\u0085c1", "title must not contain control characters."},
		{7, `Invalid parameter "title": expected a string.`},
	} {
		r := h.exec(M{"title": tc.title, "command": "echo never"})
		if !r.IsError || text(r) != tc.msg {
			t.Errorf("title %q: isError %v, text %q, want %q", tc.title, r.IsError, text(r), tc.msg)
		}
	}
	// 120 chars, surrounding whitespace trimmed: accepted, and shown in details, list entry and list line.
	title := strings.Repeat("é", 119) + "!"
	r := h.exec(M{"title": "  " + title + "\t", "command": "echo hi; sleep 30", "background": true})
	if r.IsError || details(r)["title"] != title {
		t.Fatalf("background with title: %q %v", text(r), details(r))
	}
	id := details(r)["sessionId"].(string)
	l := h.process(M{"action": "list"})
	entry := details(l)["sessions"].([]any)[0].(map[string]any)
	if entry["title"] != title || entry["name"] != "echo hi" {
		t.Errorf("list entry %v, want title %q beside name %q", entry, title, "echo hi")
	}
	if !strings.HasPrefix(text(l), id+" running ") || !strings.HasSuffix(text(l), " :: "+title) {
		t.Errorf("list line %q does not end with the title", text(l))
	}
	for _, action := range []string{"poll", "log"} {
		if d := details(h.process(M{"action": action, "sessionId": id})); d["title"] != title {
			t.Errorf("%s details %v lack the title", action, d)
		}
	}
	h.process(M{"action": "kill", "sessionId": id})
	// Foreground results carry it too; a blank title is none.
	if d := details(h.exec(M{"title": "Say hi", "command": "echo hi"})); d["title"] != "Say hi" {
		t.Errorf("foreground details %v lack the title", d)
	}
	if d := details(h.exec(M{"title": "  ", "command": "echo hi"})); d["title"] != nil {
		t.Errorf("blank title kept: %v", d)
	}
}

func TestProcessIDPrefix(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Sessions.Rand = zeros{} })
	start := func(cmd string) string {
		t.Helper()
		r := h.exec(M{"command": cmd, "background": true})
		if r.IsError {
			t.Fatalf("%s: %s", cmd, text(r))
		}
		return details(r)["sessionId"].(string)
	}
	first := start("echo first; sleep 30")
	if first != "amber-atlas" {
		t.Fatalf("first id %s, want amber-atlas: the ids are not the ones the test assumes", first)
	}
	// One session: its 8-char event prefix reaches it, in the action's texts and details by its full id.
	r := h.process(M{"action": "poll", "sessionId": "amber-at"})
	if r.IsError || details(r)["sessionId"] != "amber-atlas" {
		t.Fatalf("poll by prefix: %q %v", text(r), details(r))
	}
	if r := h.process(M{"action": "write", "sessionId": "amber-atl", "data": "x"}); text(r) != "Wrote 1 bytes to session amber-atlas." {
		t.Errorf("write by prefix: %q", text(r))
	}
	// Too short: looked up as an id.
	if r := h.process(M{"action": "poll", "sessionId": "amber"}); !r.IsError || text(r) != "No session found for amber" {
		t.Errorf("5-char prefix: %q", text(r))
	}
	second := start("echo second; sleep 30")
	if second != "amber-atlas-2" {
		t.Fatalf("second id %s, want amber-atlas-2", second)
	}
	// The exact id wins although it starts amber-atlas-2.
	if d := details(h.process(M{"action": "poll", "sessionId": "amber-atlas"})); d["sessionId"] != "amber-atlas" {
		t.Errorf("exact id: %v", d)
	}
	for _, action := range []string{"poll", "log", "write", "send-keys", "submit", "paste", "kill", "clear", "remove"} {
		r := h.process(M{"action": action, "sessionId": " amber-at ", "data": "x", "keys": []string{"Enter"}, "text": "x"})
		if want := "Session id amber-at is ambiguous: amber-atlas, amber-atlas-2"; !r.IsError || text(r) != want {
			t.Errorf("%s: isError %v %q, want %q", action, r.IsError, text(r), want)
		}
	}
	// Killing by the unique longer prefix reaches amber-atlas-2 only.
	if r := h.process(M{"action": "kill", "sessionId": "amber-atlas-"}); text(r) != "Termination requested for session amber-atlas-2." {
		t.Errorf("kill by prefix: %q", text(r))
	}
	waitStatus(t, h, "amber-atlas-2", "failed")
	// A finished record is a candidate too; clear reaches it by prefix and acknowledges the full id.
	if r := h.process(M{"action": "clear", "sessionId": "amber-atlas-"}); text(r) != "Cleared session amber-atlas-2." {
		t.Errorf("clear by prefix: %q", text(r))
	}
	h.process(M{"action": "kill", "sessionId": "amber-at"})
}

// waitStatus polls id until it reports status.
func waitStatus(t *testing.T, h *harness, id, status string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if d := details(h.process(M{"action": "poll", "sessionId": id, "timeout": 200})); d["status"] == status {
			return
		}
	}
	t.Fatalf("%s did not reach %s", id, status)
}
