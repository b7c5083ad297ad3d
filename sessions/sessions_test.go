package sessions

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// guardianMode runs the test binary as a guardian when a test started it as one (guardian_linux_test.go).
var guardianMode = func() (int, bool) { return 0, false }

func TestMain(m *testing.M) {
	if code, ok := guardianMode(); ok {
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}

func newTestRegistry(t *testing.T, opts Options) *Registry {
	t.Helper()
	r := New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func shSpec(cmd string) Spec {
	return Spec{Scope: "test", Command: cmd, Shell: "/bin/sh", Env: []string{"PATH=" + os.Getenv("PATH")}}
}

func waitDone(t *testing.T, s *Session, d time.Duration) Info {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(d):
		t.Fatalf("session %s did not finish within %v", s.ID(), d)
	}
	return s.Info()
}

func TestOutcomes(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec.sh")
	if err := os.WriteFile(noexec, []byte("echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newTestRegistry(t, Options{KillGrace: time.Second})
	tests := []struct {
		cmd        string
		status     string
		reason     string
		code       int // -1 = nil
		signal     string
		failure    Failure
		aggregated string
	}{
		{"printf 'hello\\n'", "completed", "exit", 0, "", FailureNone, "hello\n"},
		{"echo nope; exit 1", "completed", "exit", 1, "", FailureNone, "nope\n"},
		{"definitely-not-a-command-xyz 2>/dev/null", "failed", "exit", 127, "", FailureNotFound, ""},
		{noexec + " 2>/dev/null", "failed", "exit", 126, "", FailureNotExecutable, ""},
		{"kill -TERM $$", "failed", "signal", -1, "SIGTERM", FailureSignal, ""},
		{"echo out1; echo err1 >&2", "completed", "exit", 0, "", FailureNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			s, _, err := r.Start(shSpec(tt.cmd))
			if err != nil {
				t.Fatal(err)
			}
			in := waitDone(t, s, 10*time.Second)
			if in.Status != tt.status || in.ExitReason != tt.reason || in.ExitSignal != tt.signal || in.Failure != tt.failure ||
				in.WaitErr != nil || in.TimedOut {
				t.Errorf("got status=%q reason=%q signal=%q failure=%d waitErr=%v timedOut=%v",
					in.Status, in.ExitReason, in.ExitSignal, in.Failure, in.WaitErr, in.TimedOut)
			}
			if tt.code < 0 && in.ExitCode != nil || tt.code >= 0 && (in.ExitCode == nil || *in.ExitCode != tt.code) {
				t.Errorf("exit code %v, want %d", in.ExitCode, tt.code)
			}
			if tt.aggregated != "" && in.Aggregated != tt.aggregated {
				t.Errorf("aggregated %q, want %q", in.Aggregated, tt.aggregated)
			}
			if in.EndedAt.IsZero() || in.EndedAt.Before(in.StartedAt) {
				t.Errorf("bad timestamps %v %v", in.StartedAt, in.EndedAt)
			}
		})
	}
	if got := r.List("test"); len(got) != 0 {
		t.Errorf("foreground sessions listed: %v", got)
	}
}

func TestTimeoutClassification(t *testing.T) {
	r := newTestRegistry(t, Options{KillGrace: time.Second})
	spec := shSpec("sleep 30")
	spec.Timeout, spec.TimeoutSec = 200*time.Millisecond, 0.2
	s, _, err := r.Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	in := waitDone(t, s, 10*time.Second)
	if in.Status != "failed" || in.ExitReason != "overall-timeout" || !in.TimedOut || in.ExitSignal != "SIGTERM" || in.ExitCode != nil {
		t.Fatalf("got %+v", in)
	}
	if in.Failure != FailureTimeout || in.TimeoutSec != 0.2 {
		t.Errorf("failure %d, timeout %v s; want FailureTimeout after 0.2 s", in.Failure, in.TimeoutSec)
	}
}

func TestBackgroundPollAndFrozenOutput(t *testing.T) {
	r := newTestRegistry(t, Options{})
	s, _, err := r.Start(shSpec("printf 'a\\n'; sleep 1; printf 'b\\n'"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Background() {
		t.Fatal("Background returned false for a running session")
	}
	ctx := context.Background()
	p, err := r.Poll(ctx, "test", s.ID(), 400*time.Millisecond, nil)
	if err != nil || p.Output != "a\n" || p.Finished || p.RetryIn != 5*time.Second {
		t.Fatalf("first poll %+v %v", p, err)
	}
	waitDone(t, s, 10*time.Second)
	p, err = r.Poll(ctx, "test", s.ID(), 3*time.Second, nil)
	if err != nil || p.Output != "b\n" || !p.Finished || p.Info.Status != "completed" {
		t.Fatalf("second poll %+v %v", p, err)
	}
	p, _ = r.Poll(ctx, "test", s.ID(), 0, nil)
	if p.Output != "" || !p.Finished {
		t.Fatalf("third poll %+v", p)
	}
	if _, err := r.Poll(ctx, "other", s.ID(), 0, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("foreign scope poll: %v", err)
	}
	if got := r.List("test"); len(got) != 1 || got[0].ID != s.ID() {
		t.Errorf("list %v", got)
	}
	if got := r.List("other"); len(got) != 0 {
		t.Errorf("foreign list %v", got)
	}
}

func TestRetrySchedule(t *testing.T) {
	r := newTestRegistry(t, Options{})
	spec := shSpec("while read l; do echo \"$l\"; done")
	spec.Stdin = StdinPipe
	s, _, err := r.Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	s.Background()
	ctx := context.Background()
	var got []time.Duration
	for range 5 {
		p, err := r.Poll(ctx, "test", s.ID(), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.RetryIn)
	}
	want := []time.Duration{5, 10, 30, 60, 60}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("silent polls %v", got)
		}
	}
	if _, err := r.Write(ctx, "test", s.ID(), []byte("x\n"), false); err != nil {
		t.Fatal(err)
	}
	p, _ := r.Poll(ctx, "test", s.ID(), 5*time.Second, nil)
	if p.Output != "x\n" || p.RetryIn != 5*time.Second {
		t.Fatalf("poll after write %+v", p)
	}
	p, _ = r.Poll(ctx, "test", s.ID(), 0, nil)
	if p.RetryIn != 5*time.Second {
		t.Fatalf("silent poll after output %v", p.RetryIn)
	}
	if _, err := r.Kill("test", s.ID(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitDone(t, s, 10*time.Second)
}

func TestWriteEOFAndNotWritable(t *testing.T) {
	r := newTestRegistry(t, Options{})
	ctx := context.Background()
	spec := shSpec("cat")
	spec.Stdin = StdinPipe
	s, _, err := r.Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	s.Background()
	res, err := r.Write(ctx, "test", s.ID(), []byte("abc"), true)
	if err != nil || !res.ClosedStdin || res.Written != 3 {
		t.Fatalf("write %+v %v", res, err)
	}
	in := waitDone(t, s, 10*time.Second)
	if in.Status != "completed" || in.Aggregated != "abc" {
		t.Fatalf("cat result %+v", in)
	}
	if _, err := r.Write(ctx, "test", s.ID(), []byte("x"), false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("write after exit: %v", err)
	}

	s2, _, err := r.Start(shSpec("sleep 30"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Write(ctx, "test", s2.ID(), []byte("x"), false); !errors.Is(err, ErrNotBackgrounded) {
		t.Fatalf("write to foreground: %v", err)
	}
	s2.Background()
	if _, err := r.Write(ctx, "test", s2.ID(), []byte("x"), false); !errors.Is(err, ErrNotWritable) {
		t.Fatalf("write to /dev/null stdin: %v", err)
	}
	if _, _, err := r.Remove("test", s2.ID()); err != nil {
		t.Fatal(err)
	}
	waitDone(t, s2, 10*time.Second)
	if got := r.List("test"); len(got) != 1 {
		t.Fatalf("removed session retained: %v", got)
	}
}

func TestWriteTimeoutAndCancel(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 10 s for the write limit")
	}
	r := newTestRegistry(t, Options{})
	spec := shSpec("sleep 30")
	spec.Stdin = StdinPipe
	s, _, err := r.Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	s.Background()
	data := make([]byte, 1<<20)
	start := time.Now()
	_, err = r.Write(context.Background(), "test", s.ID(), data, false)
	var we *WriteError
	if !errors.As(err, &we) || !we.TimedOut || we.Total != len(data) || we.Written <= 0 || we.Written >= len(data) {
		t.Fatalf("write error %#v", err)
	}
	if d := time.Since(start); d < 9*time.Second || d > 30*time.Second {
		t.Errorf("write gave up after %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = r.Write(ctx, "test", s.ID(), data, false)
	if !errors.As(err, &we) || !we.Cancelled {
		t.Fatalf("cancelled write error %#v", err)
	}
	r.Kill("test", s.ID(), syscall.SIGKILL)
	waitDone(t, s, 10*time.Second)
}

func TestKillEscalation(t *testing.T) {
	r := newTestRegistry(t, Options{KillGrace: 500 * time.Millisecond})
	dir := t.TempDir()
	spec := shSpec(`trap "" TERM; echo $$ > pgid; sleep 30`)
	spec.Dir = dir
	s, _, err := r.Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	s.Background()
	waitFile(t, filepath.Join(dir, "pgid"))
	if _, err := r.Kill("test", s.ID(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	in := waitDone(t, s, 10*time.Second)
	if in.Status != "failed" || in.ExitSignal != "SIGKILL" || in.ExitReason != "manual-cancel" || !in.KillRequested {
		t.Fatalf("got %+v", in)
	}
	assertGroupGone(t, s.Pid())
}

func TestInterruptSignal(t *testing.T) {
	r := newTestRegistry(t, Options{KillGrace: time.Second})
	s, _, err := r.Start(shSpec(`trap 'echo got-int; exit 3' INT; echo ready; while :; do sleep 0.1; done`))
	if err != nil {
		t.Fatal(err)
	}
	s.Background()
	if _, err := r.Poll(context.Background(), "test", s.ID(), 5*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Kill("test", s.ID(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	in := waitDone(t, s, 10*time.Second)
	if in.Status != "completed" || in.ExitCode == nil || *in.ExitCode != 3 || !strings.Contains(in.Aggregated, "got-int") {
		t.Fatalf("got %+v", in)
	}
}

func TestDrainGraceWithGrandchild(t *testing.T) {
	r := newTestRegistry(t, Options{DrainGrace: 300 * time.Millisecond, KillGrace: 200 * time.Millisecond})
	s, _, err := r.Start(shSpec("sleep 60 & echo started"))
	if err != nil {
		t.Fatal(err)
	}
	in := waitDone(t, s, 5*time.Second)
	if in.Status != "completed" || in.Aggregated != "started\n" {
		t.Fatalf("got %+v", in)
	}
	if !groupAlive(s.Pid()) {
		t.Fatal("grandchild should still be alive before Close")
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertGroupGone(t, s.Pid())
}

func TestCloseTerminatesEverything(t *testing.T) {
	r := New(Options{KillGrace: 300 * time.Millisecond})
	var ss []*Session
	for _, cmd := range []string{"sleep 60", `sh -c 'trap "" TERM; sleep 60'`, "exec sleep 60"} {
		s, _, err := r.Start(shSpec(cmd))
		if err != nil {
			t.Fatal(err)
		}
		s.Background()
		ss = append(ss, s)
	}
	time.Sleep(100 * time.Millisecond) // let the inner shell install its trap
	start := time.Now()
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	for _, s := range ss {
		assertGroupGone(t, s.Pid())
		if in := s.Info(); in.ExitReason != "shutdown" {
			t.Errorf("%s: exit reason %q", s.ID(), in.ExitReason)
		}
	}
	if _, _, err := r.Start(shSpec("true")); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v", err)
	}
}

func TestPTY(t *testing.T) {
	r := newTestRegistry(t, Options{})
	spec := shSpec(`tty; test -t 0 && echo is-tty; stty size; read x; echo "got:$x"`)
	spec.PTY = true
	s, fallback, err := r.Start(spec)
	if err != nil || fallback != nil {
		t.Fatal(err, fallback)
	}
	s.Background()
	if in := s.Info(); in.CursorMode != CursorUnknown || !in.PTY {
		t.Errorf("cursor mode %q pty %v", in.CursorMode, in.PTY)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.Info().Aggregated, "30 120") && time.Now().Before(deadline) {
		<-s.Changed()
	}
	res, err := r.Write(context.Background(), "test", s.ID(), []byte("hi\r"), false)
	if err != nil || res.Written != 3 {
		t.Fatal(res, err)
	}
	in := waitDone(t, s, 10*time.Second)
	for _, want := range []string{"/dev/pts/", "is-tty", "30 120", "got:hi"} {
		if !strings.Contains(in.Aggregated, want) {
			t.Errorf("PTY output %q lacks %q", in.Aggregated, want)
		}
	}
}

func TestLongCommand(t *testing.T) {
	r := newTestRegistry(t, Options{})
	cmd := ": " + strings.Repeat("x", 199990) + "\necho long-ok"
	s, _, err := r.Start(shSpec(cmd))
	if err != nil {
		t.Fatal(err)
	}
	if in := waitDone(t, s, 10*time.Second); in.Aggregated != "long-ok\n" || in.Status != "completed" {
		t.Fatalf("got %q %s", in.Aggregated, in.Status)
	}
}

func TestSpawnFailure(t *testing.T) {
	r := newTestRegistry(t, Options{})
	spec := shSpec("true")
	spec.Shell = "/nonexistent/zsh"
	if _, _, err := r.Start(spec); err == nil || !strings.Contains(err.Error(), "/nonexistent/zsh") {
		t.Fatalf("err %v", err)
	}
	spec = shSpec("true")
	spec.Dir = "/nonexistent-dir"
	if _, _, err := r.Start(spec); err == nil {
		t.Fatal("expected an error for a missing dir")
	}
}

func TestIDs(t *testing.T) {
	zero := zeroReader{}
	taken := map[string]bool{}
	isTaken := func(id string) bool { return taken[id] }
	want := []string{"amber-atlas"}
	for n := 2; n <= 12; n++ {
		want = append(want, "amber-atlas-"+strconv.Itoa(n))
	}
	want = append(want, "amber-atlas-atlas")
	for n := 2; n <= 12; n++ {
		want = append(want, "amber-atlas-atlas-"+strconv.Itoa(n))
	}
	want = append(want, "amber-atlas-atlas-aaa")
	for _, w := range want {
		got := newSlug(zero, isTaken, func() int64 { return 36 })
		if got != w {
			t.Fatalf("got %q, want %q", got, w)
		}
		taken[got] = true
	}
	if got := newSlug(zero, isTaken, func() int64 { return 36 }); got != "amber-atlas-atlas-aaa-10" {
		t.Fatalf("got %q", got)
	}
	re := regexp.MustCompile(`^[a-z]+(-[a-z]+){1,2}(-[0-9]{1,2}|-[a-z0-9]{3}(-[a-z0-9]+)?)?$`)
	seen := map[string]bool{}
	for range 500 {
		id := newSlug(rand.Reader, func(id string) bool { return seen[id] }, func() int64 { return 1 })
		if !re.MatchString(id) || len(id) < 9 || seen[id] {
			t.Fatalf("bad or duplicate id %q", id)
		}
		seen[id] = true
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestConcurrentActions(t *testing.T) {
	r := newTestRegistry(t, Options{KillGrace: 200 * time.Millisecond})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			spec := shSpec("while read l; do echo \"$l\"; done")
			spec.Stdin = StdinPipe
			spec.Scope = "scope" + strconv.Itoa(i%3)
			s, _, err := r.Start(spec)
			if err != nil {
				t.Error(err)
				return
			}
			s.Background()
			for j := range 5 {
				r.Write(ctx, spec.Scope, s.ID(), []byte("line"+strconv.Itoa(j)+"\n"), false)
				r.Poll(ctx, spec.Scope, s.ID(), 10*time.Millisecond, nil)
				r.Log(spec.Scope, s.ID())
				r.List(spec.Scope)
			}
			switch i % 3 {
			case 0:
				r.Kill(spec.Scope, s.ID(), syscall.SIGTERM)
			case 1:
				r.Remove(spec.Scope, s.ID())
			default:
				r.Write(ctx, spec.Scope, s.ID(), nil, true)
			}
			select {
			case <-s.Done():
			case <-time.After(10 * time.Second):
				t.Errorf("session %s did not end", s.ID())
			}
			r.Clear(spec.Scope, s.ID())
		})
	}
	wg.Wait()
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
}

// groupHasLive reports whether the group has a member that is not a zombie. Killed members reparented to init
// stay zombies until init reaps them, which some inits do late or never (CI machines): they are gone, not
// survivors, so tests must not count them.
func groupHasLive(pgid int) bool { return len(liveGroups([]int{pgid})) > 0 }

func assertGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for groupHasLive(pgid) {
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has members", pgid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOrphan(t *testing.T) {
	r := newTestRegistry(t, Options{KillGrace: 300 * time.Millisecond})
	spec := shSpec("sleep 60")
	spec.Scope = "gone"
	a, _, err := r.Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	a.Background()
	fg, _, err := r.Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	done, _, err := r.Start(Spec{Scope: "gone", Command: "true", Shell: "/bin/sh"})
	if err != nil {
		t.Fatal(err)
	}
	done.Background()
	waitDone(t, done, 10*time.Second)
	keep := shSpec("sleep 60")
	keep.Scope = "stays"
	k, _, err := r.Start(keep)
	if err != nil {
		t.Fatal(err)
	}
	k.Background()

	if n := r.Orphan("gone"); n != 2 {
		t.Fatalf("Orphan terminated %d sessions, want 2", n)
	}
	for _, s := range []*Session{a, fg} {
		if in := waitDone(t, s, 10*time.Second); in.ExitReason != "orphaned" {
			t.Errorf("exit reason %q", in.ExitReason)
		}
	}
	if got := r.List("gone"); len(got) != 0 {
		t.Errorf("orphaned scope still lists %v", got)
	}
	if got := r.List("stays"); len(got) != 1 || !got[0].Running() {
		t.Errorf("other scope affected: %v", got)
	}
}
