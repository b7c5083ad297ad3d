// Package sessions owns every process execmcp starts: spawning, supervision (readers, reaping, the bounded
// drain after exit), termination of process groups, the registry of running sessions and finished records,
// ids, retention caps, the TTL sweeper, the process-group ledger, the session cgroups (cgroup.go) and both ends of
// the guardian process that outlives the server (guardian.go). It reports what happened as typed data
// (Info with its Failure, PTYFallback, the Err* values, WriteError, SignalError) and builds no text the agent
// sees: package tools words every result.
//
// Concurrency contract: a Registry is safe for concurrent use. Map membership changes under the registry
// lock, per-session state under the session lock, and the lock order is registry, then session. No lock is
// held while doing I/O, signalling or waiting; the exceptions are the ingest semaphore, which a reader holds
// across one non-blocking read and the recording of its chunk (never across a blocking wait), and the guardian's
// lock, held across one non-blocking write of a record to keep the records in order. The registry
// owns every goroutine it starts (readers, the waiter of each session, timeout and escalation timers, the
// sweeper, the cgroup watcher); Close terminates every process group and waits for all of them.
package sessions

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/execmcp/execmcp/output"
)

// Options configure a Registry. The zero value of each field selects the documented default.
type Options struct {
	// MaxOutputChars caps the aggregated output per session; 0 means 100000.
	MaxOutputChars int
	// PendingMaxChars caps pending output per stream; 0 means 30000. It is never above MaxOutputChars.
	PendingMaxChars int
	// KillGrace is the time between SIGTERM and SIGKILL; 0 means SIGKILL at once (no SIGTERM).
	KillGrace time.Duration
	// DrainGrace bounds the wait for output readers after the leader exited; 0 means 2000 ms.
	DrainGrace time.Duration
	// TTL is how long finished records are kept after they ended; 0 means 30 min.
	TTL time.Duration
	// SweepInterval is the sweeper period; 0 means max(30 s, TTL/6).
	SweepInterval time.Duration
	// MaxFinished and MaxFinishedChars cap finished records per scope; 0 means 50 and 2000000.
	MaxFinished, MaxFinishedChars int
	// Now is the clock for timestamps and TTL decisions; nil means time.Now.
	Now func() time.Time
	// Rand feeds id generation; nil means crypto/rand.
	Rand io.Reader
	// Logger receives session lifecycle logs; nil discards them.
	Logger *slog.Logger
	// OnExit is called once for every backgrounded, not removed session when it is finalized, outside all
	// locks, never during or after Close. It must not block. Nil means no callback.
	OnExit func(Info)
	// OnOutput is called after output was appended to a backgrounded session, outside all locks, from the
	// session's reader goroutine (so at most once per read). It must not block. Nil means no callback.
	OnOutput func(scope, id string)
	// OnWatch is called with each output-watcher announcement (docs/reference.md#watch-events), outside all
	// locks, in order per session, and for a session always before OnExit. It must not block. Nil means none.
	OnWatch func(Announcement)
	// IngestWorkers is how many session readers may decode and record output at the same time; 0 means
	// GOMAXPROCS-1, at least 1. See Registry.ingest.
	IngestWorkers int
	// ReaderIdle is how long a pipe reader waits in poll(2), holding an OS thread, without any output before it
	// moves to the runtime poller, which holds none; 0 means 1 s. See readySet.
	ReaderIdle time.Duration
	// PollingReaders is how many pipe readers (and waiters watching a new process) may wait in poll(2) at once;
	// the others wait in the runtime poller. It bounds the OS threads they create (Go never ends them). 0 means
	// 64.
	PollingReaders int
	// Log configures spill files (docs/reference.md#spill); the zero value turns them off.
	Log LogOptions
	// Guardian is told about every process group the registry starts and every one that is gone, and gets the
	// goodbye when Close completed (docs/reference.md#guardian). The registry closes it. Nil means no guardian.
	Guardian *Guardian
	// Cgroups places each session's leader in a cgroup of its own, killed with the session's group
	// (docs/reference.md#cgroups). The registry closes it. Nil means no cgroups.
	Cgroups *Cgroups
}

// Registry holds the sessions of every scope.
type Registry struct {
	opts   Options
	logger *slog.Logger

	mu         sync.Mutex
	running    map[string]*Session // includes removed sessions until they finalize
	finished   map[string]*Session
	ledger     map[int]*ledgerEntry // pgid -> the group, until it is empty
	reserved   map[string]bool      // ids of sessions being spawned
	cgWatch    *cgroupWatch         // watches the cgroups of finished sessions until they empty; nil until needed
	cgWatched  chan struct{}        // closed when cgWatch's goroutine returned
	escalating map[int]*time.Timer  // pgid -> pending TERM->KILL escalation
	closing    bool
	sweeping   bool
	// grown counts running sessions with an enlarged stdout pipe: pipe memory counts against a per-user limit
	// (fs.pipe-user-pages-soft) past which every new pipe of the user shrinks, so only a few are enlarged.
	grown int

	// ingest is a semaphore held by a reader while it reads and records one chunk. A flooding command never
	// lets its reader block, so without it a handful of floods keep every P of the runtime busy and an MCP
	// request waits behind them in the run queue (10 x yes on 2 cores: ping 43 ms, process list 131 ms median).
	// Leaving one P to everything else keeps control calls responsive; the floods meanwhile block on full pipes,
	// which also leaves the CPU to the server instead of to writers whose output is mostly dropped.
	ingest chan struct{}
	// floodBufs holds the flood read buffers not in use (see pipeSource.run): they are used only while holding
	// ingest, so there are never more than its capacity, allocated on first use and then reused.
	floodBufs chan []byte
	// pollSlots holds a token for each pipe reader or waiter that waits in poll(2) (Options.PollingReaders;
	// readySet, awaitExit).
	pollSlots chan struct{}

	// stats are the counters Stats reads (sessions/stats.go).
	stats counters

	wg   sync.WaitGroup
	quit chan struct{}

	// logTotal is the size of every spill file of the registry together (LogOptions.TotalMaxBytes).
	logTotal atomic.Int64
	// logMade is the server's log directory once created (logDir); guarded by logMu.
	logMu   sync.Mutex
	logMade string

	// noTerminal starts PTY sessions without a terminal emulator (the baseline of BenchmarkPTYFlood).
	noTerminal bool
}

// New returns an empty registry. No goroutine runs until the first session starts.
func New(opts Options) *Registry {
	if opts.MaxOutputChars <= 0 {
		opts.MaxOutputChars = output.DefaultMaxChars
	}
	if opts.PendingMaxChars <= 0 {
		opts.PendingMaxChars = output.DefaultPendingChars
	}
	if opts.PendingMaxChars > opts.MaxOutputChars {
		opts.PendingMaxChars = opts.MaxOutputChars
	}
	if opts.KillGrace < 0 {
		opts.KillGrace = 0
	}
	if opts.DrainGrace <= 0 {
		opts.DrainGrace = 2000 * time.Millisecond
	}
	if opts.TTL <= 0 {
		opts.TTL = 30 * time.Minute
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = max(30*time.Second, opts.TTL/6)
	}
	if opts.MaxFinished <= 0 {
		opts.MaxFinished = 50
	}
	if opts.MaxFinishedChars <= 0 {
		opts.MaxFinishedChars = 2000000
	}
	if opts.IngestWorkers <= 0 {
		opts.IngestWorkers = max(1, runtime.GOMAXPROCS(0)-1)
	}
	if opts.ReaderIdle <= 0 {
		opts.ReaderIdle = time.Second
	}
	if opts.PollingReaders <= 0 {
		opts.PollingReaders = 64
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Registry{
		opts:       opts,
		logger:     logger,
		running:    map[string]*Session{},
		finished:   map[string]*Session{},
		ledger:     map[int]*ledgerEntry{},
		reserved:   map[string]bool{},
		escalating: map[int]*time.Timer{},
		ingest:     make(chan struct{}, opts.IngestWorkers),
		floodBufs:  make(chan []byte, opts.IngestWorkers),
		pollSlots:  make(chan struct{}, opts.PollingReaders),
		quit:       make(chan struct{}),
	}
}

// ledgerEntry is a process group the registry started: its scope and the session's cgroup (nil = none).
type ledgerEntry struct {
	scope string
	cg    *cgroup
}

// ErrClosed is returned by Start after Close began.
var ErrClosed = errors.New("server is shutting down")

// Start spawns spec's command and registers it as a running foreground session. When spec.PTY is set and the
// PTY spawn fails, the command is started with pipes and the returned PTYFallback says why (it is returned even
// when the second attempt fails too). An error means nothing was started and nothing is registered.
func (r *Registry) Start(spec Spec) (*Session, *PTYFallback, error) {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return nil, nil, ErrClosed
	}
	grow := r.grown < maxGrownPipes
	// The id comes first: it names the session's cgroup, which must exist before the leader does.
	id := r.newID()
	r.reserved[id] = true
	r.mu.Unlock()
	var fallback *PTYFallback
	p, cg, err := r.spawn(id, spec, spec.PTY, grow)
	if err != nil && spec.PTY {
		fallback = &PTYFallback{Err: err}
		p, cg, err = r.spawn(id, spec, false, grow)
	}
	if err != nil {
		r.mu.Lock()
		delete(r.reserved, id)
		r.mu.Unlock()
		return nil, fallback, err
	}
	s := newSession(r, spec, p)
	if r.opts.Guardian != nil {
		// Recorded before anything else, to keep short the time in which the group runs unknown to the guardian.
		start, _ := procStartTime(s.pid)
		r.opts.Guardian.recordStart(s.pid, start, cg)
	}

	r.mu.Lock()
	s.id = id
	delete(r.reserved, id)
	r.running[s.id] = s
	// A pid is not reused while a process has it as its group id: an entry still under this pgid is a group
	// whose last members were reaped after its last probe.
	stale := r.ledger[s.pid]
	r.ledger[s.pid] = &ledgerEntry{scope: spec.Scope, cg: cg}
	if p.grown {
		r.grown++
	}
	r.ensureSweeper()
	closing := r.closing
	watch := r.cgWatch
	r.wg.Add(2)
	r.mu.Unlock()
	if stale != nil && stale.cg != nil {
		// Its guardian record was replaced by this session's; its cgroup is empty. The new session's own cgroup
		// is watched only once it finished, which it cannot have before supervise.
		if watch != nil {
			watch.forget(s.pid)
		}
		if err := stale.cg.remove(); err != nil {
			r.logger.Debug("session cgroup not removed", "dir", stale.cg.dir, "err", err)
		}
	}

	s.supervise()
	r.logger.Debug("session started", "id", s.id, "scope", spec.Scope, "pid", s.pid, "pty", p.pty)
	r.logger.Debug("session command", "id", s.id, "command", output.TruncateMiddle(spec.Command, 200))
	if closing {
		// Close began between the check above and registration: this session must not outlive it.
		r.terminate(s, ReasonShutdown)
	}
	return s, fallback, nil
}

// readerOpts is what a pipe reader's readySet needs from the registry.
type readerOpts struct {
	idle  time.Duration
	slots chan struct{} // a token per reader allowed to wait in poll(2)
}

func (r *Registry) readerOpts() readerOpts {
	return readerOpts{idle: r.opts.ReaderIdle, slots: r.pollSlots}
}

// maxGrownPipes bounds the sessions whose stdout pipe is enlarged (16 MiB of pipe buffers at most).
const maxGrownPipes = 16

// spawn starts the session id's leader, inside a new cgroup of its own when cgroups are on. A spawn that fails
// inside the cgroup but works outside it means the system does not let the server place processes in its groups
// (no clone3, a seccomp filter, delegation): cgroups are turned off for good, with one info line.
func (r *Registry) spawn(id string, spec Spec, pty, grow bool) (*proc, *cgroup, error) {
	cg, fd, err := r.opts.Cgroups.create(id)
	if err != nil && r.opts.Cgroups.warned.CompareAndSwap(false, true) {
		r.logger.Warn("session cgroup not created; the session runs without one", "err", err)
	}
	p, err := spawnRetry(spec, pty, grow, r.readerOpts(), fd)
	if fd >= 0 {
		_ = unix.Close(fd)
	}
	if err != nil && cg != nil {
		_ = cg.remove()
		cg = nil
		inside := err
		p, err = spawnRetry(spec, pty, grow, r.readerOpts(), -1)
		if err == nil && r.opts.Cgroups.off.CompareAndSwap(false, true) {
			r.logger.Info(CgroupsUnavailable, "reason", "placing a process in a cgroup failed: "+inside.Error())
		}
	}
	return p, cg, err
}

// spawnRetry retries a spawn that failed with EAGAIN once after 100 ms (process table or memory pressure).
func spawnRetry(spec Spec, pty, grow bool, ro readerOpts, cgfd int) (*proc, error) {
	p, err := spawn(spec, pty, grow, ro, cgfd)
	if err != nil && errors.Is(err, syscall.EAGAIN) {
		time.Sleep(100 * time.Millisecond)
		p, err = spawn(spec, pty, grow, ro, cgfd)
	}
	return p, err
}

// lookup finds a visible session of scope: running (not removed) or finished.
func (r *Registry) lookup(scope, id string) (*Session, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.running[id]; ok && s.scope == scope && !s.removedFlag() {
		return s, false
	}
	if s, ok := r.finished[id]; ok && s.scope == scope {
		return s, true
	}
	return nil, false
}

// List returns the scope's backgrounded running sessions and finished records, newest first (ties by id).
func (r *Registry) List(scope string) []Info {
	r.mu.Lock()
	var ss []*Session
	for _, s := range r.running {
		if s.scope == scope {
			ss = append(ss, s)
		}
	}
	for _, s := range r.finished {
		if s.scope == scope {
			ss = append(ss, s)
		}
	}
	r.mu.Unlock()
	infos := make([]Info, 0, len(ss))
	for _, s := range ss {
		s.mu.Lock()
		visible := s.backgrounded && !s.removed
		s.mu.Unlock()
		if visible {
			infos = append(infos, s.info(false))
		}
	}
	sort.Slice(infos, func(i, j int) bool {
		if !infos[i].StartedAt.Equal(infos[j].StartedAt) {
			return infos[i].StartedAt.After(infos[j].StartedAt)
		}
		return infos[i].ID < infos[j].ID
	})
	return infos
}

var retrySchedule = [...]time.Duration{5 * time.Second, 10 * time.Second, 30 * time.Second, 60 * time.Second}

// Poll drains the session's pending output, first waiting up to wait for the session to finish or, when until is
// not nil, for a line of output matching it (docs/reference.md#poll-wait). New output alone does not end the wait.
func (r *Registry) Poll(ctx context.Context, scope, id string, wait time.Duration, until *regexp.Regexp) (PollResult, error) {
	s, _ := r.lookup(scope, id)
	if s == nil {
		return PollResult{}, ErrNotFound
	}
	s.mu.Lock()
	if !s.backgrounded {
		s.mu.Unlock()
		return PollResult{}, ErrNotBackgrounded
	}
	var w *untilWait
	if until != nil {
		w = s.addUntil(until)
	}
	running := s.state != stateFinished
	s.mu.Unlock()

	if wait > 0 && running {
		var hit <-chan struct{}
		if w != nil {
			hit = w.hit
		}
		s.waitDone(ctx, wait, hit)
	}

	s.mu.Lock()
	if w != nil {
		s.removeUntil(w)
	}
	d := s.buf.Drain()
	res := PollResult{Output: d.Text, Chunks: d.Chunks, Omitted: d.Omitted, Discarded: d.Discarded}
	if w != nil {
		res.Until = true
		res.Matched, res.Match = w.matched, w.line
	}
	if s.state == stateFinished {
		res.Finished = true
		s.retry = 0
	} else if d.Chunks > 0 {
		s.retry = 0
		res.RetryIn = retrySchedule[0]
	} else {
		res.RetryIn = retrySchedule[min(s.retry, len(retrySchedule)-1)]
		s.retry++
	}
	s.mu.Unlock()
	res.Info = s.info(true)
	return res, nil
}

// waitDone blocks until finalization, a match (hit closed; nil never is), the wait limit or the end of ctx,
// whichever comes first. It does not wake on output, so a waiting poll costs the ingest path nothing.
func (s *Session) waitDone(ctx context.Context, wait time.Duration, hit <-chan struct{}) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	select {
	case <-hit:
	case <-s.done:
	case <-deadline.C:
	case <-ctx.Done():
	}
}

// Log returns the session's info with its retained aggregated output. It never drains pending output.
func (r *Registry) Log(scope, id string) (Info, error) {
	s, _ := r.lookup(scope, id)
	if s == nil {
		return Info{}, ErrNotFound
	}
	if !s.isBackgrounded() {
		return Info{}, ErrNotBackgrounded
	}
	return s.info(true), nil
}

// Kill signals the session's process group. TERM terminates with escalation, KILL kills at once, other
// signals are sent once. Any kill marks the session so that its exit is not announced.
func (r *Registry) Kill(scope, id string, sig syscall.Signal) (Info, error) {
	s, finished := r.lookup(scope, id)
	if s == nil || finished {
		return Info{}, ErrNotFound
	}
	s.mu.Lock()
	if !s.backgrounded {
		s.mu.Unlock()
		return Info{}, ErrNotBackgrounded
	}
	s.killRequested = true
	s.retry = 0
	s.mu.Unlock()
	var err error
	switch sig {
	case syscall.SIGTERM:
		err = r.terminate(s, ReasonCancel)
	case syscall.SIGKILL:
		s.recordReason(ReasonCancel)
		err = r.killGroup(s.pid)
	default:
		err = signalGroup(s.pid, sig)
	}
	if err != nil {
		return Info{}, &SignalError{Terminate: sig == syscall.SIGTERM || sig == syscall.SIGKILL, Err: err}
	}
	return s.info(false), nil
}

// Clear deletes a finished record. Anything else is ErrNotFound.
func (r *Registry) Clear(scope, id string) (Info, error) {
	r.mu.Lock()
	s, ok := r.finished[id]
	if !ok || s.scope != scope {
		r.mu.Unlock()
		return Info{}, ErrNotFound
	}
	delete(r.finished, id)
	r.mu.Unlock()
	s.dropLog()
	return s.info(false), nil
}

// Remove deletes a finished record, or marks a backgrounded running session removed and terminates it; the
// bool reports the latter.
func (r *Registry) Remove(scope, id string) (Info, bool, error) {
	r.mu.Lock()
	if s, ok := r.finished[id]; ok && s.scope == scope {
		delete(r.finished, id)
		r.mu.Unlock()
		s.dropLog()
		return s.info(false), false, nil
	}
	s, ok := r.running[id]
	if !ok || s.scope != scope {
		r.mu.Unlock()
		return Info{}, false, ErrNotFound
	}
	s.mu.Lock()
	if s.removed {
		s.mu.Unlock()
		r.mu.Unlock()
		return Info{}, false, ErrNotFound
	}
	if !s.backgrounded {
		s.mu.Unlock()
		r.mu.Unlock()
		return Info{}, false, ErrNotBackgrounded
	}
	s.removed = true
	s.retry = 0
	s.mu.Unlock()
	r.mu.Unlock()
	info := s.info(false)
	_ = r.terminate(s, ReasonCancel)
	return info, true, nil
}

// terminate records reason and stops the session's process group (docs/reference.md#exec-kill).
func (r *Registry) terminate(s *Session, reason Reason) error {
	s.recordReason(reason)
	return r.terminateGroup(s.pid)
}

// terminateGroup sends SIGTERM to the group and arms one SIGKILL escalation for it, or SIGKILL at once when
// the grace is zero. ESRCH counts as success. The escalation also kills the group's cgroup, which reaches the
// descendants that left the group and did not get the SIGTERM.
func (r *Registry) terminateGroup(pgid int) error {
	if r.opts.KillGrace == 0 {
		return r.killGroup(pgid)
	}
	if err := signalGroup(pgid, syscall.SIGTERM); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, pending := r.escalating[pgid]; pending || r.quitClosed() {
		return nil
	}
	r.wg.Add(1)
	r.escalating[pgid] = time.AfterFunc(r.opts.KillGrace, func() {
		defer r.wg.Done()
		if r.groupLive(pgid) {
			_ = r.killGroup(pgid)
		}
		r.mu.Lock()
		delete(r.escalating, pgid)
		r.mu.Unlock()
	})
	return nil
}

func (r *Registry) quitClosed() bool {
	select {
	case <-r.quit:
		return true
	default:
		return false
	}
}

// KillAll sends SIGKILL to every group the registry knows, at once (a second shutdown signal).
func (r *Registry) KillAll() {
	r.mu.Lock()
	pgids := make([]int, 0, len(r.ledger))
	for pgid := range r.ledger {
		pgids = append(pgids, pgid)
	}
	for _, s := range r.running {
		s.recordReason(ReasonShutdown)
	}
	r.mu.Unlock()
	for _, pgid := range pgids {
		_ = r.killGroup(pgid)
	}
}

// killGroup sends SIGKILL to the process group and kills its cgroup, if it has one. ESRCH counts as success.
func (r *Registry) killGroup(pgid int) error {
	err := signalGroup(pgid, syscall.SIGKILL)
	if cg := r.cgroupOf(pgid); cg != nil {
		if cerr := cg.kill(); err == nil {
			err = cerr
		}
	}
	return err
}

// cgroupOf returns the cgroup of a ledger group, nil when it has none.
func (r *Registry) cgroupOf(pgid int) *cgroup {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.ledger[pgid]; e != nil {
		return e.cg
	}
	return nil
}

// groupLive reports whether the group has members, or its cgroup processes.
func (r *Registry) groupLive(pgid int) bool {
	if groupAlive(pgid) {
		return true
	}
	cg := r.cgroupOf(pgid)
	return cg != nil && cg.populated()
}

// Close shuts the registry down (docs/reference.md#shutdown): no more exit callbacks, every running session is
// terminated with reason shutdown, every other group in the ledger gets SIGTERM, groups still alive after the
// kill grace get SIGKILL, and Close waits for every session and goroutine, at most KillGrace + 3 s (or ctx).
// Groups that could not be confirmed dead are logged.
func (r *Registry) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return nil
	}
	r.closing = true
	running := make([]*Session, 0, len(r.running))
	for _, s := range r.running {
		running = append(running, s)
	}
	r.mu.Unlock()

	r.probeLedger()
	sessionGroups := map[int]bool{}
	for _, s := range running {
		sessionGroups[s.pid] = true
		s.recordReason(ReasonShutdown)
	}
	for _, pgid := range r.ledgerGroups() {
		if r.opts.KillGrace == 0 {
			_ = r.killGroup(pgid)
		} else {
			_ = signalGroup(pgid, syscall.SIGTERM)
		}
	}

	limit := r.opts.KillGrace + 3*time.Second
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	grace := time.NewTimer(r.opts.KillGrace)
	defer grace.Stop()
	allDone := make(chan struct{})
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for _, s := range running {
			select {
			case <-s.done:
			case <-r.quit:
				return
			}
		}
		close(allDone)
	}()

	killed := false
	timedOut := false
wait:
	for {
		select {
		case <-allDone:
			if killed || r.opts.KillGrace == 0 {
				break wait
			}
			// Every leader is gone; members that ignored SIGTERM still get SIGKILL after the grace.
			if len(r.aliveGroups()) == 0 {
				break wait
			}
			allDone = nil
		case <-grace.C:
			killed = true
			for _, pgid := range r.aliveGroups() {
				_ = r.killGroup(pgid)
			}
			if allDone == nil {
				break wait
			}
		case <-deadline.C:
			timedOut = true
			break wait
		case <-ctx.Done():
			timedOut = true
			break wait
		}
	}
	if !killed {
		for _, pgid := range r.aliveGroups() {
			_ = r.killGroup(pgid)
		}
	}

	r.mu.Lock()
	close(r.quit)
	for pgid, t := range r.escalating {
		if t.Stop() {
			r.wg.Done()
		}
		delete(r.escalating, pgid)
	}
	watch, watched := r.cgWatch, r.cgWatched
	r.mu.Unlock()
	if watch != nil {
		// Its goroutine may be dropping a group: that must be over before the groups left are counted.
		watch.close()
		<-watched
	}

	// Killed cgroups empty a moment after the kill; their directories are removed once they have.
	r.drainCgroups(time.Now().Add(time.Second))
	alive := r.aliveGroups()
	if len(alive) > 0 {
		r.logger.Warn("process groups could not be confirmed dead", "pgids", alive)
	}
	// The spill files go with the server (docs/reference.md#spill), even when a session could not be waited for.
	defer r.removeLogDir()
	var err error
	if timedOut {
		err = errors.New("sessions: shutdown did not complete in time")
	} else {
		waited := make(chan struct{})
		go func() { r.wg.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	// Last, once no waiter drops a group any more: the server's cgroup, then the goodbye, only when nothing is
	// left (otherwise the guardian makes one more attempt).
	if r.opts.Cgroups != nil {
		if cerr := r.opts.Cgroups.Close(); cerr != nil {
			r.logger.Debug("cgroup not removed", "err", cerr)
		}
	}
	r.opts.Guardian.closeIfAny(len(alive) == 0 && !timedOut)
	return err
}

// drainCgroups waits until deadline for the cgroups left in the ledger to empty, then drops the empty groups.
func (r *Registry) drainCgroups(deadline time.Time) {
	r.mu.Lock()
	var dirs []string
	for _, e := range r.ledger {
		if e.cg != nil {
			dirs = append(dirs, e.cg.dir)
		}
	}
	r.mu.Unlock()
	if len(dirs) > 0 {
		waitEmpty(dirs, deadline)
	}
	r.probeLedger()
}

// Orphan cleans up a scope whose client went away for good (docs/reference.md#disconnect): every running
// session of the scope (foreground ones included) is terminated with reason orphaned and will not be retained,
// the scope's other ledger groups get the same escalation, and its finished records are deleted. Nothing is
// announced. It returns the number of running sessions terminated.
func (r *Registry) Orphan(scope string) int {
	r.mu.Lock()
	var victims []*Session
	sessionGroups := map[int]bool{}
	for _, s := range r.running {
		if s.scope == scope {
			victims = append(victims, s)
			sessionGroups[s.pid] = true
		}
	}
	var gone []*Session
	for id, s := range r.finished {
		if s.scope == scope {
			delete(r.finished, id)
			gone = append(gone, s)
		}
	}
	var groups []int
	for pgid, e := range r.ledger {
		if e.scope == scope && !sessionGroups[pgid] {
			groups = append(groups, pgid)
		}
	}
	r.mu.Unlock()
	dropLogs(gone)
	for _, s := range victims {
		s.mu.Lock()
		s.removed = true
		s.mu.Unlock()
		_ = r.terminate(s, ReasonOrphaned)
	}
	for _, pgid := range groups {
		_ = r.terminateGroup(pgid)
	}
	return len(victims)
}

// ledgerGroups returns the process groups in the ledger.
func (r *Registry) ledgerGroups() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	pgids := make([]int, 0, len(r.ledger))
	for pgid := range r.ledger {
		pgids = append(pgids, pgid)
	}
	return pgids
}

// aliveGroups probes the ledger and returns the groups that still have members that are not zombies, or whose
// cgroup still has processes.
func (r *Registry) aliveGroups() []int {
	r.probeLedger()
	pgids := r.ledgerGroups()
	live := liveGroups(pgids)
	seen := make(map[int]bool, len(live))
	for _, g := range live {
		seen[g] = true
	}
	for _, g := range pgids {
		if cg := r.cgroupOf(g); !seen[g] && cg != nil && cg.populated() {
			live = append(live, g)
		}
	}
	return live
}

// probeLedger drops groups that have no members any more. A group whose leader is still a running session is
// kept: its pgid is the leader's pid, which cannot be reused before the waiter reaps it.
func (r *Registry) probeLedger() {
	for _, pgid := range r.ledgerGroups() {
		r.probeGroup(pgid)
	}
}

// probeGroup drops the ledger group pgid when it has no member left: its cgroup is removed and the guardian told.
// A group with a cgroup lives as long as the cgroup has processes (they include every member that stayed in the
// group and those that left it) and is watched meanwhile; once the cgroup is empty it is removed at once. A group
// that still has members outside it, or only zombies not reaped yet (a leader before its waiter reaps it, orphans
// before init does), keeps its ledger entry until a later probe: finalize's or the sweeper's. Telling zombies
// from live members would walk every process of the machine, for each session that ends (1000 kills took 8 s);
// aliveGroups does that once for all groups when it matters, at shutdown and for orphans.
func (r *Registry) probeGroup(pgid int) {
	r.mu.Lock()
	e := r.ledger[pgid]
	var cg *cgroup
	if e != nil {
		cg = e.cg
	}
	r.mu.Unlock()
	switch {
	case e == nil:
		return
	case cg != nil && cg.populated():
		r.watchCgroup(cg, pgid)
		return
	}
	r.mu.Lock()
	if r.ledger[pgid] != e { // a new group took the pgid meanwhile
		r.mu.Unlock()
		return
	}
	e.cg = nil
	alive := groupAlive(pgid)
	if !alive {
		delete(r.ledger, pgid)
	}
	watch := r.cgWatch
	r.mu.Unlock()
	if cg != nil {
		if watch != nil {
			watch.forget(pgid)
		}
		if err := cg.remove(); err != nil {
			r.logger.Debug("session cgroup not removed", "dir", cg.dir, "err", err)
		}
	}
	if !alive {
		r.opts.Guardian.recordGone(pgid)
	}
}

// watchCgroup makes the cgroup watcher probe pgid whenever its cgroup's population changes; the watcher starts
// with the first cgroup that outlives its session, and stops at Close.
func (r *Registry) watchCgroup(cg *cgroup, pgid int) {
	r.mu.Lock()
	if r.quitClosed() {
		r.mu.Unlock()
		return
	}
	if r.cgWatch == nil {
		w, err := newCgroupWatch()
		if err != nil {
			r.mu.Unlock()
			return
		}
		r.cgWatch, r.cgWatched = w, make(chan struct{})
		r.wg.Add(1)
		go func(done chan struct{}) {
			defer r.wg.Done()
			defer close(done)
			w.run(r.probeGroup)
		}(r.cgWatched)
	}
	w := r.cgWatch
	r.mu.Unlock()
	if err := w.add(cg, pgid); err == nil && !cg.populated() {
		r.probeGroup(pgid) // it emptied before the watch existed
	}
}

// finalize moves a session whose leader exited and whose output drained out of the running map: retained when
// it was backgrounded and not removed, dropped otherwise (docs/reference.md#sessions-lifecycle).
func (r *Registry) finalize(s *Session) {
	r.mu.Lock()
	delete(r.running, s.id)
	if s.grown {
		r.grown--
	}
	s.mu.Lock()
	s.state = stateFinished
	keep := s.backgrounded && !s.removed
	closing := r.closing
	s.mu.Unlock()
	var evicted []*Session
	if keep {
		r.finished[s.id] = s
		evicted = r.evict(s.scope)
	} else {
		evicted = []*Session{s} // a record that is not kept takes its spill file along
	}
	r.mu.Unlock()
	dropLogs(evicted)
	info := s.info(false)
	r.stats.recordFinished(info)
	code := any(nil)
	if info.ExitCode != nil {
		code = *info.ExitCode
	}
	r.logger.Debug("session finished", "id", s.id, "scope", s.scope, "pid", s.pid, "status", info.Status,
		"exitCode", code, "exitSignal", info.ExitSignal, "exitReason", info.ExitReason)
	// The exit event exists before any waiter wakes, so a poll woken by finalization can acknowledge it.
	if keep && !closing && r.opts.OnExit != nil {
		r.opts.OnExit(info)
	}
	s.finish()
	// After the waiters woke: the cgroup's removal and the guardian's record are not on the path of a call that
	// waits for the session.
	r.probeGroup(s.pid)
}

// evict enforces the per-scope caps on finished records and returns the records it deleted. Caller holds r.mu.
func (r *Registry) evict(scope string) []*Session {
	var recs []*Session
	chars := 0
	for _, s := range r.finished {
		if s.scope == scope {
			recs = append(recs, s)
			chars += s.retainedChars()
		}
	}
	if len(recs) <= r.opts.MaxFinished && chars <= r.opts.MaxFinishedChars {
		return nil
	}
	sort.Slice(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		if !a.endedAt.Equal(b.endedAt) {
			return a.endedAt.Before(b.endedAt)
		}
		if !a.startedAt.Equal(b.startedAt) {
			return a.startedAt.Before(b.startedAt)
		}
		return a.id < b.id
	})
	var evicted []*Session
	for _, s := range recs {
		if len(recs) <= r.opts.MaxFinished && chars <= r.opts.MaxFinishedChars {
			break
		}
		delete(r.finished, s.id)
		recs = recs[1:]
		chars -= s.retainedChars()
		evicted = append(evicted, s)
		r.logger.Debug("finished record evicted", "id", s.id, "scope", scope)
	}
	return evicted
}

// ensureSweeper starts the sweeper if it is not running. Caller holds r.mu.
func (r *Registry) ensureSweeper() {
	if r.sweeping || r.closing {
		return
	}
	r.sweeping = true
	r.wg.Add(1)
	go r.sweep()
}

// sweep runs the TTL sweeper until a tick finds nothing to watch, or Close.
func (r *Registry) sweep() {
	defer r.wg.Done()
	t := time.NewTicker(r.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if !r.sweepOnce() {
				return
			}
		case <-r.quit:
			return
		}
	}
}

// sweepOnce deletes expired records and prunes the ledger. It returns false, having marked the sweeper
// stopped, when nothing is left to watch.
func (r *Registry) sweepOnce() bool {
	r.probeLedger()
	now := r.opts.Now()
	var expired []*Session
	defer func() { dropLogs(expired) }() // after the unlock below
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, s := range r.finished {
		if Expired(s.endedAt, now, r.opts.TTL) {
			delete(r.finished, id)
			expired = append(expired, s)
			r.logger.Debug("finished record expired", "id", id, "scope", s.scope)
		}
	}
	if len(r.running) == 0 && len(r.finished) == 0 && len(r.ledger) == 0 {
		r.sweeping = false
		return false
	}
	return true
}

// Expired reports whether a record that ended at endedAt has outlived ttl at now.
func Expired(endedAt, now time.Time, ttl time.Duration) bool {
	return now.Sub(endedAt) > ttl
}
