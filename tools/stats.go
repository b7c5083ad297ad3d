package tools

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/execmcp/execmcp/sessions"
)

// Stats is a snapshot of the adapter's counters and the registry's (docs/reference.md#metrics), as plain values
// for whoever exports them. Counts are cumulative since New; nothing in it names a session, a scope or an agent.
type Stats struct {
	Sessions sessions.Stats
	// ExecForeground, ExecBackground and ExecSync count the exec calls that started a command, by wait mode:
	// a yield window (which may still background it), background:true, or waiting for the end (no process
	// tool).
	ExecForeground, ExecBackground, ExecSync uint64
	// ToolCalls has one entry per registered tool, in registration order.
	ToolCalls []ToolCalls
	// ExitNotifications, OutputNotifications and HeartbeatNotifications count the notifications handed to
	// clients: exit and watcher events (notifications/message and channel events alike, one per client) and
	// heartbeats.
	ExitNotifications, OutputNotifications, HeartbeatNotifications uint64
	// MCPSessions is the number of live MCP sessions (initialized clients that have not gone away).
	MCPSessions int
	// CallsInFlight is the number of tool calls being handled now.
	CallsInFlight int
}

// ToolCalls counts the finished calls of one tool: OK ones, and those whose result has isError or whose
// handler failed.
type ToolCalls struct {
	Tool      string
	OK, Error uint64
}

// counters are the adapter's statistics: atomics, added to outside t.mu.
type counters struct {
	execByMode                 [3]atomic.Uint64 // indexed by execMode
	exits, outputs, heartbeats atomic.Uint64
	calls                      []*toolCounter // built by New, before anything serves: read without a lock
	inflight                   callTracker
}

type toolCounter struct {
	tool      string
	ok, error atomic.Uint64
}

// notifyKind is what a notification carries, for the counters.
type notifyKind int

const (
	notifyExit notifyKind = iota
	notifyOutput
	notifyHeartbeat
)

func (c *counters) notified(kind notifyKind) {
	switch kind {
	case notifyExit:
		c.exits.Add(1)
	case notifyOutput:
		c.outputs.Add(1)
	case notifyHeartbeat:
		c.heartbeats.Add(1)
	}
}

// countCalls is the outermost tool handler middleware: it counts each call by tool and result and tracks the
// calls in flight (Tools.Idle).
func (t *Tools) countCalls(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		t.stats.inflight.add()
		defer t.stats.inflight.done()
		res, err := next(ctx, req)
		for _, c := range t.stats.calls {
			if c.tool == req.Params.Name {
				if err != nil || res == nil || res.IsError {
					c.error.Add(1)
				} else {
					c.ok.Add(1)
				}
				break
			}
		}
		return res, err
	}
}

// Stats returns a snapshot of the counters (docs/reference.md#metrics).
func (t *Tools) Stats() Stats {
	st := Stats{
		Sessions:               t.reg.Stats(),
		ExecForeground:         t.stats.execByMode[modeYield].Load(),
		ExecBackground:         t.stats.execByMode[modeBackground].Load(),
		ExecSync:               t.stats.execByMode[modeSync].Load(),
		ExitNotifications:      t.stats.exits.Load(),
		OutputNotifications:    t.stats.outputs.Load(),
		HeartbeatNotifications: t.stats.heartbeats.Load(),
		CallsInFlight:          t.stats.inflight.count(),
	}
	for _, c := range t.stats.calls {
		st.ToolCalls = append(st.ToolCalls, ToolCalls{Tool: c.tool, OK: c.ok.Load(), Error: c.error.Load()})
	}
	t.mu.Lock()
	st.MCPSessions = len(t.mcpSessions)
	t.mu.Unlock()
	return st
}

// Idle returns a channel that is closed once no tool call is in flight: at once when none is now. A call that
// starts after it was closed does not reopen it; ask again. The HTTP front end's graceful stop waits on it
// (docs/reference.md#drain).
func (t *Tools) Idle() <-chan struct{} { return t.stats.inflight.idle() }

// callTracker counts calls in flight and wakes those waiting for none.
type callTracker struct {
	mu     sync.Mutex
	n      int
	zeroCh chan struct{} // closed while n == 0; nil = not made yet (n == 0)
}

func (c *callTracker) add() {
	c.mu.Lock()
	if c.n == 0 {
		c.zeroCh = make(chan struct{})
	}
	c.n++
	c.mu.Unlock()
}

func (c *callTracker) done() {
	c.mu.Lock()
	c.n--
	if c.n == 0 {
		close(c.zeroCh)
	}
	c.mu.Unlock()
}

func (c *callTracker) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// closedCh is a channel that is always closed.
var closedCh = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

func (c *callTracker) idle() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		return closedCh
	}
	return c.zeroCh
}
