package integration_test

// Output watchers (docs/reference.md#watch) and Claude Code channel events (docs/reference.md#channel) through the
// real binary.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// OutputMessages returns the notifications/message of watcher announcements of session id.
func (s *Server) OutputMessages(id string) []ExitMessage {
	var out []ExitMessage
	for _, m := range s.ExitMessages(id) {
		if m.Data["event"] == "exec.output" {
			out = append(out, m)
		}
	}
	return out
}

// WaitOutputMessages waits until at least n announcements of id arrived (fewer on timeout).
func (s *Server) WaitOutputMessages(id string, n int, d time.Duration) []ExitMessage {
	var msgs []ExitMessage
	awaitTap(d, func() <-chan struct{} { _, ch := s.tap.snapshot(); return ch }, func() bool {
		msgs = s.OutputMessages(id)
		return len(msgs) >= n
	})
	return msgs
}

// channelEvent is a decoded notifications/claude/channel.
type channelEvent struct {
	Content string            `json:"content"`
	Meta    map[string]string `json:"meta"`
}

// ChannelEvents returns the channel events of session id seen so far.
func (s *Server) ChannelEvents(id string) []channelEvent {
	var out []channelEvent
	for _, m := range s.Notes("notifications/claude/channel") {
		var ev channelEvent
		if err := json.Unmarshal(m.Params, &ev); err != nil {
			s.t.Errorf("channel event params %s: %v", m.Params, err)
			continue
		}
		if ev.Meta["session_id"] == id {
			out = append(out, ev)
		}
	}
	return out
}

// A watcher set by exec announces the matching line once, as a notification and as a System: line of the next
// result (acceptance: exec notifyOnOutput).
func TestWatchNotifyOnOutput(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`for i in 1 2 3; do echo ok $i; sleep 0.3; done; echo ERROR disk full; sleep 5`,
		"notifyOnOutput", "ERROR")
	msgs := s.WaitOutputMessages(id, 1, 10*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d announcements, want 1", len(msgs))
	}
	m := msgs[0]
	want := "Exec output (" + id8(id) + ") :: ERROR disk full"
	if m.Level != "info" || m.Logger != "exec" || m.Data["line"] != "ERROR disk full" || m.Data["stream"] != "stdout" ||
		m.Data["matches"] != float64(1) || m.Text() != want {
		t.Errorf("announcement = level %q logger %q data %v", m.Level, m.Logger, m.Data)
	}
	r := s.Proc("list")
	if len(r.Texts) != 2 || r.Texts[1] != "System: "+want {
		t.Errorf("next result content = %q, want a System: line %q", r.Texts, "System: "+want)
	}
	awaitTap(5*time.Second, func() <-chan struct{} { _, ch := s.tap.snapshot(); return ch }, func() bool {
		return len(s.Notes("notifications/heartbeat")) > 0
	})
	if len(s.Notes("notifications/heartbeat")) == 0 {
		t.Error("no heartbeat after the announcement")
	}
	s.Proc("kill", "sessionId", id)
	s.WaitFinished(id, 10*time.Second)
	if n := len(s.OutputMessages(id)); n != 1 {
		t.Errorf("%d announcements after the kill, want still 1", n)
	}
}

// Lines printed in the yield window are in the exec result, not announced; stderr lines are matched too.
func TestWatchOnlyBackgroundedLines(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	r := s.Exec(`echo ERROR early; sleep 1.5; echo ERROR late >&2; sleep 5`, "yieldMs", 700, "notifyOnOutput", "^ERROR")
	id := r.Str("sessionId")
	if r.Str("status") != "running" || !strings.Contains(r.Str("tail"), "ERROR early") {
		t.Fatalf("exec = %s", r)
	}
	msgs := s.WaitOutputMessages(id, 1, 10*time.Second)
	if len(msgs) != 1 || msgs[0].Data["line"] != "ERROR late" || msgs[0].Data["stream"] != "stderr" {
		t.Fatalf("announcements %v, want only ERROR late on stderr", msgs)
	}
	s.Proc("kill", "sessionId", id)
}

// 50 matching lines at once: one announcement at once, the other 49 in one more a second later, never more than
// one per second (acceptance: rate limit).
func TestWatchRateLimit(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`sleep 0.5; i=0; while [ $i -lt 50 ]; do echo "hit $i"; i=$((i+1)); done; sleep 0.1; echo hit late; sleep 6`,
		"notifyOnOutput", `^hit`)
	msgs := s.WaitOutputMessages(id, 2, 10*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("%d announcements within 10 s, want 2", len(msgs))
	}
	first, second := msgs[0], msgs[1]
	if first.Data["line"] != "hit 0" || first.Data["matches"] != float64(1) {
		t.Errorf("first announcement %v", first.Data)
	}
	wantText := "Exec output (" + id8(id) + ") :: hit 1 (+49 more matching lines)"
	if second.Data["line"] != "hit 1" || second.Data["matches"] != float64(50) || second.Text() != wantText {
		t.Errorf("second announcement %v, want text %q", second.Data, wantText)
	}
	// The window is a second from the first announcement; the tap's receive times jitter a little.
	if gap := second.At.Sub(first.At); gap < 900*time.Millisecond || gap > 3*time.Second {
		t.Errorf("second announcement %v after the first, want about 1 s", gap)
	}
	time.Sleep(2 * time.Second)
	if n := len(s.OutputMessages(id)); n != 2 {
		t.Errorf("%d announcements, want 2", n)
	}
	s.Proc("kill", "sessionId", id)
}

// process watch sets a watcher on a running session and an empty pattern removes it (acceptance: process watch).
func TestWatchAction(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`read x; echo done one; read y; echo done two; sleep 30`)
	r := s.Proc("watch", "sessionId", id, "pattern", "done")
	if r.IsError || r.Texts[0] != "Watching session "+id+" for /done/." || r.Str("pattern") != "done" || r.Str("status") != "running" {
		t.Fatalf("watch = %s", r)
	}
	s.Proc("write", "sessionId", id, "data", "\n")
	msgs := s.WaitOutputMessages(id, 1, 10*time.Second)
	if len(msgs) != 1 || msgs[0].Data["line"] != "done one" {
		t.Fatalf("announcements %v, want done one", msgs)
	}
	r = s.Proc("watch", "sessionId", id, "pattern", "")
	if r.IsError || r.Texts[0] != "Stopped watching session "+id+"." || r.Has("pattern") {
		t.Fatalf("watch \"\" = %s", r)
	}
	time.Sleep(1200 * time.Millisecond) // past the rate-limit window of the first announcement
	s.Proc("write", "sessionId", id, "data", "\n")
	r = s.Proc("poll", "sessionId", id, "until", "done two", "timeout", 10000)
	if m, _ := r.Bool("matched"); !m {
		t.Fatalf("poll until done two = %s", r)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := len(s.OutputMessages(id)); n != 1 {
		t.Errorf("%d announcements after the watcher was removed, want 1", n)
	}
	s.Proc("kill", "sessionId", id)
}

// The error texts of watch and notifyOnOutput; an invalid notifyOnOutput runs nothing.
func TestWatchErrors(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	running, _ := s.Background(`sleep 30`)
	finished, _ := s.Background(`true`)
	s.WaitFinished(finished, 10*time.Second)
	for _, c := range []struct {
		name string
		args []any
		want string
	}{
		{"no pattern", []any{"sessionId", running}, "pattern is required for watch."},
		{"invalid", []any{"sessionId", running, "pattern", "("}, "Invalid pattern: error parsing regexp: missing closing ): `(`"},
		{"too long", []any{"sessionId", running, "pattern", strings.Repeat("a", 1001)}, "Invalid pattern: longer than 1000 bytes"},
		{"unknown", []any{"sessionId", "nope-nope", "pattern", "x"}, "No session found for nope-nope"},
		{"finished", []any{"sessionId", finished, "pattern", "x"}, "Session " + finished + " is not running."},
		{"no id", []any{"pattern", "x"}, "sessionId is required for this action."},
	} {
		r := s.Proc("watch", c.args...)
		if !r.IsError || r.Texts[0] != c.want {
			t.Errorf("%s: %s, want isError %q", c.name, r, c.want)
		}
	}
	marker := filepath.Join(s.Dir, "ran")
	r := s.Exec("touch "+marker, "notifyOnOutput", "a[")
	if !r.IsError || r.Texts[0] != "Invalid notifyOnOutput pattern: error parsing regexp: missing closing ]: `[`" {
		t.Errorf("invalid notifyOnOutput: %s", r)
	}
	r = s.Exec("touch "+marker, "notifyOnOutput", strings.Repeat("b", 1001))
	if !r.IsError || r.Texts[0] != "Invalid notifyOnOutput pattern: longer than 1000 bytes" {
		t.Errorf("long notifyOnOutput: %s", r)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the command ran despite an invalid notifyOnOutput (stat: %v)", err)
	}
	s.Proc("kill", "sessionId", running)
}

// channelDeclared reports whether the server's initialize result declared the claude/channel capability, and
// whether the instructions mention channel events.
func channelDeclared(s *Server) (capability, instructions bool) {
	res := s.Sess.InitializeResult()
	_, capability = res.Capabilities.Experimental["claude/channel"]
	return capability, strings.Contains(res.Instructions, `<channel source="execmcp">`)
}

// Claude Code gets the channel capability and every exit and watcher event as a channel event; other clients get
// neither with the default auto; on and off override the client check (acceptance: channel events).
func TestChannelEvents(t *testing.T) {
	par(t)
	t.Run("claude-code", func(t *testing.T) {
		s := StartServer(t, Options{ClientName: "claude-code"})
		if c, i := channelDeclared(s); !c || !i {
			t.Fatalf("capability %v, instructions %v; want both", c, i)
		}
		id, _ := s.Background(`sleep 0.3; echo READY now; sleep 0.5; echo bye`, "notifyOnOutput", "READY")
		s.WaitExitMessages(id, 2, 10*time.Second)
		var evs []channelEvent
		awaitTap(5*time.Second, func() <-chan struct{} { _, ch := s.tap.snapshot(); return ch }, func() bool {
			evs = s.ChannelEvents(id)
			return len(evs) >= 2
		})
		if len(evs) != 2 {
			t.Fatalf("channel events %v, want an output and an exit event", evs)
		}
		out, exit := evs[0], evs[1]
		if out.Content != "Exec output ("+id8(id)+") :: READY now" || out.Meta["event"] != "output" ||
			out.Meta["status"] != "running" || len(out.Meta) != 3 {
			t.Errorf("output channel event %+v", out)
		}
		wantExit := "Exec completed (" + id8(id) + ", code 0) :: READY now bye"
		if exit.Content != wantExit || exit.Meta["event"] != "exit" || exit.Meta["status"] != "completed" ||
			exit.Meta["exit_code"] != "0" || len(exit.Meta) != 4 {
			t.Errorf("exit channel event %+v, want content %q", exit, wantExit)
		}
		// A signalled exit has no exit code.
		id2, _ := s.Background(`kill -TERM $$`)
		awaitTap(10*time.Second, func() <-chan struct{} { _, ch := s.tap.snapshot(); return ch }, func() bool {
			return len(s.ChannelEvents(id2)) >= 1
		})
		if evs := s.ChannelEvents(id2); len(evs) != 1 || evs[0].Meta["status"] != "failed" || len(evs[0].Meta) != 3 {
			t.Errorf("signalled exit channel events %+v", evs)
		}
	})
	for _, c := range []struct {
		name, client, mode string
		want               bool
	}{
		{"other client", "", "", false},
		{"off", "claude-code", "off", false},
		{"on", "", "on", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var env []string
			if c.mode != "" {
				env = []string{"EXECMCP_CHANNEL=" + c.mode}
			}
			s := StartServer(t, Options{ClientName: c.client, Env: env})
			if capability, instr := channelDeclared(s); capability != c.want || instr != c.want {
				t.Errorf("capability %v, instructions %v; want %v", capability, instr, c.want)
			}
			id, _ := s.Background(`echo hello`)
			s.WaitExitMessages(id, 1, 10*time.Second)
			if c.want {
				awaitTap(5*time.Second, func() <-chan struct{} { _, ch := s.tap.snapshot(); return ch }, func() bool {
					return len(s.ChannelEvents(id)) >= 1
				})
			} else {
				time.Sleep(500 * time.Millisecond)
			}
			if n := len(s.ChannelEvents(id)); (n == 1) != c.want || n > 1 {
				t.Errorf("%d channel events, want %v", n, c.want)
			}
		})
	}
}
