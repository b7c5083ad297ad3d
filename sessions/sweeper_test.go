package sessions

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/execmcp/execmcp/output"
)

// addFinished inserts a finished record without a process, as finalize would.
func addFinished(r *Registry, scope, id string, ended time.Time, chars int) *Session {
	s := &Session{r: r, id: id, scope: scope, startedAt: ended.Add(-time.Second), endedAt: ended,
		buf: output.NewBuffer(r.opts.MaxOutputChars, r.opts.PendingMaxChars), changed: make(chan struct{}),
		done: make(chan struct{}), state: stateFinished, backgrounded: true,
		outcome: outcome{status: "completed", reason: "exit"}}
	if chars > 0 {
		s.buf.Append(output.Stdout, strings.Repeat("x", chars))
	}
	close(s.done)
	r.mu.Lock()
	r.finished[id] = s
	r.evict(scope)
	r.ensureSweeper()
	r.mu.Unlock()
	return s
}

func (r *Registry) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.finished[id]
	return ok
}

func (r *Registry) sweeperRunning() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sweeping
}

func TestExpired(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ttl := time.Minute
	if Expired(t0, t0.Add(ttl), ttl) {
		t.Error("expired exactly at TTL")
	}
	if !Expired(t0, t0.Add(ttl+time.Millisecond), ttl) {
		t.Error("not expired 1 ms after TTL")
	}
}

func TestSweeperLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New(Options{TTL: time.Minute}) // interval max(30 s, TTL/6) = 30 s
		if r.sweeperRunning() {
			t.Fatal("sweeper running before the first session")
		}
		start := time.Now()
		addFinished(r, "s", "calm-reef", start, 0)
		if !r.sweeperRunning() {
			t.Fatal("sweeper not started by the first record")
		}
		// Ticks at 30 s and 60 s: not expired (60 s is exactly the TTL).
		time.Sleep(60*time.Second + time.Millisecond)
		synctest.Wait()
		if !r.has("calm-reef") {
			t.Fatal("record deleted at TTL")
		}
		// Tick at 90 s: expired and deleted; nothing left, so the sweeper stops.
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if r.has("calm-reef") {
			t.Fatal("record survived the first tick after TTL")
		}
		if r.sweeperRunning() {
			t.Fatal("sweeper still running with nothing to watch")
		}
		addFinished(r, "s", "tidy-basil", time.Now(), 0)
		if !r.sweeperRunning() {
			t.Fatal("sweeper not restarted")
		}
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if r.sweeperRunning() && !r.quitClosed() {
			t.Fatal("sweeper survived Close")
		}
	})
}

func TestFinishedCaps(t *testing.T) {
	r := New(Options{TTL: time.Hour})
	defer r.Close(context.Background())
	t0 := time.Unix(1000, 0)
	for i := range 55 {
		addFinished(r, "a", "rec-"+strconv.Itoa(i), t0.Add(time.Duration(i)*time.Second), 0)
	}
	addFinished(r, "b", "other", t0, 0)
	for i := range 55 {
		if got, want := r.has("rec-"+strconv.Itoa(i)), i >= 5; got != want {
			t.Errorf("rec-%d retained=%v, want %v", i, got, want)
		}
	}
	if len(r.List("a")) != 50 || !r.has("other") {
		t.Errorf("list a=%d other=%v", len(r.List("a")), r.has("other"))
	}

	r2 := New(Options{TTL: time.Hour, MaxOutputChars: 200000, PendingMaxChars: 1000})
	defer r2.Close(context.Background())
	// Each record retains 100000 aggregated + 1000 pending chars: 20 records fit into 2000000, not 21... 19.
	for i := range 25 {
		addFinished(r2, "a", "big-"+strconv.Itoa(i), t0.Add(time.Duration(i)*time.Second), 100000)
	}
	addFinished(r2, "b", "small", t0, 10)
	total := 0
	for _, in := range r2.List("a") {
		total += in.AggregatedChars + 1000
	}
	if total > 2000000 || r2.has("big-5") || !r2.has("big-24") || !r2.has("small") {
		t.Errorf("total %d, big-5 %v, big-24 %v", total, r2.has("big-5"), r2.has("big-24"))
	}
}
