// Package policy decides what execmcp may do; it never executes anything and words no message for the agent.
//
// It owns these rules (docs/reference.md#tool-policy and the sections after it):
//
//   - tool policy: which of the tools exec and process are enabled (Tools);
//   - environment policy: which inherited variables a command keeps
//     (InheritedEnv), which overrides a caller may pass (ValidateEnv) and how
//     the final environment of a command is assembled (AssembleEnv), driven by
//     the embedded data file env-policy.json;
//   - host routing and the elevated gate (ResolveHost, CheckElevated);
//   - security modes (CheckSecurity) and the allowlist rule (CheckAllowlist, CheckAllowlistEntry), decided on
//     a Program that tools/ parses with mvdan.cc/sh (this package imports no parser); resolving a bare name on
//     PATH stats files, nothing is ever executed;
//   - the bubblewrap argv of sandboxed runs and of the startup probe (SandboxArgs, SandboxProbeArgs);
//   - the input limits (constants).
//
// Every rejection of a request is returned as a *Denial: the Rule it breaks and the facts that rule names (the
// refused value, the refused env keys, ...). Package tools words denials for the agent; Denial.Error is only a
// short description for logs. The startup checks for the operator (CheckAllowlistEntry, the warnings of Tools)
// return plain errors and strings.
//
// Concurrency: all exported functions are pure functions of their arguments
// and of package data that is parsed once, on first use, and never modified
// afterwards. They are safe for concurrent use. Returned slices and maps are
// freshly allocated and owned by the caller; arguments are never modified.
//
// The package uses the Go standard library only.
package policy
