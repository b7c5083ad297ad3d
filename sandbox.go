// This file owns the startup checks of the exec policy that need the outside world: the shell chosen from the
// server's SHELL and PATH (docs/reference.md#exec-shell), the allowlist entries (docs/reference.md#allowlist)
// and the bubblewrap probe (docs/reference.md#sandbox). The probe is the only program the server runs before it
// serves.

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/execmcp/execmcp/policy"
)

// selectShell chooses the shell from the server's SHELL and PATH.
func selectShell(shellVar, pathVar string) string {
	shell := strings.TrimSpace(shellVar)
	if shell == "" {
		return "/bin/sh"
	}
	if !strings.Contains(shell, "/") {
		if found := lookPath(shell, pathVar); found != "" {
			shell = found
		}
	}
	// A service account's login "shell" refuses to run anything; commands need a real one.
	if base := filepath.Base(shell); base == "nologin" || base == "false" {
		return "/bin/sh"
	}
	if filepath.Base(shell) == "fish" {
		for _, alt := range []string{"bash", "sh"} {
			if found := lookPath(alt, pathVar); found != "" {
				return found
			}
		}
	}
	return shell
}

// lookPath finds an executable regular file named name in the directories of pathVar ("" if none).
func lookPath(name, pathVar string) string {
	for _, dir := range filepath.SplitList(pathVar) {
		if dir == "" {
			continue // an empty entry would mean the current directory; never search it
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// sandboxProbeTimeout bounds the startup probe of bubblewrap; a variable for tests.
var sandboxProbeTimeout = 5000 * time.Millisecond

// allowlistEntries trims the allowlist entries, drops empty ones, expands ~ in path globs (entries with a /)
// and reports every entry that is not a name or an absolute path glob.
func (l *loader) allowlistEntries(entries []string) []string {
	var out []string
	for _, given := range entries {
		e := strings.TrimSpace(given)
		if e == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(e, "~/"); ok && l.env.home != "" {
			e = filepath.Join(l.env.home, rest) // ~user is never expanded
		}
		if err := policy.CheckAllowlistEntry(given, e); err != nil {
			l.fail("%v", err)
			continue
		}
		out = append(out, e)
	}
	return out
}

// checkPolicyStartup runs the startup checks that need the outside world: with tools.exec.sandbox "bwrap",
// bwrap must be on the server's PATH and a probe run must succeed within 5000 ms; cfg.BwrapPath is set. In
// allowlist mode a shell whose syntax is not bash's gets a warning, since commands are parsed as bash.
func checkPolicyStartup(cfg *config, environ []string, logger *slog.Logger) error {
	if cfg.Security == policy.SecurityAllowlist {
		switch filepath.Base(cfg.Shell) {
		case "sh", "bash", "dash", "ash":
		default:
			logger.Warn("tools.exec.allowlist parses commands as bash; this shell may read some of them differently",
				"shell", cfg.Shell)
		}
	}
	if cfg.Sandbox != policy.SandboxBwrap {
		return nil
	}
	bwrap := lookPath("bwrap", environMap(environ)["PATH"])
	if bwrap == "" {
		return errors.New(`tools.exec.sandbox is "bwrap" but bwrap was not found on PATH`)
	}
	if err := probeSandbox(bwrap, cfg.Shell, cfg.SandboxNetwork, policy.InheritedEnv(environ)); err != nil {
		return fmt.Errorf("bwrap does not work here: %w", err)
	}
	cfg.BwrapPath = bwrap
	return nil
}

// probeSandbox runs `bwrap ... -- <shell> -c <policy.SandboxProbeScript>` in its own session, killed with its
// group after the probe timeout. Its error is the first line of bwrap's stderr, else the error of the run; a run
// that succeeds must print the CapEff of the sandboxed shell, and it must be zero (docs/reference.md#sandbox).
func probeSandbox(bwrap, shell string, network bool, env []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), sandboxProbeTimeout)
	defer cancel()
	argv := policy.SandboxProbeArgs(bwrap, shell, network)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("the probe did not finish within %d ms", sandboxProbeTimeout.Milliseconds())
	}
	if err != nil {
		for _, line := range strings.Split(stderr.String(), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				return errors.New(line)
			}
		}
		return err
	}
	return checkProbeCaps(stdout.String())
}

// checkProbeCaps checks the probe's output: the CapEff value (hex) of the sandboxed shell, which must be zero.
// bwrap run by root keeps every capability unless told to drop them, and a sandboxed root with CAP_SYS_ADMIN can
// remount the host root read-write.
func checkProbeCaps(out string) error {
	v := strings.TrimSpace(out)
	caps, err := strconv.ParseUint(v, 16, 64)
	switch {
	case err != nil:
		const limit = 64
		if len(v) > limit {
			v = v[:limit] + "..."
		}
		return fmt.Errorf("the probe did not report the capabilities of the sandbox (CapEff of /proc/self/status; got %q)", v)
	case caps != 0:
		return fmt.Errorf("commands in the sandbox would keep capabilities (CapEff %s) although bwrap was given --cap-drop ALL", v)
	}
	return nil
}

// sandboxHiddenFiles returns the files of the server's own secrets that a sandboxed command must find empty
// (docs/reference.md#sandbox): the tokens file and the config file, made absolute against the server's working
// directory like their reads at startup, each followed by the file its symlinks lead to now when that differs.
// The sandbox resolves the symlinks of every entry again at each run (a rotated secret stays hidden); the entry
// resolved here keeps the file read at startup hidden when a command moves a symlink that named it.
func sandboxHiddenFiles(cfg config) []string {
	var out []string
	for _, p := range []string{cfg.AuthTokensFile, cfg.ConfigPath} {
		if p == "" {
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		out = append(out, abs)
		if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
			out = append(out, real)
		}
	}
	return out
}
