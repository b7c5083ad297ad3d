package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Decoding errors (docs/reference.md#arguments), as patterns over the whole message. The unknown-parameter
// pattern is built per tool.
var (
	argTypeErrRe  = regexp.MustCompile(`^Invalid parameter "([A-Za-z]+)": expected (a string|a number|a boolean|an array of strings|an object of strings)\.$`)
	envValueErrRe = regexp.MustCompile(`^Invalid parameter "env": value of "((?s).*)" must be a string\.$`)
)

func unknownErrRe(tool string, table []param) *regexp.Regexp {
	names := make([]string, len(table))
	for i, p := range table {
		names[i] = p.name
	}
	return regexp.MustCompile(`^Unknown parameter "((?s).*)" for ` + tool + `\. Known parameters: ` +
		regexp.QuoteMeta(strings.Join(names, ", ")) + `\.$`)
}

var kindWord = map[kind]string{
	kString: "a string", kNumber: "a number", kBool: "a boolean", kStrings: "an array of strings", kEnv: "an object of strings",
}

// FuzzDecodeArgs: decodeArgs never panics; every error is an *argError whose text is one of the decoding messages
// and names what is really wrong with the input; a success holds exactly the known, non-null properties of the
// input; decoding is deterministic.
func FuzzDecodeArgs(f *testing.F) {
	seeds := []string{
		``, `null`, `{}`, `[1]`, `"x"`, `3`, `{"command":"echo hi"}`, `{"command":"x","cwd":"/tmp"}`,
		`{"zeta":1,"Alpha":2,"beta":3}`, `{"command":1,"security":"full"}`, `{"action":"write","input":"x"}`,
		`{"command":5}`, `{"command":"x","host":true}`, `{"command":"x","timeout":"abc"}`, `{"command":"x","timeout":" 2.5 "}`,
		`{"command":"x","timeout":"0x10"}`, `{"command":"x","yieldMs":1e400}`, `{"command":"x","yieldMs":"1_000"}`,
		`{"command":"x","background":"TRUE"}`, `{"command":"x","pty":"yes"}`, `{"command":"x","env":["A"]}`,
		`{"command":"x","env":{"A":1}}`, `{"command":"x","env":{"B":"ok","A":null}}`, `{"host":1,"command":2}`,
		`{"action":"send-keys","keys":5}`, `{"action":"send-keys","hex":["0d",1]}`, `{"action":"send-keys","keys":"Enter"}`,
		`{"action":"poll","sessionId":"a-b","timeout":-10}`, `{"action":"log","offset":1e12,"limit":"-1"}`,
		`{"command":null,"cwd":null}`, `{"command":"a\u0000b"}`, "{\"command\":\"\xff\xfe\"}", `{"command":"x","command":1}`,
		`{"env":{"\u00e9":"x"},"command":"x"}`, ` {"command" : "x" } `, `{"command":"x"`, `{"a":{"b":[1,{"c":null}]}}`,
		`{"timeout":9007199254740993}`, `{"timeout":-0}`, `{"signal":"SIGKILL","action":"kill"}`,
	}
	for i, s := range seeds {
		f.Add([]byte(s), i%2 == 1)
	}
	execUnknown, processUnknown := unknownErrRe("exec", execParams()), unknownErrRe("process", processParams())
	f.Fuzz(func(t *testing.T, data []byte, process bool) {
		tool, table, unknownRe := "exec", execParams(), execUnknown
		if process {
			tool, table, unknownRe = "process", processParams(), processUnknown
		}
		a, err := decodeArgs(tool, table, json.RawMessage(data))
		a2, err2 := decodeArgs(tool, table, json.RawMessage(data))
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) || !reflect.DeepEqual(a, a2) {
			t.Fatalf("decoding %q twice differs: %v / %v", data, err, err2)
		}

		// The properties as an independent reader sees them (nil when the input is not an object).
		var props map[string]json.RawMessage
		trimmed := bytes.TrimSpace(data)
		isObject := len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &props) == nil
		absent := len(trimmed) == 0 || string(trimmed) == "null"
		known := map[string]param{}
		for _, p := range table {
			known[p.name] = p
		}
		present := map[string]json.RawMessage{}
		var unknown []string
		for k, v := range props {
			if isNull(v) {
				continue
			}
			present[k] = v
			if _, ok := known[k]; !ok {
				unknown = append(unknown, k)
			}
		}
		sort.Strings(unknown)

		if err != nil {
			var ae *argError
			if !errors.As(err, &ae) {
				t.Fatalf("decoding %q: error %T %v is not an *argError", data, err, err)
			}
			if a != nil {
				t.Fatalf("decoding %q: error %q with non-nil args", data, err)
			}
			msg := err.Error()
			switch {
			case msg == "Invalid arguments: expected an object.":
				if isObject || absent {
					t.Fatalf("decoding %q: %q for an object or absent arguments", data, msg)
				}
			case unknownRe.MatchString(msg):
				name := unknownRe.FindStringSubmatch(msg)[1]
				if !isObject || len(unknown) == 0 || unknown[0] != name {
					t.Fatalf("decoding %q: %q, but the first unknown property is %q", data, msg, unknown)
				}
			case envValueErrRe.MatchString(msg):
				key := envValueErrRe.FindStringSubmatch(msg)[1]
				if !isObject || tool != "exec" || len(unknown) > 0 {
					t.Fatalf("decoding %q: %q out of place", data, msg)
				}
				var env map[string]json.RawMessage
				if json.Unmarshal(present["env"], &env) != nil {
					t.Fatalf("decoding %q: %q but env is not an object", data, msg)
				}
				if v, ok := env[key]; !ok {
					t.Fatalf("decoding %q: %q names a key env does not have", data, msg)
				} else if _, isStr := jsonString(v); isStr {
					t.Fatalf("decoding %q: %q but that value is a string", data, msg)
				}
			case argTypeErrRe.MatchString(msg):
				m := argTypeErrRe.FindStringSubmatch(msg)
				p, ok := known[m[1]]
				if !isObject || len(unknown) > 0 || !ok || kindWord[p.kind] != m[2] {
					t.Fatalf("decoding %q: %q out of place (unknown %q)", data, msg, unknown)
				}
				if _, ok := present[m[1]]; !ok {
					t.Fatalf("decoding %q: %q names a parameter that is absent or null", data, msg)
				}
				// Every parameter before it in table order decodes on its own.
				for _, q := range table {
					if q.name == m[1] {
						break
					}
					if v, ok := present[q.name]; ok {
						single, _ := json.Marshal(map[string]json.RawMessage{q.name: v})
						if _, err := decodeArgs(tool, table, json.RawMessage(single)); err != nil {
							t.Fatalf("decoding %q: %q reported, but the earlier %q fails too: %v", data, msg, q.name, err)
						}
					}
				}
			default:
				t.Fatalf("decoding %q (%s): %q is not one of the decoding messages", data, tool, msg)
			}
			return
		}

		if !isObject && !absent {
			t.Fatalf("decoding %q succeeded for a non-object", data)
		}
		if len(unknown) > 0 {
			t.Fatalf("decoding %q succeeded with unknown properties %q", data, unknown)
		}
		got := map[string]bool{}
		for k := range a.strs {
			got[k] = true
		}
		for k := range a.nums {
			got[k] = true
		}
		for k := range a.bools {
			got[k] = true
		}
		for k := range a.lists {
			got[k] = true
		}
		if a.env != nil {
			got["env"] = true
		}
		for k := range present {
			if !got[k] {
				t.Fatalf("decoding %q: property %q was dropped", data, k)
			}
		}
		for k := range got {
			if _, ok := present[k]; !ok {
				t.Fatalf("decoding %q: %q decoded but absent", data, k)
			}
			p := known[k]
			v := present[k]
			switch p.kind {
			case kString:
				var s string
				if json.Unmarshal(v, &s) != nil || s != a.strs[k] {
					t.Fatalf("decoding %q: %s = %q, want %q", data, k, a.strs[k], s)
				}
			case kNumber:
				if n := a.nums[k]; math.IsNaN(n) || math.IsInf(n, 0) {
					t.Fatalf("decoding %q: %s = %v is not finite", data, k, n)
				}
				if i := floorInt(a.nums[k]); i > 1<<53 || i < -(1<<53) {
					t.Fatalf("floorInt(%v) = %d outside ±2^53", a.nums[k], i)
				}
			}
		}
	})
}
