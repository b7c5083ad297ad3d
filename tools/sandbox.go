package tools

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/execmcp/execmcp/policy"
)

// errSandboxRoot refuses a sandboxed run in "/": bubblewrap binds the workdir read-write, which would make the
// whole file system writable inside the sandbox.
var errSandboxRoot = errors.New(`exec host=sandbox cannot use workdir "/": the sandbox binds the workdir read-write, which would make the whole file system writable. Use a project directory.`)

// sandboxWrapper returns the bubblewrap argv prefix of a sandboxed run in cwd (docs/reference.md#sandbox).
//
// Every path handed to bwrap is resolved here, right before the run: bwrap follows symlinks when it mounts, so
// a workdir that is a symlink to "/" would otherwise bind the host root read-write. The "/" refusal is made on
// the resolved workdir, which is also the path bound and entered.
func (t *Tools) sandboxWrapper(cwd string, pty bool) ([]string, error) {
	workdir, err := filepath.EvalSymlinks(cwd)
	if err != nil {
		return nil, fmt.Errorf("workdir \"%s\" %w.", cwd, statError(err))
	}
	if workdir == "/" {
		return nil, errSandboxRoot
	}
	bwrap := t.opts.BwrapPath
	if bwrap == "" {
		bwrap = "bwrap"
	}
	sb := policy.Sandbox{Bwrap: bwrap, Workdir: workdir, Network: t.opts.SandboxNetwork, PTY: pty}
	if !sb.Network {
		for _, d := range policy.SandboxSocketDirs(lastValue(t.opts.Environ, "XDG_RUNTIME_DIR")) {
			if real, ok := resolveExisting(d, true); ok {
				sb.SocketDirs = append(sb.SocketDirs, real)
			}
		}
	}
	for _, f := range t.opts.HiddenFiles {
		if real, ok := resolveExisting(f, false); ok {
			sb.Hidden = append(sb.Hidden, real)
		}
	}
	return policy.SandboxArgs(sb), nil
}

// lastValue returns the value of the last key=value entry of environ for key ("" when absent): the one a
// program started with that environment would see.
func lastValue(environ []string, key string) string {
	v := ""
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// resolveExisting resolves the symlinks of the absolute path p and reports whether it names an existing
// directory (dir) or regular file (!dir). A path that is missing now needs no mount: bwrap could not create its
// mount point on the read-only host anyway.
func resolveExisting(p string, dir bool) (string, bool) {
	if !filepath.IsAbs(p) {
		return "", false
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", false
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", false
	}
	if dir {
		return real, fi.IsDir()
	}
	return real, fi.Mode().IsRegular()
}
