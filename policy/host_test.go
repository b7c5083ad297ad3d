package policy

import (
	"errors"
	"testing"
)

const (
	sandboxRuntimeErr = "exec host=sandbox requires a sandbox runtime for this session.\nEnable sandbox mode (`tools.exec.sandbox=\"bwrap\"`) or use host=auto/gateway."
	nodeErr           = "exec host=node is not supported: execmcp runs commands on its own machine only. Use host=auto, host=gateway or host=sandbox."
)

func TestResolveHost(t *testing.T) {
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

	// policy.md §4 table, row by row.
	add("auto", no, []string{"", "auto", "gateway"}, HostGateway, "")
	add("auto", no, []string{"sandbox"}, "", sandboxRuntimeErr)
	add("auto", yes, []string{"", "auto", "sandbox"}, HostSandbox, "")
	add("auto", yes, []string{"gateway"}, "",
		"exec host not allowed (requested gateway; configured host is auto; set tools.exec.host=gateway to allow this override).")
	add("gateway", anySB, []string{"", "gateway"}, HostGateway, "")
	add("gateway", anySB, []string{"auto"}, "",
		"exec host not allowed (requested auto; configured host is gateway; set tools.exec.host=auto to allow this override).")
	add("gateway", anySB, []string{"sandbox"}, "",
		"exec host not allowed (requested sandbox; configured host is gateway; set tools.exec.host=sandbox or auto to allow this override).")
	add("sandbox", yes, []string{"", "sandbox"}, HostSandbox, "")
	add("sandbox", yes, []string{"gateway"}, "",
		"exec host not allowed (requested gateway; configured host is sandbox; set tools.exec.host=gateway or auto to allow this override).")
	for _, c := range []string{"auto", "gateway", "sandbox"} {
		add(c, anySB, []string{"node", " NODE ", "Node"}, "", nodeErr)
		for _, sb := range anySB {
			for _, r := range []string{"", "auto", "sandbox", "gateway", " Gateway "} {
				rows = append(rows, row{c, sb, r, true, HostGateway, ""})
			}
			// elevated does not skip steps 1 and 2
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
		row{"auto", true, " SANDBOX ", false, HostSandbox, ""},
		row{"auto", false, "  ", false, HostGateway, ""},
		row{"auto", true, "\t", false, HostSandbox, ""},
		row{"", false, "", false, HostGateway, ""},
		row{"", true, "", false, HostSandbox, ""},
		row{"sandbox", true, "auto", false, "",
			"exec host not allowed (requested auto; configured host is sandbox; set tools.exec.host=auto to allow this override)."},
		row{"sandbox", false, "", false, "", sandboxRuntimeErr},
		row{"gateway", true, "GATEWAY", false, HostGateway, ""},
		row{"bogus", false, "", false, "", `Invalid configured host "bogus". Expected one of: auto, sandbox, gateway.`},
	)

	for _, r := range rows {
		got, err := ResolveHost(r.requested, r.configured, r.sandbox, r.elevated)
		if r.msg != "" {
			var d *Denial
			if !errors.As(err, &d) || d.Message != r.msg || got != "" {
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

func TestCheckElevated(t *testing.T) {
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
		err := CheckElevated(tt.requested, tt.enabled, tt.sandboxByDefault)
		if tt.msg == "" {
			if err != nil {
				t.Errorf("CheckElevated(%v, %v, %v) = %v, want nil", tt.requested, tt.enabled, tt.sandboxByDefault, err)
			}
			continue
		}
		var d *Denial
		if !errors.As(err, &d) || d.Error() != tt.msg {
			t.Errorf("CheckElevated(%v, %v, %v) = %q, want %q", tt.requested, tt.enabled, tt.sandboxByDefault, err, tt.msg)
		}
	}
}
