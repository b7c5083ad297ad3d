package sessions

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestUnifiedPath(t *testing.T) {
	tests := []struct {
		file, want string
		ok         bool
	}{
		{"0::/\n", "/", true},
		{"12:memory:/x\n1:name=systemd:/user.slice\n0::/user.slice/user-1000.slice/session-2.scope\n", "/user.slice/user-1000.slice/session-2.scope", true},
		{"4:memory:/process_api/b7\n1:cpu:/\n", "", false},
		{"0::\n", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := unifiedPath([]byte(tt.file))
		if got != tt.want || ok != tt.ok {
			t.Errorf("unifiedPath(%q) = %q %v, want %q %v", tt.file, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCgroup2Dirs(t *testing.T) {
	const (
		pureV2  = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
		hybrid  = "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
		bound   = "50 23 0:26 /user.slice/user-1000.slice /mnt/cg\\040x rw - cgroup2 cgroup2 rw\n"
		twoV2   = "60 23 0:40 / /srv/cg rw - cgroup2 cgroup2 rw\n" + pureV2
		nothing = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
	)
	tests := []struct {
		name, mountinfo, path string
		want                  []string
	}{
		{"pure v2", pureV2, "/user.slice/u", []string{"/sys/fs/cgroup/user.slice/u"}},
		{"pure v2 root", pureV2, "/", []string{"/sys/fs/cgroup"}},
		{"hybrid", hybrid, "/", []string{"/sys/fs/cgroup/unified"}},
		{"bound subtree", bound, "/user.slice/user-1000.slice/app.scope", []string{"/mnt/cg x/app.scope"}},
		{"bound subtree, path outside", bound, "/system.slice/x", nil},
		{"bound subtree, its root", bound, "/user.slice/user-1000.slice", []string{"/mnt/cg x"}},
		{"/sys/fs/cgroup first", twoV2, "/a", []string{"/sys/fs/cgroup/a", "/srv/cg/a"}},
		{"no cgroup2", nothing, "/", nil},
	}
	for _, tt := range tests {
		if got := cgroup2Dirs([]byte(tt.mountinfo), tt.path); !slices.Equal(got, tt.want) {
			t.Errorf("%s: cgroup2Dirs = %q, want %q", tt.name, got, tt.want)
		}
	}
	for in, want := range map[string]string{`a\040b`: "a b", `a\134b`: `a\b`, `plain`: "plain", `end\04`: `end\04`} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

// withCgroupFS points OpenCgroups at the given /proc/self/cgroup and mountinfo contents.
func withCgroupFS(t *testing.T, self, mountinfo string) {
	t.Helper()
	dir := t.TempDir()
	old := cgroupFS
	cgroupFS.self, cgroupFS.mountinfo = filepath.Join(dir, "cgroup"), filepath.Join(dir, "mountinfo")
	for p, c := range map[string]string{cgroupFS.self: self, cgroupFS.mountinfo: mountinfo} {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { cgroupFS = old })
}

func TestOpenCgroupsUnavailable(t *testing.T) {
	mnt := t.TempDir()
	tests := []struct {
		name, self, mountinfo, want string
	}{
		{"cgroup v1 only", "4:memory:/x\n", "", "no cgroup v2 group"},
		{"no cgroup2 mount", "0::/\n", "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n", "no cgroup2 mount holds"},
		// A directory that is not a cgroup: the group is created but has no cgroup.kill, and is removed again.
		{"no cgroup.kill", "0::/\n", "41 31 0:38 / " + mnt + " rw - cgroup2 cgroup2 rw\n", "has no cgroup.kill"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withCgroupFS(t, tt.self, tt.mountinfo)
			c, err := OpenCgroups()
			if c != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("OpenCgroups() = %v, %v; want an error with %q", c, err, tt.want)
			}
		})
	}
	if ents, _ := os.ReadDir(mnt); len(ents) != 0 {
		t.Errorf("OpenCgroups left %v behind", ents)
	}
}

// A spawn that fails inside the cgroup but works outside turns cgroups off for good, with one info line; the
// session runs. A directory that is not a cgroup makes clone3 refuse the placement.
func TestCgroupPlacementFallback(t *testing.T) {
	var logBuf syncBuf
	c := &Cgroups{dir: t.TempDir(), lock: -1}
	r := newTestRegistry(t, Options{Cgroups: c, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	for range 2 {
		s, _, err := r.Start(shSpec("echo ran"))
		if err != nil {
			t.Fatal(err)
		}
		if in := waitDone(t, s, 10*time.Second); in.Aggregated != "ran\n" {
			t.Errorf("output %q", in.Aggregated)
		}
	}
	if !c.off.Load() {
		t.Error("cgroups are still on")
	}
	if n := strings.Count(logBuf.String(), CgroupsUnavailable); n != 1 {
		t.Errorf("%d info lines, want 1: %q", n, logBuf.String())
	}
	if ents, _ := os.ReadDir(c.dir); len(ents) != 0 {
		t.Errorf("session directories left: %v", ents)
	}
}

// realCgroups opens the server's cgroup for a test, or skips it where the system does not allow cgroups.
func realCgroups(t *testing.T) *Cgroups {
	t.Helper()
	c, err := OpenCgroups()
	if err != nil {
		t.Skipf("cgroups unavailable here: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() }) // releases the lock even when the test failed before its own Close
	return c
}

// cgroupProcs lists the processes of a cgroup.
func cgroupProcs(dir string) []int {
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// With cgroups, each kill path reaches a descendant that left the session's process group, the session's cgroup
// is removed once empty, and Close removes the server's cgroup.
func TestRegistryCgroups(t *testing.T) {
	c := realCgroups(t)
	var logBuf syncBuf
	r := New(Options{KillGrace: 300 * time.Millisecond, Cgroups: c, Logger: slog.New(slog.NewTextHandler(&logBuf,
		&slog.HandlerOptions{Level: slog.LevelDebug}))})
	escapee := func() (*Session, string, int) {
		t.Helper()
		s, _, err := r.Start(Spec{Scope: "test", Command: "setsid sleep 60 & wait", Shell: "/bin/sh",
			Env: []string{"PATH=" + os.Getenv("PATH")}, Background: true})
		if err != nil {
			t.Fatal(err)
		}
		dir := r.cgroupOf(s.Pid()).dir
		if filepath.Dir(dir) != c.Dir() || filepath.Base(dir) != s.ID() {
			t.Fatalf("session cgroup %q, want %s/%s", dir, c.Dir(), s.ID())
		}
		var esc int
		deadline := time.Now().Add(5 * time.Second)
		for esc == 0 && time.Now().Before(deadline) {
			for _, p := range cgroupProcs(dir) {
				if st, ok := procOf(p); ok && st.pgrp != s.Pid() {
					esc = p
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		if esc == 0 {
			t.Fatalf("no escapee in %s", dir)
		}
		return s, dir, esc
	}
	for _, how := range []string{"TERM", "KILL", "timeout-like terminate"} {
		s, dir, esc := escapee()
		switch how {
		case "TERM":
			if _, err := r.Kill("test", s.ID(), syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		case "KILL":
			if _, err := r.Kill("test", s.ID(), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		default:
			_ = r.terminate(s, ReasonTimeout)
		}
		waitDone(t, s, 10*time.Second)
		if !waitGone(esc, 5*time.Second) {
			t.Errorf("%s: the escapee %d survived", how, esc)
			_ = syscall.Kill(esc, syscall.SIGKILL)
		}
		if !waitNoDir(dir, 5*time.Second) {
			t.Errorf("%s: the session cgroup %s was not removed", how, dir)
		}
	}
	_, dir, esc := escapee()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !waitGone(esc, 2*time.Second) {
		t.Errorf("shutdown: the escapee %d survived", esc)
		_ = syscall.Kill(esc, syscall.SIGKILL)
	}
	for _, d := range []string{dir, c.Dir()} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s still exists after Close; log:\n%s", d, logBuf.String())
		}
	}
}

func procOf(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	return parseStat(b)
}

func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if st, ok := procOf(pid); !ok || st.zombie {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func waitNoDir(dir string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(dir); err != nil {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// waitEmpty returns as soon as the groups are empty, woken by their events, and false at the deadline.
func TestWaitEmpty(t *testing.T) {
	c := realCgroups(t)
	defer c.Close()
	g, fd, err := c.create("wait-empty-test")
	if err != nil {
		t.Fatal(err)
	}
	defer g.remove()
	s, err := spawn(shSpec("exec sleep 60"), false, false, readerOpts{idle: time.Second, slots: make(chan struct{}, 1)}, fd)
	syscallClose(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = s.cmd.Wait()
		s.src.close()
	}()
	if !g.populated() {
		t.Fatal("the group is not populated")
	}
	if waitEmpty([]string{g.dir}, time.Now().Add(100*time.Millisecond)) {
		t.Error("waitEmpty reported an empty group")
	}
	killer := time.AfterFunc(50*time.Millisecond, func() { _ = g.kill() })
	defer killer.Stop()
	t0 := time.Now()
	if !waitEmpty([]string{g.dir}, time.Now().Add(5*time.Second)) {
		t.Error("waitEmpty did not see the group empty")
	}
	if el := time.Since(t0); el > 2*time.Second {
		t.Errorf("waitEmpty took %v", el)
	}
}

func syscallClose(fd int) {
	if fd >= 0 {
		_ = syscall.Close(fd)
	}
}

// RemoveStale removes the empty groups that dead servers left, with their session groups; it leaves the groups of
// live servers, those still holding processes (reported as busy), names that are not execmcp-<pid>, and its own.
func TestCgroupsRemoveStale(t *testing.T) {
	c := realCgroups(t)
	parent := filepath.Dir(c.Dir())
	deadPid := func() int {
		cmd := exec.Command("true")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		return cmd.Process.Pid
	}
	sleeper := func() *exec.Cmd {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	mk := func(name string, kids ...string) string {
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, k := range kids {
			if err := os.Mkdir(filepath.Join(dir, k), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			for _, k := range kids {
				_ = os.Remove(filepath.Join(dir, k))
			}
			_ = os.Remove(dir)
		})
		return dir
	}
	dead := mk(fmt.Sprintf("execmcp-%d", deadPid()), "lucky-daisy", "calm-river")
	live := mk(fmt.Sprintf("execmcp-%d", sleeper().Process.Pid), "bold-fern")
	held := mk(fmt.Sprintf("execmcp-%d", deadPid()), "swift-owl")
	escaped := sleeper()
	if err := os.WriteFile(filepath.Join(held, "swift-owl", "cgroup.procs"), []byte(strconv.Itoa(escaped.Process.Pid)), 0); err != nil {
		t.Fatal(err)
	}
	notPid := mk("execmcp-x1")
	// A live server in another pid namespace: its pid means nothing here, its lock tells.
	otherNS := mk(fmt.Sprintf("execmcp-%d", deadPid()), "quiet-moth")
	lock, err := lockGroup(otherNS)
	if err != nil || lock < 0 {
		t.Fatalf("lockGroup: %d, %v", lock, err)
	}
	defer unix.Close(lock)

	removed, busy, err := c.RemoveStale()
	if slices.Contains(removed, otherNS) || slices.Contains(busy, otherNS) {
		t.Errorf("the locked group was looked at: removed %v, busy %v", removed, busy)
	}
	if err != nil && strings.Contains(err.Error(), parent+"/execmcp-") {
		// Other test binaries may end servers concurrently; only the groups made here must not fail.
		for _, d := range []string{dead, live, held, notPid, otherNS} {
			if strings.Contains(err.Error(), d) {
				t.Errorf("RemoveStale: %v", err)
			}
		}
	}
	if !slices.Contains(removed, dead) {
		t.Errorf("the dead server's group was not removed: removed %v", removed)
	}
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists: %v", dead, err)
	}
	if !slices.Contains(busy, held) || slices.Contains(removed, held) {
		t.Errorf("the group holding a process: busy %v, removed %v", busy, removed)
	}
	for _, d := range []string{live, notPid, held, otherNS, c.Dir()} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
	if st, ok := procOf(escaped.Process.Pid); !ok || st.zombie {
		t.Errorf("the process in the busy group was touched")
	}
}

// A server does not take over an execmcp-<pid> whose lock a live process holds (a server with the same pid in
// another pid namespace), and takes over one whose holder is gone.
func TestOpenCgroupsLockedGroup(t *testing.T) {
	c := realCgroups(t)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	dir := c.Dir()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// flock(1) and the sleep it runs both hold the lock: they are killed as a group.
	holder := exec.Command("flock", "-x", dir, "sleep", "60")
	holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := holder.Start(); err != nil {
		t.Skipf("no flock(1): %v", err)
	}
	stop := func() { _ = syscall.Kill(-holder.Process.Pid, syscall.SIGKILL); _ = holder.Wait() }
	t.Cleanup(func() { stop(); _ = os.Remove(dir) })
	locked := func() bool {
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			return false
		}
		defer unix.Close(fd)
		return errors.Is(unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB), unix.EWOULDBLOCK)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !locked() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if c2, err := OpenCgroups(); err == nil || !strings.Contains(err.Error(), "belongs to a live server") {
		t.Errorf("OpenCgroups with the group locked by another process = %v, %v", c2, err)
	}
	stop()
	for deadline = time.Now().Add(5 * time.Second); locked() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond) // the killed sleep's descriptor closes as it exits
	}
	c3, err := OpenCgroups()
	if err != nil {
		t.Fatalf("OpenCgroups after the holder died: %v", err)
	}
	_ = c3.Close()
}

// A cgroup removed before cgroup.kill was opened, or between the open and the write, counts as killed: the waiter
// removes a session's group as soon as it empties, which the SIGKILL sent just before can make happen.
func TestCgroupKillGone(t *testing.T) {
	for _, err := range []error{
		&fs.PathError{Op: "open", Path: "/sys/fs/cgroup/x/cgroup.kill", Err: syscall.ENOENT},
		&fs.PathError{Op: "write", Path: "/sys/fs/cgroup/x/cgroup.kill", Err: syscall.ENODEV},
	} {
		if !cgroupGone(err) {
			t.Errorf("cgroupGone(%v) = false", err)
		}
	}
	for _, err := range []error{nil, &fs.PathError{Op: "write", Path: "/x", Err: syscall.EACCES}, syscall.EBUSY} {
		if cgroupGone(err) {
			t.Errorf("cgroupGone(%v) = true", err)
		}
	}
	c := realCgroups(t)
	g, fd, err := c.create("gone-test")
	if err != nil {
		t.Fatal(err)
	}
	if fd >= 0 {
		_ = unix.Close(fd)
	}
	// The open of cgroup.kill happens before the removal, the write after it: ENODEV.
	f, err := os.OpenFile(filepath.Join(g.dir, "cgroup.kill"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := g.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("1")); !cgroupGone(err) {
		t.Errorf("writing cgroup.kill of a removed group: %v, want an error cgroupGone accepts", err)
	}
	if err := g.kill(); err != nil {
		t.Errorf("kill of a removed group: %v", err)
	}
}
