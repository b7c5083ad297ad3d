package tools

import (
	"github.com/execmcp/execmcp/policy"
)

// sandboxWrapper returns the bubblewrap argv prefix of a sandboxed run in cwd (policy.md §5), or the error
// text. A workdir of "/" is refused (decided here): bubblewrap binds the workdir read-write, which would make
// the whole file system writable inside the sandbox.
func (t *Tools) sandboxWrapper(cwd string, pty bool) ([]string, string) {
	if cwd == "/" {
		return nil, `exec host=sandbox cannot use workdir "/": the sandbox binds the workdir read-write, which would make the whole file system writable. Use a project directory.`
	}
	bwrap := t.opts.BwrapPath
	if bwrap == "" {
		bwrap = "bwrap"
	}
	return policy.SandboxArgs(bwrap, cwd, t.opts.SandboxNetwork, pty), ""
}
