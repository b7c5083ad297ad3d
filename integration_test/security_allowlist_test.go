package integration_test

// The allowlist judges the command as the shell reads it (docs/reference.md#allowlist): a backslash-newline that
// is not a plain line continuation between words, and a $"..." translated string, are denied before anything
// runs, with bash and dash, on the host and in the sandbox. Numbers in texts are written as JavaScript writes
// them (docs/reference.md#exec-timeout).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const continuationDenied = "exec denied: allowlist miss (line continuation inside a word)"

// continuationForms are commands that ran a program through an allowlist of echo and cat because the shell removes
// a backslash-newline before it splits words; each would create the file m. The first ran id through an allowlist
// of echo alone.
var continuationForms = []string{
	"echo \"$\\\n(touch m; id)\"",
	"echo $\\\n(touch m)",
	"x='a[$(touch m)]'; echo $\\\n((x))",
	"x='$(touch m)'; echo $\\\n{x@P}",
	"x='a[$(touch m)]'; echo $\\\n{!x}",
	"echo ${x:-$\\\n(touch m)}",
	"echo \"${x:-$\\\n(touch m)}\"",
	"echo `echo $\\\n(touch m)`",
	"echo `touch\\\n m`",
	"case $\\\n(touch m) in x) ;; esac",
	"case x in $\\\n(touch m)) echo;; esac",
	"cat <<E\n$\\\n(touch m)\nE",
	"cat <<E\nE\\\n\ntouch m\nE",
	"echo ok # \\\ntouch m",
	"echo \\\\\ntouch m",
	"echo ok;\\\ntouch m",
}

// shellPath finds a shell by name, skipping the test when it is not installed (a missing precondition).
func shellPath(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{"/bin/" + name, "/usr/bin/" + name} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed", name)
	}
	return p
}

// noMarker fails when the file m exists in dir (a denied command ran), and removes it.
func noMarker(t *testing.T, dir, command string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "m")); err == nil {
		os.Remove(filepath.Join(dir, "m"))
		t.Errorf("%q created m: a denied command ran", command)
	}
}

// Each line-continuation form (and a translated string) is denied with nothing executed, with bash and dash, on
// the host and in the sandbox; plain continuations between words still run. Under security full the same shells do run the
// first form, so the denials are not vacuous.
func TestSecurityAllowlistLineContinuation(t *testing.T) {
	for _, shell := range []string{"bash", "dash"} {
		for _, target := range []string{"host", "sandbox"} {
			t.Run(shell+"-"+target, func(t *testing.T) {
				par(t)
				sh := shellPath(t, shell)
				env := []string{"SHELL=" + sh, "EXECMCP_SECURITY=allowlist"}
				if target == "sandbox" {
					sandboxUsable(t)
					env = append(env, "EXECMCP_SANDBOX=bwrap")
				}
				s := StartServer(t, Options{Env: append(env, "EXECMCP_ALLOWLIST=echo")})
				// The first form, with an allowlist of echo alone.
				wantExecError(t, s.Exec(continuationForms[0]), continuationDenied)
				noMarker(t, s.Dir, continuationForms[0])
				pid := pidOf(t, s.Exec(`echo $$`))
				if target == "sandbox" && pid >= 10 {
					t.Errorf("echo $$ = %d: the command did not run in the sandbox", pid)
				}

				s.Stop(syscall.SIGTERM)
				s = StartServer(t, Options{Env: append(env, "EXECMCP_ALLOWLIST=echo,cat")})
				for _, c := range continuationForms {
					wantExecError(t, s.Exec(c), continuationDenied)
					noMarker(t, s.Dir, c)
				}
				// A translated string is code evaluation, whatever the shell.
				wantExecError(t, s.Exec(`echo $"hello"`), `exec denied: allowlist miss ($"hello")`)
				// Background and PTY runs are judged the same way.
				wantExecError(t, s.Exec(continuationForms[0], "background", true), continuationDenied)
				wantExecError(t, s.Exec(continuationForms[0], "pty", true), continuationDenied)
				noMarker(t, s.Dir, continuationForms[0])
				// Plain line continuations between words run.
				wantText(t, s.Exec("echo a \\\n b \\\n\tc"), "a b c")
				wantText(t, s.Exec("echo ok | \\\n cat"), "ok")
				wantText(t, s.Exec("echo ok"), "ok")
				listEmpty(t, s)
			})
		}
	}
	// Controls: without the allowlist both shells run the first form's substitution.
	for _, shell := range []string{"bash", "dash"} {
		t.Run(shell+"-full", func(t *testing.T) {
			par(t)
			s := StartServer(t, Options{Env: []string{"SHELL=" + shellPath(t, shell)}})
			wantStatus(t, s.Exec(continuationForms[0]), "completed")
			if _, err := os.Stat(filepath.Join(s.Dir, "m")); err != nil {
				t.Errorf("under security full, %s did not run the substitution of %q (%v)", shell, continuationForms[0], err)
			}
		})
	}
}

// moFile is a GNU message catalogue with one message.
func moFile(msgid, msgstr string) []byte {
	var b bytes.Buffer
	w := func(v uint32) { binary.Write(&b, binary.LittleEndian, v) }
	const header = 28
	idOff := uint32(header + 16)
	strOff := idOff + uint32(len(msgid)) + 1
	w(0x950412de)          // magic
	w(0)                   // revision
	w(1)                   // number of strings
	w(header)              // original strings table
	w(header + 8)          // translations table
	w(0)                   // hash table size
	w(header + 16)         // hash table offset (empty)
	w(uint32(len(msgid)))  // original: length
	w(idOff)               //           offset
	w(uint32(len(msgstr))) // translation: length
	w(strOff)              //              offset
	b.WriteString(msgid + "\x00" + msgstr + "\x00")
	return b.Bytes()
}

// echoEscapes writes data as the argument of echo -ne: every byte as \xHH.
func echoEscapes(data []byte) string {
	var b strings.Builder
	for _, c := range data {
		fmt.Fprintf(&b, `\x%02x`, c)
	}
	return b.String()
}

// A $"..." string is translated from a catalogue the command can write with an allowed echo, and bash expands
// the translation again: the command writes the catalogue (allowed) and is denied at $"hello"; under
// security full bash runs the translation's substitution.
func TestSecurityAllowlistTranslation(t *testing.T) {
	par(t)
	bash := shellPath(t, "bash")
	mo := moFile("hello", "$(touch m)")
	catalogue := "loc/C.UTF-8/LC_MESSAGES"
	prepare := func(s *Server) {
		if err := os.MkdirAll(filepath.Join(s.Dir, catalogue), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := "echo -ne '" + echoEscapes(mo) + "' > " + catalogue + "/t.mo"
	// Bash translates a line when it reads it, so the domain is assigned on the line before.
	run := "LC_ALL=C.UTF-8 TEXTDOMAINDIR=loc TEXTDOMAIN=t\necho $\"hello\""

	s := StartServer(t, Options{Env: []string{"SHELL=" + bash, "EXECMCP_SECURITY=allowlist", "EXECMCP_ALLOWLIST=echo"}})
	prepare(s)
	wantStatus(t, s.Exec(write), "completed")
	if got, err := os.ReadFile(filepath.Join(s.Dir, catalogue, "t.mo")); err != nil || !bytes.Equal(got, mo) {
		t.Fatalf("the catalogue written through the allowed echo differs (%v)", err)
	}
	// Denied at $"hello", or at the assignments once the env policy blocks the domain variables.
	if r := s.Exec(run); !r.IsError || !strings.HasPrefix(r.Text, "exec denied: allowlist miss (") {
		t.Errorf("%q: want an allowlist miss, got %s", run, r)
	}
	noMarker(t, s.Dir, run)
	wantExecError(t, s.Exec(`echo $"hello"`), `exec denied: allowlist miss ($"hello")`)
	for _, c := range []string{`echo "${x:-$"hello"}"`, "echo \"`echo $\"hello\"`\"", `x=$"hello"`, `echo $"a $(touch m)"`} {
		r := s.Exec(c, "env", map[string]any{"LC_ALL": "C.UTF-8"})
		if !r.IsError || !strings.HasPrefix(r.Text, "exec denied: allowlist miss ($\"") {
			t.Errorf("%q: want the translated string denied, got %s", c, r)
		}
		noMarker(t, s.Dir, c)
	}
	// The domain given as env parameters: denied too (by the env policy or by the allowlist).
	r := s.Exec(`echo $"hello"`, "env", map[string]any{"LC_ALL": "C.UTF-8", "TEXTDOMAINDIR": "loc", "TEXTDOMAIN": "t"})
	if !r.IsError || !strings.Contains(r.Text, "denied") && !strings.HasPrefix(r.Text, "Security Violation") {
		t.Errorf("env parameter variant: want a denial, got %s", r)
	}
	noMarker(t, s.Dir, "env parameter variant")
	// Outside a translation, $" stays literal text and runs.
	wantText(t, s.Exec(`echo '$"hello"' "$"hello""`), `$"hello" $hello`)

	full := StartServer(t, Options{Env: []string{"SHELL=" + bash}})
	prepare(full)
	if err := os.WriteFile(filepath.Join(full.Dir, catalogue, "t.mo"), mo, 0o644); err != nil {
		t.Fatal(err)
	}
	full.Exec(run)
	if _, err := os.Stat(filepath.Join(full.Dir, "m")); err != nil {
		if r := full.Exec(`LC_ALL=C.UTF-8 bash -c 'echo "$LC_ALL"' 2>&1`); strings.Contains(r.Text, "cannot change locale") {
			t.Skipf("the C.UTF-8 locale is missing here, so the control cannot run: %s", r.Text)
		}
		t.Errorf("under security full, bash did not run the translation's substitution (%v)", err)
	}
}

// A timeout of 1e-300 s times out with a short number in the texts: the exec text and the exit line of a poll.
func TestSecurityTimeoutNumberText(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	r := s.Exec(`sleep 30`, "timeout", 1e-300)
	within(t, r, 10*time.Second, "timed-out exec")
	wantStatus(t, r, "failed")
	wantText(t, r, timeoutText("1e-300"))
	// In the background the timer (1 ms) may fire before the call returns: then the result is the text above.
	r = s.Exec(`sleep 30`, "background", true, "timeout", 1e-300)
	if r.Str("status") == "running" {
		id := r.Str("sessionId")
		s.WaitFinished(id, 10*time.Second)
		r = s.Proc("poll", "sessionId", id)
		if want := "(no new output)\n\nProcess exited with signal SIGTERM (timed out after 1e-300 seconds).\n\n" + retryGuidance; r.Text != want {
			t.Errorf("poll = %q, want the short timed-out exit line and the retry guidance %q", r.Text, want)
		}
	} else {
		wantText(t, r, timeoutText("1e-300"))
	}
	wantText(t, s.Exec(`sleep 30`, "timeout", 0.05), timeoutText("0.05"))
}
