package tools

import (
	"context"
	"testing"
	"time"
)

// The adapter's counters through tools/call requests: exec modes, tool calls by result, notifications by kind,
// live MCP sessions and the calls in flight.
func TestStats(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.NotifyOnExitEmptySuccess = true })
	call := func(tool string, args M) {
		t.Helper()
		if _, code, msg := h.rpc(h.ctx, "tools/call", M{"name": tool, "arguments": args}); code != 0 {
			t.Fatalf("%s %v: JSON-RPC error %d %s", tool, args, code, msg)
		}
	}
	if st := h.tl.Stats(); st.MCPSessions != 1 || len(st.ToolCalls) != 2 || st.ToolCalls[0] != (ToolCalls{Tool: "exec"}) ||
		st.ToolCalls[1] != (ToolCalls{Tool: "process"}) || st.CallsInFlight != 0 {
		t.Fatalf("fresh: %+v", st)
	}
	call("exec", M{"command": "echo hi"})
	call("exec", M{"command": "exit 3"})                        // a non-zero exit is a normal result
	call("exec", M{"command": "sleep 0.1", "background": true}) // announced: exit and heartbeat
	call("exec", M{"command": ""})                              // a tool error: no command started
	call("process", M{"action": "list"})
	call("process", M{"action": "poll", "sessionId": "nope"})
	if _, ok := h.sess.next(t, "notifications/heartbeat", 5*time.Second); !ok {
		t.Fatal("no heartbeat after the background exit")
	}
	// The counter is added to once the notification was handed over, which the fake session may see first.
	st := h.tl.Stats()
	for deadline := time.Now().Add(5 * time.Second); st.HeartbeatNotifications == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		st = h.tl.Stats()
	}
	if st.ExecForeground != 2 || st.ExecBackground != 1 || st.ExecSync != 0 {
		t.Errorf("exec foreground, background, sync = %d, %d, %d; want 2, 1, 0", st.ExecForeground, st.ExecBackground, st.ExecSync)
	}
	want := []ToolCalls{{Tool: "exec", OK: 3, Error: 1}, {Tool: "process", OK: 1, Error: 1}}
	for i, w := range want {
		if st.ToolCalls[i] != w {
			t.Errorf("tool calls[%d] = %+v, want %+v", i, st.ToolCalls[i], w)
		}
	}
	if st.ExitNotifications != 1 || st.HeartbeatNotifications != 1 || st.OutputNotifications != 0 {
		t.Errorf("notifications exit, output, heartbeat = %d, %d, %d; want 1, 0, 1", st.ExitNotifications,
			st.OutputNotifications, st.HeartbeatNotifications)
	}
	if st.Sessions.Completed != 1 || st.Sessions.Durations.Count != 3 || st.Sessions.StdoutBytes != 3 {
		t.Errorf("sessions %+v: want 1 completed, 3 durations, 3 stdout bytes", st.Sessions)
	}
}

// Idle is closed while no call is in flight and opens for the duration of one.
func TestIdle(t *testing.T) {
	h := newHarness(t, nil)
	select {
	case <-h.tl.Idle():
	default:
		t.Fatal("Idle not closed with no call in flight")
	}
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.rpc(ctx, "tools/call", M{"name": "exec", "arguments": M{"command": "sleep 30"}})
	}()
	var idle <-chan struct{}
	deadline := time.Now().Add(10 * time.Second)
	for h.tl.Stats().CallsInFlight != 1 { // the call's start is not observable otherwise
		if time.Now().After(deadline) {
			t.Fatal("the call is not in flight after 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	idle = h.tl.Idle()
	select {
	case <-idle:
		t.Fatal("Idle closed with a call in flight")
	default:
	}
	cancel()
	select {
	case <-idle:
	case <-time.After(10 * time.Second):
		t.Fatal("Idle not closed after the call ended")
	}
	<-done
	if n := h.tl.Stats().CallsInFlight; n != 0 {
		t.Errorf("calls in flight = %d after the call, want 0", n)
	}
}
