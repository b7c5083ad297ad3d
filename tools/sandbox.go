package tools

import (
	"errors"

	"github.com/execmcp/execmcp/policy"
)

// errSandboxRoot refuses a sandboxed run in "/": bubblewrap binds the workdir read-write, which would make the
// whole file system writable inside the sandbox.
var errSandboxRoot = errors.New(`exec host=sandbox cannot use workdir "/": the sandbox binds the workdir read-write, which would make the whole file system writable. Use a project directory.`)

// sandboxWrapper returns the bubblewrap argv prefix of a sandboxed run in cwd (docs/reference.md#sandbox).
func (t *Tools) sandboxWrapper(cwd string, pty bool) ([]string, error) {
	if cwd == "/" {
		return nil, errSandboxRoot
	}
	bwrap := t.opts.BwrapPath
	if bwrap == "" {
		bwrap = "bwrap"
	}
	return policy.SandboxArgs(bwrap, cwd, t.opts.SandboxNetwork, pty), nil
}
