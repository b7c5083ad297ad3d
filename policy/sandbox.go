package policy

// Sandbox modes of tools.exec.sandbox (docs/reference.md#sandbox).
const (
	SandboxNone  = "none"
	SandboxBwrap = "bwrap"
)

// SandboxArgs returns the bubblewrap argv prefix of a sandboxed run (docs/reference.md#sandbox), ending with "--";
// the shell and its arguments follow it (sessions.Spec.Wrapper). bwrap is the wrapper's path (argv[0]), workdir the
// resolved absolute working directory, network is tools.exec.sandboxNetwork and pty says the run uses a
// pseudo-terminal.
//
// The order matters: the private /tmp is mounted before the workdir is bound, so that a workdir under /tmp
// stays visible. --unshare-net is given unless network; --new-session only for non-PTY runs (a PTY run keeps
// execmcp's terminal as its controlling terminal).
func SandboxArgs(bwrap, workdir string, network, pty bool) []string {
	args := []string{bwrap,
		"--ro-bind", "/", "/",
		"--dev", "/dev",
		"--proc", "/proc",
		"--tmpfs", "/tmp",
		"--bind", workdir, workdir,
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
	}
	if !network {
		args = append(args, "--unshare-net")
	}
	args = append(args, "--die-with-parent")
	if !pty {
		args = append(args, "--new-session")
	}
	return append(args, "--chdir", workdir, "--")
}

// SandboxProbeArgs returns the argv of the startup probe (docs/reference.md#sandbox):
// bwrap --ro-bind / / --dev /dev --proc /proc --unshare-pid [--unshare-net] --die-with-parent -- <shell> -c true.
func SandboxProbeArgs(bwrap, shell string, network bool) []string {
	args := []string{bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid"}
	if !network {
		args = append(args, "--unshare-net")
	}
	return append(args, "--die-with-parent", "--", shell, "-c", "true")
}
