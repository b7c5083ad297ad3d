package tools

// The texts of policy denials: the decisions of package policy (tested there as typed values) worded by
// errorText, for the same inputs.

import (
	"errors"
	"strings"
	"testing"

	"github.com/execmcp/execmcp/policy"
)

const (
	sandboxRuntimeErr = "exec host=sandbox requires a sandbox runtime for this session.\nEnable sandbox mode (`tools.exec.sandbox=\"bwrap\"`) or use host=auto/gateway."
	nodeErr           = "exec host=node is not supported: execmcp runs commands on its own machine only. Use host=auto, host=gateway or host=sandbox."
)

func TestResolveHostTexts(t *testing.T) {
	type row struct {
		configured string
		sandbox    bool
		requested  string
		elevated   bool
		target     string // "" when msg is set
		msg        string
	}
	var rows []row
	add := func(c string, sandboxes []bool, reqs []string, target, msg string) {
		for _, sb := range sandboxes {
			for _, r := range reqs {
				rows = append(rows, row{c, sb, r, false, target, msg})
			}
		}
	}
	no, yes, anySB := []bool{false}, []bool{true}, []bool{false, true}

	// The host table (docs/reference.md#host), row by row.
	add("auto", no, []string{"", "auto", "gateway"}, policy.HostGateway, "")
	add("auto", no, []string{"sandbox"}, "", sandboxRuntimeErr)
	add("auto", yes, []string{"", "auto", "sandbox"}, policy.HostSandbox, "")
	add("auto", yes, []string{"gateway"}, "",
		"exec host not allowed (requested gateway; configured host is auto; set tools.exec.host=gateway to allow this override).")
	add("gateway", anySB, []string{"", "gateway"}, policy.HostGateway, "")
	add("gateway", anySB, []string{"auto"}, "",
		"exec host not allowed (requested auto; configured host is gateway; set tools.exec.host=auto to allow this override).")
	add("gateway", anySB, []string{"sandbox"}, "",
		"exec host not allowed (requested sandbox; configured host is gateway; set tools.exec.host=sandbox or auto to allow this override).")
	add("sandbox", yes, []string{"", "sandbox"}, policy.HostSandbox, "")
	add("sandbox", yes, []string{"gateway"}, "",
		"exec host not allowed (requested gateway; configured host is sandbox; set tools.exec.host=gateway or auto to allow this override).")
	for _, c := range []string{"auto", "gateway", "sandbox"} {
		add(c, anySB, []string{"node", " NODE ", "Node"}, "", nodeErr)
		for _, sb := range anySB {
			for _, r := range []string{"", "auto", "sandbox", "gateway", " Gateway "} {
				rows = append(rows, row{c, sb, r, true, policy.HostGateway, ""})
			}
			// elevated does not skip the checks of the host value and of node
			rows = append(rows,
				row{c, sb, "node", true, "", nodeErr},
				row{c, sb, "weird", true, "", `Invalid host "weird". Expected one of: auto, sandbox, gateway.`})
		}
	}

	// Further rows: normalisation, invalid values, remaining combinations.
	rows = append(rows,
		row{"auto", false, "weird", false, "", `Invalid host "weird". Expected one of: auto, sandbox, gateway.`},
		row{"auto", false, " Weird ", false, "", `Invalid host " Weird ". Expected one of: auto, sandbox, gateway.`},
		row{"auto", false, "local", false, "", `Invalid host "local". Expected one of: auto, sandbox, gateway.`},
		row{"auto", true, " SANDBOX ", false, policy.HostSandbox, ""},
		row{"auto", false, "  ", false, policy.HostGateway, ""},
		row{"auto", true, "\t", false, policy.HostSandbox, ""},
		row{"", false, "", false, policy.HostGateway, ""},
		row{"", true, "", false, policy.HostSandbox, ""},
		row{"sandbox", true, "auto", false, "",
			"exec host not allowed (requested auto; configured host is sandbox; set tools.exec.host=auto to allow this override)."},
		row{"sandbox", false, "", false, "", sandboxRuntimeErr},
		row{"gateway", true, "GATEWAY", false, policy.HostGateway, ""},
		row{"bogus", false, "", false, "", `Invalid configured host "bogus". Expected one of: auto, sandbox, gateway.`},
	)

	for _, r := range rows {
		got, err := policy.ResolveHost(r.requested, r.configured, r.sandbox, r.elevated)
		if r.msg != "" {
			var d *policy.Denial
			if !errors.As(err, &d) || errorText(err) != r.msg || got != "" {
				t.Errorf("ResolveHost(%q, %q, sandbox=%v, elevated=%v) = %q, %v; want error %q",
					r.requested, r.configured, r.sandbox, r.elevated, got, err, r.msg)
			}
			continue
		}
		if err != nil || got != r.target {
			t.Errorf("ResolveHost(%q, %q, sandbox=%v, elevated=%v) = %q, %v; want %q",
				r.requested, r.configured, r.sandbox, r.elevated, got, err, r.target)
		}
	}
}

func TestCheckElevatedTexts(t *testing.T) {
	msg := func(rt string) string {
		return "elevated is not available right now (runtime=" + rt + ").\n" +
			"Failing gates: enabled (tools.elevated.enabled)\n" +
			"Fix-it keys:\n" +
			"- tools.elevated.enabled"
	}
	tests := []struct {
		requested, enabled, sandboxByDefault bool
		msg                                  string
	}{
		{false, false, false, ""},
		{false, false, true, ""},
		{false, true, false, ""},
		{true, true, false, ""},
		{true, true, true, ""},
		{true, false, false, msg("direct")},
		{true, false, true, msg("sandboxed")},
	}
	for _, tt := range tests {
		err := policy.CheckElevated(tt.requested, tt.enabled, tt.sandboxByDefault)
		if tt.msg == "" {
			if err != nil {
				t.Errorf("CheckElevated(%v, %v, %v) = %v, want nil", tt.requested, tt.enabled, tt.sandboxByDefault, err)
			}
			continue
		}
		var d *policy.Denial
		if !errors.As(err, &d) || errorText(err) != tt.msg {
			t.Errorf("CheckElevated(%v, %v, %v) = %q, want %q", tt.requested, tt.enabled, tt.sandboxByDefault, err, tt.msg)
		}
	}
}

func TestValidateEnvTexts(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		msg  string
	}{
		// Every refused row of the examples table (docs/reference.md#env-policy); policy tests the accepted ones.
		{"path", map[string]string{"PATH": "/explicit/bin"},
			"Security Violation: Custom 'PATH' variable is forbidden during host execution."},
		{"path lower", map[string]string{"path": "/x"},
			"Security Violation: Custom 'PATH' variable is forbidden during host execution."},
		{"classpath", map[string]string{"CLASSPATH": "/x"},
			"Security Violation: Environment variable 'CLASSPATH' is forbidden during host execution."},
		{"ld prefix", map[string]string{"LD_DEBUG": "1"},
			"Security Violation: Environment variable 'LD_DEBUG' is forbidden during host execution."},
		{"two blocked", map[string]string{"HTTPS_PROXY": "x", "NODE_TLS_REJECT_UNAUTHORIZED": "0"},
			"Security Violation: blocked override keys: HTTPS_PROXY, NODE_TLS_REJECT_UNAUTHORIZED."},
		{"invalid", map[string]string{"1BAD": "x"},
			"Security Violation: invalid non-portable override keys: 1BAD."},
		{"path and classpath", map[string]string{"PATH": "/x", "CLASSPATH": "/y"},
			"Security Violation: Custom 'PATH' variable is forbidden during host execution (blocked override keys: CLASSPATH, PATH)."},
		{"home and invalid", map[string]string{"HOME": "/tmp", "A-B": "x"},
			"Security Violation: blocked override keys: HOME; invalid non-portable override keys: A-B."},

		// Further variants.
		{"blocked reported upper-cased", map[string]string{"classpath": "/x"},
			"Security Violation: Environment variable 'CLASSPATH' is forbidden during host execution."},
		{"duplicates merged", map[string]string{"PATH": "/x", "path": "/y", " Path ": "/z"},
			"Security Violation: Custom 'PATH' variable is forbidden during host execution."},
		{"duplicate blocked merged", map[string]string{"classpath": "/x", "CLASSPATH": "/y"},
			"Security Violation: Environment variable 'CLASSPATH' is forbidden during host execution."},
		{"path and invalid", map[string]string{"PATH": "/x", "A.B": "x"},
			"Security Violation: Custom 'PATH' variable is forbidden during host execution (blocked override keys: PATH; invalid non-portable override keys: A.B)."},
		{"single blocked plus invalid", map[string]string{"CLASSPATH": "/x", "9": "x"},
			"Security Violation: blocked override keys: CLASSPATH; invalid non-portable override keys: 9."},
		{"invalid sorted bytewise, trimmed", map[string]string{" b-c ": "x", "B-C": "y", "a b": "z", "1": "w"},
			"Security Violation: invalid non-portable override keys: 1, B-C, a b, b-c."},
		{"invalid deduplicated after trim", map[string]string{"A-B": "x", " A-B": "y"},
			"Security Violation: invalid non-portable override keys: A-B."},
		{"empty key invalid", map[string]string{"  ": "x"},
			"Security Violation: invalid non-portable override keys: ."},
		{"non-ascii invalid", map[string]string{"ÄRGER": "x"},
			"Security Violation: invalid non-portable override keys: ÄRGER."},
		{"blocked sorted bytewise", map[string]string{"gh_token": "x", "AWS_ACCESS_KEY_ID": "y", "bash_env": "z"},
			"Security Violation: blocked override keys: AWS_ACCESS_KEY_ID, BASH_ENV, GH_TOKEN."},
		{"allowedInherited not overridable", map[string]string{"SSH_AUTH_SOCK": "/s"},
			"Security Violation: Environment variable 'SSH_AUTH_SOCK' is forbidden during host execution."},
		{"override prefix", map[string]string{"GIT_CONFIG_COUNT": "1"},
			"Security Violation: Environment variable 'GIT_CONFIG_COUNT' is forbidden during host execution."},
		{"override prefixes lower", map[string]string{"npm_config_registry": "r", "tf_var_x": "1", "cargo_registries_a_index": "i"},
			"Security Violation: blocked override keys: CARGO_REGISTRIES_A_INDEX, NPM_CONFIG_REGISTRY, TF_VAR_X."},
		{"everywhere prefixes", map[string]string{"DYLD_X": "1", "BASH_FUNC_f": "1"},
			"Security Violation: blocked override keys: BASH_FUNC_F, DYLD_X."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := policy.ValidateEnv(tt.env)
			var d *policy.Denial
			if !errors.As(err, &d) {
				t.Fatalf("err = %v (%T), want *policy.Denial", err, err)
			}
			if text := errorText(err); text != tt.msg {
				t.Fatalf("message\n got %q\nwant %q", text, tt.msg)
			}
			if got != nil {
				t.Fatalf("map = %v, want nil on denial", got)
			}
		})
	}
}

func TestCheckSecurityTexts(t *testing.T) {
	tests := []struct {
		mode string
		msg  string
	}{
		{"full", ""},
		{"", ""},
		{" FULL ", ""},
		{"deny", "exec denied: security=deny"},
		{"Deny", "exec denied: security=deny"},
		{"allowlist", "exec denied: allowlist miss (rm -rf /tmp/x)"},
		{" AllowList ", "exec denied: allowlist miss (rm -rf /tmp/x)"},
		{"ask", `exec denied: unsupported security mode "ask"`},
	}
	rm := policy.Program{Commands: []policy.SimpleCommand{{Kind: policy.KindCall, Source: "rm -rf /tmp/x", Name: policy.Word{Value: "rm", Literal: true}}}}
	for _, tt := range tests {
		parsed := 0
		parse := func() policy.Program { parsed++; return rm }
		err := policy.CheckSecurity(tt.mode, parse, []string{"echo"}, []string{"PATH=/bin"}, "/tmp")
		if want := strings.Contains(tt.msg, "allowlist"); (parsed == 1) != want || parsed > 1 {
			t.Errorf("CheckSecurity(%q) parsed %d times", tt.mode, parsed)
		}
		if tt.msg == "" {
			if err != nil {
				t.Errorf("CheckSecurity(%q) = %v, want nil", tt.mode, err)
			}
			continue
		}
		var d *policy.Denial
		if !errors.As(err, &d) || errorText(err) != tt.msg {
			t.Errorf("CheckSecurity(%q) = %v, want %q", tt.mode, err, tt.msg)
		}
	}
}

func TestErrorTextOfOtherErrors(t *testing.T) {
	if got := errorText(errors.New("workdir \"x\" does not exist")); got != `workdir "x" does not exist` {
		t.Errorf("plain error %q", got)
	}
	if got := errorText(&policy.Denial{Rule: policy.Rule(200), Subject: "x"}); got != "policy: unknown rule: x" {
		t.Errorf("unknown rule %q", got)
	}
	if got := errorText(&policy.Denial{Rule: policy.RuleUnparsable, Subject: "1:1: bad"}); got != "exec denied: allowlist cannot parse command (1:1: bad)" {
		t.Errorf("parse error %q", got)
	}
	if got := errorText(&policy.Denial{Rule: policy.RuleNoParser}); got != "exec denied: allowlist cannot parse command (no parser)" {
		t.Errorf("no parser %q", got)
	}
	if got := errorText(&policy.Denial{Rule: policy.RuleAllowlistMiss, Subject: "$((x))"}); got != "exec denied: allowlist miss ($((x)))" {
		t.Errorf("miss %q", got)
	}
}
