// Tests of the JSON config file.

package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// writeConfig writes content to a config file in a temp dir and returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "execmcp.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigRelativeToServerCwd(t *testing.T) {
	wd := t.TempDir()
	if err := os.WriteFile(filepath.Join(wd, "c.json"), []byte(`{"tools":{"exec":{"killGraceMs":10}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := mustLoad(t, "c.json", nil, wd)
	if cfg.KillGrace != 10*time.Millisecond || cfg.ConfigPath != "c.json" {
		t.Errorf("KillGrace = %v ConfigPath = %q", cfg.KillGrace, cfg.ConfigPath)
	}
}

func TestConfigFullFile(t *testing.T) {
	wd := t.TempDir()
	proj := filepath.Join(wd, "proj")
	if err := os.Mkdir(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := writeConfig(t, `{
  "$schema": "https://example.com/execmcp.schema.json",
  "tools": {
    "allow": ["exec", " process ", ""],
    "deny": ["bash"],
    "exec": {
      "backgroundMs": 250,
      "timeoutSec": 12.5,
      "cleanupMs": 120000,
      "notifyOnExit": false,
      "notifyOnExitEmptySuccess": true,
      "pathPrepend": ["/opt/a", " /opt/b", "/opt/a", ""],
      "security": "deny",
      "allowlist": ["git"],
      "sandbox": "none",
      "sandboxNetwork": true,
      "host": "gateway",
      "channel": "on",
      "cwd": "proj",
      "killGraceMs": 1000.0,
      "httpMaxSessions": 40,
      "loginPath": "off",
      "scriptPreflight": "off",
      "drainTimeoutSec": 2.5,
      "logDir": "logs",
      "logMaxBytes": 0,
      "logTotalMaxBytes": 1e6,
      "guardian": "off",
      "cgroup": "off"
    },
    "elevated": { "enabled": true }
  }
}`)
	cfg, stderr := mustLoad(t, cfgPath, nil, wd)
	want := config{
		ConfigPath:               cfgPath,
		YieldMs:                  250,
		TimeoutSec:               12.5,
		TTL:                      2 * time.Minute,
		SweepInterval:            30 * time.Second,
		MaxOutputChars:           100000,
		PendingMaxChars:          30000,
		NotifyOnExit:             false,
		NotifyOnExitEmptySuccess: true,
		PathPrepend:              []string{"/opt/a", "/opt/b"},
		Security:                 "deny",
		Allowlist:                []string{"git"},
		Sandbox:                  "none",
		SandboxNetwork:           true,
		Host:                     "gateway",
		Channel:                  "on",
		Cwd:                      proj,
		KillGrace:                time.Second,
		ElevatedEnabled:          true,
		ToolsAllow:               []string{"exec", "process"},
		ToolsDeny:                []string{"bash"},
		OrphanGrace:              time.Minute,
		LogLevel:                 slog.LevelInfo,
		StdioWorkers:             32,
		HTTPMaxSessions:          40,
		DrainTimeout:             2500 * time.Millisecond,
		LogFormat:                "text",
		Shell:                    "/bin/sh",
		LoginPath:                "off",
		ScriptPreflight:          false,
		LogDir:                   filepath.Join(wd, "logs"),
		LogMaxBytes:              0,
		LogTotalMaxBytes:         1000000,
		Guardian:                 "off",
		Cgroup:                   "off",
	}
	if !configEqual(cfg, want) {
		t.Errorf("config:\n got %+v\nwant %+v", cfg, want)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want empty", stderr)
	}
}

func TestConfigErrors(t *testing.T) {
	wd := t.TempDir()
	file := filepath.Join(wd, "plainfile")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content string
		environ []string
		want    string // after "config <file>: ", unless raw
		raw     bool   // want is the whole problem
	}{
		{name: "empty file", content: ``, want: "invalid JSON: unexpected end of JSON input"},
		{name: "syntax", content: `{"tools": }`, want: "invalid JSON: invalid character '}' looking for beginning of value"},
		{name: "trailing data", content: `{} {}`, want: "invalid JSON: invalid character '{' after top-level value"},
		{name: "comment", content: "// c\n{}", want: "invalid JSON: invalid character '/' looking for beginning of value"},
		{name: "top-level array", content: `[]`, want: "expected an object, got array"},
		{name: "top-level null", content: `null`, want: "expected an object, got null"},
		{name: "unknown top key", content: `{"server": {}}`, want: `unknown key "server"`},
		{name: "unknown exec key", content: `{"tools":{"exec":{"yieldMs":1000}}}`, want: `unknown key "tools.exec.yieldMs"`},
		{name: "unknown elevated key", content: `{"tools":{"elevated":{"allowFrom":[]}}}`, want: `unknown key "tools.elevated.allowFrom"`},
		{name: "unknown tools key", content: `{"tools":{"profile":"x"}}`, want: `unknown key "tools.profile"`},
		{name: "sorted order", content: `{"tools":{"exec":{"zzz":1,"backgroundMs":"x"}}}`, want: "tools.exec.backgroundMs: expected an integer, got string"},
		{name: "sorted order 2", content: `{"tools":{"exec":{"timeoutSec":-1},"allow":"exec"}}`, want: "tools.allow: expected an array of strings, got string"},
		{name: "schema string", content: `{"$schema": 1}`, want: "$schema: expected a string, got number"},
		{name: "tools not object", content: `{"tools": []}`, want: "tools: expected an object, got array"},
		{name: "tools null", content: `{"tools": null}`, want: "tools: expected an object, got null"},
		{name: "exec not object", content: `{"tools":{"exec":true}}`, want: "tools.exec: expected an object, got boolean"},
		{name: "timeoutSec string", content: `{"tools":{"exec":{"timeoutSec":"10"}}}`, want: "tools.exec.timeoutSec: expected a number, got string"},
		{name: "timeoutSec null", content: `{"tools":{"exec":{"timeoutSec":null}}}`, want: "tools.exec.timeoutSec: expected a number, got null"},
		{name: "timeoutSec negative", content: `{"tools":{"exec":{"timeoutSec":-0.5}}}`, want: "tools.exec.timeoutSec: must be 0 or more"},
		{name: "drainTimeoutSec negative", content: `{"tools":{"exec":{"drainTimeoutSec":-1}}}`, want: "tools.exec.drainTimeoutSec: must be 0 or more"},
		{name: "drainTimeoutSec string", content: `{"tools":{"exec":{"drainTimeoutSec":"10s"}}}`, want: "tools.exec.drainTimeoutSec: expected a number, got string"},
		{name: "logMaxBytes negative", content: `{"tools":{"exec":{"logMaxBytes":-1}}}`, want: "tools.exec.logMaxBytes: must be 0 or more"},
		{name: "logTotalMaxBytes fraction", content: `{"tools":{"exec":{"logTotalMaxBytes":1.5}}}`, want: "tools.exec.logTotalMaxBytes: expected an integer, got number"},
		{name: "logDir number", content: `{"tools":{"exec":{"logDir":1}}}`, want: "tools.exec.logDir: expected a string, got number"},
		{name: "backgroundMs fraction", content: `{"tools":{"exec":{"backgroundMs":10.5}}}`, want: "tools.exec.backgroundMs: expected an integer, got number"},
		{name: "cleanupMs object", content: `{"tools":{"exec":{"cleanupMs":{}}}}`, want: "tools.exec.cleanupMs: expected an integer, got object"},
		{name: "httpMaxSessions string", content: `{"tools":{"exec":{"httpMaxSessions":"10"}}}`, want: "tools.exec.httpMaxSessions: expected an integer, got string"},
		{name: "httpMaxSessions fraction", content: `{"tools":{"exec":{"httpMaxSessions":2.5}}}`, want: "tools.exec.httpMaxSessions: expected an integer, got number"},
		{name: "killGraceMs bool", content: `{"tools":{"exec":{"killGraceMs":false}}}`, want: "tools.exec.killGraceMs: expected an integer, got boolean"},
		{name: "notifyOnExit string", content: `{"tools":{"exec":{"notifyOnExit":"true"}}}`, want: "tools.exec.notifyOnExit: expected a boolean, got string"},
		{name: "notifyOnExitEmptySuccess number", content: `{"tools":{"exec":{"notifyOnExitEmptySuccess":1}}}`, want: "tools.exec.notifyOnExitEmptySuccess: expected a boolean, got number"},
		{name: "sandboxNetwork null", content: `{"tools":{"exec":{"sandboxNetwork":null}}}`, want: "tools.exec.sandboxNetwork: expected a boolean, got null"},
		{name: "elevated.enabled array", content: `{"tools":{"elevated":{"enabled":[]}}}`, want: "tools.elevated.enabled: expected a boolean, got array"},
		{name: "pathPrepend string", content: `{"tools":{"exec":{"pathPrepend":"/opt/bin"}}}`, want: "tools.exec.pathPrepend: expected an array of strings, got string"},
		{name: "allowlist element", content: `{"tools":{"exec":{"allowlist":["git", 3]}}}`, want: "tools.exec.allowlist[1]: expected a string, got number"},
		{name: "deny null", content: `{"tools":{"deny":null}}`, want: "tools.deny: expected an array of strings, got null"},
		{name: "security number", content: `{"tools":{"exec":{"security":0}}}`, want: "tools.exec.security: expected a string, got number"},
		{name: "security enum", content: `{"tools":{"exec":{"security":"ask"}}}`, want: `tools.exec.security: "ask" is not one of full, allowlist, deny`},
		{name: "guardian bool", content: `{"tools":{"exec":{"guardian":false}}}`, want: "tools.exec.guardian: expected a string, got boolean"},
		{name: "cgroup enum", content: `{"tools":{"exec":{"cgroup":"on"}}}`, want: `tools.exec.cgroup: "on" is not one of auto, off`},
		{name: "sandbox enum", content: `{"tools":{"exec":{"sandbox":"Bwrap"}}}`, want: `tools.exec.sandbox: "Bwrap" is not one of none, bwrap`},
		{name: "host enum", content: `{"tools":{"exec":{"host":"remote"}}}`, want: `tools.exec.host: "remote" is not one of auto, sandbox, gateway`},
		{name: "channel enum", content: `{"tools":{"exec":{"channel":"always"}}}`, want: `tools.exec.channel: "always" is not one of auto, on, off`},
		{name: "host node", content: `{"tools":{"exec":{"host":"node"}}}`, want: `tools.exec.host: "node" is not supported (node hosts are out of scope)`},
		{name: "cwd missing", content: `{"tools":{"exec":{"cwd":"/does/not/exist"}}}`, want: `tools.exec.cwd: "/does/not/exist" is not an existing directory`},
		{name: "cwd file", content: `{"tools":{"exec":{"cwd":"plainfile"}}}`, want: `tools.exec.cwd: "plainfile" is not an existing directory`},
		{name: "cwd number", content: `{"tools":{"exec":{"cwd":1}}}`, want: `tools.exec.cwd: expected a string, got number`},
		{name: "host sandbox without sandbox", content: `{"tools":{"exec":{"host":"sandbox"}}}`,
			want: `tools.exec.host is "sandbox" but tools.exec.sandbox is "none"`},
		{name: "env host sandbox with config sandbox none", content: `{"tools":{"exec":{"sandbox":"none"}}}`, environ: []string{"EXECMCP_HOST=sandbox"},
			want: `tools.exec.host is "sandbox" but tools.exec.sandbox is "none"`},
		{name: "config host sandbox overrides env", content: `{"tools":{"exec":{"host":"gateway"}}}`, environ: []string{"EXECMCP_HOST=sandbox"},
			want: "", raw: true},
		{name: "security allowlist", content: `{"tools":{"exec":{"security":"allowlist"}}}`, want: "", raw: true},
		{name: "sandbox bwrap", content: `{"tools":{"exec":{"sandbox":"bwrap","host":"sandbox"}}}`, want: "", raw: true},
		{name: "allowlist relative glob", content: `{"tools":{"exec":{"allowlist":["git", " ./x "]}}}`,
			want: `tools.exec.allowlist: "./x" must be an executable name or an absolute path glob`, raw: true},
		{name: "config security full overrides env allowlist", content: `{"tools":{"exec":{"security":"full"}}}`, environ: []string{"EXECMCP_SECURITY=allowlist"},
			want: "", raw: true},
		{name: "schema ignored", content: `{"$schema":"anything"}`, want: "", raw: true},
		{name: "empty object", content: `{}`, want: "", raw: true},
		{name: "integer-valued float", content: `{"tools":{"exec":{"backgroundMs":1e3}}}`, want: "", raw: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.content)
			_, problems, _ := load(t, "", p, tt.environ, wd)
			want := tt.want
			if !tt.raw {
				want = "config " + p + ": " + want
			}
			if want == "" {
				if problems != nil {
					t.Errorf("problems = %q, want none", problems)
				}
				return
			}
			if !slices.Equal(problems, []string{want}) {
				t.Errorf("problems = %q, want [%q]", problems, want)
			}
		})
	}
}

func TestConfigUnreadable(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.json")
	_, problems, _ := load(t, "", missing, nil, dir)
	if want := []string{"config " + missing + ": no such file or directory"}; !slices.Equal(problems, want) {
		t.Errorf("missing: problems = %q, want %q", problems, want)
	}
	_, problems, _ = load(t, "", dir, nil, dir)
	if want := []string{"config " + dir + ": is a directory"}; !slices.Equal(problems, want) {
		t.Errorf("directory: problems = %q, want %q", problems, want)
	}
	// The path is reported as given, even when relative.
	_, problems, _ = load(t, "", "rel/nope.json", nil, dir)
	if want := []string{"config rel/nope.json: no such file or directory"}; !slices.Equal(problems, want) {
		t.Errorf("relative: problems = %q, want %q", problems, want)
	}
}

func TestConfigAndEnvErrorsTogether(t *testing.T) {
	p := writeConfig(t, `{"tools":{"exec":{"yieldMs":1}}}`)
	code, stdout, stderr := runMain(t, []string{"--config", p}, []string{"PI_BASH_YIELD_MS=abc"})
	want := `execmcp: invalid value for PI_BASH_YIELD_MS: "abc" is not an integer` + "\n" +
		`execmcp: config ` + p + `: unknown key "tools.exec.yieldMs"` + "\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("got %d %q %q, want 1 \"\" %q", code, stdout, stderr, want)
	}
}
