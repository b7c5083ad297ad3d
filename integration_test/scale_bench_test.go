package integration_test

// Benchmarks of throughput and scale: exec over HTTP, 1 GB of output, 1000 sessions and poll wake-up
// (docs/benchmarks.md). Each reports its figure and a baseline measured in the same run, and their ratio. The table
// of docs/benchmarks.md is reproduced by
//
//	go test ./integration_test/ -run '^$' -bench 'ExecEcho|Startup|SpawnBaseline|Ingest1GB|Sessions1000|PollWakeup|ExitNotifyLatency' -benchtime 100x -timeout 30m
//
// (Ingest1GB and Sessions1000 run their body once whatever -benchtime says: three 1 GB runs, one 1000-session run.)

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// procCPU returns utime+stime of pid in seconds (/proc/<pid>/stat fields 14 and 15, USER_HZ = 100).
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// selfCPU is the CPU time of this test process in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// BenchmarkExecEchoHTTP is BenchmarkExecEcho over Streamable HTTP (SDK client with its standing GET stream):
// exec `echo hi` round trips against a plain fork+exec+wait of `sh -c 'echo hi'`, interleaved in one loop.
func BenchmarkExecEchoHTTP(b *testing.B) {
	hs := StartHTTPServer(b, HTTPOptions{})
	c := hs.Connect(b, ClientOpts{})
	echoAgainstSpawn(b, func() time.Duration {
		start := time.Now()
		r := c.Exec(`echo hi`)
		d := time.Since(start)
		if r.Text != "hi" {
			b.Fatalf("exec echo hi over HTTP: %s", r)
		}
		return d
	})
}

const gigPipeline = `head -c 1000000000 /dev/zero | tr '\0' a`

// BenchmarkIngest1GB: a background command printing 1 GB, until the session reports its exit (the exit
// notification), against the same pipeline read by Go into io.Discard; with the server's peak RSS and its CPU time
// per GB (utime+stime from /proc before and after) against the Go reader's own CPU time. Three runs of each
// (EXECMCP_BENCH_INGEST_RUNS overrides), whatever b.N is.
func BenchmarkIngest1GB(b *testing.B) {
	runs := 3
	if n, err := strconv.Atoi(os.Getenv("EXECMCP_BENCH_INGEST_RUNS")); err == nil && n > 0 {
		runs = n
	}
	s := StartServer(b, Options{Env: []string{"EXECMCP_LOG_MAX_BYTES=0"}}) // the memory path: see BenchmarkSpillIngest1GB
	idleRSS := procStatusKB(s.Pid(), "VmRSS")
	var srvD, baseD []time.Duration
	var srvCPU, baseCPU float64
	for i := 0; i < runs; i++ {
		cpu0 := procCPU(s.Pid())
		start := time.Now()
		id, _ := s.Background(gigPipeline)
		if msgs := s.WaitExitMessages(id, 1, 10*time.Minute); len(msgs) != 1 {
			b.Fatalf("no exit notification for the 1 GB session")
		}
		srvD = append(srvD, time.Since(start))
		srvCPU += procCPU(s.Pid()) - cpu0
		last := s.Proc("poll", "sessionId", id)
		if last.IsError || last.Size > maxResponseBytes || !strings.HasPrefix(last.Text, omittedNote+"\n"+discardedNote+"\n") ||
			!strings.HasSuffix(last.Text, "Process exited with code 0.") {
			b.Errorf("final poll: %d bytes, %q ... %q", last.Size, head(last.Text, 240), tail(last.Text, 60))
		}
		s.Proc("remove", "sessionId", id)

		c0 := selfCPU()
		start = time.Now()
		pipeToDiscard(b, gigPipeline, 1000000000)
		baseD = append(baseD, time.Since(start))
		baseCPU += selfCPU() - c0
	}
	// The body runs once (b.Loop); the iterations are empty. Metrics are reported after the loop, which resets them.
	for b.Loop() {
	}
	ms1, mb := median(srvD), median(baseD)
	b.ReportMetric(ms(ms1), "session-median-ms")
	b.ReportMetric(ms(mb), "pipe-median-ms")
	b.ReportMetric(float64(ms1)/float64(mb), "x-vs-pipe")
	b.ReportMetric(srvCPU/float64(runs), "server-cpu-s/GB")
	b.ReportMetric(baseCPU/float64(runs), "reader-cpu-s/GB")
	b.ReportMetric(srvCPU/baseCPU, "cpu-x-vs-reader")
	b.ReportMetric(float64(vmHWM(s.Pid()))/(1<<20), "server-VmHWM-MB")
	b.ReportMetric(float64(idleRSS)/1024, "server-idle-RSS-MB")
	b.ReportMetric(0, "ns/op")
}

// ---------------------------------------------------------------------------------------------------------------
// 1000 sessions

// bareServer is an execmcp process with an SDK client and none of the harness's per-50-ms descendant walk (which
// would cost a core with 2000 descendants and distort the figures). The caller checks for survivors itself.
type bareServer struct {
	cmd  *exec.Cmd
	sess *mcp.ClientSession
	in   io.WriteCloser
}

func startBare(tb testing.TB, env []string) *bareServer {
	tb.Helper()
	dir := tb.TempDir()
	cmd := exec.Command(binPath)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(dir, false), env...)
	cmd.Stderr = io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "execmcp-bench", Version: "1"}, &mcp.ClientOptions{Capabilities: &mcp.ClientCapabilities{}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess, err := client.Connect(ctx, &mcp.IOTransport{Reader: out, Writer: in, MaxLineLength: -1}, &mcp.ClientSessionOptions{ProtocolVersion: legacyProtocol})
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		tb.Fatalf("connecting: %v", err)
	}
	bs := &bareServer{cmd: cmd, sess: sess, in: in}
	tb.Cleanup(func() { bs.stop(tb) })
	return bs
}

func (bs *bareServer) call(tool string, args map[string]any) (*Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	res, err := bs.sess.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return nil, err
	}
	return newResult(res, 0), nil
}

func (bs *bareServer) stop(tb testing.TB) {
	if bs.cmd.ProcessState != nil {
		return
	}
	bs.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- bs.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		tb.Errorf("the server did not exit within 20 s of SIGTERM")
		bs.cmd.Process.Kill()
		<-done
	}
	bs.sess.Close()
}

// liveByGroup counts the live (non-zombie) processes of every process group, in one pass over /proc.
func liveByGroup() map[int]int {
	out := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
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
		g, _ := strconv.Atoi(f[2])
		out[g]++
	}
	return out
}

// waitGroupsGone waits until none of pgs has a live member; it returns the time it took and the survivors.
func waitGroupsGone(pgs []int, d time.Duration) (time.Duration, []int) {
	start := time.Now()
	for {
		live := liveByGroup()
		var alive []int
		for _, g := range pgs {
			if live[g] > 0 {
				alive = append(alive, g)
			}
		}
		if len(alive) == 0 || time.Since(start) > d {
			return time.Since(start), alive
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// parallelDo runs f(0..n-1) on workers goroutines and returns the wall time.
func parallelDo(n, workers int, f func(i int)) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return time.Since(start)
}

// sessionsN is the size of BenchmarkSessions1000 (EXECMCP_BENCH_SESSIONS overrides it, for a quick try).
func sessionsN() int {
	if n, err := strconv.Atoi(os.Getenv("EXECMCP_BENCH_SESSIONS")); err == nil && n > 0 {
		return n
	}
	return 1000
}

// BenchmarkSessions1000: 1000 concurrent background `sleep 600` sessions, started by 16 concurrent callers on one
// stdio client. Figures: the time to start all (against Go starting the same 1000 `sh -c 'sleep 600'` in new
// sessions with three pipes each, 16 at a time), `process list` latency (against list on the idle server), server
// RSS (against the idle server), and the time until every group is reaped after 1000 `process kill` calls (against
// Go's kill+wait of its own 1000), with no survivor and no zombie. It runs once whatever b.N is.
func BenchmarkSessions1000(b *testing.B) {
	n := sessionsN()
	const workers = 16
	const cmdText = "sleep 600"

	// Baseline: plain Go.
	base := make([]*exec.Cmd, n)
	var baseErr error
	var mu sync.Mutex
	baseStart := parallelDo(n, workers, func(i int) {
		c := exec.Command("/bin/sh", "-c", cmdText)
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		_, e1 := c.StdinPipe()
		_, e2 := c.StdoutPipe()
		_, e3 := c.StderrPipe()
		err := c.Start()
		for _, e := range []error{e1, e2, e3, err} {
			if e != nil {
				mu.Lock()
				baseErr = e
				mu.Unlock()
			}
		}
		base[i] = c
	})
	if baseErr != nil {
		b.Fatalf("baseline start: %v", baseErr)
	}
	var basePGs []int
	for _, c := range base {
		basePGs = append(basePGs, c.Process.Pid)
	}
	t0 := time.Now()
	parallelDo(n, workers, func(i int) {
		syscall.Kill(-base[i].Process.Pid, syscall.SIGTERM)
		base[i].Wait()
	})
	_, baseLeft := waitGroupsGone(basePGs, 30*time.Second)
	baseKill := time.Since(t0)
	if len(baseLeft) > 0 {
		b.Fatalf("baseline groups survived: %v", baseLeft)
	}

	bs := startBare(b, nil)
	pid := bs.cmd.Process.Pid
	var listIdle []time.Duration
	for i := 0; i < 20; i++ {
		t := time.Now()
		if _, err := bs.call("process", map[string]any{"action": "list"}); err != nil {
			b.Fatal(err)
		}
		listIdle = append(listIdle, time.Since(t))
	}
	idleRSS := procStatusKB(pid, "VmRSS")
	idleThreads := procStatusKB(pid, "Threads") // a count, read the same way
	ids := make([]string, n)
	pgs := make([]int, n)
	var startErrs []string
	startAll := parallelDo(n, workers, func(i int) {
		r, err := bs.call("exec", map[string]any{"command": cmdText, "background": true})
		if err != nil || r.IsError || r.Str("status") != "running" {
			mu.Lock()
			startErrs = append(startErrs, fmt.Sprintf("%v %v", err, r))
			mu.Unlock()
			return
		}
		ids[i], pgs[i] = r.Str("sessionId"), r.Int("pid")
	})
	if len(startErrs) > 0 {
		b.Errorf("%d starts failed, first: %s", len(startErrs), startErrs[0])
	}
	// Every group has its two members (sh and sleep).
	if !waitFor(30*time.Second, func() bool {
		live := liveByGroup()
		for _, g := range pgs {
			if g > 0 && live[g] < 2 {
				return false
			}
		}
		return true
	}) {
		b.Errorf("not every session has its sleep running after 30 s")
	}
	fullRSS := procStatusKB(pid, "VmRSS")
	threads := procStatusKB(pid, "Threads")
	fds := fdCount(pid)
	var listFull []time.Duration
	for i := 0; i < 20; i++ {
		t := time.Now()
		r, err := bs.call("process", map[string]any{"action": "list"})
		if err != nil {
			b.Fatal(err)
		}
		listFull = append(listFull, time.Since(t))
		if om, _ := r.Num("omitted"); int(om) != n-100 {
			b.Errorf("list with %d sessions: omitted %v, want %d", n, r.SC["omitted"], n-100)
		}
	}

	t0 = time.Now()
	parallelDo(n, workers, func(i int) {
		if ids[i] == "" {
			return
		}
		if r, err := bs.call("process", map[string]any{"action": "kill", "sessionId": ids[i]}); err != nil || r.IsError {
			b.Errorf("kill %s: %v %v", ids[i], err, r)
		}
	})
	killCalls := time.Since(t0)
	reap, left := waitGroupsGone(pgs, 60*time.Second)
	reap = time.Since(t0)
	if len(left) > 0 {
		b.Errorf("%d groups survived the kills, e.g. %v", len(left), left[:min(5, len(left))])
	}
	// The server reaped all its children: none left, no zombie.
	if !waitFor(20*time.Second, func() bool { return len(sessionChildren(pid)) == 0 }) {
		b.Errorf("server still has %d children (%d zombies) after the kills", len(sessionChildren(pid)), len(zombieChildren(pid)))
	}
	afterRSS := procStatusKB(pid, "VmRSS")
	afterFDs := fdCount(pid)
	bs.stop(b)

	// The body runs once (b.Loop); the iterations are empty. Metrics are reported after the loop, which resets them.
	for b.Loop() {
	}
	b.ReportMetric(startAll.Seconds(), "start-all-s")
	b.ReportMetric(baseStart.Seconds(), "go-start-all-s")
	b.ReportMetric(startAll.Seconds()/baseStart.Seconds(), "start-x-vs-go")
	b.ReportMetric(ms(median(listFull)), "list-median-ms")
	b.ReportMetric(ms(pctl(listFull, 99)), "list-p99-ms")
	b.ReportMetric(ms(median(listIdle)), "idle-list-median-ms")
	b.ReportMetric(float64(median(listFull))/float64(median(listIdle)), "list-x-vs-idle")
	b.ReportMetric(float64(fullRSS)/1024, "server-RSS-MB")
	b.ReportMetric(float64(idleRSS)/1024, "idle-RSS-MB")
	b.ReportMetric(float64(fullRSS)/float64(idleRSS), "rss-x-vs-idle")
	b.ReportMetric(float64(fds), "server-fds")
	b.ReportMetric(float64(threads), "server-threads")
	b.ReportMetric(float64(idleThreads), "idle-threads")
	b.ReportMetric(killCalls.Seconds(), "kill-calls-s")
	b.ReportMetric(reap.Seconds(), "kill-to-reaped-s")
	b.ReportMetric(baseKill.Seconds(), "go-kill-to-reaped-s")
	b.ReportMetric(reap.Seconds()/baseKill.Seconds(), "reap-x-vs-go")
	b.ReportMetric(float64(len(left)), "survivors")
	b.ReportMetric(float64(afterRSS)/1024, "after-RSS-MB")
	b.ReportMetric(float64(afterFDs), "after-fds")
	b.ReportMetric(0, "ns/op")
}

// ---------------------------------------------------------------------------------------------------------------
// poll wake-up

// BenchmarkPollWakeup: a poll with timeout 5000 and until matching the next line waits on a quiet background
// session; another goroutine writes a line that the session echoes; the figure is the time from the write call's
// return to the poll's return (nothing subtracted), which must stay within 50 ms of the matching line
// (docs/reference.md#poll-wait). Baseline: the round trip of a poll that does not wait (timeout 0) in the same run.
//   - running: `while read l; do echo "$l"; done` keeps running, so only the match ends the wait (a plain poll
//     with a timeout would wait the whole 5 s).
//   - exit: `read l; echo "$l"` exits after its echo; the match or the finalization ends the wait.
func BenchmarkPollWakeup(b *testing.B) {
	for _, mode := range []string{"running", "exit"} {
		b.Run(mode, func(b *testing.B) {
			s := StartServer(b, Options{})
			var wake, bare []time.Duration
			loopID := ""
			if mode == "running" {
				loopID, _ = s.Background(`while read l; do echo "$l"; done`)
			}
			for i := 0; i < b.N; i++ {
				id := loopID
				if mode == "exit" {
					id, _ = s.Background(`read l; echo "$l"`)
				}
				t := time.Now()
				s.Proc("poll", "sessionId", id, "timeout", 0)
				bare = append(bare, time.Since(t))

				line := "w" + strconv.Itoa(i)
				got := make(chan *Result, 1)
				var polled time.Time
				go func() {
					r, err := s.CallCtx(context.Background(), "process", map[string]any{"action": "poll", "sessionId": id, "timeout": 5000, "until": "^" + line + "$"}, nil)
					polled = time.Now()
					if err != nil {
						r = &Result{Text: err.Error(), IsError: true}
					}
					got <- r
				}()
				time.Sleep(30 * time.Millisecond) // the poll is waiting
				w := s.Proc("write", "sessionId", id, "data", line+"\n")
				wrote := time.Now()
				if w.IsError {
					b.Fatalf("write: %s", w)
				}
				r := <-got
				if !strings.HasPrefix(r.Text, line+"\n\n") {
					b.Fatalf("poll after the write: %s", r)
				}
				wake = append(wake, polled.Sub(wrote))
				if mode == "exit" {
					s.WaitFinished(id, 10*time.Second)
					s.Proc("remove", "sessionId", id)
				}
			}
			if p50 := pctl(wake, 50); p50 > 50*time.Millisecond {
				b.Errorf("until wake-up p50 %v, want within 50 ms of the matching line", p50)
			}
			b.ReportMetric(ms(pctl(wake, 50)), "wake-p50-ms")
			b.ReportMetric(ms(pctl(wake, 99)), "wake-p99-ms")
			b.ReportMetric(ms(pctl(bare, 50)), "poll0-p50-ms")
			b.ReportMetric(float64(pctl(wake, 50))/float64(pctl(bare, 50)), "x-vs-poll0")
			b.ReportMetric(0, "ns/op")
		})
	}
}
