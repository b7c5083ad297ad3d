package integration_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
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

// untilFloods are the 1 GB floods of BenchmarkUntilFloodCPU: log lines of 95 bytes and short lines of 31, full of
// the lowercase letters and digits that patterns are made of (but matching none of untilPatterns), and one line
// without a newline.
var untilFloods = []struct{ name, pipeline string }{
	{"log", `yes '2026-12-06 10:00:00.123 INFO  server: handled GET /api/v1/items?page=2 in 12ms (status 200) ok' | head -c 1000000000`},
	{"words", `yes 'some log line with words 12345' | head -c 1000000000`},
	{"nolf", `head -c 1000000000 /dev/zero | tr '\0' a`},
}

// untilPatterns are typical agent patterns, one per shape the matcher treats apart; none matches a line of
// untilFloods, so every line is scanned for the whole flood.
var untilPatterns = []struct{ name, pattern string }{
	{"literal", `NEEDLE`},
	{"fold", `(?i)error`},
	{"alternation", `error|warning|fatal`},
	{"class", `[Ee]rror`},
	{"anchored", `^READY$`},
	{"passed", `^\d+ passed`},
	{"noliteral", `\d{6}`},
}

// BenchmarkUntilFloodCPU: the server's CPU time (utime+stime) for a 1 GB background flood while the client keeps a
// `poll {until: <pattern>, timeout: 30000}` outstanding (a new one as soon as the previous returns), against the
// same flood polled with `timeout: 0` every 100 ms, in the same run; the target is at most 1.2x
// (docs/reference.md#poll-wait). One sub-benchmark per flood; each run floods once per mode, modes interleaved,
// and the ratio is taken per run against that run's plain flood: the metric "<pattern>-cpu-x" is the median, the
// log gives the range. Three runs (EXECMCP_BENCH_INGEST_RUNS overrides), whatever b.N is;
// EXECMCP_BENCH_UNTIL_PATTERNS (comma-separated names) and EXECMCP_BENCH_UNTIL_FLOODS select a subset.
func BenchmarkUntilFloodCPU(b *testing.B) {
	runs := 3
	if n, err := strconv.Atoi(os.Getenv("EXECMCP_BENCH_INGEST_RUNS")); err == nil && n > 0 {
		runs = n
	}
	pick := func(env, name string) bool {
		v := os.Getenv(env)
		return v == "" || slices.Contains(strings.Split(v, ","), name)
	}
	for _, fl := range untilFloods {
		if !pick("EXECMCP_BENCH_UNTIL_FLOODS", fl.name) {
			continue
		}
		b.Run(fl.name, func(b *testing.B) {
			s := StartServer(b, Options{})
			ratios := map[string][]float64{}
			var plain []float64
			for range runs {
				base := untilFloodCPU(b, s, fl.pipeline, "")
				plain = append(plain, base)
				for _, p := range untilPatterns {
					if pick("EXECMCP_BENCH_UNTIL_PATTERNS", p.name) {
						ratios[p.name] = append(ratios[p.name], untilFloodCPU(b, s, fl.pipeline, p.pattern)/base)
					}
				}
			}
			for b.Loop() {
			}
			b.Logf("server CPU of the plain flood %.2f..%.2f s", slices.Min(plain), slices.Max(plain))
			b.ReportMetric(medianF(plain), "plain-cpu-s")
			for _, p := range untilPatterns {
				if r := ratios[p.name]; len(r) > 0 {
					b.Logf("%-12s %-22q cpu-x %.3f..%.3f (median %.3f)", p.name, p.pattern, slices.Min(r), slices.Max(r), medianF(r))
					b.ReportMetric(medianF(r), p.name+"-cpu-x")
				}
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

func medianF(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// untilFloodCPU runs pipeline in the background until its exit notification and returns the server's CPU seconds
// meanwhile. With a pattern, a poll with until and timeout 30000 is outstanding the whole time; without, a poll with
// timeout 0 is made every 100 ms. Matching a line would end the scan early, so a match fails the benchmark.
func untilFloodCPU(b *testing.B, s *Server, pipeline, pattern string) float64 {
	cpu0 := procCPU(s.Pid())
	id, _ := s.Background(pipeline)
	ctx, cancel := context.WithCancel(context.Background())
	var poller sync.WaitGroup
	poller.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			args := map[string]any{"action": "poll", "sessionId": id, "timeout": 0}
			if pattern != "" {
				args["until"], args["timeout"] = pattern, 30000
			}
			r, err := s.CallCtx(ctx, "process", args, nil)
			if err != nil {
				return
			}
			if m, _ := r.Bool("matched"); m {
				b.Errorf("until %q matched %q: the flood must match no pattern", pattern, r.Str("match"))
				return
			}
			if r.Str("status") != "running" {
				return
			}
			if pattern == "" {
				select {
				case <-tick.C:
				case <-ctx.Done():
				}
			}
		}
	})
	if msgs := s.WaitExitMessages(id, 1, 10*time.Minute); len(msgs) != 1 {
		b.Fatalf("no exit notification for the flood (until %q)", pattern)
	}
	cpu := procCPU(s.Pid()) - cpu0
	cancel()
	poller.Wait()
	// A flood that did not run (a pipeline that failed at once) would measure nothing: 1 GB takes the server
	// most of a second.
	if last := s.Proc("poll", "sessionId", id); !strings.HasSuffix(last.Text, "Process exited with code 0.") || cpu < 0.1 {
		b.Fatalf("flood (until %q): server CPU %.2f s, final poll ends %q", pattern, cpu, tail(last.Text, 80))
	}
	s.Proc("remove", "sessionId", id)
	return cpu
}
