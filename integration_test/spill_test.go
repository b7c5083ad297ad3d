package integration_test

// Spill files through the real binary (docs/reference.md#spill, docs/reference.md#log-pattern): the complete
// output of a background session on disk, paged and searched by log, its caps, its lifetime with the session and
// the server, a full disk, scopes over HTTP, and the sandbox, which does not see the path.

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

// spillEnv is the environment of a server that spills once a session retained 1000 chars, into dir.
func spillEnv(dir string, extra ...string) []string {
	return append([]string{"PI_BASH_MAX_OUTPUT_CHARS=1000", "EXECMCP_LOG_DIR=" + dir}, extra...)
}

// seqOut is the output of seq 1 n.
func seqOut(n int) string {
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		sb.WriteString(strconv.Itoa(i) + "\n")
	}
	return sb.String()
}

// stoppedNote is the note of a spill file that stopped growing at n bytes.
func stoppedNote(n int, reason string) string {
	return fmt.Sprintf("[the full log stopped at %d bytes (%s); later output is only in the retained tail]\n", n, reason)
}

// gone reports whether path does not exist.
func gone(path string) bool {
	_, err := os.Lstat(path)
	return os.IsNotExist(err)
}

// waitGone waits until path no longer exists.
func waitGone(t *testing.T, path string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !gone(path) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still exists after %v", path, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A background seq of 100000 lines with a retention cap of 1000 chars: log pages and searches the complete output,
// whose file is private and equals the output; a small session has no file.
func TestSpillCompleteOutput(t *testing.T) {
	par(t)
	dir := t.TempDir()
	s := StartServer(t, Options{Env: spillEnv(dir)})
	id, _ := s.Background("seq 1 100000")
	s.WaitFinished(id, 30*time.Second)
	// The head the retention cap dropped is in the full log, and the poll says so.
	if r := s.Proc("poll", "sessionId", id); !strings.Contains(r.Text,
		"[earlier output is no longer in memory; it is in the full log: use action=log with offset and limit, or pattern]") {
		t.Errorf("poll of the spilled session: %q", r.Text[:min(len(r.Text), 300)])
	}

	r := s.Proc("log", "sessionId", id, "offset", 0, "limit", 3)
	wantText(t, r, "1\n2\n3")
	if r.Int("totalLines") != 100000 || r.Int("total") != 100000 || r.Int("totalChars") != len(seqOut(100000)) {
		t.Errorf("log details %v", r.SC)
	}
	if sp, _ := r.Bool("spilled"); !sp || r.Int("logBytes") != len(seqOut(100000)) {
		t.Errorf("log details %v", r.SC)
	}
	path := r.Str("logPath")
	if want := filepath.Join(dir, strconv.Itoa(s.Pid()), id+".log"); path != want {
		t.Fatalf("logPath %q, want %q", path, want)
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != seqOut(100000) {
		t.Errorf("file: %d bytes, %v; want the output of seq 1 100000", len(data), err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode(), err, want)
		}
	}
	wantText(t, s.Proc("log", "sessionId", id, "pattern", "^77777$"), "77776: 77777")
	r = s.Proc("log", "sessionId", id, "pattern", "^9999.$", "limit", 3)
	wantText(t, r, "99989: 99990\n99990: 99991\n99991: 99992\n\n[3 of 10 matching lines shown; pass offset 99992 to continue]")
	if r.Int("matches") != 10 || r.Str("pattern") != "^9999.$" {
		t.Errorf("search details %v", r.SC)
	}
	wantText(t, s.Proc("log", "sessionId", id, "pattern", "^9999.$", "offset", 99998), "99998: 99999")
	wantText(t, s.Proc("log", "sessionId", id, "pattern", "x"), "(no lines match /x/)")
	wantProcError(t, s.Proc("log", "sessionId", id, "pattern", "("), "Invalid pattern: error parsing regexp: missing closing ): `(`")
	wantProcError(t, s.Proc("log", "sessionId", "no-such-id", "pattern", "("), "Invalid pattern: error parsing regexp: missing closing ): `(`")
	r = s.Proc("log", "sessionId", id)
	if !strings.HasPrefix(r.Text, "99801\n") || !strings.HasSuffix(r.Text, "\n100000\n\n[showing last 200 of 100000 lines; pass offset/limit to page]") {
		t.Errorf("tail of the log: %q ... %q", r.Text[:20], r.Text[len(r.Text)-80:])
	}
	if r := s.Proc("poll", "sessionId", id); r.Str("logPath") != path {
		t.Errorf("poll details %v", r.SC)
	}

	// A session that never passes the cap has no file.
	small, _ := s.Background("seq 1 10")
	s.WaitFinished(small, 10*time.Second)
	r = s.Proc("log", "sessionId", small)
	wantText(t, r, strings.TrimSuffix(seqOut(10), "\n"))
	if r.Has("spilled") || r.Has("logPath") || r.Has("logBytes") || !gone(filepath.Join(filepath.Dir(path), small+".log")) {
		t.Errorf("small session: %v", r.SC)
	}

	// A file that someone else cut or deleted: log says so, without the path.
	if err := os.Truncate(path, 10); err != nil {
		t.Fatal(err)
	}
	wantProcError(t, s.Proc("log", "sessionId", id, "offset", 50000, "limit", 1), "Cannot read the full log of session "+id+": unexpected EOF")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	wantProcError(t, s.Proc("log", "sessionId", id), "Cannot read the full log of session "+id+": no such file or directory")
	wantText(t, s.Proc("remove", "sessionId", id), "Removed session "+id+".")

	// exec's running result names the file when the yield window already passed the cap.
	r = s.Exec("seq 1 20000; sleep 1", "yieldMs", 500)
	if r.Str("status") != "running" || !strings.HasSuffix(r.Str("logPath"), "/"+r.Str("sessionId")+".log") {
		t.Errorf("running result %v", r.SC)
	}
	s.WaitFinished(r.Str("sessionId"), 10*time.Second)
}

// A per-session cap of 100000 bytes: the file stops at a whole line within it, log says so, the session completes
// normally and the retained tail still ends with the last line.
func TestSpillSessionCap(t *testing.T) {
	par(t)
	s := StartServer(t, Options{Env: spillEnv(t.TempDir(), "EXECMCP_LOG_MAX_BYTES=100000")})
	id, _ := s.Background("seq 1 1000000")
	_, fin := s.PollUntilDone(id, 60*time.Second)
	wantStatus(t, fin, "completed")
	wantExitCode(t, fin, 0)
	if !strings.HasSuffix(fin.Str("aggregated"), "\n1000000\n") {
		t.Errorf("retained tail %q", fin.Str("aggregated")[len(fin.Str("aggregated"))-30:])
	}
	r := s.Proc("log", "sessionId", id, "limit", 2)
	data, err := os.ReadFile(r.Str("logPath"))
	if err != nil || len(data) > 100000 || len(data) < 99990 || !strings.HasPrefix(seqOut(1000000), string(data)) ||
		data[len(data)-1] != '\n' {
		t.Fatalf("file of %d bytes (%v) is not the head of the output cut after a line within the cap", len(data), err)
	}
	wantText(t, r, stoppedNote(len(data), "per-session cap")+"999999\n1000000")
	if r.Int("totalLines") != 1000000 || r.Int("logBytes") != len(data) {
		t.Errorf("details %v", r.SC)
	}
	lines := strings.Count(string(data), "\n")
	r = s.Proc("log", "sessionId", id, "offset", lines-1, "limit", 2)
	wantText(t, r, stoppedNote(len(data), "per-session cap")+strconv.Itoa(lines)+
		fmt.Sprintf("\n\n[lines %d to %d were not kept: the full log stopped before them]", lines, lines))
	// The search covers the file and then the retained tail, which starts at line 1000000 - (its lines).
	retainedFirst := 1000000 - strings.Count(fin.Str("aggregated"), "\n")
	wantText(t, s.Proc("log", "sessionId", id, "pattern", "^(3|999999)$"),
		stoppedNote(len(data), "per-session cap")+"2: 3\n999998: 999999\n\n"+
			fmt.Sprintf("[lines %d to %d were not kept: the full log stopped before them]", lines, retainedFirst-1))
}

// remove deletes the file; so does the TTL sweep; shutdown by stdin EOF and by SIGTERM removes the server's
// directory; a directory left by a SIGKILLed server is removed by the next server start.
func TestSpillLifetime(t *testing.T) {
	t.Run("remove", func(t *testing.T) {
		par(t)
		s := StartServer(t, Options{Env: spillEnv(t.TempDir())})
		id, _ := s.Background("seq 1 100000; exec sleep 30")
		path := waitLogPath(t, s, id)
		wantText(t, s.Proc("remove", "sessionId", id), "Removed session "+id+" (termination requested).")
		waitGone(t, path, 10*time.Second)
		done, _ := s.Background("seq 1 100000")
		s.WaitFinished(done, 10*time.Second)
		path = s.Proc("log", "sessionId", done).Str("logPath")
		wantText(t, s.Proc("remove", "sessionId", done), "Removed session "+done+".")
		if !gone(path) {
			t.Errorf("%s survives remove", path)
		}
	})
	t.Run("ttl", func(t *testing.T) {
		par(t)
		s := StartServer(t, Options{Env: spillEnv(t.TempDir(), "PI_BASH_JOB_TTL_MS=60000", "PI_BASH_SWEEPER_INTERVAL_MS=1000")})
		id, _ := s.Background("seq 1 100000")
		s.WaitFinished(id, 10*time.Second)
		path := s.Proc("log", "sessionId", id).Str("logPath")
		if gone(path) {
			t.Fatalf("no file %q", path)
		}
		waitGone(t, path, 90*time.Second)
		wantProcError(t, s.Proc("log", "sessionId", id), "No session found for "+id)
	})
	for _, how := range []string{"stdin", "SIGTERM"} {
		t.Run(how, func(t *testing.T) {
			par(t)
			s := StartServer(t, Options{Env: spillEnv(t.TempDir())})
			id, _ := s.Background("seq 1 100000")
			s.WaitFinished(id, 10*time.Second)
			serverDir := filepath.Dir(s.Proc("log", "sessionId", id).Str("logPath"))
			if how == "stdin" {
				s.StopByStdinClose()
			} else {
				s.Stop(syscall.SIGTERM)
			}
			if !gone(serverDir) {
				t.Errorf("%s survives shutdown by %s", serverDir, how)
			}
		})
	}
	t.Run("SIGKILL", func(t *testing.T) {
		par(t)
		dir := t.TempDir()
		a := StartServer(t, Options{Env: spillEnv(dir)})
		id, _ := a.Background("seq 1 100000")
		a.WaitFinished(id, 10*time.Second)
		killed := filepath.Dir(a.Proc("log", "sessionId", id).Str("logPath"))
		a.Kill()
		if gone(killed) {
			t.Fatalf("%s went with a SIGKILLed server", killed)
		}
		// A directory of a live server and a name that is not a pid stay.
		other := filepath.Join(dir, strconv.Itoa(os.Getpid()))
		notPid := filepath.Join(dir, "keep-me")
		for _, d := range []string{other, notPid} {
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		StartServer(t, Options{Env: spillEnv(dir)})
		if !gone(killed) || gone(other) || gone(notPid) {
			t.Errorf("after the next start: killed server's dir gone %v, live one's %v, other name %v", gone(killed), gone(other), gone(notPid))
		}
	})
}

// waitLogPath waits until the session's log names its spill file.
func waitLogPath(t *testing.T, s *Server, id string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if p := s.Proc("log", "sessionId", id, "limit", 1).Str("logPath"); p != "" {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s has no spill file after 10 s", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A log directory on a 1 MiB tmpfs fills up: the file stops with the OS error and nothing is lost from memory.
func TestSpillDiskFull(t *testing.T) {
	par(t)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	s := StartServer(t, Options{Env: spillEnv(dir)})
	id, _ := s.Background("seq 1 1000000")
	_, fin := s.PollUntilDone(id, 60*time.Second)
	wantStatus(t, fin, "completed")
	r := s.Proc("log", "sessionId", id, "limit", 1)
	size := r.Int("logBytes")
	if size < 500000 || size > 1<<20 {
		t.Errorf("the file stopped at %d bytes on a 1 MiB file system", size)
	}
	wantText(t, r, stoppedNote(size, "No space left on device")+"1000000")
	if r.Int("totalLines") != 1000000 || r.Int("totalChars") != len(seqOut(1000000)) {
		t.Errorf("memory path: details %v", r.SC)
	}
	if data, err := os.ReadFile(r.Str("logPath")); err != nil || len(data) != size || !strings.HasPrefix(seqOut(1000000), string(data)) {
		t.Errorf("file of %d bytes (%v) is not the head of the output", len(data), err)
	}
	wantText(t, s.Proc("log", "sessionId", id, "offset", 0, "limit", 2), stoppedNote(size, "No space left on device")+"1\n2")
}

// Over HTTP with two agent tokens, the other agent cannot log the session, page or search; the file is private.
func TestSpillScopesHTTP(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{Env: spillEnv(t.TempDir()), Tokens: tokensFile(tokenAlpha, "alpha", tokenBeta, "beta")})
	a := hs.Connect(t, ClientOpts{Token: tokenAlpha})
	b := hs.Connect(t, ClientOpts{Token: tokenBeta})
	id, _ := a.Background("seq 1 100000")
	deadline := time.Now().Add(30 * time.Second)
	for a.Proc("poll", "sessionId", id).Str("status") == "running" {
		if time.Now().After(deadline) {
			t.Fatal("seq did not finish")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := a.Proc("log", "sessionId", id, "pattern", "^77777$")
	wantText(t, r, "77776: 77777")
	for _, args := range [][]any{{"sessionId", id}, {"sessionId", id, "offset", 0, "limit", 3}, {"sessionId", id, "pattern", "7"}} {
		wantProcError(t, b.Proc("log", args...), "No session found for "+id)
	}
	fi, err := os.Stat(r.Str("logPath"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v (%v), want 0600", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Dir(r.Str("logPath"))); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v (%v), want 0700", fi.Mode(), err)
	}
	// Another user cannot read it (when this test may switch users).
	if os.Geteuid() == 0 {
		if p, err := exec.LookPath("setpriv"); err == nil {
			out, err := exec.Command(p, "--reuid=65534", "--regid=65534", "--clear-groups", "cat", r.Str("logPath")).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "Permission denied") {
				t.Errorf("another user read the file: %v %q", err, out)
			}
		}
	}
}

// In the sandbox the file's path is not visible: no logPath, the log still pages the complete output.
func TestSpillSandboxHidesPath(t *testing.T) {
	par(t)
	s := StartServer(t, Options{Env: spillEnv(t.TempDir()), Config: sandboxConfig})
	id, _ := s.Background("seq 1 100000", "workdir", s.Dir)
	s.WaitFinished(id, 30*time.Second)
	r := s.Proc("log", "sessionId", id, "offset", 0, "limit", 2)
	wantText(t, r, "1\n2")
	if sp, _ := r.Bool("spilled"); !sp || r.Has("logPath") || r.Int("totalLines") != 100000 {
		t.Errorf("sandboxed log details %v", r.SC)
	}
	if r := s.Proc("poll", "sessionId", id); r.Has("logPath") {
		t.Errorf("sandboxed poll details %v", r.SC)
	}
}

// A log directory on a 64 MiB tmpfs: the file stops before the file system's reserve (a tenth of it) would be
// eaten into, with its own reason, and the disk is never filled; nothing is lost from memory.
func TestSpillLowSpace(t *testing.T) {
	par(t)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	s := StartServer(t, Options{Env: spillEnv(dir)})
	const total = 100000000
	id, _ := s.Background(fmt.Sprintf("yes 'a line of output' | head -c %d", total))
	_, fin := s.PollUntilDone(id, 120*time.Second)
	wantStatus(t, fin, "completed")
	r := s.Proc("log", "sessionId", id, "limit", 1)
	size := r.Int("logBytes")
	if size < 40<<20 || size > 64<<20-(64<<20)/10 {
		t.Errorf("the file stopped at %d bytes on a 64 MiB file system with a 6.4 MiB reserve", size)
	}
	wantText(t, r, stoppedNote(size, "file system almost full")+"a line of output") // head cut the last line before its LF
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || st.Bavail*uint64(st.Bsize) < (64<<20)/10 {
		t.Errorf("the file system was left with %d bytes free (%v)", st.Bavail*uint64(st.Bsize), err)
	}
	if r.Int("totalChars") != total {
		t.Errorf("memory path: details %v", r.SC)
	}
	data, err := os.ReadFile(r.Str("logPath"))
	if err != nil || len(data) != size || !strings.HasPrefix(strings.Repeat("a line of output\n", size/17+1), string(data)) {
		t.Errorf("file of %d bytes (%v) is not the head of the output", len(data), err)
	}
}
