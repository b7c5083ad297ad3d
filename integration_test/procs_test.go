package integration_test

// Process tracking through /proc: the process groups a test learns (TrackPG, ReadPgid), the descendants of the
// server sampled while it runs, group membership and liveness probes, and the leak check run when a server stops.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// TrackPG records a process group the test expects to be gone at the end.
func (s *Server) TrackPG(pgid int, what string) {
	if pgid <= 1 {
		s.t.Errorf("refusing to track process group %d (%s)", pgid, what)
		return
	}
	l := pgLeader{known: true}
	if _, l.start, _, l.known = procStat(pgid); !l.known {
		l.start = uptimeTicks()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A long run reuses pids: a group id seen again belongs to a newer group, the only one that can still exist.
	s.pgids[pgid] = what
	s.pgLeader[pgid] = l
}

// pgLeader identifies a tracked group by its leader: the leader's start time when the test learnt the group
// (clock ticks since boot), or, when the leader was already gone, the time of tracking as an upper bound.
type pgLeader struct {
	start uint64
	known bool
}

// reusedPG reports whether group g is no longer the one the test tracked: a process with pid g exists but is not
// the tracked leader. Without such a process any member still belongs to the tracked group, because Linux does
// not hand out a pid that is still some process's group id.
func (s *Server) reusedPG(g int) bool {
	_, st, _, ok := procStat(g)
	if !ok {
		return false
	}
	s.mu.Lock()
	l := s.pgLeader[g]
	s.mu.Unlock()
	if l.known {
		return st != l.start
	}
	return st > l.start
}

// uptimeTicks is the time since boot in the clock ticks (USER_HZ, 100 on Linux) of /proc/<pid>/stat start times.
func uptimeTicks() uint64 {
	b, _ := os.ReadFile("/proc/uptime")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	sec, _ := strconv.ParseFloat(f[0], 64)
	return uint64(sec * 100)
}

// AllowSurvivor excludes a pid from the descendant check.
func (s *Server) AllowSurvivor(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.survivors[pid] = true
}

// ReadPgid waits for a file written by `echo $$ > name` in dir and tracks the group.
func (s *Server) ReadPgid(dir, name string) int {
	s.t.Helper()
	p := filepath.Join(dir, name)
	var pg int
	ok := waitFor(10*time.Second, func() bool {
		b, err := os.ReadFile(p)
		if err != nil {
			return false
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return false
		}
		pg = n
		return true
	})
	if !ok {
		s.t.Fatalf("%s was not written within 10 s", p)
	}
	s.TrackPG(pg, name)
	return pg
}

// procStat returns state and start time of pid; ok false when the process does not exist.
func procStat(pid int) (state byte, start uint64, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, 0, 0, false
	}
	f := strings.Fields(s[i+2:])
	// f[0] = state (field 3), f[1] = ppid (field 4), f[19] = starttime (field 22)
	if len(f) < 20 {
		return 0, 0, 0, false
	}
	pp, _ := strconv.Atoi(f[1])
	st, _ := strconv.ParseUint(f[19], 10, 64)
	return f[0][0], st, pp, true
}

// children lists the direct children of pid.
func children(pid int) []int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// guardianArgv0 is the argv[0] of the server's guardian process (docs/reference.md#guardian).
const guardianArgv0 = "execmcp-guardian"

// isGuardian reports whether pid is a guardian process.
func isGuardian(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && strings.HasPrefix(string(b), guardianArgv0+"\x00")
}

// guardianOf returns the guardian child of the server pid, 0 when it has none.
func guardianOf(pid int) int {
	for _, c := range children(pid) {
		if isGuardian(c) {
			return c
		}
	}
	return 0
}

// sessionChildren lists the children of the server pid other than its guardian: the sessions' leaders.
func sessionChildren(pid int) []int {
	var out []int
	for _, c := range children(pid) {
		if !isGuardian(c) {
			out = append(out, c)
		}
	}
	return out
}

func descendants(pid int) []int {
	var out []int
	seen := map[int]bool{}
	queue := children(pid)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
		queue = append(queue, children(p)...)
	}
	return out
}

func (s *Server) snapshotDescendants() {
	for _, p := range descendants(s.Pid()) {
		_, st, _, ok := procStat(p)
		if !ok {
			continue
		}
		s.mu.Lock()
		if _, known := s.desc[p]; !known {
			s.desc[p] = st
		}
		s.mu.Unlock()
	}
}

func (s *Server) walkDescendants() {
	defer close(s.walkDone)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.exited:
			return
		case <-s.stopWalk:
			return
		case <-tick.C:
			s.snapshotDescendants()
		}
	}
}

// pgAlive reports whether the process group still has members.
func pgAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return !errors.Is(err, syscall.ESRCH)
}

// pidAlive reports whether pid exists and is not a zombie.
func pidAlive(pid int) bool {
	st, _, _, ok := procStat(pid)
	return ok && st != 'Z'
}

// groupMembers lists live (non-zombie) processes of a process group.
func groupMembers(pgid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+2:])
		if len(f) < 3 || f[0] == "Z" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// pgGone reports whether the group has no live member: ESRCH, or only zombies left.
func pgGone(pgid int) bool {
	return !pgAlive(pgid) || len(groupMembers(pgid)) == 0
}

// waitFor polls cond every 20 ms until it is true or d elapsed.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkLeaks fails the test when a process group the test learnt still has live members, or a descendant of the
// server seen while it ran survived it, 10 s after the server stopped; it kills what it finds.
func (s *Server) checkLeaks() {
	t := s.t
	// Process groups learnt by the test.
	s.mu.Lock()
	pgs := make([]int, 0, len(s.pgids))
	for g := range s.pgids {
		pgs = append(pgs, g)
	}
	desc := make(map[int]uint64, len(s.desc))
	for p, st := range s.desc {
		if !s.survivors[p] {
			desc[p] = st
		}
	}
	s.mu.Unlock()
	sort.Ints(pgs)
	deadline := time.Now().Add(10 * time.Second)
	for _, g := range pgs {
		if !waitFor(time.Until(deadline), func() bool { return pgGone(g) || s.reusedPG(g) }) {
			t.Errorf("leak: process group %d (%s) still has members %v after the server stopped", g, s.pgids[g], groupMembers(g))
			syscall.Kill(-g, syscall.SIGKILL)
		}
	}
	// Descendants of the server.
	var leaked []string
	for p, st := range desc {
		gone := func() bool {
			state, st2, _, ok := procStat(p)
			return !ok || st2 != st || state == 'Z'
		}
		if !waitFor(time.Until(deadline), gone) {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline")
			leaked = append(leaked, fmt.Sprintf("%d (%s)", p, strings.ReplaceAll(string(cmdline), "\x00", " ")))
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
	if len(leaked) > 0 {
		sort.Strings(leaked)
		t.Errorf("leak: descendants of the server survived it: %s", strings.Join(leaked, ", "))
	}
	// The server's cgroup: removed at shutdown, or by the guardian after the server died.
	if cg := s.cgroup; cg != "" && !waitFor(time.Until(deadline), func() bool { return !exists(cg) }) {
		t.Errorf("leak: the server's cgroup %s still exists after the server stopped", cg)
	}
}

// cgroupDir returns the cgroup v2 directory of pid: the path of the 0:: line of /proc/<pid>/cgroup under the
// cgroup2 mount (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems); "" when there is none.
func cgroupDir(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			for _, mnt := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
				var st syscall.Statfs_t
				if syscall.Statfs(mnt, &st) == nil && st.Type == 0x63677270 { // CGROUP2_SUPER_MAGIC
					return filepath.Join(mnt, p)
				}
			}
		}
	}
	return ""
}

// serverCgroup returns the directory of the cgroup execmcp-<pid> that the server pid creates when cgroups are on
// (docs/reference.md#cgroups), whether it exists or not; "" without a cgroup2 mount.
func serverCgroup(pid int) string {
	dir := cgroupDir(pid)
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "execmcp-"+strconv.Itoa(pid))
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// procStatusKB reads a "<field>: <n> kB" (or plain number) line of /proc/<pid>/status; -1 when unknown.
func procStatusKB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			var n int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, field+":")), "%d", &n)
			return n
		}
	}
	return -1
}

// fdCount counts the open file descriptors of pid.
func fdCount(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}
