package integration_test

// The server over stdio and its command line: stdio hygiene, tool metadata and schemas, the stdio worker pool, and
// CLI and config errors (docs/reference.md#stdio, docs/reference.md#tool-schemas, docs/reference.md#command-line,
// docs/reference.md#configuration).

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
)

const (
	execDescription    = "Execute shell commands with background continuation for work that starts now. Use yieldMs/background to continue later via process tool. For long-running work started now, rely on automatic completion wake when it is enabled and the command emits output or fails; otherwise use process to confirm completion. Use process whenever you need logs, status, input, or intervention. Use pty=true for TTY-required commands (terminal UIs, coding agents). background=true keeps stdin open for process write (close it with eof=true); other non-PTY runs get no stdin."
	processDescription = "Manage running exec sessions for commands already started: list, poll, log, write, send-keys, submit, paste, kill, screen, resize. Use poll/log when you need status, logs, quiet-success confirmation, or completion confirmation when automatic completion wake is unavailable. Use write/send-keys/submit/paste/kill for input or intervention. Use screen to see what the terminal of a pty session shows now (full-screen programs, menus, prompts) and resize to change its size."
)

// stdio hygiene: serverInfo and capabilities, both tools with their descriptions, titles, explicit annotations
// and strict schemas, only JSON-RPC on stdout, logs on stderr only (docs/reference.md#stdio,
// docs/reference.md#tool-schemas).
func TestI67StdioHygiene(t *testing.T) {
	par(t)
	// At debug level the server logs every session and client: all of it must go to stderr, none to stdout.
	s := StartServer(t, Options{Raw: true, Env: []string{"EXECMCP_LOG_LEVEL=debug"}})
	c := s.Raw()
	init := c.Initialize(legacyProtocol)
	if si, _ := init["serverInfo"].(map[string]any); si["name"] != "execmcp" {
		t.Errorf("serverInfo = %v, want name execmcp", init["serverInfo"])
	}
	if init["protocolVersion"] != legacyProtocol {
		t.Errorf("protocolVersion = %v, want %s", init["protocolVersion"], legacyProtocol)
	}
	caps, _ := init["capabilities"].(map[string]any)
	for _, k := range []string{"tools", "logging", "resources"} {
		if _, ok := caps[k]; !ok {
			t.Errorf("capabilities lack %q: %v", k, caps)
		}
	}

	m := c.Request("tools/list", map[string]any{})
	var lt struct {
		Tools []map[string]any `json:"tools"`
	}
	if err := json.Unmarshal(m.Result, &lt); err != nil {
		t.Fatalf("tools/list: %v (%s)", err, m.Raw)
	}
	want := map[string]struct {
		desc, title string
		ann         map[string]bool
	}{
		"exec":    {execDescription, "Run shell command", map[string]bool{"readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": true}},
		"process": {processDescription, "Manage exec sessions", map[string]bool{"readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": false}},
	}
	schemas := map[string]*jsonschema.Resolved{}
	var names []string
	for _, tl := range lt.Tools {
		name, _ := tl["name"].(string)
		names = append(names, name)
		w, ok := want[name]
		if !ok {
			continue
		}
		if tl["description"] != w.desc {
			t.Errorf("%s description = %q\nwant %q", name, tl["description"], w.desc)
		}
		ann, _ := tl["annotations"].(map[string]any)
		for k, v := range w.ann {
			got, present := ann[k]
			if !present {
				t.Errorf("%s annotation %s is not explicit", name, k)
			} else if got != v {
				t.Errorf("%s annotation %s = %v, want %v", name, k, got, v)
			}
		}
		if ann["title"] != w.title {
			t.Errorf("%s annotation title = %v, want %q", name, ann["title"], w.title)
		}
		in, _ := tl["inputSchema"].(map[string]any)
		if in["additionalProperties"] != false || in["type"] != "object" {
			t.Errorf("%s inputSchema: additionalProperties = %v, type = %v", name, in["additionalProperties"], in["type"])
		}
		out, _ := tl["outputSchema"].(map[string]any)
		req, _ := out["required"].([]any)
		hasStatus := false
		for _, r := range req {
			hasStatus = hasStatus || r == "status"
		}
		if !hasStatus {
			t.Errorf("%s outputSchema does not require status: %v", name, out["required"])
		}
		rs, err := resolveSchema(out)
		if err != nil {
			t.Errorf("%s outputSchema does not resolve: %v", name, err)
		} else {
			schemas[name] = rs
		}
	}
	if strings.Join(names, ",") != "exec,process" && strings.Join(names, ",") != "process,exec" {
		t.Errorf("tools = %v, want exec and process", names)
	}

	// Tool results, isError ones included, validate against the output schemas.
	calls := []struct {
		tool string
		args any
	}{
		{"exec", map[string]any{"command": "echo hi"}},
		{"exec", map[string]any{"command": "exit 3"}},
		{"exec", map[string]any{"command": "definitely-not-a-command-xyz"}},
		{"exec", map[string]any{"command": "sleep 30", "background": true}},
		{"exec", map[string]any{"command": ""}},
		{"exec", map[string]any{"command": "true", "bogus": 1}},
		{"exec", []any{1, 2}},
		{"exec", map[string]any{"command": "true", "workdir": "nope"}},
		{"process", map[string]any{"action": "list"}},
		{"process", map[string]any{"action": "poll", "sessionId": "nope-nope"}},
		{"process", map[string]any{"action": "explode"}},
		{"process", map[string]any{"action": "log", "sessionId": "nope-nope"}},
	}
	var bgID string
	for _, cl := range calls {
		r, msg := c.CallTool(cl.tool, cl.args)
		if r == nil {
			t.Errorf("%s %v: JSON-RPC error %s", cl.tool, cl.args, msg.Error)
			continue
		}
		if r.Str("status") == "running" {
			bgID = r.Str("sessionId")
			s.TrackPG(r.Int("pid"), "raw background")
		}
		if r.SC == nil {
			t.Errorf("%s %v: no structuredContent: %s", cl.tool, cl.args, msg.Raw)
			continue
		}
		if rs := schemas[cl.tool]; rs != nil {
			if err := rs.Validate(r.SC); err != nil {
				t.Errorf("%s %v: result does not validate: %v\n%s", cl.tool, cl.args, err, msg.Raw)
			}
		}
	}
	r, _ := c.CallTool("exec", []any{1, 2})
	if r != nil {
		wantExecError(t, r, "Invalid arguments: expected an object.")
	}
	if bgID != "" {
		r, _ := c.CallTool("process", map[string]any{"action": "poll", "sessionId": bgID})
		if r != nil && schemas["process"] != nil {
			if err := schemas["process"].Validate(r.SC); err != nil {
				t.Errorf("running poll does not validate: %v", err)
			}
		}
	}
	// A custom notification the server does not know and a ping are harmless.
	c.Send(map[string]any{"jsonrpc": "2.0", "method": "notifications/heartbeat", "params": map[string]any{"x": 1}})
	if m := c.Request("ping", nil); len(m.Error) > 0 {
		t.Errorf("ping: %s", m.Error)
	}
	// Unknown tool: a JSON-RPC error, not a crash.
	if _, m := c.CallTool("nope", map[string]any{}); len(m.Error) == 0 {
		t.Errorf("unknown tool did not give a JSON-RPC error: %s", m.Raw)
	}
	s.Stop(0)
	if bad := s.tap.badLines(); len(bad) > 0 {
		t.Errorf("non-JSON-RPC lines on stdout: %q", bad)
	}
	if !strings.Contains(s.Stderr(), "level=") {
		t.Errorf("no slog lines on stderr: %q", s.Stderr())
	}
}

// Ten foreground calls waiting at once do not block a process list on stdio (docs/reference.md#stdio).
func TestI69StdioWorkerPool(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.Exec(`sleep 3`, "yieldMs", 60000)
			if r.Str("status") != "completed" {
				t.Errorf("sleep 3: %s", r)
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	r := s.Proc("list")
	// Blocked behind the sleeps it would take at least 2.3 s; 2 s leaves a loaded CI machine room.
	within(t, r, 2*time.Second, "process list next to ten waiting execs")
	wantText(t, r, noSessionsText)
	wg.Wait()
}

// runCLI runs the binary to completion with the given args and env in dir.
func runCLI(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	touchSourcesOnce()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(dir, false), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			t.Fatalf("running execmcp %v: %v", args, err)
		}
	}
	return o.String(), e.String(), code
}

func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// CLI and config errors: --version, --help, an unknown flag, unknown or mistyped config keys, bad and clamped
// environment values, and --config / EXECMCP_CONFIG (docs/reference.md#command-line,
// docs/reference.md#configuration).
func TestI73CLIAndConfigErrors(t *testing.T) {
	par(t)
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, errOut, code := runCLI(t, dir, nil, "--version")
	if code != 0 || !strings.HasPrefix(out, "execmcp ") || strings.Count(out, "\n") != 1 {
		t.Errorf("--version: code %d stdout %q stderr %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, dir, nil, "--help")
	if code != 0 || !strings.Contains(out, "listen") {
		t.Errorf("--help: code %d stdout %q stderr %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, dir, nil, "--bogus")
	if code != 2 || out != "" || errOut == "" {
		t.Errorf("--bogus: code %d stdout %q stderr %q, want 2 with usage on stderr", code, out, errOut)
	}
	write("bad-key.json", `{"tools": {"exec": {"yieldMs": 100}}}`)
	out, errOut, code = runCLI(t, dir, nil, "--config", "bad-key.json")
	if code != 1 || out != "" || !hasLine(errOut, `execmcp: config bad-key.json: unknown key "tools.exec.yieldMs"`) {
		t.Errorf("unknown key: code %d stdout %q stderr %q", code, out, errOut)
	}
	write("bad-type.json", `{"tools": {"exec": {"timeoutSec": "10"}}}`)
	out, errOut, code = runCLI(t, dir, []string{"EXECMCP_CONFIG=bad-type.json"})
	if code != 1 || out != "" || !strings.Contains(errOut, "tools.exec.timeoutSec") {
		t.Errorf("timeoutSec string: code %d stdout %q stderr %q", code, out, errOut)
	} else if !hasLine(errOut, "execmcp: config bad-type.json: tools.exec.timeoutSec: expected a number, got string") {
		t.Errorf("timeoutSec string: stderr %q lacks the exact type error line", errOut)
	}
	out, errOut, code = runCLI(t, dir, []string{"PI_BASH_YIELD_MS=abc"})
	if code != 1 || out != "" || !strings.Contains(errOut, "PI_BASH_YIELD_MS") {
		t.Errorf("PI_BASH_YIELD_MS=abc: code %d stdout %q stderr %q", code, out, errOut)
	} else if !hasLine(errOut, `execmcp: invalid value for PI_BASH_YIELD_MS: "abc" is not an integer`) {
		t.Errorf("PI_BASH_YIELD_MS=abc: stderr %q lacks the exact line", errOut)
	}

	t.Run("clamp-warning", func(t *testing.T) {
		s := StartServer(t, Options{Env: []string{"PI_BASH_JOB_TTL_MS=5"}})
		wantText(t, s.Exec(`echo up`), "up")
		e := s.Stderr()
		found := false
		for _, l := range strings.Split(e, "\n") {
			if strings.Contains(l, "setting clamped") && strings.Contains(l, "PI_BASH_JOB_TTL_MS") && strings.Contains(l, "used=60000") {
				found = true
			}
		}
		if !found {
			t.Errorf("stderr lacks the setting clamped warning with used=60000:\n%s", e)
		}
	})
	// Both --config and EXECMCP_CONFIG load the file (backgroundMs 200 makes sleep 3 yield).
	t.Run("config-flag", func(t *testing.T) {
		d, _ := filepath.EvalSymlinks(t.TempDir())
		os.WriteFile(filepath.Join(d, "c.json"), []byte(`{"tools": {"exec": {"backgroundMs": 200}}}`), 0o644)
		s := startServerIn(t, d, d, Options{Args: []string{"--config", "c.json"}})
		r := s.Exec(`sleep 3`)
		within(t, r, 2500*time.Millisecond, "exec with --config backgroundMs 200")
		wantStatus(t, r, "running")
	})
	t.Run("config-env", func(t *testing.T) {
		s := StartServer(t, Options{Config: `{"tools": {"exec": {"backgroundMs": 200}}}`})
		r := s.Exec(`sleep 3`)
		within(t, r, 2500*time.Millisecond, "exec with EXECMCP_CONFIG backgroundMs 200")
		wantStatus(t, r, "running")
	})
}
