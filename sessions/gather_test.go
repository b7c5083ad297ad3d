package sessions

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestWaitOutputGather checks how long a waiting poll keeps gathering after the first output
// (docs/reference.md#poll-wait): until the burst has been quiet for burstQuiet, never longer than burstMax, and
// never past finalization, the wait limit or the context.
func TestWaitOutputGather(t *testing.T) {
	tests := []struct {
		name    string
		wait    time.Duration
		appends []time.Duration // offsets of appends from the start
		finish  time.Duration   // 0: never finalized
		cancel  time.Duration   // 0: never cancelled
		want    time.Duration
	}{
		{name: "no output until the limit", wait: 50 * time.Millisecond, want: 50 * time.Millisecond},
		{name: "one line", wait: time.Second, appends: []time.Duration{10 * time.Millisecond}, want: 10*time.Millisecond + burstQuiet},
		{name: "a short burst", wait: time.Second,
			appends: []time.Duration{10 * time.Millisecond, 11 * time.Millisecond, 12 * time.Millisecond},
			want:    12*time.Millisecond + burstQuiet},
		{name: "steady output is cut at burstMax", wait: time.Second, appends: every(10*time.Millisecond, time.Millisecond, 300),
			want: 10*time.Millisecond + burstMax},
		{name: "the wait limit ends the gathering", wait: 30 * time.Millisecond, appends: every(10*time.Millisecond, time.Millisecond, 300),
			want: 30 * time.Millisecond},
		{name: "finalization ends the gathering", wait: time.Second, appends: every(10*time.Millisecond, time.Millisecond, 300),
			finish: 40 * time.Millisecond, want: 40 * time.Millisecond},
		{name: "finalization without output", wait: time.Second, finish: 20 * time.Millisecond, want: 20 * time.Millisecond},
		{name: "cancellation ends the gathering", wait: time.Second, appends: every(10*time.Millisecond, time.Millisecond, 300),
			cancel: 25 * time.Millisecond, want: 25 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &Session{changed: make(chan struct{}), done: make(chan struct{})}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				start := time.Now()
				stop := make(chan struct{})
				var appender sync.WaitGroup
				appender.Go(func() {
					for _, at := range tt.appends {
						select {
						case <-stop:
							return
						case <-time.After(at - time.Since(start)):
						}
						s.mu.Lock()
						close(s.changed)
						s.changed = make(chan struct{})
						s.mu.Unlock()
					}
				})
				if tt.finish > 0 {
					time.AfterFunc(tt.finish, func() { close(s.done) })
				}
				if tt.cancel > 0 {
					time.AfterFunc(tt.cancel, cancel)
				}
				s.waitOutput(ctx, s.Changed(), tt.wait)
				if got := time.Since(start); got != tt.want {
					t.Errorf("waitOutput returned after %v, want %v", got, tt.want)
				}
				close(stop)
				appender.Wait()
				cancel()
				if tt.finish == 0 {
					close(s.done)
				}
			})
		})
	}
}

// every returns n offsets starting at first, step apart.
func every(first, step time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = first + time.Duration(i)*step
	}
	return out
}
