package tools

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/execmcp/execmcp/policy"
)

// scriptReader returns the policy.ReadScript of the script preflight for a command in workdir
// (docs/reference.md#script-preflight). A read is best effort and never waits: the file is opened non-blocking (a
// FIFO put in a script's place cannot stall the call), and it is read only when it is a regular file of at most
// policy.ScriptMaxBytes whose real path, taken from the open file, lies inside the workdir's real path, so that a
// symlink, or a swap after the check, cannot make the preflight read anything outside it.
func scriptReader(workdir string) policy.ReadScript {
	// Resolved on the first read: most commands run no script and need no lookup.
	realRoot := sync.OnceValues(func() (string, error) { return filepath.EvalSymlinks(workdir) })
	return func(abs string) ([]byte, bool) {
		root, err := realRoot()
		if err != nil {
			return nil, false
		}
		f, err := os.OpenFile(abs, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, false
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > policy.ScriptMaxBytes {
			return nil, false
		}
		real, ok := openedPath(f, abs, fi)
		if !ok || !inside(root, real) {
			return nil, false
		}
		b, err := io.ReadAll(io.LimitReader(f, policy.ScriptMaxBytes+1))
		if err != nil || len(b) > policy.ScriptMaxBytes {
			return nil, false
		}
		return b, true
	}
}

// openedPath is the real path of the open file f: the kernel's name for its descriptor where /proc has it, else the
// resolved name, accepted only when it still is the same file.
func openedPath(f *os.File, abs string, fi os.FileInfo) (string, bool) {
	if p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd()))); err == nil && filepath.IsAbs(p) {
		return p, true
	}
	p, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", false
	}
	again, err := os.Stat(p)
	return p, err == nil && os.SameFile(fi, again)
}

// inside reports whether path is root or below it.
func inside(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}
