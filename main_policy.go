package main

// Startup checks of the policy settings (policy.md §3.1 step 6, §5): allowlist entries and the bubblewrap
// sandbox. The sandbox probe is the only program the server runs before it serves.

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

	"github.com/execmcp/execmcp/policy"
)

// sandboxProbeTimeout bounds the startup probe of bubblewrap (policy.md §5); a variable for tests.
var sandboxProbeTimeout = 5000 * time.Millisecond

// allowlistEntries trims the allowlist entries, drops empty ones, expands ~ in path globs (entries with a /)
// and reports entries that are not a name or an absolute path glob (policy.md §3.1 step 6).
func (l *loader) allowlistEntries(entries []string) []string {
	var out []string
	for _, given := range entries {
		e := strings.TrimSpace(given)
		if e == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(e, "~/"); ok && l.home != "" {
			e = filepath.Join(l.home, rest) // ~user is never expanded
		}
		if problem := policy.AllowlistEntryProblem(given, e); problem != "" {
			l.fail("%s", problem)
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
	if err := probeSandbox(bwrap, cfg.Shell, cfg.SandboxNetwork, policy.InheritedEnv(environ)); err != "" {
		return errors.New("bwrap does not work here: " + err)
	}
	cfg.BwrapPath = bwrap
	return nil
}

// probeSandbox runs `bwrap ... -- <shell> -c true` (policy.md §5) in its own session, killed with its group
// after the probe timeout. It returns "" on success, else the first line of bwrap's stderr or the error.
func probeSandbox(bwrap, shell string, network bool, env []string) string {
	ctx, cancel := context.WithTimeout(context.Background(), sandboxProbeTimeout)
	defer cancel()
	argv := policy.SandboxProbeArgs(bwrap, shell, network)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Sprintf("the probe did not finish within %d ms", sandboxProbeTimeout.Milliseconds())
	}
	if err == nil {
		return ""
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return err.Error()
}
