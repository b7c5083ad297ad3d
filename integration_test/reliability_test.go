package integration_test

// Reliability suites of issue 6 (docs/reliability.md): no orphans for every way a process can end, output floods,
// bad input over stdio and HTTP, and a soak run (opt-in).
//
// The normal run uses reduced sizes; EXECMCP_SLOW=1 (without -short) runs the full flood (10 x `yes` for 30 s).
// The soak runs only with EXECMCP_SOAK=<duration> (for example EXECMCP_SOAK=30m):
//
//	EXECMCP_SOAK=30m go test ./integration_test/ -run '^TestReliabilitySoak$' -v -timeout 40m

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The kill grace of these tests: short, so that the TERM-ignoring commands are killed quickly.
const relKillGraceMs = 500

var relEnv = []string{"EXECMCP_KILL_GRACE_MS=" + strconv.Itoa(relKillGraceMs)}

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

// ---------------------------------------------------------------------------------------------------------------
// No orphans

// orphanCmd is a command shape of the no-orphan suite. Its pgid is written to pg-<case> first.
type orphanCmd struct {
	name    string
	body    string // after `echo $$ > pg-<case>; `
	members int    // live members of the group once it is running (shell + sleeps)
	// survivors of a signal that kills the shell but not its async children (SIGINT and SIGQUIT are ignored by
	// asynchronous commands of a non-interactive shell, POSIX 2.11), and of a SIGKILL of the server (Pdeathsig
	// reaches the leader only).
	orphansOfLeader int
}

var orphanCmds = []orphanCmd{
	{name: "grandchildren", body: `sleep 600 & sleep 600 & wait`, members: 3, orphansOfLeader: 2},
	{name: "ignores-TERM", body: `trap "" TERM; sleep 600 & wait`, members: 2, orphansOfLeader: 1},
}

// exitBody is the "exit" ending's variant of a command: the leader exits on its own, leaving its children behind.
func (c orphanCmd) exitBody() string {
	return strings.TrimSuffix(c.body, "wait") + "exit 0"
}

// orphanRow is one line of the no-orphan table.
type orphanRow struct {
	ending, cmd      string
	before           int // live group members before the ending
	afterEnding      int // live group members once the ending is over
	wantAfterEnding  int
	afterServerStop  int // -1 = not measured (the server was already gone)
	note             string
	sessionStatusStr string
}

func logOrphanTable(t *testing.T, rows []orphanRow) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%-24s %-14s %6s %12s %6s %12s  %s\n", "ending", "command", "before", "after-ending", "want", "after-stop", "session")
	for _, r := range rows {
		stop, before := "-", "-"
		if r.afterServerStop >= 0 {
			stop = strconv.Itoa(r.afterServerStop)
		}
		if r.before >= 0 {
			before = strconv.Itoa(r.before)
		}
		fmt.Fprintf(&b, "%-24s %-14s %6s %12d %6d %12s  %s %s\n", r.ending, r.cmd, before, r.afterEnding, r.wantAfterEnding, stop, r.sessionStatusStr, r.note)
	}
	t.Logf("no-orphan table:\n%s", b.String())
}

// waitMembers waits until the group has n live members (the command's children exist, traps are installed).
func waitMembers(t *testing.T, pg, n int) int {
	t.Helper()
	var got int
	if !waitFor(10*time.Second, func() bool { got = len(groupMembers(pg)); return got >= n }) {
		t.Errorf("group %d has %d live members after 10 s, want %d", pg, got, n)
	}
	return got
}

// settleMembers waits until the group's live member count is want (or 3 s pass) and returns the count.
func settleMembers(pg, want int, d time.Duration) int {
	n := len(groupMembers(pg))
	waitFor(d, func() bool { n = len(groupMembers(pg)); return n == want })
	return n
}

// TestReliabilityNoOrphans: for every way a session can end, with a command that forks grandchildren and one that
// ignores SIGTERM, the session's process group has no live member afterwards; the exceptions are the ones the spec
// keeps on purpose (a leader exiting on its own or a non-terminating signal leave async children running until the
// server stops), and the server's own SIGKILL, where only Pdeathsig acts.
func TestReliabilityNoOrphans(t *testing.T) {
	par(t)
	grace := time.Duration(relKillGraceMs) * time.Millisecond

	for _, c := range orphanCmds {
		t.Run("session-endings/"+c.name, func(t *testing.T) {
			s := StartServer(t, Options{Env: relEnv})
			type sessCase struct {
				ending string
				id     string
				pg     int
				want   int
				cancel context.CancelFunc
				done   chan error
			}
			endings := []string{"exit-after-children", "exit-leaving-children", "kill-TERM", "kill-INT", "kill-HUP",
				"kill-QUIT", "kill-USR1", "kill-USR2", "kill-KILL", "timeout", "remove", "cancel-foreground"}
			var cases []*sessCase
			for i, e := range endings {
				file := fmt.Sprintf("pg-%d", i)
				pre := "echo $$ > " + file + "; "
				sc := &sessCase{ending: e}
				switch e {
				case "exit-after-children":
					body := strings.ReplaceAll(c.body, "sleep 600", "sleep 1")
					sc.id, _ = s.Background(pre + body)
				case "exit-leaving-children":
					sc.id, _ = s.Background(pre + c.exitBody())
					sc.want = c.members - 1
				case "timeout":
					sc.id, _ = s.Background(pre+c.body, "timeout", 1)
				case "cancel-foreground":
					ctx, cancel := context.WithCancel(context.Background())
					sc.cancel, sc.done = cancel, make(chan error, 1)
					go func() {
						_, err := s.CallCtx(ctx, "exec", map[string]any{"command": pre + c.body, "yieldMs": 60000}, nil)
						sc.done <- err
					}()
				default:
					sc.id, _ = s.Background(pre + c.body)
					if e == "kill-INT" || e == "kill-QUIT" {
						sc.want = c.orphansOfLeader
					}
				}
				sc.pg = s.ReadPgid(s.Dir, file)
				cases = append(cases, sc)
			}
			rows := make([]orphanRow, len(cases))
			for i, sc := range cases {
				rows[i] = orphanRow{ending: sc.ending, cmd: c.name, wantAfterEnding: sc.want, afterServerStop: -1}
				rows[i].before = -1
				if !strings.HasPrefix(sc.ending, "exit") {
					rows[i].before = waitMembers(t, sc.pg, c.members)
				}
			}
			// The endings.
			for _, sc := range cases {
				switch {
				case strings.HasPrefix(sc.ending, "kill-"):
					sig := strings.TrimPrefix(sc.ending, "kill-")
					r := s.Proc("kill", "sessionId", sc.id, "signal", sig)
					if r.IsError {
						t.Errorf("%s: %s", sc.ending, r)
					}
				case sc.ending == "remove":
					wantText(t, s.Proc("remove", "sessionId", sc.id), "Removed session "+sc.id+" (termination requested).")
				case sc.ending == "cancel-foreground":
					sc.cancel()
				}
			}
			// Wait for each session to end, then count the group's live members.
			for i, sc := range cases {
				switch {
				case sc.ending == "remove":
					waitFor(grace+10*time.Second, func() bool { return !pidAlive(sc.pg) })
					rows[i].sessionStatusStr = "removed"
				case sc.ending == "cancel-foreground":
					select {
					case err := <-sc.done:
						rows[i].sessionStatusStr = fmt.Sprintf("call ended: %v", err)
					case <-time.After(20 * time.Second):
						t.Errorf("the cancelled foreground exec did not return within 20 s")
					}
				default:
					e := s.WaitFinished(sc.id, 30*time.Second)
					rows[i].sessionStatusStr = fmt.Sprintf("%v/%v/%v", e["status"], e["exitReason"], firstNonNil(e["exitSignal"], e["exitCode"]))
				}
				rows[i].afterEnding = settleMembers(sc.pg, sc.want, grace+3*time.Second)
				if rows[i].afterEnding != sc.want {
					t.Errorf("%s / %s: %d live members of group %d after the ending (%v), want %d", sc.ending, c.name,
						rows[i].afterEnding, sc.pg, groupMembers(sc.pg), sc.want)
				}
			}
			s.Stop(syscall.SIGTERM)
			for i, sc := range cases {
				rows[i].afterServerStop = settleMembers(sc.pg, 0, 3*time.Second)
				if rows[i].afterServerStop != 0 {
					t.Errorf("%s / %s: %d live members of group %d after the server stopped, want 0", sc.ending, c.name, rows[i].afterServerStop, sc.pg)
				}
			}
			logOrphanTable(t, rows)
		})
	}

	// The server's own endings: both command shapes run at once in one server.
	for _, how := range []string{"SIGTERM", "SIGINT", "stdin-EOF", "SIGKILL"} {
		t.Run("server-"+how, func(t *testing.T) {
			s := StartServer(t, Options{Env: relEnv})
			var rows []orphanRow
			pgs := map[string]int{}
			for i, c := range orphanCmds {
				file := fmt.Sprintf("pg-%d", i)
				s.Background("echo $$ > " + file + "; " + c.body)
				pgs[c.name] = s.ReadPgid(s.Dir, file)
				rows = append(rows, orphanRow{ending: "server " + how, cmd: c.name, before: waitMembers(t, pgs[c.name], c.members), afterServerStop: -1})
			}
			switch how {
			case "SIGTERM":
				s.Stop(syscall.SIGTERM)
			case "SIGINT":
				s.Stop(syscall.SIGINT)
			case "stdin-EOF":
				s.StopByStdinClose()
			case "SIGKILL":
				s.Kill()
			}
			for i, c := range orphanCmds {
				pg := pgs[c.name]
				if how == "SIGKILL" {
					rows[i].wantAfterEnding = c.orphansOfLeader
					rows[i].note = "(Pdeathsig kills the leader only; the test kills the rest)"
				}
				rows[i].afterEnding = settleMembers(pg, rows[i].wantAfterEnding, 5*time.Second)
				if rows[i].afterEnding != rows[i].wantAfterEnding {
					t.Errorf("server %s / %s: %d live members of group %d (%v), want %d", how, c.name, rows[i].afterEnding, pg, groupMembers(pg), rows[i].wantAfterEnding)
				}
				if how == "SIGKILL" {
					if pidAlive(pg) {
						t.Errorf("server SIGKILL / %s: the leader %d survived (Pdeathsig)", c.name, pg)
					}
					for _, p := range groupMembers(pg) {
						_, _, ppid, _ := procStat(p)
						if ppid == s.Pid() {
							t.Errorf("survivor %d still has the dead server as parent", p)
						}
					}
					syscall.Kill(-pg, syscall.SIGKILL)
					if !waitFor(5*time.Second, func() bool { return pgGone(pg) }) {
						t.Errorf("cleaning up group %d after the server's SIGKILL failed: %v", pg, groupMembers(pg))
					}
				}
			}
			logOrphanTable(t, rows)
		})
	}

	// HTTP: a session-scoped client going away (orphan grace), then the server's SIGTERM.
	t.Run("http", func(t *testing.T) {
		hs := StartHTTPServer(t, HTTPOptions{Env: append([]string{"EXECMCP_ORPHAN_GRACE=1s"}, relEnv...)})
		var rows []orphanRow
		start := func(c *HClient, tag string) []int {
			var pgs []int
			for i, oc := range orphanCmds {
				file := fmt.Sprintf("pg-%s-%d", tag, i)
				c.Background("echo $$ > " + file + "; " + oc.body)
				pg := hs.ReadPgid(hs.Dir, file)
				waitMembers(t, pg, oc.members)
				pgs = append(pgs, pg)
			}
			return pgs
		}
		gone := hs.Connect(t, ClientOpts{})
		stay := hs.Connect(t, ClientOpts{})
		gonePGs := start(gone, "gone")
		stayPGs := start(stay, "stay")
		t0 := time.Now()
		gone.Close() // DELETE
		for i, oc := range orphanCmds {
			n := settleMembers(gonePGs[i], 0, time.Second+grace+6*time.Second)
			rows = append(rows, orphanRow{ending: "http client DELETE", cmd: oc.name, before: oc.members, afterEnding: n,
				afterServerStop: -1, note: fmt.Sprintf("(gone %v after DELETE, orphan grace 1 s)", time.Since(t0).Round(10*time.Millisecond))})
			if n != 0 {
				t.Errorf("client disconnect / %s: %d live members of group %d, want 0", oc.name, n, gonePGs[i])
			}
		}
		for i := range orphanCmds {
			if n := len(groupMembers(stayPGs[i])); n != orphanCmds[i].members {
				t.Errorf("the connected client's group %d has %d members after the other client left, want %d", stayPGs[i], n, orphanCmds[i].members)
			}
		}
		hs.Stop(syscall.SIGTERM)
		for i, oc := range orphanCmds {
			n := settleMembers(stayPGs[i], 0, 3*time.Second)
			rows = append(rows, orphanRow{ending: "http server SIGTERM", cmd: oc.name, before: oc.members, afterEnding: n, afterServerStop: n})
			if n != 0 {
				t.Errorf("HTTP server SIGTERM / %s: %d live members of group %d, want 0", oc.name, n, stayPGs[i])
			}
		}
		logOrphanTable(t, rows)
	})
}

func firstNonNil(v ...any) any {
	for _, x := range v {
		if x != nil {
			return x
		}
	}
	return nil
}

// ---------------------------------------------------------------------------------------------------------------
// Floods

// latencies collects durations under a lock.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }
func (l *latencies) get() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.d...)
}

func latSummary(d []time.Duration) string {
	if len(d) == 0 {
		return "n=0"
	}
	return fmt.Sprintf("n=%d p50=%v p99=%v max=%v", len(d), pctl(d, 50).Round(10*time.Microsecond),
		pctl(d, 99).Round(10*time.Microsecond), pctl(d, 100).Round(10*time.Microsecond))
}

// catNLineLen is the length of line n of `cat -n` output ("%6d\t" + "y" + "\n").
func catNLineLen(n int) int { return max(6, len(strconv.Itoa(n))) + 3 }

// numberedLines parses the complete interior lines of a `yes | cat -n` chunk: the first and the last line may be
// cut, so they are dropped. It returns the first and last interior line numbers (ok false when there are none) and
// whether every interior line is well-formed and consecutive.
func numberedLines(out string) (first, last int, ok, consecutive bool) {
	lines := strings.Split(out, "\n")
	if len(lines) < 3 {
		return 0, 0, false, true
	}
	consecutive = true
	prev := -1
	for _, l := range lines[1 : len(lines)-1] {
		num, rest, found := strings.Cut(strings.TrimLeft(l, " "), "\t")
		n, err := strconv.Atoi(num)
		if !found || rest != "y" || err != nil {
			return 0, 0, false, false
		}
		if prev >= 0 && n != prev+1 {
			consecutive = false
		}
		if prev < 0 {
			first = n
		}
		prev = n
	}
	return first, prev, true, consecutive
}

// pollBody splits a running poll text into its notes and output.
func pollBody(text string) (omitted, discarded bool, out string) {
	if rest, ok := strings.CutPrefix(text, omittedNote+"\n"); ok {
		omitted, text = true, rest
	}
	if rest, ok := strings.CutPrefix(text, discardedNote+"\n"); ok {
		discarded, text = true, rest
	}
	for _, end := range []string{"\n\nProcess still running.", "\n\nProcess exited with signal SIGTERM.", "\n\nProcess exited with signal SIGPIPE."} {
		if i := strings.LastIndex(text, end); i >= 0 && i+len(end) == len(text) {
			return omitted, discarded, text[:i]
		}
	}
	if i := strings.LastIndex(text, "\n\nProcess "); i >= 0 {
		return omitted, discarded, text[:i]
	}
	return omitted, discarded, text
}

// TestReliabilityFlood: concurrent background `yes` floods; the server's RSS stays bounded, process calls keep
// answering, and every poll whose output lost something says so. Even sessions run plain `yes`; odd ones run
// `yes | cat -n`, whose line numbers prove which output a poll is missing.
func TestReliabilityFlood(t *testing.T) {
	par(t)
	n, dur := 3, 5*time.Second
	if slowEnabled() {
		n, dur = 10, 30*time.Second
	}
	const pendingCap, maxChars = 30000, 100000
	s := StartServer(t, Options{})
	rss0 := procStatusKB(s.Pid(), "VmRSS")
	quiet, _ := s.Background(`sleep 600`)
	var ids []string
	for i := 0; i < n; i++ {
		cmd := "yes"
		if i%2 == 1 {
			cmd = "yes | cat -n"
		}
		id, _ := s.Background(cmd)
		ids = append(ids, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	call := func(tool string, args map[string]any) (*Result, time.Duration, error) {
		cctx, ccancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer ccancel()
		t0 := time.Now()
		r, err := s.CallCtx(cctx, tool, args, nil)
		return r, time.Since(t0), err
	}

	var wg sync.WaitGroup
	var rssMax, rssLast atomic.Int64
	wg.Add(1)
	go func() { // RSS sampler
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if v := procStatusKB(s.Pid(), "VmRSS"); v > 0 {
					rssLast.Store(v)
					if v > rssMax.Load() {
						rssMax.Store(v)
					}
				}
			}
		}
	}()
	var listLat, quietLat, execLat, floodPollLat, pingLat, sleepLat latencies
	wg.Add(1)
	go func() { // prober: list, poll of a quiet session, exec echo
		defer wg.Done()
		for ctx.Err() == nil {
			if r, d, err := call("process", map[string]any{"action": "list"}); err != nil || r.IsError {
				t.Errorf("list during the flood: %v %v", err, r)
			} else {
				listLat.add(d)
			}
			if r, d, err := call("process", map[string]any{"action": "poll", "sessionId": quiet, "timeout": 0}); err != nil || r.IsError {
				t.Errorf("poll of the quiet session during the flood: %v %v", err, r)
			} else {
				quietLat.add(d)
			}
			if r, d, err := call("exec", map[string]any{"command": "echo alive"}); err != nil || r.Text != "alive" {
				t.Errorf("exec during the flood: %v %v", err, r)
			} else {
				execLat.add(d)
			}
			// Baselines on the same loaded machine: an MCP ping (the transport, no tool), and how late a 1 ms
			// sleep of this test process wakes up (CPU scheduling).
			pctx, pcancel := context.WithTimeout(context.Background(), 60*time.Second)
			t0 := time.Now()
			if err := s.Sess.Ping(pctx, nil); err != nil {
				t.Errorf("ping during the flood: %v", err)
			} else {
				pingLat.add(time.Since(t0))
			}
			pcancel()
			t0 = time.Now()
			time.Sleep(time.Millisecond)
			sleepLat.add(time.Since(t0) - time.Millisecond)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	var polls, withOmitted, withDiscarded, provedDropped, provedDiscarded atomic.Int64
	for i, id := range ids {
		wg.Add(1)
		go func() { // one poller per flood, every 200 ms
			defer wg.Done()
			numbered := i%2 == 1
			lastLine := -1
			for ctx.Err() == nil {
				time.Sleep(200 * time.Millisecond)
				r, d, err := call("process", map[string]any{"action": "poll", "sessionId": id, "timeout": 1000})
				if err != nil || r.IsError {
					t.Errorf("poll %s: %v %v", id, err, r)
					return
				}
				floodPollLat.add(d)
				polls.Add(1)
				om, di, out := pollBody(r.Text)
				if om {
					withOmitted.Add(1)
				}
				if di {
					withDiscarded.Add(1)
				}
				if chars := len([]rune(out)); chars > pendingCap {
					t.Errorf("poll %s returned %d chars of output, above the pending cap %d", id, chars, pendingCap)
				}
				if !numbered {
					if strings.Trim(out, "y\n") != "" {
						t.Errorf("poll %s of `yes`: output has other characters: %q", id, head(strings.Trim(out, "y\n"), 80))
					}
					continue
				}
				first, last, ok, consecutive := numberedLines(out)
				if !ok {
					if !consecutive {
						t.Errorf("poll %s: malformed numbered output %q", id, head(out, 200))
					}
					continue
				}
				if !consecutive {
					t.Errorf("poll %s: output within one poll is not consecutive (lines %d..%d)", id, first, last)
				}
				if lastLine >= 0 && first > lastLine+3 {
					// Lines lastLine+2 .. first-1 cannot all be accounted for by the cut lines at the two edges.
					provedDropped.Add(1)
					if !om {
						t.Errorf("poll %s: lines %d..%d are missing but the poll has no omitted note", id, lastLine+2, first-1)
					}
					produced := 0
					for l := lastLine + 2; l < first && produced <= maxChars; l++ {
						produced += catNLineLen(l)
					}
					if produced > maxChars {
						provedDiscarded.Add(1)
						if !di {
							t.Errorf("poll %s: more than %d chars were produced since the previous poll but the discarded note is missing", id, maxChars)
						}
					}
				}
				lastLine = last
			}
		}()
	}
	wg.Wait()

	for _, id := range ids {
		s.Proc("kill", "sessionId", id)
	}
	s.Proc("kill", "sessionId", quiet)
	for _, id := range append(ids, quiet) {
		e := s.WaitFinished(id, 20*time.Second)
		if e["status"] != "failed" {
			t.Errorf("flood %s after kill: %v", id, e)
		}
	}
	hwm := procStatusKB(s.Pid(), "VmHWM")
	t.Logf("flood of %d x yes for %v: server VmRSS %d kB at start, max %d kB, last %d kB, VmHWM %d kB", n, dur, rss0, rssMax.Load(), rssLast.Load(), hwm)
	t.Logf("polls of the floods: %d (%d with the omitted note, %d with the discarded note; gaps proved by line numbers: %d dropped, %d discarded) %s",
		polls.Load(), withOmitted.Load(), withDiscarded.Load(), provedDropped.Load(), provedDiscarded.Load(), latSummary(floodPollLat.get()))
	t.Logf("process list during the flood: %s", latSummary(listLat.get()))
	t.Logf("poll (timeout 0) of a quiet session during the flood: %s", latSummary(quietLat.get()))
	t.Logf("exec echo during the flood: %s", latSummary(execLat.get()))
	t.Logf("baseline: MCP ping during the flood: %s", latSummary(pingLat.get()))
	t.Logf("baseline: oversleep of a 1 ms sleep in the test process during the flood: %s", latSummary(sleepLat.get()))
	if rssMax.Load() > 200<<10 {
		t.Errorf("server VmRSS reached %d kB during the flood, want below 200 MB", rssMax.Load())
	}
	// Generous CI bounds: the figures to quote are the logged ones (target < 100 ms).
	for name, l := range map[string][]time.Duration{"list": listLat.get(), "quiet poll": quietLat.get()} {
		if len(l) == 0 {
			t.Errorf("no %s call completed during the flood", name)
		} else if p99 := pctl(l, 99); p99 > 2*time.Second {
			t.Errorf("%s p99 during the flood = %v, want below 2 s", name, p99)
		}
	}
	if polls.Load() == 0 || withOmitted.Load() == 0 {
		t.Errorf("the flood never overflowed a poll (%d polls, %d with the omitted note)", polls.Load(), withOmitted.Load())
	}
}

// ---------------------------------------------------------------------------------------------------------------
// Bad input

// badCall is one malformed request. Exactly one of args (the raw JSON of params.arguments, "" = absent) with tool,
// or msg (a whole JSON-RPC message, "{N}" for the id) is used. {ID} in either is replaced by a live session id.
type badCall struct {
	name  string
	tool  string
	args  string
	msg   string
	want  string // exact isError text; with a trailing "…" a prefix
	rpc   int    // expected JSON-RPC error code instead of a tool result
	http  int    // expected HTTP status over HTTP instead (413)
	stdio bool   // stdio only
	httpO bool   // HTTP only
}

const (
	execKnownParams    = "Known parameters: command, workdir, env, yieldMs, background, timeout, pty, elevated, host."
	processKnownParams = "Known parameters: action, sessionId, data, keys, hex, literal, text, bracketed, eof, offset, limit, timeout, signal."
	invalidAction      = "Invalid process action. Expected one of: list, poll, log, write, send-keys, submit, paste, kill, clear, remove."
	invalidSignalFmt   = `Invalid signal "%s". Expected one of: TERM, INT, HUP, QUIT, USR1, USR2, KILL.`
)

// regexpSessionID finds the session id in a running text.
var regexpSessionID = regexp.MustCompile(`^Command still running \(session (\S+), pid `)

func jstr(s string) string { b, _ := json.Marshal(s); return string(b) }

func badCalls() []badCall {
	big2M := strings.Repeat("x", 2<<20)
	big10M := strings.Repeat("x", 10<<20)
	env257 := map[string]string{}
	for i := 0; i < 257; i++ {
		env257[fmt.Sprintf("K%d", i)] = "v"
	}
	env257j, _ := json.Marshal(env257)
	keys4097, _ := json.Marshal(strings.Split(strings.Repeat("a,", 4096)+"a", ","))
	exe := func(name, args, want string) badCall {
		return badCall{name: name, tool: "exec", args: args, want: want}
	}
	pro := func(name, args, want string) badCall {
		return badCall{name: name, tool: "process", args: args, want: want}
	}
	typ := func(p, what string) string { return fmt.Sprintf(`Invalid parameter "%s": expected %s.`, p, what) }
	calls := []badCall{
		// exec: shape and types
		exe("exec/arguments-absent", ``, "Provide a command to start."),
		exe("exec/arguments-null", `null`, "Provide a command to start."),
		exe("exec/arguments-array", `[1]`, "Invalid arguments: expected an object."),
		exe("exec/arguments-string", `"echo hi"`, "Invalid arguments: expected an object."),
		exe("exec/arguments-number", `42`, "Invalid arguments: expected an object."),
		exe("exec/command-missing", `{"timeout":5}`, "Provide a command to start."),
		exe("exec/command-empty", `{"command":""}`, "Provide a command to start."),
		exe("exec/command-number", `{"command":5}`, typ("command", "a string")),
		exe("exec/command-bool", `{"command":true}`, typ("command", "a string")),
		exe("exec/command-array", `{"command":["echo","hi"]}`, typ("command", "a string")),
		exe("exec/command-object", `{"command":{"sh":"echo"}}`, typ("command", "a string")),
		exe("exec/command-NUL", `{"command":"echo a\u0000b"}`, "command must not contain NUL bytes."),
		exe("exec/command-262145-bytes", `{"command":`+jstr(strings.Repeat("x", 262145))+`}`, "command is too long (262145 bytes; limit 262144)."),
		{name: "exec/command-10MB", tool: "exec", args: `{"command":` + jstr(big10M) + `}`, want: "command is too long (10485760 bytes; limit 262144).", http: 413},
		exe("exec/timeout-word", `{"command":"true","timeout":"abc"}`, typ("timeout", "a number")),
		exe("exec/timeout-hex", `{"command":"true","timeout":"0x10"}`, typ("timeout", "a number")),
		exe("exec/timeout-NaN", `{"command":"true","timeout":"NaN"}`, typ("timeout", "a number")),
		exe("exec/timeout-Inf-string", `{"command":"true","timeout":"-Inf"}`, typ("timeout", "a number")),
		exe("exec/timeout-1e999-string", `{"command":"true","timeout":"1e999"}`, typ("timeout", "a number")),
		{name: "exec/timeout-1e999-number", tool: "exec", args: `{"command":"true","timeout":1e999}`, rpc: -32600},
		exe("exec/yieldMs-bool", `{"command":"true","yieldMs":true}`, typ("yieldMs", "a number")),
		exe("exec/yieldMs-array", `{"command":"true","yieldMs":[500]}`, typ("yieldMs", "a number")),
		exe("exec/background-word", `{"command":"true","background":"yes"}`, typ("background", "a boolean")),
		exe("exec/background-number", `{"command":"true","background":1}`, typ("background", "a boolean")),
		exe("exec/pty-word", `{"command":"true","pty":"maybe"}`, typ("pty", "a boolean")),
		exe("exec/elevated-object", `{"command":"true","elevated":{}}`, typ("elevated", "a boolean")),
		exe("exec/host-number", `{"command":"true","host":7}`, typ("host", "a string")),
		exe("exec/host-unknown", `{"command":"true","host":"weird"}`, `Invalid host "weird". Expected one of: auto, sandbox, gateway.`),
		exe("exec/workdir-number", `{"command":"true","workdir":5}`, typ("workdir", "a string")),
		exe("exec/workdir-NUL", `{"command":"true","workdir":"a\u0000b"}`, "workdir must not contain NUL bytes."),
		exe("exec/workdir-5000-bytes", `{"command":"true","workdir":`+jstr(strings.Repeat("d", 5000))+`}`, "workdir is too long (5000 bytes; limit 4096)."),
		exe("exec/env-string", `{"command":"true","env":"A=1"}`, typ("env", "an object of strings")),
		exe("exec/env-array", `{"command":"true","env":["A=1"]}`, typ("env", "an object of strings")),
		exe("exec/env-value-number", `{"command":"true","env":{"A":1}}`, `Invalid parameter "env": value of "A" must be a string.`),
		exe("exec/env-value-object", `{"command":"true","env":{"A":{"b":"c"}}}`, `Invalid parameter "env": value of "A" must be a string.`),
		exe("exec/env-257-entries", `{"command":"true","env":`+string(env257j)+`}`, "env has too many entries (257; limit 256)."),
		exe("exec/env-value-NUL", `{"command":"true","env":{"A":"x\u0000y"}}`, `env entry "A" must not contain NUL bytes.`),
		exe("exec/env-PATH", `{"command":"true","env":{"PATH":"/x"}}`, "Security Violation: Custom 'PATH' variable is forbidden during host execution."),
		exe("exec/env-bad-key", `{"command":"true","env":{"1BAD":"x"}}`, "Security Violation: invalid non-portable override keys: 1BAD."),
		exe("exec/unknown-param", `{"command":"true","cwd":"/tmp"}`, `Unknown parameter "cwd" for exec. `+execKnownParams),
		exe("exec/unknown-param-invalid-UTF-8", "{\"command\":\"true\",\"\xff\xfe\":1}", "Unknown parameter \"\ufffd\ufffd\" for exec. "+execKnownParams),
		exe("exec/host-invalid-UTF-8", "{\"command\":\"true\",\"host\":\"\xc3\"}", "Invalid host \"\ufffd\". Expected one of: auto, sandbox, gateway."),
		exe("exec/elevated-true", `{"command":"true","elevated":true}`, "elevated is not available right now (runtime=direct).…"),
		// Errors that quote a huge value back must stay within the 1 MiB response bound (output.md §8, policy.md §7).
		exe("exec/unknown-param-2MiB-name", `{"command":"true",`+jstr(big2M)+`:1}`, `Unknown parameter "xxxx…`),
		exe("exec/host-2MiB", `{"command":"true","host":`+jstr(big2M)+`}`, `Invalid host "xxxx…`),
		// process
		pro("process/arguments-absent", ``, invalidAction),
		pro("process/arguments-array", `["poll"]`, "Invalid arguments: expected an object."),
		pro("process/action-missing", `{"sessionId":"{ID}"}`, invalidAction),
		pro("process/action-number", `{"action":5}`, typ("action", "a string")),
		pro("process/action-unknown", `{"action":"explode"}`, invalidAction),
		pro("process/action-invalid-UTF-8", "{\"action\":\"\xffpoll\"}", invalidAction),
		{name: "process/action-10MB", tool: "process", args: `{"action":` + jstr(big10M) + `}`, want: invalidAction, http: 413},
		pro("process/sessionId-missing", `{"action":"poll"}`, "sessionId is required for this action."),
		pro("process/sessionId-number", `{"action":"poll","sessionId":5}`, typ("sessionId", "a string")),
		pro("process/sessionId-unknown", `{"action":"poll","sessionId":"no-such-session"}`, "No session found for no-such-session"),
		pro("process/sessionId-NUL", `{"action":"log","sessionId":"a\u0000b"}`, "No session found for a\x00b"),
		pro("process/sessionId-2MiB", `{"action":"poll","sessionId":`+jstr(big2M)+`}`, "No session found for xxxx…"),
		pro("process/unknown-param", `{"action":"write","sessionId":"{ID}","input":"x"}`, `Unknown parameter "input" for process. `+processKnownParams),
		pro("process/timeout-word", `{"action":"poll","sessionId":"{ID}","timeout":"soon"}`, typ("timeout", "a number")),
		pro("process/offset-word", `{"action":"log","sessionId":"{ID}","offset":"x"}`, typ("offset", "a number")),
		pro("process/limit-bool", `{"action":"log","sessionId":"{ID}","limit":true}`, typ("limit", "a number")),
		{name: "process/offset-1e999", tool: "process", args: `{"action":"log","sessionId":"{ID}","offset":1e999}`, rpc: -32600},
		pro("process/data-number", `{"action":"write","sessionId":"{ID}","data":5}`, typ("data", "a string")),
		pro("process/data-1048577-bytes", `{"action":"write","sessionId":"{ID}","data":`+jstr(strings.Repeat("a", 1048577))+`}`, "data is too long (1048577 bytes; limit 1048576)."),
		{name: "process/data-10MB", tool: "process", args: `{"action":"write","sessionId":"{ID}","data":` + jstr(big10M) + `}`, want: "data is too long (10485760 bytes; limit 1048576).", http: 413},
		pro("process/eof-word", `{"action":"write","sessionId":"{ID}","eof":"soon"}`, typ("eof", "a boolean")),
		pro("process/write-unknown-session", `{"action":"write","sessionId":"nope","data":"x"}`, "No active session found for nope"),
		pro("process/keys-number", `{"action":"send-keys","sessionId":"{ID}","keys":5}`, typ("keys", "an array of strings")),
		pro("process/keys-mixed", `{"action":"send-keys","sessionId":"{ID}","keys":["a",1]}`, typ("keys", "an array of strings")),
		pro("process/hex-object", `{"action":"send-keys","sessionId":"{ID}","hex":{}}`, typ("hex", "an array of strings")),
		pro("process/keys-4097-items", `{"action":"send-keys","sessionId":"{ID}","keys":`+string(keys4097)+`}`, "keys has too many items (4097; limit 4096)."),
		pro("process/send-keys-nothing", `{"action":"send-keys","sessionId":"{ID}"}`, "No key data provided."),
		{name: "process/literal-10MB", tool: "process", args: `{"action":"send-keys","sessionId":"{ID}","literal":` + jstr(big10M) + `}`,
			want: "Key data is too long (10485760 bytes; limit 1048576).", http: 413},
		pro("process/text-number", `{"action":"paste","sessionId":"{ID}","text":5}`, typ("text", "a string")),
		pro("process/paste-empty-raw", `{"action":"paste","sessionId":"{ID}","text":"","bracketed":false}`, "No paste text provided."),
		pro("process/bracketed-word", `{"action":"paste","sessionId":"{ID}","text":"x","bracketed":"sometimes"}`, typ("bracketed", "a boolean")),
		pro("process/signal-number", `{"action":"kill","sessionId":"{ID}","signal":9}`, typ("signal", "a string")),
		pro("process/signal-unknown", `{"action":"kill","sessionId":"{ID}","signal":"NOPE"}`, fmt.Sprintf(invalidSignalFmt, "NOPE")),
		pro("process/signal-digits", `{"action":"kill","sessionId":"{ID}","signal":"9"}`, fmt.Sprintf(invalidSignalFmt, "9")),
		pro("process/signal-2MiB", `{"action":"kill","sessionId":"{ID}","signal":`+jstr(big2M)+`}`, `Invalid signal "xxxx…`),
		pro("process/kill-unknown-session", `{"action":"kill","sessionId":"nope"}`, "No active session found for nope"),
		pro("process/clear-running", `{"action":"clear","sessionId":"{ID}"}`, "No finished session found for {ID}"),
		pro("process/remove-unknown", `{"action":"remove","sessionId":"nope"}`, "No session found for nope"),
		// protocol layer
		{name: "rpc/unknown-tool", msg: `{"jsonrpc":"2.0","id":{N},"method":"tools/call","params":{"name":"nope","arguments":{}}}`, rpc: -32602},
		{name: "rpc/tool-name-number", msg: `{"jsonrpc":"2.0","id":{N},"method":"tools/call","params":{"name":5}}`, rpc: -32600},
		{name: "rpc/params-string", msg: `{"jsonrpc":"2.0","id":{N},"method":"tools/call","params":"exec"}`, rpc: -32600},
		{name: "rpc/unknown-method", msg: `{"jsonrpc":"2.0","id":{N},"method":"nope/nope"}`, rpc: -32601},
		{name: "rpc/jsonrpc-1.0", msg: `{"jsonrpc":"1.0","id":{N},"method":"ping"}`, rpc: -32600},
	}
	return calls
}

// badResult is what one bad call got.
type badResult struct {
	isError bool
	text    string
	rpc     int
	status  int // HTTP status (0 on stdio)
	size    int // bytes of the response message
	elapsed time.Duration
}

func checkBad(t *testing.T, c badCall, id string, got badResult, transport string) {
	t.Helper()
	want := strings.ReplaceAll(c.want, "{ID}", id)
	if transport == "http" && c.http != 0 {
		if got.status != c.http {
			t.Errorf("%s over HTTP: status %d, want %d", c.name, got.status, c.http)
		}
		return
	}
	if got.status != 0 && got.status != http.StatusOK {
		t.Errorf("%s over %s: HTTP status %d", c.name, transport, got.status)
		return
	}
	if got.size > maxResponseBytes {
		t.Errorf("%s over %s: response of %d bytes exceeds 1 MiB (took %v)", c.name, transport, got.size, got.elapsed.Round(time.Millisecond))
	}
	if c.rpc != 0 {
		if got.rpc != c.rpc {
			t.Errorf("%s over %s: JSON-RPC error %d (result isError=%v %q), want JSON-RPC error %d", c.name, transport, got.rpc, got.isError, head(got.text, 120), c.rpc)
		}
		return
	}
	if got.rpc != 0 || !got.isError {
		t.Errorf("%s over %s: rpc error %d, isError %v, text %q; want isError %q", c.name, transport, got.rpc, got.isError, head(got.text, 200), head(want, 200))
		return
	}
	if p, ok := strings.CutSuffix(want, "…"); ok {
		if !strings.HasPrefix(got.text, p) {
			t.Errorf("%s over %s: text %q, want prefix %q", c.name, transport, head(got.text, 200), p)
		}
	} else if got.text != want {
		t.Errorf("%s over %s: text %q, want %q", c.name, transport, head(got.text, 300), head(want, 300))
	}
}

// parseRPC extracts the result/error of a JSON-RPC response.
func parseRPC(raw []byte) (badResult, error) {
	var m struct {
		Result *struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
			IsError bool `json:"isError"`
		} `json:"result"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return badResult{}, err
	}
	var r badResult
	r.size = len(raw)
	if m.Error != nil {
		r.rpc, r.text = m.Error.Code, m.Error.Message
	} else if m.Result != nil {
		r.isError = m.Result.IsError
		if len(m.Result.Content) > 0 {
			r.text = m.Result.Content[0].Text
		}
	}
	return r, nil
}

func (c badCall) message(n int, id string) []byte {
	if c.msg != "" {
		return []byte(strings.ReplaceAll(c.msg, "{N}", strconv.Itoa(n)))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q`, n, c.tool)
	if c.args != "" {
		b.WriteString(`,"arguments":`)
		b.WriteString(strings.ReplaceAll(c.args, "{ID}", id))
	}
	b.WriteString("}}")
	return b.Bytes()
}

// TestReliabilityBadInput sends every malformed call of badCalls over stdio (raw JSON-RPC lines, so invalid UTF-8
// reaches the server as bytes) and over Streamable HTTP (raw POSTs); each gets a clear isError result or the
// protocol layer's JSON-RPC error, every response stays within 1 MiB, and the server keeps serving.
func TestReliabilityBadInput(t *testing.T) {
	par(t)
	calls := badCalls()
	var nStdio, nHTTP int
	for _, c := range calls {
		if !c.httpO {
			nStdio++
		}
		if !c.stdio {
			nHTTP++
		}
	}
	t.Logf("%d malformed calls over stdio, %d over HTTP", nStdio, nHTTP)

	t.Run("stdio", func(t *testing.T) {
		s := StartServer(t, Options{Raw: true})
		rc := s.Raw()
		rc.Initialize(legacyProtocol)
		r, _ := rc.CallTool("exec", map[string]any{"command": "sleep 600", "background": true})
		if r == nil || r.Str("sessionId") == "" {
			t.Fatalf("background exec: %v", r)
		}
		id := r.Str("sessionId")
		s.TrackPG(r.Int("pid"), "bad-input session")
		var slow []string
		for i, c := range calls {
			if c.httpO {
				continue
			}
			n := 100000 + i
			t0 := time.Now()
			rc.Send(c.message(n, id))
			m := rc.WaitResponse(strconv.Itoa(n), 60*time.Second)
			got, err := parseRPC(m.Raw)
			got.elapsed = time.Since(t0)
			if err != nil {
				t.Errorf("%s: unparsable response: %v", c.name, err)
				continue
			}
			if got.elapsed > 500*time.Millisecond {
				slow = append(slow, fmt.Sprintf("%s %v (%d bytes)", c.name, got.elapsed.Round(time.Millisecond), got.size))
			}
			checkBad(t, c, id, got, "stdio")
		}
		// Lines the protocol layer cannot parse: -32700 with a null id.
		before := len(s.Messages())
		for _, line := range []string{`{not json`, `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, "\xff\xfe\xfd", `{"jsonrpc":"2.0","id":`} {
			rc.Send(line)
		}
		if !waitFor(10*time.Second, func() bool { return len(s.Messages())-before >= 4 }) {
			t.Errorf("unparsable lines: %d responses, want 4", len(s.Messages())-before)
		}
		for _, m := range s.Messages()[before:] {
			got, _ := parseRPC(m.Raw)
			if got.rpc != -32700 || m.ID != "" {
				t.Errorf("unparsable line answered %s, want a -32700 error with id null", m.Raw)
			}
		}
		// Invalid UTF-8 inside a command string reaches the shell as U+FFFD (encoding/json replaces it): documented.
		rc.Send("{\"jsonrpc\":\"2.0\",\"id\":\"utf8\",\"method\":\"tools/call\",\"params\":{\"name\":\"exec\",\"arguments\":{\"command\":\"printf '%s' '\xff'\"}}}")
		if got, _ := parseRPC(rc.WaitResponse(`"utf8"`, 30*time.Second).Raw); got.isError || got.text != "\ufffd" {
			t.Errorf("command with invalid UTF-8: %+v, want it run with U+FFFD", got)
		}
		if len(slow) > 0 {
			t.Logf("slow answers over stdio: %s", strings.Join(slow, "; "))
		}
		alive, _ := rc.CallTool("exec", map[string]any{"command": "echo still-alive"})
		if alive == nil || alive.Text != "still-alive" {
			t.Errorf("after the bad input: %v", alive)
		}
	})

	t.Run("http", func(t *testing.T) {
		hs := StartHTTPServer(t, HTTPOptions{})
		httpc := &http.Client{Timeout: 120 * time.Second}
		var sid string
		post := func(body []byte) (badResult, error) {
			req, err := http.NewRequest("POST", hs.Base+"/mcp", bytes.NewReader(body))
			if err != nil {
				return badResult{}, err
			}
			req.Header = mcpHeaders("Mcp-Protocol-Version", legacyProtocol)
			if sid != "" {
				req.Header.Set("Mcp-Session-Id", sid)
			}
			resp, err := httpc.Do(req)
			if err != nil {
				return badResult{}, err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return badResult{}, err
			}
			if sid == "" {
				sid = resp.Header.Get("Mcp-Session-Id")
			}
			if resp.StatusCode != http.StatusOK {
				return badResult{status: resp.StatusCode, text: string(b)}, nil
			}
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				// The response is the last data line of the stream.
				var data []byte
				for _, l := range bytes.Split(b, []byte("\n")) {
					if d, ok := bytes.CutPrefix(bytes.TrimRight(l, "\r"), []byte("data:")); ok {
						data = bytes.TrimSpace(d)
					}
				}
				b = data
			}
			if len(bytes.TrimSpace(b)) == 0 {
				return badResult{status: resp.StatusCode}, nil
			}
			r, err := parseRPC(b)
			r.status = resp.StatusCode
			return r, err
		}
		if _, err := post([]byte(rawInitialize)); err != nil || sid == "" {
			t.Fatalf("initialize over HTTP: %v (session %q)", err, sid)
		}
		if r, err := post([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err != nil || (r.status != http.StatusAccepted && r.status != http.StatusOK) {
			t.Fatalf("notifications/initialized: %v %+v", err, r)
		}
		// A live session of this client's scope, for the calls that need one; its pid is learnt from list.
		start, err := post([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec","arguments":{"command":"echo $$ > pg-bad; exec sleep 600","background":true}}}`))
		if err != nil || start.isError {
			t.Fatalf("background exec over HTTP: %v %+v", err, start)
		}
		hs.ReadPgid(hs.Dir, "pg-bad")
		var id string
		if m := regexpSessionID.FindStringSubmatch(start.text); m != nil {
			id = m[1]
		} else {
			t.Fatalf("no session id in %q", start.text)
		}
		var slow []string
		for i, c := range calls {
			if c.stdio {
				continue
			}
			t0 := time.Now()
			got, err := post(c.message(1000+i, id))
			got.elapsed = time.Since(t0)
			if err != nil {
				t.Errorf("%s over HTTP: %v", c.name, err)
				continue
			}
			if got.elapsed > 500*time.Millisecond {
				slow = append(slow, fmt.Sprintf("%s %v (%d bytes)", c.name, got.elapsed.Round(time.Millisecond), got.size))
			}
			checkBad(t, c, id, got, "http")
		}
		for _, body := range []string{`{not json`, "\xff\xfe\xfd"} {
			got, err := post([]byte(body))
			if err != nil || (got.rpc != -32700 && got.status != http.StatusBadRequest) {
				t.Errorf("unparsable body %q over HTTP: %v %+v, want -32700 or HTTP 400", body, err, got)
			}
		}
		if len(slow) > 0 {
			t.Logf("slow answers over HTTP: %s", strings.Join(slow, "; "))
		}
		alive, err := post([]byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exec","arguments":{"command":"echo still-alive"}}}`))
		if err != nil || alive.text != "still-alive" {
			t.Errorf("after the bad input over HTTP: %v %+v", err, alive)
		}
		// A fresh SDK client still works too.
		wantText(t, hs.Connect(t, ClientOpts{}).Exec(`echo still-alive`), "still-alive")
	})
}

// ---------------------------------------------------------------------------------------------------------------
// Soak

// TestReliabilitySoak: EXECMCP_SOAK=<duration> of mixed exec/poll/kill from 8 Streamable HTTP clients; RSS, threads
// and open descriptors of the server are sampled every 10 s and must stay flat (the last fifth against the first
// sample after warm-up). Not part of the normal run.
func TestReliabilitySoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("EXECMCP_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set EXECMCP_SOAK=<duration> (e.g. 30m) to run the soak")
	}
	// The server logs its goroutine count every second (EXECMCP_STATS_INTERVAL_MS): nothing outside the process
	// can observe it; a sample takes the newest line.
	hs := StartHTTPServer(t, HTTPOptions{Env: append(slices.Clone(relEnv), "EXECMCP_STATS_INTERVAL_MS=1000")})
	pid := hs.Pid()
	type sample struct {
		at             time.Duration
		rssKB, threads int64
		fds            int
		goroutines     int
	}
	statsLine := regexp.MustCompile(`msg=stats goroutines=(\d+) `)
	goroutines := func() int {
		m := statsLine.FindAllStringSubmatch(hs.Stderr(), -1)
		if len(m) == 0 {
			return -1
		}
		n, _ := strconv.Atoi(m[len(m)-1][1])
		return n
	}
	var samples []sample
	var mu sync.Mutex
	t0 := time.Now()
	take := func() {
		s := sample{at: time.Since(t0).Round(time.Second), rssKB: procStatusKB(pid, "VmRSS"), threads: procStatusKB(pid, "Threads"), fds: fdCount(pid), goroutines: goroutines()}
		mu.Lock()
		samples = append(samples, s)
		mu.Unlock()
	}
	time.Sleep(1500 * time.Millisecond) // the first stats line
	take()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var ops, errs atomic.Int64
	var wg sync.WaitGroup
	var clients []*HClient
	for w := 0; w < 8; w++ {
		c := hs.Connect(t, ClientOpts{})
		clients = append(clients, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			call := func(tool string, args map[string]any) *Result {
				cctx, ccancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer ccancel()
				r, err := c.CallCtx(cctx, tool, args)
				ops.Add(1)
				if err != nil {
					errs.Add(1)
					t.Errorf("client %d: %s %v: %v", w, tool, args, err)
					return nil
				}
				return r
			}
			for i := 0; ctx.Err() == nil; i++ {
				if r := call("exec", map[string]any{"command": "echo soak-" + strconv.Itoa(i)}); r != nil && r.Text != "soak-"+strconv.Itoa(i) {
					t.Errorf("client %d: exec echo: %s", w, r)
				}
				r := call("exec", map[string]any{"command": "for i in 1 2 3; do echo line $i; sleep 0.05; done", "background": true})
				if r != nil {
					id := r.Str("sessionId")
					for k := 0; k < 10; k++ {
						p := call("process", map[string]any{"action": "poll", "sessionId": id, "timeout": 2000})
						if p == nil || p.Str("status") != "running" {
							break
						}
					}
					call("process", map[string]any{"action": "log", "sessionId": id})
					call("process", map[string]any{"action": "remove", "sessionId": id})
				}
				r = call("exec", map[string]any{"command": "sleep 30 & sleep 30; echo never", "background": true})
				if r != nil {
					id := r.Str("sessionId")
					call("process", map[string]any{"action": "kill", "sessionId": id})
					call("process", map[string]any{"action": "poll", "sessionId": id, "timeout": 5000})
					call("process", map[string]any{"action": "list"})
					call("process", map[string]any{"action": "clear", "sessionId": id})
				}
				if i%5 == 0 {
					r = call("exec", map[string]any{"command": "yes | head -c 3000000", "background": true})
					if r != nil {
						id := r.Str("sessionId")
						for k := 0; k < 10; k++ {
							p := call("process", map[string]any{"action": "poll", "sessionId": id, "timeout": 2000})
							if p == nil || p.Str("status") != "running" {
								break
							}
						}
						call("process", map[string]any{"action": "remove", "sessionId": id})
					}
				}
			}
		}()
	}
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			take()
		}
	}
	wg.Wait()
	time.Sleep(time.Duration(relKillGraceMs)*time.Millisecond + 3*time.Second) // the last kills settle
	take()
	// Every client leaves (DELETE): what the server keeps afterwards is what it would leak.
	for _, c := range clients {
		c.Close()
	}
	time.Sleep(3 * time.Second) // a stats line after the last DELETE
	take()
	var b strings.Builder
	for _, s := range samples {
		fmt.Fprintf(&b, "%8v rss=%6d kB threads=%3d fds=%4d goroutines=%5d\n", s.at, s.rssKB, s.threads, s.fds, s.goroutines)
	}
	t.Logf("soak of %v, 8 clients, %d calls (%d errors):\n%s", d, ops.Load(), errs.Load(), b.String())
	if len(samples) < 6 {
		return
	}
	// Flat: the last fifth of the samples against the one at 20 % (after warm-up).
	ref := samples[len(samples)/5]
	for _, s := range samples[len(samples)*4/5:] {
		if s.rssKB > ref.rssKB*3/2+4096 {
			t.Errorf("RSS grew from %d kB (at %v) to %d kB (at %v)", ref.rssKB, ref.at, s.rssKB, s.at)
		}
		if s.fds > ref.fds+32 {
			t.Errorf("open descriptors grew from %d (at %v) to %d (at %v)", ref.fds, ref.at, s.fds, s.at)
		}
		if s.threads > ref.threads+16 {
			t.Errorf("threads grew from %d (at %v) to %d (at %v)", ref.threads, ref.at, s.threads, s.at)
		}
		if s.goroutines < 0 || s.goroutines > ref.goroutines*3/2+64 {
			t.Errorf("goroutines grew from %d (at %v) to %d (at %v)", ref.goroutines, ref.at, s.goroutines, s.at)
		}
	}
	if first, final := samples[0], samples[len(samples)-1]; final.goroutines > first.goroutines+16 || final.fds > first.fds+16 {
		t.Errorf("after the clients left: %d goroutines and %d descriptors, at the start %d and %d",
			final.goroutines, final.fds, first.goroutines, first.fds)
	}
	final := samples[len(samples)-1]
	t.Logf("soak: RSS %d -> %d kB, threads %d -> %d, fds %d -> %d, goroutines %d -> %d (first after warm-up -> final)",
		ref.rssKB, final.rssKB, ref.threads, final.threads, ref.fds, final.fds, ref.goroutines, final.goroutines)
}
