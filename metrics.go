// This file owns the Prometheus metrics served at /metrics over HTTP (docs/reference.md#metrics): a private
// registry holding the Go and process collectors and one collector that reads the counters of tools and
// sessions (tools.Stats) when scraped, so that the paths that count pay one atomic add and nothing else.

package main

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/execmcp/execmcp/tools"
)

// statsCollector exports a tools.Stats snapshot per scrape. Every series has a fixed name and at most the
// labels listed here: nothing names a session, a scope or an agent.
type statsCollector struct {
	stats func() tools.Stats

	buildInfo, execTotal, execDuration, running, finished, outputBytes, dropped,
	notifications, mcpSessions, toolCalls, inFlight *prometheus.Desc
	buildLabel string
}

func newStatsCollector(stats func() tools.Stats, version string) *statsCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("execmcp_"+name, help, labels, nil)
	}
	return &statsCollector{
		stats:      stats,
		buildLabel: version,
		buildInfo:  d("build_info", "Always 1; the label is the server's version.", "version"),
		execTotal:  d("exec_total", "exec calls that started a command, by wait mode.", "mode"),
		execDuration: d("exec_duration_seconds",
			"Run time (spawn to exit) of finished commands, foreground and background."),
		running: d("sessions_running", "Commands running now, foreground ones included."),
		finished: d("sessions_finished_total",
			"Backgrounded sessions that finished, by status.", "status"),
		outputBytes: d("output_bytes_total", "Bytes of command output recorded (decoded and sanitised), by stream.",
			"stream"),
		dropped: d("output_dropped_chars_total",
			"Chars dropped from the head of sessions' retained output (the sum of discardedChars)."),
		notifications: d("notifications_total", "Notifications handed to clients, by kind.", "kind"),
		mcpSessions:   d("mcp_sessions", "Live MCP sessions."),
		toolCalls:     d("tool_calls_total", "Finished tool calls, by tool and result (error: isError).", "tool", "result"),
		inFlight:      d("tool_calls_in_flight", "Tool calls being handled now."),
	}
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.buildInfo, c.execTotal, c.execDuration, c.running, c.finished,
		c.outputBytes, c.dropped, c.notifications, c.mcpSessions, c.toolCalls, c.inFlight} {
		ch <- d
	}
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	s := st.Sessions
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(c.buildInfo, 1, c.buildLabel)
	counter(c.execTotal, st.ExecForeground, "foreground")
	counter(c.execTotal, st.ExecBackground, "background")
	counter(c.execTotal, st.ExecSync, "sync")
	buckets := make(map[float64]uint64, len(s.Durations.Bounds))
	for i, le := range s.Durations.Bounds {
		buckets[le] = s.Durations.Counts[i]
	}
	ch <- prometheus.MustNewConstHistogram(c.execDuration, s.Durations.Count, s.Durations.Sum, buckets)
	gauge(c.running, float64(s.Running))
	counter(c.finished, s.Completed, "completed")
	counter(c.finished, s.Failed, "failed")
	counter(c.outputBytes, s.StdoutBytes, "stdout")
	counter(c.outputBytes, s.StderrBytes, "stderr")
	counter(c.outputBytes, s.PTYBytes, "pty")
	counter(c.dropped, s.DroppedChars)
	counter(c.notifications, st.ExitNotifications, "exit")
	counter(c.notifications, st.OutputNotifications, "output")
	counter(c.notifications, st.HeartbeatNotifications, "heartbeat")
	gauge(c.mcpSessions, float64(st.MCPSessions))
	for _, tc := range st.ToolCalls {
		counter(c.toolCalls, tc.OK, tc.Tool, "ok")
		counter(c.toolCalls, tc.Error, tc.Tool, "error")
	}
	gauge(c.inFlight, float64(st.CallsInFlight))
}

// newMetricsHandler returns the handler of /metrics: a private registry (the global one would also collect
// whatever a dependency registers there) with the Go and process collectors and the server's own series.
func newMetricsHandler(t *tools.Tools, version string, logger *slog.Logger) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newStatsCollector(t.Stats, version),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}
