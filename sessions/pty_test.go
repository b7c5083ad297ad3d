package sessions

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// failPTY makes every PTY open fail with err for the rest of the test. Tests using it must not run in parallel.
func failPTY(t *testing.T, err error) {
	t.Helper()
	saved := openPTY
	openPTY = func() (*os.File, *os.File, error) { return nil, nil, err }
	t.Cleanup(func() { openPTY = saved })
}

// waitOutput waits until the aggregated output of s contains want.
func waitOutput(t *testing.T, s *Session, want string, d time.Duration) string {
	t.Helper()
	deadline := time.After(d)
	for {
		ch := s.Changed()
		in := s.Info()
		if strings.Contains(in.Aggregated, want) {
			return in.Aggregated
		}
		select {
		case <-ch:
		case <-s.Done():
			if in := s.Info(); strings.Contains(in.Aggregated, want) {
				return in.Aggregated
			}
			t.Fatalf("session ended without %q in its output %q", want, s.Info().Aggregated)
		case <-deadline:
			t.Fatalf("output %q lacks %q after %v", s.Info().Aggregated, want, d)
		}
	}
}

// The PTY fallback (docs/reference.md#exec-pty): the spawn error is reported, the child runs without a
// terminal with a writable stdin pipe. tools renders the warning (TestPTYFallbackWarning).
func TestPTYFallbackToPipes(t *testing.T) {
	failPTY(t, errors.New("open /dev/ptmx: no such device"))
	r := newTestRegistry(t, Options{})

	spec := shSpec("read x;   echo \"got:$x\"\n echo \"tty:$(tty)\"")
	spec.PTY = true
	spec.Stdin = StdinPipe
	spec.Background = true
	s, fallback, err := r.Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	if fallback == nil || fallback.Err == nil || fallback.Err.Error() != "open /dev/ptmx: no such device" {
		t.Errorf("fallback %+v, want the PTY spawn error", fallback)
	}
	in := s.Info()
	if in.PTY || in.CursorMode != CursorNormal || !in.Writable {
		t.Errorf("fallback session: pty %v cursor %q writable %v; want a writable non-PTY session in normal mode", in.PTY, in.CursorMode, in.Writable)
	}
	res, err := r.Write(context.Background(), "test", s.ID(), []byte("hi\n"), true)
	if err != nil || res.Written != 3 || !res.ClosedStdin || res.SentEOT {
		t.Fatalf("write to the fallback's stdin pipe: %+v %v", res, err)
	}
	in = waitDone(t, s, 10*time.Second)
	if !strings.Contains(in.Aggregated, "got:hi") || strings.Contains(in.Aggregated, "tty:/dev/pts") {
		t.Errorf("fallback output %q: want got:hi and no terminal", in.Aggregated)
	}

	// Synchronous mode: the fallback's stdin is /dev/null.
	spec = shSpec("cat; echo end")
	spec.PTY = true
	s, fallback, err = r.Start(spec)
	if err != nil || fallback == nil {
		t.Fatal(err, fallback)
	}
	if in := s.Info(); in.Writable || in.PTY {
		t.Errorf("synchronous fallback: writable %v pty %v", in.Writable, in.PTY)
	}
	if in := waitDone(t, s, 10*time.Second); in.Aggregated != "end\n" || in.Status != "completed" {
		t.Errorf("synchronous fallback: %q %s", in.Aggregated, in.Status)
	}

	// When the second attempt fails too, the error is the pipe spawn's and nothing is registered.
	spec = shSpec("true")
	spec.PTY = true
	spec.Shell = "/nonexistent/zsh"
	spec.Background = true
	_, fallback, err = r.Start(spec)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/zsh") || fallback == nil {
		t.Errorf("double failure: %v %+v", err, fallback)
	}
	if l := r.List("test"); len(l) != 1 {
		// only the first session above was backgrounded
		t.Errorf("list after the double failure: %d entries", len(l))
	}
}

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func ptySpec(cmd string) Spec {
	spec := shSpec(cmd)
	spec.PTY = true
	spec.Background = true
	return spec
}

// Cursor-key mode (docs/reference.md#send-keys): unknown until a toggle or output plus 2000 ms; toggles in arrival
// order, the last one wins; ESC= is no toggle; non-PTY sessions are always normal.
func TestPTYCursorModeTracking(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1700000000, 0)}
	r := newTestRegistry(t, Options{Now: clock.now})
	start := func(cmd string) *Session {
		t.Helper()
		s, fallback, err := r.Start(ptySpec(cmd))
		if err != nil || fallback != nil {
			t.Fatal(err, fallback)
		}
		return s
	}
	mode := func(s *Session) CursorMode { return s.Info().CursorMode }

	quiet := start("sleep 30")
	withOutput := start("printf 'hello\\n'; sleep 30")
	keypad := start("printf '\\033=keypad\\n'; sleep 30")
	app := start("printf '\\033[?1hready\\n'; sleep 30")
	appParams := start("printf '\\033[?1;1049hready\\n'; sleep 30")
	lastWins := start("printf '\\033[?1h\\033[?1lready\\n'; sleep 30")
	lastWins2 := start("printf '\\033[?1l\\033[?2004h\\033[?1hready\\n'; sleep 30")
	split := start("printf '\\033[?'; sleep 0.3; printf '1hready\\n'; sleep 30")
	other := start("printf '\\033[?12h\\033[?1049hready\\n'; sleep 30")
	waitOutput(t, withOutput, "hello", 10*time.Second)
	waitOutput(t, keypad, "keypad", 10*time.Second)
	for _, s := range []*Session{app, appParams, lastWins, lastWins2, split, other} {
		waitOutput(t, s, "ready", 10*time.Second)
	}

	for _, s := range []*Session{quiet, withOutput, keypad, other} {
		if m := mode(s); m != CursorUnknown {
			t.Errorf("%s: mode %q before 2 s, want unknown", s.spec.Command, m)
		}
	}
	for s, want := range map[*Session]CursorMode{app: CursorApplication, appParams: CursorApplication,
		lastWins: CursorNormal, lastWins2: CursorApplication, split: CursorApplication} {
		if m := mode(s); m != want {
			t.Errorf("%s: mode %q, want %q", s.spec.Command, m, want)
		}
	}
	clock.advance(1999 * time.Millisecond)
	if m := mode(withOutput); m != CursorUnknown {
		t.Errorf("mode %q at 1999 ms, want unknown", m)
	}
	clock.advance(time.Millisecond)
	for s, want := range map[*Session]CursorMode{quiet: CursorUnknown, withOutput: CursorNormal, keypad: CursorNormal,
		other: CursorNormal, app: CursorApplication, lastWins: CursorNormal} {
		if m := mode(s); m != want {
			t.Errorf("%s: mode %q at 2000 ms, want %q", s.spec.Command, m, want)
		}
	}
	clock.advance(time.Hour)
	if m := mode(quiet); m != CursorUnknown {
		t.Errorf("a PTY session without output: mode %q, want unknown", m)
	}

	// A non-PTY session is normal, whatever it prints.
	spec := shSpec("printf '\\033[?1hready\\n'; sleep 30")
	spec.Background = true
	np, _, err := r.Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	waitOutput(t, np, "ready", 10*time.Second)
	if m := mode(np); m != CursorNormal {
		t.Errorf("non-PTY session mode %q, want normal", m)
	}
	r.KillAll()
}

// DSR queries (ESC[6n, ESC[?6n) in PTY output are answered with ESC[1;1R, one reply per query in order, and removed
// from the output; other n queries are not answered; a non-PTY session gets no reply.
func TestPTYDeviceStatusReports(t *testing.T) {
	r := newTestRegistry(t, Options{})
	s, _, err := r.Start(ptySpec(`stty -icanon -echo min 18 time 50; printf 'a\033[6nb\033[5n\033[?6nc'; sleep 0.3; printf '\033[?6n'; ` +
		`r=$(dd bs=18 count=1 2>/dev/null | od -An -c -w32 | tr -s ' '); stty sane; echo "reply:$r"`))
	if err != nil {
		t.Fatal(err)
	}
	in := waitDone(t, s, 15*time.Second)
	// Three replies; ESC[5n (device status) gets none.
	if !strings.Contains(in.Aggregated, "reply: 033 [ 1 ; 1 R 033 [ 1 ; 1 R 033 [ 1 ; 1 R") {
		t.Errorf("output %q: want three cursor-position replies", in.Aggregated)
	}
	if !strings.HasPrefix(in.Aggregated, "abc") || strings.Contains(in.Aggregated, "6n") || strings.Contains(in.Aggregated, "\x1b") {
		t.Errorf("output %q: want abc first and no query left", in.Aggregated)
	}

	// Non-PTY: the query is removed from the output, and nothing is written to stdin.
	spec := shSpec(`printf 'x\033[6ny\n'; sleep 0.5; od -An -c; echo od-done`)
	spec.Stdin = StdinPipe
	spec.Background = true
	np, _, err := r.Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	waitOutput(t, np, "xy", 10*time.Second)
	time.Sleep(time.Second)
	if _, err := r.Write(context.Background(), "test", np.ID(), nil, true); err != nil {
		t.Fatal(err)
	}
	if in := waitDone(t, np, 10*time.Second); in.Aggregated != "xy\nod-done\n" {
		t.Errorf("non-PTY output %q, want xy and nothing read from stdin", in.Aggregated)
	}
}

// A PTY session: the EOT byte on eof keeps the input writable; the window is 120x30.
func TestPTYWriteEOT(t *testing.T) {
	r := newTestRegistry(t, Options{})
	s, _, err := r.Start(ptySpec(`stty size; cat; echo first-eof; cat; echo second-eof`))
	if err != nil {
		t.Fatal(err)
	}
	waitOutput(t, s, "30 120", 10*time.Second)
	res, err := r.Write(context.Background(), "test", s.ID(), []byte("abc\n"), true)
	if err != nil || res.Written != 4 || !res.SentEOT || res.ClosedStdin {
		t.Fatalf("write with eof: %+v %v", res, err)
	}
	waitOutput(t, s, "first-eof", 10*time.Second)
	if in := s.Info(); !in.Writable {
		t.Errorf("PTY not writable after EOT")
	}
	if _, err := r.Write(context.Background(), "test", s.ID(), []byte("x\n"), true); err != nil {
		t.Fatal(err)
	}
	in := waitDone(t, s, 10*time.Second)
	if !strings.Contains(in.Aggregated, "abc") || !strings.Contains(in.Aggregated, "second-eof") || in.Status != "completed" {
		t.Errorf("output %q status %s", in.Aggregated, in.Status)
	}
	if in.Writable {
		t.Errorf("finished session still writable")
	}
	if _, err := r.Write(context.Background(), "test", s.ID(), []byte("x"), false); !errors.Is(err, ErrNotFound) {
		t.Errorf("write to a finished PTY session: %v, want ErrNotFound", err)
	}
}

// A DSR reply waits at most 1000 ms, also for a process write that blocks on a program not reading its input:
// the reader goes on recording output instead of stalling until that write times out (10 s).
func TestPTYDSRReplyDoesNotStallReader(t *testing.T) {
	r := newTestRegistry(t, Options{})
	s, _, err := r.Start(ptySpec(`stty -icanon -echo; printf 'ready\n'; sleep 1; printf '\033[6n'; sleep 0.5; printf 'after\n'; sleep 30`))
	if err != nil {
		t.Fatal(err)
	}
	waitOutput(t, s, "ready", 10*time.Second)
	var wg sync.WaitGroup
	wg.Add(1)
	var werr error
	go func() {
		defer wg.Done()
		// Fills the terminal's input queue, then blocks holding the input for up to 10 s.
		_, werr = r.Write(context.Background(), "test", s.ID(), make([]byte, 1<<20), false)
	}()
	start := time.Now()
	waitOutput(t, s, "after", 15*time.Second)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("output after a DSR query appeared %v after the blocked write began, want within about 2.5 s", d.Round(time.Millisecond))
	}
	wg.Wait()
	var we *WriteError
	if !errors.As(werr, &we) || !we.TimedOut {
		t.Errorf("the blocked write: %v, want a timeout", werr)
	}
	r.KillAll()
	waitDone(t, s, 10*time.Second)
}
