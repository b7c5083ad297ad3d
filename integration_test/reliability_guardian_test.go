package integration_test

// Reliability: no orphans even when the server itself is killed (docs/reference.md#guardian), and none of the
// descendants that leave their process group where cgroups are on (docs/reference.md#cgroups). Every process a test
// starts carries RELMARK=<unique mark> in its environment (the exec env parameter), so that the test finds all of
// them in /proc, wherever they went in the process tree: escapees and daemons leave the session's group and the
// server's descendants.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// guardianShape is a command shape of this suite.
type guardianShape struct {
	name, body string
	procs      int  // live processes once it runs
	escapes    bool // a process leaves the session's process group: only a cgroup reaches it
}

var guardianShapes = []guardianShape{
	{name: "grandchildren", body: `sleep 600 & sleep 600 & wait`, procs: 3},
	{name: "ignores-TERM", body: `trap "" TERM; sleep 600 & wait`, procs: 2},
	{name: "escapee", body: `setsid sleep 600 & wait`, procs: 2, escapes: true},
	// The subshell and the setsid'd sh exit at once; the leader, its sleep and the daemon's sleep stay.
	{name: "daemon", body: `(setsid sh -c 'sleep 600 &' &); sleep 600`, procs: 3, escapes: true},
}

var markSeq atomic.Int64

// newMark returns a mark no other test uses.
func newMark(what string) string {
	return fmt.Sprintf("%s-%d-%d", what, os.Getpid(), markSeq.Add(1))
}

// markedProcs lists the live (not zombie) processes whose environment holds RELMARK=mark.
func markedProcs(mark string) []int {
	want := []byte("RELMARK=" + mark + "\x00")
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !strings.Contains(string(b), string(want)) {
			continue
		}
		if pidAlive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// killMarked kills what is left of a mark at the end of a test, so that a failure leaves nothing behind.
func killMarked(marks ...string) {
	for _, m := range marks {
		for _, p := range markedProcs(m) {
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

// startMarked starts shape in the background with RELMARK=mark and waits until its processes run (and the
// escaping one has left the session's process group).
func startMarked(t *testing.T, s *Server, sh guardianShape, mark string, pairs ...any) (string, int) {
	t.Helper()
	id, pid := s.Background(sh.body, append(pairs, "env", map[string]any{"RELMARK": mark})...)
	var n, out int
	ok := waitFor(10*time.Second, func() bool {
		procs := markedProcs(mark)
		n, out = len(procs), len(procs)-len(groupMembers(pid))
		return n >= sh.procs && (!sh.escapes || out > 0)
	})
	if !ok {
		t.Fatalf("%s: %d processes (%d outside the session's group) after 10 s, want %d", sh.name, n, out, sh.procs)
	}
	return id, pid
}

// cgroupsOn reports whether the server runs its sessions in cgroups: its execmcp-<pid> cgroup exists.
func cgroupsOn(s *Server) bool { return s.cgroup != "" && exists(s.cgroup) }

// killServerAndTime sends SIGKILL to the server and returns how long it took until no process of marks was left
// alive (or -1 after limit), sampling every 5 ms from the signal on.
func killServerAndTime(s *Server, limit time.Duration, marks ...string) time.Duration {
	killed := make(chan struct{})
	t0 := time.Now()
	go func() { s.Kill(); close(killed) }()
	defer func() { <-killed }()
	for time.Since(t0) < limit {
		n := 0
		for _, m := range marks {
			n += len(markedProcs(m))
		}
		if n == 0 {
			return time.Since(t0)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return -1
}

// tookText words a result of killServerAndTime.
func tookText(took time.Duration) string {
	if took < 0 {
		return "some still alive 5 s after the SIGKILL"
	}
	return fmt.Sprintf("none alive %v after the SIGKILL", took.Round(time.Millisecond))
}

// waitGuardian waits until the server's guardian runs (it is started concurrently with the server's startup) and
// returns its pid.
func waitGuardian(t *testing.T, s *Server) int {
	t.Helper()
	var g int
	if !waitFor(5*time.Second, func() bool { g = guardianOf(s.Pid()); return g != 0 }) {
		t.Fatalf("the server has no guardian child after 5 s: %v", children(s.Pid()))
	}
	return g
}

// guardianGone waits for the guardian pid to exit (a zombie left to a slow init counts as gone).
func guardianGone(pid int, d time.Duration) bool {
	return waitFor(d, func() bool { return !pidAlive(pid) })
}

// TestReliabilityGuardianServerKill: ten background sessions of the four shapes, then the server's SIGKILL: the
// guardian kills everything within 1 s; escapees and daemons too where cgroups are on (reported, not failed,
// where they are off).
func TestReliabilityGuardianServerKill(t *testing.T) {
	par(t)
	s := StartServer(t, Options{Env: relEnv})
	g := waitGuardian(t, s)
	marks := map[string]string{}
	var all []string
	for _, sh := range guardianShapes {
		marks[sh.name] = newMark("kill-" + sh.name)
		all = append(all, marks[sh.name])
	}
	defer killMarked(all...)
	before := map[string]int{}
	for i := 0; i < 10; i++ {
		sh := guardianShapes[i%len(guardianShapes)]
		startMarked(t, s, sh, marks[sh.name])
		before[sh.name] = len(markedProcs(marks[sh.name]))
	}
	cg := cgroupsOn(s)
	var counted []string
	for _, sh := range guardianShapes {
		if !sh.escapes || cg {
			counted = append(counted, marks[sh.name])
		}
	}
	took := killServerAndTime(s, 5*time.Second, counted...)
	var b strings.Builder
	fmt.Fprintf(&b, "cgroups on: %v; %s\n", cg, tookText(took))
	for _, sh := range guardianShapes {
		left := markedProcs(marks[sh.name])
		fmt.Fprintf(&b, "%-14s before %2d  after %d\n", sh.name, before[sh.name], len(left))
		if len(left) > 0 && (!sh.escapes || cg) {
			t.Errorf("server SIGKILL / %s: %d processes survived: %v", sh.name, len(left), left)
		}
	}
	t.Logf("server SIGKILL with 10 sessions:\n%s", b.String())
	if took < 0 || took > time.Second {
		t.Errorf("the groups were not all gone within 1 s of the server's SIGKILL (took %v)", took)
	}
	if !guardianGone(g, 5*time.Second) {
		t.Errorf("the guardian %d did not exit after the server died", g)
	}
	if i := strings.Index(s.Stderr(), `msg="guardian: the server died; killed its process groups"`); i < 0 {
		t.Errorf("the guardian did not log its kill; stderr:\n%s", s.Stderr())
	} else {
		t.Logf("%s", strings.TrimSpace(s.Stderr()[i:]))
	}
}

// TestReliabilityGuardianBurst: the server's SIGKILL while 50 exec calls start background sessions at once: none
// of the started processes survives, including groups whose record was still in flight. Where cgroups are off the
// count is reported: a group that forks between its exec and its record escapes the guardian (with cgroups the
// guardian kills the server's whole cgroup).
func TestReliabilityGuardianBurst(t *testing.T) {
	par(t)
	for _, cgroup := range []string{"auto", "off"} {
		t.Run("cgroup-"+cgroup, func(t *testing.T) {
			s := StartServer(t, Options{Env: append([]string{"EXECMCP_CGROUP=" + cgroup}, relEnv...)})
			mark := newMark("burst-" + cgroup)
			defer killMarked(mark)
			cg := cgroupsOn(s)
			var returned atomic.Int32
			half := make(chan struct{})
			var once sync.Once
			var wg sync.WaitGroup
			for i := 0; i < 50; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					_, _ = s.CallCtx(ctx, "exec", map[string]any{"command": guardianShapes[0].body, "background": true,
						"env": map[string]any{"RELMARK": mark}}, nil)
					if returned.Add(1) == 20 {
						once.Do(func() { close(half) })
					}
				}()
			}
			select {
			case <-half:
			case <-time.After(20 * time.Second):
				t.Fatal("20 of the 50 exec calls did not return within 20 s")
			}
			started := len(markedProcs(mark))
			took := killServerAndTime(s, 5*time.Second, mark)
			wg.Wait()
			left := markedProcs(mark)
			t.Logf("cgroups on: %v; 20 calls had returned, %d processes ran at the SIGKILL, %d survived (%s)",
				cg, started, len(left), tookText(took))
			if cg && len(left) > 0 {
				t.Errorf("%d processes survived the server's SIGKILL during the burst: %v", len(left), left)
			}

		})
	}
}

// memoryCgroupV1 returns the directory of this process's cgroup v1 memory group, "" when there is none.
func memoryCgroupV1() string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	var path string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && f[1] == "memory" {
			path = f[2]
		}
	}
	if path == "" {
		return ""
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(mi), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 || g[0] != "cgroup" || !strings.Contains(","+g[2]+",", ",memory,") {
			continue
		}
		if rel, ok := strings.CutPrefix(path, f[3]); ok || f[3] == "/" {
			if f[3] == "/" {
				rel = path
			}
			return filepath.Join(f[4], rel)
		}
	}
	return ""
}

// TestReliabilityGuardianOOM: the kernel's OOM killer kills the server (moved into a memory cgroup of 64 MiB, then
// sent a request line that never ends); the guardian kills every session.
func TestReliabilityGuardianOOM(t *testing.T) {
	par(t)
	parent := memoryCgroupV1()
	if parent == "" {
		t.Skip("no cgroup v1 memory controller to limit the server's memory with (a cgroup v2 memory controller " +
			"would need a delegated subtree)")
	}
	memcg := filepath.Join(parent, fmt.Sprintf("execmcp-oom-%d-%d", os.Getpid(), markSeq.Add(1)))
	if err := os.Mkdir(memcg, 0o755); err != nil {
		t.Skipf("cannot create a memory cgroup: %v", err)
	}
	defer os.Remove(memcg)
	for file, v := range map[string]string{"memory.limit_in_bytes": "67108864", "memory.swappiness": "0"} {
		if err := os.WriteFile(filepath.Join(memcg, file), []byte(v), 0); err != nil {
			t.Skipf("cannot set %s: %v", file, err)
		}
	}

	s := StartServer(t, Options{Env: relEnv})
	cg := cgroupsOn(s)
	var marks []string
	for _, sh := range guardianShapes {
		m := newMark("oom-" + sh.name)
		startMarked(t, s, sh, m)
		if !sh.escapes || cg {
			marks = append(marks, m)
		}
		defer killMarked(m)
	}
	// Only the server goes under the limit: its sessions and its guardian stay where they are.
	if err := os.WriteFile(filepath.Join(memcg, "cgroup.procs"), []byte(strconv.Itoa(s.Pid())), 0); err != nil {
		t.Fatalf("moving the server into %s: %v", memcg, err)
	}
	t0 := time.Now()
	go func() {
		chunk := []byte(strings.Repeat("x", 1<<20))
		for i := 0; i < 1024; i++ { // 1 GiB at most; the server dies long before
			if _, err := s.stdinW.Write(chunk); err != nil {
				return
			}
		}
	}()
	if !s.WaitExit(60 * time.Second) {
		t.Fatal("the server was not killed within 60 s of growing past its memory limit")
	}
	diedAfter := time.Since(t0)
	s.Kill() // the harness's bookkeeping of a server that is gone
	if s.exitSig != syscall.SIGKILL {
		t.Fatalf("the server ended with status %d, signal %v; want SIGKILL by the OOM killer", s.exitCode, s.exitSig)
	}
	oom, _ := os.ReadFile(filepath.Join(memcg, "memory.oom_control"))
	if !strings.Contains(string(oom), "oom_kill 1") {
		t.Errorf("memory.oom_control does not count one OOM kill: %q", oom)
	}
	var left []int
	ok := waitFor(time.Second, func() bool {
		left = nil
		for _, m := range marks {
			left = append(left, markedProcs(m)...)
		}
		return len(left) == 0
	})
	t.Logf("cgroups on: %v; the OOM killer killed the server %v after its input began; survivors: %v",
		cg, diedAfter.Round(time.Millisecond), left)
	if !ok {
		t.Errorf("processes survived the server's OOM kill by 1 s: %v", left)
	}
}

// TestReliabilityGuardianOrderly: after an orderly shutdown (stdin EOF, SIGTERM) the guardian has exited 0 before
// the server (which waits for it after its goodbye), having killed nothing: the server killed every group once. The
// guardian's memory is measured on the way (at most 8 MB).
func TestReliabilityGuardianOrderly(t *testing.T) {
	par(t)
	for _, how := range []string{"stdin-EOF", "SIGTERM"} {
		t.Run(how, func(t *testing.T) {
			s := StartServer(t, Options{Env: append([]string{"EXECMCP_LOG_LEVEL=debug"}, relEnv...)})
			g := waitGuardian(t, s)
			mark := newMark("orderly")
			defer killMarked(mark)
			for _, sh := range guardianShapes[:2] {
				startMarked(t, s, sh, mark)
			}
			// Measured once it has read records: its start is long over.
			if rss := procStatusKB(g, "VmRSS"); os.Getenv("EXECMCP_TEST_RACE") != "1" && rss > 8*1024 {
				t.Errorf("the guardian's VmRSS is %d kB, want at most 8 MB", rss)
			} else {
				t.Logf("guardian VmRSS %d kB (RssAnon %d kB, RssFile %d kB), %d threads", rss,
					procStatusKB(g, "RssAnon"), procStatusKB(g, "RssFile"), procStatusKB(g, "Threads"))
			}
			if how == "stdin-EOF" {
				s.StopByStdinClose()
			} else {
				s.Stop(syscall.SIGTERM)
			}
			// The server reaps the guardian before it exits: by now its pid is gone, not even a zombie.
			if _, _, _, ok := procStat(g); ok && !isGuardianZombieOf(g) {
				t.Errorf("the guardian %d is still there after the server exited", g)
			}
			if left := markedProcs(mark); len(left) > 0 {
				t.Errorf("processes survived the shutdown: %v", left)
			}
			e := s.Stderr()
			if !strings.Contains(e, `msg="guardian exited"`) || !strings.Contains(e, " status=0 ") {
				t.Errorf("no debug line of the guardian's exit with status 0; stderr:\n%s", e)
			}
			if strings.Contains(e, "the server died") {
				t.Errorf("the guardian killed after an orderly shutdown; stderr:\n%s", e)
			}
			if i := strings.Index(e, `msg="guardian exited"`); i >= 0 {
				line := e[i:]
				line = line[:strings.IndexByte(line, '\n')]
				t.Logf("%s", line)
				// The server waits for the guardian, so it always exits first; this is how long the server waited
				// (at most 2 s, or it would have warned).
				if d, err := time.ParseDuration(fieldOf(line, "after")); err != nil || d > 2*time.Second {
					t.Errorf("the guardian's exit line has no valid wait: %q", line)
				}
			}
		})
	}
}

// isGuardianZombieOf reports whether pid is an unreaped zombie (the server exited without reaping it).
func isGuardianZombieOf(pid int) bool {
	st, _, _, ok := procStat(pid)
	return ok && st == 'Z'
}

// fieldOf returns the value of key=value in a log line, "" when absent.
func fieldOf(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// guardianProc runs the binary as a guardian, as the server does (docs/reference.md#guardian): its own session,
// EXECMCP_GUARDIAN_TOKEN in its environment, the read end of a pipe as descriptor 3.
type guardianProc struct {
	cmd    *exec.Cmd
	w      *os.File
	stderr *lockedBuffer
}

func startGuardianProc(t *testing.T, token string) *guardianProc {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	g := &guardianProc{w: w, stderr: &lockedBuffer{}}
	g.cmd = &exec.Cmd{Path: binPath, Args: []string{guardianArgv0}, Env: []string{"EXECMCP_GUARDIAN_TOKEN=" + token},
		ExtraFiles: []*os.File{r}, Stderr: g.stderr, SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	t.Cleanup(func() {
		g.w.Close()
		done := make(chan struct{})
		go func() { g.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			g.cmd.Process.Kill()
			<-done
		}
	})
	return g
}

func (g *guardianProc) send(t *testing.T, lines ...string) {
	t.Helper()
	if _, err := io.WriteString(g.w, strings.Join(lines, "\n")+"\n"); err != nil {
		t.Fatalf("writing to the guardian: %v", err)
	}
}

// wait closes the pipe and waits for the guardian's exit status.
func (g *guardianProc) wait(t *testing.T) int {
	t.Helper()
	g.w.Close()
	done := make(chan error, 1)
	go func() { done <- g.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("waiting for the guardian: %v", err)
		}
		return g.cmd.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		t.Fatal("the guardian did not exit within 10 s of the end of its pipe")
		return -1
	}
}

// startGroup starts `sh -c script` as the leader of a process group of its own and returns its pid and start time;
// the test kills the group at the end.
func startGroup(t *testing.T, script string, mark string) (int, uint64) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "RELMARK=" + mark}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_, start, _, _ := procStat(cmd.Process.Pid)
	pg := cmd.Process.Pid
	go cmd.Wait()
	t.Cleanup(func() { syscall.Kill(-pg, syscall.SIGKILL) })
	return pg, start
}

// TestReliabilityGuardianPidReuse drives the binary as a guardian with hand-made records: after the end of its pipe
// without a goodbye it kills the recorded groups that are still the recorded ones, and never a group whose recorded
// identity no longer matches (a reused pid: its leader has another start time, or its members started before the
// recorded leader).
func TestReliabilityGuardianPidReuse(t *testing.T) {
	par(t)
	marks := map[string]string{}
	for _, n := range []string{"match", "stranger-leader", "leaderless-ours", "leaderless-stranger", "after-bye", "bad-token"} {
		marks[n] = newMark("reuse-" + n)
	}
	defer func() {
		for _, m := range marks {
			killMarked(m)
		}
	}()
	// A group whose leader runs with the recorded start time: ours.
	match, matchStart := startGroup(t, "exec sleep 600", marks["match"])
	// A group whose leader has another start time than recorded: its pid was reused by a stranger.
	stranger, strangerStart := startGroup(t, "exec sleep 600", marks["stranger-leader"])
	// Groups whose leader exited, leaving a member: ours when the member started after the recorded leader, a
	// stranger's when it started before it (the recorded leader would then be newer than the group it names).
	ours, oursStart := startGroup(t, "sleep 600 & exit 0", marks["leaderless-ours"])
	other, _ := startGroup(t, "sleep 600 & exit 0", marks["leaderless-stranger"])
	for _, pg := range []int{ours, other} {
		if !waitFor(5*time.Second, func() bool { return !pidAlive(pg) && len(groupMembers(pg)) == 1 }) {
			t.Fatalf("group %d: the leader did not exit leaving one member: %v", pg, groupMembers(pg))
		}
	}
	waitFor(5*time.Second, func() bool {
		return len(markedProcs(marks["match"])) == 1 && len(markedProcs(marks["stranger-leader"])) == 1
	})

	g := startGuardianProc(t, "tok-reuse")
	g.send(t, "hello tok-reuse",
		fmt.Sprintf("start %d %d ", match, matchStart),
		fmt.Sprintf("start %d %d ", stranger, strangerStart+7),
		fmt.Sprintf("start %d %d ", ours, oursStart),
		fmt.Sprintf("start %d %d ", other, uptimeTicks()+1000),
		"start 999999999 1 ", // no such process at all
	)
	if code := g.wait(t); code != 0 {
		t.Errorf("guardian exit status %d, want 0; stderr %q", code, g.stderr.String())
	}
	for name, want := range map[string]int{"match": 0, "stranger-leader": 1, "leaderless-ours": 0, "leaderless-stranger": 1} {
		var got int
		waitFor(2*time.Second, func() bool { got = len(markedProcs(marks[name])); return got == want })
		if got != want {
			t.Errorf("%s: %d live processes after the guardian acted, want %d", name, got, want)
		}
	}
	if !strings.Contains(g.stderr.String(), "groups=2 ") {
		t.Errorf("the guardian's log does not count 2 groups: %q", g.stderr.String())
	}

	// After a goodbye the guardian kills nothing, and exits 0 at once.
	alive, aliveStart := startGroup(t, "exec sleep 600", marks["after-bye"])
	g2 := startGuardianProc(t, "tok-bye")
	g2.send(t, "hello tok-bye", fmt.Sprintf("start %d %d ", alive, aliveStart), "bye")
	t0 := time.Now()
	if code := g2.wait(t); code != 0 || g2.stderr.String() != "" {
		t.Errorf("guardian after goodbye: status %d, stderr %q; want 0 and nothing", code, g2.stderr.String())
	}
	t.Logf("the guardian exited %v after the end of its pipe that followed the goodbye", time.Since(t0).Round(time.Microsecond))
	if !pidAlive(alive) {
		t.Errorf("the guardian killed group %d after the goodbye", alive)
	}

	// A process whose token does not match the pipe's is no guardian: it runs as a server (stdin is empty: it
	// exits at once) and kills nothing.
	victim, victimStart := startGroup(t, "exec sleep 600", marks["bad-token"])
	g3 := startGuardianProc(t, "tok-right")
	g3.send(t, "hello tok-wrong", fmt.Sprintf("start %d %d ", victim, victimStart))
	if code := g3.wait(t); code != 0 {
		t.Errorf("the binary with a wrong token: status %d, stderr %q", code, g3.stderr.String())
	}
	if !pidAlive(victim) {
		t.Errorf("a process with a wrong token killed group %d", victim)
	}
}

// TestReliabilityCgroupKill: with cgroups on, escapees and daemons die on process kill, timeout, remove and server
// shutdown; each session's cgroup is removed once the session has ended, and the server's cgroup at shutdown.
func TestReliabilityCgroupKill(t *testing.T) {
	par(t)
	s := StartServer(t, Options{Env: relEnv})
	if !cgroupsOn(s) {
		t.Skipf("cgroups are off here (the server logged: %q)", s.Stderr())
	}
	grace := time.Duration(relKillGraceMs) * time.Millisecond
	type row struct {
		ending, shape string
		before, after int
		took          time.Duration
		cgroupLeft    bool
	}
	var rows []row
	var marks []string
	defer func() { killMarked(marks...) }()
	for _, ending := range []string{"kill", "kill-KILL", "timeout", "remove"} {
		for _, sh := range guardianShapes[2:] {
			mark := newMark("cg-" + ending + "-" + sh.name)
			marks = append(marks, mark)
			var pairs []any
			if ending == "timeout" {
				pairs = []any{"timeout", 1}
			}
			id, pid := startMarked(t, s, sh, mark, pairs...)
			dir := cgroupDir(pid)
			if !strings.HasPrefix(dir, s.cgroup+"/") {
				t.Fatalf("%s: the leader's cgroup %q is not in the server's %q", sh.name, dir, s.cgroup)
			}
			r := row{ending: ending, shape: sh.name, before: len(markedProcs(mark))}
			t0 := time.Now()
			switch ending {
			case "kill":
				wantText(t, s.Proc("kill", "sessionId", id), "Termination requested for session "+id+".")
			case "kill-KILL":
				wantText(t, s.Proc("kill", "sessionId", id, "signal", "KILL"), "Termination requested for session "+id+".")
			case "remove":
				wantText(t, s.Proc("remove", "sessionId", id), "Removed session "+id+" (termination requested).")
			}
			limit := grace + 5*time.Second
			if ending == "timeout" {
				limit += time.Second
			}
			waitFor(limit, func() bool { return len(markedProcs(mark)) == 0 })
			r.took = time.Since(t0)
			r.after = len(markedProcs(mark))
			r.cgroupLeft = !waitFor(3*time.Second, func() bool { return !exists(dir) })
			if r.after > 0 {
				t.Errorf("%s / %s: %d processes survived: %v", ending, sh.name, r.after, markedProcs(mark))
			}
			if r.cgroupLeft {
				t.Errorf("%s / %s: the session's cgroup %s was not removed", ending, sh.name, dir)
			}
			rows = append(rows, r)
		}
	}
	// Shutdown, with one session of each shape running.
	var stopMarks []string
	for _, sh := range guardianShapes {
		mark := newMark("cg-shutdown-" + sh.name)
		marks = append(marks, mark)
		stopMarks = append(stopMarks, mark)
		startMarked(t, s, sh, mark)
	}
	root := s.cgroup
	t0 := time.Now()
	s.Stop(syscall.SIGTERM)
	stopTook := time.Since(t0)
	for i, sh := range guardianShapes {
		if left := markedProcs(stopMarks[i]); len(left) > 0 {
			t.Errorf("shutdown / %s: processes survived: %v", sh.name, left)
		}
	}
	if exists(root) {
		t.Errorf("the server's cgroup %s still exists after its shutdown", root)
	}
	var b strings.Builder
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].shape < rows[j].shape })
	for _, r := range rows {
		fmt.Fprintf(&b, "%-10s %-8s before %d after %d  gone after %v  cgroup removed %v\n", r.ending, r.shape, r.before,
			r.after, r.took.Round(time.Millisecond), !r.cgroupLeft)
	}
	fmt.Fprintf(&b, "shutdown (4 shapes): exit after %v, cgroup %s removed %v\n", stopTook.Round(time.Millisecond), root, !exists(root))
	t.Logf("escapees and daemons with cgroups (kill grace %v):\n%s", grace, b.String())
}

// TestReliabilityGuardianOff: EXECMCP_GUARDIAN=off and EXECMCP_CGROUP=off restore the behaviour without them: no
// guardian, no cgroup, an escapee survives process kill, and the server's SIGKILL leaves every member of a group but
// its leader (the test kills them).
func TestReliabilityGuardianOff(t *testing.T) {
	par(t)
	s := StartServer(t, Options{Env: append([]string{"EXECMCP_GUARDIAN=off", "EXECMCP_CGROUP=off"}, relEnv...)})
	if g := guardianOf(s.Pid()); g != 0 {
		t.Errorf("a guardian %d runs although EXECMCP_GUARDIAN=off", g)
	}
	if exists(s.cgroup) {
		t.Errorf("the server created its cgroup %s although EXECMCP_CGROUP=off", s.cgroup)
	}
	if r := s.Exec(`cat /proc/self/cgroup`); strings.Contains(r.Text, "execmcp-") {
		t.Errorf("a command runs in an execmcp cgroup although EXECMCP_CGROUP=off: %q", r.Text)
	}
	grand, esc := newMark("off-grandchildren"), newMark("off-escapee")
	defer killMarked(grand, esc)
	id, _ := startMarked(t, s, guardianShapes[2], esc)
	wantText(t, s.Proc("kill", "sessionId", id), "Termination requested for session "+id+".")
	s.WaitFinished(id, 10*time.Second)
	time.Sleep(time.Duration(relKillGraceMs)*time.Millisecond + 500*time.Millisecond)
	if n := len(markedProcs(esc)); n != 1 {
		t.Errorf("escapee after process kill without cgroups: %d processes, want the 1 escapee", n)
	}
	startMarked(t, s, guardianShapes[0], grand)
	s.Kill()
	var n int
	waitFor(3*time.Second, func() bool { n = len(markedProcs(grand)); return n == 2 })
	if n != 2 {
		t.Errorf("grandchildren after the server's SIGKILL without a guardian: %d processes, want the 2 sleeps", n)
	}
	if e := s.Stderr(); strings.Contains(e, `msg="guardian`) || strings.Contains(e, "cgroups unavailable") {
		t.Errorf("the server spoke of a guardian or cgroups although both are off: %q", s.Stderr())
	}
}

// TestReliabilityStaleCgroupRemoved: a server killed with EXECMCP_GUARDIAN=off leaves its cgroup behind (nothing
// else removes it); the next server removes it at startup, with its session groups, once no process is in it.
func TestReliabilityStaleCgroupRemoved(t *testing.T) {
	par(t)
	a := StartServer(t, Options{Env: append([]string{"EXECMCP_GUARDIAN=off"}, relEnv...)})
	if !cgroupsOn(a) {
		t.Skip("cgroups are unavailable here: the server runs without them")
	}
	id, _ := a.Background("exec sleep 60")
	sessDir := filepath.Join(a.cgroup, id)
	if !exists(sessDir) {
		t.Fatalf("no session cgroup %s", sessDir)
	}
	a.Kill()
	// The leader dies with the server (its parent-death signal); its group empties.
	empty := func() bool {
		b, err := os.ReadFile(filepath.Join(a.cgroup, "cgroup.events"))
		return err == nil && strings.Contains(string(b), "populated 0")
	}
	if !waitFor(10*time.Second, empty) {
		t.Fatalf("the killed server's cgroup %s did not empty", a.cgroup)
	}
	if !exists(sessDir) {
		t.Fatalf("the killed server's session cgroup %s is already gone: nothing to test", sessDir)
	}
	b := StartServer(t, Options{Env: relEnv})
	b.Exec("true") // serving: startup is over
	if exists(a.cgroup) {
		t.Errorf("the next server left the killed server's cgroup %s", a.cgroup)
	}
}
