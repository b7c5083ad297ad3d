package integration_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// pipeline200MB prints 200 MB in lines of 40 bytes, so that until has 5 million lines to scan.
const pipeline200MB = `yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | head -c 200000000`

// BenchmarkIngestWhilePolling: a background command printing 200 MB while the client keeps one poll outstanding (a
// new one as soon as the previous returns, as agents do), until the exit notification, against the same pipeline
// read by Go into io.Discard in the same run; with the server's CPU time against the same flood with nobody
// polling. Modes: "wait" polls with timeout 30000, "until" with timeout 30000 and a pattern that never matches
// (every line is scanned), "poll0" with timeout 0 every 100 ms, "none" does not poll. Three runs of each
// (EXECMCP_BENCH_INGEST_RUNS overrides), whatever b.N is (docs/reference.md#poll-wait).
func BenchmarkIngestWhilePolling(b *testing.B) {
	runs := 3
	if n, err := strconv.Atoi(os.Getenv("EXECMCP_BENCH_INGEST_RUNS")); err == nil && n > 0 {
		runs = n
	}
	s := StartServer(b, Options{})
	modes := []string{"none", "wait", "until", "poll0"}
	dur := map[string][]time.Duration{}
	cpu := map[string]float64{}
	var base []time.Duration
	for i := 0; i < runs; i++ {
		for _, mode := range modes {
			cpu0 := procCPU(s.Pid())
			start := time.Now()
			id, _ := s.Background(pipeline200MB)
			ctx, cancel := context.WithCancel(context.Background())
			var poller sync.WaitGroup
			if mode != "none" {
				poller.Go(func() {
					for ctx.Err() == nil {
						args := map[string]any{"action": "poll", "sessionId": id, "timeout": 30000}
						switch mode {
						case "until":
							args["until"] = "^NEVER MATCHES$"
						case "poll0":
							args["timeout"] = 0
						}
						r, err := s.CallCtx(ctx, "process", args, nil)
						if err != nil || r.Str("status") != "running" {
							return
						}
						if mode == "poll0" {
							time.Sleep(100 * time.Millisecond)
						}
					}
				})
			}
			if msgs := s.WaitExitMessages(id, 1, 10*time.Minute); len(msgs) != 1 {
				b.Fatalf("no exit notification for the 200 MB session (%s)", mode)
			}
			dur[mode] = append(dur[mode], time.Since(start))
			cpu[mode] += procCPU(s.Pid()) - cpu0
			cancel()
			poller.Wait()
			s.Proc("remove", "sessionId", id)
		}
		start := time.Now()
		pipeToDiscard(b, pipeline200MB, 200000000)
		base = append(base, time.Since(start))
	}
	for b.Loop() {
	}
	mb := median(base)
	b.ReportMetric(ms(mb), "pipe-median-ms")
	for _, mode := range modes {
		b.ReportMetric(float64(median(dur[mode]))/float64(mb), mode+"-x-vs-pipe")
		if mode != "none" {
			b.ReportMetric(cpu[mode]/cpu["none"], mode+"-cpu-x-vs-none")
		}
	}
	b.ReportMetric(0, "ns/op")
}
