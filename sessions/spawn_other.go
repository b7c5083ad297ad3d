//go:build !linux

package sessions

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// setPdeathsig is a no-op where the OS has no parent-death signal.
func setPdeathsig(*syscall.SysProcAttr) {}

func scriptFile(command string) (*os.File, error) { return tempScript(command) }

func growPipe(int) bool { return false }

// liveGroups trusts kill(-pgid, 0) where there is no /proc to tell zombies apart.
func liveGroups(candidates []int) []int { return candidates }

// readySet is what a pipe reader waits on; here a blocking poll(2) with a wake pipe, which holds an OS thread
// per waiting reader (Linux uses an epoll instance served by the runtime poller instead).
type readySet struct {
	fds  []int
	wake [2]int
}

func newReadySet(fds ...int) (*readySet, error) {
	r, w, err := rawPipe()
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(w, true); err != nil {
		_ = unix.Close(r)
		_ = unix.Close(w)
		return nil, err
	}
	return &readySet{fds: append([]int(nil), fds...), wake: [2]int{r, w}}, nil
}

// wait returns when a descriptor of the set may be readable, and an error once stop was called.
func (r *readySet) wait() error {
	pfd := make([]unix.PollFd, 0, len(r.fds)+1)
	for _, fd := range r.fds {
		pfd = append(pfd, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	pfd = append(pfd, unix.PollFd{Fd: int32(r.wake[0]), Events: unix.POLLIN})
	for {
		_, err := unix.Poll(pfd, -1)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return err
		case pfd[len(pfd)-1].Revents != 0:
			return os.ErrClosed
		}
		return nil
	}
}

// remove drops a descriptor that reached end of file (poll ignores negative descriptors).
func (r *readySet) remove(fd int) {
	for i, f := range r.fds {
		if f == fd {
			r.fds[i] = -1
		}
	}
}

func (r *readySet) stop() { _, _ = unix.Write(r.wake[1], []byte{0}) }

func (r *readySet) close() {
	_ = unix.Close(r.wake[0])
	_ = unix.Close(r.wake[1])
}

// awaitExit has no pidfd to wait on here; the caller's wait(2) blocks.
func awaitExit(int) {}
