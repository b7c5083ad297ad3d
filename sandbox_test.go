// Tests of the shell selection, the allowlist entries and the bubblewrap probe.

package main

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/execmcp/execmcp/policy"
)

// writeExe creates an executable file dir/name.
func writeExe(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAllowlistEntries(t *testing.T) {
	cfg, _ := mustLoad(t, "", []string{"HOME=/home/me", "EXECMCP_SECURITY=allowlist",
		"EXECMCP_ALLOWLIST= git ,~/bin/*,/usr/bin/wc,,~,~/tools/**"}, t.TempDir())
	want := []string{"git", "/home/me/bin/*", "/usr/bin/wc", "~", "/home/me/tools/**"}
	if cfg.Security != "allowlist" || !slices.Equal(cfg.Allowlist, want) {
		t.Errorf("security %q allowlist %q, want allowlist %q", cfg.Security, cfg.Allowlist, want)
	}
	// Without HOME, ~ stays and the entry is not absolute; ~user is never expanded.
	_, problems, _ := load(t, "", "", []string{"EXECMCP_ALLOWLIST=~/bin/x"}, t.TempDir())
	if !slices.Equal(problems, []string{`tools.exec.allowlist: "~/bin/x" must be an executable name or an absolute path glob`}) {
		t.Errorf("problems = %q", problems)
	}
	_, problems, _ = load(t, "", "", []string{"HOME=/home/me", "EXECMCP_ALLOWLIST=~bob/bin/x,x/y"}, t.TempDir())
	if !slices.Equal(problems, []string{
		`tools.exec.allowlist: "~bob/bin/x" must be an executable name or an absolute path glob`,
		`tools.exec.allowlist: "x/y" must be an executable name or an absolute path glob`}) {
		t.Errorf("problems = %q", problems)
	}
}

func TestSandboxStartupChecks(t *testing.T) {
	saved := sandboxProbeTimeout
	sandboxProbeTimeout = 500 * time.Millisecond
	t.Cleanup(func() { sandboxProbeTimeout = saved })
	script := func(body string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "bwrap"), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	check := func(pathDir string, network bool) (config, error) {
		cfg := config{Sandbox: "bwrap", SandboxNetwork: network, Shell: "/bin/sh"}
		err := checkPolicyStartup(&cfg, []string{"PATH=" + pathDir}, slog.New(slog.DiscardHandler))
		return cfg, err
	}
	if _, err := check(t.TempDir(), false); err == nil || err.Error() != `tools.exec.sandbox is "bwrap" but bwrap was not found on PATH` {
		t.Errorf("missing bwrap: %v", err)
	}
	if _, err := check(script("echo >&2; echo 'bwrap: No permissions to create new namespace' >&2; echo more >&2; exit 1"), false); err == nil ||
		err.Error() != "bwrap does not work here: bwrap: No permissions to create new namespace" {
		t.Errorf("failing bwrap: %v", err)
	}
	if _, err := check(script("exit 3"), false); err == nil || err.Error() != "bwrap does not work here: exit status 3" {
		t.Errorf("silent failing bwrap: %v", err)
	}
	start := time.Now()
	if _, err := check(script("while :; do :; done"), false); err == nil || err.Error() != "bwrap does not work here: the probe did not finish within 500 ms" {
		t.Errorf("hanging bwrap: %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("hanging probe took %v", el)
	}
	// The probe's argv (docs/reference.md#sandbox); a working sandbox reports CapEff 0.
	dir := script(`printf '%s\n' "$@" > "${0%/*}/args"; echo 0000000000000000`)
	cfg, err := check(dir, true)
	if err != nil || cfg.BwrapPath != filepath.Join(dir, "bwrap") {
		t.Fatalf("working bwrap: %v, path %q", err, cfg.BwrapPath)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "args"))
	if got, want := string(b), "--ro-bind\n/\n/\n--dev\n/dev\n--proc\n/proc\n--unshare-pid\n--cap-drop\nALL\n--die-with-parent\n--\n/bin/sh\n-c\n"+
		policy.SandboxProbeScript+"\n"; got != want {
		t.Errorf("probe args (network) = %q, want %q", got, want)
	}
	if _, err := check(dir, false); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "args"))
	if !strings.Contains(string(b), "--unshare-pid\n--unshare-net\n--cap-drop\nALL\n--die-with-parent\n") {
		t.Errorf("probe args without network = %q", b)
	}
	// A sandbox that keeps capabilities, or does not say, is refused.
	for body, want := range map[string]string{
		"echo 000001fffeffffff": "bwrap does not work here: commands in the sandbox would keep capabilities (CapEff 000001fffeffffff) although bwrap was given --cap-drop ALL",
		"echo 0000000000200000": "bwrap does not work here: commands in the sandbox would keep capabilities (CapEff 0000000000200000) although bwrap was given --cap-drop ALL",
		"true":                  `bwrap does not work here: the probe did not report the capabilities of the sandbox (CapEff of /proc/self/status; got "")`,
		"echo CapEff: x":        `bwrap does not work here: the probe did not report the capabilities of the sandbox (CapEff of /proc/self/status; got "CapEff: x")`,
		"echo 0; echo 0":        `bwrap does not work here: the probe did not report the capabilities of the sandbox (CapEff of /proc/self/status; got "0\n0")`,
	} {
		cfg, err := check(script(body), false)
		if err == nil || err.Error() != want || cfg.BwrapPath != "" {
			t.Errorf("bwrap printing %q: %v (BwrapPath %q), want %q", body, err, cfg.BwrapPath, want)
		}
	}
	// No sandbox: nothing is checked.
	cfg = config{Sandbox: "none", Shell: "/bin/sh"}
	if err := checkPolicyStartup(&cfg, nil, slog.New(slog.DiscardHandler)); err != nil || cfg.BwrapPath != "" {
		t.Errorf("sandbox none: %v %q", err, cfg.BwrapPath)
	}
}

func TestSandboxMissingThroughRealMain(t *testing.T) {
	code, stdout, stderr := runMain(t, nil, []string{"PATH=" + t.TempDir(), "EXECMCP_SANDBOX=bwrap"})
	if code != 1 || stdout != "" || stderr != "execmcp: tools.exec.sandbox is \"bwrap\" but bwrap was not found on PATH\n" {
		t.Errorf("code %d stdout %q stderr %q", code, stdout, stderr)
	}
}

func TestRealBwrapProbe(t *testing.T) {
	if lookPath("bwrap", os.Getenv("PATH")) == "" {
		t.Skip("bwrap is not installed")
	}
	// The precondition: bwrap runs at all here (user namespaces may be disabled).
	if out, err := exec.Command("bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
		"--unshare-net", "--die-with-parent", "--", "/bin/sh", "-c", "true").CombinedOutput(); err != nil {
		t.Skipf("bwrap is not usable here: %v: %s", err, bytes.TrimSpace(out))
	}
	// The probe, with its CapEff check, passes: also as root, where bwrap needs --cap-drop ALL for it.
	for _, shell := range []string{"/bin/sh", lookPath("bash", os.Getenv("PATH")), lookPath("dash", os.Getenv("PATH"))} {
		if shell == "" {
			continue
		}
		cfg := config{Sandbox: "bwrap", Shell: shell}
		if err := checkPolicyStartup(&cfg, os.Environ(), slog.New(slog.DiscardHandler)); err != nil {
			t.Errorf("probe with %s: %v", shell, err)
		}
		if !filepath.IsAbs(cfg.BwrapPath) {
			t.Errorf("BwrapPath = %q", cfg.BwrapPath)
		}
	}
	// Without --cap-drop ALL, root keeps its capabilities and the check refuses them.
	if os.Geteuid() == 0 {
		out, err := exec.Command("bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
			"--die-with-parent", "--", "/bin/sh", "-c", policy.SandboxProbeScript).Output()
		if err != nil {
			t.Fatal(err)
		}
		if err := checkProbeCaps(string(out)); err == nil || !strings.Contains(err.Error(), "would keep capabilities (CapEff ") {
			t.Errorf("root's capabilities without --cap-drop: %v (output %q)", err, out)
		}
	}
}

func TestSandboxHiddenFiles(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if got := sandboxHiddenFiles(config{}); len(got) != 0 {
		t.Errorf("none configured: %q", got)
	}
	got := sandboxHiddenFiles(config{AuthTokensFile: "/etc/execmcp/tokens.json", ConfigPath: "conf/c.json"})
	if want := []string{"/etc/execmcp/tokens.json", filepath.Join(wd, "conf/c.json")}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// A symlink adds the file it leads to.
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "real.json"), []byte("{}"), 0o600)
	os.Symlink("real.json", filepath.Join(dir, "link.json"))
	got = sandboxHiddenFiles(config{AuthTokensFile: filepath.Join(dir, "link.json"), ConfigPath: filepath.Join(dir, "real.json")})
	if want := []string{filepath.Join(dir, "link.json"), filepath.Join(dir, "real.json"), filepath.Join(dir, "real.json")}; !slices.Equal(got, want) {
		t.Errorf("symlink: got %q, want %q", got, want)
	}
}

func TestAllowlistShellWarning(t *testing.T) {
	for shell, warn := range map[string]bool{"/bin/sh": false, "/usr/bin/bash": false, "/bin/dash": false, "/usr/bin/zsh": true, "/bin/fish": true} {
		var buf bytes.Buffer
		cfg := config{Security: "allowlist", Sandbox: "none", Shell: shell}
		if err := checkPolicyStartup(&cfg, nil, slog.New(slog.NewTextHandler(&buf, nil))); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "parses commands as bash"); got != warn {
			t.Errorf("shell %s: warning %v, want %v (%q)", shell, got, warn, buf.String())
		}
	}
}

func TestShellSelection(t *testing.T) {
	both := t.TempDir() // bash and sh
	bash := writeExe(t, both, "bash")
	writeExe(t, both, "sh")
	onlySh := t.TempDir()
	sh := writeExe(t, onlySh, "sh")
	fishDir := t.TempDir()
	fish := writeExe(t, fishDir, "fish")
	zsh := writeExe(t, fishDir, "zsh")
	notExec := t.TempDir()
	if err := os.WriteFile(filepath.Join(notExec, "bash"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(notExec, "sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()

	tests := []struct {
		name, shell, path, want string
	}{
		{"unset", "", both, "/bin/sh"},
		{"blank", "   ", both, "/bin/sh"},
		{"absolute", "/usr/bin/zsh", both, "/usr/bin/zsh"},
		{"absolute trimmed", " /bin/bash\n", both, "/bin/bash"},
		{"relative with slash", "./myshell", both, "./myshell"},
		{"bare found", "zsh", empty + ":" + fishDir, zsh},
		{"bare not found", "ksh", both, "ksh"},
		{"fish prefers bash", "/usr/bin/fish", fishDir + ":" + onlySh + ":" + both, bash},
		{"fish falls back to sh", "/usr/bin/fish", onlySh + ":" + fishDir, sh},
		{"fish skips non-executables", "/opt/fish", notExec + ":" + onlySh, sh},
		{"fish alone", "/usr/local/bin/fish", fishDir, "/usr/local/bin/fish"},
		{"bare fish alone", "fish", fishDir, fish},
		{"bare fish with bash", "fish", fishDir + ":" + both, bash},
		{"fish empty PATH", "/usr/bin/fish", "", "/usr/bin/fish"},
		{"nologin", "/usr/sbin/nologin", both, "/bin/sh"},
		{"false", "/bin/false", both, "/bin/sh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := selectShell(tt.shell, tt.path); got != tt.want {
				t.Errorf("selectShell(%q, %q) = %q, want %q", tt.shell, tt.path, got, tt.want)
			}
		})
	}

	// loadConfig reads SHELL and PATH from the injected environment.
	cfg, _ := mustLoad(t, "", []string{"SHELL=/usr/bin/fish", "PATH=" + onlySh + ":" + fishDir}, t.TempDir())
	if cfg.Shell != sh {
		t.Errorf("cfg.Shell = %q, want %q", cfg.Shell, sh)
	}
}
