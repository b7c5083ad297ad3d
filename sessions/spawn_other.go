//go:build !linux

package sessions

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"time"

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

// setCgroup does nothing where there are no cgroups.
func setCgroup(*syscall.SysProcAttr, int) {}

// cgroupEvents is never created where there are no cgroups.
type cgroupEvents struct{}

func newCgroupEvents() (*cgroupEvents, error)         { return nil, errors.New("no cgroups") }
func (e *cgroupEvents) add(string) (int, error)       { return -1, errors.New("no cgroups") }
func (e *cgroupEvents) remove(int)                    {}
func (e *cgroupEvents) read(time.Time) ([]int, error) { return nil, errors.New("no cgroups") }
func (e *cgroupEvents) close()                        {}
func procStartTime(int) (uint64, bool)                { return 0, false }
func procTable() []procStat                           { return nil }

// procStat is what the guardian needs to know of a process; without /proc nothing is known.
type procStat struct {
	pid, pgrp int
	start     uint64
	zombie    bool
}

// exitedWithin cannot watch the child here: the caller's wait blocks.
func exitedWithin(int, time.Duration) bool { return true }
