package policy

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestDenial(t *testing.T) {
	var err error = &Denial{Rule: RuleSecurityDeny}
	if err.Error() != "policy: security=deny" {
		t.Fatalf("Error() = %q", err.Error())
	}
	wrapped := fmt.Errorf("context: %w", err)
	var d *Denial
	if !errors.As(wrapped, &d) || d.Rule != RuleSecurityDeny {
		t.Fatal("errors.As failed")
	}
	for _, tt := range []struct {
		d    Denial
		want string
	}{
		{Denial{Rule: RuleAllowlistMiss, Subject: "rm x"}, "policy: allowlist miss: rm x"},
		{Denial{Rule: RuleEnvOverride, Blocked: []string{"PATH"}, Invalid: []string{"1A"}}, "policy: env override refused: PATH, 1A"},
		{Denial{Rule: Rule(200)}, "policy: unknown rule"},
	} {
		if got := tt.d.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	for r := RuleSecurityDeny; r <= RuleElevated; r++ {
		if r.String() == "unknown rule" {
			t.Errorf("rule %d has no name", r)
		}
	}
}

func TestInputLimits(t *testing.T) {
	got := []int{MaxCommandBytes, MaxWorkdirBytes, MaxEnvEntries, MaxInputBytes, MaxKeyItems}
	want := []int{262144, 4096, 256, 1048576, 4096}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("limits = %v, want %v", got, want)
	}
}

// The texts of these denials are checked in tools (TestCheckSecurityTexts).
func TestCheckSecurity(t *testing.T) {
	tests := []struct {
		mode string
		want *Denial // nil: allowed
	}{
		{"full", nil},
		{"", nil},
		{" FULL ", nil},
		{"deny", &Denial{Rule: RuleSecurityDeny}},
		{"Deny", &Denial{Rule: RuleSecurityDeny}},
		{"allowlist", &Denial{Rule: RuleAllowlistMiss, Subject: "rm -rf /tmp/x"}},
		{" AllowList ", &Denial{Rule: RuleAllowlistMiss, Subject: "rm -rf /tmp/x"}},
		{"ask", &Denial{Rule: RuleSecurityMode, Subject: "ask"}},
	}
	rm := Program{Commands: []SimpleCommand{{Kind: KindCall, Source: "rm -rf /tmp/x", Name: Word{Value: "rm", Literal: true}}}}
	for _, tt := range tests {
		parsed := 0
		parse := func() Program { parsed++; return rm }
		err := CheckSecurity(tt.mode, parse, []string{"echo"}, []string{"PATH=/bin"}, "/tmp")
		if want := strings.Contains(strings.ToLower(tt.mode), "allowlist"); (parsed == 1) != want || parsed > 1 {
			t.Errorf("CheckSecurity(%q) parsed %d times", tt.mode, parsed)
		}
		if tt.want == nil {
			if err != nil {
				t.Errorf("CheckSecurity(%q) = %v, want nil", tt.mode, err)
			}
			continue
		}
		var d *Denial
		if !errors.As(err, &d) || !reflect.DeepEqual(d, tt.want) {
			t.Errorf("CheckSecurity(%q) = %#v, want %#v", tt.mode, err, tt.want)
		}
	}
}

func TestTools(t *testing.T) {
	all := ToolSet{Exec: true, Process: true}
	none := ToolSet{}
	execOnly := ToolSet{Exec: true}
	procOnly := ToolSet{Process: true}
	warn := func(n string) string { return fmt.Sprintf("unknown tool name %q in tool policy ignored", n) }
	tests := []struct {
		name        string
		allow, deny []string
		want        ToolSet
		warnings    []string
	}{
		{"defaults", nil, nil, all, nil},
		{"empty lists", []string{}, []string{}, all, nil},
		{"blank entries are absent", []string{"", "  "}, []string{" "}, all, nil},
		{"allow both", []string{"exec", "process"}, nil, all, nil},
		{"allow exec", []string{"exec"}, nil, execOnly, nil},
		{"allow bash alias", []string{"bash"}, nil, execOnly, nil},
		{"allow process", []string{"process"}, nil, procOnly, nil},
		{"allow group", []string{"group:runtime"}, nil, all, nil},
		{"allow star", []string{"*"}, nil, all, nil},
		{"case and space", []string{" EXEC ", "Process"}, nil, all, nil},
		{"deny process", nil, []string{"process"}, execOnly, nil},
		{"deny exec", nil, []string{"exec"}, procOnly, nil},
		{"deny bash alias", nil, []string{"bash"}, procOnly, nil},
		{"deny group", nil, []string{"group:runtime"}, none, nil},
		{"deny star", nil, []string{"*"}, none, nil},
		{"deny wins over allow", []string{"exec", "process"}, []string{"process"}, execOnly, nil},
		{"deny wins over star", []string{"*"}, []string{"bash"}, procOnly, nil},
		{"deny both", []string{"exec"}, []string{"exec", "process"}, none, nil},
		{"unknown in allow warns", []string{"exec", "read", "write"}, nil, execOnly, []string{warn("read"), warn("write")}},
		{"allow only unknown enables nothing", []string{"read"}, nil, none, []string{warn("read")}},
		{"unknown in deny warns", nil, []string{" browser "}, all, []string{warn("browser")}},
		{"warnings allow then deny", []string{"x", "*"}, []string{"y", "process"}, execOnly, []string{warn("x"), warn("y")}},
		{"group:fs unknown", []string{"group:fs"}, nil, none, []string{warn("group:fs")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings := Tools(tt.allow, tt.deny)
			if got != tt.want {
				t.Errorf("ToolSet = %+v, want %+v", got, tt.want)
			}
			if !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("warnings = %q, want %q", warnings, tt.warnings)
			}
		})
	}
}
