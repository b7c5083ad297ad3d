package sessions

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// osThreads is the number of OS threads of this process.
func osThreads(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("Threads:")); ok {
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}

// Waiting sessions hold no OS thread beyond the PollingReaders slots: a pipe reader without a slot sleeps in the
// runtime poller on an epoll instance, a PTY reader on the master, every waiter on a pidfd. Blocking poll(2) and
// wait(2) cost two threads per session, Go never ends a thread, and it aborts a process at 10000.
func TestWaitingSessionsHoldNoThreads(t *testing.T) {
	const n = 150
	r := newTestRegistry(t, Options{KillGrace: 200 * time.Millisecond, ReaderIdle: 50 * time.Millisecond, PollingReaders: 8})
	before := osThreads(t)
	var ss []*Session
	for i := range n {
		spec := shSpec(`echo ready; read l; echo "got $l"; read l`)
		spec.Stdin = StdinPipe
		spec.PTY = i%3 == 2
		spec.Background = true
		s, _, err := r.Start(spec)
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	// Every reader has recorded its first line, so every reader and waiter is now waiting.
	for _, s := range ss {
		waitOutputContains(t, s, "ready")
	}
	grown := osThreads(t) - before
	if grown > n/5 {
		t.Errorf("%d waiting sessions added %d OS threads, want at most %d", n, grown, n/5)
	}
	// They still answer: each reader wakes for new output.
	for i, s := range ss {
		line := fmt.Sprintf("line-%d\n", i)
		if _, err := r.Write(context.Background(), "test", s.ID(), []byte(line), false); err != nil {
			t.Fatalf("write %s: %v", s.ID(), err)
		}
	}
	for i, s := range ss {
		waitOutputContains(t, s, fmt.Sprintf("got line-%d", i))
	}
	t.Logf("%d waiting sessions: %d threads before, %d more after", n, before, grown)
}

// waitOutputContains waits until the aggregated output of s contains want.
func waitOutputContains(t *testing.T, s *Session, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		changed := s.Changed()
		if bytes.Contains([]byte(s.Info().Aggregated), []byte(want)) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("session %s: output %q does not contain %q after 30 s", s.ID(), s.Info().Aggregated, want)
		}
	}
}
