package tools

import (
	"time"
)

// orphanMemory is how long a cleaned-up session-id scope is remembered, so that a tool call that was already
// in flight when its client went away cannot leave a process behind in the dead scope.
const orphanMemory = 10 * time.Minute

// afterLocked runs f after d on a timer owned by t: Close stops it if it has not fired and waits for it if it
// is running. Caller holds t.mu.
func (t *Tools) afterLocked(d time.Duration, f func()) *time.Timer {
	t.timerWG.Add(1)
	return time.AfterFunc(d, func() {
		defer t.timerWG.Done()
		f()
	})
}

// stopTimerLocked stops a timer made by afterLocked. Caller holds t.mu.
func (t *Tools) stopTimerLocked(tm *time.Timer) {
	if tm != nil && tm.Stop() {
		t.timerWG.Done() // it will never run
	}
}

// stopTimers stops the orphan and log-update timers and waits for those running. Caller set t.closing, so no
// timer is armed any more.
func (t *Tools) stopTimers() {
	t.mu.Lock()
	for scope, tm := range t.orphanTimers {
		t.stopTimerLocked(tm)
		delete(t.orphanTimers, scope)
	}
	for id := range t.logThrottle {
		t.stopLogThrottleLocked(id)
	}
	t.mu.Unlock()
	t.timerWG.Wait()
}

// startOrphanTimerLocked starts the orphan timer of a session-id scope whose MCP session was unregistered
// (docs/reference.md#disconnect): after the orphan grace (zero: at once) its sessions are terminated with reason
// orphaned, its records deleted and its queued events dropped. The timer is never cancelled: the scope cannot come
// back. Nothing starts during shutdown, which terminates everything anyway. Caller holds t.mu.
func (t *Tools) startOrphanTimerLocked(scope string) {
	if t.closing || t.orphanTimers[scope] != nil || t.orphanedLocked(scope) {
		return
	}
	t.orphanTimers[scope] = t.afterLocked(max(t.opts.OrphanGrace, 0), func() { t.orphanScope(scope) })
}

// orphanScope cleans up scope when its orphan timer fires.
func (t *Tools) orphanScope(scope string) {
	t.mu.Lock()
	delete(t.orphanTimers, scope)
	if t.closing {
		t.mu.Unlock()
		return
	}
	// Marked before the registry's cleanup: an exec that starts a session after the cleanup's snapshot sees
	// the mark (checkOrphaned) and cleans up again.
	t.markOrphanedLocked(scope)
	t.mu.Unlock()

	killed := t.orphan(scope)

	t.mu.Lock()
	if st := t.scopes[scope]; st != nil {
		st.events = nil
		t.gcLocked(scope)
	}
	t.mu.Unlock()
	t.log.Info("orphan cleanup", "scope", scope, "killed", killed)
}

// markOrphanedLocked remembers scope as cleaned up and forgets marks older than orphanMemory. Caller holds t.mu.
func (t *Tools) markOrphanedLocked(scope string) {
	now := time.Now()
	for s, at := range t.orphaned {
		if now.Sub(at) > orphanMemory {
			delete(t.orphaned, s)
		}
	}
	t.orphaned[scope] = now
}

// orphanedLocked reports whether scope was cleaned up. Caller holds t.mu.
func (t *Tools) orphanedLocked(scope string) bool {
	_, ok := t.orphaned[scope]
	return ok
}

// checkOrphaned cleans up again when a session was started in a scope that was cleaned up meanwhile (a call
// that was in flight when its client went away).
func (t *Tools) checkOrphaned(scope string) {
	t.mu.Lock()
	dead := t.orphanedLocked(scope) && !t.closing
	t.mu.Unlock()
	if dead {
		if n := t.orphan(scope); n > 0 {
			t.log.Info("orphan cleanup", "scope", scope, "killed", n)
		}
	}
}
