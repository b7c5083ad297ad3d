// Tests of the command line and the entry points.

package main

import (
	"bytes"
	"strings"
	"testing"
)

func runMain(t *testing.T, args, environ []string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = realMain(args, environ, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdoutHas  string // "" = stdout must be empty
		stderrHas  []string
		stderrNone bool
	}{
		{name: "version", args: []string{"--version"}, code: 0, stdoutHas: "execmcp ", stderrNone: true},
		{name: "version single dash", args: []string{"-version"}, code: 0, stdoutHas: "execmcp ", stderrNone: true},
		{name: "help", args: []string{"--help"}, code: 0, stdoutHas: "Usage:", stderrNone: true},
		{name: "h", args: []string{"-h"}, code: 0, stdoutHas: "Usage:", stderrNone: true},
		{name: "help single dash", args: []string{"-help"}, code: 0, stdoutHas: "Usage:", stderrNone: true},
		{name: "unknown flag", args: []string{"--bogus"}, code: 2,
			stderrHas: []string{"execmcp: flag provided but not defined: -bogus\n", "Usage:"}},
		{name: "positional", args: []string{"serve"}, code: 2,
			stderrHas: []string{`execmcp: unexpected argument "serve"` + "\n", "Usage:"}},
		{name: "positional after flag", args: []string{"--listen", "127.0.0.1:0", "x"}, code: 2,
			stderrHas: []string{`execmcp: unexpected argument "x"`}},
		{name: "missing flag value", args: []string{"--config"}, code: 2,
			stderrHas: []string{"flag needs an argument: -config", "Usage:"}},
		{name: "bad flag before version", args: []string{"--bogus", "--version"}, code: 2,
			stderrHas: []string{"flag provided but not defined: -bogus"}},
		{name: "run", args: nil, code: 0, stderrNone: true}, // an orderly end of stdin is logged at debug only
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, tt.args, nil)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if tt.stdoutHas == "" && stdout != "" {
				t.Errorf("stdout = %q, want empty", stdout)
			}
			if tt.stdoutHas != "" && !strings.Contains(stdout, tt.stdoutHas) {
				t.Errorf("stdout = %q, want it to contain %q", stdout, tt.stdoutHas)
			}
			if tt.stderrNone && withoutCgroupsLine(stderr) != "" {
				t.Errorf("stderr = %q, want empty", stderr)
			}
			for _, want := range tt.stderrHas {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr = %q, want it to contain %q", stderr, want)
				}
			}
		})
	}
}

// withoutCgroupsLine drops the one info line of a system without usable cgroups (docs/reference.md#cgroups), which
// a default run writes there and only there.
func withoutCgroupsLine(stderr string) string {
	var keep []string
	for _, line := range strings.SplitAfter(stderr, "\n") {
		if !strings.Contains(line, `level=INFO msg="cgroups unavailable;`) {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}

func TestVersion(t *testing.T) {
	old := version
	t.Cleanup(func() { version = old })

	version = ""
	if got := buildVersion(); got == "" || got == "(devel)" {
		t.Errorf("buildVersion() = %q without ldflags, want the module version or dev", got)
	}
	version = "1.2.3"
	code, stdout, stderr := runMain(t, []string{"--version"}, nil)
	if code != 0 || stdout != "execmcp 1.2.3\n" || stderr != "" {
		t.Errorf("--version = %d %q %q, want 0 %q \"\"", code, stdout, stderr, "execmcp 1.2.3\n")
	}
}

func TestParseArgsForms(t *testing.T) {
	tests := []struct {
		args         []string
		listen, conf string
		act          action
	}{
		{args: nil, act: actionRun},
		{args: []string{"--listen", "127.0.0.1:8765"}, listen: "127.0.0.1:8765"},
		{args: []string{"--listen=127.0.0.1:1"}, listen: "127.0.0.1:1"},
		{args: []string{"-listen", "a:1", "-config", "c.json"}, listen: "a:1", conf: "c.json"},
		{args: []string{"--config=x.json", "--listen", ":9"}, listen: ":9", conf: "x.json"},
		{args: []string{"--version"}, act: actionVersion},
		{args: []string{"--help", "--version"}, act: actionHelp},
	}
	for _, tt := range tests {
		listen, conf, act, err := parseArgs(tt.args)
		if err != nil || listen != tt.listen || conf != tt.conf || act != tt.act {
			t.Errorf("parseArgs(%q) = %q %q %v %v, want %q %q %v nil", tt.args, listen, conf, act, err, tt.listen, tt.conf, tt.act)
		}
	}
}
