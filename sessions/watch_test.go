package sessions

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/execmcp/execmcp/output"
)

// watchRig is a backgrounded session without a process whose announcements are recorded with their (bubble)
// time, for driving the watcher's rate limit and budget under synctest.
type watchRig struct {
	r     *Registry
	s     *Session
	start time.Time
	mu    sync.Mutex
	got   []Announcement
	at    []time.Duration
}

func newWatchRig(t *testing.T, pattern string, pty bool) *watchRig {
	t.Helper()
	rig := &watchRig{start: time.Now()}
	rig.r = New(Options{OnWatch: func(a Announcement) {
		rig.mu.Lock()
		defer rig.mu.Unlock()
		rig.got = append(rig.got, a)
		rig.at = append(rig.at, time.Since(rig.start))
	}})
	rig.s = &Session{r: rig.r, id: "sess-1234567", scope: "sc", pty: pty, backgrounded: true,
		buf: output.NewBuffer(0, 0), changed: make(chan struct{}), watch: newWatcher(regexp.MustCompile(pattern))}
	return rig
}

// emit ingests one read of stream st.
func (rig *watchRig) emit(st output.Stream, text string) {
	rig.s.appendOutput(st, []byte(text), utf8.RuneCountInString(text), nil)
}

func (rig *watchRig) snapshot() ([]Announcement, []time.Duration) {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	return append([]Announcement(nil), rig.got...), append([]time.Duration(nil), rig.at...)
}

// finish stops the watcher the way the waiter does at the end of a session.
func (rig *watchRig) finish() {
	rig.s.mu.Lock()
	rig.s.stopWatchLocked()
	rig.s.mu.Unlock()
	rig.s.deliverWatch()
	rig.r.wg.Wait()
}

func TestWatchRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rig := newWatchRig(t, "ERROR", false)
		rig.emit(output.Stdout, "ok 1\nERROR one\n")
		got, at := rig.snapshot()
		if len(got) != 1 || got[0].Line != "ERROR one" || got[0].Matches != 1 || got[0].Stream != "stdout" ||
			got[0].ID != "sess-1234567" || got[0].Scope != "sc" || at[0] != 0 {
			t.Fatalf("first match is announced at once: %+v at %v", got, at)
		}
		// 49 more within 200 ms: held, then announced together when the window ends.
		for i := 2; i <= 50; i++ {
			rig.emit(output.Stderr, fmt.Sprintf("ERROR %d\n", i))
			time.Sleep(4 * time.Millisecond)
		}
		synctest.Wait()
		if got, _ := rig.snapshot(); len(got) != 1 {
			t.Fatalf("announced inside the window: %+v", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		got, at = rig.snapshot()
		if len(got) != 2 || got[1].Line != "ERROR 2" || got[1].Matches != 49 || got[1].Stream != "stderr" || at[1] != WatchInterval {
			t.Fatalf("held matches at the window's end: %+v at %v", got, at)
		}
		// That announcement opened a window too: a match inside it waits for its end.
		time.Sleep(500 * time.Millisecond)
		rig.emit(output.Stdout, "ERROR late\n")
		synctest.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		got, at = rig.snapshot()
		if len(got) != 3 || got[2].Line != "ERROR late" || got[2].Matches != 1 || at[2] != at[1]+WatchInterval {
			t.Fatalf("match in the second window: %+v at %v", got, at)
		}
		// A window without matches closes; the next match after it is announced at once.
		time.Sleep(3 * time.Second)
		now := time.Since(rig.start)
		rig.emit(output.Stdout, "ERROR quiet\n")
		got, at = rig.snapshot()
		if len(got) != 4 || at[3] != now {
			t.Fatalf("match after a quiet window: %+v at %v", got, at)
		}
		for i := 1; i < len(at); i++ {
			if at[i]-at[i-1] < WatchInterval {
				t.Errorf("announcements %d and %d are %v apart", i-1, i, at[i]-at[i-1])
			}
		}
		rig.finish()
	})
}

func TestWatchBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rig := newWatchRig(t, "hit", true)
		for range 150 {
			rig.emit(output.Stdout, "hit\r\n")
			time.Sleep(WatchInterval)
			synctest.Wait()
		}
		got, _ := rig.snapshot()
		if len(got) != WatchBudget+1 {
			t.Fatalf("%d events, want %d announcements and the final one", len(got), WatchBudget)
		}
		for _, a := range got[:WatchBudget] {
			if a.Stopped || a.Line != "hit" || a.Stream != "pty" {
				t.Fatalf("announcement %+v", a)
			}
		}
		if last := got[WatchBudget]; !last.Stopped || last.Line != "" || last.Matches != 0 || last.ID != "sess-1234567" {
			t.Fatalf("final event %+v", last)
		}
		rig.s.mu.Lock()
		removed := rig.s.watch == nil
		rig.s.mu.Unlock()
		if !removed {
			t.Error("the watcher survived its budget")
		}
		rig.finish()
	})
}

// Lines completed before the session was backgrounded are not announced, a line split across reads is matched
// once, long lines are cut, a removed session announces nothing, and held matches die with the session.
func TestWatchLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rig := newWatchRig(t, "^go+al$", false)
		rig.s.backgrounded = false
		rig.emit(output.Stdout, "goal\ngo")
		rig.s.backgrounded = true
		rig.emit(output.Stdout, "oal\n")
		got, _ := rig.snapshot()
		if len(got) != 1 || got[0].Line != "gooal" {
			t.Fatalf("yield-window line or split line: %+v", got)
		}
		rig.emit(output.Stdout, "goooal\n")
		rig.finish()
		time.Sleep(2 * WatchInterval)
		if got, _ := rig.snapshot(); len(got) != 1 {
			t.Fatalf("held match announced after the session ended: %+v", got)
		}

		rig = newWatchRig(t, "x", false)
		long := strings.Repeat("é", 3000) + "x"
		rig.emit(output.Stdout, long+"\n")
		got, _ = rig.snapshot()
		if len(got) != 1 || len(got[0].Line) != 4000 || got[0].Line != strings.Repeat("é", 2000) {
			t.Fatalf("long line: %d bytes", len(got[0].Line))
		}
		rig.s.removed = true
		time.Sleep(2 * WatchInterval)
		rig.emit(output.Stdout, "x\n")
		if got, _ := rig.snapshot(); len(got) != 1 {
			t.Fatalf("removed session announced: %+v", got)
		}
		rig.finish()
	})
}
