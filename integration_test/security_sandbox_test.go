package integration_test

// Hardening of the sandbox and of the environment through the real binary (docs/reference.md#sandbox,
// docs/reference.md#env-policy): the server's own settings and secret files never reach a command, the sandbox
// holds no capabilities, a workdir is judged and bound by its resolved path, host unix sockets are out of reach
// without the network, and the message-catalogue and perl library variables are refused like PERL5LIB.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	sandboxConfig  = `{"tools": {"exec": {"sandbox": "bwrap"}}}`
	sandboxRootErr = `exec host=sandbox cannot use workdir "/": the sandbox binds the workdir read-write, which would make the whole file system writable. Use a project directory.`
)

// secretsDir returns a fresh directory for the server's secret files that the sandbox shows from the host as
// it is (like ~/.config, which the README suggests): not below /tmp, /run, /var/tmp or /dev/shm.
func secretsDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp(".", ".execmcp-secrets-")
	if err != nil {
		t.Skipf("no directory for secrets outside /tmp: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	abs, err := filepath.Abs(d)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, hidden := range []string{"/tmp", "/run", "/var/tmp", "/dev/shm"} {
		if abs == hidden || strings.HasPrefix(abs, hidden+"/") {
			t.Skipf("the test package lies below %s, which the sandbox does not show: no directory for secrets outside it", hidden)
		}
	}
	return abs
}

// envKeys returns the keys of `env` output.
func envKeys(envOutput string) []string {
	var keys []string
	for _, line := range strings.Split(envOutput, "\n") {
		if k, _, ok := strings.Cut(line, "="); ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// noServerVars fails when a command's environment holds an EXECMCP_* variable.
func noServerVars(t *testing.T, r *Result, where string) {
	t.Helper()
	if r.IsError {
		t.Fatalf("%s: env: %s", where, r)
	}
	for _, k := range envKeys(r.Text) {
		if strings.HasPrefix(strings.ToUpper(k), "EXECMCP_") {
			t.Errorf("%s: the command's environment has %s", where, k)
		}
	}
}

// Attack: over HTTP with two agent tokens, a command prints EXECMCP_AUTH_TOKEN and EXECMCP_AUTH_TOKENS_FILE and
// reads the tokens file (kept outside /tmp, like ~/.config) to use another agent's token, on the host and in the
// sandbox. No EXECMCP_* variable reaches a command and none can be set; the sandbox finds the tokens file empty.
// On the host (no sandbox) the file stays readable by the same user, as documented.
func TestSecurityServerSecretsNotInCommands(t *testing.T) {
	par(t)
	secrets := secretsDir(t)
	tokens := filepath.Join(secrets, "tokens.json")
	content := tokensFile(tokenAlpha, "alpha", tokenBeta, "beta")
	if err := os.WriteFile(tokens, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	const shared = "shared-token-0123456789"
	env := []string{"EXECMCP_AUTH_TOKEN=" + shared, "EXECMCP_AUTH_TOKENS_FILE=" + tokens, "EXECMCP_STATS_INTERVAL=0",
		"execmcp_lower=1"}
	for _, target := range []string{"host", "sandbox"} {
		t.Run(target, func(t *testing.T) {
			par(t)
			config := `{"tools": {"exec": {"sandbox": "none"}}}`
			if target == "sandbox" {
				sandboxUsable(t)
				config = sandboxConfig
			}
			hs := StartHTTPServer(t, HTTPOptions{Env: env, Config: config})
			a := hs.Connect(t, ClientOpts{Token: tokenAlpha})
			wantText(t, a.Exec(`printf '%s|%s|%s' "$EXECMCP_AUTH_TOKEN" "$EXECMCP_AUTH_TOKENS_FILE" "$EXECMCP_CONFIG"`), "||")
			noServerVars(t, a.Exec(`env`), target)
			noServerVars(t, a.Exec(`env`, "pty", true), target+" pty")
			noServerVars(t, a.Exec(`env`, "background", true, "yieldMs", 10000), target+" background")
			wantExecError(t, a.Exec(`true`, "env", map[string]any{"EXECMCP_AUTH_TOKEN": "x"}),
				"Security Violation: Environment variable 'EXECMCP_AUTH_TOKEN' is forbidden during host execution.")
			wantExecError(t, a.Exec(`true`, "env", map[string]any{"execmcp_config": "/x", "EXECMCP_LISTEN": "0.0.0.0:1"}),
				"Security Violation: blocked override keys: EXECMCP_CONFIG, EXECMCP_LISTEN.")

			r := a.Exec(`cat "` + tokens + `"`)
			if target == "host" {
				wantText(t, r, content) // documented: the host offers no file isolation from the same user
				return
			}
			if strings.Contains(r.Text, tokenBeta) {
				t.Errorf("the sandbox read beta's token")
			}
			wantText(t, a.Exec(`cat "`+tokens+`"; echo "rc=$?"`), "rc=0")
			wantText(t, a.Exec(`wc -c < tokens.json`, "workdir", secrets), "0")
		})
	}
}

// Variants over stdio: the tokens file (named relative to the server's directory, and through a symlink) and the
// config file lie in the workdir the sandbox binds read-write; the sandbox finds both empty and can neither
// change nor remove them. Both are read back intact on the host.
func TestSecuritySandboxHidesServerFiles(t *testing.T) {
	par(t)
	sandboxUsable(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	home, _ := filepath.EvalSymlinks(t.TempDir())
	content := tokensFile(tokenAlpha, "alpha")
	os.Mkdir(filepath.Join(dir, "auth"), 0o700)
	if err := os.WriteFile(filepath.Join(dir, "auth", "real.json"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Symlink("auth/real.json", filepath.Join(dir, "tokens.json"))
	s := startServerIn(t, dir, home, Options{Config: sandboxConfig, Env: []string{"EXECMCP_AUTH_TOKENS_FILE=tokens.json"}})
	configFile := filepath.Join(dir, "execmcp-config.json")

	for _, name := range []string{"tokens.json", "auth/real.json", "execmcp-config.json"} {
		r := s.Exec(`cat ` + name + `; echo "rc=$?"`)
		wantText(t, r, "rc=0")
	}
	// Writes vanish, removals fail; the directory holding the file cannot be renamed, and moving the symlink
	// that named it does not take it out of hiding.
	s.Exec(`echo '{"x": "y"}' > auth/real.json; rm -f auth/real.json execmcp-config.json; mv auth auth2; mv tokens.json moved.json`)
	if _, err := os.Stat(filepath.Join(dir, "auth2")); err == nil {
		t.Errorf("the sandbox renamed the directory of the tokens file")
	}
	for _, name := range []string{"moved.json", "auth/real.json", "auth2/real.json", "execmcp-config.json"} {
		r := s.Exec(`cat ` + name + ` 2>/dev/null; echo "rc=$?"`)
		if strings.Contains(r.Text, "alpha") || strings.Contains(r.Text, "sandbox") {
			t.Errorf("after the moves, %s reads %s", name, r)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "auth", "real.json")); string(b) != content {
		t.Errorf("tokens file on the host = %q, want %q", b, content)
	}
	if b, _ := os.ReadFile(configFile); string(b) != sandboxConfig {
		t.Errorf("config file on the host = %q, want %q", b, sandboxConfig)
	}
	// The server's configuration stays in force.
	if pid := pidOf(t, s.Exec(`echo $$`)); pid >= 10 {
		t.Errorf("not in the sandbox: pid %d", pid)
	}
	noServerVars(t, s.Exec(`env`), "stdio sandbox")
}

// Attack: with the server run by root, a sandboxed `mount -o remount,rw,bind /` makes the host root writable
// (bwrap keeps every capability unless told otherwise). The sandbox holds none (CapEff 0) and every privileged
// escape fails, leaving the host unwritten.
func TestSecuritySandboxNoCapabilities(t *testing.T) {
	par(t)
	sandboxUsable(t)
	s := StartServer(t, Options{Config: sandboxConfig})
	for _, pty := range []bool{false, true} {
		r := s.Exec(`grep -E '^Cap(Prm|Eff|Amb):' /proc/self/status`, "pty", pty)
		want := "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000"
		if pty {
			want = strings.ReplaceAll(want, "\n", "\r\n")
		}
		wantText(t, r, want)
	}

	marker := fmt.Sprintf("/etc/execmcp-remount-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { os.Remove(marker) })
	escapes := []string{
		`mount -o remount,rw,bind / && touch ` + marker,
		`mount -o remount,rw / && touch ` + marker,
		`unshare -m sh -c 'mount -o remount,rw,bind / && touch ` + marker + `'`,
		`unshare -Urm sh -c 'mount -o remount,rw,bind / && touch ` + marker + `'`,
		`mount -t tmpfs none /mnt && echo mounted`,
		`chroot / true && echo chrooted`,
		`touch ` + marker,
	}
	for _, cmd := range escapes {
		r := s.Exec(cmd + ` 2>/dev/null; echo "rc=$?"`)
		if r.IsError || strings.Contains(r.Text, "rc=0") || strings.Contains(r.Text, "mounted") || strings.Contains(r.Text, "chrooted") {
			t.Errorf("%s: %s", cmd, r)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("%s wrote the host's %s", cmd, marker)
			os.Remove(marker)
		}
	}
}

// Attack: a workdir that is a symlink to / slips past the "/" refusal and binds the host root read-write. The
// workdir is resolved first: every name of / is refused, a symlink to a directory binds and enters the directory
// it names, and a workdir of /proc or /dev keeps the sandbox's own instead of binding the host's.
func TestSecuritySandboxWorkdirResolved(t *testing.T) {
	par(t)
	sandboxUsable(t)
	s := StartServer(t, Options{Config: sandboxConfig})
	os.Symlink("/", filepath.Join(s.Dir, "rootlink"))
	os.Symlink("rootlink", filepath.Join(s.Dir, "chain"))
	os.Mkdir(filepath.Join(s.Dir, "real"), 0o755)
	os.Symlink(filepath.Join(s.Dir, "real"), filepath.Join(s.Dir, "link"))
	marker := fmt.Sprintf("execmcp-rootlink-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { os.Remove("/" + marker) })

	for _, w := range []string{"rootlink", filepath.Join(s.Dir, "rootlink"), "chain", "real/../rootlink", "/proc/self/root", "/"} {
		wantExecError(t, s.Exec(`touch `+marker+`; pwd`, "workdir", w), sandboxRootErr)
	}
	if _, err := os.Stat("/" + marker); err == nil {
		t.Errorf("a sandboxed command wrote /%s on the host", marker)
	}

	r := s.Exec(`pwd -P; touch via-link`, "workdir", "link")
	wantText(t, r, filepath.Join(s.Dir, "real"))
	if _, err := os.Stat(filepath.Join(s.Dir, "real", "via-link")); err != nil {
		t.Errorf("a file made through a symlinked workdir: %v", err)
	}

	// workdir /proc: the sandbox's own processes only, never the host's.
	if s.Pid() >= 10 {
		probe := `test -e /proc/` + strconv.Itoa(s.Pid()) + ` && echo host-proc || echo own-proc`
		wantText(t, s.Exec(probe, "workdir", "/proc"), "own-proc")
		wantText(t, s.Exec(probe), "own-proc")
	}
	for _, w := range []string{"/proc", "/proc/self/..", "/proc/sys"} {
		r := s.Exec(`ls /proc | grep -c '^[0-9]'`, "workdir", w)
		if n, err := strconv.Atoi(strings.TrimSpace(r.Text)); err != nil || n > 5 {
			t.Errorf("workdir %s: %s processes visible, want the sandbox's own few", w, r.Text)
		}
	}
	if pid := pidOf(t, s.Exec(`echo $$`, "workdir", "/proc")); pid >= 10 {
		t.Errorf("workdir /proc: pid %d", pid)
	}
	// workdir /dev: the sandbox's own /dev.
	own := s.Exec(`ls -A /dev`)
	wantText(t, s.Exec(`ls -A`, "workdir", "/dev"), own.Text)
}

// unixListener serves "pong" on a unix socket path (an abstract one when it starts with @) from a python3
// process the test owns; it is stopped at the end of the test.
func unixListener(t *testing.T, path string) {
	t.Helper()
	script := `import socket,sys
p=sys.argv[1]
if p.startswith("@"): p="\0"+p[1:]
s=socket.socket(socket.AF_UNIX)
s.bind(p)
s.listen(64)
sys.stdout.write("ready\n")
sys.stdout.flush()
while True:
    c,_=s.accept()
    try:
        c.sendall(b"pong")
    except OSError:
        pass
    c.close()
`
	cmd := exec.Command("python3", "-c", script, path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line == "ready\n"
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("the listener on %s did not start", path)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the listener on %s did not start within 20 s", path)
	}
}

// connectCmd is a command that connects to a unix socket and prints what it reads, or the name of the error.
func connectCmd(path string) string {
	return `python3 -c 'import socket,sys
p=sys.argv[1]
if p.startswith("@"): p="\0"+p[1:]
s=socket.socket(socket.AF_UNIX)
s.settimeout(5)
try:
    s.connect(p)
    print(s.recv(16).decode())
except Exception as e:
    print(type(e).__name__)' '` + path + `'`
}

// socketDir makes a fresh directory below base for a listening socket, or skips when base is missing.
func socketDir(t *testing.T, base string) string {
	t.Helper()
	if fi, err := os.Stat(base); err != nil || !fi.IsDir() {
		t.Skipf("%s does not exist here", base)
	}
	d, err := os.MkdirTemp(base, "execmcp-sock-")
	if err != nil {
		t.Skipf("cannot make a directory below %s: %v", base, err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// Attack: a sandboxed command talks to a host service through its unix socket (a listener under /var/tmp; the
// docker socket under /run would be an escape). Without the network, sockets under /run (and /var/run),
// /var/tmp, /dev/shm, the server's XDG_RUNTIME_DIR and abstract sockets are out of reach from the sandbox, and
// reachable on the host (elevated: the control). With sandboxNetwork, and in a workdir the agent names, they are
// reachable (documented).
func TestSecuritySandboxHostUnixSockets(t *testing.T) {
	par(t)
	sandboxUsable(t)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	xdg := filepath.Join(secretsDir(t), "xdg")
	if err := os.Mkdir(xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	socks := map[string]string{}
	for _, base := range []string{"/var/tmp", "/run", "/dev/shm"} {
		socks[base] = filepath.Join(socketDir(t, base), "s.sock")
	}
	socks["xdg"] = filepath.Join(xdg, "s.sock")
	socks["abstract"] = fmt.Sprintf("@execmcp-abstract-%d-%d", os.Getpid(), time.Now().UnixNano())
	for _, p := range socks {
		unixListener(t, p)
	}
	paths := map[string]string{}
	for k, p := range socks {
		paths[k] = p
		if strings.HasPrefix(p, "/") {
			c, err := net.DialTimeout("unix", p, 5*time.Second)
			if err != nil {
				t.Fatalf("control: %s unreachable from the test: %v", p, err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			b, _ := io.ReadAll(c)
			c.Close()
			if string(b) != "pong" {
				t.Fatalf("control: %s answered %q", p, b)
			}
		}
	}
	if fi, err := os.Lstat("/var/run"); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		paths["/var/run"] = filepath.Join("/var/run", strings.TrimPrefix(socks["/run"], "/run/"))
	}

	s := StartServer(t, Options{Config: `{"tools": {"exec": {"sandbox": "bwrap"}, "elevated": {"enabled": true}}}`,
		Env: []string{"XDG_RUNTIME_DIR=" + xdg}})
	for k, p := range paths {
		wantText(t, s.Exec(connectCmd(p), "elevated", true), "pong")
		r := s.Exec(connectCmd(p))
		if r.IsError || r.Text == "pong" {
			t.Errorf("%s: the sandbox reached %s: %s", k, p, r)
		}
	}
	// The workdir is bound as named, below a hidden directory too.
	wantText(t, s.Exec(connectCmd("s.sock"), "workdir", filepath.Dir(socks["/var/tmp"])), "pong")
	wantText(t, s.Exec(`ls -A /var/tmp | wc -l`), "0")

	n := StartServer(t, Options{Config: `{"tools": {"exec": {"sandbox": "bwrap", "sandboxNetwork": true}}}`})
	wantText(t, n.Exec(connectCmd(socks["/var/tmp"])), "pong")
}

// PERLLIB is perl's library path like PERL5LIB, and TEXTDOMAIN/TEXTDOMAINDIR select the catalogue of bash's
// $"..." translations, which bash expands again: all three are refused as overrides with the env-policy texts
// and dropped when inherited, on the host and in the sandbox.
func TestSecurityEnvMessageCataloguesAndPerllib(t *testing.T) {
	par(t)
	inherited := []string{"PERLLIB=/x", "TEXTDOMAIN=d", "TEXTDOMAINDIR=/y", "PERL5LIB=/z", "perllib=/w", "KEEP_ME=1"}
	for _, target := range []string{"host", "sandbox"} {
		t.Run(target, func(t *testing.T) {
			par(t)
			var s *Server
			if target == "sandbox" {
				sandboxUsable(t)
				s = StartServer(t, Options{Config: sandboxConfig, Env: inherited})
			} else {
				s = StartServer(t, Options{Env: inherited})
			}
			for _, k := range []string{"PERLLIB", "TEXTDOMAIN", "TEXTDOMAINDIR", "PERL5LIB", "perllib", "textdomain"} {
				wantExecError(t, s.Exec(`echo $"hello"`, "env", map[string]any{k: "x"}),
					"Security Violation: Environment variable '"+strings.ToUpper(k)+"' is forbidden during host execution.")
			}
			wantExecError(t, s.Exec(`echo $"hello"`, "env", map[string]any{"TEXTDOMAIN": "x", "TEXTDOMAINDIR": ".", "PERLLIB": "/p"}),
				"Security Violation: blocked override keys: PERLLIB, TEXTDOMAIN, TEXTDOMAINDIR.")
			keys := envKeys(s.Exec(`env`).Text)
			for _, k := range keys {
				switch strings.ToUpper(k) {
				case "PERLLIB", "TEXTDOMAIN", "TEXTDOMAINDIR", "PERL5LIB":
					t.Errorf("inherited %s reached the command", k)
				}
			}
			if !strings.Contains(","+strings.Join(keys, ",")+",", ",KEEP_ME,") {
				t.Errorf("KEEP_ME missing from %q", keys)
			}
		})
	}
}

// The startup probe refuses a sandbox whose commands would keep capabilities: a bwrap that ignores
// --cap-drop ALL (the real bwrap behind a wrapper that drops the option) run by root, and one that reports a
// non-zero CapEff.
func TestSecuritySandboxProbeRefusesCapabilities(t *testing.T) {
	par(t)
	dir := t.TempDir()
	fake := t.TempDir()
	os.WriteFile(filepath.Join(fake, "bwrap"), []byte("#!/bin/sh\necho 000001fffeffffff\n"), 0o755)
	out, errOut, code := runCLI(t, dir, []string{"PATH=" + fake + ":" + os.Getenv("PATH"), "EXECMCP_SANDBOX=bwrap"})
	const keeps = "execmcp: bwrap does not work here: commands in the sandbox would keep capabilities (CapEff 000001fffeffffff) although bwrap was given --cap-drop ALL\n"
	if code != 1 || out != "" || errOut != keeps {
		t.Errorf("fake bwrap: code %d stdout %q stderr %q", code, out, errOut)
	}

	sandboxUsable(t)
	if os.Geteuid() != 0 {
		t.Skip("only bwrap run by root keeps capabilities: the remaining check needs root")
	}
	real, _ := exec.LookPath("bwrap")
	wrapper := t.TempDir()
	script := "#!/bin/sh\nskip=0\nfor a do\n  shift\n  if [ $skip = 1 ]; then skip=0; continue; fi\n" +
		"  if [ \"$a\" = --cap-drop ]; then skip=1; continue; fi\n  set -- \"$@\" \"$a\"\ndone\nexec " + real + " \"$@\"\n"
	os.WriteFile(filepath.Join(wrapper, "bwrap"), []byte(script), 0o755)
	out, errOut, code = runCLI(t, dir, []string{"PATH=" + wrapper + ":" + os.Getenv("PATH"), "EXECMCP_SANDBOX=bwrap"})
	if code != 1 || out != "" || !strings.HasPrefix(errOut, "execmcp: bwrap does not work here: commands in the sandbox would keep capabilities (CapEff ") {
		t.Errorf("bwrap without --cap-drop: code %d stdout %q stderr %q", code, out, errOut)
	}
	// The real bwrap passes the probe.
	out, errOut, code = runCLI(t, dir, []string{"EXECMCP_SANDBOX=bwrap"})
	if code != 0 || out != "" {
		t.Errorf("real bwrap: code %d stdout %q stderr %q", code, out, errOut)
	}
}
