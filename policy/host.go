package policy

import "strings"

// Host targets and configured host values (docs/reference.md#host).
const (
	HostAuto    = "auto"
	HostSandbox = "sandbox"
	HostGateway = "gateway"
)

// ResolveHost decides where a command runs (docs/reference.md#host). It is
// called after CheckElevated passed; elevated is the elevated parameter.
//
// requested is the host parameter as given ("" = absent); it is trimmed and
// lower-cased, and empty after trimming counts as absent. configured is
// tools.exec.host ("auto", "sandbox" or "gateway"; "" means auto).
// sandboxAvailable is true when tools.exec.sandbox is "bwrap".
//
// The steps, in order:
//
//  1. a host value other than auto, sandbox, gateway and node is refused
//     (RuleHostValue);
//  2. node is refused (RuleHostNode);
//  3. elevated runs on the gateway;
//  4. a requested host other than the configured one is refused
//     (RuleHostOverride) unless the configured host is auto and the request
//     is sandbox, or gateway without an available sandbox;
//  5. the effective host is the requested one, else the configured one; auto
//     becomes sandbox when a sandbox is available, else gateway;
//  6. sandbox without an available sandbox is refused (RuleNoSandbox).
//
// An unknown configured host fails closed (RuleConfiguredHost). The target is
// HostGateway or HostSandbox; failures are *Denial values.
func ResolveHost(requested, configured string, sandboxAvailable, elevated bool) (string, error) {
	r := strings.ToLower(strings.TrimSpace(requested))
	c := strings.ToLower(strings.TrimSpace(configured))
	if c == "" {
		c = HostAuto
	}
	switch c {
	case HostAuto, HostSandbox, HostGateway:
	default:
		// main validates tools.exec.host at startup; fail closed regardless.
		return "", &Denial{Rule: RuleConfiguredHost, Subject: configured}
	}

	// Step 1.
	switch r {
	case "", HostAuto, HostSandbox, HostGateway, "node":
	default:
		return "", &Denial{Rule: RuleHostValue, Subject: requested}
	}
	// Step 2.
	if r == "node" {
		return "", &Denial{Rule: RuleHostNode}
	}
	// Step 3.
	if elevated {
		return HostGateway, nil
	}
	// Step 4.
	if r != "" && r != c {
		allowed := c == HostAuto && (r == HostSandbox || (r == HostGateway && !sandboxAvailable))
		if !allowed {
			by := []string{r}
			if c != HostAuto && r != HostAuto {
				by = append(by, HostAuto) // auto allows sandbox, and gateway where no sandbox is available
			}
			return "", &Denial{Rule: RuleHostOverride, Subject: r, Configured: c, AllowedBy: by}
		}
	}
	// Step 5.
	eff := c
	if r != "" {
		eff = r
	}
	if eff == HostAuto {
		if sandboxAvailable {
			eff = HostSandbox
		} else {
			eff = HostGateway
		}
	}
	// Step 6.
	if eff == HostSandbox && !sandboxAvailable {
		return "", &Denial{Rule: RuleNoSandbox}
	}
	return eff, nil
}

// CheckElevated is the elevated gate (docs/reference.md#elevated), checked
// before the host is resolved. requested is the elevated parameter, enabled
// is tools.elevated.enabled and sandboxByDefault is true when commands would
// run in the sandbox by default (tools.exec.sandbox is "bwrap" and
// tools.exec.host is not "gateway"). It returns a *Denial (RuleElevated) when
// elevated is requested but not enabled, else nil.
func CheckElevated(requested, enabled, sandboxByDefault bool) error {
	if !requested || enabled {
		return nil
	}
	return &Denial{Rule: RuleElevated, Sandboxed: sandboxByDefault}
}
