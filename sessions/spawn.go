package sessions

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// maxArgBytes is Linux's per-argument limit (MAX_ARG_STRLEN) minus the terminating NUL; longer commands are
// passed as a script on descriptor 3 (docs/reference.md#exec-shell).
const maxArgBytes = 131071

// proc is a started child and the server's ends of its descriptors.
type proc struct {
	cmd   *exec.Cmd
	src   source
	input *os.File
	pty   bool
	grown bool // the stdout pipe was enlarged (counts against Registry.grown)
}

// spawn starts spec as the leader of its own session, created inside the cgroup open at cgfd (-1: none). Every
// descriptor the child does not need is closed in the parent before spawn returns; on failure nothing is left
// open.
func spawn(spec Spec, usePTY, grow bool, ro readerOpts, cgfd int) (p *proc, err error) {
	var closers []*os.File
	defer func() {
		for _, f := range closers {
			_ = f.Close()
		}
		if err != nil && p != nil {
			if p.src != nil {
				p.src.close()
			}
			if p.input != nil {
				_ = p.input.Close()
			}
			p = nil
		}
	}()

	argv := append(append([]string{}, spec.Wrapper...), spec.Shell)
	var script *os.File
	if len(spec.Command) > maxArgBytes {
		script, err = scriptFile(spec.Command)
		if err != nil {
			return nil, err
		}
		closers = append(closers, script)
		argv = append(argv, "/dev/fd/3")
	} else {
		argv = append(argv, "-c", spec.Command)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if len(spec.Wrapper) == 0 {
		// Run the shell as given, even when it is not on PATH: the spawn error then names it.
		cmd = &exec.Cmd{Path: spec.Shell, Args: argv}
	}
	cmd.Dir = spec.Dir
	cmd.Env = spec.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	if script != nil {
		cmd.ExtraFiles = []*os.File{script}
	}
	attr := &syscall.SysProcAttr{Setsid: true}
	setPdeathsig(attr)
	setCgroup(attr, cgfd)
	cmd.SysProcAttr = attr
	p = &proc{cmd: cmd}

	if usePTY {
		master, tty, err := openPTY()
		if err != nil {
			return nil, err
		}
		closers = append(closers, tty)
		cols, rows := spec.termSize()
		if err := pty.Setsize(master, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
			_ = master.Close()
			return nil, err
		}
		nb, err := nonblocking(master)
		if err != nil {
			return nil, err
		}
		p.src = newPTYSource(nb)
		p.input = nb
		p.pty = true
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		attr.Setctty = true
		attr.Ctty = 0
	} else {
		ps := &pipeSource{fds: [2]int{-1, -1}}
		p.src = ps
		var childEnds [2]*os.File
		for i := range 2 {
			r, w, err := rawPipe()
			if err != nil {
				return nil, err
			}
			ps.fds[i] = r
			if err := unix.SetNonblock(r, true); err != nil {
				return nil, err
			}
			childEnds[i] = os.NewFile(uintptr(w), "|1")
			closers = append(closers, childEnds[i])
		}
		if grow {
			p.grown = growPipe(ps.fds[0])
		}
		if ps.ready, err = newReadySet(ro, ps.fds[0], ps.fds[1]); err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = childEnds[0], childEnds[1]
		if spec.Stdin == StdinPipe {
			inR, inW, err := os.Pipe()
			if err != nil {
				return nil, err
			}
			closers = append(closers, inR)
			p.input = inW
			cmd.Stdin = inR
		} else {
			null, err := os.Open(os.DevNull)
			if err != nil {
				return nil, err
			}
			closers = append(closers, null)
			cmd.Stdin = null
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// nonblocking replaces a PTY master with a non-blocking duplicate, so that reads and writes go through the
// runtime poller: Close then wakes a blocked Read, and write deadlines work.
func nonblocking(master *os.File) (*os.File, error) {
	defer master.Close()
	fd, err := unix.Dup(int(master.Fd()))
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), nil
}

// SignalName returns the conventional name of sig ("SIGTERM"), or SIG<number> for an unnamed signal.
func SignalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return "SIG" + strconv.Itoa(int(sig))
}
