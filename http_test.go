// Tests of the HTTP front end, the transports and the HTTP shutdown.

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
			if tt.status == 401 && (w.Header().Get("WWW-Authenticate") != `Bearer realm="execmcp"` || w.Body.String() != "unauthorized\n") {
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
		if tt.ok != next.called || !tt.ok && (w.Code != 403 || w.Body.String() != fmt.Sprintf("Forbidden: invalid Origin header %q\n", tt.origin)) {
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
	tl, err := tools.New(tools.Options{
		Version: "test", Tools: policy.ToolSet{Exec: true, Process: true}, YieldMs: 10000, TimeoutSec: 1800,
		Cwd: t.TempDir(), Environ: os.Environ(), Shell: "/bin/sh", NotifyOnExit: true, Security: "full",
		Sandbox: "none", Host: "auto", OrphanGrace: time.Hour,
		Sessions: sessions.Options{KillGrace: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{Listen: "127.0.0.1:0", Tokens: tokens}
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
	return srv, tl
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
	environ := append(os.Environ(), "EXECMCP_LISTEN=127.0.0.1:0", "EXECMCP_KILL_GRACE_MS=500")
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
