package policy

import (
	"path"
	"slices"
	"strings"
)

// Sandbox modes of tools.exec.sandbox (docs/reference.md#sandbox).
const (
	SandboxNone  = "none"
	SandboxBwrap = "bwrap"
)

// Sandbox describes one sandboxed run for SandboxArgs. Every path is absolute, cleaned and has its symlinks
// resolved: bubblewrap mounts whatever a symlink points to at the time it runs, so the caller resolves them
// (and checks existence) right before the run.
type Sandbox struct {
	// Bwrap is the wrapper's path (argv[0]).
	Bwrap string
	// Workdir is the working directory, bound read-write; never "/" (the caller refuses it, the sandbox would
	// have a writable host).
	Workdir string
	// Network is tools.exec.sandboxNetwork; PTY says the run uses a pseudo-terminal.
	Network, PTY bool
	// SocketDirs are the existing host directories of SandboxSocketDirs. Without the network each gets an empty
	// tmpfs, so that no host service is reachable through a unix socket in it.
	SocketDirs []string
	// Hidden are the existing regular files of the server's own secrets (the tokens file, the config file): an
	// empty file is bound over each one the sandbox would otherwise show from the host.
	Hidden []string
}

// sandboxOwn are the sandbox's own /dev and /proc: a workdir at or below them is not bound (the host's must
// never replace them). sandboxFresh adds the private /tmp: the mount points whose content never comes from the host.
var (
	sandboxOwn   = []string{"/dev", "/proc"}
	sandboxFresh = append(slices.Clone(sandboxOwn), "/tmp")
)

// SandboxSocketDirs returns the host directories that hold the sockets of host services and are hidden when the
// sandbox has no network (docs/reference.md#sandbox): /run, /var/run, /var/tmp and the server's XDG_RUNTIME_DIR
// (xdgRuntimeDir, "" = unset; ignored unless absolute). /dev/shm needs no entry: --dev gives the sandbox an empty
// one. The caller resolves their symlinks and drops the ones that do not exist.
func SandboxSocketDirs(xdgRuntimeDir string) []string {
	dirs := []string{"/run", "/var/run", "/var/tmp"}
	if strings.HasPrefix(xdgRuntimeDir, "/") {
		dirs = append(dirs, xdgRuntimeDir)
	}
	return dirs
}

// within reports whether path is dir or below it (both cleaned and absolute).
func within(path, dir string) bool {
	return path == dir || dir == "/" || strings.HasPrefix(path, dir+"/")
}

func withinAny(path string, dirs []string) bool {
	return slices.ContainsFunc(dirs, func(d string) bool { return within(path, d) })
}

// SandboxArgs returns the bubblewrap argv prefix of a sandboxed run (docs/reference.md#sandbox), ending with "--";
// the shell and its arguments follow it (sessions.Spec.Wrapper).
//
// Mounts apply in argv order and a later mount covers an earlier one, so they go from the outside in: the
// read-only host, the fresh /dev and /proc, the private /tmp, an empty tmpfs over every socket directory
// (network off only) that is not the workdir and does not lie below the workdir, the workdir bind, the pinned
// directories, the socket directories below the workdir, and last /dev/null over each hidden file the sandbox
// would show from the host (--dev-bind: a plain bind is mounted nodev, and /dev/null would then refuse to open
// instead of reading as empty). The pinned directories are those between the workdir and a hidden file below
// it, each bound onto itself: a mount point cannot be renamed, and a renamed parent would take the file out of
// its hidden path for the next run. No pinned directory lies in a socket directory (its file would be hidden).
// Socket directories the sandbox does not show from the host anyway (below /dev, /proc, /tmp or another socket
// directory, and not in the workdir) are skipped. A workdir at or below /dev or /proc is not bound (the sandbox
// keeps its own). A workdir at or below a socket directory is still bound: the workdir is the agent's choice
// and is shared with the host as it is.
//
// --cap-drop ALL is always given (bwrap run by root would otherwise keep every capability); --unshare-net
// unless network; --new-session only for non-PTY runs (a PTY run keeps execmcp's terminal as its controlling
// terminal).
func SandboxArgs(sb Sandbox) []string {
	args := []string{sb.Bwrap,
		"--ro-bind", "/", "/",
		"--dev", "/dev",
		"--proc", "/proc",
		"--tmpfs", "/tmp",
	}
	bindWorkdir := !withinAny(sb.Workdir, sandboxOwn)
	var masks []string
	if !sb.Network {
		dirs := slices.Clone(sb.SocketDirs)
		slices.Sort(dirs) // a directory sorts before the directories below it
		for _, d := range dirs {
			if d == "/" || (bindWorkdir && d == sb.Workdir) || !sandboxShowsHost(d, sb.Workdir, bindWorkdir, masks) {
				continue
			}
			masks = append(masks, d)
		}
	}
	inner := func(d string) bool { return bindWorkdir && d != sb.Workdir && within(d, sb.Workdir) }
	for _, d := range masks {
		if !inner(d) {
			args = append(args, "--tmpfs", d)
		}
	}
	var hidden, pins []string
	for _, f := range sb.Hidden {
		if slices.Contains(hidden, f) || !sandboxShowsHost(f, sb.Workdir, bindWorkdir, masks) {
			continue
		}
		hidden = append(hidden, f)
		if bindWorkdir && within(f, sb.Workdir) {
			for d := path.Dir(f); d != sb.Workdir && !slices.Contains(pins, d); d = path.Dir(d) {
				pins = append(pins, d)
			}
		}
	}
	slices.Sort(pins) // a directory before the directories below it
	if bindWorkdir {
		args = append(args, "--bind", sb.Workdir, sb.Workdir)
	}
	for _, d := range pins {
		args = append(args, "--bind", d, d)
	}
	for _, d := range masks {
		if inner(d) {
			args = append(args, "--tmpfs", d)
		}
	}
	for _, f := range hidden {
		args = append(args, "--dev-bind", "/dev/null", f)
	}
	args = append(args, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try")
	if !sb.Network {
		args = append(args, "--unshare-net")
	}
	args = append(args, "--cap-drop", "ALL", "--die-with-parent")
	if !sb.PTY {
		args = append(args, "--new-session")
	}
	return append(args, "--chdir", sb.Workdir, "--")
}

// sandboxShowsHost reports whether the sandbox shows the host's file at path: the deepest mount containing it
// decides, the workdir bind (when bound) winning a tie with /tmp, which it follows in argv.
func sandboxShowsHost(path, workdir string, bindWorkdir bool, masks []string) bool {
	if bindWorkdir && within(path, workdir) {
		// Only a mask inside the workdir (mounted after it) can cover the file.
		return !slices.ContainsFunc(masks, func(d string) bool {
			return len(d) > len(workdir) && within(path, d)
		})
	}
	return !withinAny(path, sandboxFresh) && !withinAny(path, masks)
}

// SandboxProbeScript is the command of the startup probe: it prints the CapEff value of /proc/self/status, which
// the server requires to be zero. It is POSIX shell, read with the builtin read so that nothing but the shell is
// needed inside.
const SandboxProbeScript = `while read -r k v; do if [ "$k" = CapEff: ]; then echo "$v"; fi; done </proc/self/status`

// SandboxProbeArgs returns the argv of the startup probe (docs/reference.md#sandbox):
// bwrap --ro-bind / / --dev /dev --proc /proc --unshare-pid [--unshare-net] --cap-drop ALL --die-with-parent --
// <shell> -c <SandboxProbeScript>.
func SandboxProbeArgs(bwrap, shell string, network bool) []string {
	args := []string{bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid"}
	if !network {
		args = append(args, "--unshare-net")
	}
	return append(args, "--cap-drop", "ALL", "--die-with-parent", "--", shell, "-c", SandboxProbeScript)
}
