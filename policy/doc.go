// Package policy decides what execmcp may do; it never executes anything.
//
// It owns the rules of the behaviour specification's policy.md and the
// environment steps of exec.md §8:
//
//   - tool policy: which of the tools exec and process are enabled (Tools);
//   - environment policy: which inherited variables a command keeps
//     (InheritedEnv), which overrides a caller may pass (ValidateEnv) and how
//     the final environment of a command is assembled (AssembleEnv), driven by
//     the embedded data file env-policy.json;
//   - host routing and the elevated gate (ResolveHost, CheckElevated);
//   - security modes (CheckSecurity) and the allowlist rule (CheckAllowlist, AllowlistEntryProblem), decided on
//     a Program that tools/ parses with mvdan.cc/sh (this package imports no parser); resolving a bare name on
//     PATH stats files, nothing is ever executed;
//   - the bubblewrap argv of sandboxed runs and of the startup probe (SandboxArgs, SandboxProbeArgs);
//   - the input limits of policy.md §7 (constants).
//
// Every rejection is returned as a *Denial whose Error() is the exact
// user-facing text of the specification; callers put it into an isError
// result unchanged.
//
// Concurrency: all exported functions are pure functions of their arguments
// and of package data that is parsed once at package initialisation and never
// modified afterwards. They are safe for concurrent use. Returned slices and
// maps are freshly allocated and owned by the caller; arguments are never
// modified.
//
// The package uses the Go standard library only.
package policy
