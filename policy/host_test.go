package policy

import (
	"errors"
	"reflect"
	"testing"
)

var (
	sandboxRuntimeErr = &Denial{Rule: RuleNoSandbox}
	nodeErr           = &Denial{Rule: RuleHostNode}
)

func overrideErr(requested, configured string, allowedBy ...string) *Denial {
	return &Denial{Rule: RuleHostOverride, Subject: requested, Configured: configured, AllowedBy: allowedBy}
}

func hostValueErr(requested string) *Denial { return &Denial{Rule: RuleHostValue, Subject: requested} }

// The texts of these denials are checked in tools (TestResolveHostTexts).

func TestResolveHost(t *testing.T) {
	type row struct {
		configured string
		sandbox    bool
		requested  string
		elevated   bool
		target     string // "" when want is set
		want       *Denial
	}
	var rows []row
	add := func(c string, sandboxes []bool, reqs []string, target string, msg *Denial) {
		for _, sb := range sandboxes {
			for _, r := range reqs {
				rows = append(rows, row{c, sb, r, false, target, msg})
			}
		}
	}
	no, yes, anySB := []bool{false}, []bool{true}, []bool{false, true}

	// The host table (docs/reference.md#host), row by row.
	add("auto", no, []string{"", "auto", "gateway"}, HostGateway, nil)
	add("auto", no, []string{"sandbox"}, "", sandboxRuntimeErr)
	add("auto", yes, []string{"", "auto", "sandbox"}, HostSandbox, nil)
	add("auto", yes, []string{"gateway"}, "", overrideErr("gateway", "auto", "gateway"))
	add("gateway", anySB, []string{"", "gateway"}, HostGateway, nil)
	add("gateway", anySB, []string{"auto"}, "", overrideErr("auto", "gateway", "auto"))
	add("gateway", anySB, []string{"sandbox"}, "", overrideErr("sandbox", "gateway", "sandbox", "auto"))
	add("sandbox", yes, []string{"", "sandbox"}, HostSandbox, nil)
	add("sandbox", yes, []string{"gateway"}, "", overrideErr("gateway", "sandbox", "gateway", "auto"))
	for _, c := range []string{"auto", "gateway", "sandbox"} {
		add(c, anySB, []string{"node", " NODE ", "Node"}, "", nodeErr)
		for _, sb := range anySB {
			for _, r := range []string{"", "auto", "sandbox", "gateway", " Gateway "} {
				rows = append(rows, row{c, sb, r, true, HostGateway, nil})
			}
			// elevated does not skip the checks of the host value and of node
			rows = append(rows,
				row{c, sb, "node", true, "", nodeErr},
				row{c, sb, "weird", true, "", hostValueErr("weird")})
		}
	}

	// Further rows: normalisation, invalid values, remaining combinations.
	rows = append(rows,
		row{"auto", false, "weird", false, "", hostValueErr("weird")},
		row{"auto", false, " Weird ", false, "", hostValueErr(" Weird ")},
		row{"auto", false, "local", false, "", hostValueErr("local")},
		row{"auto", true, " SANDBOX ", false, HostSandbox, nil},
		row{"auto", false, "  ", false, HostGateway, nil},
		row{"auto", true, "\t", false, HostSandbox, nil},
		row{"", false, "", false, HostGateway, nil},
		row{"", true, "", false, HostSandbox, nil},
		row{"sandbox", true, "auto", false, "", overrideErr("auto", "sandbox", "auto")},
		row{"sandbox", false, "", false, "", sandboxRuntimeErr},
		row{"gateway", true, "GATEWAY", false, HostGateway, nil},
		row{"bogus", false, "", false, "", &Denial{Rule: RuleConfiguredHost, Subject: "bogus"}},
		row{" Gateway ", true, "sandbox", false, "", overrideErr("sandbox", "gateway", "sandbox", "auto")},
	)

	for _, r := range rows {
		got, err := ResolveHost(r.requested, r.configured, r.sandbox, r.elevated)
		if r.want != nil {
			var d *Denial
			if !errors.As(err, &d) || !reflect.DeepEqual(d, r.want) || got != "" {
				t.Errorf("ResolveHost(%q, %q, sandbox=%v, elevated=%v) = %q, %#v; want error %#v",
					r.requested, r.configured, r.sandbox, r.elevated, got, err, r.want)
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
	tests := []struct {
		requested, enabled, sandboxByDefault bool
		want                                 *Denial
	}{
		{false, false, false, nil},
		{false, false, true, nil},
		{false, true, false, nil},
		{true, true, false, nil},
		{true, true, true, nil},
		{true, false, false, &Denial{Rule: RuleElevated}},
		{true, false, true, &Denial{Rule: RuleElevated, Sandboxed: true}},
	}
	for _, tt := range tests {
		err := CheckElevated(tt.requested, tt.enabled, tt.sandboxByDefault)
		if tt.want == nil {
			if err != nil {
				t.Errorf("CheckElevated(%v, %v, %v) = %v, want nil", tt.requested, tt.enabled, tt.sandboxByDefault, err)
			}
			continue
		}
		var d *Denial
		if !errors.As(err, &d) || !reflect.DeepEqual(d, tt.want) {
			t.Errorf("CheckElevated(%v, %v, %v) = %#v, want %#v", tt.requested, tt.enabled, tt.sandboxByDefault, err, tt.want)
		}
	}
}
