package tools

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// mountsOf returns the mount options of a sandbox argv, as "op src dst" / "op dst" strings.
func mountsOf(argv []string) []string {
	var out []string
	for i := 0; i < len(argv); i++ {
		switch argv[i] {
		case "--ro-bind", "--bind", "--dev-bind":
			out = append(out, argv[i]+" "+argv[i+1]+" "+argv[i+2])
			i += 2
		case "--tmpfs", "--dev", "--proc", "--chdir":
			out = append(out, argv[i]+" "+argv[i+1])
			i++
		}
	}
	return out
}

func TestSandboxWrapperWorkdir(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(dir, "real")
	os.Mkdir(real, 0o755)
	os.Symlink(real, filepath.Join(dir, "link"))
	os.Symlink("/", filepath.Join(dir, "root"))
	os.Symlink(filepath.Join(dir, "root"), filepath.Join(dir, "chain"))
	os.Symlink("/proc", filepath.Join(dir, "proc"))
	tl := &Tools{opts: Options{BwrapPath: "/usr/bin/bwrap", SandboxNetwork: true}}

	// A symlink to "/" is refused like "/" itself, also through a chain of symlinks.
	for _, w := range []string{"/", filepath.Join(dir, "root"), filepath.Join(dir, "chain"), filepath.Join(dir, "real/../root")} {
		if _, err := tl.sandboxWrapper(w, false); err != errSandboxRoot {
			t.Errorf("workdir %s: %v, want the / refusal", w, err)
		}
	}
	// The bind and the chdir use the resolved path.
	argv, err := tl.sandboxWrapper(filepath.Join(dir, "link"), false)
	if err != nil {
		t.Fatal(err)
	}
	m := mountsOf(argv)
	if !slices.Contains(m, "--bind "+real+" "+real) || !slices.Contains(m, "--chdir "+real) {
		t.Errorf("mounts %q: want the resolved workdir %s", m, real)
	}
	// A workdir resolving to /proc keeps the sandbox's own proc.
	argv, err = tl.sandboxWrapper(filepath.Join(dir, "proc"), false)
	if err != nil {
		t.Fatal(err)
	}
	if m := mountsOf(argv); slices.ContainsFunc(m, func(s string) bool { return s == "--bind /proc /proc" }) ||
		!slices.Contains(m, "--chdir /proc") {
		t.Errorf("workdir /proc: mounts %q", m)
	}
	// A workdir that vanished since it was checked.
	if _, err := tl.sandboxWrapper(filepath.Join(dir, "gone"), false); err == nil ||
		err.Error() != `workdir "`+filepath.Join(dir, "gone")+`" does not exist.` {
		t.Errorf("vanished workdir: %v", err)
	}
}

func TestSandboxWrapperHiddenAndSockets(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	os.Mkdir(work, 0o755)
	tokens := filepath.Join(work, "tokens.json")
	os.WriteFile(tokens, []byte("{}"), 0o600)
	os.Symlink(tokens, filepath.Join(dir, "tokens-link.json"))
	xdg := filepath.Join(work, "xdg") // inside the workdir: outside it, below /tmp, the private /tmp covers it
	os.Mkdir(xdg, 0o700)
	os.Symlink(xdg, filepath.Join(dir, "xdg-link"))

	tl := &Tools{opts: Options{BwrapPath: "/usr/bin/bwrap",
		Environ:     []string{"XDG_RUNTIME_DIR=/nowhere", "XDG_RUNTIME_DIR=" + filepath.Join(dir, "xdg-link")},
		HiddenFiles: []string{filepath.Join(dir, "tokens-link.json"), filepath.Join(dir, "missing.json"), work, "relative.json"}}}
	argv, err := tl.sandboxWrapper(work, false)
	if err != nil {
		t.Fatal(err)
	}
	m := mountsOf(argv)
	// The hidden file is bound over at its resolved path; missing files, directories and relative paths are not.
	var hidden []string
	for _, s := range m {
		if len(s) > 10 && s[:10] == "--dev-bind" {
			hidden = append(hidden, s)
		}
	}
	if want := []string{"--dev-bind /dev/null " + tokens}; !slices.Equal(hidden, want) {
		t.Errorf("hidden mounts %q, want %q", hidden, want)
	}
	// The socket directories that exist get a tmpfs, XDG_RUNTIME_DIR (the last value, resolved) among them,
	// mounted after the workdir it lies in.
	if i, j := slices.Index(m, "--tmpfs "+xdg), slices.Index(m, "--bind "+work+" "+work); i < j {
		t.Errorf("mounts %q: want the XDG_RUNTIME_DIR tmpfs after the workdir bind", m)
	}
	var want []string
	for _, d := range []string{"/run", "/var/tmp"} {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			want = append(want, "--tmpfs "+d)
		}
	}
	for _, w := range want {
		if !slices.Contains(m, w) {
			t.Errorf("mounts %q lack %q", m, w)
		}
	}
	if slices.Contains(m, "--tmpfs /var/run") {
		t.Errorf("mounts %q: /var/run must be resolved", m)
	}
	// With the network on, no socket directory is masked; hidden files still are.
	tl.opts.SandboxNetwork = true
	argv, err = tl.sandboxWrapper(work, false)
	if err != nil {
		t.Fatal(err)
	}
	m = mountsOf(argv)
	if slices.Contains(m, "--tmpfs "+xdg) || !slices.Contains(m, "--dev-bind /dev/null "+tokens) {
		t.Errorf("network on: mounts %q", m)
	}
}
