package integration_test

// process poll with until through the real binary: it waits for a matching line, the exit or the timeout, and
// matches at ingest (docs/reference.md#poll-wait).

import (
	"strings"
	"testing"
	"time"
)

// wantMatched checks the until fields of a poll result.
func wantMatched(t *testing.T, r *Result, matched bool, match string) {
	t.Helper()
	if got, ok := r.Bool("matched"); !ok || got != matched {
		t.Errorf("matched = %v, want %v (result %s)", r.SC["matched"], matched, r)
	}
	if matched && r.Str("match") != match {
		t.Errorf("match = %q, want %q", r.Str("match"), match)
	}
	if !matched && r.Has("match") {
		t.Errorf("match present without a match: %v", r.SC["match"])
	}
}

// The poll waits past a non-matching line for the matching one.
func TestUntilWaitsForMatchingLine(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`sleep 1; echo one; sleep 1; echo READY; sleep 30`)
	r := s.Proc("poll", "sessionId", id, "until", "^READY$", "timeout", 10000)
	if r.Elapsed < 1500*time.Millisecond {
		t.Errorf("poll until returned after %v, want about 2 s (not after one)", r.Elapsed)
	}
	within(t, r, 6*time.Second, "poll until READY")
	wantStatus(t, r, "running")
	wantMatched(t, r, true, "READY")
	if !strings.Contains(r.Text, "one") || !strings.Contains(r.Text, "READY") {
		t.Errorf("text = %q, want one and READY", r.Text)
	}
	if strings.Contains(r.Text, "(no line matched") {
		t.Errorf("matched poll carries the no-match line: %q", r.Text)
	}
}

// Nothing matches on a chatty session: the poll waits the whole timeout and says so.
func TestUntilNoMatch(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`while :; do echo chat; sleep 0.05; done`)
	r := s.Proc("poll", "sessionId", id, "until", "never", "timeout", 1500)
	if r.Elapsed < 1500*time.Millisecond {
		t.Errorf("poll returned after %v, want >= 1.5 s", r.Elapsed)
	}
	within(t, r, 6*time.Second, "poll until never")
	wantStatus(t, r, "running")
	wantMatched(t, r, false, "")
	if !strings.HasSuffix(r.Text, "\n\nProcess still running.\n(no line matched until within 1500 ms)") {
		t.Errorf("text = %q, want the no-match line after Process still running.", r.Text)
	}
	if !strings.Contains(r.Text, "chat") {
		t.Errorf("text = %q, want the drained output", r.Text)
	}
	// An empty until is a plain poll.
	r = s.Proc("poll", "sessionId", id, "until", "", "timeout", 0)
	if r.Has("matched") {
		t.Errorf("empty until: matched present: %s", r)
	}
}

// A prompt without a newline (an incomplete last line) can match.
func TestUntilMatchesPrompt(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`sleep 0.5; printf 'Password: '; read x; echo "got $x"`)
	r := s.Proc("poll", "sessionId", id, "until", "Password: $", "timeout", 10000)
	within(t, r, 6*time.Second, "poll until the prompt")
	wantStatus(t, r, "running")
	wantMatched(t, r, true, "Password: ")
	w := s.Proc("write", "sessionId", id, "data", "x\n")
	if w.IsError {
		t.Fatalf("write: %s", w)
	}
	r = s.Proc("poll", "sessionId", id, "until", "^got", "timeout", 10000)
	within(t, r, 6*time.Second, "poll until got")
	// The session may have finished by the time the poll looks; either way the line was seen.
	if !strings.Contains(r.Text, "got x") {
		t.Errorf("text = %q, want got x", r.Text)
	}
}

// Invalid and over-long patterns are refused before anything is drained.
func TestUntilInvalidPattern(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`echo kept; sleep 30`)
	time.Sleep(300 * time.Millisecond)
	wantProcError(t, s.Proc("poll", "sessionId", id, "until", "("), "Invalid until pattern: error parsing regexp: missing closing ): `(`")
	wantProcError(t, s.Proc("poll", "sessionId", id, "until", strings.Repeat("a", 1001)), "Invalid until pattern: longer than 1000 bytes")
	wantProcError(t, s.Proc("poll", "sessionId", "nope", "until", "("), "Invalid until pattern: error parsing regexp: missing closing ): `(`")
	r := s.Proc("poll", "sessionId", id, "until", "^kept$")
	wantMatched(t, r, true, "kept")
	if !strings.HasPrefix(r.Text, "kept\n") {
		t.Errorf("text = %q, want the output that the refused polls left pending", r.Text)
	}
	// until on another action is ignored.
	if r := s.Proc("log", "sessionId", id, "until", "("); r.IsError {
		t.Errorf("log with until: %s", r)
	}
	wantError(t, s.Proc("poll", "sessionId", id, "bogus", 1), `Unknown parameter "bogus" for process. Known parameters: action, sessionId, data, keys, hex, literal, text, bracketed, eof, offset, limit, timeout, signal, until, pattern, cols, rows, scrollback.`)
}

// A matching line inside a flood counts although the pending cap dropped most of the output.
func TestUntilMatchInFlood(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`yes | head -n 3000000; echo NEEDLE; sleep 30`)
	r := s.Proc("poll", "sessionId", id, "until", "NEEDLE", "timeout", 30000)
	within(t, r, 25*time.Second, "poll until NEEDLE")
	wantStatus(t, r, "running")
	wantMatched(t, r, true, "NEEDLE")
	if !strings.Contains(r.Text, "[earlier output is omitted from this poll") {
		t.Errorf("text does not say the pending cap dropped output: %.200q", r.Text)
	}
	// A match in the middle of a flood, with the flood going on after it: the line is long gone from pending.
	id2, _ := s.Background(`yes | head -n 1000000; echo MIDDLE; yes | head -n 3000000; sleep 30`)
	r = s.Proc("poll", "sessionId", id2, "until", "^MIDDLE$", "timeout", 30000)
	within(t, r, 25*time.Second, "poll until MIDDLE")
	wantMatched(t, r, true, "MIDDLE")
}

// A line that already arrived since the previous poll ends the wait at once.
func TestUntilEarlierLine(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`echo early; sleep 30`)
	time.Sleep(500 * time.Millisecond)
	r := s.Proc("poll", "sessionId", id, "until", "^early$", "timeout", 10000)
	within(t, r, 2*time.Second, "poll until an earlier line")
	wantMatched(t, r, true, "early")
	// It was drained: the next poll does not see it again.
	r = s.Proc("poll", "sessionId", id, "until", "^early$", "timeout", 500)
	wantMatched(t, r, false, "")
}

// Stderr lines match, and the session's exit ends the wait.
func TestUntilStderrAndExit(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`sleep 0.3; echo 'boom' >&2; sleep 30`)
	r := s.Proc("poll", "sessionId", id, "until", "^boom$", "timeout", 10000)
	within(t, r, 5*time.Second, "poll until a stderr line")
	wantMatched(t, r, true, "boom")

	id2, _ := s.Background(`sleep 0.5; echo bye`)
	r = s.Proc("poll", "sessionId", id2, "until", "never", "timeout", 20000)
	within(t, r, 5*time.Second, "poll until, session exits")
	wantStatus(t, r, "completed")
	wantMatched(t, r, false, "")
	if strings.Contains(r.Text, "(no line matched") {
		t.Errorf("finished poll carries the no-match line: %q", r.Text)
	}
}
