package integration_test

// Shutdown and orphans (docs/reference.md#shutdown, docs/reference.md#process-groups), and bad arguments and
// limits after which the server keeps serving (docs/reference.md#arguments, docs/reference.md#input-limits).

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Closing stdin, SIGTERM and SIGINT each stop a stdio server with status 0 within 10 s and kill every session's
// group, including one that ignores SIGTERM (docs/reference.md#shutdown).
func TestJ74ShutdownKillsEveryGroup(t *testing.T) {
	par(t)
	for _, how := range []string{"stdin-close", "SIGTERM", "SIGINT"} {
		t.Run(how, func(t *testing.T) {
			s := StartServer(t, Options{})
			s.Background(`echo $$ > p1; sleep 60`)
			s.Background(`echo $$ > p2; sh -c 'trap "" TERM; sleep 60'`)
			p1 := s.ReadPgid(s.Dir, "p1")
			p2 := s.ReadPgid(s.Dir, "p2")
			time.Sleep(300 * time.Millisecond) // the inner shell has installed its trap
			start := time.Now()
			switch how {
			case "stdin-close":
				s.StopByStdinClose()
			case "SIGTERM":
				s.Stop(syscall.SIGTERM)
			case "SIGINT":
				s.Stop(syscall.SIGINT)
			}
			t.Logf("shutdown by %s took %v", how, time.Since(start).Round(time.Millisecond))
			for _, g := range []int{p1, p2} {
				if !waitFor(2*time.Second, func() bool { return pgGone(g) }) {
					t.Errorf("group %d survived the shutdown: %v", g, groupMembers(g))
				}
			}
		})
	}
}

// A grandchild holding the output pipe cannot hang a foreground call; it lives on until the server shuts down
// (docs/reference.md#exec-supervision). The pid of the background sleep is written to a file so that the test can
// find it after its shell exited (it is reparented then and no longer a descendant of the server).
func TestJ75GrandchildHoldingPipe(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	r := s.Exec(`echo $$ > pgid; sleep 60 & echo $! > bgpid; echo started`, "yieldMs", 10000)
	within(t, r, 5*time.Second, "exec with a lingering grandchild")
	wantStatus(t, r, "completed")
	wantText(t, r, "started")
	pg := s.ReadPgid(s.Dir, "pgid")
	b, err := os.ReadFile(filepath.Join(s.Dir, "bgpid"))
	if err != nil {
		t.Fatal(err)
	}
	bg, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if bg <= 1 {
		t.Fatalf("bad bgpid %q", b)
	}
	time.Sleep(500 * time.Millisecond)
	if !pidAlive(bg) {
		t.Errorf("the background sleep %d is not alive after the session finished", bg)
	}
	s.Stop(syscall.SIGTERM)
	if !waitFor(5*time.Second, func() bool { return !pidAlive(bg) }) {
		t.Errorf("the background sleep %d survived the server shutdown", bg)
		syscall.Kill(bg, syscall.SIGKILL)
	}
	if !pgGone(pg) {
		t.Errorf("group %d survived the server shutdown: %v", pg, groupMembers(pg))
	}
}

// When the server is killed with SIGKILL, a session's leader dies with it (Pdeathsig; docs/reference.md#shutdown).
func TestJ76AbruptServerDeath(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	_, pid := s.Background(`exec sleep 60`)
	time.Sleep(300 * time.Millisecond)
	if !pidAlive(pid) {
		t.Fatalf("leader %d is not alive", pid)
	}
	s.Kill()
	if !waitFor(5*time.Second, func() bool { return !pidAlive(pid) }) {
		t.Errorf("leader %d survived SIGKILL of the server (Pdeathsig)", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// zombieChildren lists the server's children in state Z.
func zombieChildren(pid int) []int {
	var z []int
	for _, c := range children(pid) {
		if st, _, _, ok := procStat(c); ok && st == 'Z' {
			z = append(z, c)
		}
	}
	return z
}

// No zombies and no leaks: 25 mixed sessions (foreground, background, killed, timed out, removed), then 10
// concurrent exec/poll/write/kill/remove sequences (docs/reference.md#exec-supervision).
func TestJ77NoZombiesNoLeaks(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	var ids []string
	for i := 0; i < 5; i++ {
		wantStatus(t, s.Exec(fmt.Sprintf(`echo fg%d`, i)), "completed")
		id, _ := s.Background(fmt.Sprintf(`echo bg%d`, i))
		ids = append(ids, id)
		id, _ = s.Background(`sleep 30`)
		wantText(t, s.Proc("kill", "sessionId", id), "Termination requested for session "+id+".")
		ids = append(ids, id)
		id, _ = s.Background(`sleep 30`, "timeout", 0.5)
		ids = append(ids, id)
		id, _ = s.Background(`sleep 30`)
		wantText(t, s.Proc("remove", "sessionId", id), "Removed session "+id+" (termination requested).")
	}
	for _, id := range ids {
		s.WaitFinished(id, 15*time.Second)
	}

	var wg sync.WaitGroup
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := s.Exec(`while read l; do echo "got:$l"; done`, "background", true)
			if r.Str("status") != "running" {
				t.Errorf("worker %d: %s", w, r)
				return
			}
			id := r.Str("sessionId")
			if r := s.Proc("write", "sessionId", id, "data", fmt.Sprintf("w%d\n", w)); r.IsError {
				t.Errorf("worker %d write: %s", w, r)
			}
			s.Proc("poll", "sessionId", id, "timeout", 500)
			s.Proc("log", "sessionId", id)
			if w%2 == 0 {
				s.Proc("kill", "sessionId", id)
				s.Proc("poll", "sessionId", id, "timeout", 2000)
				s.Proc("remove", "sessionId", id)
			} else {
				s.Proc("remove", "sessionId", id)
			}
			s.Proc("list")
		}(w)
	}
	wg.Wait()

	// Everything has finished: no running session is listed, and the server has no zombie children.
	ok := waitFor(10*time.Second, func() bool {
		r := s.Proc("list")
		sessions, _ := r.SC["sessions"].([]any)
		for _, e := range sessions {
			if m, _ := e.(map[string]any); m["status"] == "running" {
				return false
			}
		}
		return len(zombieChildren(s.Pid())) == 0 && len(sessionChildren(s.Pid())) == 0
	})
	if !ok {
		t.Errorf("server still has children %v (zombies %v) or running sessions", sessionChildren(s.Pid()), zombieChildren(s.Pid()))
	}
}

// Bad exec arguments: a missing command, wrong types and unknown parameters are isError with details
// {status: error, tool: exec, error}; a numeric string is accepted (docs/reference.md#arguments).
func TestK78ExecArguments(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	wantExecError(t, s.Call("exec", map[string]any{}), "Provide a command to start.")
	wantExecError(t, s.Exec(""), "Provide a command to start.")
	wantExecError(t, s.Call("exec", map[string]any{"command": nil}), "Provide a command to start.")
	wantExecError(t, s.Exec("true", "timeout", "abc"), `Invalid parameter "timeout": expected a number.`)
	wantText(t, s.Exec("echo ok", "yieldMs", "500"), "ok")
	wantExecError(t, s.Exec("true", "cwd", "/tmp"),
		`Unknown parameter "cwd" for exec. Known parameters: title, command, workdir, env, yieldMs, background, timeout, pty, elevated, host, notifyOnOutput, cols, rows.`)
	wantExecError(t, s.Exec("true", "env", map[string]any{"A": 1}), `Invalid parameter "env": value of "A" must be a string.`)
	wantExecError(t, s.Exec("true", "env", "A=1"), `Invalid parameter "env": expected an object of strings.`)
	wantExecError(t, s.Call("exec", map[string]any{"command": 5}), `Invalid parameter "command": expected a string.`)
	wantExecError(t, s.Exec("true", "background", "yes"), `Invalid parameter "background": expected a boolean.`)
	wantExecError(t, s.Exec("true", "zeta", 1, "alpha", 2),
		`Unknown parameter "alpha" for exec. Known parameters: title, command, workdir, env, yieldMs, background, timeout, pty, elevated, host, notifyOnOutput, cols, rows.`)
	wantExecError(t, s.Exec("true", "security", "full"),
		`Unknown parameter "security" for exec. Known parameters: title, command, workdir, env, yieldMs, background, timeout, pty, elevated, host, notifyOnOutput, cols, rows.`)
	listEmpty(t, s)
	wantText(t, s.Exec(`echo still-alive`), "still-alive")
}

// Input limits: NUL bytes, command length, env entries, write size, and an unknown process parameter
// (docs/reference.md#input-limits).
func TestK79Limits(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	wantExecError(t, s.Exec("echo a\x00b"), "command must not contain NUL bytes.")
	wantExecError(t, s.Exec(strings.Repeat("x", 262145)), "command is too long (262145 bytes; limit 262144).")
	env := map[string]any{}
	for i := 0; i < 257; i++ {
		env[fmt.Sprintf("K%d", i)] = "v"
	}
	wantExecError(t, s.Exec("true", "env", env), "env has too many entries (257; limit 256).")
	id, _ := s.Background(`sleep 30`)
	wantProcError(t, s.Proc("write", "sessionId", id, "data", strings.Repeat("a", 1048577)), "data is too long (1048577 bytes; limit 1048576).")
	wantProcError(t, s.Proc("write", "sessionId", id, "input", "x"),
		`Unknown parameter "input" for process. Known parameters: action, sessionId, data, keys, hex, literal, text, bracketed, eof, offset, limit, timeout, signal, until, pattern, cols, rows, scrollback.`)
	wantText(t, s.Exec(`echo still-alive`), "still-alive")
}

// Odd numbers: a negative offset is 0, a huge offset and a negative limit give the empty range, and a negative poll
// timeout returns at once; the server keeps serving after each (docs/reference.md#process-log,
// docs/reference.md#poll-wait).
func TestK80OddNumbers(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`seq 1 3`)
	s.WaitFinished(id, 10*time.Second)
	wantText(t, s.Proc("log", "sessionId", id, "offset", -5), "1\n2\n3")
	wantText(t, s.Exec(`echo still-alive`), "still-alive")
	wantText(t, s.Proc("log", "sessionId", id, "offset", 1e12), "(no lines in the requested range; the log has 3 lines)")
	wantText(t, s.Exec(`echo still-alive`), "still-alive")
	wantText(t, s.Proc("log", "sessionId", id, "limit", -1), "(no lines in the requested range; the log has 3 lines)")
	wantText(t, s.Exec(`echo still-alive`), "still-alive")
	id2, _ := s.Background(`sleep 30`)
	r := s.Proc("poll", "sessionId", id2, "timeout", -10)
	within(t, r, time.Second, "poll timeout -10")
	wantText(t, r, "(no new output)\n\nProcess still running.")
	wantText(t, s.Exec(`echo still-alive`), "still-alive")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Sess.Ping(ctx, nil); err != nil {
		t.Errorf("ping after bad input: %v", err)
	}
}

// The harness must recognise a tracked group id that a long run handed to an unrelated process (the 30-minute
// soak wraps pid_max many times): reporting it as a leak would SIGKILL a stranger's process group.
func TestHarnessReusedPG(t *testing.T) {
	stranger := exec.Command("sleep", "30")
	stranger.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := stranger.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-stranger.Process.Pid, syscall.SIGKILL)
		stranger.Wait()
	}()
	g := stranger.Process.Pid
	_, start, _, ok := procStat(g)
	if !ok {
		t.Fatal("no /proc entry for the stranger")
	}
	s := &Server{pgLeader: map[int]pgLeader{}}
	tests := []struct {
		name   string
		leader pgLeader
		reused bool
	}{
		{"the tracked leader itself", pgLeader{start: start, known: true}, false},
		{"another process with the leader's pid", pgLeader{start: start - 1, known: true}, true},
		{"leader gone when tracked, this one started later", pgLeader{start: start - 1}, true},
		{"leader gone when tracked, this one started before", pgLeader{start: start + 1}, false},
	}
	for _, tt := range tests {
		s.pgLeader[g] = tt.leader
		if got := s.reusedPG(g); got != tt.reused {
			t.Errorf("%s: reusedPG = %v, want %v", tt.name, got, tt.reused)
		}
	}
	if s.reusedPG(1 << 30) {
		t.Error("a group without a process of its id counts as reused")
	}
}
