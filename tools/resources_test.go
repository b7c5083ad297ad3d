package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/execmcp/execmcp/output"
	"github.com/execmcp/execmcp/sessions"
)

func TestResourceID(t *testing.T) {
	tests := []struct {
		uri  string
		log  bool
		id   string
		okay bool
	}{
		{"exec://sessions/amber-atlas", false, "amber-atlas", true},
		{"exec://sessions/amber-atlas/log", true, "amber-atlas", true},
		{"exec://sessions/amber-atlas/log", false, "", false},
		{"exec://sessions/amber-atlas", true, "", false},
		{"exec://sessions/", false, "", false},
		{"exec://sessions//log", true, "", false},
		{"exec://other/amber", false, "", false},
		{"exec://sessions/a/b", false, "", false},
		{"exec://sessions/a?x=1", false, "", false},
	}
	for _, tc := range tests {
		id, ok := resourceID(tc.uri, tc.log)
		if id != tc.id || ok != tc.okay {
			t.Errorf("resourceID(%q, %v) = %q %v", tc.uri, tc.log, id, ok)
		}
	}
}

func TestResourceSummary(t *testing.T) {
	start := time.UnixMilli(1700000000000)
	running := sessions.Info{ID: "amber-atlas", Status: "running", Pid: 42, StartedAt: start, Cwd: "/w",
		Command: strings.Repeat("c", 3000), Name: "n", Tail: "out", PTY: true}
	got := resourceSummary(running, start.Add(1500*time.Millisecond))
	cmd := got["command"].(string)
	if len([]rune(cmd)) != 1999 || cmd != output.TruncateMiddle(running.Command, 2000) {
		t.Errorf("command not cut to 2000 chars: %d", len([]rune(cmd)))
	}
	delete(got, "command")
	want := map[string]any{"sessionId": "amber-atlas", "status": "running", "pid": 42, "startedAt": int64(1700000000000),
		"runtimeMs": int64(1500), "cwd": "/w", "name": "n", "tail": "out", "truncated": false, "pty": true}
	if !equalJSON(t, got, want) {
		t.Errorf("running summary %v", got)
	}
	finished := sessions.Info{ID: "calm-reef", Status: "failed", StartedAt: start, EndedAt: start.Add(2 * time.Second),
		Cwd: "/w", Command: "sleep 9", ExitSignal: "SIGTERM", ExitReason: "overall-timeout", TimedOut: true, Truncated: true}
	got = resourceSummary(finished, start.Add(time.Hour))
	want = map[string]any{"sessionId": "calm-reef", "status": "failed", "startedAt": int64(1700000000000),
		"endedAt": int64(1700000002000), "runtimeMs": int64(2000), "cwd": "/w", "command": "sleep 9", "tail": "",
		"truncated": true, "exitSignal": "SIGTERM", "exitReason": "overall-timeout", "timedOut": true, "pty": false}
	if !equalJSON(t, got, want) {
		t.Errorf("finished summary %v", got)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestResourceLogText(t *testing.T) {
	if got := resourceLogText(sessions.Info{Aggregated: "a\nb\n\n"}); got != "a\nb\n\n" {
		t.Errorf("untrimmed log %q", got)
	}
	if got := resourceLogText(sessions.Info{Aggregated: "tail", DiscardedChars: 5}); got != noteDiscarded+"\ntail" {
		t.Errorf("discarded %q", got)
	}
	big := strings.Repeat("<", output.TextBudget/6) + "newest"
	got := resourceLogText(sessions.Info{Aggregated: big, DiscardedChars: 1})
	prefix := noteDiscarded + "\n" + noteLogTruncated + "\n"
	if !strings.HasPrefix(got, prefix) || !strings.HasSuffix(got, "newest") ||
		output.EncodedLen(strings.TrimPrefix(got, prefix)) > output.TextBudget {
		t.Errorf("budget: prefix %q, %d encoded bytes", got[:min(len(got), 200)], output.EncodedLen(got))
	}
}

// rpc sends one JSON-RPC request to the server in ctx and returns the decoded response.
func (h *harness) rpc(ctx context.Context, method string, params any) (result map[string]any, errCode int, errMsg string) {
	h.t.Helper()
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	raw, _ := json.Marshal(h.tl.srv.HandleMessage(ctx, b))
	var resp struct {
		Result map[string]any
		Error  *struct {
			Code    int
			Message string
		}
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		h.t.Fatal(err)
	}
	if resp.Error != nil {
		return nil, resp.Error.Code, resp.Error.Message
	}
	return resp.Result, 0, ""
}

func TestResourceReads(t *testing.T) {
	h := newHarness(t, nil)
	// The sleep keeps the exit out of the exec result's own envelope, which would carry the event.
	r := h.exec(M{"command": "sleep 0.2; printf 'one\\ntwo\\n'", "background": true})
	id := details(r)["sessionId"].(string)
	if _, ok := h.sess.next(t, "notifications/message", 5*time.Second); !ok {
		t.Fatal("no exit")
	}
	res, code, msg := h.rpc(h.ctx, "resources/read", M{"uri": "exec://sessions/" + id})
	if code != 0 {
		t.Fatalf("read summary: %d %s", code, msg)
	}
	c := res["contents"].([]any)[0].(map[string]any)
	var summary map[string]any
	if err := json.Unmarshal([]byte(c["text"].(string)), &summary); err != nil || c["mimeType"] != "application/json" ||
		c["uri"] != "exec://sessions/"+id || summary["sessionId"] != id || summary["status"] != "completed" ||
		summary["exitCode"] != 0.0 || summary["pty"] != false || summary["timedOut"] != false || summary["exitReason"] != "exit" {
		t.Fatalf("summary %v / %v", c, summary)
	}
	res, code, _ = h.rpc(h.ctx, "resources/read", M{"uri": "exec://sessions/" + id + "/log"})
	if c := res["contents"].([]any)[0].(map[string]any); code != 0 || c["text"] != "one\ntwo\n" || c["mimeType"] != "text/plain" {
		t.Fatalf("log %v", res)
	}
	// Reading does not acknowledge the event: it is still queued.
	if l := h.process(M{"action": "list"}); len(l.Content) != 2 {
		t.Fatalf("event acknowledged by a read: %v", l.Content)
	}

	// Foreign, unknown and foreground ids are all the same not-found error.
	_, other := h.client("mcp-session-other", "")
	fg := h.exec(M{"command": "echo fg"})
	if fg.IsError {
		t.Fatal(text(fg))
	}
	var errs []string
	for _, tc := range []struct {
		ctx context.Context
		uri string
	}{
		{other, "exec://sessions/" + id},
		{other, "exec://sessions/" + id + "/log"},
		{h.ctx, "exec://sessions/no-such-id"},
		{h.ctx, "exec://sessions/no-such-id/log"},
	} {
		_, code, msg := h.rpc(tc.ctx, "resources/read", M{"uri": tc.uri})
		errs = append(errs, msg)
		if code == 0 || !strings.Contains(msg, "resource not found") {
			t.Errorf("%s: %d %q", tc.uri, code, msg)
		}
	}
	for _, m := range errs[1:] {
		if m != errs[0] {
			t.Errorf("distinguishable errors: %q", errs)
		}
	}

	res, code, _ = h.rpc(h.ctx, "resources/list", M{})
	if list, ok := res["resources"].([]any); code != 0 || !ok || len(list) != 0 {
		t.Fatalf("resources/list %v", res)
	}
	res, _, _ = h.rpc(h.ctx, "resources/templates/list", M{})
	templates := map[string]map[string]any{}
	for _, x := range res["resourceTemplates"].([]any) {
		m := x.(map[string]any)
		templates[m["uriTemplate"].(string)] = m
	}
	if s := templates["exec://sessions/{id}"]; len(templates) != 2 || s["name"] != "exec session" ||
		s["description"] != "Summary of a background exec session (JSON)" || s["mimeType"] != "application/json" {
		t.Fatalf("templates %v", templates)
	}
	if l := templates["exec://sessions/{id}/log"]; l["name"] != "exec session log" ||
		l["description"] != "Retained output of a background exec session (text)" || l["mimeType"] != "text/plain" {
		t.Fatalf("log template %v", l)
	}
}

func TestResourceUpdatesAtExit(t *testing.T) {
	h := newHarness(t, nil)
	a, ctxA := h.client("mcp-session-a", "alpha")
	a2, _ := h.client("mcp-session-a2", "alpha") // same scope, not subscribed
	b, ctxB := h.client("mcp-session-b", "beta")
	r := h.call(ctxA, "exec", M{"command": "sleep 0.3; echo x", "background": true})
	id := details(r)["sessionId"].(string)
	for _, ctx := range []context.Context{ctxA, ctxB} { // beta subscribes to a foreign id: accepted, never updated
		for _, uri := range []string{"exec://sessions/" + id, "exec://sessions/" + id + "/log"} {
			if _, code, msg := h.rpc(ctx, "resources/subscribe", M{"uri": uri}); code != 0 {
				t.Fatalf("subscribe: %d %s", code, msg)
			}
		}
	}
	got := map[string]int{}
	deadline := time.After(5 * time.Second)
	for len(got) < 2 {
		select {
		case n := <-a.ch:
			if n.Method == "notifications/resources/updated" {
				got[n.Params.AdditionalFields["uri"].(string)]++
			}
		case <-deadline:
			t.Fatalf("updates %v", got)
		}
	}
	// Exactly one update per URI (the log's throttled update may precede the final one only if output
	// arrived while subscribed; it did here, so count the summary URI exactly).
	drain := time.After(700 * time.Millisecond)
loop:
	for {
		select {
		case n := <-a.ch:
			if n.Method == "notifications/resources/updated" {
				got[n.Params.AdditionalFields["uri"].(string)]++
			}
		case <-drain:
			break loop
		}
	}
	if got["exec://sessions/"+id] != 1 || got["exec://sessions/"+id+"/log"] < 1 {
		t.Fatalf("updates %v", got)
	}
	for _, s := range []*fakeSession{a2, b} {
		for len(s.ch) > 0 {
			if n := <-s.ch; n.Method == "notifications/resources/updated" {
				t.Fatalf("%s got an update: %v", s.id, n.Params.AdditionalFields)
			}
		}
	}
	// After unsubscribe, no update.
	r = h.call(ctxA, "exec", M{"command": "sleep 0.2; echo y", "background": true})
	id2 := details(r)["sessionId"].(string)
	h.rpc(ctxA, "resources/subscribe", M{"uri": "exec://sessions/" + id2})
	h.rpc(ctxA, "resources/unsubscribe", M{"uri": "exec://sessions/" + id2})
	if _, ok := a.next(t, "notifications/message", 5*time.Second); !ok {
		t.Fatal("no exit message")
	}
	if n, ok := a.next(t, "notifications/resources/updated", 500*time.Millisecond); ok {
		t.Fatalf("update after unsubscribe: %v", n.Params.AdditionalFields)
	}
}

func TestLogUpdateThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl, _ := newBubbleTools(t, time.Hour)
		s := register(t, tl, "mcp-session-a", "")
		other := register(t, tl, "mcp-session-b", "")
		ctx := tl.srv.WithContext(context.Background(), s)
		tl.subscribe(ctx, &mcp.SubscribeRequest{Params: mcp.SubscribeParams{URI: "exec://sessions/amber-atlas/log"}})
		count := func(fs *fakeSession) int {
			n := 0
			for len(fs.ch) > 0 {
				if m := <-fs.ch; m.Method == "notifications/resources/updated" {
					if m.Params.AdditionalFields["uri"] != "exec://sessions/amber-atlas/log" {
						t.Fatalf("uri %v", m.Params.AdditionalFields)
					}
					n++
				}
			}
			return n
		}
		scope := "mcp-session-a"
		// First output: at once.
		tl.onOutput(scope, "amber-atlas")
		if n := count(s); n != 1 {
			t.Fatalf("first output: %d updates", n)
		}
		// A burst within the second: one trailing update when it ends.
		for range 10 {
			time.Sleep(50 * time.Millisecond)
			tl.onOutput(scope, "amber-atlas")
		}
		if n := count(s); n != 0 {
			t.Fatalf("burst: %d updates before the interval ended", n)
		}
		time.Sleep(500*time.Millisecond + time.Millisecond)
		synctest.Wait()
		if n := count(s); n != 1 {
			t.Fatalf("trailing update: %d", n)
		}
		// A quiet interval ends the throttle; the next output is announced at once again.
		time.Sleep(1100 * time.Millisecond)
		synctest.Wait()
		if n := count(s); n != 0 {
			t.Fatalf("quiet interval: %d", n)
		}
		tl.mu.Lock()
		pending := len(tl.logThrottle)
		tl.mu.Unlock()
		if pending != 0 {
			t.Fatalf("throttle state left: %d", pending)
		}
		tl.onOutput(scope, "amber-atlas")
		if n := count(s); n != 1 {
			t.Fatalf("after quiet: %d", n)
		}
		// Finalization ends the throttle: the final updates go out, no trailing one follows.
		tl.onOutput(scope, "amber-atlas")
		tl.onExit(sessions.Info{ID: "amber-atlas", Scope: scope, Status: "completed", ExitCode: intp(0), ExitReason: "exit",
			NotifyOnExit: true, Backgrounded: true})
		if n := count(s); n != 1 {
			t.Fatalf("final: %d log updates", n)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if n := count(s); n != 0 {
			t.Fatalf("after final: %d", n)
		}
		// Without subscribers nothing is tracked or sent.
		tl.onOutput(scope, "other-id")
		tl.mu.Lock()
		pending = len(tl.logThrottle)
		tl.mu.Unlock()
		if n := count(other); n != 0 || pending != 0 {
			t.Fatalf("unsubscribed output: %d updates, %d throttles", n, pending)
		}
		if err := tl.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
