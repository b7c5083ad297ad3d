package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	tests := []struct {
		state  serverState
		method string
		path   string
		code   int
		body   string
	}{
		{stateStarting, "GET", "/healthz", 200, "ok"},
		{stateStarting, "GET", "/readyz", 503, "starting"},
		{stateReady, "GET", "/healthz", 200, "ok"},
		{stateReady, "GET", "/readyz", 200, "ready"},
		{stateReady, "HEAD", "/readyz", 200, ""},
		{stateDraining, "GET", "/healthz", 200, "ok"},
		{stateDraining, "GET", "/readyz", 503, "draining"},
		{stateDraining, "HEAD", "/readyz", 503, ""},
		{stateReady, "POST", "/healthz", 405, "method not allowed\n"},
		{stateReady, "DELETE", "/readyz", 405, "method not allowed\n"},
	}
	for _, tc := range tests {
		var h health
		h.setState(tc.state)
		w := httptest.NewRecorder()
		h.probe(w, httptest.NewRequest(tc.method, tc.path, nil))
		if w.Code != tc.code || w.Body.String() != tc.body {
			t.Errorf("state %d %s %s: %d %q, want %d %q", tc.state, tc.method, tc.path, w.Code, w.Body.String(), tc.code, tc.body)
		}
		if tc.code != 405 && w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: Cache-Control %q", tc.method, tc.path, w.Header().Get("Cache-Control"))
		}
	}
}

// While draining, what would open an MCP session is refused with 503 and the rest passes: through the whole
// handler, after authentication.
func TestDrainGate(t *testing.T) {
	const token = "s3cret-token-0001"
	srv, _, tr := httpTestTransports(t, []authToken{{token, ""}}, 0)
	_, sid, _ := post(t, srv.URL, "", token, initializeBody)
	if sid == "" {
		t.Fatal("no session before the drain")
	}
	tr.health.setState(stateDraining)

	if code, _, _ := post(t, srv.URL, "", "", initializeBody); code != 401 {
		t.Errorf("initialize without a token while draining: %d, want 401 (authentication first)", code)
	}
	code, newSid, body := post(t, srv.URL, "", token, strings.Replace(initializeBody, `"id":1`, `"id":"x7"`, 1))
	var rpc jsonrpcErrorBody
	if code != 503 || newSid != "" || json.Unmarshal([]byte(body), &rpc) != nil || string(rpc.ID) != `"x7"` ||
		rpc.Error.Code != -32000 || rpc.Error.Message != "server is shutting down" {
		t.Errorf("initialize while draining: %d %q %q, want 503 and a JSON-RPC error for id \"x7\"", code, newSid, body)
	}
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exec","arguments":{"command":"echo still"}}}`
	if code, _, body := post(t, srv.URL, sid, token, call); code != 200 || !strings.Contains(body, "still") {
		t.Errorf("tools/call of an existing session while draining: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/sse", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(b), `"id":null`) {
		t.Errorf("GET /sse while draining: %d %q, want 503 with id null", resp.StatusCode, b)
	}
}

// drain returns once no call is in flight, at the timeout, or at a second signal; with timeout 0 at once.
func TestDrain(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	tests := []struct {
		name        string
		command     string // "" = no call in flight
		timeout     time.Duration
		signal      bool
		interrupted bool
		min, max    time.Duration
	}{
		{"nothing in flight", "", 10 * time.Second, false, false, 0, 2 * time.Second},
		{"no drain", "sleep 30", 0, false, false, 0, 2 * time.Second},
		{"call finishes", "sleep 1", 20 * time.Second, false, false, 900 * time.Millisecond, 10 * time.Second},
		{"timeout", "sleep 30", 500 * time.Millisecond, false, false, 450 * time.Millisecond, 5 * time.Second},
		{"second signal", "sleep 30", 20 * time.Second, true, true, 0, 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, tl, tr := httpTestTransports(t, nil, 0)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan struct{})
			if tc.command != "" {
				_, sid, _ := post(t, srv.URL, "", "", initializeBody)
				call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exec","arguments":{"command":"` + tc.command + `","yieldMs":60000}}}`
				req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/mcp", strings.NewReader(call))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json, text/event-stream")
				req.Header.Set("Mcp-Session-Id", sid)
				req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
				go func() {
					defer close(done)
					if resp, err := http.DefaultClient.Do(req); err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}()
				for deadline := time.Now().Add(10 * time.Second); tl.Stats().CallsInFlight == 0; {
					if time.Now().After(deadline) {
						t.Fatal("the call is not in flight after 10 s")
					}
					time.Sleep(5 * time.Millisecond)
				}
			} else {
				close(done)
			}
			sigs := make(chan os.Signal, 1)
			if tc.signal {
				sigs <- os.Interrupt
			}
			start := time.Now()
			interrupted := tr.health.drain(tl, tc.timeout, sigs, logger)
			el := time.Since(start)
			if interrupted != tc.interrupted || el < tc.min || el > tc.max {
				t.Errorf("drain: interrupted %v after %v; want %v within %v..%v", interrupted, el, tc.interrupted, tc.min, tc.max)
			}
			if !tr.health.draining() {
				t.Error("not draining after drain")
			}
			cancel() // the client goes away: the call in flight ends
			<-done
		})
	}
}
