package integration_test

// PTY sessions and terminal input through the real binary: send-keys, submit, paste, write with eof on a PTY,
// cursor-key modes, DSR replies, PTY output handling, input errors (docs/reference.md#exec-pty,
// docs/reference.md#process-input, docs/reference.md#send-keys). Every test asserts on what the interactive program
// itself printed, and ends with no surviving process (harness leak check).

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

const unknownModeFmt = "Session %s cursor key mode is not known yet. Poll or log until startup output appears, then retry send-keys."

func unknownModeText(id string) string { return strings.Replace(unknownModeFmt, "%s", id, 1) }

// bashOptions starts the server with SHELL=bash, so that commands run as `bash -c <command>`.
func bashOptions(t *testing.T) Options {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	return Options{Env: []string{"SHELL=" + bash}}
}

// startPTY starts command as a background PTY session and fails the test when the PTY fell back to pipes.
func (s *Server) startPTY(command string, pairs ...any) (string, int) {
	s.t.Helper()
	pairs = append(pairs, "pty", true, "background", true)
	r := s.Exec(command, pairs...)
	if strings.Contains(r.Text, "PTY spawn failed") {
		s.t.Fatalf("exec %q fell back to pipes: %s", command, r)
	}
	return s.mustRunning(r, command)
}

// waitLog waits until the retained output of id (process log, which does not drain) contains want; it returns
// the last log text.
func (s *Server) waitLog(id, want string, d time.Duration) string {
	s.t.Helper()
	var last string
	if !waitFor(d, func() bool {
		r := s.Proc("log", "sessionId", id)
		last = r.Text
		return strings.Contains(r.Text, want)
	}) {
		s.t.Fatalf("session %s: log lacks %q after %v; log %q", id, want, d, last)
	}
	return last
}

// waitComm waits until a live process of group pgid runs the program comm (so that it is reading its input).
func waitComm(t *testing.T, pgid int, comm string, d time.Duration) {
	t.Helper()
	if !waitFor(d, func() bool {
		for _, p := range groupMembers(pgid) {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/comm")
			if err == nil && strings.TrimSpace(string(b)) == comm {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no %s process in group %d after %v (members %v)", comm, pgid, d, groupMembers(pgid))
	}
}

// waitBlocked waits until a live process of group pgid runs comm and sleeps in the kernel reading its
// terminal (state S), so that input sent now reaches it after its terminal setup.
func waitBlocked(t *testing.T, pgid int, comm string, d time.Duration) {
	t.Helper()
	waitComm(t, pgid, comm, d)
	waitFor(d, func() bool {
		for _, p := range groupMembers(pgid) {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/comm")
			if err != nil || strings.TrimSpace(string(b)) != comm {
				continue
			}
			if st, _, _, ok := procStat(p); ok && st == 'S' {
				return true
			}
		}
		return false
	})
}

// outputWhenDone polls id until it finished and returns its whole recorded output (process log, so that a chunk
// boundary between two polls cannot split what the test looks for), and the last poll.
func (s *Server) outputWhenDone(id string, d time.Duration) (string, *Result) {
	s.t.Helper()
	_, last := s.PollUntilDone(id, d)
	return s.Proc("log", "sessionId", id).Text, last
}

// sessionOf returns the session id (field 6 of /proc/<pid>/stat) of pid.
func sessionOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 4 {
		return -1
	}
	n, _ := strconv.Atoi(f[3])
	return n
}

// send-keys ["h","i","Enter"], and write "hi" followed by submit, reach a bash `read`.
func TestPTYSendKeysAndSubmitReadLine(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, bashOptions(t))
	const cmd = `read line; echo "got:$line"`

	id, _ := s.startPTY(cmd)
	wantText(t, s.Proc("send-keys", "sessionId", id, "keys", []string{"h", "i", "Enter"}), "Sent 3 bytes to session "+id+".")
	out, last := s.outputWhenDone(id, 20*time.Second)
	if !strings.Contains(out, "got:hi") {
		t.Errorf("send-keys: output %q lacks got:hi", out)
	}
	wantStatus(t, last, "completed")
	wantExitCode(t, last, 0)

	id2, _ := s.startPTY(cmd)
	wantText(t, s.Proc("write", "sessionId", id2, "data", "hi"), "Wrote 2 bytes to session "+id2+".")
	r := s.Proc("submit", "sessionId", id2)
	wantText(t, r, "Submitted session "+id2+" (sent CR).")
	if r.Str("status") != "running" || r.Str("sessionId") != id2 {
		t.Errorf("submit details = %v", r.SC)
	}
	out, last = s.outputWhenDone(id2, 20*time.Second)
	if !strings.Contains(out, "got:hi") {
		t.Errorf("submit: output %q lacks got:hi", out)
	}
	wantStatus(t, last, "completed")
}

// python3 -q -i in a PTY: write a statement, read its result, end it with C-d.
func TestPTYPythonREPL(t *testing.T) {
	requirePTY(t)
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.startPTY(py + " -q -i")
	s.waitLog(id, ">>>", 30*time.Second)
	wantText(t, s.Proc("write", "sessionId", id, "data", "print(6*7)\n"), "Wrote 11 bytes to session "+id+".")
	s.waitLog(id, "42", 20*time.Second)
	// The REPL printed its next prompt: it reads again.
	waitFor(10*time.Second, func() bool {
		return strings.Count(s.Proc("log", "sessionId", id).Text, ">>>") >= 2
	})
	wantText(t, s.Proc("send-keys", "sessionId", id, "keys", []string{"C-d"}), "Sent 1 bytes to session "+id+".")
	e := s.WaitFinished(id, 20*time.Second)
	if e["status"] != "completed" || e["exitCode"] != float64(0) {
		t.Errorf("python after C-d: %v, want completed with code 0", e)
	}
	r := s.Proc("log", "sessionId", id)
	lines := strings.Split(r.Text, "\n")
	found := false
	for _, l := range lines {
		if strings.TrimSpace(l) == "42" {
			found = true
		}
	}
	if !found {
		t.Errorf("log has no line 42: %q", r.Text)
	}
}

// C-c interrupts the foreground sleep of a PTY shell; the shell runs its trap and goes on with the next command.
func TestPTYCtrlCInterruptsShell(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, bashOptions(t))
	id, pid := s.startPTY(`trap "echo trapped" INT; echo ready; sleep 100; echo next-ran`)
	s.waitLog(id, "ready", 20*time.Second)
	waitComm(t, pid, "sleep", 20*time.Second)
	start := time.Now()
	wantText(t, s.Proc("send-keys", "sessionId", id, "keys", []string{"C-c"}), "Sent 1 bytes to session "+id+".")
	out, last := s.outputWhenDone(id, 20*time.Second)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the shell finished %v after C-c", d)
	}
	ti, ni := strings.Index(out, "trapped"), strings.Index(out, "next-ran")
	if ti < 0 || ni < 0 || ni < ti {
		t.Errorf("output %q: want trapped then next-ran", out)
	}
	wantStatus(t, last, "completed")
	wantExitCode(t, last, 0)
}

// C-c ends a PTY `sleep 100` with SIGINT.
func TestPTYCtrlCSleep(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, Options{})
	id, pid := s.startPTY(`sleep 100`)
	waitComm(t, pid, "sleep", 20*time.Second)
	wantText(t, s.Proc("send-keys", "sessionId", id, "keys", []string{"C-c"}), "Sent 1 bytes to session "+id+".")
	e := s.WaitFinished(id, 5*time.Second)
	switch {
	case e["status"] == "failed" && e["exitSignal"] == "SIGINT":
	case e["status"] == "completed" && e["exitCode"] == float64(130):
	default:
		t.Errorf("after C-c: %v, want failed with SIGINT or completed with code 130", e)
	}
}

const decckmProgram = `stty raw -echo; dd bs=3 count=1 2>/dev/null | od -An -tx1`

// Cursor-key modes: application mode from the program's ESC[?1h, and normal mode after 2 s of output without
// a toggle.
func TestCursorKeyModes(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, Options{})

	id, pid := s.startPTY(`printf '\033[?1hready\n'; ` + decckmProgram)
	s.waitLog(id, "ready", 20*time.Second)
	waitBlocked(t, pid, "dd", 20*time.Second)
	wantText(t, s.Proc("send-keys", "sessionId", id, "keys", []string{"up"}), "Sent 3 bytes to session "+id+".")
	out, last := s.outputWhenDone(id, 20*time.Second)
	if !strings.Contains(out, "1b 4f 41") {
		t.Errorf("application mode up: output %q lacks 1b 4f 41", out)
	}
	if strings.Contains(out, "[?1h") {
		t.Errorf("the DECCKM sequence leaked into the output: %q", out)
	}
	wantStatus(t, last, "completed")

	id2, pid2 := s.startPTY(`printf 'ready\n'; ` + decckmProgram)
	start := time.Now() // not before the session's startedAt
	s.waitLog(id2, "ready", 20*time.Second)
	waitBlocked(t, pid2, "dd", 20*time.Second)
	time.Sleep(time.Until(start.Add(2500 * time.Millisecond)))
	wantText(t, s.Proc("send-keys", "sessionId", id2, "keys", []string{"up"}), "Sent 3 bytes to session "+id2+".")
	out, _ = s.outputWhenDone(id2, 20*time.Second)
	if !strings.Contains(out, "1b 5b 41") {
		t.Errorf("normal mode up: output %q lacks 1b 5b 41", out)
	}
}

// The last DECCKM toggle wins (also inside one chunk and with a parameter list), the reset sets normal at once,
// and the keypad sequence ESC= changes nothing.
func TestCursorKeyModeToggles(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, Options{})
	cases := []struct {
		prefix, key, want string
	}{
		{`\033[?1h\033[?1l`, "up", "1b 5b 41"},
		{`\033[?1l\033[?1;1049h`, "home", "1b 4f 48"},
		{`\033[?1h`, "C-up", "1b 5b 31"}, // modifiers use the xterm form in either mode (first 3 bytes)
		{`\033[?1h`, "pageup", "1b 5b 35"},
	}
	for _, c := range cases {
		id, pid := s.startPTY(`printf '` + c.prefix + `ready\n'; ` + decckmProgram)
		s.waitLog(id, "ready", 20*time.Second)
		waitBlocked(t, pid, "dd", 20*time.Second)
		r := s.Proc("send-keys", "sessionId", id, "keys", []string{c.key})
		if r.IsError {
			t.Errorf("%s then %s: %s", c.prefix, c.key, r)
		}
		out, _ := s.outputWhenDone(id, 20*time.Second)
		if !strings.Contains(out, c.want) {
			t.Errorf("%s then %s: output %q lacks %s", c.prefix, c.key, out, c.want)
		}
	}

	// ESC= is not a DECCKM toggle: the mode stays unknown until 2 s have passed.
	start := time.Now()
	id, _ := s.startPTY(`printf '\033=ready\n'; sleep 30`)
	s.waitLog(id, "ready", 20*time.Second)
	r := s.Proc("send-keys", "sessionId", id, "keys", []string{"up"})
	if time.Since(start) < 2*time.Second {
		wantProcError(t, r, unknownModeText(id))
	} else if r.IsError && r.Text != unknownModeText(id) {
		t.Errorf("send-keys up after ESC=: %s", r)
	}
	wantText(t, s.Proc("kill", "sessionId", id, "signal", "KILL"), "Termination requested for session "+id+".")
}

// The cursor-key mode is unknown until output appears: unmodified cursor keys are refused, other keys are sent;
// output seen plus 2 s turns the mode normal.
func TestCursorUnknownModeRefusal(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.startPTY(`sleep 30`)
	for _, keys := range [][]string{{"up"}, {"Enter", " END "}, {"a", "Home"}, {"LEFT"}, {"right"}, {"down"}} {
		wantProcError(t, s.Proc("send-keys", "sessionId", id, "keys", keys), unknownModeText(id))
	}
	// The refusal comes before building the payload: the literal and the hex bytes are not sent either.
	wantProcError(t, s.Proc("send-keys", "sessionId", id, "literal", "x", "hex", []string{"41"}, "keys", []string{"up"}), unknownModeText(id))
	wantText(t, s.Proc("send-keys", "sessionId", id, "keys", []string{"C-up"}), "Sent 6 bytes to session "+id+".")
	wantText(t, s.Proc("send-keys", "sessionId", id, "keys", []string{"pageup"}), "Sent 4 bytes to session "+id+".")
	wantText(t, s.Proc("send-keys", "sessionId", id, "literal", "\x1b[A"), "Sent 3 bytes to session "+id+".")
	wantText(t, s.Proc("send-keys", "sessionId", id, "keys", []string{"Enter"}), "Sent 1 bytes to session "+id+".")
	// The terminal echoed the input: output was seen, so 2 s after the start the mode is normal.
	s.waitLog(id, "^[", 10*time.Second)
	time.Sleep(2500 * time.Millisecond)
	wantText(t, s.Proc("send-keys", "sessionId", id, "keys", []string{"up"}), "Sent 3 bytes to session "+id+".")
	wantText(t, s.Proc("kill", "sessionId", id, "signal", "KILL"), "Termination requested for session "+id+".")
}

const dsrCommand = `stty -icanon -echo min 6 time 50; printf '\033[6n'; r=$(dd bs=6 count=1 2>/dev/null); stty sane; [ "$r" = "$(printf '\033[1;1R')" ] && echo got-reply`

// Terminal queries are answered: a cursor position report (DSR) reaches the program and its query is not in the
// output, both query forms are answered in order, and so is a query split across two reads.
func TestDSRAnswered(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, Options{})
	r := s.Exec(dsrCommand, "pty", true)
	wantStatus(t, r, "completed")
	within(t, r, 8*time.Second, "exec with a DSR query")
	if !strings.Contains(r.Text, "got-reply") || strings.Contains(r.Text, "[6n") {
		t.Errorf("DSR exec text %q: want got-reply and no [6n", r.Text)
	}

	// Two queries, ESC[6n and ESC[?6n, get two replies.
	r = s.Exec(`stty -icanon -echo min 12 time 50; printf '\033[6n\033[?6n'; r=$(dd bs=12 count=1 2>/dev/null); stty sane; `+
		`[ "$r" = "$(printf '\033[1;1R\033[1;1R')" ] && echo got-two`, "pty", true)
	wantStatus(t, r, "completed")
	if !strings.Contains(r.Text, "got-two") || strings.Contains(r.Text, "6n") {
		t.Errorf("two DSR queries: text %q", r.Text)
	}

	// A query split between two writes (two reads of the master) is still recognised, in a background session.
	id, _ := s.startPTY(`stty -icanon -echo min 6 time 50; printf '\033['; sleep 0.5; printf '6n'; r=$(dd bs=6 count=1 2>/dev/null); stty sane; ` +
		`[ "$r" = "$(printf '\033[1;1R')" ] && echo got-split`)
	out, last := s.outputWhenDone(id, 20*time.Second)
	if !strings.Contains(out, "got-split") || strings.Contains(out, "6n") || strings.Contains(out, "\x1b") {
		t.Errorf("split DSR query: output %q", out)
	}
	wantStatus(t, last, "completed")
}

// Bracketed and raw paste as the program received them; the empty raw paste is refused.
func TestPasteBracketedAndRaw(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, Options{})

	// `cat -v` with the terminal's echo on (the terminal echoes too).
	id, pid := s.startPTY(`cat -v`)
	waitBlocked(t, pid, "cat", 20*time.Second)
	wantText(t, s.Proc("paste", "sessionId", id, "text", "hello"), "Pasted 5 chars to session "+id+".")
	wantText(t, s.Proc("submit", "sessionId", id), "Submitted session "+id+" (sent CR).")
	s.waitLog(id, "^[[200~hello^[[201~", 20*time.Second)
	wantText(t, s.Proc("paste", "sessionId", id, "text", "raw", "bracketed", false), "Pasted 3 chars to session "+id+".")
	wantText(t, s.Proc("submit", "sessionId", id), "Submitted session "+id+" (sent CR).")
	s.waitLog(id, "raw", 20*time.Second)
	wantProcError(t, s.Proc("paste", "sessionId", id, "text", "", "bracketed", false), "No paste text provided.")
	wantText(t, s.Proc("kill", "sessionId", id), "Termination requested for session "+id+".")

	// With echo off, every line is what cat received.
	id, pid = s.startPTY(`stty -echo; cat -v`)
	waitBlocked(t, pid, "cat", 20*time.Second)
	wantText(t, s.Proc("paste", "sessionId", id, "text", "héllo"), "Pasted 5 chars to session "+id+".")
	wantText(t, s.Proc("submit", "sessionId", id), "Submitted session "+id+" (sent CR).")
	wantText(t, s.Proc("paste", "sessionId", id, "text", "raw", "bracketed", "false"), "Pasted 3 chars to session "+id+".")
	wantText(t, s.Proc("submit", "sessionId", id), "Submitted session "+id+" (sent CR).")
	wantText(t, s.Proc("paste", "sessionId", id), "Pasted 0 chars to session "+id+".")
	wantText(t, s.Proc("submit", "sessionId", id), "Submitted session "+id+" (sent CR).")
	wantProcError(t, s.Proc("paste", "sessionId", id, "bracketed", false), "No paste text provided.")
	wantText(t, s.Proc("write", "sessionId", id, "data", "", "eof", true), "Wrote 0 bytes to session "+id+" (sent EOT).")
	_, last := s.outputWhenDone(id, 20*time.Second)
	wantStatus(t, last, "completed")
	var lines []string
	for _, l := range strings.Split(s.Proc("log", "sessionId", id).Text, "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			lines = append(lines, l)
		}
	}
	// cat -v shows the UTF-8 bytes of é as M-CM-).
	want := []string{"^[[200~hM-CM-)llo^[[201~", "raw", "^[[200~^[[201~"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("cat -v received %q, want the lines %q", lines, want)
	}
}

// hex items are raw bytes (ff is one byte), the payload order is literal + hex + keys whatever the parameter
// order, and warnings are listed after the text.
func TestKeysRawBytesOrderAndWarnings(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, Options{})
	id, pid := s.startPTY(`stty raw -echo; head -c 11 | od -An -tx1`)
	waitBlocked(t, pid, "head", 20*time.Second)
	args := map[string]any{"action": "send-keys", "sessionId": id,
		"keys": []string{"C-right", "C-foo"}, "hex": []string{"ff", "zz"}, "literal": "a"}
	r := s.Call("process", args)
	wantText(t, r, "Sent 11 bytes to session "+id+".\nWarnings:\n- Invalid hex byte: zz\n- Unknown key \"foo\" for modifiers; sending literal.")
	ws, _ := r.SC["warnings"].([]any)
	if len(ws) != 2 || ws[0] != "Invalid hex byte: zz" || ws[1] != `Unknown key "foo" for modifiers; sending literal.` {
		t.Errorf("warnings detail = %v", r.SC["warnings"])
	}
	if r.Str("status") != "running" || r.Str("sessionId") != id {
		t.Errorf("send-keys details = %v", r.SC)
	}
	out, last := s.outputWhenDone(id, 20*time.Second)
	if !strings.Contains(out, "61 ff 1b 5b 31 3b 35 43 66 6f 6f") {
		t.Errorf("od shows %q, want 61 ff 1b 5b 31 3b 35 43 66 6f 6f", out)
	}
	wantStatus(t, last, "completed")

	// Named keys and modifiers as received: f5, M-x, S-Tab, C-delete, ^?, KPEnter, backspace.
	id, pid = s.startPTY(`stty raw -echo; head -c 21 | od -An -tx1 -w32`)
	waitBlocked(t, pid, "head", 20*time.Second)
	wantText(t, s.Proc("send-keys", "sessionId", id, "keys", []string{"f5", "M-x", "S-Tab", "C-delete", "^?", "KPEnter", "bspace"}),
		"Sent 21 bytes to session "+id+".")
	out, _ = s.outputWhenDone(id, 20*time.Second)
	if want := "1b 5b 31 35 7e 1b 78 1b 5b 5a 1b 5b 33 3b 35 7e 7f 1b 4f 4d 7f"; !strings.Contains(out, want) {
		t.Errorf("od shows %q, want %s", out, want)
	}

	// Nothing to send.
	id, _ = s.startPTY(`sleep 30`)
	wantProcError(t, s.Proc("send-keys", "sessionId", id), "No key data provided.")
	wantProcError(t, s.Proc("send-keys", "sessionId", id, "keys", []string{" ", ""}, "literal", ""), "No key data provided.")
	wantProcError(t, s.Proc("send-keys", "sessionId", id, "hex", []string{"zz"}), "No key data provided.")
	// A single string is a one-element array.
	wantText(t, s.Proc("send-keys", "sessionId", id, "keys", "Enter"), "Sent 1 bytes to session "+id+".")
	wantText(t, s.Proc("kill", "sessionId", id, "signal", "KILL"), "Termination requested for session "+id+".")
}

// write with eof on a PTY to a shell that keeps reading after the EOT, and the PTY group on kill, timeout and
// shutdown.
func TestPTYEOTAndGroupKill(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, Options{})
	id, pid := s.startPTY(`cat`)
	waitBlocked(t, pid, "cat", 20*time.Second)
	wantText(t, s.Proc("write", "sessionId", id, "data", "abc\n", "eof", true), "Wrote 4 bytes to session "+id+" (sent EOT).")
	e := s.WaitFinished(id, 5*time.Second)
	if e["status"] != "completed" || e["exitCode"] != float64(0) {
		t.Errorf("pty cat after EOT: %v, want completed with code 0", e)
	}
	if out, _ := s.outputWhenDone(id, 5*time.Second); !strings.Contains(out, "abc") {
		t.Errorf("output %q lacks abc", out)
	}

	// The PTY stays writable after the EOT: the second cat reads on.
	id, pid = s.startPTY(`cat; echo first-eof; cat -v`)
	waitBlocked(t, pid, "cat", 20*time.Second)
	wantText(t, s.Proc("write", "sessionId", id, "data", "", "eof", true), "Wrote 0 bytes to session "+id+" (sent EOT).")
	s.waitLog(id, "first-eof", 20*time.Second)
	wantText(t, s.Proc("write", "sessionId", id, "data", "x\n", "eof", true), "Wrote 2 bytes to session "+id+" (sent EOT).")
	out, last := s.outputWhenDone(id, 20*time.Second)
	if !strings.Contains(out, "x") {
		t.Errorf("output %q lacks the x written after the first EOT", out)
	}
	wantStatus(t, last, "completed")

	// kill: the PTY child leads its own session, and its whole group (a background sleep too) goes.
	id, pid = s.startPTY(`sleep 30 & sleep 30`)
	waitFor(5*time.Second, func() bool { return len(groupMembers(pid)) >= 2 })
	if sid := sessionOf(pid); sid != pid {
		t.Errorf("PTY child %d: session id %d, want its own session", pid, sid)
	}
	wantText(t, s.Proc("kill", "sessionId", id), "Termination requested for session "+id+".")
	if !waitFor(5*time.Second, func() bool { return pgGone(pid) }) {
		t.Errorf("pty group %d alive 5 s after kill: %v", pid, groupMembers(pid))
	}

	// timeout: the group goes too.
	id, pid = s.startPTY(`sleep 30 & sleep 30`, "timeout", 1)
	e = s.WaitFinished(id, 15*time.Second)
	if e["status"] != "failed" || e["exitReason"] != "overall-timeout" {
		t.Errorf("timed-out pty session: %v", e)
	}
	if !waitFor(5*time.Second, func() bool { return pgGone(pid) }) {
		t.Errorf("pty group %d alive after the timeout: %v", pid, groupMembers(pid))
	}

	// shutdown: a running PTY session's group is tracked and checked by the leak check when the server stops.
	s.startPTY(`sleep 30 & sleep 30`)
}

// The terminal's environment: the server's TERM=dumb is replaced, another TERM is kept; several CRLF lines each count
// once in log.
func TestPTYTerminalEnv(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, Options{Env: []string{"TERM=dumb"}})
	r := s.Exec(ttyCommand, "pty", true)
	wantStatus(t, r, "completed")
	for _, want := range []string{"/dev/pts/", "is-tty", "30 120", "xterm-256color"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("pty output %q lacks %q", r.Text, want)
		}
	}
	// Non-PTY runs keep the server's TERM=dumb and have no terminal.
	r = s.Exec(`test -t 0 || echo no-tty; printf '%s' "$TERM"`)
	if !strings.Contains(r.Text, "no-tty") || !strings.HasSuffix(r.Text, "dumb") {
		t.Errorf("non-PTY output %q", r.Text)
	}

	s2 := StartServer(t, Options{Env: []string{"TERM=screen"}})
	r = s2.Exec(`printf '%s' "$TERM"`, "pty", true)
	if !strings.Contains(r.Text, "screen") || strings.Contains(r.Text, "xterm") {
		t.Errorf("pty with the server's TERM=screen: %q", r.Text)
	}

	id, _ := s.startPTY(`for i in 1 2 3 4 5; do echo "line $i"; done; printf 'no-newline'`)
	s.WaitFinished(id, 10*time.Second)
	r = s.Proc("log", "sessionId", id)
	if r.Int("totalLines") != 6 || strings.Contains(r.Text, "\r") {
		t.Errorf("log = %q totalLines %v, want 6 lines without CR", r.Text, r.SC["totalLines"])
	}
	wantText(t, s.Proc("log", "sessionId", id, "offset", 4, "limit", 2), "line 5\nno-newline")
}

// ANSI and OSC sequences split across reads of the master are removed completely.
func TestPTYOutputSanitisedAcrossReads(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.startPTY(`printf 'a\033]0;my-title'; sleep 0.4; printf '\007b\033[3'; sleep 0.4; printf '1mc\033[0m\033'; sleep 0.4; printf '[Kd\n'`)
	out, last := s.outputWhenDone(id, 20*time.Second)
	wantStatus(t, last, "completed")
	if out != "abcd" {
		t.Errorf("log = %q, want abcd", out)
	}
}

// Input to a finished session, to a closed stdin, and wrong parameter types get the documented errors; the server
// keeps serving.
func TestPTYInputErrors(t *testing.T) {
	requirePTY(t)
	par(t)
	s := StartServer(t, Options{})

	// Finished PTY session.
	id, _ := s.startPTY(`echo done`)
	s.WaitFinished(id, 10*time.Second)
	for _, a := range [][]any{
		{"write", "data", "x"}, {"write", "data", "x", "eof", true}, {"send-keys", "keys", []string{"up"}},
		{"send-keys", "keys", []string{"Enter"}}, {"submit"}, {"paste", "text", "x"},
	} {
		wantProcError(t, s.Proc(a[0].(string), append([]any{"sessionId", id}, a[1:]...)...), "No active session found for "+id)
	}
	// Unknown id.
	wantProcError(t, s.Proc("send-keys", "sessionId", "no-such-session", "keys", []string{"up"}), "No active session found for no-such-session")

	// Non-PTY session whose stdin was closed with eof; the not-writable check comes before the key checks.
	id2, _ := s.Background(`cat; sleep 30`)
	wantText(t, s.Proc("write", "sessionId", id2, "data", "", "eof", true), "Wrote 0 bytes to session "+id2+" (stdin closed).")
	for _, a := range [][]any{
		{"write", "data", "x"}, {"send-keys", "keys", []string{"up"}}, {"send-keys", "keys", []string{"a"}},
		{"submit"}, {"paste", "text", "x"}, {"paste", "text", "", "bracketed", true},
	} {
		wantProcError(t, s.Proc(a[0].(string), append([]any{"sessionId", id2}, a[1:]...)...), "Session "+id2+" stdin is not writable.")
	}
	// An auto-yielded non-PTY session has /dev/null as stdin.
	r := s.Exec(`sleep 30`, "yieldMs", 200)
	id3, _ := s.mustRunning(r, "sleep 30")
	wantProcError(t, s.Proc("send-keys", "sessionId", id3, "keys", []string{"up"}), "Session "+id3+" stdin is not writable.")
	wantProcError(t, s.Proc("submit", "sessionId", id3), "Session "+id3+" stdin is not writable.")

	// Wrong parameter types.
	id4, _ := s.startPTY(`sleep 30`)
	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"action": "send-keys", "keys": 5}, `Invalid parameter "keys": expected an array of strings.`},
		{map[string]any{"action": "send-keys", "keys": []any{"a", 1}}, `Invalid parameter "keys": expected an array of strings.`},
		{map[string]any{"action": "send-keys", "hex": map[string]any{"a": "0d"}}, `Invalid parameter "hex": expected an array of strings.`},
		{map[string]any{"action": "send-keys", "literal": 7}, `Invalid parameter "literal": expected a string.`},
		{map[string]any{"action": "paste", "text": "x", "bracketed": "maybe"}, `Invalid parameter "bracketed": expected a boolean.`},
		{map[string]any{"action": "write", "data": "x", "eof": 3}, `Invalid parameter "eof": expected a boolean.`},
		{map[string]any{"action": "write", "data": []string{"x"}}, `Invalid parameter "data": expected a string.`},
		{map[string]any{"action": "paste", "text": false}, `Invalid parameter "text": expected a string.`},
	} {
		c.args["sessionId"] = id4
		wantProcError(t, s.Call("process", c.args), c.want)
	}
	// Nothing was sent by the refused calls, and the session is still usable.
	wantText(t, s.Proc("send-keys", "sessionId", id4, "keys", []string{"Enter"}), "Sent 1 bytes to session "+id4+".")
	r = s.Exec(`echo still-alive`)
	wantStatus(t, r, "completed")
	if !strings.Contains(r.Text, "still-alive") {
		t.Errorf("exec after errors: %s", r)
	}
	for _, i := range []string{id2, id3, id4} {
		s.Proc("kill", "sessionId", i, "signal", "KILL")
	}
}
