package schemas

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the embedded schemas")

var all = []struct {
	file  string
	data  json.RawMessage
	input bool
}{
	{"exec.input.json", ExecInput, true},
	{"exec.output.json", ExecOutput, false},
	{"process.input.json", ProcessInput, true},
	{"process.output.json", ProcessOutput, false},
}

func TestGolden(t *testing.T) {
	for _, s := range all {
		golden := filepath.Join("testdata", s.file+".golden")
		if *update {
			if err := os.WriteFile(golden, s.data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./schemas -update)", err)
		}
		if !bytes.Equal(s.data, want) {
			t.Errorf("%s differs from %s (run go test ./schemas -update after an intended change)", s.file, golden)
		}
	}
}

// TestEmbeddedMatchesFiles guards against a stale embed (the variables are the files).
func TestEmbeddedMatchesFiles(t *testing.T) {
	for _, s := range all {
		disk, err := os.ReadFile(s.file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(disk, s.data) {
			t.Errorf("%s: embedded bytes differ from the file", s.file)
		}
	}
}

func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	if !json.Valid(data) {
		t.Fatal("invalid JSON")
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// orderedKeys returns the keys of the JSON object at path (a chain of object
// keys) in file order.
func orderedKeys(t *testing.T, data []byte, path ...string) []string {
	t.Helper()
	raw := json.RawMessage(data)
	for _, p := range path {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		raw = m[p]
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%v: not an object", path)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestSchemaShape(t *testing.T) {
	for _, s := range all {
		t.Run(s.file, func(t *testing.T) {
			m := decode(t, s.data)
			if m["type"] != "object" {
				t.Errorf("type = %v, want object", m["type"])
			}
			if _, ok := m["properties"].(map[string]any); !ok {
				t.Fatal("no properties object")
			}
			if !bytes.HasSuffix(s.data, []byte("}\n")) {
				t.Error("file should end with a newline")
			}
			ap, hasAP := m["additionalProperties"]
			if s.input {
				if ap != false {
					t.Errorf("additionalProperties = %v, want false", ap)
				}
			} else {
				if hasAP {
					t.Errorf("output schema sets additionalProperties: %v", ap)
				}
				if !reflect.DeepEqual(m["required"], []any{"status"}) {
					t.Errorf("required = %v, want [status]", m["required"])
				}
			}
			// Portability: a client that maps tool schemas onto a single-type dialect (such as the OpenAPI subset
			// of Gemini function declarations) rejects a type array, so a nullable field is an anyOf whose
			// branches have one type each, and MCP Inspector's schema portability check reports nothing.
			walk(m, func(obj map[string]any) {
				if typ, ok := obj["type"]; ok {
					if _, isString := typ.(string); !isString {
						t.Errorf("type is not a single string: %v", obj)
					}
				}
				if branches, ok := obj["anyOf"]; ok {
					if _, hasType := obj["type"]; hasType {
						t.Errorf("anyOf beside type: %v", obj)
					}
					for _, b := range asSlice(branches) {
						if bm, ok := b.(map[string]any); !ok || len(bm) != 1 || bm["type"] == nil {
							t.Errorf("anyOf branch is not {\"type\": <one type>}: %v", b)
						}
					}
				}
			})
		})
	}
}

// walk calls f for every JSON object in v.
func walk(v any, f func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		f(x)
		for _, c := range x {
			walk(c, f)
		}
	case []any:
		for _, c := range x {
			walk(c, f)
		}
	}
}

type param struct{ name, typ, desc string }

func TestExecInput(t *testing.T) {
	params := []param{
		{"title", "string", "Short human label for what the command does, shown with its session (at most 120 chars), e.g. \"Run unit tests\"; name the action, never claim success"},
		{"command", "string", "Shell command to execute"},
		{"workdir", "string", "Working directory (defaults to cwd)"},
		{"env", "object", "Literal overrides; no expansion. Omit to inherit. PATH and security-sensitive keys are rejected."},
		{"yieldMs", "number", "Milliseconds to wait before backgrounding (default 10000)"},
		{"background", "boolean", "Run in background immediately"},
		{"timeout", "number", "Timeout in seconds (default 1800; 0 or less disables it; kills the process group on expiry)"},
		{"pty", "boolean", "Run in a pseudo-terminal (PTY) when available (TTY-required CLIs, coding agents)"},
		{"elevated", "boolean", "Run on the host with elevated permissions (if allowed)"},
		{"host", "string", "Exec host/target (auto|sandbox|gateway)."},
		{"notifyOnOutput", "string", "Announce each output line matching this regular expression (RE2) while the command runs in the background"},
		{"cols", "integer", "Terminal width for pty sessions (default 120)"},
		{"rows", "integer", "Terminal height for pty sessions (default 30)"},
	}
	m := checkParams(t, ExecInput, params,
		"title, command, workdir, env, yieldMs, background, timeout, pty, elevated, host, notifyOnOutput, cols, rows")
	if !reflect.DeepEqual(m["required"], []any{"command"}) {
		t.Errorf("required = %v", m["required"])
	}
	props := m["properties"].(map[string]any)
	if got := props["host"].(map[string]any)["enum"]; !reflect.DeepEqual(got, []any{"auto", "sandbox", "gateway"}) {
		t.Errorf("host enum = %v", got)
	}
	if got := Params(ExecInput)[9]; got.Name != "host" || !slices.Equal(got.Enum, []string{"auto", "sandbox", "gateway"}) {
		t.Errorf("Params host = %+v", got)
	}
	if got := props["env"].(map[string]any)["additionalProperties"]; !reflect.DeepEqual(got, map[string]any{"type": "string"}) {
		t.Errorf("env additionalProperties = %v", got)
	}
	// OpenClaw's schema contract: a bounded title whose description forbids claiming success, and an env description
	// saying that values are literal, not expanded, and that omitting env inherits the environment.
	if got := props["title"].(map[string]any)["maxLength"]; got != float64(120) {
		t.Errorf("title maxLength = %v, want 120", got)
	}
	if !strings.Contains(props["title"].(map[string]any)["description"].(string), "never claim success") {
		t.Error("title description does not say never claim success")
	}
	if !regexp.MustCompile(`(?i)literal.*no expansion.*omit to inherit`).MatchString(props["env"].(map[string]any)["description"].(string)) {
		t.Error("env description does not explain literal values, no expansion and inheritance")
	}
	assertOnly(t, props, map[string][]string{"host": {"enum"}, "env": {"additionalProperties"}, "title": {"maxLength"}})
}

func TestProcessInput(t *testing.T) {
	params := []param{
		{"action", "string", "Process action"},
		{"sessionId", "string", "Session id for actions other than list"},
		{"data", "string", "Data to write for write"},
		{"keys", "array", "Key tokens to send for send-keys"},
		{"hex", "array", "Hex bytes to send for send-keys"},
		{"literal", "string", "Literal string for send-keys"},
		{"text", "string", "Text to paste for paste"},
		{"bracketed", "boolean", "Wrap paste in bracketed mode"},
		{"eof", "boolean", "Close stdin after write"},
		{"offset", "number", "Log offset"},
		{"limit", "number", "Log length"},
		{"timeout", "number", "For poll: wait up to this many milliseconds before returning (at most 30000)"},
		{"signal", "string", "Signal for kill: TERM (default; escalates to KILL after the grace period), INT, HUP, QUIT, USR1, USR2 or KILL"},
		{"until", "string", "For poll: keep waiting (up to timeout) until a line of output matches this regular expression (RE2)"},
		{"pattern", "string", "For log: only lines matching this regular expression (RE2), each prefixed with its line number; for watch: the pattern to announce"},
		{"cols", "integer", "For resize: terminal width in columns (2..1000)"},
		{"rows", "integer", "For resize: terminal height in rows (2..1000)"},
		{"scrollback", "integer", "For screen: also include up to this many lines of scrollback above the screen"},
	}
	m := checkParams(t, ProcessInput, params,
		"action, sessionId, data, keys, hex, literal, text, bracketed, eof, offset, limit, timeout, signal, until, pattern, cols, rows, scrollback")
	if !reflect.DeepEqual(m["required"], []any{"action"}) {
		t.Errorf("required = %v", m["required"])
	}
	props := m["properties"].(map[string]any)
	wantActions := []any{"list", "poll", "log", "write", "send-keys", "submit", "paste", "kill", "clear", "remove", "watch", "screen", "resize"}
	if got := props["action"].(map[string]any)["enum"]; !reflect.DeepEqual(got, wantActions) {
		t.Errorf("action enum = %v", got)
	}
	actions := ProcessActions()
	if len(actions) != len(wantActions) {
		t.Errorf("ProcessActions = %v", actions)
	}
	for i, a := range actions {
		if i < len(wantActions) && a != wantActions[i] {
			t.Errorf("ProcessActions = %v, want %v", actions, wantActions)
		}
	}
	if got := Params(ProcessInput)[0]; got.Name != "action" || !slices.Equal(got.Enum, actions) {
		t.Errorf("Params action = %+v", got)
	}
	actions[0] = "changed"
	if ProcessActions()[0] != "list" {
		t.Error("ProcessActions returned shared data")
	}
	if got := props["timeout"].(map[string]any)["minimum"]; got != float64(0) {
		t.Errorf("timeout minimum = %v", got)
	}
	for _, k := range []string{"keys", "hex"} {
		if got := props[k].(map[string]any)["items"]; !reflect.DeepEqual(got, map[string]any{"type": "string"}) {
			t.Errorf("%s items = %v", k, got)
		}
	}
	if got := props["scrollback"].(map[string]any)["minimum"]; got != float64(0) {
		t.Errorf("scrollback minimum = %v", got)
	}
	assertOnly(t, props, map[string][]string{"action": {"enum"}, "timeout": {"minimum"}, "scrollback": {"minimum"},
		"keys": {"items"}, "hex": {"items"}})
}

// checkParams checks what Params derives from the schema (the parameter table of the tools package): names in
// file order, which the known-parameter list of the unknown-parameter message shows, and types; then the exact
// descriptions of the file.
func checkParams(t *testing.T, data json.RawMessage, params []param, known string) map[string]any {
	t.Helper()
	m := decode(t, data)
	derived := Params(data)
	var names, derivedNames []string
	for _, p := range params {
		names = append(names, p.name)
	}
	for _, p := range derived {
		derivedNames = append(derivedNames, p.Name)
	}
	if !slices.Equal(derivedNames, names) {
		t.Errorf("Params names = %v, want %v", derivedNames, names)
	}
	if got := orderedKeys(t, data, "properties"); !slices.Equal(got, derivedNames) {
		t.Errorf("property order = %v, Params = %v", got, derivedNames)
	}
	if strings.Join(derivedNames, ", ") != known {
		t.Errorf("Params %v do not match known-parameter list %q", derivedNames, known)
	}
	props := m["properties"].(map[string]any)
	for i, p := range params {
		prop, ok := props[p.name].(map[string]any)
		if !ok {
			t.Errorf("%s missing", p.name)
			continue
		}
		if prop["type"] != p.typ || i < len(derived) && derived[i].Type != p.typ {
			t.Errorf("%s type = %v, Params %+v, want %s", p.name, prop["type"], derived[i], p.typ)
		}
		if prop["description"] != p.desc {
			t.Errorf("%s description = %q, want %q", p.name, prop["description"], p.desc)
		}
	}
	return m
}

// assertOnly checks that every property has only type and description plus
// the listed extra keywords.
func assertOnly(t *testing.T, props map[string]any, extra map[string][]string) {
	t.Helper()
	for name, v := range props {
		allowed := append([]string{"type", "description"}, extra[name]...)
		for k := range v.(map[string]any) {
			if !slices.Contains(allowed, k) {
				t.Errorf("%s: unexpected keyword %q", name, k)
			}
		}
	}
}

func TestExecOutput(t *testing.T) {
	want := []string{"status", "sessionId", "title", "pid", "startedAt", "cwd", "tail", "logPath", "exitCode", "exitSignal", "exitReason",
		"durationMs", "aggregated", "aggregatedTruncated", "timedOut", "truncated", "warnings", "tool", "error", "systemEvents"}
	if got := orderedKeys(t, ExecOutput, "properties"); !slices.Equal(got, want) {
		t.Errorf("properties = %v, want %v", got, want)
	}
	props := decode(t, ExecOutput)["properties"].(map[string]any)
	if got := props["status"].(map[string]any)["enum"]; !reflect.DeepEqual(got, []any{"running", "completed", "failed", "error"}) {
		t.Errorf("status enum = %v", got)
	}
	checkTypes(t, props, map[string]any{
		"sessionId": "string", "title": "string", "pid": "integer", "startedAt": "integer", "cwd": "string", "tail": "string",
		"logPath": "string", "exitCode": nullable("integer"), "exitSignal": nullable("string"), "exitReason": "string",
		"durationMs": "integer", "aggregated": "string", "aggregatedTruncated": "boolean", "timedOut": "boolean",
		"truncated": "boolean", "warnings": "array", "tool": "string", "error": "string", "systemEvents": "array",
	})
}

func TestProcessOutput(t *testing.T) {
	want := []string{"status", "sessionId", "name", "title", "sessions", "omitted", "aggregated", "aggregatedTruncated", "exitCode",
		"exitSignal", "exitReason", "timedOut", "retryInMs", "matched", "match", "pattern", "total", "totalLines", "totalChars", "truncated",
		"spilled", "logPath", "logBytes", "matches", "signal", "cols", "rows", "cursor", "altScreen", "terminalTitle", "warnings",
		"error", "systemEvents"}
	if got := orderedKeys(t, ProcessOutput, "properties"); !slices.Equal(got, want) {
		t.Errorf("properties = %v, want %v", got, want)
	}
	props := decode(t, ProcessOutput)["properties"].(map[string]any)
	if got := props["status"].(map[string]any)["enum"]; !reflect.DeepEqual(got, []any{"running", "completed", "failed"}) {
		t.Errorf("status enum = %v", got)
	}
	checkTypes(t, props, map[string]any{
		"sessionId": "string", "name": "string", "title": "string", "sessions": "array", "omitted": "integer", "aggregated": "string",
		"aggregatedTruncated": "boolean", "exitCode": nullable("integer"), "exitSignal": nullable("string"),
		"exitReason": "string", "timedOut": "boolean", "retryInMs": "integer", "matched": "boolean", "match": "string", "total": "integer",
		"totalLines": "integer", "totalChars": "integer", "truncated": "boolean", "spilled": "boolean",
		"logPath": "string", "logBytes": "integer", "matches": "integer", "signal": "string",
		"cols": "integer", "rows": "integer", "cursor": "object", "altScreen": "boolean", "terminalTitle": "string",
		"warnings": "array", "error": "string", "systemEvents": "array",
	})
	cursorWant := []string{"row", "col", "visible"}
	if got := orderedKeys(t, ProcessOutput, "properties", "cursor", "properties"); !slices.Equal(got, cursorWant) {
		t.Errorf("cursor properties = %v, want %v", got, cursorWant)
	}
	entryWant := []string{"sessionId", "status", "pid", "startedAt", "endedAt", "runtimeMs", "cwd", "command", "name",
		"title", "tail", "truncated", "exitCode", "exitSignal", "exitReason"}
	if got := orderedKeys(t, ProcessOutput, "properties", "sessions", "items", "properties"); !slices.Equal(got, entryWant) {
		t.Errorf("list entry properties = %v, want %v", got, entryWant)
	}
	entry := props["sessions"].(map[string]any)["items"].(map[string]any)["properties"].(map[string]any)
	checkTypes(t, entry, map[string]any{"exitCode": nullable("integer"), "exitSignal": nullable("string")})
}

// nullable is how the output schemas spell "typ or null": anyOf with one type per branch, no type array.
func nullable(typ string) map[string]any {
	return map[string]any{"anyOf": []any{map[string]any{"type": typ}, map[string]any{"type": "null"}}}
}

// checkTypes checks each property's type: a string is its "type", a map (see nullable) the whole property.
func checkTypes(t *testing.T, props map[string]any, want map[string]any) {
	t.Helper()
	for name, typ := range want {
		prop := props[name].(map[string]any)
		if whole, ok := typ.(map[string]any); ok {
			if !reflect.DeepEqual(prop, whole) {
				t.Errorf("%s = %v, want %v", name, prop, whole)
			}
			continue
		}
		if got := prop["type"]; !reflect.DeepEqual(got, typ) {
			t.Errorf("%s type = %v, want %v", name, got, typ)
		}
	}
}

// TestOutputExamples validates details objects of real results against
// the output schemas with a minimal validator (type, enum, required, items,
// properties), so a schema that rejects real results is caught here.
func TestOutputExamples(t *testing.T) {
	execExamples := []string{
		`{"status":"completed","exitCode":1,"exitReason":"exit","durationMs":12,"aggregated":"nope","cwd":"/tmp","truncated":false}`,
		`{"status":"failed","exitCode":null,"exitSignal":"SIGTERM","exitReason":"overall-timeout","durationMs":1003,"aggregated":"","timedOut":true,"cwd":"/tmp","truncated":false,"warnings":["Warning: background execution is disabled; running synchronously."]}`,
		`{"status":"running","sessionId":"amber-atlas","pid":4242,"startedAt":1767225600000,"cwd":"/tmp","tail":"","systemEvents":["x"]}`,
		`{"status":"running","sessionId":"amber-atlas","pid":4242,"startedAt":1767225600000,"cwd":"/tmp","tail":"","logPath":"/run/user/1000/execmcp/42/amber-atlas.log"}`,
		`{"status":"error","tool":"exec","error":"Provide a command to start."}`,
		`{"status":"failed","exitReason":"manual-cancel","cwd":"/tmp"}`,
		`{"status":"completed","aggregated":"x","aggregatedTruncated":true,"futureField":1}`,
	}
	processExamples := []string{
		`{"status":"completed","sessions":[]}`,
		`{"status":"completed","sessions":[{"sessionId":"amber-atlas","status":"running","pid":1,"startedAt":1,"runtimeMs":5,"cwd":"/","command":"npm run dev","name":"npm run","tail":"","truncated":false},{"sessionId":"calm-reef","status":"failed","startedAt":1,"endedAt":2,"runtimeMs":1,"cwd":"/","command":"x","tail":"t","truncated":true,"exitSignal":"SIGKILL","exitReason":"signal"}],"omitted":3}`,
		`{"status":"running","sessionId":"a","aggregated":"","name":"sleep 5","retryInMs":5000}`,
		`{"status":"running","sessionId":"a","aggregated":"READY\n","retryInMs":5000,"matched":true,"match":"READY"}`,
		`{"status":"failed","sessionId":"a","exitCode":null,"exitSignal":"SIGTERM","exitReason":"overall-timeout","timedOut":true,"aggregated":"x"}`,
		`{"status":"completed","sessionId":"a","total":3,"totalLines":3,"totalChars":14,"truncated":false,"exitCode":0,"exitSignal":null,"exitReason":"exit"}`,
		`{"status":"completed","sessionId":"a","signal":"SIGTERM"}`,
		`{"status":"running","sessionId":"a","total":100000,"totalLines":100000,"totalChars":588895,"truncated":true,"spilled":true,"logBytes":588895,"logPath":"/tmp/execmcp-0/42/a.log","matches":1,"pattern":"^77777$"}`,
		`{"status":"running","sessionId":"a","warnings":["Invalid hex byte: zz"]}`,
		`{"status":"failed","error":"No session found for a"}`,
		`{"status":"running","sessionId":"a","cols":80,"rows":24,"cursor":{"row":0,"col":1,"visible":true},"altScreen":false,"terminalTitle":"vim","name":"vim"}`,
		`{"status":"completed","sessionId":"a","cols":120,"rows":30,"cursor":{"row":29,"col":0,"visible":false},"altScreen":true}`,
	}
	bad := []struct {
		schema json.RawMessage
		doc    string
	}{
		{ExecOutput, `{"exitCode":0}`},
		{ExecOutput, `{"status":"done"}`},
		{ExecOutput, `{"status":"completed","exitCode":1.5}`},
		{ExecOutput, `{"status":"completed","exitCode":"1"}`},
		{ExecOutput, `{"status":"failed","exitSignal":9}`},
		{ProcessOutput, `{"status":"completed","exitCode":"0"}`},
		{ProcessOutput, `{"status":"completed","sessions":[{"exitSignal":false}]}`},
		{ExecOutput, `{"status":"completed","warnings":[1]}`},
		{ProcessOutput, `{"status":"error"}`},
		{ProcessOutput, `{"status":"completed","sessions":[{"pid":"1"}]}`},
		{ProcessOutput, `{"status":"running","cursor":{"row":"0"}}`},
		{ProcessOutput, `{"status":"running","altScreen":"yes"}`},
		{ProcessOutput, `{"status":"running","spilled":"yes"}`},
		{ProcessOutput, `{"status":"running","matches":1.5}`},
	}
	for _, ex := range execExamples {
		if err := validate(decode(t, ExecOutput), decodeAny(t, ex)); err != "" {
			t.Errorf("exec example %s: %s", ex, err)
		}
	}
	for _, ex := range processExamples {
		if err := validate(decode(t, ProcessOutput), decodeAny(t, ex)); err != "" {
			t.Errorf("process example %s: %s", ex, err)
		}
	}
	for _, b := range bad {
		if err := validate(decode(t, b.schema), decodeAny(t, b.doc)); err == "" {
			t.Errorf("%s validated, want a failure", b.doc)
		}
	}
}

func decodeAny(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// validate is a tiny JSON Schema subset validator; it returns "" when v is valid.
func validate(schema map[string]any, v any) string {
	if typ, ok := schema["type"]; ok {
		var types []any
		if arr, isArr := typ.([]any); isArr {
			types = arr
		} else {
			types = []any{typ}
		}
		if !slices.ContainsFunc(types, func(tt any) bool { return hasType(v, tt.(string)) }) {
			return "type mismatch"
		}
	}
	if branches, ok := schema["anyOf"].([]any); ok && !slices.ContainsFunc(branches, func(b any) bool {
		bm, _ := b.(map[string]any)
		return validate(bm, v) == ""
	}) {
		return "matches no anyOf branch"
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		return "not in enum"
	}
	if obj, ok := v.(map[string]any); ok {
		for _, r := range asSlice(schema["required"]) {
			if _, present := obj[r.(string)]; !present {
				return "missing " + r.(string)
			}
		}
		props, _ := schema["properties"].(map[string]any)
		for k, pv := range obj {
			if ps, ok := props[k].(map[string]any); ok {
				if err := validate(ps, pv); err != "" {
					return k + ": " + err
				}
			} else if schema["additionalProperties"] == false {
				return "additional property " + k
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if items, ok := schema["items"].(map[string]any); ok {
			for _, it := range arr {
				if err := validate(items, it); err != "" {
					return "item: " + err
				}
			}
		}
	}
	return ""
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func hasType(v any, typ string) bool {
	switch typ {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	}
	return false
}

func TestParamsPanicsOnMalformedSchema(t *testing.T) {
	for _, bad := range []string{`[]`, `{"properties":[]}`, `{"properties":{"a":1}}`, `{}`} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Params(%s) did not panic", bad)
				}
			}()
			Params(json.RawMessage(bad))
		}()
	}
}
