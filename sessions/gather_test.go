package sessions

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestWaitDone checks when a waiting poll returns (docs/reference.md#poll-wait): at finalization, a match, the
// wait limit or the end of the context, whichever comes first, and never merely because output arrived.
func TestWaitDone(t *testing.T) {
	tests := []struct {
		name   string
		wait   time.Duration
		output bool          // output keeps arriving during the wait
		finish time.Duration // 0: never finalized
		cancel time.Duration // 0: never cancelled
		hit    time.Duration // 0: never matched
		want   time.Duration
	}{
		{name: "no output until the limit", wait: 50 * time.Millisecond, want: 50 * time.Millisecond},
		{name: "output does not end the wait", wait: time.Second, output: true, want: time.Second},
		{name: "finalization", wait: time.Second, output: true, finish: 40 * time.Millisecond, want: 40 * time.Millisecond},
		{name: "cancellation", wait: time.Second, output: true, cancel: 25 * time.Millisecond, want: 25 * time.Millisecond},
		{name: "a match", wait: time.Second, output: true, hit: 300 * time.Millisecond, want: 300 * time.Millisecond},
		{name: "the limit before the match", wait: 100 * time.Millisecond, hit: 300 * time.Millisecond, want: 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &Session{changed: make(chan struct{}), done: make(chan struct{})}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				start := time.Now()
				if tt.output {
					tick := time.NewTicker(time.Millisecond)
					defer tick.Stop()
					go func() {
						for {
							select {
							case <-tick.C:
								s.mu.Lock()
								close(s.changed)
								s.changed = make(chan struct{})
								s.mu.Unlock()
							case <-s.done:
								return
							}
						}
					}()
				}
				if tt.finish > 0 {
					time.AfterFunc(tt.finish, func() { close(s.done) })
				}
				if tt.cancel > 0 {
					time.AfterFunc(tt.cancel, cancel)
				}
				var hit chan struct{}
				if tt.hit > 0 {
					hit = make(chan struct{})
					time.AfterFunc(tt.hit, func() { close(hit) })
				}
				s.waitDone(ctx, tt.wait, hit)
				if got := time.Since(start); got != tt.want {
					t.Errorf("waitDone returned after %v, want %v", got, tt.want)
				}
				cancel()
				if tt.finish == 0 {
					close(s.done)
				}
				synctest.Wait()
			})
		})
	}
}
