package tools

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/execmcp/execmcp/output"
	"github.com/execmcp/execmcp/policy"
)

// Fixed texts of policy denials (docs/reference.md#security-modes, docs/reference.md#host,
// docs/reference.md#elevated).
const (
	textSecurityDeny = "exec denied: security=deny"
	textNoParser     = "exec denied: allowlist cannot parse command (no parser)"
	textHostNode     = "exec host=node is not supported: execmcp runs commands on its own machine only. Use host=auto, host=gateway or host=sandbox."
	textNoSandbox    = "exec host=sandbox requires a sandbox runtime for this session.\n" +
		"Enable sandbox mode (`tools.exec.sandbox=\"bwrap\"`) or use host=auto/gateway."
	textHostValues = "Expected one of: auto, sandbox, gateway."
)

// missSourceChars is the length an allowlist miss shows of the unit that missed, whitespace collapsed.
const missSourceChars = 200

// errorText is the text the caller sees for err: a policy denial is worded here, every other error of this
// package already carries its text.
func errorText(err error) string {
	var f *policy.ScriptFinding
	if errors.As(err, &f) {
		return scriptFindingText(f)
	}
	var d *policy.Denial
	if !errors.As(err, &d) {
		return err.Error()
	}
	switch d.Rule {
	case policy.RuleSecurityDeny:
		return textSecurityDeny
	case policy.RuleSecurityMode:
		return fmt.Sprintf("exec denied: unsupported security mode %q", d.Subject)
	case policy.RuleNoParser:
		return textNoParser
	case policy.RuleUnparsable:
		return "exec denied: allowlist cannot parse command (" + d.Subject + ")"
	case policy.RuleAllowlistMiss:
		return "exec denied: allowlist miss (" + output.TruncateMiddle(output.CollapseSpace(d.Subject), missSourceChars) + ")"
	case policy.RuleEnvOverride:
		return envOverrideText(d.Blocked, d.Invalid)
	case policy.RuleConfiguredHost:
		return fmt.Sprintf("Invalid configured host %q. %s", d.Subject, textHostValues)
	case policy.RuleHostValue:
		return "Invalid host \"" + d.Subject + "\". " + textHostValues
	case policy.RuleHostNode:
		return textHostNode
	case policy.RuleHostOverride:
		return fmt.Sprintf("exec host not allowed (requested %s; configured host is %s; set tools.exec.host=%s to allow this override).",
			d.Subject, d.Configured, strings.Join(d.AllowedBy, " or "))
	case policy.RuleNoSandbox:
		return textNoSandbox
	case policy.RuleElevated:
		runtime := "direct"
		if d.Sandboxed {
			runtime = "sandboxed"
		}
		return "elevated is not available right now (runtime=" + runtime + ").\n" +
			"Failing gates: enabled (tools.elevated.enabled)\n" +
			"Fix-it keys:\n" +
			"- tools.elevated.enabled"
	}
	return err.Error()
}

// envOverrideText words refused env overrides (docs/reference.md#env-policy): one refused key gets a sentence of
// its own, several are listed, and PATH among them keeps the PATH sentence with the lists in parentheses.
func envOverrideText(blocked, invalid []string) string {
	hasPath := slices.Contains(blocked, "PATH")
	if len(invalid) == 0 && len(blocked) == 1 {
		if hasPath {
			return "Security Violation: Custom 'PATH' variable is forbidden during host execution."
		}
		return fmt.Sprintf("Security Violation: Environment variable '%s' is forbidden during host execution.", blocked[0])
	}
	var parts []string
	if len(blocked) > 0 {
		parts = append(parts, "blocked override keys: "+strings.Join(blocked, ", "))
	}
	if len(invalid) > 0 {
		parts = append(parts, "invalid non-portable override keys: "+strings.Join(invalid, ", "))
	}
	details := strings.Join(parts, "; ")
	if hasPath {
		return "Security Violation: Custom 'PATH' variable is forbidden during host execution (" + details + ")."
	}
	return "Security Violation: " + details + "."
}

// scriptFindingText words a script the preflight refuses (docs/reference.md#script-preflight), in OpenClaw's words.
func scriptFindingText(f *policy.ScriptFinding) string {
	if f.Kind == policy.ScriptNode {
		return "exec preflight: JS file starts with shell syntax (" + f.ShellLine + "). This looks like a shell command, not JavaScript."
	}
	return fmt.Sprintf("exec preflight: detected likely shell variable injection (%s) in python script: %s:%d.\n", f.Token, f.File, f.Line) +
		"In Python, use os.environ.get(\"" + f.Name + "\") instead of raw " + f.Token + ".\n" +
		"(If this is inside a string literal on purpose, escape it or restructure the code.)"
}
