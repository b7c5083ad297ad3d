package sessions

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/execmcp/execmcp/output"
)

type state int

const (
	stateRunning state = iota
	stateFinalizing
	stateFinished
)

// writeLimit bounds one input write (docs/reference.md#process-input); dsrLimit bounds a cursor-position reply.
const (
	writeLimit = 10 * time.Second
	dsrLimit   = 1000 * time.Millisecond
)

// Session is one spawned command. Its exported methods are safe for concurrent use.
type Session struct {
	r         *Registry
	id        string
	scope     string
	spec      Spec
	pid       int
	pty       bool
	startedAt time.Time
	cmd       *exec.Cmd
	src       source
	grown     bool
	term      *terminal // the emulator of a PTY session; nil without a terminal

	// input is the stdin pipe's write end or the PTY master; writeSem serialises writers in lock order.
	input    *os.File
	writeSem chan struct{}

	readersDone chan struct{}
	done        chan struct{}
	timer       *time.Timer

	// watchDeliver serialises deliveries of announcements (deliverWatch).
	watchDeliver sync.Mutex
	// spillable: the session may be backgrounded and spilling is on (docs/reference.md#spill).
	spillable bool

	mu            sync.Mutex
	state         state
	buf           *output.Buffer
	changed       chan struct{}
	changedTaken  bool // Changed handed out changed since it was last replaced
	backgrounded  bool
	removed       bool
	killRequested bool
	reason        Reason
	writable      bool
	retry         int
	untils        []*untilWait
	watch         *watcher       // the output watcher; nil when none (docs/reference.md#watch)
	watchOut      []Announcement // announcements not delivered yet
	cursor        CursorMode
	spill         *spill // the spill file; nil until the output exceeds the retention cap
	sawOutput     bool
	endedAt       time.Time
	exitCode      *int
	exitSignal    string
	waitErr       error
	outcome       outcome
}

// outcome is the classification of a finished session; status "" means not classified yet.
type outcome struct {
	status, reason string
	failure        Failure
}

func newSession(r *Registry, spec Spec, p *proc) *Session {
	s := &Session{
		r:            r,
		scope:        spec.Scope,
		spec:         spec,
		pid:          p.cmd.Process.Pid,
		pty:          p.pty,
		startedAt:    r.opts.Now(),
		cmd:          p.cmd,
		src:          p.src,
		input:        p.input,
		writeSem:     make(chan struct{}, 1),
		readersDone:  make(chan struct{}),
		done:         make(chan struct{}),
		buf:          output.NewBuffer(r.opts.MaxOutputChars, r.opts.PendingMaxChars),
		changed:      make(chan struct{}),
		writable:     p.input != nil,
		cursor:       CursorNormal,
		backgrounded: spec.Background,
		spillable:    spec.Spill && r.opts.Log.Dir != "",
	}
	if p.pty {
		s.cursor = CursorUnknown
		if !r.noTerminal {
			s.term = newTerminal(spec.termSize())
		}
	}
	if spec.Watch != nil {
		s.watch = newWatcher(spec.Watch)
	}
	return s
}

// supervise starts the reader, the waiter and the timeout. The caller added 2 to r.wg.
func (s *Session) supervise() {
	go func() {
		defer s.r.wg.Done()
		defer close(s.readersDone)
		s.src.run(s)
	}()
	if s.spec.Timeout > 0 {
		s.mu.Lock()
		s.r.wg.Add(1)
		s.timer = time.AfterFunc(s.spec.Timeout, func() {
			defer s.r.wg.Done()
			_ = s.r.terminate(s, ReasonTimeout)
		})
		s.mu.Unlock()
	}
	go func() {
		defer s.r.wg.Done()
		s.wait()
	}()
}

// appendOutput records one read and returns how many cursor-position queries it held (PTY sessions only); the
// caller answers them with replyDSR once it no longer holds the ingest semaphore, since a reply may wait up to
// dsrLimit for the terminal. text is valid UTF-8 of chars chars (what output.Filter returns), only valid during
// the call (a view of the reader's buffers): the Buffer copies what it keeps, so a flood produces no garbage per
// read.
func (s *Session) appendOutput(stream output.Stream, text []byte, chars int, events []output.Event) (dsr int) {
	s.mu.Lock()
	var sp *spill // the spill file to write text to, outside the lock
	if len(text) > 0 {
		for _, w := range s.untils {
			w.feed(stream, text)
		}
		if s.watch != nil {
			s.feedWatch(stream, text)
		}
		dropped := s.buf.DiscardedChars()
		before := s.buf.TotalChars()
		started := false
		if s.spill == nil && s.spillable && !s.removed && before+chars > s.r.opts.MaxOutputChars {
			s.startSpill(text, chars)
			started = true
		}
		s.buf.AppendText(stream, text, chars)
		s.r.stats.recordOutput(s.pty, stream, len(text), s.buf.DiscardedChars()-dropped)
		s.sawOutput = true
		if s.spill != nil {
			s.spill.count(text)
			if !started && !s.removed {
				sp = s.spill
			}
		}
	}
	for _, ev := range events {
		switch ev {
		case output.EventDSR:
			if s.pty {
				dsr++
			}
		case output.EventCursorApplication:
			if s.pty {
				s.cursor = CursorApplication
			}
		case output.EventCursorNormal:
			if s.pty {
				s.cursor = CursorNormal
			}
		}
	}
	if (len(text) > 0 || len(events) > 0) && s.changedTaken {
		// Only a channel someone took needs closing: a flood nobody watches allocates nothing per read.
		close(s.changed)
		s.changed = make(chan struct{})
		s.changedTaken = false
	}
	notify := len(text) > 0 && s.backgrounded && !s.removed && s.r.opts.OnOutput != nil
	announce := len(s.watchOut) > 0
	s.mu.Unlock()
	if sp != nil {
		sp.write(s.r, text, chars)
	}
	if announce {
		s.deliverWatch()
	}
	if notify {
		s.r.opts.OnOutput(s.scope, s.id)
	}
	return dsr
}

// replyDSR writes one cursor-position report, serialised with process input. The 1000 ms bound covers the wait
// for a process write in progress too (it may block for 10 s on a program that does not read), so the reader
// goroutine never stalls longer than that per query; a reply not written in time is dropped
// (docs/reference.md#output-sanitising).
func (s *Session) replyDSR() {
	ctx, cancel := context.WithTimeout(context.Background(), dsrLimit)
	defer cancel()
	_, _ = s.writeInput(ctx, []byte("\x1b[1;1R"), dsrLimit)
}

// wait reaps the leader, drains the readers for at most DrainGrace, releases the descriptors and finalizes.
func (s *Session) wait() {
	awaitExit(s.cmd.Process.Pid, s.r.pollSlots)
	err := s.cmd.Wait()
	now := s.r.opts.Now()
	s.mu.Lock()
	s.endedAt = now
	s.state = stateFinalizing
	if ps := s.cmd.ProcessState; ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
			switch {
			case ws.Signaled():
				s.exitSignal = SignalName(ws.Signal())
			case ws.Exited():
				c := ws.ExitStatus()
				s.exitCode = &c
			}
		}
	} else if err != nil {
		s.waitErr = err
	}
	if s.timer != nil && s.timer.Stop() {
		s.r.wg.Done()
	}
	s.mu.Unlock()

	drain := time.NewTimer(s.r.opts.DrainGrace)
	select {
	case <-s.readersDone:
	case <-drain.C:
	}
	drain.Stop()
	// Stopping the reader ends the wait for a descendant that still holds the pipe or terminal.
	s.src.stop()
	<-s.readersDone
	s.src.close()
	s.closeSpill()

	// Closing the input also wakes a writer blocked on a full pipe; it then reports not writable.
	s.mu.Lock()
	if s.input != nil {
		_ = s.input.Close()
	}
	s.writable = false
	s.retry = 0
	s.outcome = s.classify()
	// Announcements end with the session: what was queued goes out before the exit event.
	s.stopWatchLocked()
	s.mu.Unlock()
	s.deliverWatch()

	s.r.finalize(s)
}

// finish wakes every waiter; called once, after the session left the running map.
func (s *Session) finish() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.cmd = nil
	s.mu.Unlock()
	close(s.done)
}

// classify computes the outcome (docs/reference.md#exec-outcome): the first matching case decides, so a
// recorded timeout wins over how the process ended. Caller holds s.mu.
func (s *Session) classify() outcome {
	switch {
	case s.waitErr != nil:
		return outcome{"failed", "runtime-error", FailureRuntime}
	case s.reason == ReasonTimeout:
		return outcome{"failed", string(ReasonTimeout), FailureTimeout}
	case s.exitSignal != "" && (s.reason == ReasonCancel || s.reason == ReasonShutdown || s.reason == ReasonOrphaned):
		return outcome{"failed", string(s.reason), FailureSignal}
	case s.exitSignal != "":
		return outcome{"failed", "signal", FailureSignal}
	case s.exitCode != nil && *s.exitCode == 127:
		return outcome{"failed", "exit", FailureNotFound}
	case s.exitCode != nil && *s.exitCode == 126:
		return outcome{"failed", "exit", FailureNotExecutable}
	case s.exitCode != nil:
		return outcome{"completed", "exit", FailureNone}
	default:
		return outcome{"failed", "unknown", FailureUnknown}
	}
}

// ID returns the session id.
func (s *Session) ID() string { return s.id }

// Pid returns the leader's pid, which is also its process-group id.
func (s *Session) Pid() int { return s.pid }

// StartedAt returns the spawn time.
func (s *Session) StartedAt() time.Time { return s.startedAt }

// Done is closed when the session is finalized.
func (s *Session) Done() <-chan struct{} { return s.done }

// Changed returns a channel closed at the next append or at finalization; take a fresh one after each wake.
func (s *Session) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changedTaken = true
	return s.changed
}

// Background marks the session backgrounded. It returns false when the session was already finalized, in
// which case the caller's foreground result wins (docs/reference.md#exec-yield).
func (s *Session) Background() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateFinished || s.outcome.status != "" {
		return false
	}
	s.backgrounded = true
	return true
}

// CancelForeground terminates a session that was not backgrounded (reason manual-cancel) and reports
// whether it did; a backgrounded session keeps running.
func (s *Session) CancelForeground() bool {
	s.mu.Lock()
	bg := s.backgrounded
	s.mu.Unlock()
	if bg {
		return false
	}
	_ = s.r.terminate(s, ReasonCancel)
	return true
}

// Info returns a snapshot including the aggregated output.
func (s *Session) Info() Info { return s.info(true) }

func (s *Session) isBackgrounded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.backgrounded
}

func (s *Session) removedFlag() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removed
}

func (s *Session) recordReason(reason Reason) {
	s.mu.Lock()
	if s.reason == ReasonNone {
		s.reason = reason
	}
	s.mu.Unlock()
}

func (s *Session) retainedChars() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.AggregatedChars() + s.buf.PendingChars()
}

// cursorAfter is how long a PTY session may stay in unknown cursor mode once it printed something.
const cursorAfter = 2000 * time.Millisecond

func (s *Session) info(withAggregated bool) Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.infoLocked(withAggregated)
}

// infoLocked is info for a caller that holds s.mu.
func (s *Session) infoLocked(withAggregated bool) Info {
	if s.cursor == CursorUnknown && s.sawOutput && s.r.opts.Now().Sub(s.startedAt) >= cursorAfter {
		s.cursor = CursorNormal
	}
	in := Info{
		ID: s.id, Scope: s.scope, Command: s.spec.Command, Name: s.spec.Name, Title: s.spec.Title, Cwd: s.spec.Dir,
		Pid: s.pid, PTY: s.pty, StartedAt: s.startedAt, EndedAt: s.endedAt,
		Status: "running", Backgrounded: s.backgrounded, Finalizing: s.state == stateFinalizing,
		Timeout: s.spec.Timeout, TimeoutSec: s.spec.TimeoutSec,
		Tail: s.buf.Tail(), Truncated: s.buf.Truncated(), TotalChars: s.buf.TotalChars(),
		DiscardedChars: s.buf.DiscardedChars(), AggregatedChars: s.buf.AggregatedChars(),
		KillRequested: s.killRequested, NotifyOnExit: s.spec.NotifyOnExit,
		NotifyOnExitEmptySuccess: s.spec.NotifyOnExitEmptySuccess, CursorMode: s.cursor,
		Writable: s.writable && s.input != nil, Wrapped: len(s.spec.Wrapper) > 0,
	}
	if s.spill != nil {
		in.Log = s.spill.info()
	}
	if s.state == stateFinished {
		in.Finalizing = false
		in.Status = s.outcome.status
		in.ExitReason = s.outcome.reason
		in.Failure = s.outcome.failure
		in.TimedOut = s.outcome.failure == FailureTimeout
		if s.outcome.failure == FailureRuntime {
			in.WaitErr = s.waitErr
		}
		if s.exitCode != nil {
			c := *s.exitCode
			in.ExitCode = &c
		}
		in.ExitSignal = s.exitSignal
	}
	if withAggregated {
		in.Aggregated = s.buf.Aggregated()
	}
	return in
}

// sem takes the write semaphore, giving up when ctx ends.
func (s *Session) sem(ctx context.Context) bool {
	select {
	case s.writeSem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// Write writes data to the session's input (docs/reference.md#process-input), then handles eof.
func (r *Registry) Write(ctx context.Context, scope, id string, data []byte, eof bool) (WriteResult, error) {
	s, finished := r.lookup(scope, id)
	if s == nil || finished {
		return WriteResult{}, ErrNotFound
	}
	if err := s.checkInput(); err != nil {
		return WriteResult{}, err
	}
	payload := data
	if eof && s.pty {
		// The EOT byte goes in the same write as the data, so that no other input (another call, a DSR reply)
		// lands between them.
		payload = append(data[:len(data):len(data)], 0x04)
	}
	n, err := s.writeInput(ctx, payload, writeLimit)
	if err != nil {
		return WriteResult{}, err
	}
	res := WriteResult{Written: min(n, len(data))}
	if eof {
		if s.pty {
			res.SentEOT = true
		} else {
			s.closeInput()
			res.ClosedStdin = true
		}
	}
	res.Info = s.info(false)
	return res, nil
}

// checkInput checks the input preconditions in their documented order (docs/reference.md#process-input): no
// such session, not backgrounded, finalizing, not writable.
func (s *Session) checkInput() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.state == stateFinished:
		return ErrNotFound
	case !s.backgrounded:
		return ErrNotBackgrounded
	case s.state == stateFinalizing:
		return ErrFinalizing
	case !s.writable:
		return ErrNotWritable
	}
	return nil
}

func (s *Session) closeInput() {
	if !s.sem(context.Background()) {
		return
	}
	defer func() { <-s.writeSem }()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writable && s.input != nil {
		_ = s.input.Close()
		s.input = nil
	}
	s.writable = false
}

// writeInput writes all of p within limit, serialised with other writers. The input descriptor is
// non-blocking, so a deadline bounds a write to a program that does not read.
func (s *Session) writeInput(ctx context.Context, p []byte, limit time.Duration) (int, error) {
	if !s.sem(ctx) {
		return 0, &WriteError{Total: len(p), Cancelled: true}
	}
	defer func() { <-s.writeSem }()
	s.mu.Lock()
	f, ok := s.input, s.writable
	s.mu.Unlock()
	if f == nil || !ok {
		return 0, ErrNotWritable
	}
	if len(p) == 0 {
		return 0, nil
	}
	_ = f.SetWriteDeadline(time.Now().Add(limit))
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = f.SetWriteDeadline(time.Unix(1, 0))
		close(fired)
	})
	n, err := f.Write(p)
	if !stop() {
		<-fired // the cancellation already runs: let it finish before the deadline is cleared
	}
	_ = f.SetWriteDeadline(time.Time{})
	if err == nil {
		return n, nil
	}
	switch {
	case ctx.Err() != nil:
		return n, &WriteError{Written: n, Total: len(p), Cancelled: true}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return n, &WriteError{Written: n, Total: len(p), TimedOut: true}
	case errors.Is(err, syscall.EPIPE), errors.Is(err, os.ErrClosed), errors.Is(err, syscall.EIO):
		s.mu.Lock()
		s.writable = false
		s.mu.Unlock()
		return n, ErrNotWritable
	default:
		return n, &WriteError{Written: n, Total: len(p), Err: err}
	}
}

// signalGroup sends sig to the process group pgid; ESRCH (the group is gone) counts as success.
func signalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 0 {
		return fmt.Errorf("invalid process group %d", pgid)
	}
	err := syscall.Kill(-pgid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// groupAlive reports whether the process group still has members.
func groupAlive(pgid int) bool {
	if pgid <= 0 {
		return false
	}
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
