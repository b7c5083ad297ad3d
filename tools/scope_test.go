package tools

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/execmcp/execmcp/sessions"
)

func TestSessionScope(t *testing.T) {
	bg := context.Background()
	alpha := WithPrincipal(bg, "alpha")
	none := WithPrincipal(bg, "")
	tests := []struct {
		ctx  context.Context
		sid  string
		want string
	}{
		{bg, "stdio", "stdio"},
		{bg, "mcp-session-1", "mcp-session-1"},
		{none, "mcp-session-1", "mcp-session-1"},
		{bg, "0b5c9a5e-sse-uuid", "0b5c9a5e-sse-uuid"},
		{alpha, "mcp-session-1", "agent:alpha"},
		{alpha, "0b5c9a5e-sse-uuid", "agent:alpha"},
		{bg, "agent:alpha", ""}, // a session id can never join an agent scope
		{bg, "", ""},
		{alpha, "", ""},
	}
	for _, tc := range tests {
		if got := sessionScope(tc.ctx, tc.sid); got != tc.want {
			t.Errorf("sessionScope(%q, principal %q) = %q, want %q", tc.sid, PrincipalFromContext(tc.ctx), got, tc.want)
		}
	}
	for scope, want := range map[string]bool{"stdio": false, "agent:a": false, "": false, "mcp-session-1": true, "uuid": true} {
		if isSessionIDScope(scope) != want {
			t.Errorf("isSessionIDScope(%q) != %v", scope, want)
		}
	}
	if PrincipalFromContext(bg) != "" || PrincipalFromContext(alpha) != "alpha" {
		t.Error("PrincipalFromContext")
	}
}

// client registers a fake MCP session with the given principal ("" = none) and returns its context.
func (h *harness) client(sid, agent string) (*fakeSession, context.Context) {
	h.t.Helper()
	s := newFakeSession(sid)
	ctx := h.tl.srv.WithContext(context.Background(), s)
	if agent != "" {
		ctx = WithPrincipal(ctx, agent)
	}
	if err := h.tl.srv.RegisterSession(ctx, s); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { h.tl.srv.UnregisterSession(context.Background(), sid) })
	return s, ctx
}

func TestAgentScopeSharedAcrossSessions(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.OrphanGrace = time.Hour })
	a1, ctx1 := h.client("mcp-session-a1", "alpha")
	a2, ctx2 := h.client("mcp-session-a2", "alpha")
	b, ctxB := h.client("mcp-session-b", "")
	r := h.call(ctx1, "exec", M{"command": "sleep 0.3; echo done", "background": true})
	id := details(r)["sessionId"].(string)
	if l := h.call(ctx2, "process", M{"action": "list"}); !strings.HasPrefix(text(l), id+" running") {
		t.Fatalf("same agent, other MCP session: list %q", text(l))
	}
	if l := h.call(ctxB, "process", M{"action": "list"}); text(l) != textNoSessions {
		t.Fatalf("other scope: list %q", text(l))
	}
	// Both live MCP sessions of the agent scope get the message; the other scope and stdio get nothing.
	for _, s := range []*fakeSession{a1, a2} {
		n, ok := s.next(t, "notifications/message", 5*time.Second)
		if !ok || n.Params.AdditionalFields["data"].(map[string]any)["sessionId"] != id {
			t.Fatalf("%s: message %v %v", s.id, ok, n)
		}
		hb, ok := s.next(t, "notifications/heartbeat", 2*time.Second)
		if !ok || hb.Params.AdditionalFields["scope"] != "agent:alpha" {
			t.Fatalf("%s: heartbeat %v %v", s.id, ok, hb)
		}
	}
	for _, s := range []*fakeSession{b, h.sess} {
		select {
		case n := <-s.ch:
			t.Fatalf("%s got %s", s.id, n.Method)
		case <-time.After(300 * time.Millisecond):
		}
	}
	// The event is queued once for the scope: exactly one of the agent's calls carries it.
	if l := h.call(ctx2, "process", M{"action": "list"}); len(l.Content) != 2 {
		t.Fatalf("queued event missing: %v", l.Content)
	}
	if l := h.call(ctx1, "process", M{"action": "list"}); len(l.Content) != 1 {
		t.Fatalf("event delivered twice: %v", l.Content)
	}
}

func TestAgentPrefixedSessionIDIsNotAScope(t *testing.T) {
	h := newHarness(t, nil)
	_, ctx := h.client("agent:alpha", "")
	if r := h.call(ctx, "process", M{"action": "list"}); !r.IsError || text(r) != textNoMCP {
		t.Fatalf("agent-like session id: %q", text(r))
	}
	h.tl.mu.Lock()
	defer h.tl.mu.Unlock()
	if _, ok := h.tl.mcpSessions["agent:alpha"]; ok || h.tl.scopes["agent:alpha"] != nil {
		t.Fatal("agent-like session id was tracked")
	}
}

// orphanRecorder replaces Tools.orphan.
type orphanRecorder struct {
	mu     sync.Mutex
	scopes []string
}

func (o *orphanRecorder) orphan(scope string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.scopes = append(o.scopes, scope)
	return 0
}

func (o *orphanRecorder) calls() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.scopes...)
}

// newBubbleTools builds a Tools inside a synctest bubble, with a recording orphan function.
func newBubbleTools(t *testing.T, grace time.Duration) (*Tools, *orphanRecorder) {
	opts := testOptions(t)
	opts.OrphanGrace = grace
	tl, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rec := &orphanRecorder{}
	tl.orphan = rec.orphan
	return tl, rec
}

func register(t *testing.T, tl *Tools, sid, agent string) *fakeSession {
	t.Helper()
	s := newFakeSession(sid)
	ctx := WithPrincipal(tl.srv.WithContext(context.Background(), s), agent)
	if err := tl.srv.RegisterSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOrphanTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl, rec := newBubbleTools(t, 60*time.Second)
		register(t, tl, "mcp-session-x", "")
		register(t, tl, "mcp-session-y", "alpha")
		register(t, tl, "stdio", "")
		// Queued events of the scope are dropped by the cleanup.
		tl.onExit(sessions.Info{ID: "amber-atlas", Scope: "mcp-session-x", Status: "completed", ExitCode: intp(0),
			ExitReason: "exit", Tail: "hi", NotifyOnExit: true, Backgrounded: true})

		for _, sid := range []string{"mcp-session-x", "mcp-session-y", "stdio"} {
			tl.srv.UnregisterSession(context.Background(), sid)
		}
		time.Sleep(60*time.Second - time.Millisecond)
		synctest.Wait()
		if got := rec.calls(); len(got) != 0 {
			t.Fatalf("cleanup before the grace: %q", got)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := rec.calls(); len(got) != 1 || got[0] != "mcp-session-x" {
			t.Fatalf("cleanups %q, want only the session-id scope", got)
		}
		tl.mu.Lock()
		st, pending := tl.scopes["mcp-session-x"], len(tl.orphanTimers)
		tl.mu.Unlock()
		if st != nil || pending != 0 {
			t.Fatalf("scope state left: %+v, %d timers", st, pending)
		}
		// An exit in the cleaned-up scope is neither queued nor announced.
		tl.onExit(sessions.Info{ID: "late-exit", Scope: "mcp-session-x", Status: "completed", ExitCode: intp(1),
			NotifyOnExit: true, Backgrounded: true})
		tl.mu.Lock()
		st = tl.scopes["mcp-session-x"]
		tl.mu.Unlock()
		if st != nil {
			t.Fatalf("dead scope revived: %+v", st)
		}
		// A session started in the dead scope by a call that was in flight is cleaned up again.
		tl.checkOrphaned("mcp-session-x")
		tl.checkOrphaned("mcp-session-other")
		if got := rec.calls(); len(got) != 2 || got[1] != "mcp-session-x" {
			t.Fatalf("cleanups %q", got)
		}
		// A scope cleaned up long ago is forgotten when another one is marked.
		time.Sleep(orphanMemory + time.Second)
		register(t, tl, "mcp-session-z", "")
		tl.srv.UnregisterSession(context.Background(), "mcp-session-z")
		time.Sleep(61 * time.Second)
		synctest.Wait()
		tl.mu.Lock()
		_, remembered := tl.orphaned["mcp-session-x"]
		tl.mu.Unlock()
		if remembered {
			t.Fatal("old orphan mark kept")
		}
		if err := tl.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOrphanTimerZeroGraceAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl, rec := newBubbleTools(t, 0)
		register(t, tl, "mcp-session-x", "")
		tl.srv.UnregisterSession(context.Background(), "mcp-session-x")
		synctest.Wait()
		if got := rec.calls(); len(got) != 1 || got[0] != "mcp-session-x" {
			t.Fatalf("zero grace: cleanups %q", got)
		}
		if err := tl.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		tl, rec := newBubbleTools(t, time.Hour)
		register(t, tl, "mcp-session-x", "")
		tl.srv.UnregisterSession(context.Background(), "mcp-session-x")
		// Close stops the pending timer; it never fires.
		if err := tl.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		if got := rec.calls(); len(got) != 0 {
			t.Fatalf("cleanup after Close: %q", got)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// During shutdown the transports unregister every session: no timer starts.
		tl, rec := newBubbleTools(t, 0)
		register(t, tl, "mcp-session-x", "")
		tl.BeginShutdown()
		tl.srv.UnregisterSession(context.Background(), "mcp-session-x")
		synctest.Wait()
		if got := rec.calls(); len(got) != 0 {
			t.Fatalf("cleanup during shutdown: %q", got)
		}
		if err := tl.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOrphanCleanupKillsProcesses(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.OrphanGrace = 200 * time.Millisecond })
	_, ctx := h.client("mcp-session-gone", "")
	_, agentCtx := h.client("mcp-session-agent", "alpha")
	r := h.call(ctx, "exec", M{"command": "sleep 30", "background": true})
	id := details(r)["sessionId"].(string)
	fin := h.call(ctx, "exec", M{"command": "echo finished", "background": true})
	finID := details(fin)["sessionId"].(string)
	ar := h.call(agentCtx, "exec", M{"command": "sleep 30", "background": true})
	agentID := details(ar)["sessionId"].(string)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if info, err := h.tl.reg.Log("mcp-session-gone", finID); err == nil && info.Status != "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("echo did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.tl.srv.UnregisterSession(context.Background(), "mcp-session-gone")
	h.tl.srv.UnregisterSession(context.Background(), "mcp-session-agent")
	deadline = time.Now().Add(5 * time.Second)
	for len(h.tl.reg.List("mcp-session-gone")) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("sessions left after the orphan grace: %v", h.tl.reg.List("mcp-session-gone"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := h.tl.reg.Log("mcp-session-gone", id); err == nil {
		t.Fatal("orphaned session still visible")
	}
	// The agent scope is never cleaned up.
	time.Sleep(400 * time.Millisecond)
	if info, err := h.tl.reg.Log("agent:alpha", agentID); err != nil || info.Status != "running" {
		t.Fatalf("agent session: %v %v", info.Status, err)
	}
	h.tl.reg.Kill("agent:alpha", agentID, 9)
}

func TestUnregisterDropsSubscriptionsAndLevel(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.OrphanGrace = time.Hour })
	_, ctx := h.client("mcp-session-s", "")
	sub := `{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"exec://sessions/x"}}`
	set := `{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"error"}}`
	for _, m := range []string{sub, set} {
		if resp := h.tl.srv.HandleMessage(ctx, []byte(m)); resp == nil {
			t.Fatal("no response")
		}
	}
	h.tl.mu.Lock()
	subs, level := h.tl.subs["mcp-session-s"]["exec://sessions/x"], h.tl.levels["mcp-session-s"]
	h.tl.mu.Unlock()
	if !subs || level != mcp.LoggingLevelError {
		t.Fatalf("not tracked: %v %q", subs, level)
	}
	h.tl.srv.UnregisterSession(context.Background(), "mcp-session-s")
	h.tl.mu.Lock()
	_, hasSubs := h.tl.subs["mcp-session-s"]
	_, hasLevel := h.tl.levels["mcp-session-s"]
	timers := make([]string, 0)
	for s := range h.tl.orphanTimers {
		timers = append(timers, s)
	}
	h.tl.mu.Unlock()
	sort.Strings(timers)
	if hasSubs || hasLevel || len(timers) != 1 || timers[0] != "mcp-session-s" {
		t.Fatalf("after unregister: subs %v level %v timers %q", hasSubs, hasLevel, timers)
	}
}
