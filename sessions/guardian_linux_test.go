package sessions

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testGuardianVar makes the test binary run as a guardian (see TestMain): the same code path as execmcp's, with
// the test binary as the executable.
const testGuardianVar = "SESSIONS_TEST_GUARDIAN_TOKEN"

func init() { guardianMode = runTestGuardian }

// runTestGuardian is TestMain's guardian mode; it reports whether the process was one.
func runTestGuardian() (int, bool) {
	token, ok := os.LookupEnv(testGuardianVar)
	if !ok {
		return 0, false
	}
	code, err := RunGuardian(os.NewFile(3, "guardian"), token, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		return 3, true
	}
	return code, true
}

func TestParseStat(t *testing.T) {
	stat := func(comm string) string {
		return "4242 (" + comm + ") S 1 4240 4240 0 -1 4194304 78 0 0 0 0 0 0 0 20 0 1 0 987654 2560000 343 18446744073709551615 0"
	}
	tests := []struct {
		line string
		want procStat
		ok   bool
	}{
		{stat("sleep"), procStat{pid: 4242, pgrp: 4240, start: 987654}, true},
		{stat("a b) c (d"), procStat{pid: 4242, pgrp: 4240, start: 987654}, true},
		{strings.Replace(stat("sh"), ") S ", ") Z ", 1), procStat{pid: 4242, pgrp: 4240, start: 987654, zombie: true}, true},
		{"4242 (sh) S 1 2", procStat{}, false},
		{"garbage", procStat{}, false},
		{"", procStat{}, false},
	}
	for _, tt := range tests {
		got, ok := parseStat([]byte(tt.line))
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseStat(%q) = %+v %v, want %+v %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
	if st, ok := procStartTime(os.Getpid()); !ok || st == 0 {
		t.Errorf("procStartTime(self) = %d %v", st, ok)
	}
	if _, ok := procStartTime(1 << 30); ok {
		t.Error("procStartTime of no process reports a start time")
	}
}

func TestGuardianRecords(t *testing.T) {
	s := newGuardianState()
	for _, line := range []string{
		"root /sys/fs/cgroup/execmcp-7",
		"start 100 5000 /sys/fs/cgroup/execmcp-7/amber-atlas",
		"start 200 6000 ",
		"start 300 7000",
		"start 400 8000 /other/with space",
		"start 1 10 ",   // never process group 1
		"start x 10 ",   // malformed
		"start 500 -3 ", // malformed
		"gone 300",
		"gone nope",
		"unknown record",
	} {
		if s.apply(line) {
			t.Fatalf("%q was taken for the goodbye", line)
		}
	}
	if !s.apply("bye") {
		t.Error("bye is not the goodbye")
	}
	want := map[int]guardianRecord{
		100: {start: 5000, dir: "/sys/fs/cgroup/execmcp-7/amber-atlas"},
		200: {start: 6000},
		400: {start: 8000, dir: "/other/with space"},
	}
	if len(s.groups) != len(want) {
		t.Errorf("groups = %+v, want %+v", s.groups, want)
	}
	for pg, rec := range want {
		if s.groups[pg] != rec {
			t.Errorf("group %d = %+v, want %+v", pg, s.groups[pg], rec)
		}
	}
	if s.root != "/sys/fs/cgroup/execmcp-7" {
		t.Errorf("root = %q", s.root)
	}
	// The root is killed whole; a recorded cgroup outside it separately.
	if got := strings.Join(s.cgroups(), ","); got != "/sys/fs/cgroup/execmcp-7,/other/with space" {
		t.Errorf("cgroups = %q", got)
	}
}

// The identity check: a recorded group is killed only while it is still the one recorded.
func TestGuardianMatching(t *testing.T) {
	s := newGuardianState()
	for _, rec := range []string{
		"start 100 5000 ", // leader alive, same start: ours
		"start 200 5000 ", // leader alive, another start: the pid was reused
		"start 300 5000 ", // leader gone, a member started after it: ours
		"start 400 5000 ", // leader gone, the only member started before it: a stranger's group
		"start 500 5000 ", // leader gone, only zombies left
		"start 600 5000 ", // nothing left at all
		"start 700 5000 ", // leader is a zombie with the recorded start, a member is alive: ours
	} {
		s.apply(rec)
	}
	procs := []procStat{
		{pid: 100, pgrp: 100, start: 5000},
		{pid: 101, pgrp: 100, start: 5001},
		{pid: 200, pgrp: 200, start: 7000},
		{pid: 301, pgrp: 300, start: 5003},
		{pid: 401, pgrp: 400, start: 4000},
		{pid: 501, pgrp: 500, start: 5001, zombie: true},
		{pid: 700, pgrp: 700, start: 5000, zombie: true},
		{pid: 701, pgrp: 700, start: 5002},
		{pid: 900, pgrp: 100, start: 4000}, // joined group 100 from elsewhere: the leader decides
	}
	got := map[int]bool{}
	for _, pg := range s.matching(procs) {
		got[pg] = true
	}
	want := map[int]bool{100: true, 300: true, 700: true}
	if len(got) != len(want) {
		t.Errorf("matching = %v, want %v", got, want)
	}
	for pg := range want {
		if !got[pg] {
			t.Errorf("group %d is not matched", pg)
		}
	}
}

// startTestGroup starts `sh -c script` leading a process group of its own, and kills the group at the end.
func startTestGroup(t *testing.T, script string) (pgid int, start uint64, done <-chan struct{}) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid = cmd.Process.Pid
	start, ok := procStartTime(pgid)
	if !ok {
		t.Fatal("no start time of the test group's leader")
	}
	ch := make(chan struct{})
	go func() { _ = cmd.Wait(); close(ch) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-ch
	})
	return pgid, start, ch
}

// runGuardianWith runs RunGuardian in this process on a pipe fed with lines, and returns its status, error and log.
func runGuardianWith(t *testing.T, token string, lines ...string) (int, error, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var logBuf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logBuf.Write(p)
	}), nil))
	go func() {
		_, _ = io.WriteString(w, strings.Join(lines, ""))
		_ = w.Close()
	}()
	code, err := RunGuardian(r, token, logger)
	mu.Lock()
	defer mu.Unlock()
	return code, err, logBuf.String()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestRunGuardian(t *testing.T) {
	ours, oursStart, oursDone := startTestGroup(t, "exec sleep 60")
	stranger, strangerStart, strangerDone := startTestGroup(t, "exec sleep 60")
	// After a goodbye nothing is killed.
	code, err, logged := runGuardianWith(t, "tok", "hello tok\n",
		"start "+strconv.Itoa(ours)+" "+strconv.FormatUint(oursStart, 10)+" \n", "bye\n")
	if code != 0 || err != nil || logged != "" {
		t.Errorf("after goodbye: %d %v %q, want 0, nil and no log", code, err, logged)
	}
	// Without it the recorded group dies and the stranger (recorded with another start time) lives.
	code, err, logged = runGuardianWith(t, "tok", "hello tok\n",
		"start "+strconv.Itoa(ours)+" "+strconv.FormatUint(oursStart, 10)+" \n",
		"start "+strconv.Itoa(stranger)+" "+strconv.FormatUint(strangerStart+1, 10)+" \n")
	if code != 0 || err != nil || !strings.Contains(logged, "groups=1 recorded=2") {
		t.Errorf("without goodbye: %d %v %q", code, err, logged)
	}
	select {
	case <-oursDone:
	case <-time.After(5 * time.Second):
		t.Error("the recorded group was not killed")
	}
	select {
	case <-strangerDone:
		t.Error("the stranger was killed")
	case <-time.After(100 * time.Millisecond):
	}
	// A gone record forgets the group.
	again, againStart, againDone := startTestGroup(t, "exec sleep 60")
	_, _, _ = runGuardianWith(t, "tok", "hello tok\n",
		"start "+strconv.Itoa(again)+" "+strconv.FormatUint(againStart, 10)+" \n", "gone "+strconv.Itoa(again)+"\n")
	select {
	case <-againDone:
		t.Error("a group recorded gone was killed")
	case <-time.After(100 * time.Millisecond):
	}
	// No guardian without the right hello.
	for _, first := range []string{"hello other\n", "hello\n", "start 1 2 \n", ""} {
		if _, err, _ := runGuardianWith(t, "tok", first); err != ErrNotGuardian {
			t.Errorf("first record %q: err %v, want ErrNotGuardian", first, err)
		}
	}
	if _, err, _ := runGuardianWith(t, "", "hello \n"); err != ErrNotGuardian {
		t.Errorf("an empty token: err %v, want ErrNotGuardian", err)
	}
}

// testGuardian starts the test binary as a guardian.
func testGuardian(t *testing.T, root string, stderr io.Writer) (*Guardian, *bytes.Buffer) {
	t.Helper()
	var logBuf bytes.Buffer
	g, err := StartGuardian(GuardianOptions{
		Path: "/proc/self/exe",
		Args: []string{"sessions-test-guardian"},
		// A race-enabled guardian would sleep a second before it exits.
		Env:    []string{testGuardianVar + "=tok-" + strconv.Itoa(os.Getpid()), "GORACE=atexit_sleep_ms=0"},
		Token:  "tok-" + strconv.Itoa(os.Getpid()),
		Root:   root,
		Stderr: stderr,
		Logger: slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return g, &logBuf
}

func TestGuardianProcess(t *testing.T) {
	t.Run("goodbye", func(t *testing.T) {
		pg, start, done := startTestGroup(t, "exec sleep 60")
		var stderr syncBuf
		g, logged := testGuardian(t, "", &stderr)
		if g.Pid() <= 0 {
			t.Fatalf("no guardian process: %s", logged)
		}
		g.recordStart(pg, start, nil)
		g.Close(true)
		select {
		case <-done:
			t.Error("the guardian killed a group after the goodbye")
		case <-time.After(100 * time.Millisecond):
		}
		if !strings.Contains(logged.String(), `msg="guardian exited"`) || !strings.Contains(logged.String(), "status=0") {
			t.Errorf("log %q lacks the guardian's exit with status 0", logged)
		}
		if stderr.String() != "" {
			t.Errorf("the guardian wrote %q", stderr.String())
		}
	})
	t.Run("server gone", func(t *testing.T) {
		pg, start, done := startTestGroup(t, "sleep 60 & sleep 60 & wait")
		gone, goneStart, goneDone := startTestGroup(t, "exec sleep 60")
		var stderr syncBuf
		g, _ := testGuardian(t, "", &stderr)
		g.recordStart(pg, start, nil)
		g.recordStart(gone, goneStart, nil)
		g.recordGone(gone)
		g.Close(false) // what the end of the server looks like to the guardian
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the guardian did not kill the recorded group")
		}
		if !waitGroupGone(pg, 5*time.Second) {
			t.Errorf("members of group %d survived", pg)
		}
		select {
		case <-goneDone:
			t.Error("the guardian killed a group recorded gone")
		case <-time.After(100 * time.Millisecond):
		}
		if !strings.Contains(stderr.String(), "groups=1 recorded=1") {
			t.Errorf("guardian stderr %q", stderr.String())
		}
	})
	t.Run("cannot start", func(t *testing.T) {
		var logBuf bytes.Buffer
		g, err := StartGuardian(GuardianOptions{Path: "/nonexistent/execmcp", Args: []string{"x"}, Token: "t",
			Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			g.recordStart(1000+i, 1, nil)
		}
		g.Close(true)
		if g.Pid() != 0 || strings.Count(logBuf.String(), "guardian not started; running without it") != 1 {
			t.Errorf("pid %d, log %q", g.Pid(), logBuf.String())
		}
	})
	t.Run("does not read", func(t *testing.T) {
		// A guardian that never reads fills the pipe: records queue, nothing blocks, Close gives up in time.
		var logBuf bytes.Buffer
		g, err := StartGuardian(GuardianOptions{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Token: "t",
			Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if g.cmd.Process != nil {
				_ = g.cmd.Process.Kill()
				_ = g.cmd.Wait()
			}
		})
		t0 := time.Now()
		for i := range 5000 { // about 150 KB: more than the pipe holds
			g.recordStart(100000+i, 123456789, &cgroup{dir: "/sys/fs/cgroup/execmcp-1/amber-atlas"})
		}
		if el := time.Since(t0); el > 2*time.Second {
			t.Errorf("recording 5000 groups took %v", el)
		}
		g.mu.Lock()
		queued := len(g.pending) + map[bool]int{true: 1}[g.flushing]
		g.mu.Unlock()
		if queued == 0 {
			t.Error("nothing was queued although the pipe is full")
		}
		t0 = time.Now()
		g.Close(true)
		if el := time.Since(t0); el > 6*time.Second {
			t.Errorf("Close took %v", el)
		}
		if !strings.Contains(logBuf.String(), "guardian did not exit") {
			t.Errorf("log %q", logBuf.String())
		}
	})
}

// waitGroupGone waits until the process group has no live member.
func waitGroupGone(pg int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if len(liveGroups([]int{pg})) == 0 {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The registry records every group it starts with its guardian: when the guardian's pipe ends without the goodbye
// (as when the server dies), the session's whole group is killed, grandchildren included. After an orderly Close the
// guardian exits 0 having killed nothing.
func TestRegistryGuardian(t *testing.T) {
	var stderr syncBuf
	g, _ := testGuardian(t, "", &stderr)
	r := newTestRegistry(t, Options{KillGrace: 200 * time.Millisecond, Guardian: g})
	done, _, err := r.Start(shSpec("exit 0"))
	if err != nil {
		t.Fatal(err)
	}
	<-done.Done()
	// The finished group leaves the ledger (and is recorded gone) just after its session is done.
	deadline := time.Now().Add(5 * time.Second)
	for r.inLedger(done.Pid()) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	s, _, err := r.Start(shSpec("sleep 60 & sleep 60 & wait"))
	if err != nil {
		t.Fatal(err)
	}
	if !waitMembers(s.Pid(), 3, 5*time.Second) {
		t.Fatalf("group %d did not get its 3 members", s.Pid())
	}
	g.Close(false)
	if !waitGroupGone(s.Pid(), 5*time.Second) {
		t.Errorf("the guardian left group %d alive", s.Pid())
	}
	if !strings.Contains(stderr.String(), "groups=1 recorded=1") {
		t.Errorf("guardian stderr %q: want one group recorded (the finished one gone) and killed", stderr.String())
	}

	var stderr2 syncBuf
	g2, logged := testGuardian(t, "", &stderr2)
	r2 := New(Options{KillGrace: 200 * time.Millisecond, Guardian: g2})
	if _, _, err := r2.Start(shSpec("sleep 60 & wait")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "status=0") || stderr2.String() != "" {
		t.Errorf("guardian after Close: log %q, stderr %q", logged, stderr2.String())
	}
}

// waitMembers waits until the process group has at least n live members.
func waitMembers(pg, n int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		count := 0
		for _, p := range procTable() {
			if p.pgrp == pg && !p.zombie {
				count++
			}
		}
		if count >= n {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// inLedger reports whether the group pgid is in the registry's ledger.
func (r *Registry) inLedger(pgid int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ledger[pgid] != nil
}
