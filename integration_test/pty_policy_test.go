package integration_test

// A real terminal for pty:true runs (docs/reference.md#exec-pty), and the policies without a sandbox: env overrides,
// the inherited environment, host routing and elevated (docs/reference.md#env-policy, docs/reference.md#host,
// docs/reference.md#elevated).

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// requirePTY skips the test when this machine cannot allocate pseudo-terminals.
func requirePTY(t *testing.T) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminals on this machine: %v", err)
	}
	ptmx.Close()
	tty.Close()
}

const ttyCommand = `tty; test -t 0 && echo is-tty; stty size; printf '%s' "$TERM"`

// pty:true gives a real terminal of 30 x 120 with TERM=xterm-256color, and log counts CRLF lines as single lines
// (docs/reference.md#exec-pty).
func TestG52RealTerminal(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, Options{})
	r := s.Exec(ttyCommand, "pty", true)
	wantStatus(t, r, "completed")
	for _, want := range []string{"/dev/pts/", "is-tty", "30 120", "xterm-256color"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("pty output %q lacks %q", r.Text, want)
		}
	}
	id, _ := s.Background(ttyCommand, "pty", true)
	s.WaitFinished(id, 10*time.Second)
	r = s.Proc("log", "sessionId", id)
	if r.Int("totalLines") != 4 {
		t.Errorf("log totalLines = %v, want 4 (CRLF lines count once): %q", r.SC["totalLines"], r.Text)
	}
	if strings.Contains(r.Text, "\r") {
		t.Errorf("log slice keeps CR of CRLF line ends: %q", r.Text)
	}
	lines := strings.Split(r.Text, "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "/dev/pts/") || lines[1] != "is-tty" || lines[2] != "30 120" || lines[3] != "xterm-256color" {
		t.Errorf("log lines = %q", lines)
	}
}

// write with eof on a PTY sends EOT, and kill of a PTY session ends its group (docs/reference.md#process-input).
func TestG60EOTAndPTYKill(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`cat`, "pty", true)
	time.Sleep(300 * time.Millisecond)
	wantText(t, s.Proc("write", "sessionId", id, "data", "abc\n", "eof", true), "Wrote 4 bytes to session "+id+" (sent EOT).")
	e := s.WaitFinished(id, 5*time.Second)
	if e["status"] != "completed" || e["exitCode"] != float64(0) {
		t.Errorf("pty cat after EOT: %v, want completed with code 0", e)
	}
	r := s.Proc("poll", "sessionId", id)
	if !strings.Contains(r.Text, "abc") {
		t.Errorf("poll = %q, want the echoed abc", r.Text)
	}

	id2, pid2 := s.Background(`sleep 30`, "pty", true)
	wantText(t, s.Proc("kill", "sessionId", id2), "Termination requested for session "+id2+".")
	if !waitFor(5*time.Second, func() bool { return pgGone(pid2) }) {
		t.Errorf("pty group %d still alive 5 s after kill: %v", pid2, groupMembers(pid2))
	}
}

// Dangerous or invalid env overrides are refused with their exact texts and the command never runs
// (docs/reference.md#env-policy).
func TestH61EnvOverridesRejected(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	cases := []struct {
		env  map[string]any
		want string
	}{
		{map[string]any{"PATH": "/x"}, "Security Violation: Custom 'PATH' variable is forbidden during host execution."},
		{map[string]any{"path": "/x"}, "Security Violation: Custom 'PATH' variable is forbidden during host execution."},
		{map[string]any{"CLASSPATH": "/x"}, "Security Violation: Environment variable 'CLASSPATH' is forbidden during host execution."},
		{map[string]any{"LD_DEBUG": "1"}, "Security Violation: Environment variable 'LD_DEBUG' is forbidden during host execution."},
		{map[string]any{"HTTPS_PROXY": "x", "NODE_TLS_REJECT_UNAUTHORIZED": "0"}, "Security Violation: blocked override keys: HTTPS_PROXY, NODE_TLS_REJECT_UNAUTHORIZED."},
		{map[string]any{"1BAD": "x"}, "Security Violation: invalid non-portable override keys: 1BAD."},
		{map[string]any{"PATH": "/x", "CLASSPATH": "/y"}, "Security Violation: Custom 'PATH' variable is forbidden during host execution (blocked override keys: CLASSPATH, PATH)."},
		{map[string]any{"HOME": "/tmp", "A-B": "x"}, "Security Violation: blocked override keys: HOME; invalid non-portable override keys: A-B."},
	}
	for _, c := range cases {
		wantExecError(t, s.Exec(`touch marker`, "env", c.env), c.want)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "marker")); err == nil {
		t.Errorf("marker was created by a rejected call")
	}
	wantText(t, s.Exec(`printf %s "$FOO$TERM"`, "env", map[string]any{"FOO": "bar", "TERM": "xterm"}), "barxterm")
	listEmpty(t, s)
}

// The inherited environment drops secrets and keeps the rest, env overrides apply, and pathPrepend goes in front of
// the server's PATH (docs/reference.md#env-policy, docs/reference.md#exec-env).
func TestH62InheritedEnv(t *testing.T) {
	par(t)
	s := StartServer(t, Options{Env: []string{"SSLKEYLOGFILE=/tmp/k", "GITHUB_TOKEN=t", "FOO_OK=1"}})
	r := s.Exec(`env`)
	lines := strings.Split(r.Text, "\n")
	has := func(prefix string) bool {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return true
			}
		}
		return false
	}
	for _, p := range []string{"SSLKEYLOGFILE=", "GITHUB_TOKEN="} {
		if has(p) {
			t.Errorf("child env contains %s...", p)
		}
	}
	for _, p := range []string{"HOME=", "FOO_OK=1"} {
		if !has(p) {
			t.Errorf("child env lacks %s: %q", p, r.Text)
		}
	}
	wantText(t, s.Exec(`printf %s "$FOO"`, "env", map[string]any{"FOO": "bar"}), "bar")
	s.Stop(0)

	s2 := StartServer(t, Options{Config: `{"tools": {"exec": {"pathPrepend": ["/opt/a", "/opt/b"]}}}`})
	var serverPath string
	for _, e := range s2.Env {
		if strings.HasPrefix(e, "PATH=") {
			serverPath = strings.TrimPrefix(e, "PATH=")
		}
	}
	r = s2.Exec(`printf %s "$PATH"`)
	// Duplicates are removed keeping the first occurrence (docs/reference.md#exec-env).
	var parts []string
	seen := map[string]bool{}
	for _, p := range append([]string{"/opt/a", "/opt/b"}, strings.Split(serverPath, ":")...) {
		if !seen[p] {
			seen[p] = true
			parts = append(parts, p)
		}
	}
	if want := strings.Join(parts, ":"); r.Text != want {
		t.Errorf("PATH = %q, want %q", r.Text, want)
	}
}

// Host routing without a sandbox: node and sandbox are refused with their texts, gateway and auto run, an unknown
// host is invalid (docs/reference.md#host).
func TestH64HostRouting(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	wantExecError(t, s.Exec(`touch x`, "host", "node"),
		"exec host=node is not supported: execmcp runs commands on its own machine only. Use host=auto, host=gateway or host=sandbox.")
	wantExecError(t, s.Exec(`touch x`, "host", "sandbox"),
		"exec host=sandbox requires a sandbox runtime for this session.\nEnable sandbox mode (`tools.exec.sandbox=\"bwrap\"`) or use host=auto/gateway.")
	wantText(t, s.Exec(`echo ran`, "host", "gateway"), "ran")
	wantText(t, s.Exec(`echo ran`, "host", " AUTO "), "ran")
	wantExecError(t, s.Exec(`touch x`, "host", "weird"), `Invalid host "weird". Expected one of: auto, sandbox, gateway.`)
	if _, err := os.Stat(filepath.Join(s.Dir, "x")); err == nil {
		t.Errorf("a rejected call created x")
	}
}

// elevated is refused unless tools.elevated.enabled, and never bypasses security=deny (docs/reference.md#elevated).
func TestH65Elevated(t *testing.T) {
	par(t)
	const elevatedErr = "elevated is not available right now (runtime=direct).\nFailing gates: enabled (tools.elevated.enabled)\nFix-it keys:\n- tools.elevated.enabled"
	t.Run("disabled", func(t *testing.T) {
		s := StartServer(t, Options{})
		wantExecError(t, s.Exec(`touch x`, "elevated", true), elevatedErr)
		wantText(t, s.Exec(`echo plain`, "elevated", false), "plain")
	})
	t.Run("enabled", func(t *testing.T) {
		s := StartServer(t, Options{Config: `{"tools": {"elevated": {"enabled": true}}}`})
		wantText(t, s.Exec(`echo elevated-ok`, "elevated", true), "elevated-ok")
	})
	t.Run("enabled-env", func(t *testing.T) {
		s := StartServer(t, Options{Env: []string{"EXECMCP_ELEVATED_ENABLED=true"}})
		wantText(t, s.Exec(`echo elevated-ok`, "elevated", true), "elevated-ok")
	})
	t.Run("enabled-deny", func(t *testing.T) {
		s := StartServer(t, Options{Config: `{"tools": {"elevated": {"enabled": true}, "exec": {"security": "deny"}}}`})
		wantExecError(t, s.Exec(`true`, "elevated", true), "exec denied: security=deny")
	})
}
