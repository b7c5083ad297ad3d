// Tests of loadConfig: defaults, precedence, clamps and the log level.

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fixedWd returns a getwd function that reports dir.
func fixedWd(dir string) func() (string, error) {
	return func() (string, error) { return dir, nil }
}

// load calls loadConfig with a fixed server cwd and returns the config, the problems (nil on success) and stderr.
func load(t *testing.T, listen, configPath string, environ []string, wd string) (config, []string, string) {
	t.Helper()
	var stderr bytes.Buffer
	cfg, logger, err := loadConfig(listen, configPath, environ, fixedWd(wd), &stderr)
	if err != nil {
		var se *startupError
		if !errors.As(err, &se) {
			t.Fatalf("loadConfig error is %T, want *startupError: %v", err, err)
		}
		if len(se.problems) == 0 {
			t.Fatalf("startupError without problems")
		}
		return cfg, se.problems, stderr.String()
	}
	if logger == nil {
		t.Fatalf("loadConfig returned a nil logger")
	}
	return cfg, nil, stderr.String()
}

// mustLoad is load that fails the test on a startup error.
func mustLoad(t *testing.T, configPath string, environ []string, wd string) (config, string) {
	t.Helper()
	cfg, problems, stderr := load(t, "", configPath, environ, wd)
	if problems != nil {
		t.Fatalf("unexpected startup problems: %q", problems)
	}
	return cfg, stderr
}

func TestDefaults(t *testing.T) {
	wd := t.TempDir()
	cfg, stderr := mustLoad(t, "", nil, wd)
	want := config{
		YieldMs:         10000,
		TimeoutSec:      1800,
		TTL:             30 * time.Minute,
		SweepInterval:   5 * time.Minute,
		MaxOutputChars:  100000,
		PendingMaxChars: 30000,
		NotifyOnExit:    true,
		Security:        "full",
		Sandbox:         "none",
		Host:            "auto",
		Channel:         "auto",
		Cwd:             wd,
		KillGrace:       3 * time.Second,
		OrphanGrace:     60 * time.Second,
		LogLevel:        slog.LevelInfo,
		StdioWorkers:    32,
		HTTPMaxSessions: 1000,
		DrainTimeout:    10 * time.Second,
		LogFormat:       "text",
		Shell:           "/bin/sh",
		LoginPath:       "auto",
		ScriptPreflight: true,

		LogDir:           filepath.Join("/tmp", "execmcp-"+strconv.Itoa(os.Getuid())),
		LogMaxBytes:      1 << 30,
		LogTotalMaxBytes: 8 << 30,
		Guardian:         "on",
		Cgroup:           "auto",
	}
	if !configEqual(cfg, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want empty", stderr)
	}
}

func configEqual(a, b config) bool {
	norm := func(c *config) {
		for _, l := range []*[]string{&c.PathPrepend, &c.Allowlist, &c.ToolsAllow, &c.ToolsDeny} {
			if len(*l) == 0 {
				*l = nil
			}
		}
	}
	norm(&a)
	norm(&b)
	return reflect.DeepEqual(a, b)
}

func TestGetwdFailure(t *testing.T) {
	var stderr bytes.Buffer
	_, _, err := loadConfig("", "", nil, func() (string, error) { return "", errors.New("boom") }, &stderr)
	var se *startupError
	if !errors.As(err, &se) || !slices.Equal(se.problems, []string{"cannot determine the working directory: boom"}) {
		t.Errorf("err = %v", err)
	}
}

func TestClamps(t *testing.T) {
	tests := []struct {
		environ []string
		config  string // "" = no config file
		warn    string // expected warning (after `level=WARN msg="setting clamped" `)
		check   func(config) bool
	}{
		{environ: []string{"PI_BASH_JOB_TTL_MS=5"}, warn: `name=PI_BASH_JOB_TTL_MS value=5 used=60000`,
			check: func(c config) bool { return c.TTL == time.Minute && c.SweepInterval == 30*time.Second }},
		{environ: []string{"PI_BASH_JOB_TTL_MS=0"}, warn: `name=PI_BASH_JOB_TTL_MS value=0 used=60000`,
			check: func(c config) bool { return c.TTL == time.Minute }},
		{environ: []string{"PI_BASH_JOB_TTL_MS=99999999999999999999"}, warn: `name=PI_BASH_JOB_TTL_MS value=99999999999999999999 used=10800000`,
			check: func(c config) bool { return c.TTL == 3*time.Hour && c.SweepInterval == 30*time.Minute }},
		{environ: []string{"PI_BASH_YIELD_MS=0"}, warn: `name=PI_BASH_YIELD_MS value=0 used=10`,
			check: func(c config) bool { return c.YieldMs == 10 }},
		{environ: []string{"PI_BASH_YIELD_MS=500000"}, warn: `name=PI_BASH_YIELD_MS value=500000 used=120000`,
			check: func(c config) bool { return c.YieldMs == 120000 }},
		{environ: []string{"EXECMCP_TIMEOUT_SEC=1e9"}, warn: `name=EXECMCP_TIMEOUT_SEC value=1e9 used=604800`,
			check: func(c config) bool { return c.TimeoutSec == 604800 }},
		{environ: []string{"PI_BASH_SWEEPER_INTERVAL_MS=10"}, warn: `name=PI_BASH_SWEEPER_INTERVAL_MS value=10 used=1000`,
			check: func(c config) bool { return c.SweepInterval == time.Second }},
		{environ: []string{"PI_BASH_SWEEPER_INTERVAL_MS=-5"}, warn: `name=PI_BASH_SWEEPER_INTERVAL_MS value=-5 used=1000`,
			check: func(c config) bool { return c.SweepInterval == time.Second }},
		{environ: []string{"PI_BASH_SWEEPER_INTERVAL_MS=7200000"}, warn: `name=PI_BASH_SWEEPER_INTERVAL_MS value=7200000 used=3600000`,
			check: func(c config) bool { return c.SweepInterval == time.Hour }},
		{environ: []string{"PI_BASH_MAX_OUTPUT_CHARS=10"}, warn: `name=PI_BASH_MAX_OUTPUT_CHARS value=10 used=1000`,
			check: func(c config) bool { return c.MaxOutputChars == 1000 && c.PendingMaxChars == 1000 }},
		{environ: []string{"PI_BASH_MAX_OUTPUT_CHARS=300000"}, warn: `name=PI_BASH_MAX_OUTPUT_CHARS value=300000 used=200000`,
			check: func(c config) bool { return c.MaxOutputChars == 200000 }},
		{environ: []string{"OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS=1"}, warn: `name=OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS value=1 used=1000`,
			check: func(c config) bool { return c.PendingMaxChars == 1000 }},
		{environ: []string{"OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS=150000"}, warn: `name=OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS value=150000 used=100000`,
			check: func(c config) bool { return c.PendingMaxChars == 100000 }},
		{environ: []string{"PI_BASH_MAX_OUTPUT_CHARS=5000", "OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS=8000"},
			warn:  `name=OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS value=8000 used=5000`,
			check: func(c config) bool { return c.MaxOutputChars == 5000 && c.PendingMaxChars == 5000 }},
		{environ: []string{"EXECMCP_KILL_GRACE_MS=-1"}, warn: `name=EXECMCP_KILL_GRACE_MS value=-1 used=0`,
			check: func(c config) bool { return c.KillGrace == 0 }},
		{environ: []string{"EXECMCP_KILL_GRACE_MS=70000"}, warn: `name=EXECMCP_KILL_GRACE_MS value=70000 used=60000`,
			check: func(c config) bool { return c.KillGrace == time.Minute }},
		{environ: []string{"EXECMCP_ORPHAN_GRACE=2h"}, warn: `name=EXECMCP_ORPHAN_GRACE value=2h used=1h0m0s`,
			check: func(c config) bool { return c.OrphanGrace == time.Hour }},
		{environ: []string{"EXECMCP_ORPHAN_GRACE=-1s"}, warn: `name=EXECMCP_ORPHAN_GRACE value=-1s used=0s`,
			check: func(c config) bool { return c.OrphanGrace == 0 }},
		{environ: []string{"EXECMCP_STDIO_WORKERS=1"}, warn: `name=EXECMCP_STDIO_WORKERS value=1 used=5`,
			check: func(c config) bool { return c.StdioWorkers == 5 }},
		{environ: []string{"EXECMCP_STDIO_WORKERS=1000"}, warn: `name=EXECMCP_STDIO_WORKERS value=1000 used=100`,
			check: func(c config) bool { return c.StdioWorkers == 100 }},
		{environ: []string{"EXECMCP_STATS_INTERVAL_MS=10"}, warn: `name=EXECMCP_STATS_INTERVAL_MS value=10 used=1000`,
			check: func(c config) bool { return c.StatsInterval == time.Second }},
		{environ: []string{"EXECMCP_DRAIN_TIMEOUT=601"}, warn: `name=EXECMCP_DRAIN_TIMEOUT value=601 used=10m0s`,
			check: func(c config) bool { return c.DrainTimeout == 10*time.Minute }},
		{environ: []string{"EXECMCP_DRAIN_TIMEOUT=1e300"}, warn: `name=EXECMCP_DRAIN_TIMEOUT value=1e300 used=10m0s`,
			check: func(c config) bool { return c.DrainTimeout == 10*time.Minute }},
		{config: `{"tools":{"exec":{"drainTimeoutSec":900}}}`, warn: `name=tools.exec.drainTimeoutSec value=900 used=10m0s`,
			check: func(c config) bool { return c.DrainTimeout == 10*time.Minute }},
		{environ: []string{"EXECMCP_HTTP_MAX_SESSIONS=0"}, warn: `name=EXECMCP_HTTP_MAX_SESSIONS value=0 used=1`,
			check: func(c config) bool { return c.HTTPMaxSessions == 1 }},
		{environ: []string{"EXECMCP_HTTP_MAX_SESSIONS=-7"}, warn: `name=EXECMCP_HTTP_MAX_SESSIONS value=-7 used=1`,
			check: func(c config) bool { return c.HTTPMaxSessions == 1 }},
		{environ: []string{"EXECMCP_HTTP_MAX_SESSIONS=100001"}, warn: `name=EXECMCP_HTTP_MAX_SESSIONS value=100001 used=100000`,
			check: func(c config) bool { return c.HTTPMaxSessions == 100000 }},
		{environ: []string{"EXECMCP_HTTP_MAX_SESSIONS=99999999999999999999"}, warn: `name=EXECMCP_HTTP_MAX_SESSIONS value=99999999999999999999 used=100000`,
			check: func(c config) bool { return c.HTTPMaxSessions == 100000 }},
		// Config numbers are clamped under their dotted path.
		{config: `{"tools":{"exec":{"backgroundMs":0}}}`, warn: `name=tools.exec.backgroundMs value=0 used=10`,
			check: func(c config) bool { return c.YieldMs == 10 }},
		{config: `{"tools":{"exec":{"cleanupMs":5}}}`, warn: `name=tools.exec.cleanupMs value=5 used=60000`,
			check: func(c config) bool { return c.TTL == time.Minute }},
		{config: `{"tools":{"exec":{"cleanupMs":1e400}}}`, warn: `name=tools.exec.cleanupMs value=1e400 used=10800000`,
			check: func(c config) bool { return c.TTL == 3*time.Hour }},
		{config: `{"tools":{"exec":{"killGraceMs":1e6}}}`, warn: `name=tools.exec.killGraceMs value=1e6 used=60000`,
			check: func(c config) bool { return c.KillGrace == time.Minute }},
		{config: `{"tools":{"exec":{"timeoutSec":700000.5}}}`, warn: `name=tools.exec.timeoutSec value=700000.5 used=604800`,
			check: func(c config) bool { return c.TimeoutSec == 604800 }},
		{config: `{"tools":{"exec":{"httpMaxSessions":0}}}`, warn: `name=tools.exec.httpMaxSessions value=0 used=1`,
			check: func(c config) bool { return c.HTTPMaxSessions == 1 }},
		{config: `{"tools":{"exec":{"httpMaxSessions":1e6}}}`, warn: `name=tools.exec.httpMaxSessions value=1e6 used=100000`,
			check: func(c config) bool { return c.HTTPMaxSessions == 100000 }},
	}
	for _, tt := range tests {
		t.Run(tt.warn, func(t *testing.T) {
			cfgPath := ""
			if tt.config != "" {
				cfgPath = writeConfig(t, tt.config)
			}
			cfg, stderr := mustLoad(t, cfgPath, tt.environ, t.TempDir())
			line := `level=WARN msg="setting clamped" ` + tt.warn + "\n"
			if !strings.Contains(stderr, line) {
				t.Errorf("stderr = %q, want a line ending in %q", stderr, line)
			}
			if strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want exactly one line", stderr)
			}
			if !tt.check(cfg) {
				t.Errorf("unexpected config %+v", cfg)
			}
		})
	}
}

func TestClampWarningThroughRealMain(t *testing.T) {
	code, stdout, stderr := runMain(t, nil, []string{"PI_BASH_JOB_TTL_MS=5"})
	if code != 0 || stdout != "" {
		t.Errorf("code = %d stdout = %q, want 0 and empty", code, stdout)
	}
	if !strings.Contains(stderr, `level=WARN msg="setting clamped" name=PI_BASH_JOB_TTL_MS value=5 used=60000`) {
		t.Errorf("stderr = %q, want the clamp warning", stderr)
	}
}

func TestLogLevel(t *testing.T) {
	// At level error the clamp warning is not logged.
	_, stderr := mustLoad(t, "", []string{"EXECMCP_LOG_LEVEL=error", "PI_BASH_JOB_TTL_MS=5"}, t.TempDir())
	if stderr != "" {
		t.Errorf("stderr = %q, want empty at level error", stderr)
	}
	var buf bytes.Buffer
	_, logger, err := loadConfig("", "", []string{"EXECMCP_LOG_LEVEL=debug"}, fixedWd(t.TempDir()), &buf)
	if err != nil {
		t.Fatal(err)
	}
	logger.Debug("probe")
	if !strings.Contains(buf.String(), "level=DEBUG msg=probe") {
		t.Errorf("debug logger output = %q", buf.String())
	}
}

// EXECMCP_LOG_FORMAT=json makes the logger write one JSON object per line, startup problems included
// (docs/reference.md#logs).
func TestLogFormat(t *testing.T) {
	var buf bytes.Buffer
	_, logger, err := loadConfig("", "", []string{"EXECMCP_LOG_FORMAT=json", "PI_BASH_JOB_TTL_MS=5"}, fixedWd(t.TempDir()), &buf)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("probe", "k", "v")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("log lines = %q, want the clamp warning and the probe", lines)
	}
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["time"] == nil || rec["level"] == nil || rec["msg"] == nil {
			t.Errorf("log line %q is not a JSON record with time, level and msg (%v)", line, err)
		}
	}
	if !strings.Contains(lines[1], `"level":"INFO","msg":"probe","k":"v"}`) {
		t.Errorf("probe line = %q", lines[1])
	}

	code, stdout, stderr := runMain(t, nil, []string{"EXECMCP_LOG_FORMAT=json", "PI_BASH_YIELD_MS=abc", "EXECMCP_HOST=node"})
	if code != 1 || stdout != "" {
		t.Errorf("code = %d stdout = %q, want 1 and empty", code, stdout)
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		var rec struct{ Level, Msg string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Level != "ERROR" {
			t.Errorf("startup error line %q is not a JSON ERROR record (%v)", line, err)
		}
		msgs = append(msgs, rec.Msg)
	}
	want := []string{`invalid value for PI_BASH_YIELD_MS: "abc" is not an integer`,
		`invalid value for EXECMCP_HOST: "node" is not one of auto, sandbox, gateway`}
	if !slices.Equal(msgs, want) {
		t.Errorf("startup errors = %q, want %q", msgs, want)
	}
}

func TestListenAndConfigPrecedence(t *testing.T) {
	wd := t.TempDir()
	tests := []struct {
		flagListen string
		environ    []string
		want       string
	}{
		{"", nil, ""},
		{"", []string{"EXECMCP_LISTEN=127.0.0.1:1"}, "127.0.0.1:1"},
		{"127.0.0.1:2", []string{"EXECMCP_LISTEN=127.0.0.1:1"}, "127.0.0.1:2"},
		{"", []string{"EXECMCP_LISTEN="}, ""},
	}
	for _, tt := range tests {
		cfg, problems, _ := load(t, tt.flagListen, "", tt.environ, wd)
		if problems != nil || cfg.Listen != tt.want {
			t.Errorf("listen flag %q env %q: Listen = %q (%q), want %q", tt.flagListen, tt.environ, cfg.Listen, problems, tt.want)
		}
	}

	good := writeConfig(t, `{"tools":{"exec":{"backgroundMs":200}}}`)
	missing := filepath.Join(t.TempDir(), "missing.json")
	// --config and EXECMCP_CONFIG both load the file.
	cfg, _ := mustLoad(t, good, nil, wd)
	if cfg.YieldMs != 200 || cfg.ConfigPath != good {
		t.Errorf("--config: YieldMs = %d ConfigPath = %q", cfg.YieldMs, cfg.ConfigPath)
	}
	cfg, _ = mustLoad(t, "", []string{"EXECMCP_CONFIG=" + good}, wd)
	if cfg.YieldMs != 200 || cfg.ConfigPath != good {
		t.Errorf("EXECMCP_CONFIG: YieldMs = %d ConfigPath = %q", cfg.YieldMs, cfg.ConfigPath)
	}
	// The flag wins over the variable.
	cfg, _ = mustLoad(t, good, []string{"EXECMCP_CONFIG=" + missing}, wd)
	if cfg.YieldMs != 200 {
		t.Errorf("flag over env: YieldMs = %d", cfg.YieldMs)
	}
	// Through realMain: a bad file named by either source stops the server.
	for _, args := range [][]string{{"--config", missing}, {"--config=" + missing}} {
		code, stdout, stderr := runMain(t, args, nil)
		if code != 1 || stdout != "" || stderr != "execmcp: config "+missing+": no such file or directory\n" {
			t.Errorf("%q: %d %q %q", args, code, stdout, stderr)
		}
	}
	code, _, stderr := runMain(t, nil, []string{"EXECMCP_CONFIG=" + missing})
	if code != 1 || stderr != "execmcp: config "+missing+": no such file or directory\n" {
		t.Errorf("EXECMCP_CONFIG missing: %d %q", code, stderr)
	}
	code, _, stderr = runMain(t, []string{"--config", good}, []string{"EXECMCP_CONFIG=" + missing})
	if code != 0 {
		t.Errorf("--config good over EXECMCP_CONFIG missing: %d %q", code, stderr)
	}
}

func TestPrecedence(t *testing.T) {
	wd := t.TempDir()
	envDir := filepath.Join(wd, "envdir")
	cfgDir := filepath.Join(wd, "cfgdir")
	for _, d := range []string{envDir, cfgDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	environ := []string{
		"PI_BASH_YIELD_MS=60000",
		"EXECMCP_TIMEOUT_SEC=5",
		"PI_BASH_JOB_TTL_MS=600000",
		"EXECMCP_NOTIFY_ON_EXIT=false",
		"EXECMCP_NOTIFY_ON_EXIT_EMPTY_SUCCESS=false",
		"EXECMCP_PATH_PREPEND=/env/bin",
		"EXECMCP_SECURITY=deny",
		"EXECMCP_ALLOWLIST=envtool",
		"EXECMCP_SANDBOX_NETWORK=false",
		"EXECMCP_HOST=gateway",
		"EXECMCP_CWD=" + envDir,
		"EXECMCP_KILL_GRACE_MS=100",
		"EXECMCP_ELEVATED_ENABLED=false",
		"EXECMCP_TOOLS_ALLOW=exec",
		"EXECMCP_TOOLS_DENY=exec",
	}

	// Environment beats default.
	cfg, _ := mustLoad(t, "", environ, wd)
	if cfg.YieldMs != 60000 || cfg.TimeoutSec != 5 || cfg.TTL != 10*time.Minute || cfg.NotifyOnExit ||
		!slices.Equal(cfg.PathPrepend, []string{"/env/bin"}) || cfg.Security != "deny" ||
		!slices.Equal(cfg.Allowlist, []string{"envtool"}) || cfg.Host != "gateway" || cfg.Cwd != envDir ||
		cfg.KillGrace != 100*time.Millisecond || !slices.Equal(cfg.ToolsAllow, []string{"exec"}) ||
		!slices.Equal(cfg.ToolsDeny, []string{"exec"}) {
		t.Errorf("env over default: %+v", cfg)
	}

	// Config beats environment, key by key; keys the file does not set keep the env value.
	cfgPath := writeConfig(t, `{"tools":{"allow":[],"deny":["process"],"exec":{
		"backgroundMs":200,"timeoutSec":0,"cleanupMs":120000,"notifyOnExit":true,"notifyOnExitEmptySuccess":true,
		"pathPrepend":["/cfg/bin"],"security":"full","allowlist":["cfgtool"],"sandboxNetwork":true,
		"host":"auto","cwd":`+quoteJSON(cfgDir)+`},"elevated":{"enabled":true}}}`)
	cfg, _ = mustLoad(t, cfgPath, environ, wd)
	if cfg.YieldMs != 200 || cfg.TimeoutSec != 0 || cfg.TTL != 2*time.Minute || !cfg.NotifyOnExit ||
		!cfg.NotifyOnExitEmptySuccess || !slices.Equal(cfg.PathPrepend, []string{"/cfg/bin"}) ||
		cfg.Security != "full" || !slices.Equal(cfg.Allowlist, []string{"cfgtool"}) || !cfg.SandboxNetwork ||
		cfg.Host != "auto" || cfg.Cwd != cfgDir || !cfg.ElevatedEnabled || len(cfg.ToolsAllow) != 0 ||
		!slices.Equal(cfg.ToolsDeny, []string{"process"}) {
		t.Errorf("config over env: %+v", cfg)
	}
	if cfg.KillGrace != 100*time.Millisecond {
		t.Errorf("killGraceMs not in the file: KillGrace = %v, want the env value", cfg.KillGrace)
	}

	// The HTTP session bound: the file over the environment over the default.
	if cfg, _ := mustLoad(t, "", []string{"EXECMCP_HTTP_MAX_SESSIONS=12"}, wd); cfg.HTTPMaxSessions != 12 {
		t.Errorf("EXECMCP_HTTP_MAX_SESSIONS=12: HTTPMaxSessions = %d", cfg.HTTPMaxSessions)
	}
	if cfg, _ := mustLoad(t, writeConfig(t, `{"tools":{"exec":{"httpMaxSessions":7}}}`), []string{"EXECMCP_HTTP_MAX_SESSIONS=12"}, wd); cfg.HTTPMaxSessions != 7 {
		t.Errorf("httpMaxSessions 7 over EXECMCP_HTTP_MAX_SESSIONS=12: HTTPMaxSessions = %d", cfg.HTTPMaxSessions)
	}

	// A clamp warning names the source that was used.
	_, stderr := mustLoad(t, writeConfig(t, `{"tools":{"exec":{"backgroundMs":1}}}`), []string{"PI_BASH_YIELD_MS=1"}, wd)
	if !strings.Contains(stderr, "name=tools.exec.backgroundMs value=1 used=10") || strings.Contains(stderr, "PI_BASH_YIELD_MS") {
		t.Errorf("stderr = %q", stderr)
	}
}

func quoteJSON(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}
