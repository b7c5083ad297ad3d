package integration_test

// Reliability: bad input. Malformed requests and arguments over stdio and HTTP get the documented error and leave
// the server serving.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// badCall is one malformed request. Exactly one of args (the raw JSON of params.arguments, "" = absent) with tool,
// or msg (a whole JSON-RPC message, "{N}" for the id) is used. {ID} in either is replaced by a live session id.
type badCall struct {
	name  string
	tool  string
	args  string
	msg   string
	want  string // exact isError text; with a trailing "…" a prefix
	rpc   int    // expected JSON-RPC error code instead of a tool result
	http  int    // expected HTTP status over HTTP instead (413)
	stdio bool   // stdio only
	httpO bool   // HTTP only
}

const (
	execKnownParams    = "Known parameters: title, command, workdir, env, yieldMs, background, timeout, pty, elevated, host, notifyOnOutput, cols, rows."
	processKnownParams = "Known parameters: action, sessionId, data, keys, hex, literal, text, bracketed, eof, offset, limit, timeout, signal, until, pattern, cols, rows, scrollback."
	invalidAction      = "Invalid process action. Expected one of: list, poll, log, write, send-keys, submit, paste, kill, clear, remove, watch, screen, resize."
	invalidSignalFmt   = `Invalid signal "%s". Expected one of: TERM, INT, HUP, QUIT, USR1, USR2, KILL.`
)

// regexpSessionID finds the session id in a running text.
var regexpSessionID = regexp.MustCompile(`^Command still running \(session (\S+), pid `)

func jstr(s string) string { b, _ := json.Marshal(s); return string(b) }

func badCalls() []badCall {
	big2M := strings.Repeat("x", 2<<20)
	big10M := strings.Repeat("x", 10<<20)
	env257 := map[string]string{}
	for i := 0; i < 257; i++ {
		env257[fmt.Sprintf("K%d", i)] = "v"
	}
	env257j, _ := json.Marshal(env257)
	keys4097, _ := json.Marshal(strings.Split(strings.Repeat("a,", 4096)+"a", ","))
	exe := func(name, args, want string) badCall {
		return badCall{name: name, tool: "exec", args: args, want: want}
	}
	pro := func(name, args, want string) badCall {
		return badCall{name: name, tool: "process", args: args, want: want}
	}
	typ := func(p, what string) string { return fmt.Sprintf(`Invalid parameter "%s": expected %s.`, p, what) }
	calls := []badCall{
		// exec: shape and types
		exe("exec/arguments-absent", ``, "Provide a command to start."),
		exe("exec/arguments-null", `null`, "Provide a command to start."),
		exe("exec/arguments-array", `[1]`, "Invalid arguments: expected an object."),
		exe("exec/arguments-string", `"echo hi"`, "Invalid arguments: expected an object."),
		exe("exec/arguments-number", `42`, "Invalid arguments: expected an object."),
		exe("exec/command-missing", `{"timeout":5}`, "Provide a command to start."),
		exe("exec/command-empty", `{"command":""}`, "Provide a command to start."),
		exe("exec/command-number", `{"command":5}`, typ("command", "a string")),
		exe("exec/command-bool", `{"command":true}`, typ("command", "a string")),
		exe("exec/command-array", `{"command":["echo","hi"]}`, typ("command", "a string")),
		exe("exec/command-object", `{"command":{"sh":"echo"}}`, typ("command", "a string")),
		exe("exec/command-NUL", `{"command":"echo a\u0000b"}`, "command must not contain NUL bytes."),
		exe("exec/command-262145-bytes", `{"command":`+jstr(strings.Repeat("x", 262145))+`}`, "command is too long (262145 bytes; limit 262144)."),
		{name: "exec/command-10MB", tool: "exec", args: `{"command":` + jstr(big10M) + `}`, want: "command is too long (10485760 bytes; limit 262144).", http: 413},
		exe("exec/timeout-word", `{"command":"true","timeout":"abc"}`, typ("timeout", "a number")),
		exe("exec/timeout-hex", `{"command":"true","timeout":"0x10"}`, typ("timeout", "a number")),
		exe("exec/timeout-NaN", `{"command":"true","timeout":"NaN"}`, typ("timeout", "a number")),
		exe("exec/timeout-Inf-string", `{"command":"true","timeout":"-Inf"}`, typ("timeout", "a number")),
		exe("exec/timeout-1e999-string", `{"command":"true","timeout":"1e999"}`, typ("timeout", "a number")),
		{name: "exec/timeout-1e999-number", tool: "exec", args: `{"command":"true","timeout":1e999}`, rpc: -32600},
		exe("exec/yieldMs-bool", `{"command":"true","yieldMs":true}`, typ("yieldMs", "a number")),
		exe("exec/yieldMs-array", `{"command":"true","yieldMs":[500]}`, typ("yieldMs", "a number")),
		exe("exec/background-word", `{"command":"true","background":"yes"}`, typ("background", "a boolean")),
		exe("exec/background-number", `{"command":"true","background":1}`, typ("background", "a boolean")),
		exe("exec/pty-word", `{"command":"true","pty":"maybe"}`, typ("pty", "a boolean")),
		exe("exec/elevated-object", `{"command":"true","elevated":{}}`, typ("elevated", "a boolean")),
		exe("exec/host-number", `{"command":"true","host":7}`, typ("host", "a string")),
		exe("exec/host-unknown", `{"command":"true","host":"weird"}`, `Invalid host "weird". Expected one of: auto, sandbox, gateway.`),
		exe("exec/workdir-number", `{"command":"true","workdir":5}`, typ("workdir", "a string")),
		exe("exec/workdir-NUL", `{"command":"true","workdir":"a\u0000b"}`, "workdir must not contain NUL bytes."),
		exe("exec/workdir-5000-bytes", `{"command":"true","workdir":`+jstr(strings.Repeat("d", 5000))+`}`, "workdir is too long (5000 bytes; limit 4096)."),
		exe("exec/env-string", `{"command":"true","env":"A=1"}`, typ("env", "an object of strings")),
		exe("exec/env-array", `{"command":"true","env":["A=1"]}`, typ("env", "an object of strings")),
		exe("exec/env-value-number", `{"command":"true","env":{"A":1}}`, `Invalid parameter "env": value of "A" must be a string.`),
		exe("exec/env-value-object", `{"command":"true","env":{"A":{"b":"c"}}}`, `Invalid parameter "env": value of "A" must be a string.`),
		exe("exec/env-257-entries", `{"command":"true","env":`+string(env257j)+`}`, "env has too many entries (257; limit 256)."),
		exe("exec/env-value-NUL", `{"command":"true","env":{"A":"x\u0000y"}}`, `env entry "A" must not contain NUL bytes.`),
		exe("exec/env-PATH", `{"command":"true","env":{"PATH":"/x"}}`, "Security Violation: Custom 'PATH' variable is forbidden during host execution."),
		exe("exec/env-bad-key", `{"command":"true","env":{"1BAD":"x"}}`, "Security Violation: invalid non-portable override keys: 1BAD."),
		exe("exec/unknown-param", `{"command":"true","cwd":"/tmp"}`, `Unknown parameter "cwd" for exec. `+execKnownParams),
		exe("exec/unknown-param-invalid-UTF-8", "{\"command\":\"true\",\"\xff\xfe\":1}", "Unknown parameter \"\ufffd\ufffd\" for exec. "+execKnownParams),
		exe("exec/host-invalid-UTF-8", "{\"command\":\"true\",\"host\":\"\xc3\"}", "Invalid host \"\ufffd\". Expected one of: auto, sandbox, gateway."),
		exe("exec/elevated-true", `{"command":"true","elevated":true}`, "elevated is not available right now (runtime=direct).…"),
		// Errors that quote a huge value back must stay within the 1 MiB response bound (docs/reference.md#output-budget,
		// docs/reference.md#input-limits).
		exe("exec/unknown-param-2MiB-name", `{"command":"true",`+jstr(big2M)+`:1}`, `Unknown parameter "xxxx…`),
		exe("exec/host-2MiB", `{"command":"true","host":`+jstr(big2M)+`}`, `Invalid host "xxxx…`),
		// process
		pro("process/arguments-absent", ``, invalidAction),
		pro("process/arguments-array", `["poll"]`, "Invalid arguments: expected an object."),
		pro("process/action-missing", `{"sessionId":"{ID}"}`, invalidAction),
		pro("process/action-number", `{"action":5}`, typ("action", "a string")),
		pro("process/action-unknown", `{"action":"explode"}`, invalidAction),
		pro("process/action-invalid-UTF-8", "{\"action\":\"\xffpoll\"}", invalidAction),
		{name: "process/action-10MB", tool: "process", args: `{"action":` + jstr(big10M) + `}`, want: invalidAction, http: 413},
		pro("process/sessionId-missing", `{"action":"poll"}`, "sessionId is required for this action."),
		pro("process/sessionId-number", `{"action":"poll","sessionId":5}`, typ("sessionId", "a string")),
		pro("process/sessionId-unknown", `{"action":"poll","sessionId":"no-such-session"}`, "No session found for no-such-session"),
		pro("process/sessionId-NUL", `{"action":"log","sessionId":"a\u0000b"}`, "No session found for a\x00b"),
		pro("process/sessionId-2MiB", `{"action":"poll","sessionId":`+jstr(big2M)+`}`, "No session found for xxxx…"),
		pro("process/unknown-param", `{"action":"write","sessionId":"{ID}","input":"x"}`, `Unknown parameter "input" for process. `+processKnownParams),
		pro("process/timeout-word", `{"action":"poll","sessionId":"{ID}","timeout":"soon"}`, typ("timeout", "a number")),
		pro("process/offset-word", `{"action":"log","sessionId":"{ID}","offset":"x"}`, typ("offset", "a number")),
		pro("process/limit-bool", `{"action":"log","sessionId":"{ID}","limit":true}`, typ("limit", "a number")),
		{name: "process/offset-1e999", tool: "process", args: `{"action":"log","sessionId":"{ID}","offset":1e999}`, rpc: -32600},
		pro("process/data-number", `{"action":"write","sessionId":"{ID}","data":5}`, typ("data", "a string")),
		pro("process/data-1048577-bytes", `{"action":"write","sessionId":"{ID}","data":`+jstr(strings.Repeat("a", 1048577))+`}`, "data is too long (1048577 bytes; limit 1048576)."),
		{name: "process/data-10MB", tool: "process", args: `{"action":"write","sessionId":"{ID}","data":` + jstr(big10M) + `}`, want: "data is too long (10485760 bytes; limit 1048576).", http: 413},
		pro("process/eof-word", `{"action":"write","sessionId":"{ID}","eof":"soon"}`, typ("eof", "a boolean")),
		pro("process/write-unknown-session", `{"action":"write","sessionId":"nope","data":"x"}`, "No active session found for nope"),
		pro("process/keys-number", `{"action":"send-keys","sessionId":"{ID}","keys":5}`, typ("keys", "an array of strings")),
		pro("process/keys-mixed", `{"action":"send-keys","sessionId":"{ID}","keys":["a",1]}`, typ("keys", "an array of strings")),
		pro("process/hex-object", `{"action":"send-keys","sessionId":"{ID}","hex":{}}`, typ("hex", "an array of strings")),
		pro("process/keys-4097-items", `{"action":"send-keys","sessionId":"{ID}","keys":`+string(keys4097)+`}`, "keys has too many items (4097; limit 4096)."),
		pro("process/send-keys-nothing", `{"action":"send-keys","sessionId":"{ID}"}`, "No key data provided."),
		{name: "process/literal-10MB", tool: "process", args: `{"action":"send-keys","sessionId":"{ID}","literal":` + jstr(big10M) + `}`,
			want: "Key data is too long (10485760 bytes; limit 1048576).", http: 413},
		pro("process/text-number", `{"action":"paste","sessionId":"{ID}","text":5}`, typ("text", "a string")),
		pro("process/paste-empty-raw", `{"action":"paste","sessionId":"{ID}","text":"","bracketed":false}`, "No paste text provided."),
		pro("process/bracketed-word", `{"action":"paste","sessionId":"{ID}","text":"x","bracketed":"sometimes"}`, typ("bracketed", "a boolean")),
		pro("process/signal-number", `{"action":"kill","sessionId":"{ID}","signal":9}`, typ("signal", "a string")),
		pro("process/signal-unknown", `{"action":"kill","sessionId":"{ID}","signal":"NOPE"}`, fmt.Sprintf(invalidSignalFmt, "NOPE")),
		pro("process/signal-digits", `{"action":"kill","sessionId":"{ID}","signal":"9"}`, fmt.Sprintf(invalidSignalFmt, "9")),
		pro("process/signal-2MiB", `{"action":"kill","sessionId":"{ID}","signal":`+jstr(big2M)+`}`, `Invalid signal "xxxx…`),
		pro("process/kill-unknown-session", `{"action":"kill","sessionId":"nope"}`, "No active session found for nope"),
		pro("process/clear-running", `{"action":"clear","sessionId":"{ID}"}`, "No finished session found for {ID}"),
		pro("process/remove-unknown", `{"action":"remove","sessionId":"nope"}`, "No session found for nope"),
		// protocol layer
		{name: "rpc/unknown-tool", msg: `{"jsonrpc":"2.0","id":{N},"method":"tools/call","params":{"name":"nope","arguments":{}}}`, rpc: -32602},
		{name: "rpc/tool-name-number", msg: `{"jsonrpc":"2.0","id":{N},"method":"tools/call","params":{"name":5}}`, rpc: -32600},
		{name: "rpc/params-string", msg: `{"jsonrpc":"2.0","id":{N},"method":"tools/call","params":"exec"}`, rpc: -32600},
		{name: "rpc/unknown-method", msg: `{"jsonrpc":"2.0","id":{N},"method":"nope/nope"}`, rpc: -32601},
		{name: "rpc/jsonrpc-1.0", msg: `{"jsonrpc":"1.0","id":{N},"method":"ping"}`, rpc: -32600},
	}
	return calls
}

// badResult is what one bad call got.
type badResult struct {
	isError bool
	text    string
	rpc     int
	status  int // HTTP status (0 on stdio)
	size    int // bytes of the response message
	elapsed time.Duration
}

func checkBad(t *testing.T, c badCall, id string, got badResult, transport string) {
	t.Helper()
	want := strings.ReplaceAll(c.want, "{ID}", id)
	if transport == "http" && c.http != 0 {
		if got.status != c.http {
			t.Errorf("%s over HTTP: status %d, want %d", c.name, got.status, c.http)
		}
		return
	}
	if got.status != 0 && got.status != http.StatusOK {
		t.Errorf("%s over %s: HTTP status %d", c.name, transport, got.status)
		return
	}
	if got.size > maxResponseBytes {
		t.Errorf("%s over %s: response of %d bytes exceeds 1 MiB (took %v)", c.name, transport, got.size, got.elapsed.Round(time.Millisecond))
	}
	if c.rpc != 0 {
		if got.rpc != c.rpc {
			t.Errorf("%s over %s: JSON-RPC error %d (result isError=%v %q), want JSON-RPC error %d", c.name, transport, got.rpc, got.isError, head(got.text, 120), c.rpc)
		}
		return
	}
	if got.rpc != 0 || !got.isError {
		t.Errorf("%s over %s: rpc error %d, isError %v, text %q; want isError %q", c.name, transport, got.rpc, got.isError, head(got.text, 200), head(want, 200))
		return
	}
	if p, ok := strings.CutSuffix(want, "…"); ok {
		if !strings.HasPrefix(got.text, p) {
			t.Errorf("%s over %s: text %q, want prefix %q", c.name, transport, head(got.text, 200), p)
		}
	} else if got.text != want {
		t.Errorf("%s over %s: text %q, want %q", c.name, transport, head(got.text, 300), head(want, 300))
	}
}

// parseRPC extracts the result/error of a JSON-RPC response.
func parseRPC(raw []byte) (badResult, error) {
	var m struct {
		Result *struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
			IsError bool `json:"isError"`
		} `json:"result"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return badResult{}, err
	}
	var r badResult
	r.size = len(raw)
	if m.Error != nil {
		r.rpc, r.text = m.Error.Code, m.Error.Message
	} else if m.Result != nil {
		r.isError = m.Result.IsError
		if len(m.Result.Content) > 0 {
			r.text = m.Result.Content[0].Text
		}
	}
	return r, nil
}

func (c badCall) message(n int, id string) []byte {
	if c.msg != "" {
		return []byte(strings.ReplaceAll(c.msg, "{N}", strconv.Itoa(n)))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q`, n, c.tool)
	if c.args != "" {
		b.WriteString(`,"arguments":`)
		b.WriteString(strings.ReplaceAll(c.args, "{ID}", id))
	}
	b.WriteString("}}")
	return b.Bytes()
}

// TestReliabilityBadInput sends every malformed call of badCalls over stdio (raw JSON-RPC lines, so invalid UTF-8
// reaches the server as bytes) and over Streamable HTTP (raw POSTs); each gets a clear isError result or the
// protocol layer's JSON-RPC error, every response stays within 1 MiB, and the server keeps serving.
func TestReliabilityBadInput(t *testing.T) {
	par(t)
	calls := badCalls()
	var nStdio, nHTTP int
	for _, c := range calls {
		if !c.httpO {
			nStdio++
		}
		if !c.stdio {
			nHTTP++
		}
	}
	t.Logf("%d malformed calls over stdio, %d over HTTP", nStdio, nHTTP)

	t.Run("stdio", func(t *testing.T) {
		s := StartServer(t, Options{Raw: true})
		rc := s.Raw()
		rc.Initialize(legacyProtocol)
		r, _ := rc.CallTool("exec", map[string]any{"command": "sleep 600", "background": true})
		if r == nil || r.Str("sessionId") == "" {
			t.Fatalf("background exec: %v", r)
		}
		id := r.Str("sessionId")
		s.TrackPG(r.Int("pid"), "bad-input session")
		var slow []string
		for i, c := range calls {
			if c.httpO {
				continue
			}
			n := 100000 + i
			t0 := time.Now()
			rc.Send(c.message(n, id))
			m := rc.WaitResponse(strconv.Itoa(n), 60*time.Second)
			got, err := parseRPC(m.Raw)
			got.elapsed = time.Since(t0)
			if err != nil {
				t.Errorf("%s: unparsable response: %v", c.name, err)
				continue
			}
			if got.elapsed > 500*time.Millisecond {
				slow = append(slow, fmt.Sprintf("%s %v (%d bytes)", c.name, got.elapsed.Round(time.Millisecond), got.size))
			}
			checkBad(t, c, id, got, "stdio")
		}
		// Lines the protocol layer cannot parse: -32700 with a null id.
		before := len(s.Messages())
		for _, line := range []string{`{not json`, `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, "\xff\xfe\xfd", `{"jsonrpc":"2.0","id":`} {
			rc.Send(line)
		}
		if !waitFor(10*time.Second, func() bool { return len(s.Messages())-before >= 4 }) {
			t.Errorf("unparsable lines: %d responses, want 4", len(s.Messages())-before)
		}
		for _, m := range s.Messages()[before:] {
			got, _ := parseRPC(m.Raw)
			if got.rpc != -32700 || m.ID != "" {
				t.Errorf("unparsable line answered %s, want a -32700 error with id null", m.Raw)
			}
		}
		// Invalid UTF-8 inside a command string reaches the shell as U+FFFD (encoding/json replaces it): documented.
		rc.Send("{\"jsonrpc\":\"2.0\",\"id\":\"utf8\",\"method\":\"tools/call\",\"params\":{\"name\":\"exec\",\"arguments\":{\"command\":\"printf '%s' '\xff'\"}}}")
		if got, _ := parseRPC(rc.WaitResponse(`"utf8"`, 30*time.Second).Raw); got.isError || got.text != "\ufffd" {
			t.Errorf("command with invalid UTF-8: %+v, want it run with U+FFFD", got)
		}
		if len(slow) > 0 {
			t.Logf("slow answers over stdio: %s", strings.Join(slow, "; "))
		}
		alive, _ := rc.CallTool("exec", map[string]any{"command": "echo still-alive"})
		if alive == nil || alive.Text != "still-alive" {
			t.Errorf("after the bad input: %v", alive)
		}
	})

	t.Run("http", func(t *testing.T) {
		hs := StartHTTPServer(t, HTTPOptions{})
		httpc := &http.Client{Timeout: 120 * time.Second}
		var sid string
		post := func(body []byte) (badResult, error) {
			req, err := http.NewRequest("POST", hs.Base+"/mcp", bytes.NewReader(body))
			if err != nil {
				return badResult{}, err
			}
			req.Header = mcpHeaders("Mcp-Protocol-Version", legacyProtocol)
			if sid != "" {
				req.Header.Set("Mcp-Session-Id", sid)
			}
			resp, err := httpc.Do(req)
			if err != nil {
				return badResult{}, err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return badResult{}, err
			}
			if sid == "" {
				sid = resp.Header.Get("Mcp-Session-Id")
			}
			if resp.StatusCode != http.StatusOK {
				return badResult{status: resp.StatusCode, text: string(b)}, nil
			}
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				// The response is the last data line of the stream.
				var data []byte
				for _, l := range bytes.Split(b, []byte("\n")) {
					if d, ok := bytes.CutPrefix(bytes.TrimRight(l, "\r"), []byte("data:")); ok {
						data = bytes.TrimSpace(d)
					}
				}
				b = data
			}
			if len(bytes.TrimSpace(b)) == 0 {
				return badResult{status: resp.StatusCode}, nil
			}
			r, err := parseRPC(b)
			r.status = resp.StatusCode
			return r, err
		}
		if _, err := post([]byte(rawInitialize)); err != nil || sid == "" {
			t.Fatalf("initialize over HTTP: %v (session %q)", err, sid)
		}
		if r, err := post([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err != nil || (r.status != http.StatusAccepted && r.status != http.StatusOK) {
			t.Fatalf("notifications/initialized: %v %+v", err, r)
		}
		// A live session of this client's scope, for the calls that need one; its pid is learnt from list.
		start, err := post([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec","arguments":{"command":"echo $$ > pg-bad; exec sleep 600","background":true}}}`))
		if err != nil || start.isError {
			t.Fatalf("background exec over HTTP: %v %+v", err, start)
		}
		hs.ReadPgid(hs.Dir, "pg-bad")
		var id string
		if m := regexpSessionID.FindStringSubmatch(start.text); m != nil {
			id = m[1]
		} else {
			t.Fatalf("no session id in %q", start.text)
		}
		var slow []string
		for i, c := range calls {
			if c.stdio {
				continue
			}
			t0 := time.Now()
			got, err := post(c.message(1000+i, id))
			got.elapsed = time.Since(t0)
			if err != nil {
				t.Errorf("%s over HTTP: %v", c.name, err)
				continue
			}
			if got.elapsed > 500*time.Millisecond {
				slow = append(slow, fmt.Sprintf("%s %v (%d bytes)", c.name, got.elapsed.Round(time.Millisecond), got.size))
			}
			checkBad(t, c, id, got, "http")
		}
		for _, body := range []string{`{not json`, "\xff\xfe\xfd"} {
			got, err := post([]byte(body))
			if err != nil || (got.rpc != -32700 && got.status != http.StatusBadRequest) {
				t.Errorf("unparsable body %q over HTTP: %v %+v, want -32700 or HTTP 400", body, err, got)
			}
		}
		if len(slow) > 0 {
			t.Logf("slow answers over HTTP: %s", strings.Join(slow, "; "))
		}
		alive, err := post([]byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exec","arguments":{"command":"echo still-alive"}}}`))
		if err != nil || alive.text != "still-alive" {
			t.Errorf("after the bad input over HTTP: %v %+v", err, alive)
		}
		// A fresh SDK client still works too.
		wantText(t, hs.Connect(t, ClientOpts{}).Exec(`echo still-alive`), "still-alive")
	})
}
