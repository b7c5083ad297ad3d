//go:build !linux

package sessions

import (
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// setPdeathsig is a no-op where the OS has no parent-death signal.
func setPdeathsig(*syscall.SysProcAttr) {}

func scriptFile(command string) (*os.File, error) { return tempScript(command) }

func growPipe(int) bool { return false }

// liveGroups trusts kill(-pgid, 0) where there is no /proc to tell zombies apart.
func liveGroups(candidates []int) []int { return candidates }

// readySet wakes a pipe reader blocked in poll(2) for stop, through a pipe the reader polls beside its own.
// Here a waiting reader keeps its OS thread (Linux moves an idle one to the runtime poller).
type readySet struct {
	wake [2]int
	done atomic.Bool
}

func newReadySet(_ readerOpts, _ ...int) (*readySet, error) {
	r, w, err := rawPipe()
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(r, true); err != nil {
		_ = unix.Close(r)
		_ = unix.Close(w)
		return nil, err
	}
	return &readySet{wake: [2]int{r, w}}, nil
}

func (r *readySet) wakeFD() int { return r.wake[0] }

// polls is always true here: the reader always waits in poll(2).
func (r *readySet) polls() bool { return true }

// woken consumes a wake-up and reports whether it was stop (the only kind here).
func (r *readySet) woken() bool {
	var b [8]byte
	_, _ = unix.Read(r.wake[0], b[:])
	return r.done.Load()
}

func (r *readySet) begin()      {}
func (r *readySet) busy()       {}
func (r *readySet) wait() error { return nil }
func (r *readySet) remove(int)  {}

func (r *readySet) stop() {
	r.done.Store(true)
	_, _ = unix.Write(r.wake[1], []byte{0})
}

func (r *readySet) close() {
	_ = unix.Close(r.wake[0])
	_ = unix.Close(r.wake[1])
}

// awaitExit has no pidfd to wait on here; the caller's wait(2) blocks.
func awaitExit(int, chan struct{}) {}
