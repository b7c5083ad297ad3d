package integration_test

// The terminal of PTY sessions through the real binary (docs/reference.md#process-screen,
// docs/reference.md#process-resize), with tmux as the oracle: the same program, with the same environment and
// window size, runs in a PTY session and in a detached tmux session, both get the same keys, and process screen
// must show what tmux capture-pane shows (trailing spaces and trailing empty rows removed on both sides).

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tmuxServers numbers the private tmux servers of this test process.
var tmuxServers atomic.Int32

// tmuxPane is a program running in a detached tmux session on a private tmux server (no user configuration, no
// status line), which the test kills at cleanup.
type tmuxPane struct {
	t    testing.TB
	sock string
}

// newTmux starts command (run by sh) in a tmux window of cols x rows.
func newTmux(t testing.TB, cols, rows int, command string) *tmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (the oracle of these tests; .ci/run installs it)")
	}
	conf := filepath.Join(t.TempDir(), "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g status off\nset -g escape-time 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &tmuxPane{t: t, sock: fmt.Sprintf("execmcp-test-%d-%d", os.Getpid(), tmuxServers.Add(1))}
	p.run("-f", conf, "new-session", "-d", "-s", "oracle", "-x", strconv.Itoa(cols), "-y", strconv.Itoa(rows), "sh", "-c", command)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", p.sock, "kill-server").Run() })
	return p
}

func (p *tmuxPane) run(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-u", "-L", p.sock}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

func (p *tmuxPane) capture() string {
	return normalizeScreen(p.run("capture-pane", "-p", "-t", "oracle"))
}

// cursor returns tmux's cursor row and column.
func (p *tmuxPane) cursor() (int, int) {
	var row, col int
	fmt.Sscan(p.run("display-message", "-p", "-t", "oracle", "#{cursor_y} #{cursor_x}"), &row, &col)
	return row, col
}

func (p *tmuxPane) sendKeys(keys ...string) {
	p.run(append([]string{"send-keys", "-t", "oracle"}, keys...)...)
}

// normalizeScreen removes trailing spaces from every row and the empty rows at the end.
func normalizeScreen(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// screenText is the screen part of a process screen text, normalized like a capture.
func screenText(r *Result) string {
	s := strings.TrimSuffix(r.Text, "\n[session exited; last screen shown]")
	if s == "(blank screen)" {
		return ""
	}
	return normalizeScreen(s)
}

// oracleEnv runs a program with the same environment in tmux and in a session: the server's PATH and HOME, a
// UTF-8 locale and the TERM execmcp gives PTY sessions.
func (s *Server) oracleEnv(command string) string {
	return "exec env -i PATH=" + shellQuote(os.Getenv("PATH")) + " HOME=" + shellQuote(s.Home) +
		" TERM=xterm-256color LANG=C.UTF-8 " + command
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// sameScreen waits until process screen of id shows what tmux shows (and, if compare is set, compare agrees on
// both), and returns the last screen result.
func (s *Server) sameScreen(p *tmuxPane, id string, compare func(screen, oracle string) bool) *Result {
	s.t.Helper()
	if compare == nil {
		compare = func(a, b string) bool { return a == b }
	}
	var r *Result
	var oracle string
	if !waitFor(20*time.Second, func() bool {
		r = s.Proc("screen", "sessionId", id)
		oracle = p.capture()
		return !r.IsError && oracle != "" && compare(screenText(r), oracle)
	}) {
		s.t.Fatalf("session %s: process screen\n%s\n--- tmux capture-pane\n%s", id, r.Text, oracle)
	}
	return r
}

// startOracle starts command (with oracleEnv) both as a PTY session of cols x rows and in tmux.
func (s *Server) startOracle(cols, rows int, command string) (string, *tmuxPane) {
	s.t.Helper()
	full := s.oracleEnv(command)
	id, _ := s.startPTY(full, "cols", cols, "rows", rows)
	return id, newTmux(s.t, cols, rows, full)
}

func cursorOf(r *Result) (row, col int, visible bool) {
	c, _ := r.SC["cursor"].(map[string]any)
	rf, _ := c["row"].(float64)
	cf, _ := c["col"].(float64)
	v, _ := c["visible"].(bool)
	return int(rf), int(cf), v
}

// Acceptance 1 and 7: cursor positioning and wide characters.
func TestScreenPrintfAndWide(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, p := s.startOracle(80, 24, `sh -c "printf 'a\nb\033[1;1HX'; sleep 60"`)
	r := s.sameScreen(p, id, nil)
	row, col, visible := cursorOf(r)
	trow, tcol := p.cursor()
	if r.Text != "X\nb" || row != 0 || col != 1 || !visible || row != trow || col != tcol {
		t.Errorf("screen %q cursor %d,%d visible %v; tmux cursor %d,%d", r.Text, row, col, visible, trow, tcol)
	}
	if r.Int("cols") != 80 || r.Int("rows") != 24 || r.Str("status") != "running" {
		t.Errorf("details %v", r.SC)
	}
	if alt, _ := r.Bool("altScreen"); alt || r.Has("terminalTitle") {
		t.Errorf("details %v", r.SC)
	}

	id, p = s.startOracle(40, 5, `sh -c "printf '漢字 ok\n'; sleep 60"`)
	r = s.sameScreen(p, id, nil)
	if r.Text != "漢字 ok" {
		t.Errorf("wide: %q", r.Text)
	}
	s.Proc("kill", "sessionId", id, "signal", "KILL")
	s.WaitFinished(id, 15*time.Second)
	if r := s.Proc("screen", "sessionId", id); r.IsError || r.Text != "漢字 ok\n[session exited; last screen shown]" {
		t.Errorf("finished: %s", r)
	}
}

// Acceptance 2: vim on the alternate screen, :q restores the main screen.
func TestScreenVim(t *testing.T) {
	par(t)
	if _, err := exec.LookPath("vim"); err != nil {
		t.Skip("vim is not installed (.ci/run installs it)")
	}
	s := StartServer(t, Options{})
	file := filepath.Join(s.Dir, "five.txt")
	if err := os.WriteFile(file, []byte("line one\nline two\nline three\nline four\nline five\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id, p := s.startOracle(80, 24, "sh -c 'echo before vim; vim -u NONE -i NONE -n -N "+file+"; echo after vim; sleep 60'")
	r := s.sameScreen(p, id, func(a, b string) bool { return a == b && strings.Contains(a, "line five") })
	if alt, _ := r.Bool("altScreen"); !alt {
		t.Errorf("vim: altScreen false: %v", r.SC)
	}
	if row, col, _ := cursorOf(r); row != 0 || col != 0 {
		t.Errorf("vim: cursor %d,%d", row, col)
	}
	s.Proc("send-keys", "sessionId", id, "literal", ":q")
	s.Proc("send-keys", "sessionId", id, "keys", []string{"Enter"})
	p.sendKeys(":q", "Enter")
	r = s.sameScreen(p, id, func(a, b string) bool { return a == b && strings.Contains(a, "after vim") })
	if alt, _ := r.Bool("altScreen"); alt || strings.Contains(r.Text, "line five") {
		t.Errorf("after :q: %s", r)
	}
}

// Acceptance 3: less on a 200-line file, one page down.
func TestScreenLess(t *testing.T) {
	par(t)
	if _, err := exec.LookPath("less"); err != nil {
		t.Skip("less is not installed (.ci/run installs it)")
	}
	s := StartServer(t, Options{})
	var b strings.Builder
	for i := 1; i <= 200; i++ {
		fmt.Fprintf(&b, "row %03d of the file\n", i)
	}
	file := filepath.Join(s.Dir, "rows.txt")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	id, p := s.startOracle(80, 24, "less "+file)
	s.sameScreen(p, id, func(a, b string) bool { return a == b && strings.HasPrefix(a, "row 001") })
	s.Proc("send-keys", "sessionId", id, "keys", []string{"Space"})
	p.sendKeys("Space")
	r := s.sameScreen(p, id, func(a, b string) bool { return a == b && strings.HasPrefix(a, "row 024") })
	if !strings.Contains(r.Text, "row 046") {
		t.Errorf("less page 2: %q", r.Text)
	}
	s.Proc("send-keys", "sessionId", id, "literal", "q")
}

// Acceptance 4: htop (top where htop is missing), compared on the stable part: the column header and the
// function-key bar, at the same rows.
func TestScreenTop(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	command, header := "htop", regexp.MustCompile(`^\s*PID USER\s+PRI\s+NI\s+VIRT`)
	if _, err := exec.LookPath("htop"); err != nil {
		if _, err := exec.LookPath("top"); err != nil {
			t.Skip("neither htop nor top is installed (.ci/run installs htop)")
		}
		command, header = "sh -c 'top -b -n 1 -w 100 | head -20; sleep 60'", regexp.MustCompile(`^\s*PID USER\s+PR\s+NI\s+VIRT`)
	}
	// The rows that do not change from one sample to the next: the header of the process list and, for htop,
	// the function-key bar at the bottom.
	stable := func(screen string) []string {
		var keep []string
		for i, l := range strings.Split(screen, "\n") {
			if header.MatchString(l) || strings.HasPrefix(l, "F1Help") {
				keep = append(keep, fmt.Sprintf("%d: %s", i, l))
			}
		}
		return keep
	}
	id, p := s.startOracle(100, 30, command)
	r := s.sameScreen(p, id, func(a, b string) bool {
		sa := stable(a)
		return len(sa) > 0 && reflect.DeepEqual(sa, stable(b))
	})
	if command == "htop" {
		if alt, _ := r.Bool("altScreen"); !alt || len(stable(screenText(r))) != 2 {
			t.Errorf("htop: %s", r)
		}
		s.Proc("send-keys", "sessionId", id, "literal", "q")
	}
}

// Acceptance 5: a Python curses program with a box and a title set by OSC 2.
func TestScreenCurses(t *testing.T) {
	par(t)
	python, err := exec.LookPath("python3")
	if err != nil || exec.Command(python, "-c", "import curses").Run() != nil {
		t.Skip("python3 with curses is not installed (.ci/run installs it)")
	}
	s := StartServer(t, Options{})
	script := filepath.Join(s.Dir, "box.py")
	if err := os.WriteFile(script, []byte(`import curses, sys
def main(w):
    sys.stdout.write("\x1b]2;curses demo\x07")
    sys.stdout.flush()
    curses.curs_set(0)
    w.box()
    w.addstr(0, 3, " Status ")
    w.addstr(2, 4, "hello from curses")
    w.addstr(4, 4, "press q to quit")
    w.refresh()
    while w.getch() != ord("q"):
        pass
curses.wrapper(main)
`), 0o644); err != nil {
		t.Fatal(err)
	}
	// tmux keeps line-drawing characters drawn with the VT100 alternate character set as the ASCII letters that
	// select them, and capture-pane prints those letters; NCURSES_NO_UTF8_ACS makes curses draw the box with
	// Unicode characters instead, which both show alike.
	id, p := s.startOracle(60, 10, "NCURSES_NO_UTF8_ACS=1 "+python+" "+script)
	r := s.sameScreen(p, id, func(a, b string) bool { return a == b && strings.Contains(a, "press q") })
	if r.Str("terminalTitle") != "curses demo" || !strings.Contains(r.Text, "┌── Status ") || !strings.Contains(r.Text, "└────") {
		t.Errorf("curses: %s", r)
	}
	if _, _, visible := cursorOf(r); visible {
		t.Errorf("curses hid the cursor: %v", r.SC)
	}
	s.Proc("send-keys", "sessionId", id, "literal", "q")
	// With the alternate character set the screen shows the same box.
	acs, _ := s.startPTY(s.oracleEnv(python+" "+script), "cols", 60, "rows", 10)
	var ra *Result
	if !waitFor(20*time.Second, func() bool {
		ra = s.Proc("screen", "sessionId", acs)
		return ra.Text == r.Text
	}) {
		t.Errorf("curses with the alternate character set:\n%s\nwant\n%s", ra.Text, r.Text)
	}
	s.Proc("send-keys", "sessionId", acs, "literal", "q")
}

// Acceptance 6: resize sends SIGWINCH and the emulator follows.
func TestScreenResize(t *testing.T) {
	par(t)
	s := StartServer(t, bashOptions(t))
	id, _ := s.startPTY(`bash -c 'trap "stty size" WINCH; echo ready; while :; do sleep 0.1; done'`)
	s.waitLog(id, "ready", 10*time.Second)
	r := s.Proc("resize", "sessionId", id, "cols", 80, "rows", 24)
	if r.IsError || r.Text != "Resized session "+id+" to 80x24." || r.Int("cols") != 80 || r.Int("rows") != 24 {
		t.Fatalf("resize: %s", r)
	}
	s.waitLog(id, "24 80", 10*time.Second)
	r = s.Proc("screen", "sessionId", id)
	if r.Int("cols") != 80 || r.Int("rows") != 24 || !strings.Contains(r.Text, "ready\n24 80") {
		t.Errorf("screen after resize: %s", r)
	}
	for _, args := range [][]any{{"cols", 1, "rows", 24}, {"cols", 80, "rows", 1001}, {"cols", 80}, {"cols", 80.5, "rows", 24}} {
		if r := s.Proc("resize", append([]any{"sessionId", id}, args...)...); !r.IsError || r.Text != "cols and rows must be integers between 2 and 1000." {
			t.Errorf("resize %v: %s", args, r)
		}
	}
	s.Proc("kill", "sessionId", id, "signal", "KILL")
	s.WaitFinished(id, 15*time.Second)
	if r := s.Proc("resize", "sessionId", id, "cols", 100, "rows", 40); !r.IsError || r.Text != "Session "+id+" is not running." {
		t.Errorf("resize finished: %s", r)
	}
}

// Acceptance 8: a session without a terminal; a finished PTY session keeps its last screen.
func TestScreenNoTerminalAndFinished(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	plain, _ := s.Background("sleep 60")
	want := "Session " + plain + " has no terminal (start it with pty: true)."
	for _, r := range []*Result{s.Proc("screen", "sessionId", plain), s.Proc("resize", "sessionId", plain, "cols", 80, "rows", 24)} {
		if !r.IsError || r.Text != want || r.Str("status") != "failed" {
			t.Errorf("no terminal: %s", r)
		}
	}
	id, _ := s.startPTY("printf 'first\\nsecond\\n'; exit 3")
	s.WaitFinished(id, 15*time.Second)
	r := s.Proc("screen", "sessionId", id, "scrollback", 5)
	if r.IsError || r.Text != "first\nsecond\n[session exited; last screen shown]" || r.Str("status") != "completed" {
		t.Errorf("finished: %s", r)
	}
	if r := s.Proc("screen", "sessionId", "no-such-id"); !r.IsError || r.Text != "No session found for no-such-id" {
		t.Errorf("unknown id: %s", r)
	}
}

// Scrollback: lines that scrolled off the top, above a marker line.
func TestScreenScrollback(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.startPTY("seq 1 50; sleep 60", "cols", 20, "rows", 5)
	var r *Result
	if !waitFor(15*time.Second, func() bool {
		r = s.Proc("screen", "sessionId", id, "scrollback", 3)
		return strings.Contains(r.Text, "50")
	}) {
		t.Fatalf("screen: %s", r)
	}
	// 5 rows: 47 to 50 and the cursor's empty row.
	if r.Text != "44\n45\n46\n--- screen ---\n47\n48\n49\n50" {
		t.Errorf("scrollback 3: %q", r.Text)
	}
	if r := s.Proc("screen", "sessionId", id, "scrollback", 5000); !strings.HasPrefix(r.Text, "1\n2\n3\n") || !strings.Contains(r.Text, "46\n--- screen ---\n47") {
		t.Errorf("all scrollback: %q", r.Text)
	}
}

// BenchmarkProcessScreen measures a process screen round trip over stdio on a full 120x30 screen (and with 1000
// lines of scrollback) against a process list round trip in the same run (docs/benchmarks.md).
func BenchmarkProcessScreen(b *testing.B) {
	s := StartServer(b, Options{})
	id, _ := s.startPTY(`i=0; while [ $i -lt 1100 ]; do printf '\033[32m%04d\033[m %s\n' $i "$(printf 'text %.0s' $(seq 22))"; i=$((i+1)); done; sleep 600`)
	if !waitFor(30*time.Second, func() bool { return strings.Contains(s.Proc("screen", "sessionId", id).Text, "1099") }) {
		b.Fatal("the screen never showed line 1099")
	}
	var list, screen, withScrollback []time.Duration
	timed := func(d *[]time.Duration, action string, pairs ...any) {
		start := time.Now()
		r := s.Proc(action, pairs...)
		*d = append(*d, time.Since(start))
		if r.IsError {
			b.Fatal(r)
		}
	}
	for b.Loop() {
		timed(&list, "list")
		timed(&screen, "screen", "sessionId", id)
		timed(&withScrollback, "screen", "sessionId", id, "scrollback", 1000)
	}
	b.ReportMetric(ms(median(screen)), "screen-median-ms")
	b.ReportMetric(ms(median(withScrollback)), "screen-scrollback1000-median-ms")
	b.ReportMetric(ms(median(list)), "list-median-ms")
	s.Proc("kill", "sessionId", id, "signal", "KILL")
}

// A smaller height keeps the newest rows, as in tmux: rows below the cursor go first, then the top rows scroll
// away.
func TestScreenResizeShrinks(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, p := s.startOracle(60, 30, "sh -c 'seq 1 40; sleep 60'")
	s.sameScreen(p, id, func(a, b string) bool { return a == b && strings.Contains(a, "40") })
	if r := s.Proc("resize", "sessionId", id, "cols", 60, "rows", 10); r.IsError {
		t.Fatal(r)
	}
	p.run("resize-window", "-t", "oracle", "-x", "60", "-y", "10")
	r := s.sameScreen(p, id, func(a, b string) bool { return a == b && strings.HasPrefix(a, "32\n") })
	if row, _, _ := cursorOf(r); row != 9 || r.Int("rows") != 10 {
		t.Errorf("after shrinking: %s", r)
	}
}
