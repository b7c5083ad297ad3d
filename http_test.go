// Tests of the HTTP front end, the transports and the HTTP shutdown.

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/execmcp/execmcp/policy"
	"github.com/execmcp/execmcp/sessions"
	"github.com/execmcp/execmcp/tools"
)

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true, "[::1]": true,
		"::ffff:127.0.0.1": true, "": false, "0.0.0.0": false, "::": false, "10.0.0.1": false, "example.com": false,
		"localhost.example": false, "128.0.0.1": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v", host, got)
		}
	}
}

// frontRecorder is the handler behind the pipeline in tests: it records the principal and the body.
type frontRecorder struct {
	called bool
	agent  string
	body   []byte
}

func (f *frontRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.called = true
	f.agent = tools.PrincipalFromContext(r.Context())
	f.body, _ = io.ReadAll(r.Body)
	w.WriteHeader(http.StatusTeapot)
}

func serveFront(f *httpFront, r *http.Request) (*httptest.ResponseRecorder, *frontRecorder) {
	next := &frontRecorder{}
	w := httptest.NewRecorder()
	f.wrap(next).ServeHTTP(w, r)
	return w, next
}

func TestHTTPAuthentication(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	f := newHTTPFront([]authToken{{"s3cret-token-0001", ""}, {"tokA-0123456789abcdef", "alpha"}}, true, logger)
	tests := []struct {
		auth   string
		status int
		agent  string
	}{
		{"", 401, ""},
		{"Bearer", 401, ""},
		{"Bearer ", 401, ""},
		{"Basic czNjcmV0", 401, ""},
		{"Bearer wrong", 401, ""},
		{"Bearer s3cret-token-000", 401, ""},
		{"Bearer s3cret-token-00011", 401, ""},
		{"Bearer s3cret-token-0001", 418, ""},
		{"bearer s3cret-token-0001", 418, ""},
		{"BEARER  s3cret-token-0001 ", 418, ""},
		{"Bearer tokA-0123456789abcdef", 418, "alpha"},
	}
	for _, tt := range tests {
		for _, path := range []string{"/mcp", "/sse", "/message"} {
			r := httptest.NewRequest("POST", path, strings.NewReader("{}"))
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w, next := serveFront(f, r)
			if w.Code != tt.status || next.called != (tt.status == 418) || next.agent != tt.agent {
				t.Errorf("%s %q: %d called=%v agent=%q", path, tt.auth, w.Code, next.called, next.agent)
			}
			if tt.status == 401 && (w.Header().Get("WWW-Authenticate") != `Bearer realm="execmcp"` || w.Body.String() != "unauthorized\n" ||
				w.Header().Get("Connection") != "close") {
				t.Errorf("%s %q: 401 headers %v body %q", path, tt.auth, w.Header(), w.Body.String())
			}
		}
	}
	if !strings.Contains(logs.String(), `level=WARN msg="unauthorized request" remote=192.0.2.1:1234 method=POST path=/mcp reason="missing bearer token"`) ||
		!strings.Contains(logs.String(), `reason="invalid bearer token"`) || strings.Contains(logs.String(), "s3cret") || strings.Contains(logs.String(), "wrong") {
		t.Errorf("logs:\n%s", logs.String())
	}
	// Without tokens, every request passes without an agent.
	w, next := serveFront(newHTTPFront(nil, true, logger), httptest.NewRequest("GET", "/mcp", nil))
	if w.Code != 418 || next.agent != "" {
		t.Errorf("no tokens: %d", w.Code)
	}
}

func TestHTTPOrigin(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	loop := newHTTPFront(nil, true, logger)
	remote := newHTTPFront([]authToken{{"s3cret-token-0001", ""}}, false, logger)
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://localhost:6274", true},
		{"https://LOCALHOST", true},
		{"http://127.0.0.1:3000", true},
		{"http://127.8.0.1", true},
		{"http://[::1]:6274", true},
		{"vscode-webview://localhost", true},
		{"http://evil.example", false},
		{"http://localhost.evil.example", false},
		{"http://10.0.0.1:80", false},
		{"null", false},
		{"file://", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/sse", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		w, next := serveFront(loop, r)
		if tt.ok != next.called || !tt.ok && (w.Code != 403 || w.Body.String() != fmt.Sprintf("Forbidden: invalid Origin header %q\n", tt.origin) ||
			w.Header().Get("Connection") != "close") {
			t.Errorf("loopback %q: %d %q", tt.origin, w.Code, w.Body.String())
		}
		// Not checked on a non-loopback listener.
		r = httptest.NewRequest("GET", "/sse", nil)
		r.Header.Set("Authorization", "Bearer s3cret-token-0001")
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if w, next := serveFront(remote, r); !next.called {
			t.Errorf("non-loopback %q: %d", tt.origin, w.Code)
		}
	}
	// Authentication comes first: a bad Origin without a token is a 401.
	r := httptest.NewRequest("GET", "/mcp", nil)
	r.Header.Set("Origin", "http://evil.example")
	if w, _ := serveFront(newHTTPFront([]authToken{{"s3cret-token-0001", ""}}, true, logger), r); w.Code != 401 {
		t.Errorf("order: %d", w.Code)
	}
}

func TestHTTPBodyLimit(t *testing.T) {
	f := newHTTPFront([]authToken{{"s3cret-token-0001", ""}}, true, slog.New(slog.DiscardHandler))
	big := bytes.Repeat([]byte("x"), httpMaxBodyBytes+1)
	// Known length: 413 before authentication.
	w, next := serveFront(f, httptest.NewRequest("POST", "/mcp", bytes.NewReader(big)))
	if w.Code != 413 || next.called {
		t.Errorf("content-length over the limit: %d", w.Code)
	}
	// Unknown length (chunked): read after the checks, 413 when over.
	r := httptest.NewRequest("POST", "/mcp", io.MultiReader(bytes.NewReader(big)))
	r.ContentLength = -1
	r.Header.Set("Authorization", "Bearer s3cret-token-0001")
	if w, next := serveFront(f, r); w.Code != 413 || next.called {
		t.Errorf("chunked over the limit: %d", w.Code)
	}
	ok := bytes.Repeat([]byte("y"), httpMaxBodyBytes)
	r = httptest.NewRequest("POST", "/mcp", io.MultiReader(bytes.NewReader(ok)))
	r.ContentLength = -1
	r.Header.Set("Authorization", "Bearer s3cret-token-0001")
	if w, next := serveFront(f, r); w.Code != 418 || !bytes.Equal(next.body, ok) {
		t.Errorf("chunked at the limit: %d, %d bytes", w.Code, len(next.body))
	}
}

// httpTestServer serves the real transports on a loopback httptest server.
func httpTestServer(t *testing.T, tokens []authToken) (*httptest.Server, *tools.Tools) {
	t.Helper()
	srv, tl, _ := httpTestTransports(t, tokens, 0)
	return srv, tl
}

// httpTestTransports is httpTestServer with a session bound (0 = the default) that also returns the transports.
func httpTestTransports(t *testing.T, tokens []authToken, maxSessions int) (*httptest.Server, *tools.Tools, *httpTransports) {
	t.Helper()
	tl, err := tools.New(tools.Options{
		Version: "test", Tools: policy.ToolSet{Exec: true, Process: true}, YieldMs: 10000, TimeoutSec: 1800,
		Cwd: t.TempDir(), Environ: os.Environ(), Shell: "/bin/sh", NotifyOnExit: true, Security: "full",
		Sandbox: "none", Host: "auto", OrphanGrace: time.Hour,
		Sessions: sessions.Options{KillGrace: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{Listen: "127.0.0.1:0", Tokens: tokens, HTTPMaxSessions: maxSessions}
	tr := newHTTPTransports(tl, cfg, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(tr.handler)
	t.Cleanup(func() {
		tl.BeginShutdown()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tr.closeSessions(ctx)
		srv.Close()
		if err := tl.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return srv, tl, tr
}

// post sends one JSON-RPC message to /mcp and returns the status, the session id header and the body.
func post(t *testing.T, url, sid, token, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), string(b)
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

func TestHTTPTransports(t *testing.T) {
	srv, _ := httpTestServer(t, []authToken{{"s3cret-token-0001", ""}, {"tokA-0123456789abcdef", "alpha"}})
	// Unknown paths are 404 (before authentication); the MCP paths need a token.
	for _, p := range []string{"/", "/mcp/", "/other", "/sse/x"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	if code, _, body := post(t, srv.URL, "", "", initializeBody); code != 401 || body != "unauthorized\n" {
		t.Fatalf("no token: %d %q", code, body)
	}
	// Pinned to a legacy protocol with a stateful session id.
	code, sid, body := post(t, srv.URL, "", "tokA-0123456789abcdef", initializeBody)
	if code != 200 || !strings.HasPrefix(sid, "mcp-session-") || !strings.Contains(body, `"protocolVersion":"2025-11-25"`) {
		t.Fatalf("initialize: %d %q %s", code, sid, body)
	}
	post(t, srv.URL, sid, "tokA-0123456789abcdef", `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exec","arguments":{"command":"sleep 30","background":true}}}`
	code, _, body = post(t, srv.URL, sid, "tokA-0123456789abcdef", call)
	if code != 200 || !strings.Contains(body, `Command still running (session `) {
		t.Fatalf("exec: %d %s", code, body)
	}
	// The agent scope survives a DELETE and a new MCP session; a session-scoped client does not see it.
	req, _ := http.NewRequest("DELETE", srv.URL+"/mcp", nil)
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Authorization", "Bearer tokA-0123456789abcdef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	list := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"process","arguments":{"action":"list"}}}`
	if code, _, body := post(t, srv.URL, sid, "tokA-0123456789abcdef", list); code != 404 {
		t.Fatalf("old session id after DELETE: %d %s", code, body)
	}
	_, sid2, _ := post(t, srv.URL, "", "tokA-0123456789abcdef", initializeBody)
	if _, _, body := post(t, srv.URL, sid2, "tokA-0123456789abcdef", list); !strings.Contains(body, " running ") {
		t.Fatalf("agent list after reconnect: %s", body)
	}
	_, sid3, _ := post(t, srv.URL, "", "s3cret-token-0001", initializeBody)
	if _, _, body := post(t, srv.URL, sid3, "s3cret-token-0001", list); !strings.Contains(body, "No running or recent sessions.") {
		t.Fatalf("shared-token list: %s", body)
	}
	// DNS-rebinding protection stays on.
	req, _ = http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(initializeBody))
	req.Host = "evil.example"
	req.Header.Set("Authorization", "Bearer s3cret-token-0001")
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), `invalid Host header "evil.example"`) {
		t.Fatalf("Host check: %d %q", resp.StatusCode, b)
	}
	// SSE: the endpoint event advertises a path.
	req, _ = http.NewRequest("GET", srv.URL+"/sse", nil)
	req.Header.Set("Authorization", "Bearer s3cret-token-0001")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err = http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 256)
	n, _ := resp.Body.Read(buf)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(buf[:n]), "event: endpoint\ndata: /message?sessionId=") {
		t.Fatalf("sse: %d %q", resp.StatusCode, buf[:n])
	}
}

func TestServeHTTPShutdown(t *testing.T) {
	stderr := &syncBuffer{}
	var stdout bytes.Buffer
	exited := make(chan int, 1)
	// Without a drain: the waiting exec call below does not hold the shutdown up (health_test.go has the drain).
	environ := append(os.Environ(), "EXECMCP_LISTEN=127.0.0.1:0", "EXECMCP_KILL_GRACE_MS=500", "EXECMCP_DRAIN_TIMEOUT=0")
	go func() { exited <- realMain(nil, environ, strings.NewReader(""), &stdout, stderr) }()
	re := regexp.MustCompile(`level=INFO msg=listening addr=(127\.0\.0\.1:\d+) mcp=http://127\.0\.0\.1:\d+/mcp sse=http://127\.0\.0\.1:\d+/sse\n`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no listening line: %q", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "mcp=http://"+addr+"/mcp sse=http://"+addr+"/sse") {
		t.Fatalf("listening line: %q", stderr.String())
	}
	url := "http://" + addr
	// Stdin is ignored in HTTP mode: the empty stdin did not stop the server.
	_, sid, _ := post(t, url, "", "", initializeBody)
	dir := t.TempDir()
	call := fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exec","arguments":{"command":"echo $$ > %s/pgid; trap '' TERM; sleep 60","background":true}}}`, dir)
	if code, _, body := post(t, url, sid, "", call); code != 200 || !strings.Contains(body, "Command still running") {
		t.Fatalf("exec: %d %s", code, body)
	}
	var pgid int
	for deadline := time.Now().Add(5 * time.Second); pgid == 0; {
		if b, err := os.ReadFile(filepath.Join(dir, "pgid")); err == nil && strings.HasSuffix(string(b), "\n") {
			pgid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		} else if time.Now().After(deadline) {
			t.Fatal("no pgid")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A waiting exec call sees the shutdown as a cancellation.
	waiting := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("POST", url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"exec","arguments":{"command":"sleep 60","yieldMs":60000}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			waiting <- ""
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		waiting <- string(b)
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 0 || stdout.Len() != 0 || time.Since(start) > 8*time.Second {
			t.Fatalf("exit %d after %v, stdout %q", code, time.Since(start), stdout.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit")
	}
	if live := liveMembers(pgid); len(live) > 0 {
		t.Fatalf("group %d survived: live members %v", pgid, live)
	}
	select {
	case body := <-waiting:
		if body != "" && !strings.Contains(body, "Command cancelled by the client") {
			t.Errorf("waiting call: %q", body)
		}
	case <-time.After(5 * time.Second):
		t.Error("waiting call did not end")
	}
}

// liveMembers lists the processes of group pgid that are not zombies. kill(-pgid, 0) is not enough: the trapped
// shell's sleep is reparented to an init that may reap it seconds after it died, and a dead zombie is not a survivor.
func liveMembers(pgid int) []int {
	names, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pid, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "/proc/"), "/stat"))
			out = append(out, pid)
		}
	}
	return out
}

func TestHTTPSessionsBounds(t *testing.T) {
	discard := slog.New(slog.DiscardHandler)
	for maxSessions, per := range map[int]int{1: 1, 3: 1, 4: 1, 8: 2, 1000: 250, 100000: 25000, 0: 250} {
		if h := newHTTPSessions(maxSessions, discard); h.perPrincipal != per || (maxSessions > 0 && h.max != maxSessions) {
			t.Errorf("max %d: bounds %d / %d per principal, want %d per principal", maxSessions, h.max, h.perPrincipal, per)
		}
	}
	h := newHTTPSessions(8, discard) // 2 per principal
	a1, ok := h.reserve("alpha", streamableSession)
	if !ok {
		t.Fatal("first reservation refused")
	}
	id := h.issue(a1)
	if !regexp.MustCompile(`^mcp-session-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("streamable session id %q", id)
	}
	if again := h.issue(a1); again != "" {
		t.Errorf("a slot issued a second id %q", again)
	}
	if !h.owns("alpha", id, streamableSession) || h.owns("beta", id, streamableSession) || h.owns("", id, streamableSession) ||
		h.owns("alpha", id, sseSession) || h.owns("alpha", "mcp-session-x", streamableSession) {
		t.Error("owns: only alpha's streamable session is alpha's")
	}
	a2, ok := h.reserve("alpha", streamableSession)
	if !ok {
		t.Fatal("second reservation refused")
	}
	if _, ok := h.reserve("alpha", sseSession); ok {
		t.Error("alpha reserved a place beyond its bound of 2")
	}
	h.release(a2)
	h.release(a2) // twice: no effect
	h.release(a1) // issued: no effect
	if total, own := h.live("alpha"); total != 1 || own != 1 {
		t.Errorf("after releasing: %d live, %d of alpha; want 1, 1", total, own)
	}
	// SSE: the id is a plain uuid; finish ends the session, or releases an unissued slot.
	s1, _ := h.reserve("alpha", sseSession)
	sid := h.issue(s1)
	if len(sid) != 36 || strings.HasPrefix(sid, "mcp-session-") || !h.owns("alpha", sid, sseSession) {
		t.Errorf("SSE session id %q", sid)
	}
	h.end(sid, streamableSession) // the wrong transport: no effect
	if total, _ := h.live("alpha"); total != 2 {
		t.Errorf("end with the wrong kind changed the count: %d", total)
	}
	h.finish(s1)
	h.finish(s1)
	s2, _ := h.reserve("alpha", sseSession)
	h.finish(s2)
	if total, own := h.live("alpha"); total != 1 || own != 1 || h.owns("alpha", sid, sseSession) {
		t.Errorf("after finish: %d live, %d of alpha", total, own)
	}
	// The bound in all.
	for _, p := range []string{"b", "b", "c", "c", "d", "d", "e"} {
		slot, ok := h.reserve(p, streamableSession)
		if !ok {
			t.Fatalf("reservation of %s refused at %v", p, h.counts)
		}
		h.issue(slot)
	}
	if _, ok := h.reserve("f", streamableSession); ok {
		t.Error("a place was reserved beyond the bound of 8")
	}
	h.end(id, streamableSession)
	h.end(id, streamableSession)
	if _, ok := h.reserve("f", streamableSession); !ok {
		t.Error("no place after a session ended")
	}
	// Concurrent use keeps the count exact.
	h = newHTTPSessions(100000, discard)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			p := fmt.Sprint("p", g%4)
			for i := range 200 {
				slot, ok := h.reserve(p, sessionKind(1+i%2))
				if !ok {
					t.Error("refused")
					return
				}
				switch i % 3 {
				case 0:
					h.release(slot)
				case 1:
					h.finish(slot)
				default:
					h.end(h.issue(slot), slot.kind)
				}
			}
		})
	}
	wg.Wait()
	if total, _ := h.live("p0"); total != 0 || len(h.owners) != 0 || len(h.counts) != 0 {
		t.Errorf("after concurrent use: %d live, %d owners, counts %v", total, len(h.owners), h.counts)
	}
}

// del sends DELETE /mcp.
func del(t *testing.T, url, sid, token string) int {
	t.Helper()
	req, _ := http.NewRequest("DELETE", url+"/mcp", nil)
	req.Header.Set("Mcp-Session-Id", sid)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Sessions end on DELETE and when the SSE stream closes; another principal's session id is an unknown one; the
// bounds answer 429.
func TestHTTPSessionsLifecycle(t *testing.T) {
	const tokA, tokB = "tokA-0123456789abcdef", "tokB-0123456789abcdef"
	srv, _, tr := httpTestTransports(t, []authToken{{tokA, "alpha"}, {tokB, "beta"}}, 8)
	h := tr.sessions
	code, sid, _ := post(t, srv.URL, "", tokA, initializeBody)
	if code != 200 || !h.owns("alpha", sid, streamableSession) {
		t.Fatalf("initialize: %d %q", code, sid)
	}
	if total, own := h.live("alpha"); total != 1 || own != 1 {
		t.Errorf("after initialize: %d live, %d of alpha", total, own)
	}
	list := `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`
	if code, _, body := post(t, srv.URL, sid, tokB, list); code != 404 || body != "Invalid session ID\n" {
		t.Errorf("beta with alpha's session: %d %q", code, body)
	}
	if code := del(t, srv.URL, sid, tokB); code != 404 {
		t.Errorf("beta's DELETE of alpha's session: %d", code)
	}
	if code, _, body := post(t, srv.URL, sid, tokA, list); code != 200 || !strings.Contains(body, `"exec"`) {
		t.Errorf("alpha after beta's attempts: %d %q", code, body)
	}
	if code := del(t, srv.URL, sid, tokA); code != 200 {
		t.Errorf("alpha's DELETE: %d", code)
	}
	if total, _ := h.live("alpha"); total != 0 {
		t.Errorf("after DELETE: %d live", total)
	}
	if code := del(t, srv.URL, sid, tokA); code != 404 {
		t.Errorf("second DELETE: %d", code)
	}
	// SSE: counted while the stream is open.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/sse", nil)
	req.Header.Set("Authorization", "Bearer "+tokB)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	n, _ := resp.Body.Read(buf)
	sseID := strings.TrimSpace(strings.TrimPrefix(string(buf[:n]), "event: endpoint\ndata: /message?sessionId="))
	if !h.owns("beta", sseID, sseSession) {
		t.Errorf("SSE session %q is not beta's", sseID)
	}
	for _, tok := range []string{tokA, tokB} {
		req, _ := http.NewRequest("POST", srv.URL+"/message?sessionId="+sseID, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		switch {
		case tok == tokA && (r.StatusCode != 404 || string(b) != `{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"Invalid session ID"}}`+"\n"):
			t.Errorf("alpha on beta's SSE session: %d %q", r.StatusCode, b)
		case tok == tokB && r.StatusCode != 202:
			t.Errorf("beta on its SSE session: %d %q", r.StatusCode, b)
		}
	}
	cancel()
	resp.Body.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if total, _ := h.live("beta"); total == 0 && !h.owns("beta", sseID, sseSession) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the SSE session was still counted 5 s after its stream closed")
		}
	}
	// Bounds: 2 per principal.
	for i := range 2 {
		if code, _, _ := post(t, srv.URL, "", tokA, initializeBody); code != 200 {
			t.Fatalf("initialize %d: %d", i, code)
		}
	}
	body := strings.Replace(initializeBody, `"id":1`, `"id":"abc"`, 1)
	if code, _, got := post(t, srv.URL, "", tokA, body); code != 429 || got != `{"jsonrpc":"2.0","id":"abc","error":{"code":-32000,"message":"too many sessions"}}`+"\n" {
		t.Errorf("third initialize: %d %q", code, got)
	}
	if total, own := h.live("alpha"); total != 2 || own != 2 {
		t.Errorf("after the refusal: %d live, %d of alpha", total, own)
	}
	// A request that is not an initialize is not counted, even when it mentions one.
	if code, _, _ := post(t, srv.URL, "", tokA, `{"jsonrpc":"2.0","id":"initialize","method":"ping"}`); code == 429 {
		t.Error("a ping with the id \"initialize\" was refused as an initialize")
	}
}

// The idle sweep of Streamable HTTP ends a session through httpSessions (its Terminate), so the count goes down.
func TestHTTPSessionsIdleSweep(t *testing.T) {
	tl, err := tools.New(tools.Options{
		Version: "test", Tools: policy.ToolSet{Exec: true, Process: true}, YieldMs: 10000, TimeoutSec: 1800,
		Cwd: t.TempDir(), Environ: os.Environ(), Shell: "/bin/sh", Security: "full", Sandbox: "none", Host: "auto",
		OrphanGrace: time.Hour, Sessions: sessions.Options{KillGrace: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHTTPSessions(4, slog.New(slog.DiscardHandler))
	streamable := server.NewStreamableHTTPServer(tl.MCPServer(), server.WithSessionIdManagerResolver(h),
		server.WithSessionIdleTTL(time.Second), server.WithHTTPContextFunc(principalContext),
		server.WithStreamableHTTPLogger(slog.New(slog.DiscardHandler)))
	front := newHTTPFront(nil, true, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(front.wrap(h.mcpGate(tl, streamable)))
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = streamable.Shutdown(ctx)
		srv.Close()
		_ = tl.Close(ctx)
	}()
	code, sid, _ := post(t, srv.URL, "", "", initializeBody)
	if code != 200 || sid == "" {
		t.Fatalf("initialize: %d", code)
	}
	start := time.Now()
	for total, _ := h.live(""); total != 0; total, _ = h.live("") {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the session was still counted %v after it went idle (TTL 1 s)", time.Since(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _, body := post(t, srv.URL, sid, "", `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`); code != 404 {
		t.Errorf("swept session: %d %q", code, body)
	}
}

// The body deadline: a client that withholds a declared body is answered 400 and its connection closes once the
// deadline passes; a body read in time lifts the deadline, so that a long response is not cut.
func TestHTTPBodyDeadline(t *testing.T) {
	f := newHTTPFront(nil, true, slog.New(slog.DiscardHandler))
	f.bodyTimeout = 300 * time.Millisecond
	var ctxErr error
	var mu sync.Mutex
	srv := httptest.NewServer(f.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * f.bodyTimeout) // longer than the body deadline
		mu.Lock()
		ctxErr = r.Context().Err()
		mu.Unlock()
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	})))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_, _ = io.WriteString(conn, "POST /mcp HTTP/1.1\r\nHost: "+addr+"\r\nContent-Length: 100\r\n\r\n0123456789")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	all, _ := io.ReadAll(conn) // until EOF
	el := time.Since(start)
	if !strings.HasPrefix(string(all), "HTTP/1.1 400 Bad Request\r\n") || !strings.HasSuffix(string(all), "\r\n\r\ncannot read the request body\n") ||
		!strings.Contains(string(all), "\r\nConnection: close\r\n") {
		t.Errorf("withheld body: %q", all)
	}
	if el < f.bodyTimeout || el > f.bodyTimeout+3*time.Second {
		t.Errorf("withheld body answered after %v, want after about %v", el, f.bodyTimeout)
	}
	// A body in time: the deadline is lifted before the handler runs.
	resp, err := http.Post(srv.URL+"/mcp", "application/json", strings.NewReader(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != 200 || string(b) != `{"x":1}` || ctxErr != nil {
		t.Errorf("body in time: %d %q, request context %v", resp.StatusCode, b, ctxErr)
	}
}
