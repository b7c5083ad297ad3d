package policy

import (
	"fmt"
	"strings"
)

// Host targets and configured host values (policy.md §4).
const (
	HostAuto    = "auto"
	HostSandbox = "sandbox"
	HostGateway = "gateway"
)

// ResolveHost decides where a command runs (policy.md §4 steps 1-6, exec.md §4
// steps 6-7). It is called after CheckElevated passed; elevated is the
// elevated parameter.
//
// requested is the host parameter as given ("" = absent); it is trimmed and
// lower-cased, and empty after trimming counts as absent. configured is
// tools.exec.host ("auto", "sandbox" or "gateway"; "" means auto).
// sandboxAvailable is true when tools.exec.sandbox is "bwrap".
//
// The target is HostGateway or HostSandbox; failures are *Denial values with
// the exact texts of policy.md §4.
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
		return "", deny(fmt.Sprintf("Invalid configured host %q. Expected one of: auto, sandbox, gateway.", configured))
	}

	// Step 1.
	switch r {
	case "", HostAuto, HostSandbox, HostGateway, "node":
	default:
		return "", deny("Invalid host \"" + requested + "\". Expected one of: auto, sandbox, gateway.")
	}
	// Step 2.
	if r == "node" {
		return "", deny("exec host=node is not supported: execmcp runs commands on its own machine only. Use host=auto, host=gateway or host=sandbox.")
	}
	// Step 3.
	if elevated {
		return HostGateway, nil
	}
	// Step 4.
	if r != "" && r != c {
		allowed := c == HostAuto && (r == HostSandbox || (r == HostGateway && !sandboxAvailable))
		if !allowed {
			a := r
			if c != HostAuto && r != HostAuto {
				a = r + " or auto"
			}
			return "", deny(fmt.Sprintf("exec host not allowed (requested %s; configured host is %s; set tools.exec.host=%s to allow this override).", r, c, a))
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
		return "", deny("exec host=sandbox requires a sandbox runtime for this session.\n" +
			"Enable sandbox mode (`tools.exec.sandbox=\"bwrap\"`) or use host=auto/gateway.")
	}
	return eff, nil
}

// CheckElevated is the elevated gate of policy.md §6 (exec.md §4 step 5).
// requested is the elevated parameter, enabled is tools.elevated.enabled and
// sandboxByDefault is true when commands would run in the sandbox by default
// (tools.exec.sandbox is "bwrap" and tools.exec.host is not "gateway"). It
// returns a *Denial with the four-line message when elevated is requested but
// not enabled, else nil.
func CheckElevated(requested, enabled, sandboxByDefault bool) error {
	if !requested || enabled {
		return nil
	}
	runtime := "direct"
	if sandboxByDefault {
		runtime = "sandboxed"
	}
	return deny("elevated is not available right now (runtime=" + runtime + ").\n" +
		"Failing gates: enabled (tools.elevated.enabled)\n" +
		"Fix-it keys:\n" +
		"- tools.elevated.enabled")
}
