package sessions

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The guardian (docs/reference.md#guardian) is a second process of the server's executable that outlives the
// server: it learns every process group (and cgroup) the server starts and finishes through a pipe, and when the
// pipe ends without the server's goodbye (the server was killed, or crashed) it kills every group that is still the
// one it was told about. The records are lines:
//
//	hello <token>                      first; the guardian checks the token it was given
//	root <dir>                         the server's cgroup (execmcp-<pid>), killed whole
//	start <pgid> <start time> <dir>    a session's group: its leader's start time (field 22 of /proc/<pid>/stat)
//	                                   and its cgroup ("" = none)
//	gone <pgid>                        the group has no member left
//	bye                                the server's orderly shutdown is complete: exit without killing

// GuardianOptions describe the guardian process. The zero value of a field selects what its comment says.
type GuardianOptions struct {
	// Path is the executable; Args its argv, argv[0] included. Path "" means /proc/self/exe.
	Path string
	Args []string
	// Env is the guardian's complete environment; it carries what marks the process as the guardian.
	Env []string
	// Token is sent first on the pipe; the guardian compares it with the one it was given.
	Token string
	// Root is the server's cgroup (Cgroups.Dir), which the guardian kills whole; "" means none.
	Root string
	// Stderr is the guardian's stderr, shared with the server; nil means /dev/null.
	Stderr io.Writer
	// Logger receives the server side's warnings; nil discards them.
	Logger *slog.Logger
}

// Guardian is the server's side of the guardian: records are written to the pipe at once when it has room, else
// queued for a writer goroutine, so that recording never blocks a request. If the guardian cannot be started or goes
// away, one warning is logged and records are dropped from then on. Safe for concurrent use.
type Guardian struct {
	logger *slog.Logger
	cmd    *exec.Cmd
	w      *os.File // the pipe's write end, non-blocking
	wc     syscall.RawConn

	mu       sync.Mutex
	pending  []byte // records not yet written, in order
	flushing bool   // the writer goroutine is writing records taken from pending
	failed   bool   // the guardian is gone or never started: records are dropped
	closed   bool
	started  chan struct{} // closed once the start attempt is over
	wake     chan struct{} // pending has records, or close was called
	done     chan struct{} // the writer goroutine returned
}

// maxPending bounds the records queued for a guardian that does not read (1 MiB, about 30000 records).
const maxPending = 1 << 20

// StartGuardian creates the pipe, queues the hello (and root) records and starts the guardian process on a goroutine
// of its own, so that the server's start does not wait for it. The error is about the pipe; a process that cannot
// be started is logged as a warning and leaves a Guardian that drops every record.
func StartGuardian(o GuardianOptions) (*Guardian, error) {
	if o.Path == "" {
		o.Path = "/proc/self/exe"
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	wc, err := w.SyscallConn()
	if err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, err
	}
	// In /, so that it holds no directory of the server's busy after the server is gone.
	cmd := &exec.Cmd{Path: o.Path, Args: o.Args, Env: o.Env, Dir: "/", Stderr: o.Stderr, ExtraFiles: []*os.File{r}}
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	// Its own session: no terminal signal and no kill of the server's process group reaches it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	g := &Guardian{logger: logger, cmd: cmd, w: w, wc: wc, started: make(chan struct{}),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	// Written before the process exists: the pipe holds them, and records sent meanwhile follow in order.
	g.send("hello " + o.Token)
	if o.Root != "" {
		g.send("root " + o.Root)
	}
	go g.run(r)
	return g, nil
}

// run starts the process, then writes whatever send could not, until close.
func (g *Guardian) run(r *os.File) {
	defer close(g.done)
	err := g.cmd.Start()
	if err != nil {
		// Before the read end closes, so that no record meets a broken pipe first.
		g.fail("guardian not started; running without it", err)
	}
	_ = r.Close()
	close(g.started)
	for {
		<-g.wake
		g.mu.Lock()
		batch := g.pending
		g.pending = nil
		g.flushing = len(batch) > 0
		closed := g.closed
		g.mu.Unlock()
		if len(batch) > 0 {
			// A blocking write through the runtime poller: only this goroutine waits for the guardian to read.
			_, err := g.w.Write(batch)
			g.mu.Lock()
			g.flushing = false
			more := len(g.pending) > 0
			g.mu.Unlock()
			if err != nil {
				g.fail("guardian gone; running without it", err)
			}
			if more {
				g.signal()
				continue
			}
		}
		if closed {
			return
		}
	}
}

// fail logs the first failure and drops records from then on.
func (g *Guardian) fail(msg string, err error) {
	g.mu.Lock()
	first := !g.failed
	g.failed = true
	g.pending = nil
	g.mu.Unlock()
	if first {
		g.logger.Warn(msg, "err", err)
	}
}

func (g *Guardian) signal() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// send writes one record: at once when nothing is queued and the pipe has room (a record is far shorter than
// PIPE_BUF, so the write is all or nothing), else it queues it for the writer goroutine. The write is non-blocking
// and the only I/O done under g.mu, which orders the records.
func (g *Guardian) send(rec string) {
	if warn, err := g.sendLocked([]byte(rec + "\n")); warn != "" {
		g.logger.Warn(warn, "err", err)
	}
}

// sendLocked does send's work under g.mu and returns the warning to log once it is released.
func (g *Guardian) sendLocked(line []byte) (warn string, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failed || g.closed {
		return "", nil
	}
	if len(g.pending) == 0 && !g.flushing {
		var n int
		var werr error
		if err := g.wc.Write(func(fd uintptr) bool {
			n, werr = unix.Write(int(fd), line)
			return true // one attempt: never wait here
		}); err != nil {
			werr = err
		}
		switch {
		case werr == nil && n == len(line):
			return "", nil
		case werr != nil && !errors.Is(werr, unix.EAGAIN):
			g.failed = true
			return "guardian gone; running without it", werr
		case n > 0:
			line = line[n:]
		}
	}
	if len(g.pending)+len(line) > maxPending {
		g.failed = true
		g.pending = nil
		return "guardian does not read its records; running without it", nil
	}
	g.pending = append(g.pending, line...)
	g.signal()
	return "", nil
}

// recordStart records a session's process group: its leader's start time and its cgroup (nil = none); g may be
// nil.
func (g *Guardian) recordStart(pgid int, start uint64, cg *cgroup) {
	if g == nil {
		return
	}
	dir := ""
	if cg != nil {
		dir = cg.dir
	}
	g.send(fmt.Sprintf("start %d %d %s", pgid, start, dir))
}

// recordGone records that a group has no member left; g may be nil.
func (g *Guardian) recordGone(pgid int) {
	if g == nil {
		return
	}
	g.send("gone " + strconv.Itoa(pgid))
}

// guardianExit bounds the wait for the guardian's exit at Close.
const guardianExit = 2 * time.Second

// Close ends the pipe, after the goodbye record when goodbye is set (the server's cleanup is complete), and waits
// for the guardian to exit, at most 2 s. Without the goodbye the guardian kills what is still recorded. Calls after
// the first do nothing.
func (g *Guardian) Close(goodbye bool) {
	if goodbye {
		g.send("bye")
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	g.mu.Unlock()
	// A guardian that does not read cannot hold the shutdown: the writer gives up after a second.
	_ = g.w.SetWriteDeadline(time.Now().Add(time.Second))
	g.signal()
	<-g.done
	_ = g.w.Close()
	<-g.started
	if g.cmd.Process == nil {
		return
	}
	start := time.Now()
	if !exitedWithin(g.cmd.Process.Pid, guardianExit) {
		g.logger.Warn("guardian did not exit", "pid", g.cmd.Process.Pid, "after", guardianExit)
		return
	}
	err := g.cmd.Wait()
	g.logger.Debug("guardian exited", "pid", g.cmd.Process.Pid, "status", g.cmd.ProcessState.ExitCode(),
		"after", time.Since(start).Round(time.Microsecond))
	if err != nil {
		g.logger.Warn("guardian failed", "err", err)
	}
}

// closeIfAny closes g, if there is one.
func (g *Guardian) closeIfAny(goodbye bool) {
	if g != nil {
		g.Close(goodbye)
	}
}

// Pid returns the guardian's pid, 0 before it started or when it could not be started.
func (g *Guardian) Pid() int {
	<-g.started
	if g.cmd.Process == nil {
		return 0
	}
	return g.cmd.Process.Pid
}

// ErrNotGuardian is returned by RunGuardian when the pipe does not start with the expected hello.
var ErrNotGuardian = errors.New("not started as execmcp's guardian")

// guardianKillLimit bounds the cleanup after the server died: the wait for its cgroups to empty before they are
// removed. The kills themselves come first.
const guardianKillLimit = 2 * time.Second

// RunGuardian is the guardian process (docs/reference.md#guardian): it checks the hello record against token
// (waiting at most 2 s for it), then reads records until the pipe ends. After a goodbye it returns 0 without doing
// anything else. Otherwise the server died: it sends SIGKILL to every recorded group that is still the one recorded
// (its leader, or else a live member, started no earlier than the recorded leader; a pid that was reused for
// another process is never killed), kills the server's cgroup and every recorded one, logs what it did, waits at
// most 2 s for the cgroups to empty, removes them and returns 0. It holds no other state and never runs a command.
func RunGuardian(in *os.File, token string, logger *slog.Logger) (int, error) {
	br := bufio.NewReaderSize(in, 4096)
	if !readableWithin(in, 2*time.Second) {
		return 2, ErrNotGuardian
	}
	hello, err := br.ReadString('\n')
	if err != nil || hello != "hello "+token+"\n" || token == "" {
		return 2, ErrNotGuardian
	}
	st := newGuardianState()
	bye := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			break
		}
		bye = st.apply(strings.TrimSuffix(line, "\n")) || bye
	}
	if bye {
		return 0, nil
	}
	t0 := time.Now()
	killed := st.kill(procTable())
	logger.Warn("guardian: the server died; killed its process groups", "groups", killed, "recorded", len(st.groups),
		"cgroups", len(st.cgroups()), "took", time.Since(t0).Round(time.Microsecond))
	st.removeCgroups(time.Now().Add(guardianKillLimit))
	return 0, nil
}

// readableWithin waits at most d for f to have data (or its end) to read.
func readableWithin(f *os.File, d time.Duration) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	ready := false
	_ = rc.Control(func(fd uintptr) {
		for {
			n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(d.Milliseconds()))
			if err != unix.EINTR {
				ready = n > 0
				return
			}
		}
	})
	return ready
}

// guardianRecord is one recorded group.
type guardianRecord struct {
	start uint64
	dir   string
}

// guardianState is what the guardian knows: the recorded groups and the server's cgroup.
type guardianState struct {
	groups map[int]guardianRecord
	root   string
}

func newGuardianState() *guardianState { return &guardianState{groups: map[int]guardianRecord{}} }

// apply applies one record and reports whether it was the goodbye. Malformed records are ignored.
func (s *guardianState) apply(line string) (bye bool) {
	kind, rest, _ := strings.Cut(line, " ")
	switch kind {
	case "bye":
		return true
	case "root":
		s.root = rest
	case "start":
		f := strings.SplitN(rest, " ", 3)
		if len(f) < 2 {
			return false
		}
		pgid, err1 := strconv.Atoi(f[0])
		start, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil || pgid <= 1 {
			return false
		}
		rec := guardianRecord{start: start}
		if len(f) == 3 {
			rec.dir = f[2]
		}
		s.groups[pgid] = rec
	case "gone":
		if pgid, err := strconv.Atoi(rest); err == nil {
			delete(s.groups, pgid)
		}
	}
	return false
}

// matching returns the recorded groups that are still the ones recorded, given a table of every process. A group
// whose leader exists matches when the leader's start time is the recorded one (otherwise the pid was reused: the
// group it led is gone, since a pid is not reused while a group carries it). A group whose leader is gone matches
// when a live member started no earlier than the recorded leader.
func (s *guardianState) matching(procs []procStat) []int {
	byPid := make(map[int]procStat, len(procs))
	members := map[int][]procStat{}
	for _, p := range procs {
		byPid[p.pid] = p
		if _, ok := s.groups[p.pgrp]; ok && !p.zombie {
			members[p.pgrp] = append(members[p.pgrp], p)
		}
	}
	var out []int
	for pgid, rec := range s.groups {
		if leader, ok := byPid[pgid]; ok {
			if leader.start == rec.start {
				out = append(out, pgid)
			}
			continue
		}
		for _, m := range members[pgid] {
			if m.start >= rec.start {
				out = append(out, pgid)
				break
			}
		}
	}
	return out
}

// kill sends SIGKILL to every matching group and kills every cgroup; it returns the number of groups signalled.
func (s *guardianState) kill(procs []procStat) int {
	n := 0
	for _, pgid := range s.matching(procs) {
		if signalGroup(pgid, syscall.SIGKILL) == nil {
			n++
		}
	}
	for _, dir := range s.cgroups() {
		_ = (&cgroup{dir: dir}).kill()
	}
	return n
}

// cgroups returns the server's cgroup and the recorded ones outside it.
func (s *guardianState) cgroups() []string {
	var dirs []string
	if s.root != "" {
		dirs = append(dirs, s.root)
	}
	for _, rec := range s.groups {
		if rec.dir != "" && (s.root == "" || !strings.HasPrefix(rec.dir, s.root+"/")) {
			dirs = append(dirs, rec.dir)
		}
	}
	return dirs
}

// removeCgroups waits until deadline for the killed cgroups to empty and removes them: the session groups in the
// server's cgroup, then the server's cgroup itself.
func (s *guardianState) removeCgroups(deadline time.Time) {
	dirs := s.cgroups()
	if len(dirs) == 0 {
		return
	}
	waitEmpty(dirs, deadline)
	if s.root != "" {
		if ents, err := os.ReadDir(s.root); err == nil {
			for _, e := range ents {
				if e.IsDir() {
					_ = os.Remove(s.root + "/" + e.Name())
				}
			}
		}
	}
	for _, dir := range dirs {
		_ = os.Remove(dir)
	}
}
