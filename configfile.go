// This file owns the JSON config file (docs/reference.md#config-file): its schema, the walk that checks every
// key and value, and the settings it provides. The first problem found is reported; keys are visited in sorted
// order so that it is always the same one.

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// fileConfig holds the settings the config file provides; the setting names are dotted paths.
type fileConfig struct {
	toolsAllow, toolsDeny    setting[[]string]
	backgroundMs, cleanupMs  setting[int64]
	killGraceMs              setting[int64]
	timeoutSec               setting[float64]
	notifyOnExit             setting[bool]
	notifyOnExitEmptySuccess setting[bool]
	sandboxNetwork           setting[bool]
	elevatedEnabled          setting[bool]
	pathPrepend, allowlist   setting[[]string]
	security, sandbox, host  setting[string]
	channel                  setting[string]
	cwd                      setting[string]
	httpMaxSessions          setting[int64]
	loginPath                setting[string]
	scriptPreflight          setting[string]
	drainTimeout             setting[time.Duration]
	logDir                   setting[string]
	logMaxBytes              setting[int64]
	logTotalMaxBytes         setting[int64]
	guardian, cgroup         setting[string]
}

type jsonKind int

const (
	kindObject jsonKind = iota
	kindStrings
	kindString
	kindNumber
	kindInteger
	kindBool
)

var expectedText = map[jsonKind]string{
	kindObject:  "an object",
	kindStrings: "an array of strings",
	kindString:  "a string",
	kindNumber:  "a number",
	kindInteger: "an integer",
	kindBool:    "a boolean",
}

// schemaNode describes one key of the config file. apply stores a checked leaf value; its error is reported
// after the "config <file>: " prefix.
type schemaNode struct {
	kind     jsonKind
	children map[string]*schemaNode
	apply    func(path string, v any) error
}

// gotText names the JSON type of a decoded value (numbers decoded with UseNumber) or of the first token of one,
// for "expected ..., got <type>" messages.
func gotText(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case json.Delim: // the first token of a value read with json.Decoder.Token
		if v == '[' {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	default:
		return "null"
	}
}

// configSchema builds the schema whose leaves store into fc.
func (l *loader) configSchema(fc *fileConfig) *schemaNode {
	strs := func(dst *setting[[]string]) *schemaNode {
		return &schemaNode{kind: kindStrings, apply: func(path string, v any) error {
			*dst = setting[[]string]{set: true, v: cleanList(v.([]string)), name: path}
			return nil
		}}
	}
	integer := func(dst *setting[int64]) *schemaNode {
		return &schemaNode{kind: kindInteger, apply: func(path string, v any) error {
			n := v.(json.Number)
			f, _ := strconv.ParseFloat(n.String(), 64) // ±Inf when out of range: clamped below
			i := int64(math.MaxInt64)
			switch {
			case f < math.MinInt64:
				i = math.MinInt64
			case f < math.MaxInt64:
				i = int64(f)
			}
			*dst = setting[int64]{set: true, v: i, name: path, raw: n.String()}
			return nil
		}}
	}
	boolean := func(dst *setting[bool]) *schemaNode {
		return &schemaNode{kind: kindBool, apply: func(path string, v any) error {
			*dst = setting[bool]{set: true, v: v.(bool), name: path}
			return nil
		}}
	}
	enum := func(dst *setting[string], allowed []string) *schemaNode {
		return &schemaNode{kind: kindString, apply: func(path string, v any) error {
			s := v.(string)
			if path == "tools.exec.host" && s == "node" {
				return errors.New(`tools.exec.host: "node" is not supported (node hosts are out of scope)`)
			}
			if !slices.Contains(allowed, s) {
				return fmt.Errorf("%s: %q is not one of %s", path, s, strings.Join(allowed, ", "))
			}
			*dst = setting[string]{set: true, v: s, name: path, raw: s}
			return nil
		}}
	}
	timeout := &schemaNode{kind: kindNumber, apply: func(path string, v any) error {
		n := v.(json.Number)
		f, _ := strconv.ParseFloat(n.String(), 64)
		if f < 0 {
			return fmt.Errorf("%s: must be 0 or more", path)
		}
		fc.timeoutSec = setting[float64]{set: true, v: f, name: path, raw: n.String()}
		return nil
	}}
	drain := &schemaNode{kind: kindNumber, apply: func(path string, v any) error {
		n := v.(json.Number)
		f, _ := strconv.ParseFloat(n.String(), 64) // ±Inf when out of range: clamped by resolve
		if f < 0 {
			return fmt.Errorf("%s: must be 0 or more", path)
		}
		d := secondsDuration(f)
		fc.drainTimeout = setting[time.Duration]{set: true, v: d, name: path, raw: n.String()}
		return nil
	}}
	count := func(dst *setting[int64]) *schemaNode {
		n := integer(dst)
		set := n.apply
		n.apply = func(path string, v any) error {
			if f, _ := strconv.ParseFloat(v.(json.Number).String(), 64); f < 0 {
				return fmt.Errorf("%s: must be 0 or more", path)
			}
			return set(path, v)
		}
		return n
	}
	logDir := &schemaNode{kind: kindString, apply: func(path string, v any) error {
		if s := v.(string); s != "" { // empty: the default, as an empty variable
			fc.logDir = setting[string]{set: true, v: s, name: path, raw: s}
		}
		return nil
	}}
	cwd := &schemaNode{kind: kindString, apply: func(path string, v any) error {
		s := v.(string)
		dir, ok := l.resolveDir(s)
		if !ok {
			return fmt.Errorf("%s: %q is not an existing directory", path, s)
		}
		fc.cwd = setting[string]{set: true, v: dir, name: path, raw: s}
		return nil
	}}
	return &schemaNode{kind: kindObject, children: map[string]*schemaNode{
		"$schema": {kind: kindString}, // any string, ignored
		"tools": {kind: kindObject, children: map[string]*schemaNode{
			"allow": strs(&fc.toolsAllow),
			"deny":  strs(&fc.toolsDeny),
			"exec": {kind: kindObject, children: map[string]*schemaNode{
				"backgroundMs":             integer(&fc.backgroundMs),
				"timeoutSec":               timeout,
				"cleanupMs":                integer(&fc.cleanupMs),
				"notifyOnExit":             boolean(&fc.notifyOnExit),
				"notifyOnExitEmptySuccess": boolean(&fc.notifyOnExitEmptySuccess),
				"pathPrepend":              strs(&fc.pathPrepend),
				"security":                 enum(&fc.security, securityModes),
				"allowlist":                strs(&fc.allowlist),
				"sandbox":                  enum(&fc.sandbox, sandboxModes),
				"sandboxNetwork":           boolean(&fc.sandboxNetwork),
				"host":                     enum(&fc.host, hostModes),
				"channel":                  enum(&fc.channel, channelModes),
				"cwd":                      cwd,
				"killGraceMs":              integer(&fc.killGraceMs),
				"httpMaxSessions":          integer(&fc.httpMaxSessions),
				"loginPath":                enum(&fc.loginPath, loginPathModes),
				"scriptPreflight":          enum(&fc.scriptPreflight, scriptPreflightModes),
				"drainTimeoutSec":          drain,
				"logDir":                   logDir,
				"logMaxBytes":              count(&fc.logMaxBytes),
				"logTotalMaxBytes":         count(&fc.logTotalMaxBytes),
				"guardian":                 enum(&fc.guardian, guardianModes),
				"cgroup":                   enum(&fc.cgroup, cgroupModes),
			}},
			"elevated": {kind: kindObject, children: map[string]*schemaNode{
				"enabled": boolean(&fc.elevatedEnabled),
			}},
		}},
	}}
}

// readConfigFile reads, decodes and checks the config file p (relative to the server's cwd) into fc.
func (l *loader) readConfigFile(p string, fc *fileConfig) error {
	data, err := l.readFile(p)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil { // full syntax check, incl. trailing data
		return fmt.Errorf("invalid JSON: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return walkConfig("", root, l.configSchema(fc))
}

// walkConfig checks v, the value at the dotted path, against node and applies its leaves.
func walkConfig(path string, v any, node *schemaNode) error {
	mismatch := func() error {
		if path == "" {
			return fmt.Errorf("expected %s, got %s", expectedText[node.kind], gotText(v))
		}
		return fmt.Errorf("%s: expected %s, got %s", path, expectedText[node.kind], gotText(v))
	}
	var leaf any
	switch node.kind {
	case kindObject:
		obj, ok := v.(map[string]any)
		if !ok {
			return mismatch()
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			child, known := node.children[k]
			if !known {
				return fmt.Errorf("unknown key %q", sub)
			}
			if err := walkConfig(sub, obj[k], child); err != nil {
				return err
			}
		}
		return nil
	case kindStrings:
		arr, ok := v.([]any)
		if !ok {
			return mismatch()
		}
		strs := make([]string, len(arr))
		for i, item := range arr {
			s, ok := item.(string)
			if !ok {
				return fmt.Errorf("%s[%d]: expected a string, got %s", path, i, gotText(item))
			}
			strs[i] = s
		}
		leaf = strs
	case kindString:
		if _, ok := v.(string); !ok {
			return mismatch()
		}
		leaf = v
	case kindNumber:
		if _, ok := v.(json.Number); !ok {
			return mismatch()
		}
		leaf = v
	case kindInteger:
		n, ok := v.(json.Number)
		if !ok {
			return mismatch()
		}
		if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			f, _ := strconv.ParseFloat(n.String(), 64)
			if !math.IsInf(f, 0) && f != math.Trunc(f) {
				return mismatch() // a fractional part: "got number"
			}
		}
		leaf = v
	case kindBool:
		if _, ok := v.(bool); !ok {
			return mismatch()
		}
		leaf = v
	}
	if node.apply != nil {
		return node.apply(path, leaf)
	}
	return nil
}
