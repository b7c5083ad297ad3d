// This file owns the login-shell PATH probe (docs/reference.md#login-path): once at startup, in the background,
// the user's login shell prints its environment, and the PATH found there is what exec puts in front of the
// inherited PATH of commands that run on the host.

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Bounds of the probe: a login shell whose profile takes longer, or prints more, contributes nothing.
const (
	loginPathTimeout   = 2 * time.Second
	loginPathMaxOutput = 1 << 20
)

// loginPath is the result of one probe. Its goroutine is owned by the loginPath: stop cancels and waits for it.
type loginPath struct {
	done   chan struct{}
	cancel context.CancelFunc
	dirs   []string // set before done is closed
}

// startLoginPath starts the probe of shell's login PATH with the environment env. It returns at once: serving does
// not wait for it (docs/reference.md#login-path).
func startLoginPath(shell string, env []string, logger *slog.Logger) *loginPath {
	ctx, cancel := context.WithTimeout(context.Background(), loginPathTimeout)
	p := &loginPath{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		defer cancel()
		start := time.Now()
		dirs, err := probeLoginPath(ctx, shell, env)
		switch {
		case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
			logger.Warn("login shell PATH probe timed out; commands get the inherited PATH (EXECMCP_LOGIN_PATH=off skips the probe)",
				"shell", shell, "timeout", loginPathTimeout)
		case err != nil && ctx.Err() == nil:
			logger.Warn("login shell PATH probe failed; commands get the inherited PATH (EXECMCP_LOGIN_PATH=off skips the probe)",
				"shell", shell, "err", err)
		case err == nil:
			logger.Debug("login shell PATH", "shell", shell, "dirs", len(dirs), "took", time.Since(start).Round(time.Millisecond))
		}
		p.dirs = dirs
	}()
	return p
}

// Dirs returns the login shell's PATH entries, waiting for the probe (at most its timeout) unless ctx ends first;
// nil when the probe failed, or when ctx ended before it did.
func (p *loginPath) Dirs(ctx context.Context) []string {
	select {
	case <-p.done:
		return p.dirs
	case <-ctx.Done():
		return nil
	}
}

// stop ends a probe still running and waits for its goroutine.
func (p *loginPath) stop() {
	p.cancel()
	<-p.done
}

// probeLoginPath runs `shell -l -c 'env -0'` in its own process group and returns the entries of the PATH it
// prints, trimmed, empty ones dropped. `env -0` prints the environment the same way whatever the shell's syntax
// (sh, bash, zsh, fish), and its NUL separators tell it apart from what a profile itself prints.
func probeLoginPath(ctx context.Context, shell string, env []string) ([]string, error) {
	cmd := exec.CommandContext(ctx, shell, "-l", "-c", "env -0")
	cmd.Env = env
	cmd.Dir = "/"
	out := &cappedBuffer{max: loginPathMaxOutput}
	cmd.Stdout = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setPdeathsig(cmd.SysProcAttr)
	// The whole group goes at the deadline: a profile may start programs of its own.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A descendant that keeps stdout open must not hold the probe past its bound.
	cmd.WaitDelay = 200 * time.Millisecond
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	if out.over {
		return nil, fmt.Errorf("more than %d bytes of output", loginPathMaxOutput)
	}
	path, ok := pathFromEnv0(out.buf)
	if !ok {
		return nil, errors.New("no PATH in its environment")
	}
	var dirs []string
	for _, d := range strings.Split(path, ":") {
		if d = strings.TrimSpace(d); d != "" {
			dirs = append(dirs, d)
		}
	}
	return dirs, nil
}

// pathFromEnv0 finds PATH in the output of `env -0`. What a profile prints before it ends up in front of the first
// entry, so that entry also counts when its last line is PATH=<dirs> (a PATH never spans lines; a multi-line
// value that merely contains such a line, as an exported shell function may, does not count).
func pathFromEnv0(out []byte) (string, bool) {
	entries := bytes.Split(out, []byte{0})
	for _, e := range entries {
		if v, ok := bytes.CutPrefix(e, []byte("PATH=")); ok {
			return string(v), true
		}
	}
	if i := bytes.LastIndex(entries[0], []byte("\nPATH=")); i >= 0 {
		if v := entries[0][i+len("\nPATH="):]; !bytes.ContainsRune(v, '\n') {
			return string(v), true
		}
	}
	return "", false
}

// cappedBuffer keeps the first max bytes written to it and notes whether more came. (It does not embed a
// bytes.Buffer: io.Copy would use the buffer's ReadFrom and bypass the cap.)
type cappedBuffer struct {
	buf  []byte
	max  int
	over bool
}

// Write keeps what fits and reports all of p written, so that the writer is drained rather than blocked.
func (b *cappedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.max - len(b.buf); n > room {
		b.over = true
		p = p[:max(room, 0)]
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

// loginShell is the shell whose login PATH is probed: the server's SHELL, a bare name looked up on PATH, /bin/sh
// when unset. Unlike the shell commands run in (docs/reference.md#exec-shell), fish stays fish: its own profile
// is where a fish user's PATH is set.
func loginShell(shell string) string {
	shell = strings.TrimSpace(shell)
	switch {
	case shell == "":
		return "/bin/sh"
	case !strings.Contains(shell, "/"):
		if p, err := exec.LookPath(shell); err == nil {
			return p
		}
	}
	return filepath.Clean(shell)
}
