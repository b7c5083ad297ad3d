package integration_test

// Running the HTTP mode as a service (docs/reference.md#health, docs/reference.md#metrics,
// docs/reference.md#drain, docs/reference.md#logs): probes, Prometheus metrics read with the exposition format's
// own parser, the graceful stop, and JSON logs, all through the real binary.

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const opsToken = "ops-test-token-0123456789"

func bearer(token string) http.Header {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return h
}

// scrape reads /metrics with the Prometheus text parser.
func scrape(t *testing.T, hs *HTTPServer, token string) map[string]*dto.MetricFamily {
	t.Helper()
	r := rawDo(t, "GET", hs.Base+"/metrics", bearer(token), "")
	if r.Status != 200 {
		t.Fatalf("GET /metrics: %d %q", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("GET /metrics Content-Type %q, want the text exposition format", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, r.Body)
	}
	return mfs
}

// metricValue is the value of the sample of family name whose labels are exactly labels (name=value pairs);
// ok is false when there is none.
func metricValue(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel())*2 != len(labels) {
			continue
		}
		match := true
		for _, lp := range m.GetLabel() {
			found := false
			for i := 0; i+1 < len(labels); i += 2 {
				if labels[i] == lp.GetName() && labels[i+1] == lp.GetValue() {
					found = true
				}
			}
			match = match && found
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// The probes answer without a token while /mcp needs one; they skip the Host check that guards /mcp.
func TestOpsHealth(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{AuthToken: opsToken})
	if r := rawDo(t, "POST", hs.Base+"/mcp", mcpHeaders(), rawInitialize); r.Status != 401 {
		t.Errorf("POST /mcp without a token: %d, want 401", r.Status)
	}
	for _, tc := range []struct{ path, body string }{{"/healthz", "ok"}, {"/readyz", "ready"}} {
		r := rawDo(t, "GET", hs.Base+tc.path, nil, "")
		if r.Status != 200 || r.Body != tc.body {
			t.Errorf("GET %s without a token: %d %q, want 200 %q", tc.path, r.Status, r.Body, tc.body)
		}
		// A kubelet probes the pod IP with its own Host header; the loopback listener's Host check (403 on /mcp)
		// does not apply.
		r = rawDo(t, "GET", hs.Base+tc.path, http.Header{"Host": {"10.1.2.3:8765"}}, "")
		if r.Status != 200 || r.Body != tc.body {
			t.Errorf("GET %s with a foreign Host: %d %q, want 200 %q", tc.path, r.Status, r.Body, tc.body)
		}
		if r := rawDo(t, "HEAD", hs.Base+tc.path, nil, ""); r.Status != 200 || r.Body != "" {
			t.Errorf("HEAD %s: %d %q, want 200 and no body", tc.path, r.Status, r.Body)
		}
		if r := rawDo(t, "POST", hs.Base+tc.path, nil, "x"); r.Status != 405 {
			t.Errorf("POST %s: %d, want 405", tc.path, r.Status)
		}
	}
	if r := rawDo(t, "POST", hs.Base+"/mcp", mcpHeaders("Host", "10.1.2.3:8765", "Authorization", "Bearer "+opsToken), rawInitialize); r.Status != 403 {
		t.Errorf("POST /mcp with a foreign Host: %d, want 403", r.Status)
	}
}

// /metrics needs the token and counts one foreground exec and one background session that exits.
func TestOpsMetrics(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{AuthToken: opsToken})
	if r := rawDo(t, "GET", hs.Base+"/metrics", nil, ""); r.Status != 401 {
		t.Errorf("GET /metrics without a token: %d, want 401", r.Status)
	}
	if r := rawDo(t, "GET", hs.Base+"/metrics", bearer("wrong-token-0123456789"), ""); r.Status != 401 {
		t.Errorf("GET /metrics with a wrong token: %d, want 401", r.Status)
	}
	before := scrape(t, hs, opsToken)
	if v, ok := metricValue(before, "execmcp_exec_total", "mode", "foreground"); !ok || v != 0 {
		t.Errorf("execmcp_exec_total{mode=foreground} before any call = %v, %v; want 0", v, ok)
	}

	c := hs.Connect(t, ClientOpts{Token: opsToken})
	wantText(t, c.Exec("echo hi"), "hi")
	id, _ := c.Background("printf 'a\\nb\\n'; echo err >&2")
	waitFinishedHTTP(t, c, id)

	mfs := scrape(t, hs, opsToken)
	checks := []struct {
		name   string
		labels []string
		want   func(float64) bool
		what   string
	}{
		{"execmcp_exec_total", []string{"mode", "foreground"}, eq(1), "1"},
		{"execmcp_exec_total", []string{"mode", "background"}, eq(1), "1"},
		{"execmcp_exec_total", []string{"mode", "sync"}, eq(0), "0"},
		{"execmcp_sessions_finished_total", []string{"status", "completed"}, eq(1), "1"},
		{"execmcp_sessions_finished_total", []string{"status", "failed"}, eq(0), "0"},
		{"execmcp_sessions_running", nil, eq(0), "0"},
		{"execmcp_tool_calls_total", []string{"tool", "exec", "result", "ok"}, atLeast(2), ">= 2"},
		{"execmcp_tool_calls_total", []string{"tool", "exec", "result", "error"}, eq(0), "0"},
		{"execmcp_tool_calls_total", []string{"tool", "process", "result", "ok"}, atLeast(1), ">= 1"},
		{"execmcp_exec_duration_seconds", nil, eq(2), "2 observations"},
		{"execmcp_output_bytes_total", []string{"stream", "stdout"}, eq(3 + 4), "7 (hi, a, b and newlines)"},
		{"execmcp_output_bytes_total", []string{"stream", "stderr"}, eq(4), "4"},
		{"execmcp_output_bytes_total", []string{"stream", "pty"}, eq(0), "0"},
		{"execmcp_output_dropped_chars_total", nil, eq(0), "0"},
		{"execmcp_notifications_total", []string{"kind", "exit"}, eq(1), "1"},
		{"execmcp_notifications_total", []string{"kind", "output"}, eq(0), "0"},
		{"execmcp_mcp_sessions", nil, eq(1), "1"},
		{"execmcp_tool_calls_in_flight", nil, eq(0), "0"},
	}
	for _, ck := range checks {
		v, ok := metricValue(mfs, ck.name, ck.labels...)
		if !ok || !ck.want(v) {
			t.Errorf("%s%v = %v (present %v), want %s", ck.name, ck.labels, v, ok, ck.what)
		}
	}
	version := strings.TrimPrefix(strings.TrimSpace(runVersion(t)), "execmcp ")
	if v, ok := metricValue(mfs, "execmcp_build_info", "version", version); !ok || v != 1 {
		t.Errorf("execmcp_build_info{version=%q} = %v (present %v), want 1", version, v, ok)
	}
	if _, ok := metricValue(mfs, "execmcp_notifications_total", "kind", "heartbeat"); !ok {
		t.Errorf("execmcp_notifications_total{kind=heartbeat} missing")
	}
	if mf := mfs["execmcp_exec_duration_seconds"]; mf == nil || mf.GetType() != dto.MetricType_HISTOGRAM ||
		len(mf.GetMetric()[0].GetHistogram().GetBucket()) < 10 {
		t.Errorf("execmcp_exec_duration_seconds is not a histogram with buckets: %v", mf)
	}
	// The standard collectors, and no label that names a session or an agent.
	for _, name := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "process_open_fds", "process_resident_memory_bytes"} {
		if mfs[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
	allowed := map[string]bool{"version": true, "mode": true, "status": true, "stream": true, "kind": true, "tool": true,
		"result": true, "le": true}
	for name, mf := range mfs {
		if !strings.HasPrefix(name, "execmcp_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if !allowed[lp.GetName()] {
					t.Errorf("%s has label %s=%q", name, lp.GetName(), lp.GetValue())
				}
			}
		}
	}
}

// waitFinishedHTTP waits for a background session to finish with a waiting poll (a process call).
func waitFinishedHTTP(t *testing.T, c *HClient, id string) {
	t.Helper()
	for range 3 {
		if r := c.Proc("poll", "sessionId", id, "timeout", 20000); r.Str("status") != "running" {
			return
		}
	}
	t.Fatalf("session %s still running after three 20 s polls", id)
}

// runVersion is the output of execmcp --version.
func runVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(binPath, "--version").Output()
	if err != nil {
		t.Fatalf("execmcp --version: %v", err)
	}
	return string(out)
}

func eq(want float64) func(float64) bool      { return func(v float64) bool { return v == want } }
func atLeast(want float64) func(float64) bool { return func(v float64) bool { return v >= want } }

// beginStop sends sig for a stop that the test watches; finishStop asserts exit status 0 within 10 s.
func (s *Server) beginStop(sig syscall.Signal) time.Time {
	s.t.Helper()
	if !s.markStopped() {
		s.t.Fatal("server already stopped")
	}
	s.snapshotDescendants()
	start := time.Now()
	s.Signal(sig)
	return start
}

// SIGTERM with a 3 s exec in flight: readiness turns 503 during the drain, a new initialize gets 503, the call
// completes with its output, then the server exits 0 and leaves no process (the harness checks).
func TestOpsGracefulStop(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{AuthToken: opsToken})
	c := hs.Connect(t, ClientOpts{Token: opsToken})
	c.Background("sleep 60") // a background session does not hold the drain up
	type callResult struct {
		r   *Result
		err error
	}
	done := make(chan callResult, 1)
	go func() {
		r, err := c.CallCtx(context.Background(), "exec", map[string]any{"command": "sleep 3; echo finished", "yieldMs": 60000})
		done <- callResult{r, err}
	}()
	if !waitFor(10*time.Second, func() bool {
		v, _ := metricValue(scrape(t, hs, opsToken), "execmcp_tool_calls_in_flight")
		return v == 1
	}) {
		t.Fatal("the exec call is not in flight after 10 s")
	}
	start := hs.beginStop(syscall.SIGTERM)

	var ready rawResponse
	if !waitFor(2*time.Second, func() bool {
		ready = rawDo(t, "GET", hs.Base+"/readyz", nil, "")
		return ready.Status == 503
	}) {
		t.Fatalf("/readyz after SIGTERM: %d %q, want 503", ready.Status, ready.Body)
	}
	if ready.Body != "draining" {
		t.Errorf("/readyz body %q while draining, want %q", ready.Body, "draining")
	}
	if r := rawDo(t, "GET", hs.Base+"/healthz", nil, ""); r.Status != 200 {
		t.Errorf("/healthz while draining: %d, want 200", r.Status)
	}
	r := rawDo(t, "POST", hs.Base+"/mcp", mcpHeaders("Authorization", "Bearer "+opsToken), rawInitialize)
	if r.Status != 503 {
		t.Errorf("initialize while draining: %d %q, want 503", r.Status, r.Body)
	}
	var rpcErr struct {
		ID    int `json:"id"`
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Body), &rpcErr); err != nil || rpcErr.ID != 1 || rpcErr.Error.Code != -32000 {
		t.Errorf("initialize while draining: body %q, want a JSON-RPC error for id 1", r.Body)
	}
	// Requests of the existing session are still served.
	if l := c.Proc("list"); l.IsError || !strings.Contains(l.Text, "sleep 60") {
		t.Errorf("process list while draining: %s", l)
	}

	select {
	case res := <-done:
		if res.err != nil {
			t.Fatalf("the exec call in flight failed: %v", res.err)
		}
		wantText(t, res.r, "finished")
		wantStatus(t, res.r, "completed")
	case <-time.After(20 * time.Second):
		t.Fatal("the exec call in flight did not complete within 20 s of SIGTERM")
	}
	hs.awaitExit(start, "SIGTERM during a drain")
	if el := time.Since(start); el < 2*time.Second {
		t.Errorf("the server exited %v after SIGTERM, before the 3 s call could finish", el)
	}
}

// A second signal skips the drain; EXECMCP_DRAIN_TIMEOUT bounds it. Both end with the shutdown proper and
// status 0, the call in flight cut short.
func TestOpsDrainBounds(t *testing.T) {
	par(t)
	for _, tc := range []struct {
		name    string
		env     []string
		second  bool
		atLeast time.Duration
	}{
		{"second signal", nil, true, 0},
		{"timeout", []string{"EXECMCP_DRAIN_TIMEOUT=1"}, false, time.Second},
		{"no drain", []string{"EXECMCP_DRAIN_TIMEOUT=0"}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := StartHTTPServer(t, HTTPOptions{Env: tc.env})
			c := hs.Connect(t, ClientOpts{})
			done := make(chan error, 1)
			go func() {
				_, err := c.CallCtx(context.Background(), "exec", map[string]any{"command": "sleep 60", "yieldMs": 60000})
				done <- err
			}()
			if !waitFor(10*time.Second, func() bool {
				v, _ := metricValue(scrape(t, hs, ""), "execmcp_tool_calls_in_flight")
				return v == 1
			}) {
				t.Fatal("the exec call is not in flight after 10 s")
			}
			start := hs.beginStop(syscall.SIGTERM)
			if tc.second {
				if !waitFor(2*time.Second, func() bool { return rawDo(t, "GET", hs.Base+"/readyz", nil, "").Status == 503 }) {
					t.Fatal("no drain after the first SIGTERM")
				}
				hs.Signal(syscall.SIGTERM)
			}
			hs.awaitExit(start, "SIGTERM")
			el := time.Since(start)
			if el < tc.atLeast || el > 8*time.Second {
				t.Errorf("exit %v after SIGTERM, want between %v and 8 s", el.Round(time.Millisecond), tc.atLeast)
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("the call in flight did not end within 10 s of the exit")
			}
		})
	}
}

// EXECMCP_LOG_FORMAT=json: every line on stderr is a JSON object with time, level and msg, over a run that logs
// at every level the server uses (debug on), and for startup errors.
func TestOpsJSONLogs(t *testing.T) {
	par(t)
	s := StartServer(t, Options{Raw: true, Args: []string{"--listen", "127.0.0.1:0"},
		Env: []string{"EXECMCP_LOG_FORMAT=json", "EXECMCP_LOG_LEVEL=debug", "EXECMCP_AUTH_TOKEN=short",
			"EXECMCP_STATS_INTERVAL_MS=1000", "PI_BASH_YIELD_MS=1"}}) // a clamp warning, an auth warning
	var addr string
	if !waitFor(20*time.Second, func() bool {
		for _, line := range strings.Split(s.Stderr(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				addr = rec.Addr
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no JSON listening line within 20 s:\n%s", s.Stderr())
	}
	hs := &HTTPServer{Server: s, Addr: addr, Base: "http://" + addr}
	rawDo(t, "GET", hs.Base+"/metrics", nil, "") // unauthorized: a warning
	c := hs.Connect(t, ClientOpts{Token: "short"})
	c.Exec("echo hi")
	id, _ := c.Background("echo bye")
	waitFinishedHTTP(t, c, id)
	waitFor(3*time.Second, func() bool { return strings.Contains(s.Stderr(), `"msg":"stats"`) })
	s.Stop(syscall.SIGTERM)
	checkJSONLines(t, s.Stderr(), []string{"listening", "setting clamped", "unauthorized request", "session started", "stats"})

	// Startup errors are JSON records too.
	bad := StartServer(t, Options{Raw: true, Env: []string{"EXECMCP_LOG_FORMAT=json", "PI_BASH_YIELD_MS=soon",
		"EXECMCP_SECURITY=paranoid"}})
	if !bad.WaitExit(10*time.Second) || bad.ExitCode() != 1 {
		t.Fatalf("invalid settings: exit %d, want 1", bad.ExitCode())
	}
	bad.markStopped()
	waitFor(5*time.Second, func() bool { return strings.Contains(bad.Stderr(), "paranoid") }) // stderr is copied apart
	checkJSONLines(t, bad.Stderr(), []string{`invalid value for PI_BASH_YIELD_MS: "soon" is not an integer`,
		`invalid value for EXECMCP_SECURITY: "paranoid" is not one of full, allowlist, deny`})
}

// checkJSONLines asserts that every line of stderr is a JSON object with time, level and msg, and that the
// messages include want.
func checkJSONLines(t *testing.T, stderr string, want []string) {
	t.Helper()
	msgs := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	timeRe := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`)
	n := 0
	for sc.Scan() {
		n++
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Errorf("stderr line %d is not JSON: %q", n, sc.Text())
			continue
		}
		tm, _ := rec["time"].(string)
		level, _ := rec["level"].(string)
		msg, _ := rec["msg"].(string)
		if !timeRe.MatchString(tm) || level == "" || msg == "" {
			t.Errorf("stderr line %d lacks time, level or msg: %q", n, sc.Text())
		}
		msgs[msg] = true
	}
	for _, w := range want {
		if !msgs[w] {
			t.Errorf("no JSON record with msg %q in stderr:\n%s", w, stderr)
		}
	}
}
