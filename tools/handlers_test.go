package tools

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/execmcp/execmcp/policy"
	"github.com/execmcp/execmcp/sessions"
)

// fakeSession is an MCP client session that records the notifications sent to it.
type fakeSession struct {
	id    string
	ch    chan mcp.JSONRPCNotification
	ready atomic.Bool
	level atomic.Value
}

func (s *fakeSession) SetLogLevel(level mcp.LoggingLevel) { s.level.Store(level) }
func (s *fakeSession) GetLogLevel() mcp.LoggingLevel {
	if l, ok := s.level.Load().(mcp.LoggingLevel); ok {
		return l
	}
	return mcp.LoggingLevelError
}

func newFakeSession(id string) *fakeSession {
	s := &fakeSession{id: id, ch: make(chan mcp.JSONRPCNotification, 100)}
	s.ready.Store(true)
	return s
}

func (s *fakeSession) Initialize()                                         { s.ready.Store(true) }
func (s *fakeSession) Initialized() bool                                   { return s.ready.Load() }
func (s *fakeSession) NotificationChannel() chan<- mcp.JSONRPCNotification { return s.ch }
func (s *fakeSession) SessionID() string                                   { return s.id }

// next returns the next notification of method within d.
func (s *fakeSession) next(t *testing.T, method string, d time.Duration) (mcp.JSONRPCNotification, bool) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case n := <-s.ch:
			if n.Method == method {
				return n, true
			}
		case <-deadline:
			return mcp.JSONRPCNotification{}, false
		}
	}
}

type harness struct {
	t    *testing.T
	tl   *Tools
	sess *fakeSession
	ctx  context.Context
}

func testOptions(t *testing.T) Options {
	return Options{
		Version:      "test",
		Sessions:     sessions.Options{KillGrace: 500 * time.Millisecond, DrainGrace: 500 * time.Millisecond},
		Tools:        policy.ToolSet{Exec: true, Process: true},
		YieldMs:      10000,
		TimeoutSec:   1800,
		Cwd:          t.TempDir(),
		Environ:      withoutTERM(os.Environ()),
		Home:         os.Getenv("HOME"),
		Shell:        "/bin/sh",
		NotifyOnExit: true,
		Security:     "full",
		Sandbox:      "none",
		Host:         "auto",
	}
}

func withoutTERM(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "TERM=") {
			out = append(out, kv)
		}
	}
	return out
}

func newHarness(t *testing.T, mutate func(*Options)) *harness {
	t.Helper()
	opts := testOptions(t)
	if mutate != nil {
		mutate(&opts)
	}
	tl, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	sess := newFakeSession("stdio")
	ctx := tl.srv.WithContext(context.Background(), sess)
	if err := tl.srv.RegisterSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		tl.srv.UnregisterSession(ctx, sess.id)
		if err := tl.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &harness{t: t, tl: tl, sess: sess, ctx: ctx}
}

func callReq(name string, args any) mcp.CallToolRequest {
	var req mcp.CallToolRequest
	req.Params.Name = name
	if args != nil {
		b, _ := json.Marshal(args)
		req.Params.RawArguments = b
		req.Params.Arguments = args
	}
	return req
}

func (h *harness) exec(args any) *mcp.CallToolResult {
	h.t.Helper()
	return h.call(h.ctx, "exec", args)
}

func (h *harness) process(args any) *mcp.CallToolResult {
	h.t.Helper()
	return h.call(h.ctx, "process", args)
}

func (h *harness) call(ctx context.Context, tool string, args any) *mcp.CallToolResult {
	h.t.Helper()
	var res *mcp.CallToolResult
	var err error
	if tool == "exec" {
		res, err = h.tl.handleExec(ctx, callReq(tool, args))
	} else {
		res, err = h.tl.handleProcess(ctx, callReq(tool, args))
	}
	if err != nil {
		h.t.Fatalf("%s returned a Go error: %v", tool, err)
	}
	if res.StructuredContent == nil {
		h.t.Fatalf("%s: no structuredContent", tool)
	}
	b, err := json.Marshal(res)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(b) > 1<<20 {
		h.t.Fatalf("%s: result of %d bytes", tool, len(b))
	}
	return res
}

func text(r *mcp.CallToolResult) string { return r.Content[0].(mcp.TextContent).Text }

func details(r *mcp.CallToolResult) map[string]any { return r.StructuredContent.(map[string]any) }

type M = map[string]any

func TestExecForeground(t *testing.T) {
	h := newHarness(t, nil)
	r := h.exec(M{"command": "echo hi"})
	if r.IsError || text(r) != "hi" {
		t.Fatalf("echo hi: %v %q", r.IsError, text(r))
	}
	d := details(r)
	if d["status"] != "completed" || d["exitCode"] != 0 || d["aggregated"] != "hi" || d["cwd"] != h.tl.opts.Cwd {
		t.Fatalf("details %v", d)
	}
	r = h.exec(M{"command": "echo nope; exit 1"})
	if text(r) != "nope\n\n(Command exited with code 1)" || details(r)["exitCode"] != 1 {
		t.Fatalf("exit 1: %q %v", text(r), details(r))
	}
	r = h.exec(M{"command": "definitely-not-a-command-xyz"})
	if !strings.HasSuffix(text(r), "\n\nCommand not found") || details(r)["status"] != "failed" || details(r)["exitCode"] != 127 {
		t.Fatalf("not found: %q %v", text(r), details(r))
	}
	r = h.exec(M{"command": "printf '%s|%s' \"$OPENCLAW_SHELL\" \"$TERM\"", "yieldMs": "5000"})
	if text(r) != "exec|dumb" {
		t.Fatalf("env: %q", text(r))
	}
	r = h.exec(M{"command": "cat"})
	if text(r) != "(no output)" {
		t.Fatalf("stdin: %q", text(r))
	}
	r = h.exec(M{"command": "sleep 5", "timeout": 0.2})
	d = details(r)
	if d["status"] != "failed" || d["timedOut"] != true || d["exitReason"] != "overall-timeout" ||
		text(r) != timeoutText(0.2) {
		t.Fatalf("timeout: %q %v", text(r), d)
	}
	if l := text(h.process(M{"action": "list"})); l != "No running or recent sessions." {
		t.Fatalf("foreground sessions listed: %q", l)
	}
}

func TestExecErrors(t *testing.T) {
	h := newHarness(t, nil)
	dir := h.tl.opts.Cwd
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args M
		msg  string
	}{
		{M{}, "Provide a command to start."},
		{M{"command": ""}, "Provide a command to start."},
		{M{"command": "a\x00b"}, "command must not contain NUL bytes."},
		{M{"command": strings.Repeat("x", 262145)}, "command is too long (262145 bytes; limit 262144)."},
		{M{"command": "x", "cwd": "/tmp"}, `Unknown parameter "cwd" for exec. ` + execKnown},
		{M{"command": "x", "timeout": "abc"}, `Invalid parameter "timeout": expected a number.`},
		{M{"command": "x", "env": M{"A": 1}}, `Invalid parameter "env": value of "A" must be a string.`},
		{M{"command": "x", "workdir": "a\x00"}, "workdir must not contain NUL bytes."},
		{M{"command": "x", "workdir": strings.Repeat("d", 4097)}, "workdir is too long (4097 bytes; limit 4096)."},
		{M{"command": "x", "env": M{"A\x00": "1"}}, `env entry "A\u0000" must not contain NUL bytes.`},
		{M{"command": "x", "workdir": "nope"}, `workdir "nope" does not exist (resolved to "` + filepath.Join(dir, "nope") + `").`},
		{M{"command": "x", "workdir": " f "}, `workdir "f" is not a directory (resolved to "` + filepath.Join(dir, "f") + `").`},
		{M{"command": "x", "workdir": "sub/../nope2"}, `workdir "sub/../nope2" does not exist (resolved to "` + filepath.Join(dir, "nope2") + `").`},
		{M{"command": "x", "env": M{"PATH": "/x"}}, "Security Violation: Custom 'PATH' variable is forbidden during host execution."},
		{M{"command": "x", "host": "node"}, "exec host=node is not supported: execmcp runs commands on its own machine only. Use host=auto, host=gateway or host=sandbox."},
		{M{"command": "x", "host": "sandbox"}, "exec host=sandbox requires a sandbox runtime for this session.\nEnable sandbox mode (`tools.exec.sandbox=\"bwrap\"`) or use host=auto/gateway."},
		{M{"command": "x", "elevated": true}, "elevated is not available right now (runtime=direct).\nFailing gates: enabled (tools.elevated.enabled)\nFix-it keys:\n- tools.elevated.enabled"},
	}
	for _, tc := range tests {
		r := h.exec(tc.args)
		if !r.IsError || text(r) != tc.msg {
			t.Errorf("%v: isError %v, text %q, want %q", tc.args["command"], r.IsError, text(r), tc.msg)
			continue
		}
		want := M{"status": "error", "tool": "exec", "error": tc.msg}
		if d := details(r); len(d) != 3 || d["status"] != want["status"] || d["tool"] != "exec" || d["error"] != tc.msg {
			t.Errorf("details %v", d)
		}
	}
	// Env entries: too many.
	env := M{}
	for i := range 257 {
		env["K"+strings.Repeat("x", i)] = "v"
	}
	if r := h.exec(M{"command": "x", "env": env}); text(r) != "env has too many entries (257; limit 256)." {
		t.Errorf("env count: %q", text(r))
	}
	// Not a JSON object.
	req := callReq("exec", nil)
	req.Params.RawArguments = json.RawMessage(`[1,2]`)
	res, _ := h.tl.handleExec(h.ctx, req)
	if !res.IsError || text(res) != "Invalid arguments: expected an object." {
		t.Errorf("array args: %q", text(res))
	}
	// The default workdir is checked at every call.
	h2 := newHarness(t, func(o *Options) { o.Cwd = filepath.Join(dir, "gone") })
	if r := h2.exec(M{"command": "true"}); text(r) != `default workdir "`+filepath.Join(dir, "gone")+`" does not exist.` {
		t.Errorf("default workdir: %q", text(r))
	}
	// Security deny.
	h3 := newHarness(t, func(o *Options) { o.Security = "deny" })
	if r := h3.exec(M{"command": "true"}); text(r) != "exec denied: security=deny" {
		t.Errorf("deny: %q", text(r))
	}
	// Spawn failure.
	h4 := newHarness(t, func(o *Options) { o.Shell = "/nonexistent/shell" })
	if r := h4.exec(M{"command": "true"}); !r.IsError || !strings.HasPrefix(text(r), "Failed to start command: ") {
		t.Errorf("spawn failure: %q", text(r))
	}
}

func TestExecWorkdir(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Home = "/" })
	dir := h.tl.opts.Cwd
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(filepath.Join(dir, "sub"))
	r := h.exec(M{"command": "pwd -P", "workdir": "sub"})
	if text(r) != real || details(r)["cwd"] != filepath.Join(dir, "sub") {
		t.Errorf("relative workdir: %q %v", text(r), details(r)["cwd"])
	}
	if r := h.exec(M{"command": "pwd", "workdir": "~"}); text(r) != "/" {
		t.Errorf("~: %q", text(r))
	}
	if r := h.exec(M{"command": "pwd", "workdir": "   "}); details(r)["cwd"] != dir {
		t.Errorf("blank workdir: %v", details(r)["cwd"])
	}
}

func TestExecBackgroundAndPoll(t *testing.T) {
	h := newHarness(t, nil)
	r := h.exec(M{"command": "printf 'a\\n'; read x; printf 'got:%s\\n' \"$x\"", "background": true})
	d := details(r)
	if r.IsError || d["status"] != "running" {
		t.Fatalf("background: %q %v", text(r), d)
	}
	id := d["sessionId"].(string)
	if !regexp.MustCompile(`^Command still running \(session ` + id + `, pid \d+\)\. Use process`).MatchString(text(r)) {
		t.Fatalf("running text %q", text(r))
	}
	p := h.process(M{"action": "poll", "sessionId": id, "timeout": 5000})
	if text(p) != "a\n\nProcess still running." || details(p)["retryInMs"] != int64(5000) || details(p)["name"] != "printf a\\n" {
		t.Fatalf("poll: %q %v", text(p), details(p))
	}
	if p := h.process(M{"action": "poll", "sessionId": id}); text(p) != "(no new output)\n\nProcess still running." {
		t.Fatalf("silent poll %q", text(p))
	}
	w := h.process(M{"action": "write", "sessionId": id, "data": "yo\n", "eof": true})
	if w.IsError || text(w) != "Wrote 3 bytes to session "+id+" (stdin closed)." {
		t.Fatalf("write: %q", text(w))
	}
	if w := h.process(M{"action": "write", "sessionId": id, "data": "more"}); !w.IsError {
		t.Fatalf("write after eof: %q", text(w))
	}
	// The exit is announced to the client.
	n, ok := h.sess.next(t, "notifications/message", 10*time.Second)
	if !ok {
		t.Fatal("no exit notification")
	}
	data := n.Params.AdditionalFields["data"].(map[string]any)
	if data["text"] != "Exec completed ("+id[:8]+", code 0) :: a got:yo" || n.Params.AdditionalFields["level"] != mcp.LoggingLevelInfo ||
		data["sessionId"] != id || data["event"] != "exec.exit" {
		t.Fatalf("notification %v", n.Params.AdditionalFields)
	}
	fin := h.process(M{"action": "poll", "sessionId": id, "timeout": 2000})
	if text(fin) != "got:yo\n\nProcess exited with code 0." || details(fin)["exitCode"] != 0 {
		t.Fatalf("finished poll: %q %v", text(fin), details(fin))
	}
	if len(fin.Content) != 1 {
		t.Fatalf("the poll of the finished session carries its own event: %v", fin.Content)
	}
	if p := h.process(M{"action": "poll", "sessionId": id}); text(p) != "(no new output)\n\nProcess exited with code 0." {
		t.Fatalf("second finished poll %q", text(p))
	}
	if _, ok := h.sess.next(t, "notifications/heartbeat", 2*time.Second); !ok {
		t.Fatal("no heartbeat")
	}
	// An acknowledged event is never delivered as a System line.
	if l := h.process(M{"action": "list"}); len(l.Content) != 1 {
		t.Fatalf("list carries an acknowledged event: %v", l.Content)
	}
	lg := h.process(M{"action": "log", "sessionId": id})
	if text(lg) != "a\ngot:yo" || details(lg)["totalLines"] != 2 {
		t.Fatalf("log %q %v", text(lg), details(lg))
	}
	if c := h.process(M{"action": "clear", "sessionId": id}); text(c) != "Cleared session "+id+"." {
		t.Fatalf("clear %q", text(c))
	}
	if p := h.process(M{"action": "poll", "sessionId": id, "timeout": 20000}); !p.IsError || text(p) != "No session found for "+id {
		t.Fatalf("poll after clear %q", text(p))
	}
}

func TestSystemEventsInResults(t *testing.T) {
	h := newHarness(t, nil)
	// The sleeps keep each exit out of the exec call's own result, which would carry the event.
	r := h.exec(M{"command": "sleep 0.2; echo hi", "background": true})
	id := details(r)["sessionId"].(string)
	if _, ok := h.sess.next(t, "notifications/message", 5*time.Second); !ok {
		t.Fatal("no exit notification")
	}
	l := h.process(M{"action": "list"})
	want := "System: Exec completed (" + id[:8] + ", code 0) :: hi"
	if len(l.Content) != 2 || l.Content[1].(mcp.TextContent).Text != want {
		t.Fatalf("list content %v", l.Content)
	}
	if ev := details(l)["systemEvents"]; len(ev.([]string)) != 1 {
		t.Fatalf("systemEvents %v", ev)
	}
	if l := h.process(M{"action": "list"}); len(l.Content) != 1 {
		t.Fatal("event delivered twice")
	}
	// Events ride on error results too.
	h.exec(M{"command": "sleep 0.2; exit 4", "background": true})
	if _, ok := h.sess.next(t, "notifications/message", 5*time.Second); !ok {
		t.Fatal("no exit notification for exit 4")
	}
	e := h.process(M{"action": "explode"})
	if !e.IsError || text(e) != textBadAction || len(e.Content) != 2 || !strings.HasSuffix(e.Content[1].(mcp.TextContent).Text, ", code 4)") {
		t.Fatalf("error result %q %v", text(e), e.Content)
	}
	// A quiet success is not announced.
	h.exec(M{"command": "true", "background": true})
	if n, ok := h.sess.next(t, "notifications/message", 1500*time.Millisecond); ok {
		t.Fatalf("quiet success announced: %v", n)
	}
}

func TestProcessErrors(t *testing.T) {
	h := newHarness(t, nil)
	long := strings.Repeat("x", 1048577)
	tests := []struct {
		args M
		msg  string
	}{
		{M{}, textBadAction},
		{M{"action": "explode"}, textBadAction},
		{M{"action": "poll"}, "sessionId is required for this action."},
		{M{"action": "poll", "sessionId": "  "}, "sessionId is required for this action."},
		{M{"action": "poll", "sessionId": "nope", "until": "("}, "Invalid until pattern: error parsing regexp: missing closing ): `(`"},
		{M{"action": "poll", "sessionId": "nope", "until": strings.Repeat("a", 1001)}, "Invalid until pattern: longer than 1000 bytes"},
		{M{"action": "poll", "sessionId": "nope", "until": "ok"}, "No session found for nope"},
		{M{"action": "write", "sessionId": "x", "input": "y"}, `Unknown parameter "input" for process. ` + processKnown},
		{M{"action": "write", "sessionId": "x", "data": long}, "data is too long (1048577 bytes; limit 1048576)."},
		{M{"action": "paste", "sessionId": "x", "text": long}, "text is too long (1048589 bytes; limit 1048576)."},
		{M{"action": "paste", "sessionId": "x", "text": "", "bracketed": false}, "No paste text provided."},
		{M{"action": "send-keys", "sessionId": "x", "keys": make([]string, 4097)}, "keys has too many items (4097; limit 4096)."},
		{M{"action": "send-keys", "sessionId": "x", "hex": make([]string, 4097)}, "hex has too many items (4097; limit 4096)."},
		{M{"action": "kill", "sessionId": "x", "signal": "9"}, `Invalid signal "9". Expected one of: TERM, INT, HUP, QUIT, USR1, USR2, KILL.`},
		{M{"action": "poll", "sessionId": "nope-nope", "timeout": 20000}, "No session found for nope-nope"},
		{M{"action": "log", "sessionId": "nope"}, "No session found for nope"},
		{M{"action": "remove", "sessionId": "nope"}, "No session found for nope"},
		{M{"action": "write", "sessionId": "nope"}, "No active session found for nope"},
		{M{"action": "submit", "sessionId": "nope"}, "No active session found for nope"},
		{M{"action": "paste", "sessionId": "nope", "text": "x"}, "No active session found for nope"},
		{M{"action": "send-keys", "sessionId": "nope", "keys": "Enter"}, "No active session found for nope"},
		{M{"action": "kill", "sessionId": "nope"}, "No active session found for nope"},
		{M{"action": "clear", "sessionId": "nope"}, "No finished session found for nope"},
	}
	for _, tc := range tests {
		start := time.Now()
		r := h.process(tc.args)
		if !r.IsError || text(r) != tc.msg {
			t.Errorf("%v: isError %v, %q, want %q", tc.args["action"], r.IsError, text(r), tc.msg)
			continue
		}
		if d := details(r); len(d) != 2 || d["status"] != "failed" || d["error"] != tc.msg {
			t.Errorf("details %v", d)
		}
		if time.Since(start) > time.Second {
			t.Errorf("%v took %v", tc.args, time.Since(start))
		}
	}
}

func TestProcessInputAndKill(t *testing.T) {
	h := newHarness(t, nil)
	// An auto-yielded command has no writable stdin.
	r := h.exec(M{"command": "trap 'echo got-int' INT; while :; do sleep 0.1; done", "yieldMs": 50})
	id := details(r)["sessionId"].(string)
	if w := h.process(M{"action": "write", "sessionId": id, "data": "x"}); text(w) != "Session "+id+" stdin is not writable." {
		t.Fatalf("write to /dev/null stdin: %q", text(w))
	}
	if k := h.process(M{"action": "kill", "sessionId": id, "signal": " sigint "}); text(k) != "Sent SIGINT to session "+id+"." || details(k)["signal"] != "SIGINT" {
		t.Fatalf("kill INT: %q %v", text(k), details(k))
	}
	if k := h.process(M{"action": "kill", "sessionId": id}); text(k) != "Termination requested for session "+id+"." || details(k)["signal"] != "SIGTERM" {
		t.Fatalf("kill: %q", text(k))
	}
	p := h.process(M{"action": "poll", "sessionId": id, "timeout": 5000})
	if details(p)["status"] != "failed" {
		p = h.process(M{"action": "poll", "sessionId": id, "timeout": 5000})
	}
	if d := details(p); d["status"] != "failed" || d["exitReason"] != "manual-cancel" || d["exitSignal"] != "SIGTERM" {
		t.Fatalf("killed poll: %q %v", text(p), d)
	}
	// A killed session is not announced.
	if n, ok := h.sess.next(t, "notifications/message", 500*time.Millisecond); ok {
		t.Fatalf("killed session announced: %v", n)
	}

	// Background stdin: submit, paste, send-keys.
	r = h.exec(M{"command": "cat -v", "background": true})
	id = details(r)["sessionId"].(string)
	if s := h.process(M{"action": "submit", "sessionId": id}); text(s) != "Submitted session "+id+" (sent CR)." {
		t.Fatalf("submit %q", text(s))
	}
	if s := h.process(M{"action": "paste", "sessionId": id, "text": "héllo"}); text(s) != "Pasted 5 chars to session "+id+"." {
		t.Fatalf("paste %q", text(s))
	}
	s := h.process(M{"action": "send-keys", "sessionId": id, "literal": "hi", "hex": []string{"0d", "0x0a", "zz"}, "keys": []string{"Enter"}})
	if text(s) != "Sent 5 bytes to session "+id+".\nWarnings:\n- Invalid hex byte: zz" || len(details(s)["warnings"].([]string)) != 1 {
		t.Fatalf("send-keys %q %v", text(s), details(s))
	}
	if s := h.process(M{"action": "send-keys", "sessionId": id, "keys": []string{" "}}); text(s) != "No key data provided." {
		t.Fatalf("empty keys %q", text(s))
	}
	if rm := h.process(M{"action": "remove", "sessionId": id}); text(rm) != "Removed session "+id+" (termination requested)." {
		t.Fatalf("remove %q", text(rm))
	}
	if p := h.process(M{"action": "poll", "sessionId": id}); text(p) != "No session found for "+id {
		t.Fatalf("poll after remove %q", text(p))
	}
}

func TestPTYCursorModeRefusal(t *testing.T) {
	h := newHarness(t, nil)
	r := h.exec(M{"command": "sleep 30", "pty": true, "background": true})
	id := details(r)["sessionId"].(string)
	if strings.Contains(text(r), "PTY spawn failed") {
		h.process(M{"action": "kill", "sessionId": id, "signal": "KILL"})
		t.Skip("no PTY available: " + text(r))
	}
	s := h.process(M{"action": "send-keys", "sessionId": id, "keys": []string{"up"}})
	if !s.IsError || text(s) != "Session "+id+" cursor key mode is not known yet. Poll or log until startup output appears, then retry send-keys." {
		t.Fatalf("unknown cursor mode: %q", text(s))
	}
	if s := h.process(M{"action": "send-keys", "sessionId": id, "keys": []string{"Enter"}}); s.IsError {
		t.Fatalf("Enter refused: %q", text(s))
	}
	h.process(M{"action": "kill", "sessionId": id, "signal": "KILL"})
}

func TestExecCancel(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithCancel(h.ctx)
	var wg sync.WaitGroup
	var r *mcp.CallToolResult
	wg.Add(1)
	go func() {
		defer wg.Done()
		r = h.call(ctx, "exec", M{"command": "sleep 30", "yieldMs": 60000})
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	cancel()
	wg.Wait()
	if time.Since(start) > time.Second {
		t.Errorf("cancel took %v", time.Since(start))
	}
	if !r.IsError || text(r) != textCancelled || details(r)["exitReason"] != "manual-cancel" {
		t.Fatalf("cancel result %q %v", text(r), details(r))
	}
	if l := h.process(M{"action": "list"}); text(l) != textNoSessions {
		t.Fatalf("cancelled session listed: %q", text(l))
	}
}

func TestExecProgress(t *testing.T) {
	h := newHarness(t, nil)
	req := callReq("exec", M{"command": "for i in 1 2 3; do echo line$i; sleep 0.3; done"})
	req.Params.Meta = &mcp.Meta{ProgressToken: "tok"}
	res, err := h.tl.handleExec(h.ctx, req)
	if err != nil || text(res) != "line1\nline2\nline3" {
		t.Fatalf("exec: %v %q", err, text(res))
	}
	var progress []float64
	var messages []string
	for {
		select {
		case n := <-h.sess.ch:
			if n.Method != "notifications/progress" {
				continue
			}
			f := n.Params.AdditionalFields
			if f["progressToken"] != "tok" {
				t.Fatalf("token %v", f["progressToken"])
			}
			progress = append(progress, float64(f["progress"].(int64)))
			messages = append(messages, f["message"].(string))
			continue
		default:
		}
		break
	}
	if len(progress) < 2 {
		t.Fatalf("progress %v %q", progress, messages)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] <= progress[i-1] {
			t.Fatalf("progress not increasing: %v", progress)
		}
	}
	if !strings.HasPrefix(messages[0], "line") {
		t.Fatalf("messages %q", messages)
	}
	// Nothing follows the result.
	if n, ok := h.sess.next(t, "notifications/progress", 500*time.Millisecond); ok {
		t.Fatalf("progress after the result: %v", n)
	}
}

func TestSynchronousMode(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Tools.Process = false })
	if h.tl.srv.GetTool("process") != nil || h.tl.srv.GetTool("exec") == nil {
		t.Fatal("tool registration")
	}
	if h.tl.srv.GetTool("exec").Tool.Description != execDescriptionSync {
		t.Fatal("exec description in synchronous mode")
	}
	r := h.exec(M{"command": "sleep 0.2; echo ok", "background": true})
	if r.IsError || text(r) != textSyncWarn+"\n\nok" || details(r)["warnings"].([]string)[0] != textSyncWarn {
		t.Fatalf("sync: %q %v", text(r), details(r))
	}
	r = h.exec(M{"command": "cat", "yieldMs": 10})
	if text(r) != textSyncWarn+"\n\n(no output)" {
		t.Fatalf("sync yield: %q", text(r))
	}
}

func TestNoMCPSession(t *testing.T) {
	h := newHarness(t, nil)
	res, err := h.tl.handleExec(context.Background(), callReq("exec", M{"command": "true"}))
	if err != nil || !res.IsError || text(res) != textNoMCP {
		t.Fatalf("exec without session: %v %q", err, text(res))
	}
	res, err = h.tl.handleProcess(context.Background(), callReq("process", M{"action": "list"}))
	if err != nil || !res.IsError || text(res) != textNoMCP || details(res)["status"] != "failed" {
		t.Fatalf("process without session: %v %q", err, text(res))
	}
}

func TestScopes(t *testing.T) {
	h := newHarness(t, nil)
	r := h.exec(M{"command": "sleep 30", "background": true})
	id := details(r)["sessionId"].(string)
	other := newFakeSession("mcp-session-other")
	ctx := h.tl.srv.WithContext(context.Background(), other)
	if err := h.tl.srv.RegisterSession(ctx, other); err != nil {
		t.Fatal(err)
	}
	defer h.tl.srv.UnregisterSession(ctx, other.id)
	if p := h.call(ctx, "process", M{"action": "poll", "sessionId": id}); text(p) != "No session found for "+id {
		t.Fatalf("foreign poll %q", text(p))
	}
	if l := h.call(ctx, "process", M{"action": "list"}); text(l) != textNoSessions {
		t.Fatalf("foreign list %q", text(l))
	}
	h.process(M{"action": "kill", "sessionId": id, "signal": "KILL"})
}

func TestToolRegistration(t *testing.T) {
	h := newHarness(t, nil)
	for _, name := range []string{"exec", "process"} {
		st := h.tl.srv.GetTool(name)
		if st == nil {
			t.Fatalf("%s not registered", name)
		}
		b, err := json.Marshal(st.Tool)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		ann := m["annotations"].(map[string]any)
		wantOpen := name == "exec"
		if ann["readOnlyHint"] != false || ann["destructiveHint"] != true || ann["idempotentHint"] != false ||
			ann["openWorldHint"] != wantOpen || ann["title"] != m["title"] {
			t.Errorf("%s annotations %v", name, ann)
		}
		if m["inputSchema"] == nil || m["outputSchema"] == nil {
			t.Errorf("%s schemas missing", name)
		}
	}
}

func TestPinProtocol(t *testing.T) {
	h := newHarness(t, nil)
	msg := json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`)
	resp := h.tl.srv.HandleMessage(context.Background(), msg)
	b, _ := json.Marshal(resp)
	var got struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &got)
	if got.Error.Code != -32600 || got.Error.Message != "protocol 2026-07-28 not supported; use initialize" {
		t.Fatalf("response %s", b)
	}
	legacy := json.RawMessage(`{"jsonrpc":"2.0","id":2,"method":"ping","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"}}}`)
	b, _ = json.Marshal(h.tl.srv.HandleMessage(context.Background(), legacy))
	if strings.Contains(string(b), `"error"`) {
		t.Fatalf("legacy request rejected: %s", b)
	}
}

func TestInitializeAndSetLevel(t *testing.T) {
	h := newHarness(t, nil)
	init := json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	b, _ := json.Marshal(h.tl.srv.HandleMessage(h.ctx, init))
	var got struct {
		Result struct {
			ServerInfo   struct{ Name, Version string }
			Capabilities map[string]any
			Instructions string
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	caps, _ := json.Marshal(got.Result.Capabilities)
	if got.Result.ServerInfo.Name != "execmcp" || got.Result.ServerInfo.Version != "test" || got.Result.Instructions != instructionsFull ||
		string(caps) != `{"logging":{},"resources":{"subscribe":true},"tools":{}}` {
		t.Fatalf("initialize: %s", b)
	}

	// An explicit level above warning silences exit messages for that session only.
	set := json.RawMessage(`{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"error"}}`)
	if b, _ := json.Marshal(h.tl.srv.HandleMessage(h.ctx, set)); strings.Contains(string(b), `"error":{`) {
		t.Fatalf("setLevel: %s", b)
	}
	// The command outlives the exec call's own result, which would otherwise carry (and take) the event.
	h.exec(M{"command": "sleep 0.2; echo boom; exit 127", "background": true})
	if n, ok := h.sess.next(t, "notifications/message", 1500*time.Millisecond); ok {
		t.Fatalf("message below the set level sent: %v", n)
	}
	// The event is still queued for the next result.
	if l := h.process(M{"action": "list"}); len(l.Content) != 2 {
		t.Fatalf("queued event missing: %v", l.Content)
	}
}

func TestHeartbeatCoalescing(t *testing.T) {
	h := newHarness(t, nil)
	info := func(id string) sessions.Info {
		return sessions.Info{ID: id, Scope: "stdio", Status: "completed", ExitCode: intp(0), ExitReason: "exit",
			Tail: "out " + id, NotifyOnExit: true, Backgrounded: true}
	}
	for _, id := range []string{"aaaa-one", "bbbb-two", "cccc-three"} {
		h.tl.onExit(info(id))
	}
	for range 3 {
		if _, ok := h.sess.next(t, "notifications/message", time.Second); !ok {
			t.Fatal("missing exit message")
		}
	}
	n, ok := h.sess.next(t, "notifications/heartbeat", time.Second)
	if !ok || n.Params.AdditionalFields["scope"] != "stdio" || n.Params.AdditionalFields["reason"] != "exec-event" {
		t.Fatalf("heartbeat %v %v", ok, n)
	}
	if _, ok := h.sess.next(t, "notifications/heartbeat", 600*time.Millisecond); ok {
		t.Fatal("second heartbeat for one burst")
	}
	if ev := h.tl.takeEvents("stdio"); len(ev) != 3 {
		t.Fatalf("events %q", ev)
	}
}
