package sessions

import (
	"fmt"
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
