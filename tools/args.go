package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/execmcp/execmcp/schemas"
)

// kind is how a tool parameter is decoded (docs/reference.md#arguments).
type kind int

const (
	kString kind = iota
	kNumber
	kBool
	kEnv
	kStrings // array of strings, or a single string
)

type param struct {
	name string
	kind kind
}

// schemaKinds maps the JSON Schema type of an input property to its decoding: the only object parameter is
// env (an object of strings), and every array parameter is an array of strings.
var schemaKinds = map[string]kind{"string": kString, "number": kNumber, "integer": kNumber, "boolean": kBool, "object": kEnv, "array": kStrings}

// paramTable derives a parameter table from an input schema, in schema order: the order fixes which type
// error is reported first.
func paramTable(schema json.RawMessage) []param {
	var table []param
	for _, p := range schemas.Params(schema) {
		k, ok := schemaKinds[p.Type]
		if !ok {
			panic("tools: parameter " + p.Name + " has unsupported schema type " + p.Type)
		}
		table = append(table, param{p.Name, k})
	}
	return table
}

// execParams and processParams are the parameter tables of the two tools, derived from their input schemas on
// first use (not at startup, which does not need them).
var (
	execParams    = sync.OnceValue(func() []param { return paramTable(schemas.ExecInput) })
	processParams = sync.OnceValue(func() []param { return paramTable(schemas.ProcessInput) })
)

// args holds decoded parameters; a parameter is present only when given and not null.
type args struct {
	strs  map[string]string
	nums  map[string]float64
	bools map[string]bool
	env   map[string]string // nil when env is absent
	lists map[string][]string
}

func (a *args) str(name string) (string, bool)    { v, ok := a.strs[name]; return v, ok }
func (a *args) num(name string) (float64, bool)   { v, ok := a.nums[name]; return v, ok }
func (a *args) boolean(name string) (bool, bool)  { v, ok := a.bools[name]; return v, ok }
func (a *args) list(name string) ([]string, bool) { v, ok := a.lists[name]; return v, ok }

// argError is a decoding failure with its exact user-facing message.
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }

func argErrorf(format string, a ...any) error { return &argError{fmt.Sprintf(format, a...)} }

// rawArguments turns what mcp-go hands over (json.RawMessage from the wire, or a Go value in
// in-process calls) into JSON bytes; nil means absent.
func rawArguments(v any) ([]byte, error) {
	switch a := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return a, nil
	case []byte:
		return a, nil
	default:
		return json.Marshal(a)
	}
}

// decodeArgs applies the argument decoding rules (docs/reference.md#arguments) for the tool with the given
// parameter table: the arguments must be an object (or absent); null counts as absent; an unknown name is
// reported first (the byte-wise smallest); then each parameter's type, in table order.
func decodeArgs(tool string, table []param, raw any) (*args, error) {
	data, err := rawArguments(raw)
	if err != nil {
		return nil, &argError{"Invalid arguments: expected an object."}
	}
	data = bytes.TrimSpace(data)
	props := map[string]json.RawMessage{}
	if len(data) != 0 && !bytes.Equal(data, []byte("null")) {
		if data[0] != '{' {
			return nil, &argError{"Invalid arguments: expected an object."}
		}
		if err := json.Unmarshal(data, &props); err != nil {
			return nil, &argError{"Invalid arguments: expected an object."}
		}
	}
	// Null is absent.
	for k, v := range props {
		if isNull(v) {
			delete(props, k)
		}
	}
	// Unknown names: the byte-wise first one is reported.
	known := make(map[string]bool, len(table))
	names := make([]string, len(table))
	for i, p := range table {
		known[p.name] = true
		names[i] = p.name
	}
	var unknown []string
	for k := range props {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, argErrorf("Unknown parameter \"%s\" for %s. Known parameters: %s.", unknown[0], tool, strings.Join(names, ", "))
	}
	// Types, in table order.
	a := &args{strs: map[string]string{}, nums: map[string]float64{}, bools: map[string]bool{}, lists: map[string][]string{}}
	for _, p := range table {
		v, ok := props[p.name]
		if !ok {
			continue
		}
		switch p.kind {
		case kString:
			s, ok := jsonString(v)
			if !ok {
				return nil, argErrorf("Invalid parameter \"%s\": expected a string.", p.name)
			}
			a.strs[p.name] = s
		case kNumber:
			n, ok := jsonNumber(v)
			if !ok {
				return nil, argErrorf("Invalid parameter \"%s\": expected a number.", p.name)
			}
			a.nums[p.name] = n
		case kBool:
			b, ok := jsonBool(v)
			if !ok {
				return nil, argErrorf("Invalid parameter \"%s\": expected a boolean.", p.name)
			}
			a.bools[p.name] = b
		case kEnv:
			env, err := jsonEnv(p.name, v)
			if err != nil {
				return nil, err
			}
			a.env = env
		case kStrings:
			l, ok := jsonStrings(v)
			if !ok {
				return nil, argErrorf("Invalid parameter \"%s\": expected an array of strings.", p.name)
			}
			a.lists[p.name] = l
		}
	}
	return a, nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

func jsonString(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

// asciiSpace is the ASCII whitespace trimmed from numeric and boolean strings.
const asciiSpace = " \t\n\v\f\r"

var decimalNumber = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// jsonNumber accepts a JSON number or a string holding a finite decimal number.
func jsonNumber(v json.RawMessage) (float64, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return 0, false
	}
	var text string
	if v[0] == '"' {
		s, ok := jsonString(v)
		if !ok {
			return 0, false
		}
		text = strings.Trim(s, asciiSpace)
		if !decimalNumber.MatchString(text) {
			return 0, false
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(v, &n); err != nil {
			return 0, false
		}
		text = n.String()
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

func jsonBool(v json.RawMessage) (bool, bool) {
	v = bytes.TrimSpace(v)
	switch {
	case bytes.Equal(v, []byte("true")):
		return true, true
	case bytes.Equal(v, []byte("false")):
		return false, true
	}
	s, ok := jsonString(v)
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.Trim(s, asciiSpace)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// jsonEnv decodes the env object; values must be JSON strings. The first bad value in byte-wise key order
// is reported.
func jsonEnv(name string, v json.RawMessage) (map[string]string, error) {
	v = bytes.TrimSpace(v)
	var obj map[string]json.RawMessage
	if len(v) == 0 || v[0] != '{' || json.Unmarshal(v, &obj) != nil {
		return nil, argErrorf("Invalid parameter \"%s\": expected an object of strings.", name)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make(map[string]string, len(obj))
	for _, k := range keys {
		s, ok := jsonString(obj[k])
		if !ok {
			return nil, argErrorf("Invalid parameter \"%s\": value of \"%s\" must be a string.", name, k)
		}
		env[k] = s
	}
	return env, nil
}

// jsonStrings accepts an array of strings or a single string.
func jsonStrings(v json.RawMessage) ([]string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return nil, false
	}
	if v[0] == '"' {
		s, ok := jsonString(v)
		if !ok {
			return nil, false
		}
		return []string{s}, true
	}
	if v[0] != '[' {
		return nil, false
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, false
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := jsonString(it)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// floorInt floors a finite number and clamps it to ±2^53 so that it converts to int safely.
func floorInt(f float64) int {
	const limit = 1 << 53
	f = math.Floor(f)
	if f > limit {
		return limit
	}
	if f < -limit {
		return -limit
	}
	return int(f)
}
