package integration_test

// Policy through the real binary: security modes with the allowlist's bypass shapes (docs/reference.md#security-modes,
// docs/reference.md#allowlist), host routing and elevated with a sandbox configured (docs/reference.md#host,
// docs/reference.md#elevated), the bubblewrap sandbox (docs/reference.md#sandbox), and the startup refusals of a bad
// allowlist entry and an unusable sandbox.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	parseErrX      = "exec denied: allowlist cannot parse command (1:6: reached EOF without closing quote `'`)"
	hostNotAllowed = "exec host not allowed (requested %s; configured host is %s; set tools.exec.host=%s to allow this override)."
)

// sandboxUsable skips the test when bwrap is missing or its startup probe fails here (a missing precondition).
func sandboxUsable(t *testing.T) {
	t.Helper()
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("bwrap is not installed")
	}
	out, err := exec.Command(bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
		"--unshare-net", "--die-with-parent", "--", "/bin/sh", "-c", "true").CombinedOutput()
	if err != nil {
		t.Skipf("bwrap does not work here: %v: %s", err, strings.TrimSpace(string(out)))
	}
}

// dirOutsideTmp returns a fresh directory that is not below /tmp (the sandbox's /tmp is private and empty only
// when the workdir is not mounted inside it), or "" when none can be made.
func dirOutsideTmp(t *testing.T) string {
	t.Helper()
	for _, base := range []string{os.Getenv("EXECMCP_TEST_NONTMP_DIR"), "/var/tmp", "."} {
		if base == "" {
			continue
		}
		d, err := os.MkdirTemp(base, "execmcp-sbx-")
		if err != nil {
			continue
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		abs, err := filepath.Abs(d)
		if err == nil {
			abs, err = filepath.EvalSymlinks(abs)
		}
		if err != nil || abs == "/tmp" || strings.HasPrefix(abs, "/tmp/") {
			continue
		}
		return abs
	}
	return ""
}

// hostInterfaces lists the interface names of /proc/net/dev.
func interfaces(procNetDev string) []string {
	var out []string
	for _, line := range strings.Split(procNetDev, "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && !strings.Contains(name, "|") {
			out = append(out, strings.TrimSpace(name))
		}
	}
	return out
}

// pidOf parses the output of `echo $$`.
func pidOf(t *testing.T, r *Result) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(r.Text))
	if err != nil {
		t.Fatalf("not a pid: %s", r)
	}
	return n
}

// Security modes: deny refuses every command; allowlist runs only listed commands, checking every simple command
// including substitutions and refusing dangerous assignments and unparsable commands; full runs anything
// (docs/reference.md#security-modes, docs/reference.md#allowlist).
func TestH63SecurityModes(t *testing.T) {
	par(t)
	t.Run("deny", func(t *testing.T) {
		s := StartServer(t, Options{Config: `{"tools": {"exec": {"security": "deny"}}}`})
		wantExecError(t, s.Exec(`true`), "exec denied: security=deny")
		wantExecError(t, s.Exec(`touch pwned`, "pty", true), "exec denied: security=deny")
		wantExecError(t, s.Exec(`touch pwned`, "background", true), "exec denied: security=deny")
		if _, err := os.Stat(filepath.Join(s.Dir, "pwned")); err == nil {
			t.Error("a denied command ran")
		}
		listEmpty(t, s)
	})
	t.Run("deny-env", func(t *testing.T) {
		s := StartServer(t, Options{Env: []string{"EXECMCP_SECURITY=deny"}})
		wantExecError(t, s.Exec(`true`), "exec denied: security=deny")
	})
	t.Run("allowlist", func(t *testing.T) {
		s := StartServer(t, Options{Config: `{"tools": {"exec": {"security": "allowlist", "allowlist": ["echo", "tr"]}}}`})
		wantText(t, s.Exec(`echo ok | tr a-z A-Z`), "OK")
		wantExecError(t, s.Exec(`echo ok | sort`), "exec denied: allowlist miss (sort)")
		wantExecError(t, s.Exec(`echo $(touch pwned)`), "exec denied: allowlist miss (touch pwned)")
		wantExecError(t, s.Exec(`LD_PRELOAD=/x.so echo hi`), "exec denied: allowlist miss (LD_PRELOAD=/x.so echo hi)")
		wantExecError(t, s.Exec(`echo 'x`), parseErrX)
		if _, err := os.Stat(filepath.Join(s.Dir, "pwned")); err == nil {
			t.Error("pwned exists: a denied command ran")
		}
		// Background and PTY runs are judged the same way.
		wantExecError(t, s.Exec(`touch pwned`, "background", true), "exec denied: allowlist miss (touch pwned)")
		wantExecError(t, s.Exec(`touch pwned`, "pty", true), "exec denied: allowlist miss (touch pwned)")
		listEmpty(t, s)
	})
	t.Run("allowlist-env", func(t *testing.T) {
		s := StartServer(t, Options{Env: []string{"EXECMCP_SECURITY=allowlist", "EXECMCP_ALLOWLIST=echo, /usr/bin/*,/bin/*"}})
		wantText(t, s.Exec(`echo ok | tr a-z A-Z`), "OK") // tr resolves to /usr/bin/tr or /bin/tr on PATH
		wantExecError(t, s.Exec(`./tool`), "exec denied: allowlist miss (./tool)")
	})
}

// The bypass shapes of blocklist-based servers: none may create pwned. The server runs bash when it is
// installed, so that bash-only shapes (arithmetic and subscript evaluation) are real.
func TestH63AllowlistBypassShapes(t *testing.T) {
	par(t)
	var env []string
	bash, _ := exec.LookPath("bash")
	if bash != "" {
		env = append(env, "SHELL="+bash)
	}
	cfg := `{"tools": {"exec": {"security": "allowlist", "allowlist": ["echo", "cat", "printf", "read", "true", "["]}}}`
	s := StartServer(t, Options{Config: cfg, Env: env})
	shapes := []string{
		"`touch pwned`",
		"echo `touch pwned`",
		"echo $(touch pwned)",
		"$(echo touch) pwned",
		"\"$(printf touch)\" pwned",
		"echo ok; touch pwned",
		"echo ok\ntouch pwned",
		"echo ok && touch pwned",
		"true || touch pwned",
		"echo ok | touch pwned",
		"(touch pwned)",
		"{ touch pwned; }",
		"cat <(touch pwned)",
		"echo ok > >(touch pwned)",
		"cat < <(touch pwned)",
		"echo hi > $(touch pwned)",
		"cat <<EOF\n$(touch pwned)\nEOF",
		"echo ${x:-$(touch pwned)}",
		"x=$(touch pwned)",
		"echo $((1 + $(touch pwned)))",
		"[[ $(touch pwned) ]]",
		"t'o'uch pwned",
		`t\ouch pwned`,
		"/usr/bin/tou*h pwned",
		"/bin/tou?h pwned",
		"to{uch,x} pwned",
		"/usr/bin/touch pwned",
		"sh -c 'touch pwned'",
		"bash -c 'touch pwned'",
		"env touch pwned",
		"env -S 'touch pwned'",
		"echo pwned | xargs touch",
		`find . -maxdepth 0 -exec touch pwned \;`,
		"eval 'touch pwned'",
		"exec touch pwned",
		"command touch pwned",
		"f() { touch pwned; }; f",
		"PATH=/tmp echo ok",
		"export PATH=/tmp",
		"x='a[$(touch pwned)]'; echo $((x))",
		"x='a[$(touch pwned)]'; [[ x -eq 1 ]]",
		"x='$(touch pwned)'; echo ${x@P}",
		"x='a[$(touch pwned)]'; echo ${!x}",
		"printf -v 'a[$(touch pwned)]' x",
		"read 'a[$(touch pwned)]' <<< x",
		"[ -v 'a[$(touch pwned)]' ]",
	}
	for _, c := range shapes {
		r := s.Exec(c)
		if !r.IsError || !strings.HasPrefix(r.Text, "exec denied: allowlist ") {
			t.Errorf("%q: want an allowlist denial, got %s", c, r)
		}
		if _, err := os.Stat(filepath.Join(s.Dir, "pwned")); err == nil {
			t.Fatalf("%q created pwned", c)
		}
	}
	// The same program runs when every unit is listed.
	wantText(t, s.Exec("e'c'ho ok; printf '%s\\n' \"$((1 + 2))\""), "ok\n3")

	if bash == "" {
		return
	}
	// Under security full, bash really runs the evaluation shapes: the denials above are not vacuous.
	full := StartServer(t, Options{Env: []string{"SHELL=" + bash}})
	for i, c := range []string{"x='a[$(touch pwned%d)]'; echo $((x))", "printf -v 'a[$(touch pwned%d)]' x"} {
		c = fmt.Sprintf(c, i)
		full.Exec(c)
		if _, err := os.Stat(filepath.Join(full.Dir, fmt.Sprintf("pwned%d", i))); err != nil {
			t.Errorf("under security full, %q did not run its substitution (%v)", c, err)
		}
	}
}

// Host routing with a sandbox configured (without one it is TestH64HostRouting; docs/reference.md#host).
func TestH64HostRoutingWithSandbox(t *testing.T) {
	par(t)
	sandboxUsable(t)
	t.Run("auto", func(t *testing.T) {
		s := StartServer(t, Options{Config: `{"tools": {"exec": {"sandbox": "bwrap"}}}`})
		if pid := pidOf(t, s.Exec(`echo $$`)); pid >= 10 {
			t.Errorf("default target is not the sandbox: pid %d", pid)
		}
		if pid := pidOf(t, s.Exec(`echo $$`, "host", "sandbox")); pid >= 10 {
			t.Errorf("host=sandbox: pid %d", pid)
		}
		if pid := pidOf(t, s.Exec(`echo $$`, "host", " Auto ")); pid >= 10 {
			t.Errorf("host=auto: pid %d", pid)
		}
		wantExecError(t, s.Exec(`touch x`, "host", "gateway"), fmt.Sprintf(hostNotAllowed, "gateway", "auto", "gateway"))
		wantExecError(t, s.Exec(`touch x`, "host", "node"),
			"exec host=node is not supported: execmcp runs commands on its own machine only. Use host=auto, host=gateway or host=sandbox.")
		wantExecError(t, s.Exec(`touch x`, "host", "weird"), `Invalid host "weird". Expected one of: auto, sandbox, gateway.`)
		if _, err := os.Stat(filepath.Join(s.Dir, "x")); err == nil {
			t.Error("a rejected call created x")
		}
	})
	t.Run("gateway", func(t *testing.T) {
		s := StartServer(t, Options{Config: `{"tools": {"exec": {"sandbox": "bwrap", "host": "gateway"}}}`})
		if pid := pidOf(t, s.Exec(`echo $$`)); pid < 10 {
			t.Errorf("configured gateway ran in the sandbox: pid %d", pid)
		}
		wantExecError(t, s.Exec(`true`, "host", "sandbox"), fmt.Sprintf(hostNotAllowed, "sandbox", "gateway", "sandbox or auto"))
		wantExecError(t, s.Exec(`true`, "host", "auto"), fmt.Sprintf(hostNotAllowed, "auto", "gateway", "auto"))
	})
	t.Run("sandbox", func(t *testing.T) {
		s := StartServer(t, Options{Env: []string{"EXECMCP_SANDBOX=bwrap", "EXECMCP_HOST=sandbox"}})
		if pid := pidOf(t, s.Exec(`echo $$`, "host", "sandbox")); pid >= 10 {
			t.Errorf("host=sandbox: pid %d", pid)
		}
		wantExecError(t, s.Exec(`true`, "host", "gateway"), fmt.Sprintf(hostNotAllowed, "gateway", "sandbox", "gateway or auto"))
	})
}

// elevated with a sandbox: elevated means "on the host", and it never bypasses the security mode
// (docs/reference.md#elevated).
func TestH65ElevatedWithSandbox(t *testing.T) {
	par(t)
	sandboxUsable(t)
	s := StartServer(t, Options{Config: `{"tools": {"exec": {"sandbox": "bwrap"}}}`})
	wantExecError(t, s.Exec(`touch x`, "elevated", true),
		"elevated is not available right now (runtime=sandboxed).\nFailing gates: enabled (tools.elevated.enabled)\nFix-it keys:\n- tools.elevated.enabled")
	s.Stop(0)

	g := StartServer(t, Options{Config: `{"tools": {"exec": {"sandbox": "bwrap", "host": "gateway"}}}`})
	wantExecError(t, g.Exec(`touch x`, "elevated", true),
		"elevated is not available right now (runtime=direct).\nFailing gates: enabled (tools.elevated.enabled)\nFix-it keys:\n- tools.elevated.enabled")
	g.Stop(0)

	e := StartServer(t, Options{Config: `{"tools": {"exec": {"sandbox": "bwrap"}, "elevated": {"enabled": true}}}`})
	if pid := pidOf(t, e.Exec(`echo $$`, "elevated", true)); pid < 10 {
		t.Errorf("elevated ran in the sandbox: pid %d", pid)
	}
	if pid := pidOf(t, e.Exec(`echo $$`, "elevated", true, "host", "sandbox")); pid < 10 {
		t.Errorf("elevated with host=sandbox ran in the sandbox: pid %d", pid)
	}
	if pid := pidOf(t, e.Exec(`echo $$`)); pid >= 10 {
		t.Errorf("without elevated the command left the sandbox: pid %d", pid)
	}
	e.Stop(0)

	d := StartServer(t, Options{Config: `{"tools": {"exec": {"sandbox": "bwrap", "security": "allowlist", "allowlist": ["echo"]},
		"elevated": {"enabled": true}}}`})
	wantExecError(t, d.Exec(`touch pwned`, "elevated", true), "exec denied: allowlist miss (touch pwned)")
	wantText(t, d.Exec(`echo fine`, "elevated", true), "fine")
}

// The bubblewrap sandbox: a read-only host, a writable workdir shared with the host, a private /tmp, its own pid
// namespace, loopback only unless sandboxNetwork, and no process left after kill (docs/reference.md#sandbox).
func TestH66Sandbox(t *testing.T) {
	par(t)
	sandboxUsable(t)
	dir := dirOutsideTmp(t)
	var s *Server
	if dir != "" {
		home, _ := filepath.EvalSymlinks(t.TempDir())
		s = startServerIn(t, dir, home, Options{Config: `{"tools": {"exec": {"sandbox": "bwrap"}}}`})
	} else {
		s = StartServer(t, Options{Config: `{"tools": {"exec": {"sandbox": "bwrap"}}}`})
	}

	// The host file system is read-only.
	r := s.Exec(`touch /etc/execmcp-x`)
	wantStatus(t, r, "completed")
	if code, ok := r.Num("exitCode"); !ok || code == 0 {
		t.Errorf("touch /etc/execmcp-x: exitCode %v, want non-zero", r.SC["exitCode"])
	}
	if _, err := os.Stat("/etc/execmcp-x"); err == nil {
		os.Remove("/etc/execmcp-x")
		t.Error("/etc/execmcp-x was created from the sandbox")
	}
	home := s.Home
	wantStatus(t, s.Exec(`touch "$HOME/escaped"`), "completed")
	if _, err := os.Stat(filepath.Join(home, "escaped")); err == nil {
		t.Error("a file outside the workdir was created from the sandbox")
	}
	// The workdir is writable and shared with the host.
	wantText(t, s.Exec(`touch ok && echo made`), "made")
	if _, err := os.Stat(filepath.Join(s.Dir, "ok")); err != nil {
		t.Errorf("file made in the sandbox is not on the host: %v", err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "from-host"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantText(t, s.Exec(`cat from-host`), "hello")
	// A private, empty /tmp.
	if dir != "" {
		wantText(t, s.Exec(`ls -A /tmp | wc -l`), "0")
	} else {
		t.Log("no directory outside /tmp: the empty-/tmp assertion is skipped")
	}
	wantText(t, s.Exec(`touch /tmp/scratch && ls /tmp`), "scratch")
	if _, err := os.Stat("/tmp/scratch"); err == nil {
		t.Error("/tmp of the sandbox is the host's /tmp")
	}
	// Its own pid namespace.
	if pid := pidOf(t, s.Exec(`echo $$`)); pid >= 10 {
		t.Errorf("echo $$ = %d, want a pid below 10", pid)
	}
	// Loopback only.
	r = s.Exec(`cat /proc/net/dev`)
	if got := interfaces(r.Text); len(got) != 1 || got[0] != "lo" {
		t.Errorf("interfaces in the sandbox = %q, want only lo (%q)", got, r.Text)
	}
	// Environment policy applies; the assembled environment passes through.
	wantExecError(t, s.Exec(`true`, "env", map[string]any{"LD_PRELOAD": "/x.so"}),
		"Security Violation: Environment variable 'LD_PRELOAD' is forbidden during host execution.")
	wantText(t, s.Exec(`printf %s "$FOO:$OPENCLAW_SHELL"`, "env", map[string]any{"FOO": "bar"}), "bar:exec")
	// Exit codes and signals.
	r = s.Exec(`exit 7`)
	wantStatus(t, r, "completed")
	wantExitCode(t, r, 7)
	r = s.Exec(`kill -TERM $$`)
	if code, ok := r.Num("exitCode"); r.Str("exitSignal") != "SIGTERM" && (!ok || code != 143) {
		t.Errorf("a shell killed by SIGTERM inside: %s", r)
	}
	// A long command (script on descriptor 3) works through bwrap.
	long := "true " + strings.Repeat("x", 140000) + "; echo long-ok"
	wantText(t, s.Exec(long), "long-ok")
	// The workdir parameter selects the bound directory.
	sub := filepath.Join(s.Dir, "sub")
	os.Mkdir(sub, 0o755)
	wantText(t, s.Exec(`touch inner && pwd`, "workdir", "sub"), sub)
	if _, err := os.Stat(filepath.Join(sub, "inner")); err != nil {
		t.Errorf("workdir sub: %v", err)
	}
	r = s.Exec(`touch x`, "workdir", "/")
	if !r.IsError || !strings.HasPrefix(r.Text, `exec host=sandbox cannot use workdir "/"`) {
		t.Errorf("workdir / in the sandbox: %s", r)
	}
}

func TestH66SandboxNetwork(t *testing.T) {
	par(t)
	sandboxUsable(t)
	host, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		t.Skip("no /proc/net/dev")
	}
	s := StartServer(t, Options{Config: `{"tools": {"exec": {"sandbox": "bwrap", "sandboxNetwork": true}}}`})
	if pid := pidOf(t, s.Exec(`echo $$`)); pid >= 10 {
		t.Errorf("sandboxNetwork: not in the sandbox (pid %d)", pid)
	}
	got := interfaces(s.Exec(`cat /proc/net/dev`).Text)
	want := interfaces(string(host))
	if len(want) <= 1 {
		t.Skipf("the host has only %q", want)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("interfaces with sandboxNetwork = %q, want the host's %q", got, want)
	}
}

// liveDescendants lists the server's descendants that are alive (not zombies), its guardian excepted.
func liveDescendants(s *Server) []int {
	var out []int
	for _, p := range descendants(s.Pid()) {
		if pidAlive(p) && !isGuardian(p) {
			out = append(out, p)
		}
	}
	return out
}

func TestH66SandboxKillAndShutdown(t *testing.T) {
	par(t)
	sandboxUsable(t)
	s := StartServer(t, Options{Config: `{"tools": {"exec": {"sandbox": "bwrap"}}}`})

	// process kill reaches the whole sandbox.
	id, pid := s.Background(`sleep 30 & sleep 31; echo never`)
	var inside []int
	if !waitFor(5*time.Second, func() bool { inside = liveDescendants(s); return len(inside) >= 4 }) {
		t.Fatalf("sandbox processes did not start: %v", inside)
	}
	wantText(t, s.Proc("kill", "sessionId", id), "Termination requested for session "+id+".")
	if !waitFor(5*time.Second, func() bool { return pgGone(pid) }) {
		t.Errorf("group %d still alive after kill: %v", pid, groupMembers(pid))
	}
	for _, p := range inside {
		if !waitFor(5*time.Second, func() bool { return !pidAlive(p) }) {
			t.Errorf("sandboxed process %d survived process kill", p)
		}
	}
	e := s.WaitFinished(id, 10*time.Second)
	if e["status"] != "failed" {
		t.Errorf("killed sandbox session: %v", e)
	}

	// A PTY session works inside the sandbox.
	r := s.Exec(`test -t 0 && echo is-tty; stty size; echo "$TERM"; echo $$`, "pty", true)
	wantStatus(t, r, "completed")
	for _, want := range []string{"is-tty", "30 120", "xterm-256color"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("sandboxed pty output %q lacks %q", r.Text, want)
		}
	}
	lines := strings.Fields(r.Text)
	if n, err := strconv.Atoi(lines[len(lines)-1]); err != nil || n >= 10 {
		t.Errorf("sandboxed pty: last line %q, want a pid below 10", lines[len(lines)-1])
	}
	id2, _ := s.Background(`read line; echo "got $line"`, "pty", true)
	time.Sleep(300 * time.Millisecond)
	s.Proc("write", "sessionId", id2, "data", "hello\n")
	s.WaitFinished(id2, 10*time.Second)
	if r := s.Proc("log", "sessionId", id2); !strings.Contains(r.Text, "got hello") {
		t.Errorf("sandboxed pty input: log %q", r.Text)
	}

	// Server shutdown reaches the sandbox too.
	s.Background(`sleep 30`)
	s.Background(`sleep 30`, "pty", true)
	if !waitFor(5*time.Second, func() bool { inside = liveDescendants(s); return len(inside) >= 6 }) {
		t.Fatalf("sandbox processes did not start: %v", inside)
	}
	s.Stop(syscall.SIGTERM)
	for _, p := range inside {
		if !waitFor(5*time.Second, func() bool { return !pidAlive(p) }) {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline")
			t.Errorf("sandboxed process %d (%s) survived the server", p, strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
}

// Startup refusals: an allowlist entry that is neither a name nor an absolute path glob, and a sandbox whose bwrap is
// missing or does not work (docs/reference.md#allowlist, docs/reference.md#sandbox).
func TestPolicyStartupRefusals(t *testing.T) {
	par(t)
	dir := t.TempDir()
	noBwrap := t.TempDir()
	if err := os.Symlink("/bin/sh", filepath.Join(noBwrap, "sh")); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, dir, []string{"PATH=" + noBwrap, "EXECMCP_SANDBOX=bwrap"})
	if code != 1 || out != "" || errOut != "execmcp: tools.exec.sandbox is \"bwrap\" but bwrap was not found on PATH\n" {
		t.Errorf("bwrap missing: code %d stdout %q stderr %q", code, out, errOut)
	}
	cfg := filepath.Join(dir, "c.json")
	os.WriteFile(cfg, []byte(`{"tools": {"exec": {"sandbox": "bwrap"}}}`), 0o644)
	out, errOut, code = runCLI(t, dir, []string{"PATH=" + noBwrap}, "--config", cfg)
	if code != 1 || out != "" || errOut != "execmcp: tools.exec.sandbox is \"bwrap\" but bwrap was not found on PATH\n" {
		t.Errorf("bwrap missing (config): code %d stdout %q stderr %q", code, out, errOut)
	}

	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "bwrap"), []byte("#!/bin/sh\necho 'bwrap: No permissions to create a new namespace' >&2\nexit 1\n"), 0o755)
	out, errOut, code = runCLI(t, dir, []string{"PATH=" + broken + ":" + os.Getenv("PATH"), "EXECMCP_SANDBOX=bwrap"})
	if code != 1 || out != "" || errOut != "execmcp: bwrap does not work here: bwrap: No permissions to create a new namespace\n" {
		t.Errorf("bwrap broken: code %d stdout %q stderr %q", code, out, errOut)
	}

	out, errOut, code = runCLI(t, dir, []string{"EXECMCP_SECURITY=allowlist", "EXECMCP_ALLOWLIST=echo,bin/tool"})
	if code != 1 || out != "" || !hasLine(errOut, `execmcp: tools.exec.allowlist: "bin/tool" must be an executable name or an absolute path glob`) {
		t.Errorf("relative allowlist entry: code %d stdout %q stderr %q", code, out, errOut)
	}
	os.WriteFile(cfg, []byte(`{"tools": {"exec": {"allowlist": ["~/bin/*", "./x"]}}}`), 0o644)
	out, errOut, code = runCLI(t, dir, nil, "--config", cfg)
	if code != 1 || out != "" || !hasLine(errOut, `execmcp: tools.exec.allowlist: "./x" must be an executable name or an absolute path glob`) ||
		strings.Contains(errOut, "~/bin") {
		t.Errorf("relative allowlist entry (config): code %d stdout %q stderr %q", code, out, errOut)
	}
}

// An allowlist with ~ path globs works through the binary.
func TestPolicyAllowlistHomeGlob(t *testing.T) {
	par(t)
	s := StartServer(t, Options{Config: `{"tools": {"exec": {"security": "allowlist", "allowlist": ["~/bin/*", "echo"]}}}`})
	bin := filepath.Join(s.Home, "bin")
	os.Mkdir(bin, 0o755)
	os.WriteFile(filepath.Join(bin, "hello"), []byte("#!/bin/sh\necho hello-from-bin\n"), 0o755)
	wantText(t, s.Exec(bin+"/hello"), "hello-from-bin")
	wantExecError(t, s.Exec(`"$HOME/bin/hello"`), `exec denied: allowlist miss ("$HOME/bin/hello")`) // not literal
}
