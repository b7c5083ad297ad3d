package integration_test

// Behaviours OpenClaw's exec/process tools have and execmcp follows: the retry guidance after a timeout
// (docs/reference.md#retry-guidance), the title parameter (docs/reference.md#exec-title), the login shell's PATH
// (docs/reference.md#login-path), the script preflight (docs/reference.md#script-preflight), single-char C1
// escape sequences (docs/reference.md#output-sanitising) and session id prefixes (docs/reference.md#process-rules).

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

const retryGuidance = "The command was terminated, but external side effects may already have completed. Verify the resulting state before retrying. Do not automatically rerun non-idempotent commands. Use a higher timeout only when the command is known to be safe to retry."

// A background session killed by its timeout: the exit event (notification, System: line) and the finished poll
// end with the retry guidance, after a blank line.
func TestFidelityTimeoutGuidance(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`echo start; sleep 30`, "timeout", 1)
	msgs := s.WaitExitMessages(id, 1, 15*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d exit messages for %s, want 1", len(msgs), id)
	}
	event := "Exec failed (" + id8(id) + ", signal SIGTERM) :: start\n\n" + retryGuidance
	if msgs[0].Text() != event || msgs[0].Level != "warning" || msgs[0].Data["exitReason"] != "overall-timeout" {
		t.Errorf("exit message = level %q text %q data %v, want warning %q", msgs[0].Level, msgs[0].Text(), msgs[0].Data, event)
	}
	// The next result of the scope carries the event as its System: line.
	r := s.Proc("list")
	if len(r.Texts) != 2 || r.Texts[1] != "System: "+event {
		t.Errorf("list result items %q, want a System: line %q", r.Texts, "System: "+event)
	}
	r = s.Proc("poll", "sessionId", id)
	wantText(t, r, "start\n\nProcess exited with signal SIGTERM (timed out after 1 seconds).\n\n"+retryGuidance)
	wantStatus(t, r, "failed")
	// Every poll of the record says it, not only the first.
	wantText(t, s.Proc("poll", "sessionId", id), "(no new output)\n\nProcess exited with signal SIGTERM (timed out after 1 seconds).\n\n"+retryGuidance)
	// A command that dies otherwise gets none.
	id2, _ := s.Background(`echo bye; kill -TERM $$`)
	event2 := "Exec failed (" + id8(id2) + ", signal SIGTERM) :: bye"
	if msgs := s.WaitExitMessages(id2, 1, 10*time.Second); len(msgs) != 1 || msgs[0].Text() != event2 {
		t.Errorf("exit messages of a signalled command %v, want one %q", msgs, event2)
	}
	wantText(t, s.Proc("poll", "sessionId", id2), "bye\n\nProcess exited with signal SIGTERM.")
}

// OpenClaw's schema offers title; exec accepts it, refuses an over-long one and shows it with the session.
func TestFidelityTitle(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	wantExecError(t, s.Exec(`echo hi`, "title", strings.Repeat("t", 121)), "title is too long (121 chars; limit 120).")
	wantExecError(t, s.Exec(`echo hi`, "title", "a\nb"), "title must not contain control characters.")
	wantExecError(t, s.Exec(`echo hi`, "cwd", "/"),
		`Unknown parameter "cwd" for exec. Known parameters: title, command, workdir, env, yieldMs, background, timeout, pty, elevated, host, notifyOnOutput, cols, rows.`)
	r := s.Exec(`echo hi`, "title", "Say hi")
	wantText(t, r, "hi")
	if r.Str("title") != "Say hi" {
		t.Errorf("foreground details %v lack title", r.SC)
	}
	title := strings.Repeat("é", 110) + " Run tests"
	r = s.Exec(`sleep 30`, "title", title, "background", true)
	id := r.Str("sessionId")
	if r.Str("title") != title {
		t.Errorf("running details %v lack title", r.SC)
	}
	e, lr := s.ListEntry(id)
	if e == nil || e["title"] != title || e["name"] != "sleep 30" {
		t.Errorf("list entry %v, want title %q and name %q", e, title, "sleep 30")
	}
	if !strings.HasPrefix(lr.Text, id+" running ") || !strings.HasSuffix(lr.Text, " :: "+title) {
		t.Errorf("list line %q does not name the session by its title", lr.Text)
	}
	if r := s.Proc("poll", "sessionId", id); r.Str("title") != title {
		t.Errorf("poll details %v lack title", r.SC)
	}
	if r := s.Proc("log", "sessionId", id); r.Str("title") != title {
		t.Errorf("log details %v lack title", r.SC)
	}
	s.Proc("kill", "sessionId", id)
	// The schema the client sees: OpenClaw's contract for title and env.
	tl, err := s.Sess.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range tl.Tools {
		if tool.Name != "exec" {
			continue
		}
		schema := fmt.Sprint(tool.InputSchema)
		for _, want := range []string{"maxLength:120", "never claim success", "Literal overrides; no expansion. Omit to inherit."} {
			if !strings.Contains(schema, want) {
				t.Errorf("exec input schema lacks %q: %s", want, schema)
			}
		}
	}
}

// Single-char C1 introducers (U+009B CSI, U+009D OSC ... U+009C) are removed with their payload, also when a
// sequence is split across reads.
func TestFidelityC1Sequences(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	cmd := `printf 'ABC'; sleep 0.2; printf 'DE\302\2350;ti'; sleep 0.2; printf 'tle\302\234F'; sleep 0.2; printf 'G\302\2333'; sleep 0.2; printf '1mH'`
	wantText(t, s.Exec(cmd), "ABCDEFGH")
	wantText(t, s.Exec(`printf 'a\302\23331mred\302\2330mb\n\302\2200payload\302\234c'`), "aredb\nc")
	// Other C1 characters stay, as before.
	wantText(t, s.Exec(`printf 'x\302\205y'`), "x\u0085y")
}

// A unique prefix of at least 6 chars, such as the 8 chars the events show, stands for the session id.
func TestFidelityIDPrefix(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`echo ready; sleep 30`)
	r := s.Proc("poll", "sessionId", id8(id), "until", "ready", "timeout", 5000)
	if r.IsError || r.Str("sessionId") != id {
		t.Fatalf("poll by %s: %s", id8(id), r)
	}
	wantText(t, s.Proc("write", "sessionId", id[:6], "data", "x"), "Wrote 1 bytes to session "+id+".")
	wantProcError(t, s.Proc("poll", "sessionId", id[:5]), "No session found for "+id[:5])
	wantText(t, s.Proc("kill", "sessionId", id8(id)), "Termination requested for session "+id+".")
	s.WaitFinished(id, 10*time.Second)
	wantText(t, s.Proc("remove", "sessionId", id8(id)), "Removed session "+id+".")
	wantProcError(t, s.Proc("poll", "sessionId", id8(id)), "No session found for "+id8(id))
}

// Over HTTP with two agents: a prefix never reaches the other agent's sessions, and an ambiguous prefix lists only
// the caller's own ids.
func TestFidelityIDPrefixScopes(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{Tokens: tokensFile(tokenAlpha, "alpha", tokenBeta, "beta")})
	a := hs.Connect(t, ClientOpts{Token: tokenAlpha})
	b := hs.Connect(t, ClientOpts{Token: tokenBeta})

	// Alpha's session: beta's prefix of it finds nothing.
	aid, _ := a.Background(`sleep 60`)
	wantProcError(t, b.Proc("poll", "sessionId", id8(aid)), "No session found for "+id8(aid))
	wantProcError(t, b.Proc("kill", "sessionId", id8(aid)), "No active session found for "+id8(aid))
	if r := a.Proc("poll", "sessionId", id8(aid)); r.IsError || r.Str("sessionId") != aid {
		t.Errorf("alpha's own prefix: %s", r)
	}

	// Ids are random slugs. Alpha keeps many running so that most 6-char prefixes beta can draw are among them;
	// beta starts sessions until two of its ids share a 6-char prefix that alpha has as well. The chance that 48
	// draws do not get there is about 1e-5; the test then checks what it has and says so.
	alpha := []string{aid}
	for range 80 {
		id, _ := a.Background(`sleep 60`)
		alpha = append(alpha, id)
	}
	byPrefix := map[string][]string{}
	var prefix string
	for range 48 {
		id, _ := b.Background(`true`)
		p := id[:6]
		byPrefix[p] = append(byPrefix[p], id)
		if len(byPrefix[p]) >= 2 && slices.ContainsFunc(alpha, func(x string) bool { return strings.HasPrefix(x, p) }) {
			prefix = p
			break
		}
	}
	if prefix == "" {
		t.Logf("no 6-char prefix was shared by two of beta's and one of alpha's ids; the cross-scope ambiguity was not exercised")
		return
	}
	want := append([]string(nil), byPrefix[prefix]...)
	sort.Strings(want)
	wantProcError(t, b.Proc("poll", "sessionId", prefix), "Session id "+prefix+" is ambiguous: "+strings.Join(want, ", "))
	wantProcError(t, b.Proc("clear", "sessionId", prefix), "Session id "+prefix+" is ambiguous: "+strings.Join(want, ", "))
	// Alpha's view of the same prefix names only alpha's sessions.
	var mine []string
	for _, id := range alpha {
		if strings.HasPrefix(id, prefix) {
			mine = append(mine, id)
		}
	}
	r := a.Proc("poll", "sessionId", prefix)
	if len(mine) == 1 {
		if r.IsError || r.Str("sessionId") != mine[0] {
			t.Errorf("alpha's unique prefix %s: %s, want %s", prefix, r, mine[0])
		}
	} else {
		sort.Strings(mine)
		wantProcError(t, r, "Session id "+prefix+" is ambiguous: "+strings.Join(mine, ", "))
	}
}

// writeFakeLoginShell writes a shell that behaves as /bin/sh, except that as a login shell (-l first) it puts dirs
// in front of PATH, as a profile that sets up nvm or cargo does.
func writeFakeLoginShell(t *testing.T, dir, profile string) string {
	t.Helper()
	p := filepath.Join(dir, "loginsh")
	script := "#!/bin/sh\nif [ \"$1\" = -l ]; then\n  shift\n  echo 'Welcome!'\n" + profile + "\nfi\nexec /bin/sh \"$@\"\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// dedupPath joins entries with ':' keeping the first of each.
func dedupPath(entries ...string) string {
	var out []string
	for _, e := range entries {
		for _, d := range strings.Split(e, ":") {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return strings.Join(out, ":")
}

// The login shell's PATH goes in front of the inherited one, so tools set up by shell profiles are found.
func TestFidelityLoginPath(t *testing.T) {
	par(t)
	dir := t.TempDir()
	tools := filepath.Join(dir, "nvm", "bin")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tools, "fancytool"), []byte("#!/bin/sh\necho fancy tool found\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	shell := writeFakeLoginShell(t, dir, "  PATH=\""+tools+":/opt/login-only:$PATH\"; export PATH")
	inherited := baseEnv("", true)[0][len("PATH="):]

	s := StartServer(t, Options{Env: []string{"SHELL=" + shell, "EXECMCP_LOGIN_PATH=auto", "EXECMCP_PATH_PREPEND=/opt/prepended"}})
	wantText(t, s.Exec(`fancytool`), "fancy tool found")
	wantText(t, s.Exec(`printf '%s' "$PATH"`), dedupPath("/opt/prepended", tools, "/opt/login-only", inherited))
	// env still may not set PATH.
	wantExecError(t, s.Exec(`true`, "env", map[string]any{"PATH": "/x"}), "Security Violation: Custom 'PATH' variable is forbidden during host execution.")
	if strings.Contains(s.Stderr(), "login shell PATH probe") {
		t.Errorf("a working probe logged: %s", s.Stderr())
	}

	// off: the inherited PATH only.
	off := StartServer(t, Options{Env: []string{"SHELL=" + shell, "EXECMCP_LOGIN_PATH=off"}})
	wantText(t, off.Exec(`printf '%s' "$PATH"`), inherited)
	if r := off.Exec(`fancytool`); r.Int("exitCode") != 127 {
		t.Errorf("fancytool without the login PATH: %s", r)
	}
}

// A login shell that hangs delays neither initialize nor anything but the exec calls that arrive while it runs,
// which wait at most for its 2 s bound and then get the inherited PATH; its process group is killed.
func TestFidelityLoginPathHangs(t *testing.T) {
	par(t)
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	shell := writeFakeLoginShell(t, dir, "  touch "+started+"; sleep 30 & wait")
	begin := time.Now()
	s := StartServer(t, Options{Env: []string{"SHELL=" + shell, "EXECMCP_LOGIN_PATH=auto"}})
	initialized := time.Since(begin)
	if strings.Contains(s.Stderr(), "timed out") {
		t.Errorf("initialize waited for the probe (%v): %s", initialized, s.Stderr())
	}
	if _, err := s.Sess.ListTools(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	r := s.Exec(`printf '%s' "$PATH"`)
	wantText(t, r, baseEnv("", true)[0][len("PATH="):])
	if elapsed := time.Since(begin); elapsed > 10*time.Second {
		t.Errorf("the first exec returned %v after start", elapsed)
	}
	if _, err := os.Stat(started); err != nil {
		t.Errorf("the login shell never ran: %v", err)
	}
	if !waitFor(5*time.Second, func() bool {
		return strings.Contains(s.Stderr(), "login shell PATH probe timed out; commands get the inherited PATH (EXECMCP_LOGIN_PATH=off skips the probe)")
	}) {
		t.Errorf("no timeout warning: %s", s.Stderr())
	}
}

// Commands in the sandbox never get the login PATH; host commands of the same server do.
func TestFidelityLoginPathSandbox(t *testing.T) {
	par(t)
	sandboxUsable(t)
	home := t.TempDir()
	// With SHELL unset the login shell is /bin/sh -l, which reads ~/.profile.
	if err := os.WriteFile(filepath.Join(home, ".profile"), []byte("PATH=/opt/login-marker:$PATH; export PATH\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := dirOutsideTmp(t)
	if dir == "" {
		t.Skip("no directory outside /tmp for the sandbox workdir")
	}
	s := startServerIn(t, dir, home, Options{Env: []string{"EXECMCP_LOGIN_PATH=auto", "EXECMCP_SANDBOX=bwrap", "EXECMCP_ELEVATED_ENABLED=true"}})
	if r := s.Exec(`printf '%s' "$PATH"`, "elevated", true); !strings.HasPrefix(r.Text, "/opt/login-marker:") {
		t.Errorf("elevated (host) PATH %q does not start with the login entry", r.Text)
	}
	if r := s.Exec(`printf '%s' "$PATH"`); r.IsError || strings.Contains(r.Text, "/opt/login-marker") {
		t.Errorf("sandbox PATH %s has the login entry", r)
	}
}

// interpreter returns the absolute path of the real python3 or node executable, skipping the test without it (a
// version manager's shim may not work with the server's HOME, so the test names the real file).
func interpreter(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed", name)
	}
	probe := "console.log(process.execPath)"
	if name == "python3" {
		probe = "import sys; print(sys.executable)"
	}
	flag := map[string]string{"python3": "-c", "node": "-e"}[name]
	out, err := exec.Command(name, flag, probe).Output()
	if err != nil {
		t.Skipf("%s does not run: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// The script preflight through the real binary: OpenClaw's refused and accepted cases.
func TestFidelityScriptPreflight(t *testing.T) {
	par(t)
	py, node := interpreter(t, "python3"), interpreter(t, "node")
	s := StartServer(t, Options{})
	files := map[string]string{
		"bad.py":         "import json\n# model accidentally wrote shell syntax:\npayload = $DM_JSON\nprint(payload)",
		"bad.js":         "NODE \"$TMPDIR/hot.json\"\nconsole.log('hi')",
		"ident.js":       "process.stdout.write(\"before-error\\n\"); const value = $DM_JSON;",
		"~/bad.py":       "payload = $DM_JSON",
		"out.py":         "print('ok')",
		"bootstrap.js":   "const $VALUE = \"preload:\"; process.stdout.write($VALUE);",
		"app.js":         "// $COMMENT\nconst $A = \"a\", $_ = \"b\"; NODE: { process.stdout.write($A + $_ + \"$HOME\" + `$TMPDIR`); }",
		"config.js":      "throw new Error(\"argument is not a script\");",
		"bad-preload.js": "NODE 'x'",
		"valid.py": strings.Join([]string{
			`value = "$A"`,
			`other = '''$_'''`,
			`raw = r"$Q"`,
			`hash_text = "# $R"`,
			`nested = f"{ '$S' }"`,
			`braces = f"{{ $T }}"`,
			"continued = \"text \\\r\n$U\"",
			"class Echo:",
			"    def __format__(self, spec):",
			"        return spec",
			`format_text = f"{Echo():$W}"`,
			"élambda = Echo()",
			`unicode_format = f"{élambda:$Y}"`,
			"# $P",
			`print(f"{value}:{other}:{raw}:{hash_text}:{nested}:{braces}:{continued}:{format_text}:{unicode_format}")`,
		}, "\n"),
	}
	for name, content := range files {
		p := filepath.Join(s.Dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("bad.py", filepath.Join(s.Dir, "link.py")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(s.Dir), "outside.py"), []byte("payload = $DM_JSON"), 0o644); err != nil {
		t.Fatal(err)
	}
	injection := func(file string, line int) string {
		return fmt.Sprintf("exec preflight: detected likely shell variable injection ($DM_JSON) in python script: %s:%d.\n", file, line) +
			"In Python, use os.environ.get(\"DM_JSON\") instead of raw $DM_JSON.\n" +
			"(If this is inside a string literal on purpose, escape it or restructure the code.)"
	}
	for _, tc := range []struct{ command, want string }{
		{py + " bad.py", injection("bad.py", 3)},
		{"env " + py + " bad.py", injection("bad.py", 3)},
		{"/usr/bin/env DEBUG=1 " + py + " -u bad.py > out.log 2>&1", injection("bad.py", 3)},
		{py + " bad.py --output out.py", injection("bad.py", 3)},
		{py + ` "~/bad.py"`, injection("bad.py", 1)},
		{py + " link.py", injection("link.py", 3)},
		{node + " bad.js", `exec preflight: JS file starts with shell syntax (NODE "$TMPDIR/hot.json"). This looks like a shell command, not JavaScript.`},
		{node + ` --require bad-preload.js -e "console.log(123)"`, `exec preflight: JS file starts with shell syntax (NODE 'x'). This looks like a shell command, not JavaScript.`},
	} {
		wantExecError(t, s.Exec(tc.command), tc.want)
	}
	listEmpty(t, s)
	// Let through: inline code, version queries, valid scripts, strings and comments, Node identifiers, files
	// outside the workdir, and commands the preflight does not resolve.
	wantText(t, s.Exec(node+` -e "console.log('bad.py')"`), "bad.py")
	wantText(t, s.Exec(py+` -c 'print("$" + "A")'`), "$A")
	if r := s.Exec(py + " --version"); r.IsError || !strings.HasPrefix(r.Text, "Python 3") {
		t.Errorf("python --version: %s", r)
	}
	wantText(t, s.Exec(py+" valid.py"), "$A:$_:$Q:# $R:$S:{ $T }:text $U:$W:$Y")
	wantText(t, s.Exec("env "+node+" --require ./bootstrap.js app.js config.js"), "preload:ab$HOME$TMPDIR")
	r := s.Exec(node + " ident.js")
	if r.IsError || !strings.HasPrefix(r.Text, "before-error\n") || !strings.Contains(r.Text, "ReferenceError") || r.Int("exitCode") != 1 {
		t.Errorf("node ident.js: %s, want Node's own ReferenceError", r)
	}
	for _, cmd := range []string{py + " ../outside.py", "cat bad.py | " + py, "cd . && " + py + " bad.py"} {
		if r := s.Exec(cmd); r.IsError || !strings.Contains(r.Text, "SyntaxError") {
			t.Errorf("%s: %s, want Python's own SyntaxError", cmd, r)
		}
	}

	off := StartServer(t, Options{Env: []string{"EXECMCP_SCRIPT_PREFLIGHT=off"}})
	if err := os.WriteFile(filepath.Join(off.Dir, "bad.py"), []byte("payload = $DM_JSON"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := off.Exec(py + " bad.py"); r.IsError || !strings.Contains(r.Text, "SyntaxError") {
		t.Errorf("preflight off: %s", r)
	}
}
