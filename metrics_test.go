package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/execmcp/execmcp/policy"
	"github.com/execmcp/execmcp/sessions"
	"github.com/execmcp/execmcp/tools"
)

// statsFixture is a snapshot with a distinct value in every field, so that a series reading the wrong one shows.
func statsFixture() tools.Stats {
	return tools.Stats{
		Sessions: sessions.Stats{
			Running: 3, Completed: 5, Failed: 7, StdoutBytes: 11, StderrBytes: 13, PTYBytes: 17, DroppedChars: 19,
			Durations: sessions.Histogram{Bounds: []float64{0.5, 1}, Counts: []uint64{2, 4}, Count: 6, Sum: 12.5},
		},
		ExecForeground: 23, ExecBackground: 29, ExecSync: 31,
		ToolCalls:         []tools.ToolCalls{{Tool: "exec", OK: 37, Error: 41}, {Tool: "process", OK: 43, Error: 47}},
		ExitNotifications: 53, OutputNotifications: 59, HeartbeatNotifications: 61,
		MCPSessions: 67, CallsInFlight: 71,
	}
}

func TestStatsCollector(t *testing.T) {
	c := newStatsCollector(statsFixture, "v1.2.3")
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
	want := `
# HELP execmcp_build_info Always 1; the label is the server's version.
# TYPE execmcp_build_info gauge
execmcp_build_info{version="v1.2.3"} 1
# HELP execmcp_exec_duration_seconds Run time (spawn to exit) of finished commands, foreground and background.
# TYPE execmcp_exec_duration_seconds histogram
execmcp_exec_duration_seconds_bucket{le="0.5"} 2
execmcp_exec_duration_seconds_bucket{le="1"} 4
execmcp_exec_duration_seconds_bucket{le="+Inf"} 6
execmcp_exec_duration_seconds_sum 12.5
execmcp_exec_duration_seconds_count 6
# HELP execmcp_exec_total exec calls that started a command, by wait mode.
# TYPE execmcp_exec_total counter
execmcp_exec_total{mode="background"} 29
execmcp_exec_total{mode="foreground"} 23
execmcp_exec_total{mode="sync"} 31
# HELP execmcp_mcp_sessions Live MCP sessions.
# TYPE execmcp_mcp_sessions gauge
execmcp_mcp_sessions 67
# HELP execmcp_notifications_total Notifications handed to clients, by kind.
# TYPE execmcp_notifications_total counter
execmcp_notifications_total{kind="exit"} 53
execmcp_notifications_total{kind="heartbeat"} 61
execmcp_notifications_total{kind="output"} 59
# HELP execmcp_output_bytes_total Bytes of command output recorded (decoded and sanitised), by stream.
# TYPE execmcp_output_bytes_total counter
execmcp_output_bytes_total{stream="pty"} 17
execmcp_output_bytes_total{stream="stderr"} 13
execmcp_output_bytes_total{stream="stdout"} 11
# HELP execmcp_output_dropped_chars_total Chars dropped from the head of sessions' retained output (the sum of discardedChars).
# TYPE execmcp_output_dropped_chars_total counter
execmcp_output_dropped_chars_total 19
# HELP execmcp_sessions_finished_total Backgrounded sessions that finished, by status.
# TYPE execmcp_sessions_finished_total counter
execmcp_sessions_finished_total{status="completed"} 5
execmcp_sessions_finished_total{status="failed"} 7
# HELP execmcp_sessions_running Commands running now, foreground ones included.
# TYPE execmcp_sessions_running gauge
execmcp_sessions_running 3
# HELP execmcp_tool_calls_in_flight Tool calls being handled now.
# TYPE execmcp_tool_calls_in_flight gauge
execmcp_tool_calls_in_flight 71
# HELP execmcp_tool_calls_total Finished tool calls, by tool and result (error: isError).
# TYPE execmcp_tool_calls_total counter
execmcp_tool_calls_total{result="error",tool="exec"} 41
execmcp_tool_calls_total{result="error",tool="process"} 47
execmcp_tool_calls_total{result="ok",tool="exec"} 37
execmcp_tool_calls_total{result="ok",tool="process"} 43
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func metricsTools(t testing.TB) *tools.Tools {
	tl, err := tools.New(tools.Options{
		Version: "test", Tools: policy.ToolSet{Exec: true, Process: true}, YieldMs: 10000, TimeoutSec: 1800,
		Cwd: t.TempDir(), Environ: os.Environ(), Shell: "/bin/sh", Security: "full", Sandbox: "none", Host: "auto",
		Sessions: sessions.Options{KillGrace: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tl.Close(t.Context()) })
	return tl
}

// The handler serves the private registry: the server's series, the Go and process collectors, nothing else.
func TestMetricsHandler(t *testing.T) {
	h := newMetricsHandler(metricsTools(t), "v9", slog.New(slog.DiscardHandler))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	if w.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", w.Code, body)
	}
	for _, want := range []string{`execmcp_build_info{version="v9"} 1`, "\ngo_goroutines ", "\nprocess_open_fds ",
		`execmcp_exec_total{mode="foreground"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /metrics lacks %q", want)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if name := line[:strings.IndexAny(line, "{ ")]; !strings.HasPrefix(name, "execmcp_") &&
			!strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("unexpected series %q", line)
		}
	}
}

// BenchmarkScrape is one GET /metrics answered by the handler (docs/benchmarks.md).
func BenchmarkScrape(b *testing.B) {
	h := newMetricsHandler(metricsTools(b), "bench", slog.New(slog.DiscardHandler))
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept-Encoding", "identity")
	for b.Loop() {
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.code != 0 && w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return io.Discard.Write(p) }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkCollectStats is the server's own share of a scrape: one tools.Stats snapshot turned into metrics.
func BenchmarkCollectStats(b *testing.B) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newStatsCollector(metricsTools(b).Stats, "bench"))
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
