// This file owns what an operator's tools see of the HTTP server's life (docs/reference.md#health,
// docs/reference.md#drain): the liveness and readiness probes, and the graceful stop that refuses new MCP
// sessions and waits for the tool calls in flight before the shutdown proper.

package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/execmcp/execmcp/tools"
)

// serverState is the server's place in its life, as the readiness probe reports it.
type serverState int32

const (
	stateStarting serverState = iota // the zero value: not serving yet
	stateReady
	stateDraining // a graceful stop began; it stays so until exit
)

// health is the state behind /healthz and /readyz and the graceful stop's bookkeeping: the requests in flight
// that may carry a tool call's response (POSTs to /mcp and /message).
type health struct {
	state atomic.Int32
	posts inflight
}

func (h *health) setState(s serverState) { h.state.Store(int32(s)) }

func (h *health) draining() bool { return serverState(h.state.Load()) == stateDraining }

// probe answers /healthz and /readyz (docs/reference.md#health): GET or HEAD only, no authentication, no
// Origin or Host check (probes send their own Host), and nothing about the server but the body.
func (h *health) probe(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		refuse(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	code, body := http.StatusOK, "ok"
	if r.URL.Path == "/readyz" {
		switch serverState(h.state.Load()) {
		case stateReady:
			body = "ready"
		case stateDraining:
			code, body = http.StatusServiceUnavailable, "draining"
		default:
			code, body = http.StatusServiceUnavailable, "starting"
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	if r.Method == http.MethodGet {
		_, _ = io.WriteString(w, body)
	}
}

// gate stands between the front end and the sessions check of /mcp (sse false) or /sse and /message (sse true).
// While the server drains it refuses what would open a new MCP session, an initialize or a GET /sse, with 503;
// the requests of existing sessions pass. It counts the POSTs in flight, whose responses may carry a tool
// call's result.
func (h *health) gate(sse bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.draining() {
			var id json.RawMessage
			opens := false
			switch {
			case sse:
				opens = r.Method == http.MethodGet && r.URL.Path == "/sse"
			case r.Method == http.MethodPost:
				id, opens = initializeID(bodyBytes(r))
			}
			if opens {
				refuseDraining(w, id)
				return
			}
		}
		if r.Method == http.MethodPost {
			h.posts.add()
			defer h.posts.done()
		}
		next.ServeHTTP(w, r)
	})
}

// refuseDraining answers a request for a new MCP session during a graceful stop: HTTP 503 with a JSON-RPC error
// carrying the request's id (null when it has none), and the connection closed so that a load balancer's next
// attempt goes elsewhere.
func refuseDraining(w http.ResponseWriter, id json.RawMessage) {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	body, _ := json.Marshal(jsonrpcErrorBody{JSONRPC: "2.0", ID: id, Error: jsonrpcErrorDetails{Code: -32000, Message: "server is shutting down"}})
	closeAfterAnswer(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write(append(body, '\n'))
}

// drain is the first part of a graceful stop over HTTP (docs/reference.md#drain): readiness turns 503 and new
// MCP sessions are refused at once; then it waits until no tool call is in flight and no POST is being
// answered, at most timeout (0: no wait) or until a second signal arrives on sigs. It reports whether a signal
// cut it short.
func (h *health) drain(t *tools.Tools, timeout time.Duration, sigs <-chan os.Signal, logger *slog.Logger) (interrupted bool) {
	h.setState(stateDraining)
	if timeout <= 0 {
		return false
	}
	start := time.Now()
	limit := time.NewTimer(timeout)
	defer limit.Stop()
	logged := false
	// Both counts must be zero at once: a call's result is written after its handler returned, and an SSE
	// session's call has no POST in flight.
	for {
		calls := t.Stats().CallsInFlight
		posts := h.posts.count()
		if calls == 0 && posts == 0 {
			if logged {
				logger.Info("drained", "took", time.Since(start).Round(time.Millisecond).String())
			}
			return false
		}
		if !logged {
			logger.Info("draining: waiting for tool calls in flight", "calls", calls, "requests", posts,
				"timeout", timeout.String())
			logged = true
		}
		wait := t.Idle()
		if calls == 0 {
			wait = h.posts.idle()
		}
		select {
		case <-wait:
		case <-limit.C:
			logger.Warn("drain timed out; shutting down with tool calls in flight", "calls", t.Stats().CallsInFlight,
				"timeout", timeout.String())
			return false
		case sig := <-sigs:
			logger.Warn("second signal: drain skipped", "signal", sig.String())
			return true
		}
	}
}

// inflight counts requests in flight and wakes those waiting for none.
type inflight struct {
	mu     sync.Mutex
	n      int
	zeroCh chan struct{} // closed when n dropped to 0; made when n leaves 0
}

func (c *inflight) add() {
	c.mu.Lock()
	if c.n == 0 {
		c.zeroCh = make(chan struct{})
	}
	c.n++
	c.mu.Unlock()
}

func (c *inflight) done() {
	c.mu.Lock()
	if c.n--; c.n == 0 {
		close(c.zeroCh)
	}
	c.mu.Unlock()
}

func (c *inflight) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// idle returns a channel closed once none is in flight (closed at once when none is now).
func (c *inflight) idle() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	return c.zeroCh
}
