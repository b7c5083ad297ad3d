package integration_test

// Exit notifications on stdio (docs/reference.md#exit-notifications), System: lines in results
// (docs/reference.md#system-events), and a client offering a newer protocol version being pinned to a legacy one.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// checkExitMessage checks the exit notification on s: exactly one notifications/message, level info, logger exec,
// event exec.exit, for a background `sleep 0.5; echo notify`.
func checkExitMessage(t *testing.T, s *Server) {
	t.Helper()
	id, _ := s.Background(`sleep 0.5; echo notify`)
	msgs := s.WaitExitMessages(id, 1, 5*time.Second)
	if len(msgs) == 0 {
		t.Fatalf("no notifications/message for %s within 5 s", id)
	}
	m := msgs[0]
	if m.Level != "info" || m.Logger != "exec" || m.Data["event"] != "exec.exit" || m.Data["sessionId"] != id {
		t.Errorf("exit message = level %q logger %q data %v", m.Level, m.Logger, m.Data)
	}
	re := regexp.MustCompile(`^Exec completed \([a-z-]{8}, code 0\) :: notify$`)
	if !re.MatchString(m.Text()) || !strings.Contains(m.Text(), "("+id8(id)+",") {
		t.Errorf("exit message text = %q, want %v with %s", m.Text(), re, id8(id))
	}
	if m.Data["status"] != "completed" || m.Data["exitCode"] != float64(0) || m.Data["exitReason"] != "exit" {
		t.Errorf("exit message data = %v", m.Data)
	}
	time.Sleep(2 * time.Second)
	if n := len(s.ExitMessages(id)); n != 1 {
		t.Errorf("%d exit messages for %s, want exactly 1", n, id)
	}
}

// A background exit sends exactly one notifications/message with its summary text
// (docs/reference.md#exit-notifications).
func TestF45ExitMessage(t *testing.T) {
	par(t)
	checkExitMessage(t, StartServer(t, Options{}))
}

// A failed exit is announced at level warning (docs/reference.md#exit-notifications).
func TestF46FailedExitsWarn(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`kill -TERM $$`)
	msgs := s.WaitExitMessages(id, 1, 5*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d exit messages for %s, want 1", len(msgs), id)
	}
	if msgs[0].Level != "warning" || msgs[0].Text() != "Exec failed ("+id8(id)+", signal SIGTERM)" {
		t.Errorf("exit message = level %q text %q, want warning %q", msgs[0].Level, msgs[0].Text(), "Exec failed ("+id8(id)+", signal SIGTERM)")
	}
	time.Sleep(time.Second)
	if n := len(s.ExitMessages(id)); n != 1 {
		t.Errorf("%d exit messages, want 1", n)
	}
}

// Quiet exits: a silent success is not announced unless notifyOnExitEmptySuccess; a silent non-zero exit is; with
// notifyOnExit false nothing is, and the running text says so (docs/reference.md#exit-notifications).
func TestF47QuietExits(t *testing.T) {
	par(t)
	t.Run("defaults", func(t *testing.T) {
		s := StartServer(t, Options{})
		idTrue, _ := s.Background(`true`)
		idFour, _ := s.Background(`exit 4`)
		msgs := s.WaitExitMessages(idFour, 1, 5*time.Second)
		if len(msgs) != 1 || msgs[0].Text() != "Exec completed ("+id8(idFour)+", code 4)" {
			t.Errorf("exit 4 messages = %v, want one %q", msgs, "Exec completed ("+id8(idFour)+", code 4)")
		} else if msgs[0].Level != "info" {
			t.Errorf("exit 4 level = %q, want info", msgs[0].Level)
		}
		time.Sleep(3 * time.Second)
		if msgs := s.ExitMessages(idTrue); len(msgs) != 0 {
			t.Errorf("quiet success notified: %v", msgs)
		}
	})
	t.Run("notifyOnExitEmptySuccess", func(t *testing.T) {
		s := StartServer(t, Options{Config: `{"tools": {"exec": {"notifyOnExitEmptySuccess": true}}}`})
		id, _ := s.Background(`true`)
		msgs := s.WaitExitMessages(id, 1, 5*time.Second)
		if len(msgs) != 1 || msgs[0].Text() != "Exec completed ("+id8(id)+", code 0)" {
			t.Errorf("messages = %v, want one %q", msgs, "Exec completed ("+id8(id)+", code 0)")
		}
	})
	t.Run("notifyOnExit-false", func(t *testing.T) {
		s := StartServer(t, Options{Config: `{"tools": {"exec": {"notifyOnExit": false}}}`})
		r := s.Exec(`echo hi`, "background", true)
		id, pid := s.mustRunning(r, "echo hi")
		want := strings.Replace(strings.Replace(runningTextFmt, "%s", id, 1), "%d", itoa(pid), 1) + "\n\n" + wakeDisabledText
		wantText(t, r, want)
		s.WaitFinished(id, 10*time.Second)
		time.Sleep(2 * time.Second)
		if msgs := s.ExitMessages(id); len(msgs) != 0 {
			t.Errorf("notifyOnExit false still notified: %v", msgs)
		}
	})
}

// A client that ignores notifications gets the exit as a System: line and systemEvents in its next result, once;
// polling the session first consumes it (docs/reference.md#system-events).
func TestF48SystemEvents(t *testing.T) {
	par(t)
	s := StartServer(t, Options{}) // the SDK client has no notification handlers: it ignores them
	id, _ := s.Background(`echo hi`)
	// Learn the exit time without calling the server (a call would take the event).
	s.WaitExitMessages(id, 1, 5*time.Second)
	time.Sleep(2 * time.Second)
	r := s.Proc("list")
	want := "Exec completed (" + id8(id) + ", code 0) :: hi"
	if len(r.Texts) != 2 || r.Texts[1] != "System: "+want {
		t.Errorf("list content = %q, want a second item %q", r.Texts, "System: "+want)
	}
	if ev, _ := r.SC["systemEvents"].([]any); len(ev) != 1 || ev[0] != want {
		t.Errorf("systemEvents = %v, want [%q]", r.SC["systemEvents"], want)
	}
	r = s.Proc("list")
	if len(r.Texts) != 1 || r.Has("systemEvents") {
		t.Errorf("next call still carries system events: %s", r)
	}

	// Variant: polling the session first acknowledges its event.
	id2, _ := s.Background(`echo hi`)
	s.WaitExitMessages(id2, 1, 5*time.Second)
	time.Sleep(2 * time.Second)
	r = s.Proc("poll", "sessionId", id2)
	wantText(t, r, "hi\n\nProcess exited with code 0.")
	if len(r.Texts) != 1 || r.Has("systemEvents") {
		t.Errorf("poll of the finished session carries system events: %s", r)
	}
	r = s.Proc("list")
	if len(r.Texts) != 1 || r.Has("systemEvents") {
		t.Errorf("call after the poll carries system events: %s", r)
	}
}

// A client offering a newer protocol version (the SDK's default, 2026-07-28) ends up on a legacy one and still gets
// the exit notification (docs/reference.md#stdio).
func TestI68ModernClientPinned(t *testing.T) {
	par(t)
	s := StartServer(t, Options{Protocol: "latest"})
	v := s.Sess.InitializeResult().ProtocolVersion
	if v >= "2026-07-28" || v == "" {
		t.Errorf("negotiated protocol %q, want a legacy version (<= 2025-11-25)", v)
	}
	var sawInit bool
	for _, m := range s.Messages() {
		if m.isResponse() && strings.Contains(string(m.Result), `"serverInfo"`) {
			sawInit = true
		}
	}
	if !sawInit {
		t.Errorf("no initialize response seen")
	}
	checkExitMessage(t, s)
}

// Heartbeats on stdio (TestF49HTTPHeartbeatTargeting covers two HTTP clients): three background exits at once give
// three notifications/message and one or two coalesced notifications/heartbeat with reason exec-event and the
// scope stdio (docs/reference.md#exit-notifications).
func TestF49StdioHeartbeat(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	// The three commands wait for one file, so they exit within a few ms of each other however slowly the
	// machine starts them: the heartbeat coalescing window (250 ms) is what this test measures, not spawn speed.
	var ids []string
	for i := 0; i < 3; i++ {
		id, _ := s.Background(`while [ ! -e go ]; do sleep 0.01; done; echo x`)
		ids = append(ids, id)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if msgs := s.WaitExitMessages(id, 1, 5*time.Second); len(msgs) != 1 {
			t.Errorf("%d exit messages for %s, want 1", len(msgs), id)
		}
	}
	time.Sleep(time.Second)
	hb := s.Notes("notifications/heartbeat")
	if len(hb) < 1 || len(hb) > 2 {
		t.Errorf("%d heartbeats, want one or two", len(hb))
	}
	for _, m := range hb {
		var p map[string]any
		if jsonUnmarshal(m.Params, &p) != nil || p["reason"] != "exec-event" || p["scope"] != "stdio" {
			t.Errorf("heartbeat params = %s, want {reason: exec-event, scope: stdio}", m.Params)
		}
	}
}
