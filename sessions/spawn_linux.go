package sessions

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setPdeathsig kills the direct child if the server dies abruptly. It fires when the forking OS thread exits,
// so spawning never happens on a goroutine that locked its thread.
func setPdeathsig(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

// scriptFile holds a long command in an anonymous in-memory file, read by the shell as /dev/fd/3.
func scriptFile(command string) (*os.File, error) {
	fd, err := unix.MemfdCreate("execmcp-command", unix.MFD_CLOEXEC)
	if err != nil {
		return tempScript(command)
	}
	return fillScript(os.NewFile(uintptr(fd), "execmcp-command"), command)
}

// pipeSize is the capacity asked for output pipes. A larger pipe lets a fast writer run ahead while the reader
// processes a chunk, halving the context switches of a flood (the default is 64 KiB).
const pipeSize = 1 << 20

// growPipe enlarges a pipe's buffer and reports whether it did; failure (the per-user pipe limit) keeps the
// default.
func growPipe(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, pipeSize)
	return err == nil
}

// liveGroups returns which of the candidate process groups have a member that is not a zombie. kill(-pgid, 0)
// also succeeds for a group whose members all died but were not reaped yet, which happens for descendants
// reparented to an init that reaps late (seen in containers); waiting for those would only delay shutdown.
func liveGroups(candidates []int) []int {
	if len(candidates) == 0 {
		// Nothing to look for, and the walk reads the stat file of every process on the machine: with 66 processes,
		// a server without sessions took 5.7 ms instead of 1.6 ms from stdin EOF to exit.
		return nil
	}
	want := make(map[int]bool, len(candidates))
	for _, g := range candidates {
		want[g] = true
	}
	dir, err := os.Open("/proc")
	if err != nil {
		return candidates
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return candidates
	}
	live := map[int]bool{}
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if pgrp, err := strconv.Atoi(f[2]); err == nil && want[pgrp] {
			live[pgrp] = true
		}
	}
	out := candidates[:0:0]
	for _, g := range candidates {
		if live[g] {
			out = append(out, g)
		}
	}
	return out
}

// readySet decides where a pipe reader waits, and lets it give its OS thread back while its pipes stay quiet.
// A reader that holds one of the registry's poll slots blocks in poll(2) on its pipes and an eventfd, the
// cheapest wait while output flows; once a whole idle period passed without output, a timer writes the eventfd
// and the reader returns its slot and waits on an epoll instance of its pipes that is registered with the
// runtime poller, without a thread, until a pipe is readable; then it takes a slot again if one is free. A
// blocking poll(2) and wait(2) per session cost two threads each (2000 for 1000 sessions; Go never ends its
// threads and aborts the whole server at 10000); the slots bound what readers can create. Readers do not all
// live in the runtime poller because every trip through it costs more than a return from poll(2): a flood took
// 1.3x to 1.5x the CPU per GB that way. The pipes are in the epoll set only while the reader waits there: any
// pipe event of a set that nobody drains also wakes the runtime poller's thread.
type readySet struct {
	opts   readerOpts
	wake   int // eventfd: stop, or the idle timer
	fds    []int
	active atomic.Bool // output since the last tick
	done   atomic.Bool

	mu      sync.Mutex // orders the timer's eventfd write before close; guards ep
	ep      *os.File   // the epoll instance, nil until the reader first waits there
	rc      syscall.RawConn
	timer   *time.Timer
	polling bool // the reader holds a slot and waits in poll(2); only then does the timer tick
	closed  bool
}

func newReadySet(ro readerOpts, fds ...int) (*readySet, error) {
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, err
	}
	r := &readySet{opts: ro, wake: wake, fds: append([]int(nil), fds...)}
	r.timer = time.AfterFunc(ro.idle, r.tick)
	r.timer.Stop()
	return r, nil
}

// epoll returns the epoll instance, created on first use (a short command never needs it). Caller holds r.mu.
func (r *readySet) epoll() (syscall.RawConn, error) {
	if r.rc != nil {
		return r.rc, nil
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	// Non-blocking, so os.NewFile hands the epoll instance to the runtime poller.
	if err := unix.SetNonblock(ep, true); err != nil {
		_ = unix.Close(ep)
		return nil, err
	}
	f := os.NewFile(uintptr(ep), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	r.ep, r.rc = f, rc
	return rc, nil
}

// begin is called by the reader before its first wait: a new command usually prints soon (a short command's
// round trip is mostly this wait), so it starts in poll(2) if a slot is free.
func (r *readySet) begin() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.take()
}

// take takes a free slot, if any, and starts the idle timer. Caller holds r.mu.
func (r *readySet) take() {
	if r.closed || r.polling || r.done.Load() {
		return
	}
	select {
	case r.opts.slots <- struct{}{}:
		r.polling = true
		r.active.Store(false)
		r.timer.Reset(r.opts.idle)
	default:
	}
}

// polls reports whether the reader holds a slot and so waits in poll(2); otherwise it waits with wait.
func (r *readySet) polls() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.polling
}

// tick runs every idle period while the reader polls; after one without output it wakes the reader to return
// its slot, and stops ticking.
func (r *readySet) tick() {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed || !r.polling:
	case r.active.Swap(false):
		r.timer.Reset(r.opts.idle)
	default:
		r.signal()
	}
}

// signal writes the eventfd; it never blocks (the counter cannot overflow with these few writes).
func (r *readySet) signal() {
	one := [8]byte{1}
	_, _ = unix.Write(r.wake, one[:])
}

// wakeFD is the descriptor the reader polls beside its pipes.
func (r *readySet) wakeFD() int { return r.wake }

// woken consumes a wake-up of the eventfd and reports whether it was stop. Otherwise the idle timer fired: the
// reader returns its slot and waits in the runtime poller from now on.
func (r *readySet) woken() bool {
	var b [8]byte
	_, _ = unix.Read(r.wake, b[:])
	if r.done.Load() {
		return true
	}
	r.mu.Lock()
	r.release()
	r.mu.Unlock()
	return false
}

// release gives the slot back. Caller holds r.mu.
func (r *readySet) release() {
	if r.polling {
		r.polling = false
		r.timer.Stop()
		<-r.opts.slots
	}
}

// busy records that the reader read something.
func (r *readySet) busy() { r.active.Store(true) }

// wait sleeps in the runtime poller until a pipe that is still open may be readable (or hung up), and returns an
// error once stop was called. A zero-timeout epoll_wait is the readiness test. Then the reader takes a free slot,
// if any, to wait in poll(2) next time.
func (r *readySet) wait() error {
	r.mu.Lock()
	var rc syscall.RawConn
	err := os.ErrClosed
	if !r.done.Load() && !r.closed {
		rc, err = r.epoll()
	}
	r.mu.Unlock()
	if err != nil {
		return err
	}
	err = rc.Control(func(ep uintptr) { r.ctl(int(ep), unix.EPOLL_CTL_ADD) })
	if err == nil {
		var evs [2]unix.EpollEvent
		err = rc.Read(func(ep uintptr) bool {
			n, err := unix.EpollWait(int(ep), evs[:], 0)
			return n > 0 || err != nil && err != unix.EINTR
		})
	}
	if err == nil {
		err = rc.Control(func(ep uintptr) { r.ctl(int(ep), unix.EPOLL_CTL_DEL) })
	}
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.take()
	return nil
}

func (r *readySet) ctl(ep, op int) {
	for _, fd := range r.fds {
		if fd >= 0 {
			ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
			_ = unix.EpollCtl(ep, op, fd, &ev)
		}
	}
}

// remove forgets a pipe that reached end of file; only the reader calls it, outside wait.
func (r *readySet) remove(fd int) {
	for i, f := range r.fds {
		if f == fd {
			r.fds[i] = -1
		}
	}
}

// stop wakes the reader wherever it waits and makes it return.
func (r *readySet) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done.Store(true)
	if !r.closed {
		r.signal()
	}
	if r.ep != nil {
		_ = r.ep.Close()
	}
}

// close releases the slot, the timer and the descriptors, after the reader returned.
func (r *readySet) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.release()
	r.closed = true
	if r.ep != nil {
		_ = r.ep.Close()
	}
	_ = unix.Close(r.wake)
}

// awaitExit returns once the process pid has exited, so that the wait(2) after it does not block. It watches a
// pidfd: first in poll(2) for exitProbe if a poll slot is free, holding the thread (a short command's exit is
// then seen at once; going through the runtime poller cost ≈ 0.1 ms per exec), then in the runtime poller,
// holding none, for the rest of the process's life. A wait(2) instead held a thread per running session. Where pidfds are
// unavailable (Linux before 5.3) it returns at once and the caller's wait blocks as it would anyway.
func awaitExit(pid int, slots chan struct{}) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	select {
	case slots <- struct{}{}: // the probe holds a thread: only with a poll slot
		probe := unix.NsecToTimespec(exitProbe.Nanoseconds())
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Ppoll(pfd, &probe, nil)
		<-slots
		if n > 0 || err != nil && err != unix.EINTR {
			_ = unix.Close(fd)
			return
		}
	default:
	}
	// Non-blocking, so os.NewFile hands it to the runtime poller.
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Read(func(fd uintptr) bool {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 0)
		return n > 0 || err != nil && err != unix.EINTR
	})
}

// exitProbe is how long a waiter watches its process in poll(2) before it moves to the runtime poller.
const exitProbe = 5 * time.Millisecond

// setCgroup makes the spawn create the child inside the cgroup open at fd (clone3 with CLONE_INTO_CGROUP), so that
// it never runs outside it; fd < 0 means none.
func setCgroup(attr *syscall.SysProcAttr, fd int) {
	if fd >= 0 {
		attr.UseCgroupFD = true
		attr.CgroupFD = fd
	}
}

// cgroupEvents watches the cgroup.events files of cgroups with one inotify instance, which waits in the runtime
// poller: a reader holds no thread, and closing it wakes the reader.
type cgroupEvents struct {
	f  *os.File
	rc syscall.RawConn
}

func newCgroupEvents() (*cgroupEvents, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "inotify")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &cgroupEvents{f: f, rc: rc}, nil
}

// add watches the cgroup.events file of the cgroup dir and returns the watch descriptor.
func (e *cgroupEvents) add(dir string) (int, error) {
	wd, err := -1, error(nil)
	if cerr := e.rc.Control(func(fd uintptr) {
		wd, err = unix.InotifyAddWatch(int(fd), dir+"/cgroup.events", unix.IN_MODIFY)
	}); cerr != nil {
		return -1, cerr
	}
	return wd, err
}

func (e *cgroupEvents) remove(wd int) {
	_ = e.rc.Control(func(fd uintptr) { _, _ = unix.InotifyRmWatch(int(fd), uint32(wd)) })
}

// read waits for change events until deadline (zero: none) and returns their watch descriptors; an error means the
// deadline passed or close was called.
func (e *cgroupEvents) read(deadline time.Time) ([]int, error) {
	if err := e.f.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	var buf [4096]byte
	n, err := e.f.Read(buf[:])
	if err != nil {
		return nil, err
	}
	var wds []int
	for off := 0; off+unix.SizeofInotifyEvent <= n; {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
		wds = append(wds, int(ev.Wd))
		off += unix.SizeofInotifyEvent + int(ev.Len)
	}
	return wds, nil
}

func (e *cgroupEvents) close() { _ = e.f.Close() }

// procStartTime returns the start time of pid (field 22 of /proc/<pid>/stat, clock ticks since boot).
func procStartTime(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	st, ok := parseStat(b)
	return st.start, ok
}

// procStat is what the guardian needs to know of a process.
type procStat struct {
	pid, pgrp int
	start     uint64
	zombie    bool
}

// parseStat reads a /proc/<pid>/stat line: pid (comm) state ppid pgrp ... starttime (field 22); comm may contain
// spaces and parentheses.
func parseStat(b []byte) (procStat, bool) {
	s := string(b)
	open, i := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 1 || i < open {
		return procStat{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return procStat{}, false
	}
	pid, err1 := strconv.Atoi(strings.TrimSpace(s[:open]))
	pgrp, err2 := strconv.Atoi(f[2])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procStat{}, false
	}
	return procStat{pid: pid, pgrp: pgrp, start: start, zombie: f[0] == "Z" || f[0] == "X"}, true
}

// procTable reads the stat of every process; nil where /proc cannot be read.
func procTable() []procStat {
	dir, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil
	}
	out := make([]procStat, 0, len(names))
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		if b, err := os.ReadFile("/proc/" + name + "/stat"); err == nil {
			if st, ok := parseStat(b); ok {
				out = append(out, st)
			}
		}
	}
	return out
}

// exitedWithin reports whether the child pid exits within d, watching a pidfd; where pidfds are unavailable it
// reports true and the caller's wait blocks.
func exitedWithin(pid int, d time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(d)
	for {
		ts := unix.NsecToTimespec(int64(max(time.Until(deadline), 0)))
		n, err := unix.Ppoll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, &ts, nil)
		if err != unix.EINTR {
			return n > 0 || err != nil
		}
	}
}
