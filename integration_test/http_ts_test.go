package integration_test

// Real clients: the official MCP TypeScript SDK (testdata/tsclient, over stdio and Streamable HTTP) and the MCP
// Inspector CLI over Streamable HTTP with a bearer token.
//
// The TypeScript SDK is installed with `npm ci` from testdata/tsclient/package-lock.json into a cache directory
// (os.UserCacheDir()/execmcp-tsclient/<hash of the lock file>), once; later runs reuse it. The tests skip only when
// node / npm / npx are missing or the npm registry cannot be reached.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	tsOnce    sync.Once
	tsDir     string
	tsSkip    string
	tsFailure string
)

// networkTrouble reports whether npm output says the registry cannot be reached.
func networkTrouble(out string) bool {
	for _, s := range []string{"ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "ENETUNREACH", "network request", "getaddrinfo"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

// tsClientDir installs the TypeScript client's dependencies (once) and returns the directory to run it from.
func tsClientDir(t *testing.T) string {
	t.Helper()
	tsOnce.Do(func() {
		for _, tool := range []string{"node", "npm"} {
			if _, err := exec.LookPath(tool); err != nil {
				tsSkip = tool + " is not installed"
				return
			}
		}
		src := filepath.Join("testdata", "tsclient")
		pkg, err1 := os.ReadFile(filepath.Join(src, "package.json"))
		lock, err2 := os.ReadFile(filepath.Join(src, "package-lock.json"))
		script, err3 := os.ReadFile(filepath.Join(src, "client.mjs"))
		channel, err4 := os.ReadFile(filepath.Join(src, "channel.mjs"))
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			tsFailure = fmt.Sprintf("reading %s: %v %v %v %v", src, err1, err2, err3, err4)
			return
		}
		sum := sha256.Sum256(append(append([]byte(nil), pkg...), lock...))
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "execmcp-tsclient", hex.EncodeToString(sum[:6]))
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk", "package.json")); err != nil {
			if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
				tsFailure = err.Error()
				return
			}
			tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
			if err != nil {
				tsFailure = err.Error()
				return
			}
			defer os.RemoveAll(tmp)
			os.WriteFile(filepath.Join(tmp, "package.json"), pkg, 0o644)
			os.WriteFile(filepath.Join(tmp, "package-lock.json"), lock, 0o644)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
			cmd.Dir = tmp
			out, err := cmd.CombinedOutput()
			if err != nil {
				if networkTrouble(string(out)) {
					tsSkip = "the npm registry is unreachable: " + strings.TrimSpace(string(out))
				} else {
					tsFailure = fmt.Sprintf("npm ci: %v\n%s", err, out)
				}
				return
			}
			os.RemoveAll(dir)
			if err := os.Rename(tmp, dir); err != nil {
				tsFailure = err.Error()
				return
			}
		}
		for file, content := range map[string][]byte{"client.mjs": script, "channel.mjs": channel} {
			if err := os.WriteFile(filepath.Join(dir, file), content, 0o644); err != nil {
				tsFailure = err.Error()
				return
			}
		}
		tsDir = dir
	})
	if tsSkip != "" {
		t.Skip(tsSkip)
	}
	if tsFailure != "" {
		t.Fatal(tsFailure)
	}
	return tsDir
}

// tsResult is what client.mjs prints.
type tsResult struct {
	Error           string         `json:"error"`
	Mode            string         `json:"mode"`
	ServerPid       int            `json:"serverPid"`
	MCPSessionID    string         `json:"mcpSessionId"`
	ProtocolVersion string         `json:"protocolVersion"`
	ServerInfo      map[string]any `json:"serverInfo"`
	Tools           []string       `json:"tools"`
	Foreground      struct {
		Text    string `json:"text"`
		Status  string `json:"status"`
		IsError bool   `json:"isError"`
	} `json:"foreground"`
	Background struct {
		Status    string `json:"status"`
		SessionID string `json:"sessionId"`
		Pid       int    `json:"pid"`
		IsError   bool   `json:"isError"`
	} `json:"background"`
	WaitedMs     int `json:"waitedMs"`
	ExitMessages []struct {
		Level  string         `json:"level"`
		Logger string         `json:"logger"`
		Data   map[string]any `json:"data"`
	} `json:"exitMessages"`
}

// runTSClient runs client.mjs with args and decodes its output.
func runTSClient(t *testing.T, dir string, args ...string) tsResult {
	t.Helper()
	var res tsResult
	runTSScript(t, dir, "client.mjs", &res, args...)
	if res.Error != "" {
		t.Fatalf("node client.mjs %v failed: %s", args, res.Error)
	}
	return res
}

// runTSScript runs a script of testdata/tsclient with args and decodes the JSON object it prints into res.
func runTSScript(t *testing.T, dir, script string, res any, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the node process group we started, if anything is left
	}
	if jerr := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), res); jerr != nil {
		t.Fatalf("node %s %v: %v; stdout %q stderr %q", script, args, err, stdout.String(), stderr.String())
	}
	if err != nil {
		t.Fatalf("node %s %v failed: %v; stdout %q stderr %s", script, args, err, stdout.String(), stderr.String())
	}
}

// The TypeScript SDK as Claude Code: the channel capability and instructions in initialize, and the watcher and
// exit events as notifications/claude/channel; as another client: none of them.
func TestTSClientChannelEvents(t *testing.T) {
	par(t)
	dir := tsClientDir(t)
	type channelResult struct {
		Error        string         `json:"error"`
		Experimental map[string]any `json:"experimental"`
		Instructions string         `json:"instructions"`
		SessionID    string         `json:"sessionId"`
		Channel      []channelEvent `json:"channel"`
	}
	for _, name := range []string{"claude-code", "execmcp-ts-test"} {
		t.Run(name, func(t *testing.T) {
			work, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			var res channelResult
			runTSScript(t, dir, "channel.mjs", &res, binPath, work, name)
			if res.Error != "" {
				t.Fatalf("channel.mjs: %s", res.Error)
			}
			_, declared := res.Experimental["claude/channel"]
			hinted := strings.Contains(res.Instructions, `<channel source="execmcp">`)
			if name != "claude-code" {
				if declared || hinted || len(res.Channel) != 0 {
					t.Errorf("another client got capability %v, instructions %v, %d channel events", declared, hinted, len(res.Channel))
				}
				return
			}
			if !declared || !hinted {
				t.Errorf("capability %v, instructions %v; want both", declared, hinted)
			}
			id := res.SessionID
			if len(res.Channel) != 2 {
				t.Fatalf("channel events %+v, want an output and an exit event", res.Channel)
			}
			out, exit := res.Channel[0], res.Channel[1]
			if out.Content != "Exec output ("+id8(id)+") :: READY ts" || out.Meta["event"] != "output" || out.Meta["session_id"] != id {
				t.Errorf("output event %+v", out)
			}
			if exit.Content != "Exec completed ("+id8(id)+", code 0) :: READY ts bye" || exit.Meta["event"] != "exit" ||
				exit.Meta["session_id"] != id || exit.Meta["exit_code"] != "0" || exit.Meta["status"] != "completed" {
				t.Errorf("exit event %+v", exit)
			}
		})
	}
}

func checkTSResult(t *testing.T, res tsResult) {
	t.Helper()
	if res.ServerInfo["name"] != "execmcp" {
		t.Errorf("serverInfo = %v, want name execmcp", res.ServerInfo)
	}
	if strings.Join(res.Tools, ",") != "exec,process" {
		t.Errorf("tools = %v, want exec, process", res.Tools)
	}
	if res.Foreground.Text != "hi" || res.Foreground.Status != "completed" || res.Foreground.IsError {
		t.Errorf("exec echo hi = %+v", res.Foreground)
	}
	id := res.Background.SessionID
	if res.Background.Status != "running" || !idRe.MatchString(id) || res.Background.IsError {
		t.Fatalf("background exec = %+v", res.Background)
	}
	if len(res.ExitMessages) != 1 {
		t.Fatalf("%d exit notifications for %s (waited %d ms), want exactly 1", len(res.ExitMessages), id, res.WaitedMs)
	}
	m := res.ExitMessages[0]
	want := "Exec completed (" + id8(id) + ", code 0) :: ts-ok"
	if m.Level != "info" || m.Logger != "exec" || m.Data["event"] != "exec.exit" || m.Data["sessionId"] != id || m.Data["text"] != want {
		t.Errorf("exit notification = level %q logger %q data %v, want info/exec/exec.exit text %q", m.Level, m.Logger, m.Data, want)
	}
	if res.WaitedMs > 5000 {
		t.Errorf("the exit notification came %d ms after the background call (command: sleep 0.3)", res.WaitedMs)
	}
	t.Logf("TypeScript SDK over %s: exit notification %d ms after the background call returned", res.Mode, res.WaitedMs)
}

// The TypeScript SDK receives the exit notification over stdio (StdioClientTransport spawning the binary) and over
// Streamable HTTP.
func TestTSClientExitNotification(t *testing.T) {
	par(t)
	dir := tsClientDir(t)
	t.Run("stdio", func(t *testing.T) {
		work, err := filepath.EvalSymlinks(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		res := runTSClient(t, dir, "stdio", binPath, work)
		checkTSResult(t, res)
		if res.ServerPid <= 1 {
			t.Errorf("no server pid reported")
		} else if !waitFor(10*time.Second, func() bool { return !pidAlive(res.ServerPid) }) {
			t.Errorf("the stdio server %d spawned by the TypeScript client survived its close", res.ServerPid)
			syscall.Kill(res.ServerPid, syscall.SIGKILL)
		}
		b, err := os.ReadFile(filepath.Join(work, "ts-pgid"))
		var pg int
		if _, serr := fmt.Sscan(string(b), &pg); err != nil || serr != nil || pg <= 1 {
			t.Errorf("ts-pgid: %q %v", b, err)
		} else if !waitFor(5*time.Second, func() bool { return pgGone(pg) }) {
			t.Errorf("the background group %d survived: %v", pg, groupMembers(pg))
			syscall.Kill(-pg, syscall.SIGKILL)
		}
	})
	t.Run("http", func(t *testing.T) {
		hs := StartHTTPServer(t, HTTPOptions{AuthToken: sharedToken})
		res := runTSClient(t, dir, "http", hs.Base+"/mcp", sharedToken, hs.Dir)
		hs.ReadPgid(hs.Dir, "ts-pgid")
		checkTSResult(t, res)
		if res.ProtocolVersion != legacyProtocol || !strings.HasPrefix(res.MCPSessionID, "mcp-session-") {
			t.Errorf("protocol %q session %q, want %s with an mcp-session- id", res.ProtocolVersion, res.MCPSessionID, legacyProtocol)
		}
	})
}

const inspectorPackage = "@modelcontextprotocol/inspector@1.0.3"

// MCP Inspector CLI over Streamable HTTP with a bearer token.
func TestInspectorCLIHTTP(t *testing.T) {
	par(t)
	if _, err := exec.LookPath("npx"); err != nil {
		t.Skip("npx is not installed")
	}
	// At debug level the server logs "client initialized", which tells a failed npx fetch from a reached server.
	hs := StartHTTPServer(t, HTTPOptions{AuthToken: sharedToken, Env: []string{"EXECMCP_LOG_LEVEL=debug"}})
	inspector := func(args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		full := append([]string{"-y", inspectorPackage, "--cli", hs.Base + "/mcp", "--transport", "http"}, args...)
		cmd := exec.CommandContext(ctx, "npx", full...)
		cmd.Dir = t.TempDir()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the npx process group we started, if anything is left
		}
		return stdout.String(), stderr.String(), err
	}
	out, errOut, err := inspector("--header", "Authorization: Bearer "+sharedToken,
		"--method", "tools/call", "--tool-name", "exec", "--tool-arg", "command=echo hi")
	if err != nil && networkTrouble(errOut+out) && !strings.Contains(hs.Stderr(), "client initialized") {
		t.Skipf("npx could not fetch %s: %s", inspectorPackage, errOut)
	}
	if err != nil {
		t.Fatalf("inspector tools/call: %v\nstdout %s\nstderr %s", err, out, errOut)
	}
	var r struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StructuredContent map[string]any `json:"structuredContent"`
		IsError           bool           `json:"isError"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("inspector output is not JSON: %v\n%s", err, out)
	}
	if len(r.Content) == 0 || r.Content[0].Text != "hi" || r.StructuredContent["status"] != "completed" || r.IsError {
		t.Errorf("inspector tools/call exec echo hi = %s", out)
	}
	// Without the header the server answers 401 and the Inspector fails.
	out, errOut, err = inspector("--method", "tools/list")
	if err == nil {
		t.Errorf("inspector without the token succeeded: %s", out)
	}
	if !strings.Contains(hs.Stderr(), `msg="unauthorized request"`) {
		t.Errorf("no unauthorized request logged for the Inspector without a token (stderr of npx: %s)", errOut)
	}
}
