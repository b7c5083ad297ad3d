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

// CheckSecurity applies the security mode to one exec call (policy.md §3, exec.md §4 step 11). mode is
// trimmed and lower-cased; "" means the default, full. It applies to every target (host and sandbox) and
// elevated calls alike.
//
//   - full: nil, no restriction;
//   - deny: a *Denial `exec denied: security=deny`;
//   - allowlist: parse is called once for the parsed program (tools/ parses with mvdan.cc/sh, which this
//     standard-library-only package does not import) and CheckAllowlist decides with the allowlist entries,
//     the PATH of env (the assembled environment of the call) and workdir (its resolved absolute cwd). A nil
//     parse denies.
//
// Any other mode fails closed with a *Denial `exec denied: unsupported security mode "<mode>"`.
func CheckSecurity(mode string, parse func() Program, allowlist []string, env []string, workdir string) error {
	switch m := strings.ToLower(strings.TrimSpace(mode)); m {
	case "", SecurityFull:
		return nil
	case SecurityDeny:
		return deny("exec denied: security=deny")
	case SecurityAllowlist:
		if parse == nil {
			return deny("exec denied: allowlist cannot parse command (no parser)")
		}
		return CheckAllowlist(parse(), allowlist, envValue(env, "PATH"), workdir)
	default:
		return deny(fmt.Sprintf("exec denied: unsupported security mode %q", mode))
	}
}

// envValue returns the value of the last entry for key in a KEY=VALUE list ("" when absent).
func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}
