package sessions

import (
	"strings"
	"testing"
	"time"

	"github.com/execmcp/execmcp/output"
)

func TestCountersFinished(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name                 string
		dur                  time.Duration
		background           bool
		status               string
		completed, failed    uint64
		firstBucket, inCount int // index of the first bound counting it (len = none)
	}{
		{"instant foreground", 0, false, "completed", 0, 0, 0, 1},
		{"on a bound", 10 * time.Millisecond, true, "completed", 1, 0, 0, 1},
		{"just above a bound", 10*time.Millisecond + 1, true, "failed", 0, 1, 1, 1},
		{"one second", time.Second, false, "failed", 0, 0, 5, 1},
		{"beyond every bound", 2 * time.Hour, true, "completed", 1, 0, len(durationBounds), 1},
		{"clock went back", -time.Second, true, "failed", 0, 1, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := New(Options{}) // starts nothing: no Close needed
			r.stats.recordFinished(Info{StartedAt: start, EndedAt: start.Add(tc.dur), Backgrounded: tc.background, Status: tc.status})
			st := r.Stats()
			if st.Completed != tc.completed || st.Failed != tc.failed {
				t.Errorf("completed, failed = %d, %d; want %d, %d", st.Completed, st.Failed, tc.completed, tc.failed)
			}
			h := st.Durations
			if h.Count != uint64(tc.inCount) {
				t.Errorf("count = %d, want %d", h.Count, tc.inCount)
			}
			for i, n := range h.Counts {
				want := uint64(0)
				if i >= tc.firstBucket {
					want = 1
				}
				if n != want {
					t.Errorf("bucket le=%g holds %d, want %d", h.Bounds[i], n, want)
				}
			}
			if want := max(tc.dur, 0).Seconds(); h.Sum != want {
				t.Errorf("sum = %g, want %g", h.Sum, want)
			}
		})
	}
}

func TestCountersOutput(t *testing.T) {
	var c counters
	c.recordOutput(false, output.Stdout, 10, 0)
	c.recordOutput(false, output.Stderr, 7, 3)
	c.recordOutput(true, output.Stdout, 5, 0)
	c.recordOutput(true, output.Stderr, 1, 2) // a PTY has one stream whatever the caller says
	if got := [4]uint64{c.stdout.Load(), c.stderr.Load(), c.pty.Load(), c.dropped.Load()}; got != [4]uint64{10, 7, 6, 5} {
		t.Errorf("stdout, stderr, pty, dropped = %v, want [10 7 6 5]", got)
	}
	if n := testing.AllocsPerRun(100, func() { c.recordOutput(false, output.Stdout, 32768, 100) }); n != 0 {
		t.Errorf("recordOutput allocates %v times per chunk", n)
	}
}

// The registry's counters through real sessions: a foreground and a backgrounded command that complete, a
// backgrounded one that fails, output on both pipes and a terminal, and output beyond the aggregated cap.
func TestRegistryStats(t *testing.T) {
	r := newTestRegistry(t, Options{MaxOutputChars: 1000})
	if st := r.Stats(); st.Running != 0 || st.Durations.Count != 0 || len(st.Durations.Counts) != len(durationBounds) {
		t.Fatalf("fresh registry: %+v", st)
	}
	fg, _, err := r.Start(shSpec("printf out; printf err >&2"))
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, fg, 10*time.Second)

	long, _, err := r.Start(shSpec("sleep 30"))
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Running != 1 {
		t.Errorf("running = %d with one sleeping session, want 1", st.Running)
	}
	long.Background()

	ok := shSpec("head -c 1500 /dev/zero | tr '\\0' a")
	ok.Background = true
	bg, _, err := r.Start(ok)
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, bg, 10*time.Second)

	pty := shSpec("printf tty")
	pty.PTY = true
	ps, fallback, err := r.Start(pty)
	if err != nil || fallback != nil {
		t.Fatalf("pty start: %v %v", err, fallback)
	}
	waitDone(t, ps, 10*time.Second)

	if _, _, err := r.Remove("test", long.ID()); err != nil {
		t.Fatal(err)
	}
	info := waitDone(t, long, 10*time.Second)

	st := r.Stats()
	if st.Running != 0 {
		t.Errorf("running = %d after every session finished, want 0", st.Running)
	}
	if st.Completed != 1 || st.Failed != 1 {
		t.Errorf("completed, failed = %d, %d; want 1, 1 (two foreground sessions not counted; %s %s)",
			st.Completed, st.Failed, info.Status, info.ExitReason)
	}
	if st.StdoutBytes != 3+1500 || st.StderrBytes != 3 {
		t.Errorf("stdout, stderr bytes = %d, %d; want %d, 3", st.StdoutBytes, st.StderrBytes, 3+1500)
	}
	if !strings.Contains(ps.Info().Aggregated, "tty") || st.PTYBytes < 3 {
		t.Errorf("pty bytes = %d for %q, want at least 3", st.PTYBytes, ps.Info().Aggregated)
	}
	if st.DroppedChars != 500 {
		t.Errorf("dropped chars = %d, want 500 (1500 chars, cap 1000)", st.DroppedChars)
	}
	h := st.Durations
	if h.Count != 4 || h.Counts[len(h.Counts)-1] != 4 || h.Sum <= 0 {
		t.Errorf("durations: count %d, last bucket %d, sum %g; want 4, 4, > 0", h.Count, h.Counts[len(h.Counts)-1], h.Sum)
	}
}

// BenchmarkRecordOutput is the cost the counters add to one recorded chunk; compare it with
// BenchmarkAppendChunk, the cost of recording a full read (docs/benchmarks.md).
func BenchmarkRecordOutput(b *testing.B) {
	var c counters
	for b.Loop() {
		c.recordOutput(false, output.Stdout, readSize, 0)
	}
}

// BenchmarkAppendChunk records one full read (32 KiB of ASCII) into a session's buffers, counters included.
func BenchmarkAppendChunk(b *testing.B) {
	r := New(Options{})
	s := &Session{r: r, buf: output.NewBuffer(0, 0), changed: make(chan struct{})}
	chunk := []byte(strings.Repeat("0123456789abcde\n", readSize/16))
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		s.appendOutput(output.Stdout, chunk, len(chunk), nil)
	}
}
