package sessions

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestIngestWorkersBound floods several sessions (pipes and a PTY) at once and checks that no more than
// IngestWorkers readers record output at the same time, while every session still gets all of its output.
func TestIngestWorkersBound(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			var inside, most atomic.Int32
			r := newTestRegistry(t, Options{KillGrace: time.Second, IngestWorkers: workers,
				OnOutput: func(scope, id string) {
					n := inside.Add(1)
					for {
						m := most.Load()
						if n <= m || most.CompareAndSwap(m, n) {
							break
						}
					}
					// Widen the window in which two unbounded readers would be seen together.
					time.Sleep(20 * time.Microsecond)
					inside.Add(-1)
				}})
			var started []*Session
			for i := range 5 {
				spec := shSpec("head -c 4000000 /dev/zero | tr '\\0' y; echo; echo end")
				spec.Background = true
				spec.PTY = i == 4
				s, _, err := r.Start(spec)
				if err != nil {
					t.Fatal(err)
				}
				started = append(started, s)
			}
			var wg sync.WaitGroup
			for _, s := range started {
				wg.Go(func() {
					in := waitDone(t, s, 60*time.Second)
					if in.Status != "completed" || in.TotalChars < 4000000 {
						t.Errorf("session %s: status %s, %d chars", s.ID(), in.Status, in.TotalChars)
					}
				})
			}
			wg.Wait()
			if m := most.Load(); m > int32(workers) || m < 1 {
				t.Errorf("%d readers recorded output at once, want 1..%d", m, workers)
			}
			t.Logf("at most %d readers at once with IngestWorkers=%d", most.Load(), workers)
		})
	}
}

// A PTY reader waiting to deliver a cursor-position reply (up to 1000 ms when the program does not read its
// input) must not hold the ingest semaphore meanwhile: another session's output keeps being recorded at once.
func TestIngestNotHeldDuringDSRReply(t *testing.T) {
	r := newTestRegistry(t, Options{KillGrace: time.Second, IngestWorkers: 1})
	// The probe never reads its input: once a blocked write fills the terminal's input queue, every reply waits
	// out its 1000 ms limit. It asks every 50 ms, so its reader always has a query to answer.
	probe, _, err := r.Start(ptySpec(`stty -icanon -echo; printf 'ready\n'; while :; do printf '\033[6n'; sleep 0.05; done`))
	if err != nil {
		t.Fatal(err)
	}
	waitOutput(t, probe, "ready", 10*time.Second)
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = r.Write(t.Context(), "test", probe.ID(), make([]byte, 1<<20), false) // times out after 10 s
	})
	time.Sleep(500 * time.Millisecond) // the input queue is full and replies have started to wait

	spec := shSpec(`for i in 1 2 3 4 5 6 7 8 9 10; do date +%s%N; sleep 0.2; done`)
	spec.Background = true
	clock, _, err := r.Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	var worst time.Duration
	lines := 0
	for lines < 10 {
		res, err := r.Poll(t.Context(), "test", clock.ID(), 5*time.Second, regexp.MustCompile("^"))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for _, l := range strings.Fields(res.Output) {
			ns, err := strconv.ParseInt(l, 10, 64)
			if err != nil {
				t.Fatalf("clock output %q", res.Output)
			}
			worst = max(worst, now.Sub(time.Unix(0, ns)))
			lines++
		}
		if res.Finished && lines < 10 {
			t.Fatalf("clock finished after %d lines", lines)
		}
	}
	// Each reply that blocks takes 1000 ms; a semaphore held during it would delay a line by up to that long.
	if worst > 600*time.Millisecond {
		t.Errorf("a line of the other session was recorded %v after it was printed, want well under the 1000 ms a DSR reply may wait", worst)
	}
	t.Logf("worst recording delay of the other session: %v", worst)
	r.KillAll()
	wg.Wait()
}
