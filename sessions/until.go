package sessions

import (
	"regexp"
	"slices"

	"github.com/execmcp/execmcp/output"
)

// untilWait is one waiting poll with until (docs/reference.md#poll-wait). Its matchers see every read at
// ingest, before the pending cap can drop anything, so a matching line inside a flood is never missed. All
// fields are guarded by the session lock.
type untilWait struct {
	// m holds one matcher per stream (stdout, stderr): lines of the two streams are assembled separately.
	m       [2]*output.LineMatcher
	hit     chan struct{} // closed at the first match
	matched bool
	line    string // the first matching line
}

func streamSlot(st output.Stream) int {
	if st == output.Stdout {
		return 0
	}
	return 1
}

// addUntil registers a waiter for re. It first scans the pending output, which holds the lines that arrived since
// the previous poll, so that one of them that already matches ends the wait at once; this also gives the
// matchers the start of a line still being written. The caller holds s.mu.
func (s *Session) addUntil(re *regexp.Regexp) *untilWait {
	w := &untilWait{hit: make(chan struct{})}
	for i := range w.m {
		w.m[i] = output.NewLineMatcher(re, true)
	}
	s.buf.EachPending(func(st output.Stream, p []byte) { w.feed(st, p) })
	s.untils = append(s.untils, w)
	return w
}

// removeUntil unregisters w. The caller holds s.mu.
func (s *Session) removeUntil(w *untilWait) {
	for i, x := range s.untils {
		if x == w {
			s.untils = slices.Delete(s.untils, i, i+1)
			return
		}
	}
}

// feed matches one read of stream st; after the first match the waiter ignores further output.
func (w *untilWait) feed(st output.Stream, p []byte) {
	if w.matched {
		return
	}
	w.m[streamSlot(st)].Feed(p, func(line []byte) {
		if !w.matched {
			w.matched = true
			w.line = string(line)
			close(w.hit)
		}
	})
}
