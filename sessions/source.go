package sessions

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/execmcp/execmcp/output"
)

// readSize is the most one read takes from a descriptor, floodReadSize the most once the stream's previous read
// filled readSize (docs/reference.md#exec-supervision). Large reads matter in a flood: a 1 GB stream of 17-byte
// lines spilled to disk took 0.90 s of server CPU in 256 KiB reads against 1.10 s in 32 KiB reads.
const (
	readSize      = 32 * 1024
	floodReadSize = 256 * 1024
)

// maxBurstReads bounds the consecutive full reads of one stream between two polls in the final pass, and
// maxBurstBytes the bytes of one stream read in a row by the main loop.
const (
	maxBurstReads = 32
	maxBurstBytes = 1 << 20
)

// floodBuf takes a flood read buffer; the caller holds the ingest semaphore and returns the buffer with
// putFloodBuf before releasing it.
func (r *Registry) floodBuf() []byte {
	select {
	case b := <-r.floodBufs:
		return b
	default:
		return make([]byte, floodReadSize)
	}
}

func (r *Registry) putFloodBuf(b []byte) {
	select {
	case r.floodBufs <- b:
	default:
	}
}

// source is where a session's output comes from. One goroutine runs run; the waiter calls stop when the drain
// grace ends and close after run returned.
type source interface {
	// run reads until end of file (or hang-up) on every stream, or until stop, appending to s.
	run(s *Session)
	// stop makes run return promptly, even while a descendant keeps a stream open.
	stop()
	// close releases the descriptors.
	close()
}

// openPTY opens a pseudo-terminal pair (master, slave). It is a variable so that a test can make the PTY
// spawn fail and exercise the pipe fallback (docs/reference.md#exec-pty).
var openPTY = pty.Open

// ptySource reads the PTY master, a non-blocking descriptor served by the runtime poller: a read deadline in
// the past wakes a blocked Read.
type ptySource struct {
	f *os.File
	// stopped is set by stop: queries still to be answered are dropped, since each answer may wait a second for
	// a program that does not read, and one read can hold many queries.
	stopped *atomic.Bool
}

func newPTYSource(f *os.File) ptySource { return ptySource{f: f, stopped: new(atomic.Bool)} }

func (p ptySource) run(s *Session) {
	var f output.Filter
	buf := make([]byte, readSize)
	record := func(b []byte, reply bool) {
		s.r.ingest <- struct{}{} // see Registry.ingest
		s.term.write(b)          // the raw bytes: the emulator interprets what sanitising removes
		clean, chars, events := f.Bytes(b)
		dsr := s.appendOutput(output.Stdout, clean, chars, events)
		<-s.r.ingest
		s.settleSpill()
		// Programs that probe the terminal wait for a cursor-position report; answer each query.
		for ; reply && dsr > 0 && !p.stopped.Load(); dsr-- {
			s.replyDSR()
		}
	}
	for {
		n, err := p.f.Read(buf)
		if n > 0 {
			record(buf[:n], true)
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				p.drain(buf, record)
			}
			break
		}
	}
	s.flushStream(output.Stdout, &f)
	s.term.finish()
}

// drain records what the terminal holds when stop ended the reads, like pipeSource's final pass: without waiting,
// and at most maxBurstReads+1 reads, so a descendant that keeps writing cannot hold it. Cursor-position queries
// are not answered any more: each answer may wait a second for a program that does not read, and the session is
// ending.
func (p ptySource) drain(buf []byte, record func([]byte, bool)) {
	_ = p.f.SetReadDeadline(time.Time{})
	rc, err := p.f.SyscallConn()
	if err != nil {
		return
	}
	for reads := 0; reads <= maxBurstReads; reads++ {
		var n int
		var rerr error
		// The callback reports done at once: a read that would block ends the drain instead of waiting.
		if err := rc.Read(func(fd uintptr) bool { n, rerr = unix.Read(int(fd), buf); return true }); err != nil {
			return
		}
		if n > 0 {
			record(buf[:n], false)
		}
		if errors.Is(rerr, syscall.EINTR) {
			continue
		}
		if n <= 0 || n < len(buf) {
			return
		}
	}
}

func (p ptySource) stop() {
	p.stopped.Store(true)
	_ = p.f.SetReadDeadline(time.Unix(1, 0))
}
func (p ptySource) close() { _ = p.f.Close() }

// pipeSource reads stdout and stderr from one goroutine, stdout first when both are readable. Two goroutines
// would append in whatever order the scheduler runs them, so `echo out; echo err >&2` could be recorded as err,
// out; one poll(2) over both pipes keeps the order in which they became readable
// (docs/reference.md#output-pending). A reader that saw no output for a while sleeps on ready instead, without
// an OS thread (see readySet).
type pipeSource struct {
	fds   [2]int // stdout, stderr read ends (non-blocking, close-on-exec; the child's ends stay blocking)
	ready *readySet
}

func (p *pipeSource) run(s *Session) {
	var f [2]output.Filter
	streams := [2]output.Stream{output.Stdout, output.Stderr}
	buf := make([]byte, readSize)
	var flooding [2]bool // the stream's last read filled readSize: the next one takes a flood buffer
	pfd := []unix.PollFd{
		{Fd: int32(p.fds[0]), Events: unix.POLLIN},
		{Fd: int32(p.fds[1]), Events: unix.POLLIN},
		{Fd: int32(p.ready.wakeFD()), Events: unix.POLLIN},
	}
	p.ready.begin()
	open := 2
	for open > 0 {
		timeout := -1
		if !p.ready.polls() {
			if err := p.ready.wait(); err != nil {
				break // stopped
			}
			timeout = 0 // a snapshot of what is readable now
		}
		if _, err := unix.Poll(pfd, timeout); err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			break
		}
		if pfd[2].Revents != 0 && p.ready.woken() {
			break // stopped
		}
		read := false
		for i := range 2 {
			if pfd[i].Fd < 0 || pfd[i].Revents == 0 {
				continue
			}
			read = true
			// A full read means more is probably waiting: keep reading this stream until the pipe is empty,
			// which saves a poll per read in a flood, but return to poll after maxBurstBytes so that a writer
			// faster than the reader can neither starve the other stream nor hide a stop request.
			for burst := 0; ; {
				s.r.ingest <- struct{}{} // see Registry.ingest
				b := buf
				if flooding[i] {
					b = s.r.floodBuf()
				}
				n, err := unix.Read(p.fds[i], b)
				if n > 0 {
					clean, chars, events := f[i].Bytes(b[:n])
					s.appendOutput(streams[i], clean, chars, events)
				}
				if flooding[i] {
					s.r.putFloodBuf(b)
				}
				<-s.r.ingest
				s.settleSpill()
				if errors.Is(err, syscall.EINTR) {
					continue
				}
				flooding[i] = n >= readSize
				if n == 0 || err != nil && !errors.Is(err, syscall.EAGAIN) {
					p.ready.remove(p.fds[i])
					pfd[i].Fd = -1 // poll ignores negative descriptors
					open--
				}
				if burst += max(n, 0); n < len(b) || burst >= maxBurstBytes {
					break
				}
			}
		}
		if read {
			p.ready.busy()
		}
	}
	// Stopped at the end of the drain grace: output already in the pipes was written before the leader's exit
	// or during the grace, and is recorded; only what a descendant writes from now on is left behind. A reader
	// that the scheduler had not run for the whole grace (a loaded machine) would otherwise lose a short
	// command's entire output. One pipe holds at most maxBurstReads reads, so this ends even while a descendant
	// keeps writing.
	for i := range 2 {
		for reads := 0; open > 0 && pfd[i].Fd >= 0 && reads <= maxBurstReads; reads++ {
			s.r.ingest <- struct{}{}
			n, err := unix.Read(p.fds[i], buf)
			if n > 0 {
				clean, chars, events := f[i].Bytes(buf[:n])
				s.appendOutput(streams[i], clean, chars, events)
			}
			<-s.r.ingest
			s.settleSpill()
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if n <= 0 || n < len(buf) {
				break
			}
		}
	}
	for i := range 2 {
		s.flushStream(streams[i], &f[i])
	}
}

func (p *pipeSource) stop() { p.ready.stop() }

func (p *pipeSource) close() {
	for _, fd := range p.fds {
		if fd >= 0 {
			_ = unix.Close(fd)
		}
	}
	p.fds = [2]int{-1, -1}
	if p.ready != nil {
		p.ready.close()
	}
}

// flushStream ends a stream: bytes of an incomplete sequence become U+FFFD and an incomplete escape sequence
// is discarded.
func (s *Session) flushStream(stream output.Stream, f *output.Filter) {
	if clean, chars := f.Flush(); len(clean) > 0 {
		s.appendOutput(stream, clean, chars, nil)
	}
}

// rawPipe makes a blocking, close-on-exec pipe that the runtime poller does not manage.
func rawPipe() (r, w int, err error) {
	var p [2]int
	syscall.ForkLock.RLock()
	err = syscall.Pipe(p[:])
	if err == nil {
		syscall.CloseOnExec(p[0])
		syscall.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	return p[0], p[1], err
}
