package tools

import (
	"encoding/json"
	"reflect"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	textBadAction = "Invalid process action. Expected one of: list, poll, log, write, send-keys, submit, paste, kill, clear, remove, watch, screen, resize."
	execKnown     = "Known parameters: title, command, workdir, env, yieldMs, background, timeout, pty, elevated, host, notifyOnOutput, cols, rows."
	processKnown  = "Known parameters: action, sessionId, data, keys, hex, literal, text, bracketed, eof, offset, limit, timeout, signal, until, pattern, cols, rows, scrollback."
)

func TestDecodeArgsErrors(t *testing.T) {
	tests := []struct {
		name   string
		tool   string
		raw    any
		errMsg string
	}{
		{"array", "exec", json.RawMessage(`[1]`), "Invalid arguments: expected an object."},
		{"string", "exec", json.RawMessage(`"x"`), "Invalid arguments: expected an object."},
		{"number", "process", json.RawMessage(`3`), "Invalid arguments: expected an object."},
		{"unknown", "exec", json.RawMessage(`{"command":"x","cwd":"/tmp"}`), `Unknown parameter "cwd" for exec. ` + execKnown},
		{"unknown sorted", "exec", json.RawMessage(`{"zeta":1,"Alpha":2,"beta":3}`), `Unknown parameter "Alpha" for exec. ` + execKnown},
		{"unknown before type", "exec", json.RawMessage(`{"command":1,"security":"full"}`), `Unknown parameter "security" for exec. ` + execKnown},
		{"unknown process", "process", json.RawMessage(`{"action":"write","input":"x"}`), `Unknown parameter "input" for process. ` + processKnown},
		{"string type", "exec", json.RawMessage(`{"command":5}`), `Invalid parameter "command": expected a string.`},
		{"string from bool", "exec", json.RawMessage(`{"command":"x","host":true}`), `Invalid parameter "host": expected a string.`},
		{"number type", "exec", json.RawMessage(`{"command":"x","timeout":"abc"}`), `Invalid parameter "timeout": expected a number.`},
		{"number hex", "exec", json.RawMessage(`{"command":"x","timeout":"0x10"}`), `Invalid parameter "timeout": expected a number.`},
		{"number NaN", "exec", json.RawMessage(`{"command":"x","timeout":"NaN"}`), `Invalid parameter "timeout": expected a number.`},
		{"number Inf", "exec", json.RawMessage(`{"command":"x","timeout":"Inf"}`), `Invalid parameter "timeout": expected a number.`},
		{"number underscore", "exec", json.RawMessage(`{"command":"x","yieldMs":"1_000"}`), `Invalid parameter "yieldMs": expected a number.`},
		{"number overflow", "exec", json.RawMessage(`{"command":"x","yieldMs":1e400}`), `Invalid parameter "yieldMs": expected a number.`},
		{"number bool", "exec", json.RawMessage(`{"command":"x","yieldMs":true}`), `Invalid parameter "yieldMs": expected a number.`},
		{"bool type", "exec", json.RawMessage(`{"command":"x","background":1}`), `Invalid parameter "background": expected a boolean.`},
		{"bool string", "exec", json.RawMessage(`{"command":"x","pty":"yes"}`), `Invalid parameter "pty": expected a boolean.`},
		{"env type", "exec", json.RawMessage(`{"command":"x","env":["A"]}`), `Invalid parameter "env": expected an object of strings.`},
		{"env string", "exec", json.RawMessage(`{"command":"x","env":"A=1"}`), `Invalid parameter "env": expected an object of strings.`},
		{"env value", "exec", json.RawMessage(`{"command":"x","env":{"A":1}}`), `Invalid parameter "env": value of "A" must be a string.`},
		{"env value null", "exec", json.RawMessage(`{"command":"x","env":{"B":"ok","A":null}}`), `Invalid parameter "env": value of "A" must be a string.`},
		{"env first sorted", "exec", json.RawMessage(`{"command":"x","env":{"Z":1,"B":true}}`), `Invalid parameter "env": value of "B" must be a string.`},
		{"table order", "exec", json.RawMessage(`{"host":1,"command":2}`), `Invalid parameter "command": expected a string.`},
		{"table order 2", "exec", json.RawMessage(`{"timeout":"x","yieldMs":"y"}`), `Invalid parameter "yieldMs": expected a number.`},
		{"array type", "process", json.RawMessage(`{"action":"send-keys","keys":5}`), `Invalid parameter "keys": expected an array of strings.`},
		{"array items", "process", json.RawMessage(`{"action":"send-keys","hex":["0d",1]}`), `Invalid parameter "hex": expected an array of strings.`},
		{"array null item", "process", json.RawMessage(`{"action":"send-keys","keys":[null]}`), `Invalid parameter "keys": expected an array of strings.`},
		{"process order", "process", json.RawMessage(`{"signal":1,"action":2}`), `Invalid parameter "action": expected a string.`},
		{"go map", "exec", map[string]any{"command": 1}, `Invalid parameter "command": expected a string.`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table := execParams()
			if tc.tool == "process" {
				table = processParams()
			}
			_, err := decodeArgs(tc.tool, table, tc.raw)
			if err == nil {
				t.Fatalf("no error, want %q", tc.errMsg)
			}
			if err.Error() != tc.errMsg {
				t.Fatalf("error\n got %q\nwant %q", err.Error(), tc.errMsg)
			}
		})
	}
}

func TestDecodeArgsValues(t *testing.T) {
	for _, raw := range []any{nil, json.RawMessage(nil), json.RawMessage(`null`), json.RawMessage(` {} `)} {
		a, err := decodeArgs("exec", execParams(), raw)
		if err != nil {
			t.Fatalf("%v: %v", raw, err)
		}
		if len(a.strs)+len(a.nums)+len(a.bools)+len(a.lists) != 0 || a.env != nil {
			t.Fatalf("%v: not empty: %+v", raw, a)
		}
	}

	a, err := decodeArgs("exec", execParams(), json.RawMessage(
		`{"command":" ls ","workdir":null,"yieldMs":" 2.5 ","timeout":"-3","background":" TRUE ","pty":"false","elevated":false,"env":{"A":"1"},"host":null,"unknownNull":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := a.str("command"); s != " ls " {
		t.Errorf("command %q", s)
	}
	if _, ok := a.str("workdir"); ok {
		t.Error("null workdir is present")
	}
	if n, _ := a.num("yieldMs"); n != 2.5 {
		t.Errorf("yieldMs %v", n)
	}
	if n, _ := a.num("timeout"); n != -3 {
		t.Errorf("timeout %v", n)
	}
	if b, ok := a.boolean("background"); !b || !ok {
		t.Errorf("background %v %v", b, ok)
	}
	if b, ok := a.boolean("pty"); b || !ok {
		t.Errorf("pty %v %v", b, ok)
	}
	if !reflect.DeepEqual(a.env, map[string]string{"A": "1"}) {
		t.Errorf("env %v", a.env)
	}

	p, err := decodeArgs("process", processParams(), json.RawMessage(`{"action":"send-keys","keys":"Enter","hex":["0d","0a"],"offset":1e12}`))
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := p.list("keys"); !reflect.DeepEqual(l, []string{"Enter"}) {
		t.Errorf("keys %v", l)
	}
	if l, _ := p.list("hex"); !reflect.DeepEqual(l, []string{"0d", "0a"}) {
		t.Errorf("hex %v", l)
	}
	if n, _ := p.num("offset"); floorInt(n) != 1e12 {
		t.Errorf("offset %v", n)
	}
}

// The tables derived from the schemas, with the decoding each parameter gets.
func TestParamTables(t *testing.T) {
	wantExec := []param{
		{"title", kString}, {"command", kString}, {"workdir", kString}, {"env", kEnv}, {"yieldMs", kNumber}, {"background", kBool},
		{"timeout", kNumber}, {"pty", kBool}, {"elevated", kBool}, {"host", kString}, {"notifyOnOutput", kString},
		{"cols", kNumber}, {"rows", kNumber},
	}
	wantProcess := []param{
		{"action", kString}, {"sessionId", kString}, {"data", kString}, {"keys", kStrings}, {"hex", kStrings},
		{"literal", kString}, {"text", kString}, {"bracketed", kBool}, {"eof", kBool}, {"offset", kNumber},
		{"limit", kNumber}, {"timeout", kNumber}, {"signal", kString}, {"until", kString}, {"pattern", kString},
		{"cols", kNumber}, {"rows", kNumber}, {"scrollback", kNumber},
	}
	if got := execParams(); !reflect.DeepEqual(got, wantExec) {
		t.Errorf("exec table %v", got)
	}
	if got := processParams(); !reflect.DeepEqual(got, wantProcess) {
		t.Errorf("process table %v", got)
	}
	if got := processActions().badText; got != textBadAction {
		t.Errorf("bad action text %q", got)
	}
	if a := processActions().valid; len(a) != 13 || !a["send-keys"] || a["List"] {
		t.Errorf("actions %v", a)
	}
	defer func() {
		if recover() == nil {
			t.Error("a schema type without a decoding did not panic")
		}
	}()
	paramTable(json.RawMessage(`{"properties":{"n":{"type":"null"}}}`))
}

func TestFloorInt(t *testing.T) {
	for in, want := range map[float64]int{2.9: 2, -0.5: -1, 1e300: 1 << 53, -1e300: -(1 << 53), 0: 0} {
		if got := floorInt(in); got != want {
			t.Errorf("floorInt(%v) = %d, want %d", in, got, want)
		}
	}
}
