package sessions

import (
	"errors"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/execmcp/execmcp/output"
)

// Limits of an output watcher (docs/reference.md#watch).
const (
	// WatchInterval is the rate-limit window: at most one announcement per session per WatchInterval.
	WatchInterval = time.Second
	// WatchBudget is how many announcements a watcher makes before it removes itself.
	WatchBudget = 100
	// watchLineBytes bounds the copy of a matching line an announcement carries: enough for the 1000 chars
	// the texts keep, so a 64 KiB line costs no more than that.
	watchLineBytes = 4000
)

// Announcement is one output-watcher event of a backgrounded session (docs/reference.md#watch-events).
type Announcement struct {
	Scope, ID string
	// Line is the first matching line the announcement covers (its first 4000 bytes); "" when Stopped.
	Line string
	// Stream is "stdout", "stderr" or, for a PTY session, "pty"; "" when Stopped.
	Stream string
	// Matches is how many matching lines it covers (1 or more); 0 when Stopped.
	Matches int
	// Stopped reports the final event of a watcher that used up its budget of WatchBudget announcements.
	Stopped bool
}

// watcher is the output watcher of one session: it matches each line ingested while the session is
// backgrounded and announces matches at most once per WatchInterval. All fields are guarded by the session lock.
type watcher struct {
	re *regexp.Regexp
	// m holds one complete-line matcher per stream (stdout or pty, stderr).
	m [2]*output.LineMatcher
	// window is the open rate-limit window; nil when the next match is announced at once.
	window *time.Timer
	// held counts the matching lines of the open window not announced yet; first and firstStream describe the
	// first of them.
	held        int
	first       string
	firstStream output.Stream
	sent        int
}

func newWatcher(re *regexp.Regexp) *watcher {
	w := &watcher{re: re}
	for i := range w.m {
		w.m[i] = output.NewLineMatcher(re, false)
	}
	return w
}

// watchLine copies line for an announcement, at most watchLineBytes and never splitting a UTF-8 sequence.
func watchLine(line []byte) string {
	if len(line) > watchLineBytes {
		n := watchLineBytes
		for n > 0 && !utf8.RuneStart(line[n]) {
			n--
		}
		line = line[:n]
	}
	return string(line)
}

func (s *Session) streamName(st output.Stream) string {
	switch {
	case s.pty:
		return "pty"
	case st == output.Stderr:
		return "stderr"
	}
	return "stdout"
}

// feedWatch matches one read against the watcher. Lines are assembled from the start of the session, so a line
// that began in the yield window is matched whole; only lines completed while the session is backgrounded (and
// not removed) are announced. The caller holds s.mu.
func (s *Session) feedWatch(st output.Stream, p []byte) {
	w := s.watch
	w.m[streamSlot(st)].Feed(p, func(line []byte) {
		if s.watch != w || !s.backgrounded || s.removed {
			return
		}
		if w.window == nil {
			s.announceLocked(w, Announcement{Line: watchLine(line), Stream: s.streamName(st), Matches: 1})
			return
		}
		if w.held == 0 {
			w.first, w.firstStream = watchLine(line), st
		}
		w.held++
	})
}

// announceLocked queues one announcement for delivery, opens the next rate-limit window and, at the budget,
// queues the final event and removes the watcher. The caller holds s.mu.
func (s *Session) announceLocked(w *watcher, a Announcement) {
	a.Scope, a.ID = s.scope, s.id
	s.watchOut = append(s.watchOut, a)
	w.sent++
	if w.sent >= WatchBudget {
		s.watchOut = append(s.watchOut, Announcement{Scope: s.scope, ID: s.id, Stopped: true})
		s.stopWatchLocked()
		return
	}
	s.r.wg.Add(1)
	w.window = time.AfterFunc(WatchInterval, func() {
		defer s.r.wg.Done()
		s.closeWindow(w)
	})
}

// closeWindow ends w's rate-limit window: the lines it held are announced together, which opens the next
// window; with none, the next match is announced at once.
func (s *Session) closeWindow(w *watcher) {
	s.mu.Lock()
	if s.watch != w {
		s.mu.Unlock()
		return
	}
	w.window = nil
	if w.held > 0 && !s.removed {
		a := Announcement{Line: w.first, Stream: s.streamName(w.firstStream), Matches: w.held}
		w.held, w.first = 0, ""
		s.announceLocked(w, a)
	}
	s.mu.Unlock()
	s.deliverWatch()
}

// stopWatchLocked removes the watcher; matching lines its open window held are dropped with it. The caller
// holds s.mu.
func (s *Session) stopWatchLocked() {
	w := s.watch
	if w == nil {
		return
	}
	s.watch = nil
	if w.window != nil && w.window.Stop() {
		s.r.wg.Done()
	}
	w.window = nil
}

// deliverWatch hands the queued announcements to Options.OnWatch, outside the session lock, in order. One
// deliverer at a time: a session's announcements never overtake each other, and the waiter's final delivery,
// made before the exit event, returns only after every earlier one.
func (s *Session) deliverWatch() {
	s.watchDeliver.Lock()
	defer s.watchDeliver.Unlock()
	s.mu.Lock()
	out := s.watchOut
	s.watchOut = nil
	s.mu.Unlock()
	if s.r.opts.OnWatch == nil {
		return
	}
	for _, a := range out {
		s.r.opts.OnWatch(a)
	}
}

// ErrNotRunning is returned by Watch for a finished session, and by Resize for a session whose output ended.
var ErrNotRunning = errors.New("session is not running")

// Watch sets the output watcher of a running backgrounded session of scope, replacing any other, or removes it
// when re is nil (docs/reference.md#process-watch). A new watcher starts with a full budget; lines of the
// current incomplete line that arrived before it count as the start of that line, not as a line of their own.
func (r *Registry) Watch(scope, id string, re *regexp.Regexp) (Info, error) {
	s, finished := r.lookup(scope, id)
	switch {
	case s == nil:
		return Info{}, ErrNotFound
	case finished:
		return Info{}, ErrNotRunning
	}
	s.mu.Lock()
	switch {
	case s.state == stateFinished:
		s.mu.Unlock()
		return Info{}, ErrNotRunning
	case !s.backgrounded:
		s.mu.Unlock()
		return Info{}, ErrNotBackgrounded
	}
	s.stopWatchLocked()
	if re != nil {
		w := newWatcher(re)
		// Pending output ends with the line being written: feeding it to a matcher that announces nothing
		// leaves that line's start in the matcher, so its end is not mistaken for a whole line.
		s.buf.EachPending(func(st output.Stream, p []byte) { w.m[streamSlot(st)].Feed(p, func([]byte) {}) })
		s.watch = w
	}
	s.mu.Unlock()
	return s.info(false), nil
}
