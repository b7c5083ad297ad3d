package integration_test

// Reliability: no orphans. For every way a session can end, with a command that forks grandchildren and one that
// ignores SIGTERM, the session's process group is checked for live members afterwards.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// orphanCmd is a command shape of the no-orphan suite. Its pgid is written to pg-<case> first.
type orphanCmd struct {
	name    string
	body    string // after `echo $$ > pg-<case>; `
	members int    // live members of the group once it is running (shell + sleeps)
	// survivors of a signal that kills the shell but not its async children (SIGINT and SIGQUIT are ignored by
	// asynchronous commands of a non-interactive shell, POSIX 2.11), and of a SIGKILL of the server without its
	// guardian (Pdeathsig reaches the leader only).
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
// ignores SIGTERM, the session's process group has no live member afterwards; the exceptions are kept on purpose
// (docs/reference.md#process-groups): a leader exiting on its own or a non-terminating signal leave async children
// running until the server stops, and on the server's own SIGKILL without the guardian only Pdeathsig acts
// (docs/reference.md#guardian).
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
	for _, how := range []string{"SIGTERM", "SIGINT", "stdin-EOF", "SIGKILL", "SIGKILL-guardian-off"} {
		t.Run("server-"+how, func(t *testing.T) {
			env := relEnv
			if how == "SIGKILL-guardian-off" {
				// Without the guardian nothing removes the cgroup of a killed server: both off, as before either.
				env = append([]string{"EXECMCP_GUARDIAN=off", "EXECMCP_CGROUP=off"}, relEnv...)
			}
			s := StartServer(t, Options{Env: env})
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
			case "SIGKILL", "SIGKILL-guardian-off":
				s.Kill()
			}
			for i, c := range orphanCmds {
				pg := pgs[c.name]
				if how == "SIGKILL" {
					rows[i].note = "(the guardian kills the group)"
				}
				if how == "SIGKILL-guardian-off" {
					rows[i].wantAfterEnding = c.orphansOfLeader
					rows[i].note = "(Pdeathsig kills the leader only; the test kills the rest)"
				}
				rows[i].afterEnding = settleMembers(pg, rows[i].wantAfterEnding, 5*time.Second)
				if rows[i].afterEnding != rows[i].wantAfterEnding {
					t.Errorf("server %s / %s: %d live members of group %d (%v), want %d", how, c.name, rows[i].afterEnding, pg, groupMembers(pg), rows[i].wantAfterEnding)
				}
				if strings.HasPrefix(how, "SIGKILL") {
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
