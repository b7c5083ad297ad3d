package policy

import "strings"

// Rule names the rule behind a Denial.
type Rule uint8

// The rules a request can break. The comment of each says which Denial fields it sets.
const (
	// RuleSecurityDeny: tools.exec.security is deny.
	RuleSecurityDeny Rule = iota + 1
	// RuleSecurityMode: tools.exec.security has a value this server does not know (Subject, as configured).
	RuleSecurityMode
	// RuleNoParser: the allowlist mode got no parser to judge the command with.
	RuleNoParser
	// RuleUnparsable: the allowlist mode could not parse the command (Subject: the parser's message).
	RuleUnparsable
	// RuleAllowlistMiss: a unit of the command matches no allowlist entry (Subject: the unit's source text, as
	// written).
	RuleAllowlistMiss
	// RuleEnvOverride: env overrides that are refused (Blocked, Invalid).
	RuleEnvOverride
	// RuleConfiguredHost: tools.exec.host has a value this server does not know (Subject, as configured).
	RuleConfiguredHost
	// RuleHostValue: the host parameter is not a known host (Subject, as given).
	RuleHostValue
	// RuleHostNode: the host parameter asks for node, which this server does not support.
	RuleHostNode
	// RuleHostOverride: the host parameter differs from the configured host, which does not allow that override
	// (Subject: the requested host, trimmed and lower-cased; Configured; AllowedBy).
	RuleHostOverride
	// RuleNoSandbox: the call would run in the sandbox but no sandbox runtime is configured.
	RuleNoSandbox
	// RuleElevated: elevated was requested but is not enabled (Sandboxed).
	RuleElevated
)

var ruleNames = [...]string{
	RuleSecurityDeny:   "security=deny",
	RuleSecurityMode:   "unsupported security mode",
	RuleNoParser:       "no parser",
	RuleUnparsable:     "command does not parse",
	RuleAllowlistMiss:  "allowlist miss",
	RuleEnvOverride:    "env override refused",
	RuleConfiguredHost: "invalid configured host",
	RuleHostValue:      "invalid host",
	RuleHostNode:       "host node unsupported",
	RuleHostOverride:   "host override not allowed",
	RuleNoSandbox:      "no sandbox runtime",
	RuleElevated:       "elevated not enabled",
}

// String is a short name of the rule, for logs and test messages.
func (r Rule) String() string {
	if int(r) < len(ruleNames) && ruleNames[r] != "" {
		return ruleNames[r]
	}
	return "unknown rule"
}

// Denial is a policy decision against a request: the rule it breaks and the facts that rule names. It carries
// no message: package tools words every denial for the caller. Functions of this package return denials as
// *Denial; use errors.As with a **Denial target (var d *policy.Denial; errors.As(err, &d)).
type Denial struct {
	Rule Rule
	// Subject is the value the rule refused; see the Rule constants for which one.
	Subject string
	// Configured is the configured host, trimmed and lower-cased (RuleHostOverride).
	Configured string
	// AllowedBy lists the tools.exec.host values that would allow the requested host (RuleHostOverride).
	AllowedBy []string
	// Blocked and Invalid are the refused env override keys (RuleEnvOverride), de-duplicated and sorted
	// byte-wise: blocked keys upper-cased, invalid ones trimmed. PATH, when given, is among the blocked keys.
	Blocked, Invalid []string
	// Sandboxed: commands run in the sandbox by default (RuleElevated).
	Sandboxed bool
}

// Error describes the denial for logs; it is not the text the caller sees.
func (d *Denial) Error() string {
	msg := "policy: " + d.Rule.String()
	switch {
	case d.Subject != "":
		msg += ": " + d.Subject
	case len(d.Blocked)+len(d.Invalid) > 0:
		msg += ": " + strings.Join(append(append([]string(nil), d.Blocked...), d.Invalid...), ", ")
	}
	return msg
}

// Input limits (docs/reference.md#input-limits). The checks themselves (with their messages) are done by the
// tool adapters while decoding arguments.
const (
	// MaxCommandBytes is the largest exec command, in bytes of UTF-8.
	MaxCommandBytes = 262144
	// MaxWorkdirBytes is the largest exec workdir, in bytes of UTF-8.
	MaxWorkdirBytes = 4096
	// MaxEnvEntries is the largest number of exec env entries.
	MaxEnvEntries = 256
	// MaxInputBytes is the largest process write data, paste payload
	// (markers included) and send-keys payload, in bytes.
	MaxInputBytes = 1048576
	// MaxKeyItems is the largest number of items of process keys and of hex.
	MaxKeyItems = 4096
	// MaxTitleChars is the longest exec title, in chars (the maxLength of its schema, as OpenClaw's).
	MaxTitleChars = 120
)
