package integration_test

// Exit-notification latency: the time from a background process's exit to the arrival of its notifications/message,
// over stdio and over Streamable HTTP (with the standing GET stream).
//
//	go test ./integration_test/ -run '^$' -bench ExitNotifyLatency -benchtime 100x
//
// The command prints nothing and ends with `exec date +%s%N > f`: date writes the wall-clock time in nanoseconds
// and exits, which is the exit of the session's only process. EXECMCP_NOTIFY_ON_EXIT_EMPTY_SUCCESS=true makes that
// quiet success notify. The client records the arrival time of the message (the time the SDK read it off the pipe
// or the GET stream); latency = arrival - timestamp. Sessions are removed after each run and ids of removed sessions
// may be reused, so only messages that arrived after the run's exec call count.

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

var latencyEnv = []string{"EXECMCP_NOTIFY_ON_EXIT_EMPTY_SUCCESS=true"}

const latencyCommand = `sleep 0.02; exec date +%%s%%N > lat-%d`

// stdioExitLatencies measures n exits over stdio.
func stdioExitLatencies(tb testing.TB, n int) []time.Duration {
	s := StartServer(tb, Options{Env: latencyEnv})
	var lat []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		id, _ := s.Background(fmt.Sprintf(latencyCommand, i))
		// Ids of removed sessions can be reused: only messages that arrived after this call count.
		var msgs []ExitMessage
		waitFor(10*time.Second, func() bool {
			msgs = nil
			for _, m := range s.ExitMessages(id) {
				if m.At.After(start) {
					msgs = append(msgs, m)
				}
			}
			return len(msgs) > 0
		})
		if len(msgs) != 1 {
			tb.Fatalf("run %d: %d exit messages for %s", i, len(msgs), id)
		}
		ts, ok := readNanoFile(tb, filepath.Join(s.Dir, fmt.Sprintf("lat-%d", i)), 5*time.Second)
		if !ok {
			tb.Fatalf("run %d: no timestamp file", i)
		}
		lat = append(lat, msgs[0].At.Sub(ts))
		s.Proc("remove", "sessionId", id)
	}
	return lat
}

// httpExitLatencies measures n exits over Streamable HTTP.
func httpExitLatencies(tb testing.TB, n int) []time.Duration {
	hs := StartHTTPServer(tb, HTTPOptions{Env: latencyEnv})
	c := hs.Connect(tb, ClientOpts{})
	var lat []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		id, _ := c.Background(fmt.Sprintf(latencyCommand, i))
		var msgs []HExitMessage
		waitFor(10*time.Second, func() bool {
			msgs = nil
			for _, m := range c.ExitMessages(id) {
				if m.At.After(start) {
					msgs = append(msgs, m)
				}
			}
			return len(msgs) > 0
		})
		if len(msgs) != 1 {
			tb.Fatalf("run %d: %d exit messages for %s", i, len(msgs), id)
		}
		if msgs[0].Stream != "GET /mcp" {
			tb.Errorf("run %d: the exit message arrived on %q, not the GET stream", i, msgs[0].Stream)
		}
		ts, ok := readNanoFile(tb, filepath.Join(hs.Dir, fmt.Sprintf("lat-%d", i)), 5*time.Second)
		if !ok {
			tb.Fatalf("run %d: no timestamp file", i)
		}
		lat = append(lat, msgs[0].At.Sub(ts))
		c.Proc("remove", "sessionId", id)
	}
	return lat
}

// BenchmarkExitNotifyLatency reports p50 and p99 over b.N runs (use -benchtime 100x) per transport.
func BenchmarkExitNotifyLatency(b *testing.B) {
	for _, tr := range []struct {
		name string
		run  func(testing.TB, int) []time.Duration
	}{{"stdio", stdioExitLatencies}, {"http", httpExitLatencies}} {
		b.Run(tr.name, func(b *testing.B) {
			lat := tr.run(b, b.N)
			b.ReportMetric(ms(pctl(lat, 50)), "p50-ms")
			b.ReportMetric(ms(pctl(lat, 99)), "p99-ms")
			b.ReportMetric(ms(pctl(lat, 100)), "max-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// The exit-notification latency bound of the normal test run: p99 <= 500 ms over 20 runs on each transport.
func TestF51ExitNotifyLatencyBound(t *testing.T) {
	par(t)
	for _, tr := range []struct {
		name string
		run  func(testing.TB, int) []time.Duration
	}{{"stdio", stdioExitLatencies}, {"http", httpExitLatencies}} {
		t.Run(tr.name, func(t *testing.T) {
			lat := tr.run(t, 20)
			p50, p99 := pctl(lat, 50), pctl(lat, 99)
			t.Logf("exit notification latency over %s: p50 %v p99 %v (20 runs)", tr.name, p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond))
			if p99 > 500*time.Millisecond {
				t.Errorf("p99 exit notification latency over %s = %v, want <= 500 ms", tr.name, p99)
			}
			for i, d := range lat {
				if d < 0 {
					t.Errorf("run %d: negative latency %v (the message arrived before the timestamp?)", i, d)
				}
			}
		})
	}
}
