package policy

import (
	"fmt"
	"strings"
)

// Security modes of tools.exec.security (policy.md §3).
const (
	SecurityFull      = "full"
	SecurityAllowlist = "allowlist"
	SecurityDeny      = "deny"
)

// CheckSecurity applies the security mode to one exec call (policy.md §3,
// exec.md §4 step 11). mode is trimmed and lower-cased; "" means the default,
// full.
//
//   - full: nil, no restriction;
//   - deny: a *Denial `exec denied: security=deny`.
//
// The allowlist mode needs a shell parser (mvdan.cc/sh) that this
// standard-library-only package does not import, so it is not implemented
// here: main validates tools.exec.security at startup and rejects allowlist
// for now. command, allowlist, env (the assembled environment) and workdir
// (the resolved absolute cwd) are the inputs that mode will use; they are
// ignored by full and deny. Any mode other than full and deny, allowlist
// included, fails closed with a *Denial
// `exec denied: unsupported security mode "<mode>"`.
func CheckSecurity(mode, command string, allowlist []string, env []string, workdir string) error {
	switch m := strings.ToLower(strings.TrimSpace(mode)); m {
	case "", SecurityFull:
		return nil
	case SecurityDeny:
		return deny("exec denied: security=deny")
	default:
		return deny(fmt.Sprintf("exec denied: unsupported security mode %q", mode))
	}
}
