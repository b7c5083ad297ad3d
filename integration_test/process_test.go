package integration_test

// The process tool through the real binary: poll, log, write, kill, clear, remove, list and their errors
// (docs/reference.md#process-parameters and the process sections after it).

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Incremental poll: each poll returns only the output that is new since the previous one, running polls carry
// retryInMs and finished ones do not (docs/reference.md#process-poll).
func TestB15IncrementalPoll(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`printf 'a\n'; sleep 1; printf 'b\n'`)
	r := s.Proc("poll", "sessionId", id, "timeout", 400)
	wantText(t, r, "a\n\nProcess still running.")
	if r.Elapsed < 350*time.Millisecond {
		t.Errorf("poll timeout 400 returned after %v, want >= 0.35 s (output alone does not end the wait)", r.Elapsed)
	}
	if r.Int("retryInMs") != 5000 {
		t.Errorf("retryInMs = %v, want 5000", r.SC["retryInMs"])
	}
	r = s.Proc("poll", "sessionId", id, "timeout", 3000)
	wantText(t, r, "b\n\nProcess exited with code 0.")
	if r.Has("retryInMs") {
		t.Errorf("finished poll carries retryInMs: %v", r.SC)
	}
	wantStatus(t, r, "completed")
	r = s.Proc("poll", "sessionId", id, "timeout", 3000)
	wantText(t, r, "(no new output)\n\nProcess exited with code 0.")
	if r.Has("retryInMs") {
		t.Errorf("finished poll carries retryInMs: %v", r.SC)
	}
}

// A poll with a timeout waits for completion: output alone does not end the wait, until does; a string timeout
// is accepted, and (slow) a huge one is clamped to 30 s (docs/reference.md#poll-wait).
func TestB16PollWaits(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`sleep 1; echo hi; sleep 30`)
	r := s.Proc("poll", "sessionId", id, "timeout", 3000)
	if r.Elapsed < 2800*time.Millisecond {
		t.Errorf("poll timeout 3000 returned after %v, want >= 2.8 s (output alone does not end the wait)", r.Elapsed)
	}
	within(t, r, 8*time.Second, "poll timeout 3000")
	wantText(t, r, "hi\n\nProcess still running.")

	idu, _ := s.Background(`sleep 1; echo hi; sleep 30`)
	r = s.Proc("poll", "sessionId", idu, "until", "^hi$", "timeout", 20000)
	within(t, r, 4*time.Second, "poll until hi")
	if !strings.HasPrefix(r.Text, "hi\n") {
		t.Errorf("poll until = %q, want hi first", r.Text)
	}

	id2, _ := s.Background(`sleep 1`)
	r = s.Proc("poll", "sessionId", id2, "timeout", 20000)
	within(t, r, 4*time.Second, "poll for exit")
	wantStatus(t, r, "completed")
	wantText(t, r, "(no new output)\n\nProcess exited with code 0.")

	id3, _ := s.Background(`sleep 60`)
	r = s.Proc("poll", "sessionId", id3, "timeout", "2000")
	if r.Elapsed < 1800*time.Millisecond {
		t.Errorf("poll timeout \"2000\" returned after %v, want >= 1.8 s", r.Elapsed)
	}
	within(t, r, 6*time.Second, "poll timeout 2000")
	wantText(t, r, "(no new output)\n\nProcess still running.")

	if slowEnabled() {
		r = s.Proc("poll", "sessionId", id3, "timeout", 999999)
		if r.Elapsed < 29*time.Second || r.Elapsed > 36*time.Second {
			t.Errorf("poll timeout 999999 returned after %v, want 29..36 s", r.Elapsed)
		}
	}
}

// retryInMs backs off over silent polls (5000, 10000, 30000, 60000, 60000) and resets on output
// (docs/reference.md#retry-hint).
func TestB17RetryInMs(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`while read l; do echo "$l"; done`)
	for i, want := range []int{5000, 10000, 30000, 60000, 60000} {
		r := s.Proc("poll", "sessionId", id)
		wantText(t, r, "(no new output)\n\nProcess still running.")
		if r.Int("retryInMs") != want {
			t.Errorf("silent poll %d: retryInMs = %v, want %d", i+1, r.SC["retryInMs"], want)
		}
	}
	r := s.Proc("write", "sessionId", id, "data", "x\n")
	wantText(t, r, "Wrote 2 bytes to session "+id+".")
	r = s.Proc("poll", "sessionId", id, "timeout", 5000)
	wantText(t, r, "x\n\nProcess still running.")
	if r.Int("retryInMs") != 5000 {
		t.Errorf("poll with output: retryInMs = %v, want 5000", r.SC["retryInMs"])
	}
	r = s.Proc("poll", "sessionId", id)
	if r.Int("retryInMs") != 5000 {
		t.Errorf("next silent poll: retryInMs = %v, want 5000", r.SC["retryInMs"])
	}
}

// Unknown session ids fail at once, with the not-found text of each action (docs/reference.md#process-rules).
func TestB18UnknownIdsFailFast(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	r := s.Proc("poll", "sessionId", "nope-nope", "timeout", 20000)
	within(t, r, time.Second, "poll of an unknown id")
	wantProcError(t, r, "No session found for nope-nope")
	wantProcError(t, s.Proc("write", "sessionId", "nope-nope", "data", "x"), "No active session found for nope-nope")
	wantProcError(t, s.Proc("kill", "sessionId", "nope-nope"), "No active session found for nope-nope")
	wantProcError(t, s.Proc("clear", "sessionId", "nope-nope"), "No finished session found for nope-nope")
	wantProcError(t, s.Proc("log", "sessionId", "nope-nope"), "No session found for nope-nope")
	wantProcError(t, s.Proc("remove", "sessionId", "nope-nope"), "No session found for nope-nope")
}

// log windows: the default last 200 lines with its note, offset, limit, an empty range, and log does not drain
// what poll returns (docs/reference.md#process-log).
func TestB19LogWindows(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`for i in $(seq 1 201); do echo line-$i; done`)
	s.WaitFinished(id, 20*time.Second)

	r := s.Proc("log", "sessionId", id)
	wantStatus(t, r, "completed")
	if !strings.HasPrefix(r.Text, "line-2\n") || !strings.HasSuffix(r.Text, "line-201\n\n[showing last 200 of 201 lines; pass offset/limit to page]") {
		t.Errorf("default log window = %q...%q", head(r.Text, 40), tail(r.Text, 80))
	}
	if strings.Count(r.Text, "\n") != 201 { // 199 between lines + 2 before the note
		t.Errorf("default log window has %d newlines, want 201", strings.Count(r.Text, "\n"))
	}
	if r.Int("totalLines") != 201 || r.Int("total") != 201 {
		t.Errorf("totalLines/total = %v/%v, want 201", r.SC["totalLines"], r.SC["total"])
	}

	var lines []string
	for i := 31; i <= 201; i++ {
		lines = append(lines, "line-"+itoa(i))
	}
	wantText(t, s.Proc("log", "sessionId", id, "offset", 30), strings.Join(lines, "\n"))
	wantText(t, s.Proc("log", "sessionId", id, "limit", 2), "line-200\nline-201")
	wantText(t, s.Proc("log", "sessionId", id, "offset", 1, "limit", 1), "line-2")
	wantText(t, s.Proc("log", "sessionId", id, "offset", 500), "(no lines in the requested range; the log has 201 lines)")

	// log does not drain: the first poll still returns everything.
	r = s.Proc("poll", "sessionId", id)
	if !strings.HasPrefix(r.Text, "line-1\nline-2\n") || !strings.HasSuffix(r.Text, "line-201\n\nProcess exited with code 0.") {
		t.Errorf("poll after log = %q...%q", head(r.Text, 40), tail(r.Text, 60))
	}
}

// write, and write with eof closing stdin; writing to a finished session fails (docs/reference.md#process-input).
func TestB20WriteAndEOF(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`read x; echo "got:$x"`)
	wantText(t, s.Proc("write", "sessionId", id, "data", "y\n"), "Wrote 2 bytes to session "+id+".")
	texts, last := s.PollUntilDone(id, 20*time.Second)
	if !strings.Contains(strings.Join(texts, "\n"), "got:y") {
		t.Errorf("polls %q lack got:y", texts)
	}
	wantStatus(t, last, "completed")

	id2, _ := s.Background(`cat`)
	wantText(t, s.Proc("write", "sessionId", id2, "data", "abc", "eof", true), "Wrote 3 bytes to session "+id2+" (stdin closed).")
	texts, last = s.PollUntilDone(id2, 20*time.Second)
	if !strings.Contains(strings.Join(texts, "\n"), "abc") {
		t.Errorf("polls %q lack abc", texts)
	}
	if !strings.HasSuffix(last.Text, "Process exited with code 0.") {
		t.Errorf("last poll = %q", last.Text)
	}
	wantProcError(t, s.Proc("write", "sessionId", id2, "data", "more"), "No active session found for "+id2)
}

// Input refused: a yielded session and one whose stdin was closed are not writable, and a write the process does not
// read times out after 10 s while other calls are answered (docs/reference.md#process-input).
func TestB21InputRefused(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	r := s.Exec(`sleep 5`, "yieldMs", 200)
	id, _ := s.mustRunning(r, "sleep 5")
	wantProcError(t, s.Proc("write", "sessionId", id, "data", "x"), "Session "+id+" stdin is not writable.")

	// `cat; sleep 30` instead of `cat`: the session must still be running after its stdin was closed, otherwise the
	// second write would race with the exit of cat.
	id2, _ := s.Background(`cat; sleep 30`)
	wantText(t, s.Proc("write", "sessionId", id2, "data", "", "eof", true), "Wrote 0 bytes to session "+id2+" (stdin closed).")
	wantProcError(t, s.Proc("write", "sessionId", id2, "data", "x"), "Session "+id2+" stdin is not writable.")

	id3, _ := s.Background(`sleep 30`)
	var wg sync.WaitGroup
	wg.Add(1)
	var wr *Result
	go func() {
		defer wg.Done()
		wr = s.Proc("write", "sessionId", id3, "data", strings.Repeat("a", 1048576))
	}()
	time.Sleep(1 * time.Second)
	lr := s.Proc("list")
	within(t, lr, 2*time.Second, "list during a blocked write")
	wg.Wait()
	if wr.Elapsed > 15*time.Second {
		t.Errorf("blocked write took %v, want within 15 s", wr.Elapsed)
	}
	re := regexp.MustCompile(`^Timed out writing to session ` + regexp.QuoteMeta(id3) + ` after 10 seconds; \d+ of 1048576 bytes were written \(the process is not reading its input\)\.$`)
	if !wr.IsError || !re.MatchString(wr.Text) {
		t.Errorf("blocked write = %s, want isError matching %v", wr, re)
	}
}

// kill with the default signal: SIGTERM, the session ends failed with manual-cancel, and no exit notification
// follows (docs/reference.md#process-kill).
func TestB22KillDefault(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`sleep 30`)
	r := s.Proc("kill", "sessionId", id)
	wantText(t, r, "Termination requested for session "+id+".")
	if r.Str("status") != "completed" || r.Str("signal") != "SIGTERM" {
		t.Errorf("kill details = %v, want status completed, signal SIGTERM", r.SC)
	}
	e := s.WaitFinished(id, 5*time.Second)
	if e["status"] != "failed" || e["exitSignal"] != "SIGTERM" || e["exitReason"] != "manual-cancel" {
		t.Errorf("killed entry = %v, want failed/SIGTERM/manual-cancel", e)
	}
	time.Sleep(2 * time.Second)
	if msgs := s.ExitMessages(id); len(msgs) != 0 {
		t.Errorf("exit notification after kill: %v", msgs)
	}
}

// kill escalation: a group that ignores SIGTERM gets SIGKILL after the kill grace, whichever process leads it
// (docs/reference.md#exec-kill).
func TestB23KillEscalation(t *testing.T) {
	par(t)
	s := StartServer(t, Options{Config: `{"tools": {"exec": {"killGraceMs": 1000}}}`})
	id, _ := s.Background(`trap "" TERM; echo $$ > pgid; sleep 30`)
	pg := s.ReadPgid(s.Dir, "pgid")
	start := time.Now()
	wantText(t, s.Proc("kill", "sessionId", id), "Termination requested for session "+id+".")
	e := s.WaitFinished(id, 6*time.Second)
	if e["status"] != "failed" || e["exitSignal"] != "SIGKILL" {
		t.Errorf("escalated entry = %v, want failed/SIGKILL", e)
	}
	if !waitFor(6*time.Second-time.Since(start), func() bool { return pgGone(pg) }) {
		t.Errorf("group %d still has members %v 6 s after kill", pg, groupMembers(pg))
	}

	id2, pid2 := s.Background(`sh -c 'trap "" TERM; sleep 30'`)
	time.Sleep(300 * time.Millisecond) // let the inner shell install its trap
	start = time.Now()
	wantText(t, s.Proc("kill", "sessionId", id2), "Termination requested for session "+id2+".")
	if !waitFor(6*time.Second, func() bool { return pgGone(pid2) }) {
		t.Errorf("group %d still has members %v 6 s after kill", pid2, groupMembers(pid2))
	}
	t.Logf("group of %s gone %v after kill", id2, time.Since(start).Round(time.Millisecond))
}

// kill with a signal: INT reaches the command's trap; STOP is refused (docs/reference.md#process-kill).
func TestB24KillWithSignal(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`trap 'echo got-int; exit 3' INT; while :; do sleep 0.1; done`)
	wantProcError(t, s.Proc("kill", "sessionId", id, "signal", "STOP"),
		`Invalid signal "STOP". Expected one of: TERM, INT, HUP, QUIT, USR1, USR2, KILL.`)
	time.Sleep(300 * time.Millisecond) // the trap is installed
	r := s.Proc("kill", "sessionId", id, "signal", "int")
	wantText(t, r, "Sent SIGINT to session "+id+".")
	if r.Str("signal") != "SIGINT" {
		t.Errorf("kill details = %v, want signal SIGINT", r.SC)
	}
	texts, last := s.PollUntilDone(id, 10*time.Second)
	if !strings.Contains(strings.Join(texts, "\n"), "got-int") {
		t.Errorf("polls %q lack got-int", texts)
	}
	wantStatus(t, last, "completed")
	wantExitCode(t, last, 3)
}

// clear and remove: clear only takes finished sessions; remove also terminates a running one, which disappears at
// once without an exit notification (docs/reference.md#process-clear-remove).
func TestB25ClearAndRemove(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, pid := s.Background(`sleep 30`)
	wantProcError(t, s.Proc("clear", "sessionId", id), "No finished session found for "+id)
	wantText(t, s.Proc("remove", "sessionId", id), "Removed session "+id+" (termination requested).")
	if e, lr := s.ListEntry(id); e != nil {
		t.Errorf("removed session still listed: %s", lr)
	}
	if !waitFor(5*time.Second, func() bool { return pgGone(pid) }) {
		t.Errorf("group %d of the removed session still alive: %v", pid, groupMembers(pid))
	}

	id2, _ := s.Background(`true`)
	s.WaitFinished(id2, 10*time.Second)
	wantText(t, s.Proc("clear", "sessionId", id2), "Cleared session "+id2+".")
	wantProcError(t, s.Proc("poll", "sessionId", id2), "No session found for "+id2)

	id3, _ := s.Background(`true`)
	s.WaitFinished(id3, 10*time.Second)
	wantText(t, s.Proc("remove", "sessionId", id3), "Removed session "+id3+".")
	wantProcError(t, s.Proc("poll", "sessionId", id3), "No session found for "+id3)
	time.Sleep(2 * time.Second)
	if msgs := s.ExitMessages(id); len(msgs) != 0 {
		t.Errorf("exit notification for the removed session: %v", msgs)
	}
}

// list: one line per session, newest first, and the details fields of running and finished entries
// (docs/reference.md#process-list).
func TestB26List(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	idSleep, _ := s.Background(`sleep 30`)
	time.Sleep(20 * time.Millisecond)
	idEcho, _ := s.Background(`echo hi`)
	s.WaitFinished(idEcho, 10*time.Second)
	r := s.Proc("list")
	lines := strings.Split(r.Text, "\n")
	re := regexp.MustCompile(`^\S+ (running  |completed|failed   ) \S+ :: .+$`)
	if len(lines) != 2 {
		t.Fatalf("list text = %q, want 2 lines", r.Text)
	}
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("list line %q does not match %v", l, re)
		}
	}
	if !strings.HasPrefix(lines[0], idEcho+" completed ") || !strings.HasPrefix(lines[1], idSleep+" running   ") {
		t.Errorf("list is not newest first: %q", r.Text)
	}
	if !strings.HasSuffix(lines[0], " :: echo hi") || !strings.HasSuffix(lines[1], " :: sleep 30") {
		t.Errorf("list labels: %q", r.Text)
	}
	wantStatus(t, r, "completed")
	sessions, _ := r.SC["sessions"].([]any)
	if len(sessions) != 2 {
		t.Fatalf("details sessions = %v", r.SC["sessions"])
	}
	fin, _ := sessions[0].(map[string]any)
	run, _ := sessions[1].(map[string]any)
	for _, k := range []string{"sessionId", "status", "pid", "startedAt", "runtimeMs", "cwd", "command", "name", "tail", "truncated"} {
		if _, ok := run[k]; !ok {
			t.Errorf("running entry lacks %q: %v", k, run)
		}
	}
	for _, k := range []string{"sessionId", "status", "startedAt", "endedAt", "runtimeMs", "cwd", "command", "name", "tail", "truncated", "exitCode", "exitReason"} {
		if _, ok := fin[k]; !ok {
			t.Errorf("finished entry lacks %q: %v", k, fin)
		}
	}
	if _, ok := fin["exitSignal"]; ok {
		t.Errorf("finished entry carries exitSignal although it is null: %v", fin)
	}
	if run["status"] != "running" || fin["status"] != "completed" || fin["tail"] != "hi\n" && fin["tail"] != "hi" {
		t.Errorf("entries: running %v, finished %v", run, fin)
	}
	if run["cwd"] != s.Dir || run["command"] != "sleep 30" || run["name"] != "sleep 30" {
		t.Errorf("running entry = %v", run)
	}
	wantText(t, s.Proc("remove", "sessionId", idSleep), "Removed session "+idSleep+" (termination requested).")
	wantText(t, s.Proc("remove", "sessionId", idEcho), "Removed session "+idEcho+".")
	listEmpty(t, s)
}

// An unknown action and a missing sessionId are isError with details {status: failed, error}
// (docs/reference.md#process-rules).
func TestB27ActionErrors(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	wantProcError(t, s.Proc("explode"),
		"Invalid process action. Expected one of: list, poll, log, write, send-keys, submit, paste, kill, clear, remove, watch, screen, resize.")
	wantProcError(t, s.Call("process", map[string]any{}),
		"Invalid process action. Expected one of: list, poll, log, write, send-keys, submit, paste, kill, clear, remove, watch, screen, resize.")
	wantProcError(t, s.Proc("poll"), "sessionId is required for this action.")
	wantProcError(t, s.Proc("poll", "sessionId", "  "), "sessionId is required for this action.")
}

func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
