package integration_test

// The HTTP front end through the real binary: Streamable HTTP and SSE (docs/reference.md#http), bearer tokens and
// the Host and Origin checks (docs/reference.md#http-auth), client scopes and orphan cleanup (docs/reference.md#scope,
// docs/reference.md#disconnect), exit notifications, heartbeats and resource updates over HTTP
// (docs/reference.md#exit-notifications, docs/reference.md#resources), protocol pinning, shutdown, progress and
// cancellation, and a load test. Every server is started with --listen 127.0.0.1:0 (or EXECMCP_LISTEN) through the
// harness, so that its leak checks run at the end of each test.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	sharedToken = "s3cret-token-0001"
	tokenAlpha  = "alpha-token-0123456789"
	tokenBeta   = "beta-token-0123456789a"
)

func tokensFile(pairs ...string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// checkLiveExit runs a foreground exec, a background exec and a poll on c and checks that the exit notification
// arrives on stream within 1 s of the exit, exactly once.
func checkLiveExit(t *testing.T, hs *HTTPServer, c *HClient, stream, tsName string) {
	t.Helper()
	r := c.Exec(`echo hi`)
	wantText(t, r, "hi")
	wantStatus(t, r, "completed")

	id, _ := c.Background(`echo first; sleep 0.5; echo live; date +%s%N > ` + tsName)
	r = c.Proc("poll", "sessionId", id, "timeout", 3000, "until", "^first$")
	if r.IsError || r.Str("status") != "running" || !strings.HasPrefix(r.Text, "first") {
		t.Errorf("poll of the running session = %s, want running with output first", r)
	}
	msgs := c.WaitExitMessages(id, 1, 5*time.Second)
	if len(msgs) == 0 {
		t.Fatalf("no notifications/message for %s within 5 s; messages %v", id, c.Messages())
	}
	m := msgs[0]
	if want := "Exec completed (" + id8(id) + ", code 0) :: first live"; m.Text() != want {
		t.Errorf("exit message text = %q, want %q", m.Text(), want)
	}
	if m.Level != "info" || m.Logger != "exec" || m.Data["event"] != "exec.exit" || m.Data["status"] != "completed" {
		t.Errorf("exit message = level %q logger %q data %v", m.Level, m.Logger, m.Data)
	}
	if m.Stream != stream {
		t.Errorf("exit message arrived on %q, want %q", m.Stream, stream)
	}
	if ts, ok := readNanoFile(t, filepath.Join(hs.Dir, tsName), 5*time.Second); !ok {
		t.Errorf("%s was not written", tsName)
	} else if lat := m.At.Sub(ts); lat > time.Second {
		t.Errorf("exit message arrived %v after the exit, want within 1 s", lat.Round(time.Millisecond))
	} else {
		t.Logf("exit message latency over %s: %v", stream, lat.Round(100*time.Microsecond))
	}
	r = c.Proc("poll", "sessionId", id)
	wantStatus(t, r, "completed")
	if r.Text != "live\n\nProcess exited with code 0." {
		t.Errorf("final poll text = %q, want %q", r.Text, "live\n\nProcess exited with code 0.")
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(c.ExitMessages(id)); n != 1 {
		t.Errorf("%d exit messages for %s, want exactly 1", n, id)
	}
}

// Streamable HTTP with --listen and with EXECMCP_LISTEN: calls, the live exit notification on the GET stream, and
// 404 for a deleted session (docs/reference.md#http).
func TestI70StreamableHTTP(t *testing.T) {
	par(t)
	for _, via := range []string{"--listen", "EXECMCP_LISTEN"} {
		t.Run(via, func(t *testing.T) {
			hs := StartHTTPServer(t, HTTPOptions{ViaEnv: via == "EXECMCP_LISTEN"})
			c := hs.Connect(t, ClientOpts{})
			old := c.SessionID()
			if !strings.HasPrefix(old, "mcp-session-") {
				t.Errorf("Mcp-Session-Id = %q, want mcp-session-<uuid>", old)
			}
			if v := c.Sess.InitializeResult().ProtocolVersion; v != legacyProtocol {
				t.Errorf("protocol version %q, want %s", v, legacyProtocol)
			}
			checkLiveExit(t, hs, c, "GET /mcp", "ts70")

			c.Close() // DELETE
			var deletes []hexchange
			for _, e := range c.Tap.Exchanges() {
				if e.Method == "DELETE" {
					deletes = append(deletes, e)
				}
			}
			if len(deletes) != 1 || deletes[0].Status/100 != 2 {
				t.Errorf("DELETE exchanges %+v, want one 2xx", deletes)
			}
			resp := rawDo(t, "POST", hs.Base+"/mcp", mcpHeaders("Mcp-Session-Id", old, "Mcp-Protocol-Version", legacyProtocol),
				`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
			if resp.Status != http.StatusNotFound {
				t.Errorf("POST with the deleted session id: HTTP %d %q, want 404", resp.Status, resp.Body)
			}
			// Unknown paths are 404.
			if resp := rawDo(t, "GET", hs.Base+"/nope", nil, ""); resp.Status != http.StatusNotFound {
				t.Errorf("GET /nope: HTTP %d, want 404", resp.Status)
			}
		})
	}
}

// Unknown or expired session ids get 404 (docs/reference.md#http), also on the standing GET: a GET /mcp with a
// deleted or never-issued session id must not open a stream.
func TestI70StaleSessionGET(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{})
	c := hs.Connect(t, ClientOpts{})
	old := c.SessionID()
	c.Close()
	for _, id := range []string{old, "mcp-session-00000000-0000-0000-0000-000000000000"} {
		resp := rawDo(t, "GET", hs.Base+"/mcp", http.Header{"Accept": {"text/event-stream"}, "Mcp-Session-Id": {id},
			"Mcp-Protocol-Version": {legacyProtocol}}, "")
		if resp.Status != http.StatusNotFound {
			t.Errorf("GET /mcp with the unknown session id %s: HTTP %d (%s) %q, want 404", id, resp.Status,
				resp.Header.Get("Content-Type"), resp.Body)
		}
	}
}

// SSE at /sse + /message: calls and the live exit notification (docs/reference.md#http).
func TestI71SSE(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{})
	c := hs.Connect(t, ClientOpts{SSE: true})
	if c.SessionID() == "" {
		t.Errorf("no sessionId in the SSE endpoint event")
	}
	c.Tap.mu.Lock()
	ep := c.Tap.endpoint
	c.Tap.mu.Unlock()
	if !regexp.MustCompile(`^/message\?sessionId=[0-9a-f-]{36}$`).MatchString(ep) {
		t.Errorf("endpoint event data = %q, want /message?sessionId=<uuid>", ep)
	}
	checkLiveExit(t, hs, c, "GET /sse", "ts71")
}

// HTTP security: no non-loopback listen without tokens, bearer tokens on /mcp and /sse, and the Host and Origin
// checks on loopback (docs/reference.md#http-auth).
func TestI72HTTPSecurity(t *testing.T) {
	par(t)
	t.Run("non-loopback-without-token", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			env  string
			addr string
		}{
			{args: []string{"--listen", "0.0.0.0:0"}, addr: "0.0.0.0:0"},
			{env: "EXECMCP_LISTEN=:0", addr: ":0"},
		} {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cmd := exec.CommandContext(ctx, binPath, c.args...)
			cmd.Dir = dir
			cmd.Env = baseEnv(dir, false)
			if c.env != "" {
				cmd.Env = append(cmd.Env, c.env)
			}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			err := cmd.Run()
			cancel()
			var ee *exec.ExitError
			code := 0
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("running execmcp %v: %v", c.args, err)
			}
			want := "execmcp: refusing to listen on " + c.addr + " without authentication: set EXECMCP_AUTH_TOKEN or EXECMCP_AUTH_TOKENS_FILE"
			if code != 1 {
				t.Errorf("%v %s: exit status %d, want 1 (stderr %q)", c.args, c.env, code, stderr.String())
			}
			if !strings.Contains("\n"+stderr.String(), "\n"+want+"\n") {
				t.Errorf("%v %s: stderr %q lacks the line %q", c.args, c.env, stderr.String(), want)
			}
			if stdout.Len() != 0 {
				t.Errorf("%v %s: stdout %q, want empty", c.args, c.env, stdout.String())
			}
		}
	})

	t.Run("token", func(t *testing.T) {
		hs := StartHTTPServer(t, HTTPOptions{AuthToken: sharedToken})
		check401 := func(what string, resp rawResponse) {
			t.Helper()
			if resp.Status != http.StatusUnauthorized {
				t.Errorf("%s: HTTP %d %q, want 401", what, resp.Status, resp.Body)
				return
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="execmcp"` {
				t.Errorf("%s: WWW-Authenticate %q, want %q", what, got, `Bearer realm="execmcp"`)
			}
			if resp.Body != "unauthorized\n" {
				t.Errorf("%s: body %q, want %q", what, resp.Body, "unauthorized\n")
			}
		}
		for _, auth := range []string{"", "Bearer wrong-token-000000", "Basic " + sharedToken, "Bearer"} {
			h := mcpHeaders()
			if auth != "" {
				h.Set("Authorization", auth)
			}
			check401(fmt.Sprintf("POST /mcp with Authorization %q", auth), rawDo(t, "POST", hs.Base+"/mcp", h, rawInitialize))
			sh := http.Header{"Accept": {"text/event-stream"}}
			if auth != "" {
				sh.Set("Authorization", auth)
			}
			check401(fmt.Sprintf("GET /sse with Authorization %q", auth), rawDo(t, "GET", hs.Base+"/sse", sh, ""))
			mh := http.Header{"Content-Type": {"application/json"}}
			if auth != "" {
				mh.Set("Authorization", auth)
			}
			check401(fmt.Sprintf("POST /message with Authorization %q", auth),
				rawDo(t, "POST", hs.Base+"/message?sessionId=00000000-0000-0000-0000-000000000000", mh, `{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		}
		// The scheme is case-insensitive.
		if resp := rawDo(t, "POST", hs.Base+"/mcp", mcpHeaders("Authorization", "bearer "+sharedToken), rawInitialize); resp.Status != http.StatusOK ||
			resp.Header.Get("Mcp-Session-Id") == "" {
			t.Errorf("POST /mcp initialize with scheme bearer: HTTP %d %q (session %q), want 200 with a session", resp.Status, resp.Body, resp.Header.Get("Mcp-Session-Id"))
		}
		if resp := rawDo(t, "GET", hs.Base+"/sse", http.Header{"Accept": {"text/event-stream"}, "Authorization": {"Bearer " + sharedToken}}, ""); resp.Status != http.StatusOK ||
			!strings.Contains(resp.Body, "event: endpoint") {
			t.Errorf("GET /sse with the token: HTTP %d %q, want 200 with the endpoint event", resp.Status, resp.Body)
		}
		// SDK clients without, with a wrong and with the right token.
		for _, o := range []ClientOpts{{}, {Token: "wrong-token-000000"}, {SSE: true}, {SSE: true, Token: "wrong-token-000000"}} {
			if c, err := hs.Dial(t, o); err == nil {
				t.Errorf("connecting with %+v succeeded (session %q), want an error", o, c.SessionID())
			}
		}
		for _, o := range []ClientOpts{{Token: sharedToken}, {Token: sharedToken, SSE: true}} {
			c := hs.Connect(t, o)
			r := c.Exec(`echo authorized`)
			wantText(t, r, "authorized")
		}
		if !strings.Contains(hs.Stderr(), `msg="unauthorized request"`) {
			t.Errorf("no unauthorized-request warning on stderr")
		}
		if strings.Contains(hs.Stderr(), sharedToken) {
			t.Errorf("the token appears on stderr")
		}
	})

	t.Run("dns-rebinding", func(t *testing.T) {
		hs := StartHTTPServer(t, HTTPOptions{})
		resp := rawDo(t, "POST", hs.Base+"/mcp", mcpHeaders("Host", "evil.example"), rawInitialize)
		if resp.Status != http.StatusForbidden {
			t.Errorf("POST /mcp with Host evil.example: HTTP %d %q, want 403", resp.Status, resp.Body)
		}
		resp = rawDo(t, "GET", hs.Base+"/sse", http.Header{"Accept": {"text/event-stream"}, "Host": {"evil.example"}}, "")
		if resp.Status != http.StatusForbidden {
			t.Errorf("GET /sse with Host evil.example: HTTP %d %q, want 403", resp.Status, resp.Body)
		}
		resp = rawDo(t, "POST", hs.Base+"/mcp", mcpHeaders("Origin", "http://evil.example"), rawInitialize)
		if want := "Forbidden: invalid Origin header \"http://evil.example\"\n"; resp.Status != http.StatusForbidden || resp.Body != want {
			t.Errorf("POST /mcp with Origin http://evil.example: HTTP %d %q, want 403 %q", resp.Status, resp.Body, want)
		}
		resp = rawDo(t, "GET", hs.Base+"/sse", http.Header{"Accept": {"text/event-stream"}, "Origin": {"http://evil.example"}}, "")
		if resp.Status != http.StatusForbidden {
			t.Errorf("GET /sse with Origin http://evil.example: HTTP %d %q, want 403", resp.Status, resp.Body)
		}
		resp = rawDo(t, "POST", hs.Base+"/mcp", mcpHeaders("Origin", "http://localhost:6274"), rawInitialize)
		if resp.Status != http.StatusOK || resp.Header.Get("Mcp-Session-Id") == "" || !strings.Contains(resp.Body, `"serverInfo"`) {
			t.Errorf("POST /mcp initialize with Origin http://localhost:6274: HTTP %d %q, want 200 with a session", resp.Status, resp.Body)
		}
		// A whole session with that Origin (as MCP Inspector's proxy sends it).
		c := hs.Connect(t, ClientOpts{Header: http.Header{"Origin": {"http://localhost:6274"}}})
		wantText(t, c.Exec(`echo from-inspector-origin`), "from-inspector-origin")
		id, _ := c.Background(`sleep 0.2; echo x`)
		if msgs := c.WaitExitMessages(id, 1, 5*time.Second); len(msgs) != 1 {
			t.Errorf("%d exit messages with Origin http://localhost:6274, want 1", len(msgs))
		}
	})
}

// Two HTTP clients are isolated for every action and for resource reads (docs/reference.md#scope).
func TestE42TwoClientsIsolated(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{})
	a := hs.Connect(t, ClientOpts{})
	b := hs.Connect(t, ClientOpts{})
	if a.SessionID() == b.SessionID() {
		t.Fatalf("both clients have MCP session %q", a.SessionID())
	}
	id, _ := a.Background(`sleep 30`)
	done, _ := a.Background(`echo done-output`)
	waitFor(10*time.Second, func() bool { e, _ := a.ListEntry(done); return e != nil && e["status"] != "running" })

	if e, r := a.ListEntry(id); e == nil {
		t.Errorf("A's list lacks its session %s: %s", id, r)
	}
	rb := b.Proc("list")
	wantText(t, rb, noSessionsText)
	if s, _ := rb.SC["sessions"].([]any); len(s) != 0 {
		t.Errorf("B's list sessions = %v, want []", rb.SC["sessions"])
	}

	none := "No session found for "
	active := "No active session found for "
	finished := "No finished session found for "
	cases := []struct {
		action string
		args   []any
		want   string
	}{
		{"poll", nil, none},
		{"poll", []any{"timeout", 2000}, none},
		{"log", nil, none},
		{"write", []any{"data", "x\n"}, active},
		{"send-keys", []any{"keys", []any{"Enter"}}, active},
		{"submit", nil, active},
		{"paste", []any{"text", "pasted"}, active},
		{"kill", nil, active},
		{"clear", nil, finished},
		{"remove", nil, none},
	}
	for _, target := range []struct{ what, id string }{{"running", id}, {"finished", done}, {"unknown", "quiet-nothing"}} {
		for _, c := range cases { // foreign running, foreign finished and unknown ids: the same texts
			r := b.Proc(c.action, append([]any{"sessionId", target.id}, c.args...)...)
			wantProcError(t, r, c.want+target.id)
			if c.action == "poll" && r.Elapsed > time.Second {
				t.Errorf("B's poll with timeout of a %s foreign id took %v, want an immediate answer", target.what, r.Elapsed)
			}
		}
	}
	// A's session is untouched.
	r := a.Proc("poll", "sessionId", id)
	if r.IsError || r.Str("status") != "running" {
		t.Errorf("A's poll after B's attempts = %s, want running", r)
	}
	r = a.Proc("log", "sessionId", done)
	wantText(t, r, "done-output")

	// Resources: B's reads of A's ids are the not-found error, the same as for an unknown id.
	_, errUnknown := b.ReadResource("exec://sessions/quiet-nothing")
	if errUnknown == nil {
		t.Errorf("reading an unknown session resource succeeded")
	}
	for _, uri := range []string{"exec://sessions/" + id, "exec://sessions/" + id + "/log", "exec://sessions/" + done, "exec://sessions/" + done + "/log"} {
		res, err := b.ReadResource(uri)
		if err == nil {
			t.Errorf("B read %s: %v, want resource-not-found", uri, res.Contents)
		} else if errUnknown != nil && strings.ReplaceAll(err.Error(), uri, "<uri>") !=
			strings.ReplaceAll(errUnknown.Error(), "exec://sessions/quiet-nothing", "<uri>") {
			t.Errorf("B's read of %s failed with %q, unlike an unknown id (%q)", uri, err, errUnknown)
		}
		if _, err := a.ReadResource(uri); err != nil {
			t.Errorf("A's read of %s: %v", uri, err)
		}
	}
	r = a.Proc("kill", "sessionId", id)
	wantStatus(t, r, "completed")
}

// An agent scope survives DELETE and reconnects; another agent does not see it (docs/reference.md#scope).
func TestE43AgentScopeSurvivesReconnect(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{Tokens: tokensFile(tokenAlpha, "alpha", tokenBeta, "beta")})
	a1 := hs.Connect(t, ClientOpts{Token: tokenAlpha})
	id, _ := a1.Background(`sleep 30`)
	first := a1.SessionID()
	a1.Close()

	a2 := hs.Connect(t, ClientOpts{Token: tokenAlpha})
	if a2.SessionID() == first {
		t.Errorf("the reconnected client got the old MCP session id %q", first)
	}
	if e, r := a2.ListEntry(id); e == nil || e["status"] != "running" {
		t.Errorf("the reconnected alpha client's list lacks running %s: %s", id, r)
	}
	r := a2.Proc("poll", "sessionId", id)
	if r.IsError || r.Str("status") != "running" {
		t.Errorf("alpha poll after reconnect = %s, want running", r)
	}
	b := hs.Connect(t, ClientOpts{Token: tokenBeta})
	wantText(t, b.Proc("list"), noSessionsText)
	wantProcError(t, b.Proc("poll", "sessionId", id), "No session found for "+id)
	wantProcError(t, b.Proc("kill", "sessionId", id), "No active session found for "+id)

	// The heartbeat names the agent scope.
	id2, _ := a2.Background(`echo hb`)
	hb := a2.WaitNotes("notifications/heartbeat", 1, 5*time.Second, nil)
	if len(hb) == 0 {
		t.Errorf("no heartbeat after %s exited", id2)
	} else {
		var p map[string]any
		if json.Unmarshal(hb[0].Params, &p) != nil || p["reason"] != "exec-event" || p["scope"] != "agent:alpha" {
			t.Errorf("heartbeat params %s, want {reason: exec-event, scope: agent:alpha}", hb[0].Params)
		}
	}
	wantStatus(t, a2.Proc("kill", "sessionId", id), "completed")
	if n := len(b.Notes("notifications/heartbeat")) + len(b.Notes("notifications/message")); n != 0 {
		t.Errorf("the beta client received %d notifications of alpha's sessions", n)
	}
}

// Orphan cleanup after DELETE (session scope); an agent scope keeps running (docs/reference.md#disconnect).
func TestE44OrphanCleanup(t *testing.T) {
	par(t)
	t.Run("session-scope", func(t *testing.T) {
		hs := StartHTTPServer(t, HTTPOptions{Env: []string{"EXECMCP_ORPHAN_GRACE=1s"}})
		c := hs.Connect(t, ClientOpts{})
		scope := c.SessionID()
		c.Background(`echo $$ > pgid; sleep 60`)
		pg := hs.ReadPgid(hs.Dir, "pgid")
		start := time.Now()
		c.Close()
		if time.Since(start) < 500*time.Millisecond && pgGone(pg) {
			t.Errorf("group %d was gone right after DELETE, before the 1 s grace", pg)
		}
		if !waitFor(6*time.Second, func() bool { return pgGone(pg) }) {
			t.Errorf("group %d still alive 6 s after DELETE: %v", pg, groupMembers(pg))
		} else {
			t.Logf("orphaned group gone %v after DELETE", time.Since(start).Round(time.Millisecond))
		}
		if !waitFor(2*time.Second, func() bool {
			return strings.Contains(hs.Stderr(), `msg="orphan cleanup" scope=`+scope+` killed=1`)
		}) {
			t.Errorf("no orphan cleanup log line for scope %s with killed=1", scope)
		}
		// A new client does not see the old scope's records.
		c2 := hs.Connect(t, ClientOpts{})
		wantText(t, c2.Proc("list"), noSessionsText)
	})
	t.Run("sse-stream-closed", func(t *testing.T) {
		hs := StartHTTPServer(t, HTTPOptions{Env: []string{"EXECMCP_ORPHAN_GRACE=1s"}})
		c := hs.Connect(t, ClientOpts{SSE: true})
		c.Background(`echo $$ > pgid; sleep 60`)
		pg := hs.ReadPgid(hs.Dir, "pgid")
		start := time.Now()
		c.Close()
		if !waitFor(6*time.Second, func() bool { return pgGone(pg) }) {
			t.Errorf("group %d still alive 6 s after the SSE stream closed: %v", pg, groupMembers(pg))
		} else {
			t.Logf("orphaned group gone %v after the SSE stream closed", time.Since(start).Round(time.Millisecond))
		}
	})
	t.Run("agent-scope", func(t *testing.T) {
		hs := StartHTTPServer(t, HTTPOptions{Env: []string{"EXECMCP_ORPHAN_GRACE=1s"}, Tokens: tokensFile(tokenAlpha, "alpha")})
		c := hs.Connect(t, ClientOpts{Token: tokenAlpha})
		id, _ := c.Background(`echo $$ > pgid; sleep 60`)
		pg := hs.ReadPgid(hs.Dir, "pgid")
		c.Close()
		time.Sleep(3 * time.Second)
		if pgGone(pg) {
			t.Errorf("the agent scope's group %d was killed after DELETE", pg)
		}
		c2 := hs.Connect(t, ClientOpts{Token: tokenAlpha})
		if e, r := c2.ListEntry(id); e == nil || e["status"] != "running" {
			t.Errorf("the reconnected agent does not see running %s: %s", id, r)
		}
		wantStatus(t, c2.Proc("kill", "sessionId", id), "completed")
		if !waitFor(6*time.Second, func() bool { return pgGone(pg) }) {
			t.Errorf("group %d survived kill: %v", pg, groupMembers(pg))
		}
		if strings.Contains(hs.Stderr(), `msg="orphan cleanup"`) {
			t.Errorf("an agent scope was orphan-cleaned")
		}
	})
}

// Heartbeats are targeted: three exits give client A three notifications/message and one or two heartbeats with
// A's scope, client B in another scope gets none (docs/reference.md#exit-notifications).
func TestF49HTTPHeartbeatTargeting(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{})
	a := hs.Connect(t, ClientOpts{})
	b := hs.Connect(t, ClientOpts{})
	ids := make([]string, 3)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := a.CallCtx(context.Background(), "exec", map[string]any{"command": "sleep 0.2; echo x", "background": true})
			if err != nil || r.Str("status") != "running" {
				t.Errorf("background exec: %v %v", r, err)
				return
			}
			ids[i] = r.Str("sessionId")
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id == "" {
			t.FailNow()
		}
		if msgs := a.WaitExitMessages(id, 1, 5*time.Second); len(msgs) != 1 {
			t.Errorf("%d exit messages for %s at A, want 1", len(msgs), id)
		} else if msgs[0].Stream != "GET /mcp" {
			t.Errorf("exit message of %s arrived on %q, want the GET stream", id, msgs[0].Stream)
		}
	}
	time.Sleep(time.Second)
	if n := len(a.ExitMessages("")); n != 3 {
		t.Errorf("A received %d notifications/message, want exactly 3", n)
	}
	hb := a.Notes("notifications/heartbeat")
	if len(hb) < 1 || len(hb) > 2 {
		t.Errorf("A received %d heartbeats, want one or two", len(hb))
	}
	for _, m := range hb {
		var p map[string]any
		if json.Unmarshal(m.Params, &p) != nil || p["reason"] != "exec-event" || p["scope"] != a.SessionID() {
			t.Errorf("heartbeat params = %s, want {reason: exec-event, scope: %s}", m.Params, a.SessionID())
		}
		if m.Stream != "GET /mcp" {
			t.Errorf("heartbeat arrived on %q, want the GET stream", m.Stream)
		}
	}
	if n := len(b.Notes("notifications/message")); n != 0 {
		t.Errorf("B received %d notifications/message, want none", n)
	}
	if n := len(b.Notes("notifications/heartbeat")); n != 0 {
		t.Errorf("B received %d heartbeats, want none", n)
	}
}

// Resource updates and reads: a subscribed client gets one notifications/resources/updated at exit, an unsubscribed
// one none, and the session resource and its log read back (docs/reference.md#resources).
func TestF50ResourceUpdates(t *testing.T) {
	par(t)
	const tokenRes = "res-token-0123456789ab"
	hs := StartHTTPServer(t, HTTPOptions{AuthToken: sharedToken, Tokens: tokensFile(tokenRes, "res")})
	a := hs.Connect(t, ClientOpts{Token: tokenRes})    // subscriber
	b := hs.Connect(t, ClientOpts{Token: tokenRes})    // same scope, not subscribed
	c := hs.Connect(t, ClientOpts{Token: sharedToken}) // another scope, subscribed to the same URI
	id, _ := a.Background(`sleep 1.5; echo res-out`)
	uri := "exec://sessions/" + id
	a.Subscribe(uri)
	c.Subscribe(uri)

	isUpdate := func(u string) func(hmsg) bool {
		return func(m hmsg) bool {
			var p struct {
				URI string `json:"uri"`
			}
			return json.Unmarshal(m.Params, &p) == nil && p.URI == u
		}
	}
	got := a.WaitNotes("notifications/resources/updated", 1, 5*time.Second, isUpdate(uri))
	if len(got) == 0 {
		t.Fatalf("no notifications/resources/updated for %s within 5 s", uri)
	}
	time.Sleep(time.Second)
	if got := a.WaitNotes("notifications/resources/updated", 0, 0, isUpdate(uri)); len(got) != 1 {
		t.Errorf("the subscriber received %d updates of %s, want exactly 1", len(got), uri)
	}
	if got := a.WaitNotes("notifications/resources/updated", 0, 0, nil); len(got) != 1 {
		t.Errorf("the subscriber received %d resources/updated in all (want 1: not subscribed to /log): %v", len(got), got)
	}
	if n := len(b.Notes("notifications/resources/updated")); n != 0 {
		t.Errorf("the unsubscribed client of the same scope received %d updates", n)
	}
	if n := len(c.Notes("notifications/resources/updated")); n != 0 {
		t.Errorf("a subscriber in another scope received %d updates", n)
	}
	if n := len(b.ExitMessages(id)); n != 1 {
		t.Errorf("the second client of the scope received %d exit messages, want 1", n)
	}

	res, err := a.ReadResource(uri)
	if err != nil || len(res.Contents) != 1 {
		t.Fatalf("read %s: %v %v", uri, res, err)
	}
	rc := res.Contents[0]
	var sum map[string]any
	if rc.URI != uri || rc.MIMEType != "application/json" || json.Unmarshal([]byte(rc.Text), &sum) != nil {
		t.Errorf("summary contents = uri %q mime %q text %q", rc.URI, rc.MIMEType, rc.Text)
	}
	if sum["sessionId"] != id || sum["status"] != "completed" || sum["exitCode"] != float64(0) || sum["exitReason"] != "exit" {
		t.Errorf("summary = %v, want sessionId %s, status completed, exitCode 0, exitReason exit", sum, id)
	}
	res, err = a.ReadResource(uri + "/log")
	if err != nil || len(res.Contents) != 1 {
		t.Fatalf("read %s/log: %v %v", uri, res, err)
	}
	if lc := res.Contents[0]; lc.URI != uri+"/log" || lc.MIMEType != "text/plain" || strings.TrimRight(lc.Text, "\n") != "res-out" {
		t.Errorf("log contents = uri %q mime %q text %q, want text/plain res-out", lc.URI, lc.MIMEType, lc.Text)
	}
	if _, err := c.ReadResource(uri); err == nil {
		t.Errorf("a client of another scope read %s", uri)
	}
	// Reading never acknowledges: the poll still shows the result.
	r := b.Proc("poll", "sessionId", id)
	wantStatus(t, r, "completed")
}

// Over Streamable HTTP, a client offering the SDK's default (modern) version ends on a legacy one with a session and
// receives the exit notification (docs/reference.md#http).
func TestI68HTTPModernClientPinned(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{})
	c := hs.Connect(t, ClientOpts{Protocol: "latest"})
	v := c.Sess.InitializeResult().ProtocolVersion
	if v == "" || v >= "2026-07-28" {
		t.Errorf("negotiated protocol %q, want a legacy version (<= 2025-11-25)", v)
	}
	if !strings.HasPrefix(c.SessionID(), "mcp-session-") {
		t.Errorf("no MCP session id (%q)", c.SessionID())
	}
	id, _ := c.Background(`sleep 0.5; echo notify`)
	msgs := c.WaitExitMessages(id, 1, 5*time.Second)
	if len(msgs) == 0 {
		t.Fatalf("no exit message for %s within 5 s", id)
	}
	if want := "Exec completed (" + id8(id) + ", code 0) :: notify"; msgs[0].Text() != want || msgs[0].Stream != "GET /mcp" {
		t.Errorf("exit message %q on %q, want %q on the GET stream", msgs[0].Text(), msgs[0].Stream, want)
	}
	time.Sleep(2 * time.Second)
	if n := len(c.ExitMessages(id)); n != 1 {
		t.Errorf("%d exit messages, want 1", n)
	}
}

// An HTTP server shuts down on SIGTERM and SIGINT within 10 s with status 0 and no surviving group
// (docs/reference.md#shutdown). Without a drain (EXECMCP_DRAIN_TIMEOUT=0) a call in flight does not hold the
// shutdown up; ops_test.go covers the drain.
func TestJ74HTTPShutdown(t *testing.T) {
	par(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			hs := StartHTTPServer(t, HTTPOptions{Env: []string{"EXECMCP_DRAIN_TIMEOUT=0"}})
			c := hs.Connect(t, ClientOpts{})
			sse := hs.Connect(t, ClientOpts{SSE: true})
			c.Background(`echo $$ > p1; sleep 60`)
			sse.Background(`echo $$ > p2; sh -c 'trap "" TERM; sleep 60'`)
			p1 := hs.ReadPgid(hs.Dir, "p1")
			p2 := hs.ReadPgid(hs.Dir, "p2")
			time.Sleep(300 * time.Millisecond) // the inner shell has installed its trap
			// An exec waiting in its yield window must not hold the shutdown up.
			waiting := make(chan error, 1)
			go func() {
				_, err := c.CallCtx(context.Background(), "exec", map[string]any{"command": "sleep 60", "yieldMs": 60000})
				waiting <- err
			}()
			time.Sleep(300 * time.Millisecond)
			start := time.Now()
			hs.Stop(sig) // asserts exit status 0 within 10 s
			t.Logf("HTTP shutdown by %v took %v", sig, time.Since(start).Round(time.Millisecond))
			for _, g := range []int{p1, p2} {
				if !waitFor(2*time.Second, func() bool { return pgGone(g) }) {
					t.Errorf("group %d survived the shutdown: %v", g, groupMembers(g))
				}
			}
			select {
			case <-waiting:
			case <-time.After(10 * time.Second):
				t.Errorf("the waiting exec call did not end within 10 s of the shutdown")
			}
		})
	}
}

// Progress and cancellation over Streamable HTTP (docs/reference.md#progress, docs/reference.md#cancellation). The
// output comes 0.5 s after the spawn: output that arrives before the call's progress loop has started is only
// reported by the 5000 ms keep-alive (the loop takes sess.Changed() after the spawn), which a loaded machine makes
// visible with an immediate echo.
func TestHTTPProgressAndCancel(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{})
	c := hs.Connect(t, ClientOpts{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	params := &mcp.CallToolParams{Name: "exec", Arguments: map[string]any{"command": "echo $$ > pgc; sleep 0.5; echo step1; sleep 30", "yieldMs": 60000}}
	params.SetProgressToken("tok-1")
	done := make(chan error, 1)
	go func() {
		_, err := c.Sess.CallTool(ctx, params)
		done <- err
	}()
	pg := hs.ReadPgid(hs.Dir, "pgc")
	prog := c.WaitNotes("notifications/progress", 1, 5*time.Second, func(m hmsg) bool {
		var p map[string]any
		return json.Unmarshal(m.Params, &p) == nil && p["progressToken"] == "tok-1" && p["message"] == "step1"
	})
	if len(prog) == 0 {
		t.Errorf("no notifications/progress with message step1 within 5 s; messages %v", c.Notes("notifications/progress"))
	} else {
		t.Logf("progress arrived on %q", prog[0].Stream)
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("the cancelled call returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the cancelled call did not return within 10 s")
	}
	if !waitFor(6*time.Second, func() bool { return pgGone(pg) }) {
		t.Errorf("the cancelled exec's group %d survived: %v", pg, groupMembers(pg))
	}
	wantText(t, c.Proc("list"), noSessionsText)
}

// loadShape returns the load test's clients x calls: the full form takes about 2 s (5 s with a race-built server,
// EXECMCP_TEST_RACE=1) on 2 cores, so only -short reduces it.
func loadShape() (int, int) {
	if testing.Short() {
		return 10, 5
	}
	return 50, 20
}

// Load: 50 concurrent HTTP clients x 20 exec calls each, zero errors.
func TestHTTPLoad(t *testing.T) {
	par(t)
	clients, calls := loadShape()
	hs := StartHTTPServer(t, HTTPOptions{})
	cs := make([]*HClient, clients)
	var wg sync.WaitGroup
	var connErr atomic.Int64
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := hs.Dial(t, ClientOpts{})
			if err != nil {
				connErr.Add(1)
				t.Errorf("client %d: connect: %v", i, err)
				return
			}
			cs[i] = c
		}()
	}
	wg.Wait()
	if connErr.Load() > 0 {
		t.FailNow()
	}
	start := time.Now()
	var errs atomic.Int64
	var lat []time.Duration
	var mu sync.Mutex
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < calls; j++ {
				want := fmt.Sprintf("c%d-%d", i, j)
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				r, err := c.CallCtx(ctx, "exec", map[string]any{"command": "echo " + want})
				cancel()
				if err != nil || r.IsError || r.Text != want || r.Str("status") != "completed" {
					if errs.Add(1) <= 5 {
						t.Errorf("client %d call %d: %v %v", i, j, r, err)
					}
					continue
				}
				mu.Lock()
				lat = append(lat, r.Elapsed)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if n := errs.Load(); n != 0 {
		t.Errorf("%d of %d exec calls failed", n, clients*calls)
	}
	t.Logf("load: %d clients x %d exec calls in %v (%.0f calls/s), %d errors, call latency p50 %v p99 %v",
		clients, calls, el.Round(time.Millisecond), float64(clients*calls)/el.Seconds(), errs.Load(),
		pctl(lat, 50).Round(100*time.Microsecond), pctl(lat, 99).Round(100*time.Microsecond))
	// Every client still has its own scope and its MCP session.
	for _, c := range cs[:3] {
		wantText(t, c.Proc("list"), noSessionsText)
	}
}
