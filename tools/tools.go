// Package tools is execmcp's MCP adapter: it builds the mcp-go server, registers the exec and process tools
// with their schemas (whose parameter lists it derives its argument decoding from), decodes arguments, asks
// package policy, runs the exec pipeline on top of the sessions registry, and renders every text and details
// object the agent sees within the response budget: results, errors, warnings, notes, policy denials and the
// wording of session outcomes all live here, because policy and sessions return typed decisions and outcomes
// only. It also sends progress and exit notifications, keeps the per-scope system-event queues, serves the two
// session resources, tracks resource subscriptions per MCP session, derives each request's scope (stdio,
// agent:<id> or the MCP session id) and cleans up session-id scopes whose MCP session went away (orphan timers).
//
// Concurrency: a Tools is safe for concurrent use. Its state (live MCP sessions, logging levels,
// subscriptions, per-scope queues and all timers) is guarded by one mutex that is never held while calling
// into mcp-go or the registry's blocking methods. Every goroutine it starts has an owner that stops and waits
// for it: the progress goroutine of an exec call belongs to that call's handler and is stopped and waited for
// before the handler returns; heartbeat, orphan and log-update timers belong to the Tools and are stopped and
// waited for by Close.
package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/execmcp/execmcp/policy"
	"github.com/execmcp/execmcp/schemas"
	"github.com/execmcp/execmcp/sessions"
)

// Options is the resolved configuration of the tools.
type Options struct {
	// Version is serverInfo.version.
	Version string
	// Sessions configures the registry; tools sets OnExit itself.
	Sessions sessions.Options
	// Tools says which tools are registered.
	Tools policy.ToolSet
	// YieldMs is the default yield window in ms (already clamped to 10..120000).
	YieldMs int
	// TimeoutSec is the default timeout in seconds; 0 means none.
	TimeoutSec float64
	// Cwd is the default working directory (absolute; checked at every call).
	Cwd string
	// Environ is the server's environment as read at startup, unfiltered.
	Environ []string
	// Home is the home directory for ~ expansion.
	Home string
	// Shell is the resolved shell path.
	Shell string
	// PathPrepend is tools.exec.pathPrepend.
	PathPrepend []string
	// NotifyOnExit and NotifyOnExitEmptySuccess are the exit notification settings.
	NotifyOnExit, NotifyOnExitEmptySuccess bool
	// Security and Allowlist are the security mode settings.
	Security  string
	Allowlist []string
	// Sandbox is "none" or "bwrap"; SandboxNetwork is tools.exec.sandboxNetwork.
	Sandbox        string
	SandboxNetwork bool
	// BwrapPath is the bwrap executable main found on PATH at startup; "" means "bwrap" (looked up at spawn).
	BwrapPath string
	// HiddenFiles are the server's own secret files (the tokens file, the config file) as absolute paths: a
	// sandboxed command finds each one empty (docs/reference.md#sandbox). Empty means none.
	HiddenFiles []string
	// Host is the configured host: auto, sandbox or gateway.
	Host string
	// ElevatedEnabled is tools.elevated.enabled.
	ElevatedEnabled bool
	// LoginPath returns the PATH entries of the user's login shell, put in front of the inherited PATH of commands
	// that run on the host (docs/reference.md#login-path); it may wait for a probe but returns when ctx ends. Nil
	// means none.
	LoginPath func(ctx context.Context) []string
	// ScriptPreflight turns on the script preflight check (docs/reference.md#script-preflight).
	ScriptPreflight bool
	// OrphanGrace is how long a session-id scope's work survives its MCP session (docs/reference.md#disconnect);
	// zero cleans up at once.
	OrphanGrace time.Duration
	// Channel selects Claude Code channel events (docs/reference.md#channel): ChannelAuto (also the zero value
	// "") sends them to Claude Code clients only, ChannelOn to every client, ChannelOff to none.
	Channel string
	// Logger receives the adapter's logs; nil discards them.
	Logger *slog.Logger
}

// Tools is the MCP surface of execmcp.
type Tools struct {
	opts    Options
	srv     *server.MCPServer
	reg     *sessions.Registry
	log     *slog.Logger
	baseEnv []string

	mu          sync.Mutex
	closing     bool
	mcpSessions map[string]string // MCP session id -> scope
	levels      map[string]mcp.LoggingLevel
	channels    map[string]bool // MCP session ids that take channel events
	scopes      map[string]*scopeState
	hbWG        sync.WaitGroup

	subs         map[string]map[string]bool // MCP session id -> subscribed resource URIs
	logThrottle  map[string]*logThrottle    // exec session id -> pending log-URI update interval
	orphanTimers map[string]*time.Timer     // session-id scope -> pending orphan cleanup
	orphaned     map[string]time.Time       // session-id scopes cleaned up recently
	timerWG      sync.WaitGroup             // orphan and log-update timers (afterLocked)
	// orphan cleans up a scope (Registry.Orphan); replaced in tests.
	orphan func(scope string) int

	// stats are the counters Stats reads (tools/stats.go).
	stats counters
}

// Tool descriptions and instructions (docs/reference.md#exec-parameters, docs/reference.md#process-parameters,
// docs/reference.md#server).
const (
	execDescription      = "Execute shell commands with background continuation for work that starts now. Use yieldMs/background to continue later via process tool. For long-running work started now, rely on automatic completion wake when it is enabled and the command emits output or fails; otherwise use process to confirm completion. Use process whenever you need logs, status, input, or intervention. Use pty=true for TTY-required commands (terminal UIs, coding agents). background=true keeps stdin open for process write (close it with eof=true); other non-PTY runs get no stdin."
	execDescriptionSync  = "Execute shell commands and return their output when they finish (background execution is disabled on this server). Use pty=true for TTY-required commands (terminal UIs, coding agents)."
	processDescription   = "Manage running exec sessions for commands already started: list, poll, log, write, send-keys, submit, paste, kill, screen, resize. Use poll/log when you need status, logs, quiet-success confirmation, or completion confirmation when automatic completion wake is unavailable. Use write/send-keys/submit/paste/kill for input or intervention. Use screen to see what the terminal of a pty session shows now (full-screen programs, menus, prompts) and resize to change its size."
	instructionsFull     = `execmcp runs shell commands on this machine. Use exec to run a command; long commands continue in the background and are managed with process (poll, log, write, kill). Completions of background commands are announced as notifications and as "System:" lines in later tool results.`
	instructionsSync     = "execmcp runs shell commands on this machine. exec waits for each command to finish and returns its output."
	execTitle            = "Run shell command"
	processTitle         = "Manage exec sessions"
	modernProtocolPrefix = mcp.ProtocolVersion20260728
)

// New builds the MCP server and the sessions registry and registers the enabled tools.
func New(opts Options) (*Tools, error) {
	if opts.Shell == "" {
		return nil, errors.New("tools: no shell configured")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := &Tools{
		opts:        opts,
		log:         logger,
		baseEnv:     policy.InheritedEnv(opts.Environ),
		mcpSessions: map[string]string{},
		levels:      map[string]mcp.LoggingLevel{},
		channels:    map[string]bool{},
		scopes:      map[string]*scopeState{},

		subs:         map[string]map[string]bool{},
		logThrottle:  map[string]*logThrottle{},
		orphanTimers: map[string]*time.Timer{},
		orphaned:     map[string]time.Time{},
	}
	sopts := opts.Sessions
	sopts.OnExit = t.onExit
	sopts.OnOutput = t.onOutput
	sopts.OnWatch = t.onWatch
	if sopts.Logger == nil {
		sopts.Logger = logger
	}
	t.reg = sessions.New(sopts)
	t.orphan = t.reg.Orphan

	hooks := &server.Hooks{}
	hooks.AddOnRequestInitialization(t.pinProtocol)
	hooks.AddOnRegisterSession(t.registerSession)
	hooks.AddOnUnregisterSession(t.unregisterSession)
	hooks.AddAfterSubscribe(func(ctx context.Context, _ any, req *mcp.SubscribeRequest, _ *mcp.EmptyResult) {
		t.subscribe(ctx, req)
	})
	hooks.AddAfterUnsubscribe(func(ctx context.Context, _ any, req *mcp.UnsubscribeRequest, _ *mcp.EmptyResult) {
		t.unsubscribe(ctx, req)
	})
	hooks.AddAfterSetLevel(func(ctx context.Context, _ any, req *mcp.SetLevelRequest, _ *mcp.EmptyResult) {
		t.setLevel(ctx, req)
	})
	hooks.AddAfterInitialize(func(ctx context.Context, _ any, req *mcp.InitializeRequest, res *mcp.InitializeResult) {
		sid := ""
		if cs := server.ClientSessionFromContext(ctx); cs != nil {
			sid = cs.SessionID()
		}
		var name, version, protocol string
		if req != nil {
			name, version = req.Params.ClientInfo.Name, req.Params.ClientInfo.Version
		}
		if res != nil {
			protocol = res.ProtocolVersion
		}
		t.initializeChannel(sid, req, res)
		t.log.Debug("client initialized", "client", name, "clientVersion", version, "protocol", protocol, "session", sid)
	})

	instructions := instructionsFull
	if !opts.Tools.Process {
		instructions = instructionsSync
	}
	t.srv = server.NewMCPServer("execmcp", opts.Version,
		server.WithToolCapabilities(false),
		server.WithLogging(),
		server.WithResourceCapabilities(true, false),
		server.WithInstructions(instructions),
		server.WithToolHandlerMiddleware(t.countCalls), // outermost: also counts a recovered panic
		server.WithRecovery(),
		server.WithHooks(hooks),
	)

	t.addResources()

	if opts.Tools.Exec {
		desc := execDescription
		if !opts.Tools.Process {
			desc = execDescriptionSync
		}
		t.srv.AddTool(newTool("exec", execTitle, desc, schemas.ExecInput, schemas.ExecOutput, true), t.handleExec)
		t.stats.calls = append(t.stats.calls, &toolCounter{tool: "exec"})
	}
	if opts.Tools.Process {
		t.srv.AddTool(newTool("process", processTitle, processDescription, schemas.ProcessInput, schemas.ProcessOutput, false), t.handleProcess)
		t.stats.calls = append(t.stats.calls, &toolCounter{tool: "process"})
	}
	return t, nil
}

func newTool(name, title, desc string, in, out json.RawMessage, openWorld bool) mcp.Tool {
	tool := mcp.NewToolWithRawSchema(name, desc, in)
	tool.Title = title
	tool.RawOutputSchema = out
	tool.Annotations = mcp.ToolAnnotation{
		Title:           title,
		ReadOnlyHint:    mcp.ToBoolPtr(false),
		DestructiveHint: mcp.ToBoolPtr(true),
		IdempotentHint:  mcp.ToBoolPtr(false),
		OpenWorldHint:   mcp.ToBoolPtr(openWorld),
	}
	return tool
}

// MCPServer returns the server to wrap in a transport.
func (t *Tools) MCPServer() *server.MCPServer { return t.srv }

// BeginShutdown is the first step of a server shutdown (docs/reference.md#shutdown): from now on no exit
// notification is emitted, nothing is queued and no orphan timer starts (the transports unregister every MCP
// session while they close). Close completes the shutdown.
func (t *Tools) BeginShutdown() {
	t.mu.Lock()
	t.closing = true
	t.mu.Unlock()
}

// Close stops notifications and timers and closes the registry, terminating every process group.
func (t *Tools) Close(ctx context.Context) error {
	t.BeginShutdown()
	t.stopHeartbeats()
	t.stopTimers()
	return t.reg.Close(ctx)
}

// KillAll sends SIGKILL to every process group now (a second shutdown signal).
func (t *Tools) KillAll() { t.reg.KillAll() }

// pinProtocol rejects requests of the modern stateless protocol (docs/reference.md#stdio); mcp-go answers a hook
// error with JSON-RPC error -32600 (INVALID_REQUEST) and the error text as message.
func (t *Tools) pinProtocol(_ context.Context, _ any, message any) error {
	raw, ok := message.(json.RawMessage)
	if !ok {
		b, err := json.Marshal(message)
		if err != nil {
			return nil
		}
		raw = b
	}
	var wrapper struct {
		Params struct {
			Meta map[string]json.RawMessage `json:"_meta"`
		} `json:"params"`
	}
	if json.Unmarshal(raw, &wrapper) != nil {
		return nil
	}
	v, ok := wrapper.Params.Meta[mcp.MetaKeyProtocolVersion]
	if !ok {
		return nil
	}
	var version string
	if json.Unmarshal(v, &version) != nil {
		return nil
	}
	if version >= modernProtocolPrefix {
		return fmt.Errorf("protocol %s not supported; use initialize", version)
	}
	return nil
}

// envelope turns a result into the tool result: it applies the acknowledgement (ackID != ""), then appends
// the scope's queued system events (docs/reference.md#system-events).
func (t *Tools) envelope(scope string, r result, ackID string) *mcp.CallToolResult {
	if scope != "" && ackID != "" {
		t.acknowledge(scope, ackID)
	}
	var events []string
	if scope != "" {
		events = t.takeEvents(scope)
	}
	if r.details == nil {
		r.details = map[string]any{}
	}
	content := []mcp.Content{mcp.NewTextContent(r.text)}
	if len(events) > 0 {
		content = append(content, mcp.NewTextContent(systemEventsText(events)))
		r.details["systemEvents"] = events
	}
	return &mcp.CallToolResult{Content: content, StructuredContent: r.details, IsError: r.isError}
}
