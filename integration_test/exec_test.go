package integration_test

// The exec tool through the real binary: foreground results, yield and background, timeouts, synchronous mode,
// workdir, the child's environment and terminal, cancellation, progress and long commands
// (docs/reference.md#exec-parameters and the exec sections after it).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Foreground output: `printf 'hello\n'` and `true` complete with exit code 0 and texts hello and (no output),
// details cwd is the server's directory, and nothing is listed (docs/reference.md#exec-results).
func TestA01ForegroundOutput(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	r := s.Exec(`printf 'hello\n'`)
	wantStatus(t, r, "completed")
	wantExitCode(t, r, 0)
	wantText(t, r, "hello")
	if r.Str("cwd") != s.Dir {
		t.Errorf("cwd = %q, want %q", r.Str("cwd"), s.Dir)
	}
	if r.Str("exitReason") != "exit" || r.Str("aggregated") != "hello" {
		t.Errorf("details = %v, want exitReason exit and aggregated hello", r.SC)
	}
	r = s.Exec(`true`)
	wantStatus(t, r, "completed")
	wantExitCode(t, r, 0)
	wantText(t, r, "(no output)")
	if r.Str("cwd") != s.Dir {
		t.Errorf("cwd = %q, want %q", r.Str("cwd"), s.Dir)
	}
	listEmpty(t, s)
}

// A non-zero exit is a completed result; a command that is not found (127) or not executable (126) is a failed
// one; none of them is isError (docs/reference.md#exec-outcome).
func TestA02ExitCodesAndShellFailures(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	r := s.Exec(`echo nope; exit 1`)
	wantStatus(t, r, "completed")
	wantExitCode(t, r, 1)
	wantText(t, r, "nope\n\n(Command exited with code 1)")
	if r.Str("aggregated") != "nope" {
		t.Errorf("aggregated = %q, want nope", r.Str("aggregated"))
	}

	r = s.Exec(`definitely-not-a-command-xyz`)
	wantStatus(t, r, "failed")
	wantExitCode(t, r, 127)
	if !strings.HasSuffix(r.Text, "\n\nCommand not found") {
		t.Errorf("text = %q, want suffix \\n\\nCommand not found", r.Text)
	}
	if r.Str("exitReason") != "exit" {
		t.Errorf("exitReason = %q, want exit", r.Str("exitReason"))
	}

	if err := os.WriteFile(filepath.Join(s.Dir, "noexec.sh"), []byte("#!/bin/sh\necho ran\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = s.Exec(`./noexec.sh`)
	wantStatus(t, r, "failed")
	wantExitCode(t, r, 126)
	if !strings.HasSuffix(r.Text, "Command not executable (permission denied)") {
		t.Errorf("text = %q, want suffix Command not executable (permission denied)", r.Text)
	}
}

// The yield window, both branches: a command outlasting yieldMs returns running with the exact running text and a
// poll collects the rest; one finishing inside it returns completed and is not listed (docs/reference.md#exec-yield).
func TestA03YieldWindow(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	r := s.Exec(`sleep 2; echo done`, "yieldMs", 300)
	within(t, r, 5*time.Second, "yielding exec")
	id, pid := s.mustRunning(r, "sleep 2; echo done")
	if !idRe.MatchString(id) {
		t.Errorf("sessionId %q does not match %v", id, idRe)
	}
	if pid <= 0 {
		t.Errorf("pid = %d, want > 0", pid)
	}
	if st, ok := r.Num("startedAt"); !ok || st < float64(time.Now().Add(-time.Hour).UnixMilli()) {
		t.Errorf("startedAt = %v, want epoch ms", r.SC["startedAt"])
	}
	if _, ok := r.SC["tail"].(string); !ok {
		t.Errorf("running result lacks tail: %v", r.SC)
	}
	if r.Str("cwd") != s.Dir {
		t.Errorf("cwd = %q, want %q", r.Str("cwd"), s.Dir)
	}
	if want := fmt.Sprintf(runningTextFmt, id, pid); r.Text != want {
		t.Errorf("running text = %q, want %q", r.Text, want)
	}
	start := time.Now()
	texts, last := s.PollUntilDone(id, 20*time.Second)
	if time.Since(start) > 20*time.Second {
		t.Errorf("polling took %v", time.Since(start))
	}
	all := strings.Join(texts, "\n---\n")
	if !strings.Contains(all, "done") {
		t.Errorf("polls %q do not contain done", texts)
	}
	if !strings.HasSuffix(last.Text, "Process exited with code 0.") {
		t.Errorf("last poll = %q, want suffix Process exited with code 0.", last.Text)
	}

	r = s.Exec(`echo quick`, "yieldMs", 5000)
	within(t, r, 5*time.Second, "quick exec")
	wantStatus(t, r, "completed")
	wantText(t, r, "quick")
	// Only the backgrounded session above is listed.
	_, lr := s.ListEntry(id)
	if sessions, _ := lr.SC["sessions"].([]any); len(sessions) != 1 {
		t.Errorf("list has %d sessions, want only %s: %s", len(sessions), id, lr)
	}
}

// background:true returns running at once even for an instant command; the session is listed under its derived
// name and a poll returns its output (docs/reference.md#exec-yield).
func TestA04BackgroundReturnsAtOnce(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	r := s.Exec(`echo hello`, "background", true)
	within(t, r, 2*time.Second, "background exec")
	id, _ := s.mustRunning(r, "echo hello")
	e, lr := s.ListEntry(id)
	if e == nil {
		t.Fatalf("session %s not listed: %s", id, lr)
	}
	if e["name"] != "echo hello" {
		t.Errorf("list name = %v, want echo hello", e["name"])
	}
	texts, _ := s.PollUntilDone(id, 20*time.Second)
	if !strings.Contains(strings.Join(texts, "\n"), "hello") {
		t.Errorf("polls %q do not contain hello", texts)
	}
}

// Yield precedence: the yieldMs parameter beats the config's backgroundMs, which beats PI_BASH_YIELD_MS
// (docs/reference.md#exec-yield).
func TestA05YieldPrecedence(t *testing.T) {
	par(t)
	t.Run("env", func(t *testing.T) {
		s := StartServer(t, Options{Env: []string{"PI_BASH_YIELD_MS=300"}})
		r := s.Exec(`sleep 3`)
		within(t, r, 3*time.Second, "exec with PI_BASH_YIELD_MS=300")
		wantStatus(t, r, "running")
	})
	t.Run("config-beats-env", func(t *testing.T) {
		s := StartServer(t, Options{Env: []string{"PI_BASH_YIELD_MS=60000"},
			Config: `{"tools": {"exec": {"backgroundMs": 200}}}`})
		r := s.Exec(`sleep 3`)
		within(t, r, 3*time.Second, "exec with backgroundMs=200")
		wantStatus(t, r, "running")
		// The parameter wins over the config.
		r = s.Exec(`sleep 1; echo x`, "yieldMs", 60000)
		wantStatus(t, r, "completed")
		wantText(t, r, "x")
	})
}

// A timed-out command is failed (timedOut, exitCode null, SIGTERM, overall-timeout), not isError, with the exact
// two-line timeout text (docs/reference.md#exec-timeout, docs/reference.md#exec-outcome).
func TestA06TimeoutText(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	r := s.Exec(`sleep 30`, "timeout", 1)
	within(t, r, 10*time.Second, "timed-out exec")
	wantStatus(t, r, "failed")
	if v, _ := r.Bool("timedOut"); !v {
		t.Errorf("timedOut = %v, want true", r.SC["timedOut"])
	}
	if !r.IsNull("exitCode") {
		t.Errorf("exitCode = %v, want null", r.SC["exitCode"])
	}
	if r.Str("exitSignal") != "SIGTERM" || r.Str("exitReason") != "overall-timeout" {
		t.Errorf("exitSignal/exitReason = %v/%v, want SIGTERM/overall-timeout", r.SC["exitSignal"], r.SC["exitReason"])
	}
	wantText(t, r, timeoutText("1"))
}

// Which timeout applies: the configured timeoutSec does not limit a run started with background or yieldMs, does
// limit a plain run after it auto-yields, an explicit timeout limits any run, and timeout 0 means none
// (docs/reference.md#exec-timeout).
func TestA07TimeoutRules(t *testing.T) {
	par(t)
	s := StartServer(t, Options{Config: `{"tools": {"exec": {"timeoutSec": 1, "backgroundMs": 100}}}`})
	type job struct {
		name       string
		command    string
		args       []any
		wantStatus string
		wantReason string
		wantOK     bool
	}
	jobs := []job{
		{"background", `sleep 3; echo ok`, []any{"background", true}, "completed", "exit", true},
		{"yieldMs", `sleep 3; echo ok`, []any{"yieldMs", 100}, "completed", "exit", true},
		{"plain", `sleep 30`, nil, "failed", "overall-timeout", false},
		{"yieldMs+timeout", `sleep 30`, []any{"yieldMs", 100, "timeout", 1}, "failed", "overall-timeout", false},
		{"timeout0", `sleep 2; echo ok`, []any{"timeout", 0}, "completed", "exit", true},
	}
	ids := make([]string, len(jobs))
	starts := make([]time.Time, len(jobs))
	for i, j := range jobs {
		starts[i] = time.Now()
		r := s.Exec(j.command, j.args...)
		ids[i], _ = s.mustRunning(r, j.name)
	}
	for i, j := range jobs {
		e := s.WaitFinished(ids[i], 15*time.Second)
		if e["status"] != j.wantStatus || e["exitReason"] != j.wantReason {
			t.Errorf("%s: finished %v/%v, want %s/%s (entry %v)", j.name, e["status"], e["exitReason"], j.wantStatus, j.wantReason, e)
		}
		if j.wantReason == "overall-timeout" && time.Since(starts[i]) > 10*time.Second {
			t.Errorf("%s: timed out only after %v", j.name, time.Since(starts[i]))
		}
		r := s.Proc("poll", "sessionId", ids[i])
		if j.wantOK {
			wantText(t, r, "ok\n\nProcess exited with code 0.")
		} else if !strings.Contains(r.Text, "(timed out after 1 seconds).") {
			t.Errorf("%s: poll = %q, want the timed-out exit line", j.name, r.Text)
		}
	}
}

// Synchronous mode (process denied by config or EXECMCP_TOOLS_DENY): only exec is listed, with the synchronous
// description, and background:true waits for the command and adds the warning (docs/reference.md#exec-yield).
func TestA08SynchronousMode(t *testing.T) {
	par(t)
	const syncDesc = "Execute shell commands and return their output when they finish (background execution is disabled on this server). Use pty=true for TTY-required commands (terminal UIs, coding agents)."
	check := func(t *testing.T, s *Server) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		lt, err := s.Sess.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tl := range lt.Tools {
			names = append(names, tl.Name)
			if tl.Name == "exec" && tl.Description != syncDesc {
				t.Errorf("exec description = %q, want %q", tl.Description, syncDesc)
			}
		}
		if strings.Join(names, ",") != "exec" {
			t.Errorf("tools = %v, want only exec", names)
		}
		r := s.Exec(`sleep 1; echo x`, "background", true)
		if r.Elapsed < 900*time.Millisecond {
			t.Errorf("synchronous exec returned after %v, want >= 0.9 s", r.Elapsed)
		}
		wantStatus(t, r, "completed")
		wantText(t, r, syncWarning+"\n\nx")
	}
	t.Run("config", func(t *testing.T) {
		check(t, StartServer(t, Options{Config: `{"tools": {"deny": ["process"]}}`}))
	})
	t.Run("env", func(t *testing.T) {
		check(t, StartServer(t, Options{Env: []string{"EXECMCP_TOOLS_DENY=process"}}))
	})
}

// workdir: a relative directory, ~, a missing path and a file; the failing calls create nothing
// (docs/reference.md#exec-workdir).
func TestA09Workdir(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	if err := os.Mkdir(filepath.Join(s.Dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(s.Dir, "sub")
	r := s.Exec(`pwd`, "workdir", "sub")
	wantText(t, r, sub)
	if r.Str("cwd") != sub {
		t.Errorf("cwd = %q, want %q", r.Str("cwd"), sub)
	}
	r = s.Exec(`pwd`, "workdir", "~")
	wantText(t, r, s.Home)
	if r.Str("cwd") != s.Home {
		t.Errorf("cwd = %q, want %q", r.Str("cwd"), s.Home)
	}
	r = s.Exec(`touch created`, "workdir", "nope")
	wantExecError(t, r, `workdir "nope" does not exist (resolved to "`+filepath.Join(s.Dir, "nope")+`").`)
	r = s.Exec(`touch created`, "workdir", "f")
	wantExecError(t, r, `workdir "f" is not a directory (resolved to "`+filepath.Join(s.Dir, "f")+`").`)
	for _, p := range []string{"created", "nope", "nope/created"} {
		if _, err := os.Stat(filepath.Join(s.Dir, p)); err == nil {
			t.Errorf("failing call created %s", p)
		}
	}
	listEmpty(t, s)
}

// The child's environment: OPENCLAW_SHELL=exec, TERM=dumb and GIT_TERMINAL_PROMPT=0, and an unusable $SHELL falls
// back to bash or sh (docs/reference.md#exec-env, docs/reference.md#exec-shell).
func TestA10ChildEnvironment(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	r := s.Exec(`printf '%s|%s|%s' "$OPENCLAW_SHELL" "$TERM" "$GIT_TERMINAL_PROMPT"`)
	wantText(t, r, "exec|dumb|0")
	s.Stop(syscall.SIGTERM)

	s2 := StartServer(t, Options{Env: []string{"SHELL=/nonexistent/fish"}})
	r = s2.Exec(`echo $0`)
	wantStatus(t, r, "completed")
	if !strings.HasSuffix(r.Text, "bash") && !strings.HasSuffix(r.Text, "sh") {
		t.Errorf("$0 = %q, want it to end with bash or sh", r.Text)
	}
}

// No stdin, no terminal, no hang: cat and read see end of input at once and /dev/tty cannot be opened, although the
// server itself is started with a controlling terminal (docs/reference.md#exec-spawn).
func TestA11NoStdinNoTerminal(t *testing.T) {
	par(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("cannot open a pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	s := StartServer(t, Options{
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 3},
		ExtraFiles:  []*os.File{tty},
	})
	// The server really has a controlling terminal.
	if b, err := os.ReadFile("/proc/" + itoa(s.Pid()) + "/stat"); err == nil {
		f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
		if len(f) > 4 && f[4] == "0" {
			t.Logf("warning: server has no controlling terminal (tty_nr 0)")
		}
	}
	r := s.Exec(`cat`)
	within(t, r, 3*time.Second, "exec cat")
	wantStatus(t, r, "completed")
	wantText(t, r, "(no output)")
	r = s.Exec(`read x; echo rc=$?`)
	wantText(t, r, "rc=1")
	r = s.Exec(`(exec 3</dev/tty) 2>/dev/null; echo rc=$?`)
	within(t, r, 5*time.Second, "exec /dev/tty probe")
	if !regexp.MustCompile(`^rc=[1-9][0-9]*$`).MatchString(r.Text) {
		t.Errorf("tty probe text = %q, want a non-zero rc=", r.Text)
	}
	s.Stop(syscall.SIGTERM)
}

// Cancelling a foreground call (notifications/cancelled) kills its process group, leaves nothing listed and sends
// no exit notification (docs/reference.md#cancellation).
func TestA12CancellationKillsForegroundRun(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := s.CallCtx(ctx, "exec", kv("command", `echo $$ > pgid; sleep 30`, "yieldMs", 60000), nil)
		errc <- err
	}()
	pg := s.ReadPgid(s.Dir, "pgid")
	time.Sleep(500 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled call returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled CallTool did not return")
	}
	if !waitFor(5*time.Second, func() bool { return pgGone(pg) }) {
		t.Errorf("process group %d still alive 5 s after cancellation: %v", pg, groupMembers(pg))
	}
	listEmpty(t, s)
	time.Sleep(2 * time.Second)
	if msgs := s.ExitMessages(""); len(msgs) != 0 {
		t.Errorf("exit notifications after cancellation: %v", msgs)
	}
}

// Progress: a call with a progress token gets strictly increasing notifications/progress carrying output lines,
// none after the result; a background call gets none (docs/reference.md#progress).
func TestA13Progress(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	type prog struct {
		Token    any     `json:"progressToken"`
		Progress float64 `json:"progress"`
		Message  string  `json:"message"`
	}
	progressFor := func(token string) ([]prog, []time.Time) {
		var ps []prog
		var at []time.Time
		for _, m := range s.Notes("notifications/progress") {
			var p prog
			if jsonUnmarshal(m.Params, &p) == nil && p.Token == token {
				ps = append(ps, p)
				at = append(at, m.At)
			}
		}
		return ps, at
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := s.CallCtx(ctx, "exec", kv("command", `for i in 1 2 3 4 5 6; do echo line$i; sleep 0.3; done`), "tok-fg")
	if err != nil {
		t.Fatal(err)
	}
	resultAt := time.Now()
	wantStatus(t, r, "completed")
	time.Sleep(1 * time.Second)
	ps, at := progressFor("tok-fg")
	var before int
	for i := range ps {
		if at[i].Before(resultAt) {
			before++
		} else {
			t.Errorf("progress notification %v arrived %v after the result", ps[i], at[i].Sub(resultAt))
		}
	}
	if before < 2 {
		t.Errorf("%d progress notifications before the result, want >= 2 (%v)", before, ps)
	}
	sawLine := false
	for i := range ps {
		if i > 0 && ps[i].Progress <= ps[i-1].Progress {
			t.Errorf("progress not strictly increasing: %v", ps)
		}
		if regexp.MustCompile(`^line[1-6]$`).MatchString(ps[i].Message) {
			sawLine = true
		}
	}
	if !sawLine {
		t.Errorf("no progress message is line<k>: %v", ps)
	}

	r, err = s.CallCtx(ctx, "exec", kv("command", `for i in 1 2 3; do echo bg$i; sleep 0.3; done`, "background", true), "tok-bg")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := s.mustRunning(r, "background loop")
	s.WaitFinished(id, 20*time.Second)
	if ps, _ := progressFor("tok-bg"); len(ps) != 0 {
		t.Errorf("background exec sent progress: %v", ps)
	}
}

// A 200000-byte command runs (docs/reference.md#exec-shell).
func TestA14LongCommand(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	cmd := ": " + strings.Repeat("x", 199990) + "\necho long-ok"
	r := s.Exec(cmd)
	wantStatus(t, r, "completed")
	wantText(t, r, "long-ok")
}
