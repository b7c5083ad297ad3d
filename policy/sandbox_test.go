package policy

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// sandboxHead and sandboxTail are the parts of every sandboxed argv around its mounts.
var sandboxHead = []string{"/usr/bin/bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"}

func sandboxTail(workdir string, network, pty bool) []string {
	tail := []string{"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"}
	if !network {
		tail = append(tail, "--unshare-net")
	}
	tail = append(tail, "--cap-drop", "ALL", "--die-with-parent")
	if !pty {
		tail = append(tail, "--new-session")
	}
	return append(tail, "--chdir", workdir, "--")
}

func argv(mounts []string, workdir string, network, pty bool) []string {
	return slices.Concat(sandboxHead, mounts, sandboxTail(workdir, network, pty))
}

func TestSandboxArgsFlags(t *testing.T) {
	for _, network := range []bool{false, true} {
		for _, pty := range []bool{false, true} {
			got := SandboxArgs(Sandbox{Bwrap: "/usr/bin/bwrap", Workdir: "/tmp/w", Network: network, PTY: pty})
			want := argv([]string{"--bind", "/tmp/w", "/tmp/w"}, "/tmp/w", network, pty)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("network=%v pty=%v:\n got %q\nwant %q", network, pty, got, want)
			}
		}
	}
}

func TestSandboxArgsMounts(t *testing.T) {
	sockets := []string{"/run", "/var/tmp", "/run/user/0"} // /var/run resolves to /run: the caller resolved it
	tests := []struct {
		name    string
		sb      Sandbox
		mounts  []string
		network bool
	}{
		{"the socket directories get an empty tmpfs before the workdir bind",
			Sandbox{Workdir: "/srv/p", SocketDirs: sockets},
			[]string{"--tmpfs", "/run", "--tmpfs", "/var/tmp", "--bind", "/srv/p", "/srv/p"}, false},
		{"with the network on the sockets stay (as does the whole network)",
			Sandbox{Workdir: "/srv/p", SocketDirs: sockets, Network: true},
			[]string{"--bind", "/srv/p", "/srv/p"}, true},
		{"a workdir below a socket directory is bound after its tmpfs",
			Sandbox{Workdir: "/var/tmp/p", SocketDirs: sockets},
			[]string{"--tmpfs", "/run", "--tmpfs", "/var/tmp", "--bind", "/var/tmp/p", "/var/tmp/p"}, false},
		{"a workdir that is a socket directory is bound, without its tmpfs",
			Sandbox{Workdir: "/var/tmp", SocketDirs: sockets},
			[]string{"--tmpfs", "/run", "--bind", "/var/tmp", "/var/tmp"}, false},
		{"a socket directory below the workdir gets its tmpfs after the bind",
			Sandbox{Workdir: "/var", SocketDirs: sockets},
			[]string{"--tmpfs", "/run", "--bind", "/var", "/var", "--tmpfs", "/var/tmp"}, false},
		{"socket directories under /tmp, /dev or /proc are covered already",
			Sandbox{Workdir: "/srv/p", SocketDirs: []string{"/tmp/runtime-0", "/dev/shm", "/proc/x", "/", "/xdg", "/xdg"}},
			[]string{"--tmpfs", "/xdg", "--bind", "/srv/p", "/srv/p"}, false},
		{"a socket directory below /tmp inside the workdir",
			Sandbox{Workdir: "/tmp/w", SocketDirs: []string{"/tmp/w/xdg", "/tmp/x"}},
			[]string{"--bind", "/tmp/w", "/tmp/w", "--tmpfs", "/tmp/w/xdg"}, false},
		{"a workdir at or below /proc or /dev keeps the sandbox's own",
			Sandbox{Workdir: "/proc", SocketDirs: sockets},
			[]string{"--tmpfs", "/run", "--tmpfs", "/var/tmp"}, false},
		{"a workdir below /dev",
			Sandbox{Workdir: "/dev/pts", Network: true},
			nil, true},
		{"hidden files shown from the host get /dev/null, after every other mount",
			Sandbox{Workdir: "/srv/p", SocketDirs: sockets, Hidden: []string{"/etc/execmcp/tokens.json", "/srv/p/c.json",
				"/tmp/t.json", "/run/secrets/t.json", "/var/tmp/t.json", "/proc/1/environ", "/srv/p2/t.json"}},
			[]string{"--tmpfs", "/run", "--tmpfs", "/var/tmp", "--bind", "/srv/p", "/srv/p",
				"--dev-bind", "/dev/null", "/etc/execmcp/tokens.json", "--dev-bind", "/dev/null", "/srv/p/c.json",
				"--dev-bind", "/dev/null", "/srv/p2/t.json"}, false},
		{"a hidden file in a workdir below /tmp or a socket directory is bound over",
			Sandbox{Workdir: "/var/tmp/p", SocketDirs: sockets, Hidden: []string{"/var/tmp/p/t.json", "/var/tmp/q/t.json"}},
			[]string{"--tmpfs", "/run", "--tmpfs", "/var/tmp", "--bind", "/var/tmp/p", "/var/tmp/p",
				"--dev-bind", "/dev/null", "/var/tmp/p/t.json"}, false},
		{"a hidden file below the private /tmp but inside the workdir",
			Sandbox{Workdir: "/tmp", Hidden: []string{"/tmp/t.json"}, Network: true},
			[]string{"--bind", "/tmp", "/tmp", "--dev-bind", "/dev/null", "/tmp/t.json"}, true},
		{"a hidden file under a socket directory inside the workdir is covered by its tmpfs",
			Sandbox{Workdir: "/var", SocketDirs: sockets, Hidden: []string{"/var/tmp/t.json", "/var/lib/t.json"}},
			[]string{"--tmpfs", "/run", "--bind", "/var", "/var", "--bind", "/var/lib", "/var/lib", "--tmpfs", "/var/tmp",
				"--dev-bind", "/dev/null", "/var/lib/t.json"}, false},
		{"a pinned directory above a socket directory comes before its tmpfs",
			Sandbox{Workdir: "/srv", SocketDirs: []string{"/srv/run/xdg"}, Hidden: []string{"/srv/run/t.json", "/srv/run/xdg/u.json"}},
			[]string{"--bind", "/srv", "/srv", "--bind", "/srv/run", "/srv/run", "--tmpfs", "/srv/run/xdg",
				"--dev-bind", "/dev/null", "/srv/run/t.json"}, false},
		{"the directories between the workdir and a hidden file are pinned; duplicates once",
			Sandbox{Workdir: "/w", Network: true, Hidden: []string{"/w/a/b/t.json", "/w/a/c.json", "/w/a/b/t.json", "/w/d.json", "/x/e.json"}},
			[]string{"--bind", "/w", "/w", "--bind", "/w/a", "/w/a", "--bind", "/w/a/b", "/w/a/b",
				"--dev-bind", "/dev/null", "/w/a/b/t.json", "--dev-bind", "/dev/null", "/w/a/c.json",
				"--dev-bind", "/dev/null", "/w/d.json", "--dev-bind", "/dev/null", "/x/e.json"}, true},
		{"with the network on hidden files under socket directories are bound over",
			Sandbox{Workdir: "/srv/p", SocketDirs: sockets, Hidden: []string{"/run/t.json"}, Network: true},
			[]string{"--bind", "/srv/p", "/srv/p", "--dev-bind", "/dev/null", "/run/t.json"}, true},
	}
	for _, tt := range tests {
		tt.sb.Bwrap = "/usr/bin/bwrap"
		got := SandboxArgs(tt.sb)
		want := argv(tt.mounts, tt.sb.Workdir, tt.network, false)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, want)
		}
	}
}

// A workdir named like a socket directory's prefix is not inside it.
func TestSandboxArgsPrefixes(t *testing.T) {
	got := SandboxArgs(Sandbox{Bwrap: "/usr/bin/bwrap", Workdir: "/run-x", SocketDirs: []string{"/run"},
		Hidden: []string{"/run-x/t", "/runner/t"}})
	want := argv([]string{"--tmpfs", "/run", "--bind", "/run-x", "/run-x", "--dev-bind", "/dev/null", "/run-x/t",
		"--dev-bind", "/dev/null", "/runner/t"}, "/run-x", false, false)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestSandboxSocketDirs(t *testing.T) {
	if got, want := SandboxSocketDirs(""), []string{"/run", "/var/run", "/var/tmp"}; !reflect.DeepEqual(got, want) {
		t.Errorf("no XDG_RUNTIME_DIR: %q", got)
	}
	if got, want := SandboxSocketDirs("/run/user/0"), []string{"/run", "/var/run", "/var/tmp", "/run/user/0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("XDG_RUNTIME_DIR: %q", got)
	}
	if got := SandboxSocketDirs("relative"); len(got) != 3 {
		t.Errorf("relative XDG_RUNTIME_DIR: %q", got)
	}
}

func TestSandboxArgsDoesNotModify(t *testing.T) {
	dirs := []string{"/var/tmp", "/run"}
	SandboxArgs(Sandbox{Bwrap: "b", Workdir: "/w", SocketDirs: dirs})
	if dirs[0] != "/var/tmp" {
		t.Error("SocketDirs modified")
	}
}

func TestSandboxProbeArgs(t *testing.T) {
	got := SandboxProbeArgs("bwrap", "/bin/sh", false)
	want := []string{"bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--unshare-net",
		"--cap-drop", "ALL", "--die-with-parent", "--", "/bin/sh", "-c", SandboxProbeScript}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	got = SandboxProbeArgs("bwrap", "/bin/bash", true)
	want = []string{"bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
		"--cap-drop", "ALL", "--die-with-parent", "--", "/bin/bash", "-c", SandboxProbeScript}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if !strings.Contains(SandboxProbeScript, "/proc/self/status") {
		t.Errorf("probe script %q", SandboxProbeScript)
	}
}
