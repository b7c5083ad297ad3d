package policy

import "strings"

// Security modes of tools.exec.security (docs/reference.md#security-modes).
const (
	SecurityFull      = "full"
	SecurityAllowlist = "allowlist"
	SecurityDeny      = "deny"
)

// CheckSecurity applies the security mode to one exec call (docs/reference.md#security-modes), after the
// environment of the call was assembled. mode is trimmed and lower-cased; "" means the default, full. It applies
// to every target (host and sandbox) and elevated calls alike.
//
//   - full: nil, no restriction;
//   - deny: a *Denial (RuleSecurityDeny);
//   - allowlist: parse is called once for the parsed program (tools/ parses with mvdan.cc/sh, which this
//     standard-library-only package does not import) and CheckAllowlist decides with the allowlist entries,
//     the PATH of env (the assembled environment of the call) and workdir (its resolved absolute cwd). A nil
//     parse denies (RuleNoParser).
//
// Any other mode fails closed with a *Denial (RuleSecurityMode, Subject: mode as given).
func CheckSecurity(mode string, parse func() Program, allowlist []string, env []string, workdir string) error {
	switch m := strings.ToLower(strings.TrimSpace(mode)); m {
	case "", SecurityFull:
		return nil
	case SecurityDeny:
		return &Denial{Rule: RuleSecurityDeny}
	case SecurityAllowlist:
		if parse == nil {
			return &Denial{Rule: RuleNoParser}
		}
		return CheckAllowlist(parse(), allowlist, envValue(env, "PATH"), workdir)
	default:
		return &Denial{Rule: RuleSecurityMode, Subject: mode}
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
