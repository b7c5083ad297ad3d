package integration_test

// Benchmarks of spill files (docs/reference.md#spill, docs/benchmarks.md): 1 GB through a spilling session against
// Go reading the same pipeline, log pages anywhere in a 1 GB spill file, and log with a literal pattern against
// grep -n -E on the same file, each with its baseline in the same run:
//
//	go test ./integration_test/ -run '^$' -bench 'Spill' -benchtime 1x -timeout 30m
//
// The bodies run once whatever -benchtime says; EXECMCP_BENCH_INGEST_RUNS sets the number of 1 GB runs (3). The
// spill files go to EXECMCP_BENCH_LOG_DIR when it is set (a tmpfs such as /dev/shm, like $XDG_RUNTIME_DIR), else
// to a temporary directory.

import (
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// spillBenchServer starts a server that spills as the default configuration does, into the benchmark's log
// directory.
func spillBenchServer(b *testing.B) *Server {
	dir := os.Getenv("EXECMCP_BENCH_LOG_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else {
		d, err := os.MkdirTemp(dir, "execmcp-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	return StartServer(b, Options{Env: []string{"EXECMCP_LOG_DIR=" + dir}})
}

func benchRuns() int {
	if n, err := strconv.Atoi(os.Getenv("EXECMCP_BENCH_INGEST_RUNS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// BenchmarkSpillIngest1GB: a background command printing 1 GB that goes to a spill file, until the session
// reports its exit, against the same pipeline read by Go into io.Discard and against a server that does not spill
// (EXECMCP_LOG_MAX_BYTES=0), interleaved; both variants (one line without a newline, and 17-byte lines); with the
// spilling server's peak RSS and the CPU time per GB of both servers.
func BenchmarkSpillIngest1GB(b *testing.B) {
	variants := []struct{ name, pipeline string }{
		{"bytes", gigPipeline},
		{"lines", `yes 'a line of output' | head -c 1000000000`},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			s := spillBenchServer(b)
			plain := StartServer(b, Options{Env: []string{"EXECMCP_LOG_MAX_BYTES=0"}})
			var srvD, memD, baseD []time.Duration
			var srvCPU, memCPU float64
			runs := benchRuns()
			for range runs {
				for _, srv := range []*Server{s, plain} {
					cpu0 := procCPU(srv.Pid())
					start := time.Now()
					id, _ := srv.Background(v.pipeline)
					if msgs := srv.WaitExitMessages(id, 1, 10*time.Minute); len(msgs) != 1 {
						b.Fatalf("no exit notification for the 1 GB session")
					}
					d, cpu := time.Since(start), procCPU(srv.Pid())-cpu0
					r := srv.Proc("log", "sessionId", id, "limit", 1)
					if srv == s {
						srvD, srvCPU = append(srvD, d), srvCPU+cpu
						if r.Int("logBytes") != 1000000000 || strings.HasPrefix(r.Text, "[") {
							b.Fatalf("log of the 1 GB session: %v %q", r.SC, head(r.Text, 200))
						}
					} else {
						memD, memCPU = append(memD, d), memCPU+cpu
						if r.Has("spilled") {
							b.Fatalf("EXECMCP_LOG_MAX_BYTES=0 spilled: %v", r.SC)
						}
					}
					srv.Proc("remove", "sessionId", id)
				}
				start := time.Now()
				pipeToDiscard(b, v.pipeline, 1000000000)
				baseD = append(baseD, time.Since(start))
			}
			for b.Loop() {
			}
			ms1, mm, mb := median(srvD), median(memD), median(baseD)
			b.ReportMetric(ms(ms1), "session-median-ms")
			b.ReportMetric(ms(mm), "nospill-median-ms")
			b.ReportMetric(ms(mb), "pipe-median-ms")
			b.ReportMetric(float64(ms1)/float64(mb), "x-vs-pipe")
			b.ReportMetric(float64(mm)/float64(mb), "nospill-x-vs-pipe")
			b.ReportMetric(float64(ms1)/float64(mm), "x-vs-nospill")
			b.ReportMetric(srvCPU/float64(runs), "server-cpu-s/GB")
			b.ReportMetric(memCPU/float64(runs), "nospill-cpu-s/GB")
			b.ReportMetric(float64(vmHWM(s.Pid()))/(1<<20), "server-VmHWM-MB")
			b.ReportMetric(0, "ns/op")
			b.Logf("session %v, no spill %v, pipe %v", srvD, memD, baseD)
		})
	}
}

// BenchmarkSpillLog1GB: one session spills about 1 GB of 17-byte lines with two rare lines in it; then log
// {offset: N, limit: 200} at random offsets all over the file (each a whole MCP round trip), and log with a literal
// pattern against grep -n -E of the same pattern on the same file, alternating, in the same run.
func BenchmarkSpillLog1GB(b *testing.B) {
	s := spillBenchServer(b)
	const pipeline = `{ yes 'a line of output' | head -c 500000000; echo 'ERROR: disk full'; ` +
		`yes 'a line of output' | head -c 499999983; echo 'ERROR: disk full again'; }`
	id, _ := s.Background(pipeline)
	if msgs := s.WaitExitMessages(id, 1, 10*time.Minute); len(msgs) != 1 {
		b.Fatalf("no exit notification for the 1 GB session")
	}
	first := s.Proc("log", "sessionId", id, "limit", 1)
	path, total := first.Str("logPath"), first.Int("totalLines")
	if path == "" || total < 58000000 {
		b.Fatalf("log: %v", first.SC)
	}

	// Pages: random offsets, plus the first and the last page and the tail window.
	rng := rand.New(rand.NewSource(1))
	offsets := []int{0, total - 200}
	for range 40 {
		offsets = append(offsets, rng.Intn(total))
	}
	var pageD []time.Duration
	for _, off := range offsets {
		start := time.Now()
		r := s.Proc("log", "sessionId", id, "offset", off, "limit", 200)
		pageD = append(pageD, time.Since(start))
		if n := strings.Count(r.Text, "\n") + 1; n != min(200, total-off) || r.Int("totalLines") != total {
			b.Fatalf("page at %d: %d lines, details %v", off, n, r.SC)
		}
	}
	start := time.Now()
	if r := s.Proc("log", "sessionId", id); !strings.HasSuffix(r.Text, "ERROR: disk full again\n\n[showing last 200 of "+strconv.Itoa(total)+" lines; pass offset/limit to page]") {
		b.Fatalf("tail page ends %q", tail(r.Text, 120))
	}
	tailD := time.Since(start)

	// Search against grep.
	const pattern = "ERROR: disk"
	var searchD, grepD []time.Duration
	var want string
	for range benchRuns() {
		start := time.Now()
		r := s.Proc("log", "sessionId", id, "pattern", pattern)
		searchD = append(searchD, time.Since(start))
		start = time.Now()
		out, err := exec.Command("grep", "-n", "-E", pattern, path).Output()
		grepD = append(grepD, time.Since(start))
		if err != nil {
			b.Fatalf("grep: %v", err)
		}
		// grep numbers lines from 1, log from 0.
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			n, text, _ := strings.Cut(l, ":")
			k, _ := strconv.Atoi(n)
			lines = append(lines, strconv.Itoa(k-1)+": "+text)
		}
		want = strings.Join(lines, "\n")
		if r.Text != want || r.Int("matches") != 2 {
			b.Fatalf("search: %q, grep: %q", r.Text, want)
		}
	}
	for b.Loop() {
	}
	worst := time.Duration(0)
	for _, d := range pageD {
		worst = max(worst, d)
	}
	b.ReportMetric(ms(median(pageD)), "page-median-ms")
	b.ReportMetric(ms(worst), "page-max-ms")
	b.ReportMetric(ms(tailD), "tail-page-ms")
	b.ReportMetric(ms(median(searchD)), "search-median-ms")
	b.ReportMetric(ms(median(grepD)), "grep-median-ms")
	b.ReportMetric(float64(median(searchD))/float64(median(grepD)), "search-x-vs-grep")
	b.ReportMetric(float64(vmHWM(s.Pid()))/(1<<20), "server-VmHWM-MB")
	b.ReportMetric(0, "ns/op")
	b.Logf("search %v, grep %v", searchD, grepD)
}
