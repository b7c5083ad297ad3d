package integration_test

// Tool calls: the decoded Result, calls through the SDK client (each result validated against the tool's output
// schema), the helpers shared by the stdio and HTTP clients, notification helpers, and the raw JSON-RPC line
// client for requests the SDK would not send.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Result is a decoded tool result.
type Result struct {
	Text    string   // content[0].text
	Texts   []string // all text content items
	SC      map[string]any
	IsError bool
	Elapsed time.Duration
	Size    int // bytes of the JSON-RPC response line, when known (0 = unknown)
}

func (r *Result) String() string {
	sc, _ := json.Marshal(r.SC)
	return fmt.Sprintf("isError=%v text=%q structured=%s extra=%q", r.IsError, r.Text, sc, r.Texts[min(1, len(r.Texts)):])
}

// Str returns a string field of the structured content ("" when absent or not a string).
func (r *Result) Str(k string) string { v, _ := r.SC[k].(string); return v }

// Num returns a numeric field of the structured content.
func (r *Result) Num(k string) (float64, bool) { v, ok := r.SC[k].(float64); return v, ok }

// Int returns a numeric field as int, or -1<<31 when absent.
func (r *Result) Int(k string) int {
	v, ok := r.SC[k].(float64)
	if !ok {
		return -1 << 31
	}
	return int(v)
}

// Bool returns a boolean field.
func (r *Result) Bool(k string) (bool, bool) { v, ok := r.SC[k].(bool); return v, ok }

// IsNull reports whether k is present with value null.
func (r *Result) IsNull(k string) bool { v, ok := r.SC[k]; return ok && v == nil }

// Has reports whether k is present.
func (r *Result) Has(k string) bool { _, ok := r.SC[k]; return ok }

func decodeStructured(v any) map[string]any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

func kv(pairs ...any) map[string]any {
	if len(pairs)%2 != 0 {
		panic("kv: odd number of arguments")
	}
	m := map[string]any{}
	for i := 0; i < len(pairs); i += 2 {
		m[pairs[i].(string)] = pairs[i+1]
	}
	return m
}

// newResult converts an SDK tool result: its text contents (a placeholder for any other kind) and structured content.
func newResult(res *mcp.CallToolResult, elapsed time.Duration) *Result {
	r := &Result{IsError: res.IsError, Elapsed: elapsed}
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			r.Texts = append(r.Texts, tc.Text)
		} else {
			r.Texts = append(r.Texts, fmt.Sprintf("<non-text content %T>", c))
		}
	}
	if len(r.Texts) > 0 {
		r.Text = r.Texts[0]
	}
	r.SC = decodeStructured(res.StructuredContent)
	return r
}

// CallCtx calls a tool with the SDK client.
func (s *Server) CallCtx(ctx context.Context, tool string, args map[string]any, progressToken any) (*Result, error) {
	params := &mcp.CallToolParams{Name: tool, Arguments: args}
	if progressToken != nil {
		params.SetProgressToken(progressToken)
	}
	start := time.Now()
	before := len(s.Messages())
	res, err := s.Sess.CallTool(ctx, params)
	if err != nil {
		return nil, err
	}
	r := newResult(res, time.Since(start))
	// The size of the response line, if exactly one response arrived meanwhile.
	var n, size int
	for _, m := range s.Messages()[before:] {
		if m.isResponse() {
			n++
			size = m.Size
		}
	}
	if n == 1 {
		r.Size = size
	}
	s.observe(tool, r)
	return r, nil
}

// Call calls a tool and fails the test on a protocol error. The call is bounded by 90 s.
func (s *Server) Call(tool string, args map[string]any) *Result {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r, err := s.CallCtx(ctx, tool, args, nil)
	if err != nil {
		s.t.Fatalf("tools/call %s %v: %v", tool, args, err)
	}
	return r
}

// calls are the tool-call helpers that the stdio Server and the HTTP HClient share, built on the transport's own
// Call (which validates every result and fails the test on a protocol error).
type calls struct {
	t    testing.TB
	call func(tool string, args map[string]any) *Result
}

// Exec calls exec with command and extra key/value pairs.
func (c calls) Exec(command string, pairs ...any) *Result {
	c.t.Helper()
	args := kv(pairs...)
	args["command"] = command
	return c.call("exec", args)
}

// Proc calls process with action and extra key/value pairs.
func (c calls) Proc(action string, pairs ...any) *Result {
	c.t.Helper()
	args := kv(pairs...)
	args["action"] = action
	return c.call("process", args)
}

// observe validates a result against the tool's output schema and records process groups.
func (s *Server) observe(tool string, r *Result) {
	s.outSchemas.observe(s.t, s.Sess, s.TrackPG, tool, r)
}

// schemaCache holds the output schemas a client listed, resolved on first use.
type schemaCache struct {
	once    sync.Once
	schemas map[string]*jsonschema.Resolved
}

// observe validates a result against the tool's output schema (tools/list through sess, once) and records the
// process group of a running exec result with track.
func (c *schemaCache) observe(t testing.TB, sess *mcp.ClientSession, track func(int, string), tool string, r *Result) {
	if r.Str("status") == "running" && tool == "exec" {
		if pid := r.Int("pid"); pid > 1 {
			track(pid, "session "+r.Str("sessionId"))
		}
	}
	c.once.Do(func() { c.schemas = listSchemas(t, sess) })
	if rs := c.schemas[tool]; rs != nil {
		if r.SC == nil {
			t.Errorf("%s result without structuredContent: %s", tool, r)
		} else if err := rs.Validate(r.SC); err != nil {
			t.Errorf("%s result does not validate against its output schema: %v\nresult: %s", tool, err, r)
		}
	}
}

// listSchemas resolves the output schemas of the tools sess lists.
func listSchemas(t testing.TB, sess *mcp.ClientSession) map[string]*jsonschema.Resolved {
	m := map[string]*jsonschema.Resolved{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	lt, err := sess.ListTools(ctx, nil)
	if err != nil {
		t.Errorf("tools/list: %v", err)
		return m
	}
	for _, tl := range lt.Tools {
		if tl.OutputSchema == nil {
			continue
		}
		rs, err := resolveSchema(tl.OutputSchema)
		if err != nil {
			t.Errorf("output schema of %s: %v", tl.Name, err)
			continue
		}
		m[tl.Name] = rs
	}
	return m
}

func resolveSchema(v any) (*jsonschema.Resolved, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var sc jsonschema.Schema
	if err := json.Unmarshal(b, &sc); err != nil {
		return nil, err
	}
	return sc.Resolve(nil)
}

// ---------------------------------------------------------------------------------------------------------------
// higher-level helpers

// Background starts command with background:true and returns the session id and pid.
func (c calls) Background(command string, pairs ...any) (string, int) {
	c.t.Helper()
	r := c.Exec(command, append(pairs, "background", true)...)
	return c.mustRunning(r, command)
}

func (c calls) mustRunning(r *Result, command string) (string, int) {
	c.t.Helper()
	if r.IsError || r.Str("status") != "running" {
		c.t.Fatalf("exec %q: want a running result, got %s", command, r)
	}
	id, pid := r.Str("sessionId"), r.Int("pid")
	if want := fmt.Sprintf(runningTextFmt, id, pid); !strings.HasPrefix(r.Text, want) {
		c.t.Errorf("running text = %q, want prefix %q", r.Text, want)
	}
	return id, pid
}

// ListEntry returns the list entry of id (nil when absent) and the list result.
func (c calls) ListEntry(id string) (map[string]any, *Result) {
	c.t.Helper()
	r := c.Proc("list")
	sessions, _ := r.SC["sessions"].([]any)
	for _, e := range sessions {
		m, _ := e.(map[string]any)
		if m["sessionId"] == id {
			return m, r
		}
	}
	return nil, r
}

// WaitFinished waits (with process list) until the session is finished and returns its list entry.
func (s *Server) WaitFinished(id string, d time.Duration) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		e, r := s.ListEntry(id)
		if e == nil {
			s.t.Fatalf("session %s is not listed; list: %s", id, r)
		}
		if e["status"] != "running" {
			return e
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("session %s did not finish within %v; entry %v", id, d, e)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PollUntilDone polls (timeout 3000) until the session has finished; it returns all poll texts.
func (s *Server) PollUntilDone(id string, d time.Duration) ([]string, *Result) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	var texts []string
	for {
		r := s.Proc("poll", "sessionId", id, "timeout", 3000)
		if r.IsError {
			s.t.Fatalf("poll %s: %s", id, r)
		}
		texts = append(texts, r.Text)
		if r.Str("status") != "running" {
			return texts, r
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("session %s still running after %v; polls %q", id, d, texts)
		}
	}
}

// Notes returns the notifications with the given method seen so far.
func (s *Server) Notes(method string) []message {
	var out []message
	for _, m := range s.Messages() {
		if m.isNotification() && m.Method == method {
			out = append(out, m)
		}
	}
	return out
}

// ExitMessage is a decoded notifications/message of an exit event.
type ExitMessage struct {
	At     time.Time
	Level  string
	Logger string
	Data   map[string]any
}

func (e ExitMessage) Text() string { s, _ := e.Data["text"].(string); return s }

// ExitMessages returns the notifications/message whose data.sessionId is id ("" = all with logger exec).
func (s *Server) ExitMessages(id string) []ExitMessage {
	var out []ExitMessage
	for _, m := range s.Notes("notifications/message") {
		if e, ok := decodeExitMessage(m, id); ok {
			out = append(out, e)
		}
	}
	return out
}

// decodeExitMessage decodes a notifications/message; ok is false when it is not one of session id ("" = any).
func decodeExitMessage(m message, id string) (ExitMessage, bool) {
	var p struct {
		Level  string         `json:"level"`
		Logger string         `json:"logger"`
		Data   map[string]any `json:"data"`
	}
	if json.Unmarshal(m.Params, &p) != nil || id != "" && p.Data["sessionId"] != id {
		return ExitMessage{}, false
	}
	return ExitMessage{At: m.At, Level: p.Level, Logger: p.Logger, Data: p.Data}, true
}

// WaitExitMessages waits until at least n exit messages for id arrived (fewer on timeout).
func (s *Server) WaitExitMessages(id string, n int, d time.Duration) []ExitMessage {
	var msgs []ExitMessage
	awaitTap(d, func() <-chan struct{} { _, ch := s.tap.snapshot(); return ch }, func() bool {
		msgs = s.ExitMessages(id)
		return len(msgs) >= n
	})
	return msgs
}

// awaitTap evaluates cond, and again each time the tap records a message (changed returns the channel closed at
// the next one), until cond holds or d has passed.
func awaitTap(d time.Duration, changed func() <-chan struct{}, cond func() bool) {
	deadline := time.Now().Add(d)
	for {
		ch := changed()
		if cond() {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		select {
		case <-ch:
		case <-time.After(left):
		}
	}
}

func id8(id string) string {
	if len(id) < 8 {
		return id
	}
	return id[:8]
}

// ---------------------------------------------------------------------------------------------------------------
// raw JSON-RPC client

// RawClient writes JSON-RPC lines to the server's stdin and reads responses from the tap.
type RawClient struct {
	s      *Server
	mu     sync.Mutex
	nextID int
	done   chan struct{}
	once   sync.Once
}

func newRawClient(s *Server) *RawClient {
	c := &RawClient{s: s, done: make(chan struct{})}
	go func() {
		// Drive the tap; it records every line.
		r := bufio.NewReaderSize(s.tap, 1<<20)
		buf := make([]byte, 1<<16)
		for {
			if _, err := r.Read(buf); err != nil {
				return
			}
		}
	}()
	return c
}

func (c *RawClient) close() { c.once.Do(func() { close(c.done) }) }

// Raw returns the raw client of a server started with Options.Raw.
func (s *Server) Raw() *RawClient {
	if s.raw == nil {
		s.t.Fatal("server was not started with Options.Raw")
	}
	return s.raw
}

// Send writes one line (a JSON value marshalled, or a string/[]byte verbatim).
func (c *RawClient) Send(v any) {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		var err error
		b, err = json.Marshal(v)
		if err != nil {
			c.s.t.Fatal(err)
		}
	}
	b = append(bytes.TrimRight(b, "\n"), '\n')
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.s.stdinW.Write(b); err != nil {
		c.s.t.Fatalf("writing to server stdin: %v", err)
	}
}

// Request sends a request and waits (30 s) for its response.
func (c *RawClient) Request(method string, params any) message {
	c.s.t.Helper()
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.mu.Unlock()
	req := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	c.Send(req)
	return c.WaitResponse(strconv.Itoa(id), 30*time.Second)
}

// WaitResponse waits for the response with the given raw id.
func (c *RawClient) WaitResponse(id string, d time.Duration) message {
	c.s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		msgs, ch := c.s.tap.snapshot()
		for _, m := range msgs {
			if m.isResponse() && m.ID == id {
				return m
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			c.s.t.Fatalf("no response to request %s within %v\nstderr:\n%s", id, d, c.s.Stderr())
		}
		select {
		case <-ch:
		case <-time.After(left):
		case <-c.s.exited:
			c.s.t.Fatalf("server exited while waiting for response %s\nstderr:\n%s", id, c.s.Stderr())
		}
	}
}

// Initialize performs initialize + notifications/initialized with the given protocol version.
func (c *RawClient) Initialize(version string) map[string]any {
	c.s.t.Helper()
	m := c.Request("initialize", map[string]any{
		"protocolVersion": version,
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "raw-test", "version": "1"},
	})
	if len(m.Error) > 0 {
		c.s.t.Fatalf("initialize failed: %s", m.Error)
	}
	var res map[string]any
	if err := json.Unmarshal(m.Result, &res); err != nil {
		c.s.t.Fatalf("initialize result: %v", err)
	}
	c.Send(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
	return res
}

// CallTool sends tools/call with raw arguments (any JSON value, or json.RawMessage).
func (c *RawClient) CallTool(name string, args any) (*Result, message) {
	c.s.t.Helper()
	params := map[string]any{"name": name}
	if args != nil {
		params["arguments"] = args
	}
	start := time.Now()
	m := c.Request("tools/call", params)
	if len(m.Error) > 0 {
		return nil, m
	}
	var res struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StructuredContent map[string]any `json:"structuredContent"`
		IsError           bool           `json:"isError"`
	}
	if err := json.Unmarshal(m.Result, &res); err != nil {
		c.s.t.Fatalf("tools/call result: %v", err)
	}
	r := &Result{IsError: res.IsError, SC: res.StructuredContent, Elapsed: time.Since(start), Size: m.Size}
	for _, ct := range res.Content {
		r.Texts = append(r.Texts, ct.Text)
	}
	if len(r.Texts) > 0 {
		r.Text = r.Texts[0]
	}
	return r, m
}

func itoa(n int) string { return strconv.Itoa(n) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
