package sessions

import (
	"os"
	"syscall"

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
	f := os.NewFile(uintptr(fd), "execmcp-command")
	if _, err := f.WriteString(command); err != nil {
		_ = f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, 0); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
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
