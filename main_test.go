package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/execmcp/execmcp/policy"
	"github.com/execmcp/execmcp/sessions"
	"github.com/execmcp/execmcp/tools"
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

func runMain(t *testing.T, args, environ []string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = realMain(args, environ, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeConfig writes content to a config file in a temp dir and returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "execmcp.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeExe creates an executable file dir/name.
func writeExe(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
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
		{name: "run", args: nil, code: 0, stderrHas: []string{`msg="stdin closed; shutting down"`}},
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
			if tt.stderrNone && stderr != "" {
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
		Cwd:             wd,
		KillGrace:       3 * time.Second,
		OrphanGrace:     60 * time.Second,
		LogLevel:        slog.LevelInfo,
		StdioWorkers:    32,
		Shell:           "/bin/sh",
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

func TestEnvValues(t *testing.T) {
	wd := t.TempDir()
	sub := filepath.Join(wd, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env   string
		check func(config) bool
	}{
		{"PI_BASH_YIELD_MS=300", func(c config) bool { return c.YieldMs == 300 }},
		{"EXECMCP_TIMEOUT_SEC=2.5", func(c config) bool { return c.TimeoutSec == 2.5 }},
		{"EXECMCP_TIMEOUT_SEC=0", func(c config) bool { return c.TimeoutSec == 0 }},
		{"PI_BASH_JOB_TTL_MS=600000", func(c config) bool { return c.TTL == 10*time.Minute && c.SweepInterval == 100*time.Second }},
		{"PI_BASH_JOB_TTL_MS=60000", func(c config) bool { return c.SweepInterval == 30*time.Second }},
		{"PI_BASH_SWEEPER_INTERVAL_MS=1000", func(c config) bool { return c.SweepInterval == time.Second }},
		{"PI_BASH_MAX_OUTPUT_CHARS=5000", func(c config) bool { return c.MaxOutputChars == 5000 && c.PendingMaxChars == 5000 }},
		{"OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS=1000", func(c config) bool { return c.PendingMaxChars == 1000 }},
		{"EXECMCP_NOTIFY_ON_EXIT=0", func(c config) bool { return !c.NotifyOnExit }},
		{"EXECMCP_NOTIFY_ON_EXIT_EMPTY_SUCCESS=TRUE", func(c config) bool { return c.NotifyOnExitEmptySuccess }},
		{"EXECMCP_PATH_PREPEND= /opt/a ::/opt/b:/opt/a:", func(c config) bool { return slices.Equal(c.PathPrepend, []string{"/opt/a", "/opt/b"}) }},
		{"EXECMCP_SECURITY=deny", func(c config) bool { return c.Security == "deny" }},
		{"EXECMCP_ALLOWLIST=git, ls ,,/usr/bin/*", func(c config) bool { return slices.Equal(c.Allowlist, []string{"git", "ls", "/usr/bin/*"}) }},
		{"EXECMCP_SANDBOX=none", func(c config) bool { return c.Sandbox == "none" }},
		{"EXECMCP_SANDBOX_NETWORK=t", func(c config) bool { return c.SandboxNetwork }},
		{"EXECMCP_HOST=gateway", func(c config) bool { return c.Host == "gateway" }},
		{"EXECMCP_CWD=sub/../sub/", func(c config) bool { return c.Cwd == sub }},
		{"EXECMCP_CWD=" + sub, func(c config) bool { return c.Cwd == sub }},
		{"EXECMCP_KILL_GRACE_MS=0", func(c config) bool { return c.KillGrace == 0 }},
		{"EXECMCP_ELEVATED_ENABLED=1", func(c config) bool { return c.ElevatedEnabled }},
		{"EXECMCP_TOOLS_ALLOW=exec, process", func(c config) bool { return slices.Equal(c.ToolsAllow, []string{"exec", "process"}) }},
		{"EXECMCP_TOOLS_DENY=process", func(c config) bool { return slices.Equal(c.ToolsDeny, []string{"process"}) }},
		{"EXECMCP_LISTEN=127.0.0.1:8765", func(c config) bool { return c.Listen == "127.0.0.1:8765" }},
		{"EXECMCP_AUTH_TOKEN=s3cret-token-0001", func(c config) bool { return c.AuthToken == "s3cret-token-0001" }},
		{"EXECMCP_AUTH_TOKENS_FILE=/etc/tokens.json", func(c config) bool { return c.AuthTokensFile == "/etc/tokens.json" }},
		{"EXECMCP_ORPHAN_GRACE=1s", func(c config) bool { return c.OrphanGrace == time.Second }},
		{"EXECMCP_ORPHAN_GRACE=0", func(c config) bool { return c.OrphanGrace == 0 }},
		{"EXECMCP_LOG_LEVEL=debug", func(c config) bool { return c.LogLevel == slog.LevelDebug }},
		{"EXECMCP_LOG_LEVEL=error", func(c config) bool { return c.LogLevel == slog.LevelError }},
		{"EXECMCP_STDIO_WORKERS=7", func(c config) bool { return c.StdioWorkers == 7 }},
		{"EXECMCP_STATS_INTERVAL_MS=10000", func(c config) bool { return c.StatsInterval == 10*time.Second }},
		{"EXECMCP_STATS_INTERVAL_MS=0", func(c config) bool { return c.StatsInterval == 0 }},
		{"EXECMCP_STATS_INTERVAL_MS=-5", func(c config) bool { return c.StatsInterval == 0 }},
		// An empty variable counts as unset.
		{"PI_BASH_YIELD_MS=", func(c config) bool { return c.YieldMs == 10000 }},
		{"EXECMCP_SECURITY=", func(c config) bool { return c.Security == "full" }},
		{"EXECMCP_CWD=", func(c config) bool { return c.Cwd == wd }},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			cfg, stderr := mustLoad(t, "", []string{tt.env}, wd)
			if !tt.check(cfg) {
				t.Errorf("%s: unexpected config %+v", tt.env, cfg)
			}
			if strings.Contains(stderr, "level=WARN") {
				t.Errorf("%s: unexpected warning %q", tt.env, stderr)
			}
		})
	}
}

func TestCwdTildeExpansion(t *testing.T) {
	home := t.TempDir()
	proj := filepath.Join(home, "proj")
	if err := os.Mkdir(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	wd := t.TempDir()
	for _, tt := range []struct{ value, want string }{{"~", home}, {"~/proj", proj}, {"~/proj/..", home}} {
		cfg, _ := mustLoad(t, "", []string{"HOME=" + home, "EXECMCP_CWD=" + tt.value}, wd)
		if cfg.Cwd != tt.want {
			t.Errorf("EXECMCP_CWD=%s: Cwd = %q, want %q", tt.value, cfg.Cwd, tt.want)
		}
	}
	// ~user is not expanded: an ordinary relative path.
	_, problems, _ := load(t, "", "", []string{"HOME=" + home, "EXECMCP_CWD=~nobody"}, wd)
	want := []string{`invalid value for EXECMCP_CWD: "~nobody" is not an existing directory`}
	if !slices.Equal(problems, want) {
		t.Errorf("problems = %q, want %q", problems, want)
	}
	// The config key follows the same rules.
	cfgPath := writeConfig(t, `{"tools":{"exec":{"cwd":"~/proj"}}}`)
	cfg, _ := mustLoad(t, cfgPath, []string{"HOME=" + home}, wd)
	if cfg.Cwd != proj {
		t.Errorf("config cwd ~/proj: Cwd = %q, want %q", cfg.Cwd, proj)
	}
}

func TestGetwdFailure(t *testing.T) {
	var stderr bytes.Buffer
	_, _, err := loadConfig("", "", nil, func() (string, error) { return "", errors.New("boom") }, &stderr)
	var se *startupError
	if !errors.As(err, &se) || !slices.Equal(se.problems, []string{"cannot determine the working directory: boom"}) {
		t.Errorf("err = %v", err)
	}
}

func TestEnvErrors(t *testing.T) {
	wd := t.TempDir()
	file := filepath.Join(wd, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env  string
		want string
	}{
		{"PI_BASH_YIELD_MS=abc", `invalid value for PI_BASH_YIELD_MS: "abc" is not an integer`},
		{"PI_BASH_YIELD_MS= 100", `invalid value for PI_BASH_YIELD_MS: " 100" is not an integer`},
		{"PI_BASH_YIELD_MS=10ms", `invalid value for PI_BASH_YIELD_MS: "10ms" is not an integer`},
		{"PI_BASH_YIELD_MS=1.5", `invalid value for PI_BASH_YIELD_MS: "1.5" is not an integer`},
		{"EXECMCP_TIMEOUT_SEC=ten", `invalid value for EXECMCP_TIMEOUT_SEC: "ten" is not a number`},
		{"EXECMCP_TIMEOUT_SEC=NaN", `invalid value for EXECMCP_TIMEOUT_SEC: "NaN" is not a number`},
		{"EXECMCP_TIMEOUT_SEC=Inf", `invalid value for EXECMCP_TIMEOUT_SEC: "Inf" is not a number`},
		{"EXECMCP_TIMEOUT_SEC=-1", `invalid value for EXECMCP_TIMEOUT_SEC: "-1" is not a number of 0 or more`},
		{"PI_BASH_JOB_TTL_MS=1h", `invalid value for PI_BASH_JOB_TTL_MS: "1h" is not an integer`},
		{"PI_BASH_SWEEPER_INTERVAL_MS=x", `invalid value for PI_BASH_SWEEPER_INTERVAL_MS: "x" is not an integer`},
		{"PI_BASH_MAX_OUTPUT_CHARS=1e5", `invalid value for PI_BASH_MAX_OUTPUT_CHARS: "1e5" is not an integer`},
		{"OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS=lots", `invalid value for OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS: "lots" is not an integer`},
		{"EXECMCP_NOTIFY_ON_EXIT=yes", `invalid value for EXECMCP_NOTIFY_ON_EXIT: "yes" is not a boolean`},
		{"EXECMCP_NOTIFY_ON_EXIT_EMPTY_SUCCESS=on", `invalid value for EXECMCP_NOTIFY_ON_EXIT_EMPTY_SUCCESS: "on" is not a boolean`},
		{"EXECMCP_SECURITY=FULL", `invalid value for EXECMCP_SECURITY: "FULL" is not one of full, allowlist, deny`},
		{"EXECMCP_SANDBOX=docker", `invalid value for EXECMCP_SANDBOX: "docker" is not one of none, bwrap`},
		{"EXECMCP_SANDBOX_NETWORK=2", `invalid value for EXECMCP_SANDBOX_NETWORK: "2" is not a boolean`},
		{"EXECMCP_HOST=node", `invalid value for EXECMCP_HOST: "node" is not one of auto, sandbox, gateway`},
		{"EXECMCP_CWD=/does/not/exist", `invalid value for EXECMCP_CWD: "/does/not/exist" is not an existing directory`},
		{"EXECMCP_CWD=file", `invalid value for EXECMCP_CWD: "file" is not an existing directory`},
		{"EXECMCP_KILL_GRACE_MS=3s", `invalid value for EXECMCP_KILL_GRACE_MS: "3s" is not an integer`},
		{"EXECMCP_ELEVATED_ENABLED=enabled", `invalid value for EXECMCP_ELEVATED_ENABLED: "enabled" is not a boolean`},
		{"EXECMCP_ORPHAN_GRACE=60", `invalid value for EXECMCP_ORPHAN_GRACE: "60" is not a duration`},
		{"EXECMCP_LOG_LEVEL=verbose", `invalid value for EXECMCP_LOG_LEVEL: "verbose" is not one of debug, info, warn, error`},
		{"EXECMCP_LOG_LEVEL=INFO", `invalid value for EXECMCP_LOG_LEVEL: "INFO" is not one of debug, info, warn, error`},
		{"EXECMCP_STDIO_WORKERS=many", `invalid value for EXECMCP_STDIO_WORKERS: "many" is not an integer`},
		{"EXECMCP_STATS_INTERVAL_MS=10s", `invalid value for EXECMCP_STATS_INTERVAL_MS: "10s" is not an integer`},
		{"EXECMCP_ALLOWLIST=git,bin/tool", `tools.exec.allowlist: "bin/tool" must be an executable name or an absolute path glob`},
		{"EXECMCP_ALLOWLIST=/usr/bin/[", `tools.exec.allowlist: "/usr/bin/[" is not a valid path glob (syntax error in pattern)`},
		{"EXECMCP_HOST=sandbox", `tools.exec.host is "sandbox" but tools.exec.sandbox is "none"`},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			_, problems, _ := load(t, "", "", []string{tt.env}, wd)
			if !slices.Equal(problems, []string{tt.want}) {
				t.Errorf("problems = %q, want [%q]", problems, tt.want)
			}
		})
	}
}

func TestEnvErrorsAllReported(t *testing.T) {
	environ := []string{
		"EXECMCP_STDIO_WORKERS=x",
		"EXECMCP_LOG_LEVEL=loud",
		"PI_BASH_YIELD_MS=abc",
		"EXECMCP_HOST=node",
		"EXECMCP_ORPHAN_GRACE=soon",
		"EXECMCP_SECURITY=allowlist", // valid enum
		"EXECMCP_ALLOWLIST=rel/x",    // checked only once the variables are valid
	}
	code, stdout, stderr := runMain(t, nil, environ)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want empty", stdout)
	}
	want := `execmcp: invalid value for PI_BASH_YIELD_MS: "abc" is not an integer
execmcp: invalid value for EXECMCP_HOST: "node" is not one of auto, sandbox, gateway
execmcp: invalid value for EXECMCP_ORPHAN_GRACE: "soon" is not a duration
execmcp: invalid value for EXECMCP_LOG_LEVEL: "loud" is not one of debug, info, warn, error
execmcp: invalid value for EXECMCP_STDIO_WORKERS: "x" is not an integer
`
	if stderr != want {
		t.Errorf("stderr =\n%s\nwant\n%s", stderr, want)
	}
}

func TestAllowlistEntries(t *testing.T) {
	cfg, _ := mustLoad(t, "", []string{"HOME=/home/me", "EXECMCP_SECURITY=allowlist",
		"EXECMCP_ALLOWLIST= git ,~/bin/*,/usr/bin/wc,,~,~/tools/**"}, t.TempDir())
	want := []string{"git", "/home/me/bin/*", "/usr/bin/wc", "~", "/home/me/tools/**"}
	if cfg.Security != "allowlist" || !slices.Equal(cfg.Allowlist, want) {
		t.Errorf("security %q allowlist %q, want allowlist %q", cfg.Security, cfg.Allowlist, want)
	}
	// Without HOME, ~ stays and the entry is not absolute; ~user is never expanded.
	_, problems, _ := load(t, "", "", []string{"EXECMCP_ALLOWLIST=~/bin/x"}, t.TempDir())
	if !slices.Equal(problems, []string{`tools.exec.allowlist: "~/bin/x" must be an executable name or an absolute path glob`}) {
		t.Errorf("problems = %q", problems)
	}
	_, problems, _ = load(t, "", "", []string{"HOME=/home/me", "EXECMCP_ALLOWLIST=~bob/bin/x,x/y"}, t.TempDir())
	if !slices.Equal(problems, []string{
		`tools.exec.allowlist: "~bob/bin/x" must be an executable name or an absolute path glob`,
		`tools.exec.allowlist: "x/y" must be an executable name or an absolute path glob`}) {
		t.Errorf("problems = %q", problems)
	}
}

func TestSandboxStartupChecks(t *testing.T) {
	saved := sandboxProbeTimeout
	sandboxProbeTimeout = 500 * time.Millisecond
	t.Cleanup(func() { sandboxProbeTimeout = saved })
	script := func(body string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "bwrap"), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	check := func(pathDir string, network bool) (config, error) {
		cfg := config{Sandbox: "bwrap", SandboxNetwork: network, Shell: "/bin/sh"}
		err := checkPolicyStartup(&cfg, []string{"PATH=" + pathDir}, slog.New(slog.DiscardHandler))
		return cfg, err
	}
	if _, err := check(t.TempDir(), false); err == nil || err.Error() != `tools.exec.sandbox is "bwrap" but bwrap was not found on PATH` {
		t.Errorf("missing bwrap: %v", err)
	}
	if _, err := check(script("echo >&2; echo 'bwrap: No permissions to create new namespace' >&2; echo more >&2; exit 1"), false); err == nil ||
		err.Error() != "bwrap does not work here: bwrap: No permissions to create new namespace" {
		t.Errorf("failing bwrap: %v", err)
	}
	if _, err := check(script("exit 3"), false); err == nil || err.Error() != "bwrap does not work here: exit status 3" {
		t.Errorf("silent failing bwrap: %v", err)
	}
	start := time.Now()
	if _, err := check(script("while :; do :; done"), false); err == nil || err.Error() != "bwrap does not work here: the probe did not finish within 500 ms" {
		t.Errorf("hanging bwrap: %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("hanging probe took %v", el)
	}
	// The probe's argv (policy.md §5).
	dir := script(`printf '%s\n' "$@" > "${0%/*}/args"`)
	cfg, err := check(dir, true)
	if err != nil || cfg.BwrapPath != filepath.Join(dir, "bwrap") {
		t.Fatalf("working bwrap: %v, path %q", err, cfg.BwrapPath)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "args"))
	if got, want := string(b), "--ro-bind\n/\n/\n--dev\n/dev\n--proc\n/proc\n--unshare-pid\n--die-with-parent\n--\n/bin/sh\n-c\ntrue\n"; got != want {
		t.Errorf("probe args (network) = %q, want %q", got, want)
	}
	if _, err := check(dir, false); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "args"))
	if !strings.Contains(string(b), "--unshare-pid\n--unshare-net\n--die-with-parent\n") {
		t.Errorf("probe args without network = %q", b)
	}
	// No sandbox: nothing is checked.
	cfg = config{Sandbox: "none", Shell: "/bin/sh"}
	if err := checkPolicyStartup(&cfg, nil, slog.New(slog.DiscardHandler)); err != nil || cfg.BwrapPath != "" {
		t.Errorf("sandbox none: %v %q", err, cfg.BwrapPath)
	}
}

func TestSandboxMissingThroughRealMain(t *testing.T) {
	code, stdout, stderr := runMain(t, nil, []string{"PATH=" + t.TempDir(), "EXECMCP_SANDBOX=bwrap"})
	if code != 1 || stdout != "" || stderr != "execmcp: tools.exec.sandbox is \"bwrap\" but bwrap was not found on PATH\n" {
		t.Errorf("code %d stdout %q stderr %q", code, stdout, stderr)
	}
}

func TestRealBwrapProbe(t *testing.T) {
	if lookPath("bwrap", os.Getenv("PATH")) == "" {
		t.Skip("bwrap is not installed")
	}
	cfg := config{Sandbox: "bwrap", Shell: "/bin/sh"}
	if err := checkPolicyStartup(&cfg, os.Environ(), slog.New(slog.DiscardHandler)); err != nil {
		t.Skipf("bwrap is not usable here: %v", err)
	}
	if !filepath.IsAbs(cfg.BwrapPath) {
		t.Errorf("BwrapPath = %q", cfg.BwrapPath)
	}
}

func TestAllowlistShellWarning(t *testing.T) {
	for shell, warn := range map[string]bool{"/bin/sh": false, "/usr/bin/bash": false, "/bin/dash": false, "/usr/bin/zsh": true, "/bin/fish": true} {
		var buf bytes.Buffer
		cfg := config{Security: "allowlist", Sandbox: "none", Shell: shell}
		if err := checkPolicyStartup(&cfg, nil, slog.New(slog.NewTextHandler(&buf, nil))); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "parses commands as bash"); got != warn {
			t.Errorf("shell %s: warning %v, want %v (%q)", shell, got, warn, buf.String())
		}
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
      "cwd": "proj",
      "killGraceMs": 1000.0
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
		Cwd:                      proj,
		KillGrace:                time.Second,
		ElevatedEnabled:          true,
		ToolsAllow:               []string{"exec", "process"},
		ToolsDeny:                []string{"bash"},
		OrphanGrace:              time.Minute,
		LogLevel:                 slog.LevelInfo,
		StdioWorkers:             32,
		Shell:                    "/bin/sh",
	}
	if !configEqual(cfg, want) {
		t.Errorf("config:\n got %+v\nwant %+v", cfg, want)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want empty", stderr)
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

	// A clamp warning names the source that was used.
	_, stderr := mustLoad(t, writeConfig(t, `{"tools":{"exec":{"backgroundMs":1}}}`), []string{"PI_BASH_YIELD_MS=1"}, wd)
	if !strings.Contains(stderr, "name=tools.exec.backgroundMs value=1 used=10") || strings.Contains(stderr, "PI_BASH_YIELD_MS") {
		t.Errorf("stderr = %q", stderr)
	}
}

func quoteJSON(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
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
		{name: "backgroundMs fraction", content: `{"tools":{"exec":{"backgroundMs":10.5}}}`, want: "tools.exec.backgroundMs: expected an integer, got number"},
		{name: "cleanupMs object", content: `{"tools":{"exec":{"cleanupMs":{}}}}`, want: "tools.exec.cleanupMs: expected an integer, got object"},
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
		{name: "sandbox enum", content: `{"tools":{"exec":{"sandbox":"Bwrap"}}}`, want: `tools.exec.sandbox: "Bwrap" is not one of none, bwrap`},
		{name: "host enum", content: `{"tools":{"exec":{"host":"remote"}}}`, want: `tools.exec.host: "remote" is not one of auto, sandbox, gateway`},
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

func TestShellSelection(t *testing.T) {
	both := t.TempDir() // bash and sh
	bash := writeExe(t, both, "bash")
	writeExe(t, both, "sh")
	onlySh := t.TempDir()
	sh := writeExe(t, onlySh, "sh")
	fishDir := t.TempDir()
	fish := writeExe(t, fishDir, "fish")
	zsh := writeExe(t, fishDir, "zsh")
	notExec := t.TempDir()
	if err := os.WriteFile(filepath.Join(notExec, "bash"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(notExec, "sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()

	tests := []struct {
		name, shell, path, want string
	}{
		{"unset", "", both, "/bin/sh"},
		{"blank", "   ", both, "/bin/sh"},
		{"absolute", "/usr/bin/zsh", both, "/usr/bin/zsh"},
		{"absolute trimmed", " /bin/bash\n", both, "/bin/bash"},
		{"relative with slash", "./myshell", both, "./myshell"},
		{"bare found", "zsh", empty + ":" + fishDir, zsh},
		{"bare not found", "ksh", both, "ksh"},
		{"fish prefers bash", "/usr/bin/fish", fishDir + ":" + onlySh + ":" + both, bash},
		{"fish falls back to sh", "/usr/bin/fish", onlySh + ":" + fishDir, sh},
		{"fish skips non-executables", "/opt/fish", notExec + ":" + onlySh, sh},
		{"fish alone", "/usr/local/bin/fish", fishDir, "/usr/local/bin/fish"},
		{"bare fish alone", "fish", fishDir, fish},
		{"bare fish with bash", "fish", fishDir + ":" + both, bash},
		{"fish empty PATH", "/usr/bin/fish", "", "/usr/bin/fish"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := selectShell(tt.shell, tt.path); got != tt.want {
				t.Errorf("selectShell(%q, %q) = %q, want %q", tt.shell, tt.path, got, tt.want)
			}
		})
	}

	// loadConfig reads SHELL and PATH from the injected environment.
	cfg, _ := mustLoad(t, "", []string{"SHELL=/usr/bin/fish", "PATH=" + onlySh + ":" + fishDir}, t.TempDir())
	if cfg.Shell != sh {
		t.Errorf("cfg.Shell = %q, want %q", cfg.Shell, sh)
	}
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP: tokens, loopback rules, the request pipeline, the transports

func TestParseTokens(t *testing.T) {
	tests := []struct {
		name, data, shared string
		want               []authToken
		problem            string
	}{
		{name: "two", data: `{"7f3c-0123456789abcdef": "alpha", "b91e-0123456789abcdef": "beta.2_x-y"}`,
			want: []authToken{{"7f3c-0123456789abcdef", "alpha"}, {"b91e-0123456789abcdef", "beta.2_x-y"}}},
		{name: "same agent twice", data: `{"t1": "a", "t2": "a"}`, want: []authToken{{"t1", "a"}, {"t2", "a"}}},
		{name: "shared elsewhere", data: `{"t1": "a"}`, shared: "s", want: []authToken{{"t1", "a"}}},
		{name: "syntax", data: `{"t1": "a",}`, problem: "invalid JSON: invalid character '}' looking for beginning of object key string"},
		{name: "trailing data", data: `{"t1": "a"} {}`, problem: "invalid JSON: invalid character '{' after top-level value"},
		{name: "array", data: `["t1"]`, problem: "expected an object mapping tokens to agent ids, got array"},
		{name: "null", data: `null`, problem: "expected an object mapping tokens to agent ids, got null"},
		{name: "empty object", data: `{}`, problem: "no tokens"},
		{name: "empty token", data: `{"t1": "a", "": "b"}`, problem: "entry 2: empty token"},
		{name: "whitespace", data: `{"t 1": "a"}`, problem: "entry 1: token contains whitespace"},
		{name: "tab", data: `{"t\t1": "a"}`, problem: "entry 1: token contains whitespace"},
		{name: "duplicate", data: `{"t1": "a", "t1": "b"}`, problem: "entry 2: duplicate token"},
		{name: "also shared", data: `{"t1": "a", "s3cret": "b"}`, shared: "s3cret", problem: "entry 2: token is also EXECMCP_AUTH_TOKEN"},
		{name: "number id", data: `{"t1": 5}`, problem: "entry 1: agent id: expected a string, got number"},
		{name: "object id", data: `{"t1": {"x": 1}}`, problem: "entry 1: agent id: expected a string, got object"},
		{name: "null id", data: `{"t1": null}`, problem: "entry 1: agent id: expected a string, got null"},
		{name: "empty id", data: `{"t1": ""}`, problem: `entry 1: agent id "" does not match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`},
		{name: "id starts with dot", data: `{"t1": ".a"}`, problem: `entry 1: agent id ".a" does not match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`},
		{name: "id with colon", data: `{"t1": "a:b"}`, problem: `entry 1: agent id "a:b" does not match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`},
		{name: "id too long", data: `{"t1": "` + strings.Repeat("a", 65) + `"}`,
			problem: `entry 1: agent id "` + strings.Repeat("a", 65) + `" does not match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`},
		{name: "id 64 chars", data: `{"t1": "` + strings.Repeat("a", 64) + `"}`, want: []authToken{{"t1", strings.Repeat("a", 64)}}},
	}
	for _, tt := range tests {
		got, problem := parseTokens([]byte(tt.data), tt.shared)
		if problem != tt.problem || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v %q, want %v %q", tt.name, got, problem, tt.want, tt.problem)
		}
		if strings.Contains(problem, "t1") || strings.Contains(problem, "s3cret") {
			t.Errorf("%s: the problem shows a token: %q", tt.name, problem)
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true, "[::1]": true,
		"::ffff:127.0.0.1": true, "": false, "0.0.0.0": false, "::": false, "10.0.0.1": false, "example.com": false,
		"localhost.example": false, "128.0.0.1": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v", host, got)
		}
	}
}

const refusing = "refusing to listen on %s without authentication: set EXECMCP_AUTH_TOKEN or EXECMCP_AUTH_TOKENS_FILE"

func TestListenAuthRules(t *testing.T) {
	wd := t.TempDir()
	tokens := filepath.Join(wd, "tokens.json")
	if err := os.WriteFile(tokens, []byte(`{"tokA-0123456789abcdef": "alpha"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		listen  string
		environ []string
		problem string
	}{
		{listen: "127.0.0.1:0"},
		{listen: "localhost:8765"},
		{listen: "[::1]:8765"},
		{listen: "127.9.9.9:1"},
		{listen: "0.0.0.0:8765", problem: fmt.Sprintf(refusing, "0.0.0.0:8765")},
		{listen: ":8765", problem: fmt.Sprintf(refusing, ":8765")},
		{listen: "[::]:8765", problem: fmt.Sprintf(refusing, "[::]:8765")},
		{listen: "192.168.1.5:8765", problem: fmt.Sprintf(refusing, "192.168.1.5:8765")},
		{listen: "myhost:8765", problem: fmt.Sprintf(refusing, "myhost:8765")},
		{listen: "0.0.0.0:8765", environ: []string{"EXECMCP_AUTH_TOKEN=s3cret-token-0001"}},
		{listen: "0.0.0.0:8765", environ: []string{"EXECMCP_AUTH_TOKENS_FILE=tokens.json"}},
		{listen: "localhost", problem: `invalid value for --listen: "localhost" is not a host:port address`},
		{listen: "127.0.0.1:1", environ: []string{"EXECMCP_AUTH_TOKEN=has space"},
			problem: "EXECMCP_AUTH_TOKEN must not contain whitespace"},
		{listen: "127.0.0.1:1", environ: []string{"EXECMCP_AUTH_TOKENS_FILE=missing.json"},
			problem: "tokens file missing.json: no such file or directory"},
		// A bad tokens file is its own problem, not an unauthenticated listener.
		{listen: "0.0.0.0:1", environ: []string{"EXECMCP_AUTH_TOKENS_FILE=missing.json"},
			problem: "tokens file missing.json: no such file or directory"},
	}
	for _, tt := range tests {
		_, problems, _ := load(t, tt.listen, "", tt.environ, wd)
		if tt.problem == "" && problems != nil || tt.problem != "" && !slices.Equal(problems, []string{tt.problem}) {
			t.Errorf("listen %q %q: problems %q, want %q", tt.listen, tt.environ, problems, tt.problem)
		}
	}
	// EXECMCP_LISTEN is named as such.
	_, problems, _ := load(t, "", "", []string{"EXECMCP_LISTEN=nope"}, wd)
	if !slices.Equal(problems, []string{`invalid value for EXECMCP_LISTEN: "nope" is not a host:port address`}) {
		t.Errorf("EXECMCP_LISTEN: %q", problems)
	}
	// Both sources: the shared token maps to no agent; the file's tokens to their agents. The relative file
	// is found in the server's cwd.
	cfg, problems, stderr := load(t, "127.0.0.1:0", "", []string{"EXECMCP_AUTH_TOKEN=s3cret-token-0001", "EXECMCP_AUTH_TOKENS_FILE=tokens.json"}, wd)
	want := []authToken{{"s3cret-token-0001", ""}, {"tokA-0123456789abcdef", "alpha"}}
	if problems != nil || !reflect.DeepEqual(cfg.Tokens, want) || stderr != "" {
		t.Errorf("both: %v %q %q", cfg.Tokens, problems, stderr)
	}
	// stdio mode never reads the tokens file.
	if _, problems, _ := load(t, "", "", []string{"EXECMCP_AUTH_TOKENS_FILE=missing.json"}, wd); problems != nil {
		t.Errorf("stdio with a missing tokens file: %q", problems)
	}
	// Through realMain: exit 1, one line on stderr, nothing on stdout.
	code, stdout, stderrOut := runMain(t, []string{"--listen", "0.0.0.0:0"}, nil)
	if code != 1 || stdout != "" || stderrOut != "execmcp: "+fmt.Sprintf(refusing, "0.0.0.0:0")+"\n" {
		t.Errorf("realMain: %d %q %q", code, stdout, stderrOut)
	}
}

func TestTokenWarnings(t *testing.T) {
	wd := t.TempDir()
	if err := os.WriteFile(filepath.Join(wd, "open.json"), []byte(`{"short": "alpha", "long-enough-0123456789": "beta"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(wd, "open.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, problems, stderr := load(t, "127.0.0.1:0", "", []string{"EXECMCP_AUTH_TOKEN=tiny", "EXECMCP_AUTH_TOKENS_FILE=open.json"}, wd)
	if problems != nil {
		t.Fatal(problems)
	}
	for _, want := range []string{
		`level=WARN msg="auth token shorter than 16 chars" source=EXECMCP_AUTH_TOKEN`,
		`level=WARN msg="tokens file is accessible by group or others" file=open.json mode=0644`,
		`level=WARN msg="auth token shorter than 16 chars" source=open.json agent=alpha`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "agent=beta") || strings.Contains(stderr, "tiny") || strings.Contains(stderr, "short ") {
		t.Errorf("stderr shows too much:\n%s", stderr)
	}
}

// frontRecorder is the handler behind the pipeline in tests: it records the principal and the body.
type frontRecorder struct {
	called bool
	agent  string
	body   []byte
}

func (f *frontRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.called = true
	f.agent = tools.PrincipalFromContext(r.Context())
	f.body, _ = io.ReadAll(r.Body)
	w.WriteHeader(http.StatusTeapot)
}

func serveFront(f *httpFront, r *http.Request) (*httptest.ResponseRecorder, *frontRecorder) {
	next := &frontRecorder{}
	w := httptest.NewRecorder()
	f.wrap(next).ServeHTTP(w, r)
	return w, next
}

func TestHTTPAuthentication(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	f := newHTTPFront([]authToken{{"s3cret-token-0001", ""}, {"tokA-0123456789abcdef", "alpha"}}, true, logger)
	tests := []struct {
		auth   string
		status int
		agent  string
	}{
		{"", 401, ""},
		{"Bearer", 401, ""},
		{"Bearer ", 401, ""},
		{"Basic czNjcmV0", 401, ""},
		{"Bearer wrong", 401, ""},
		{"Bearer s3cret-token-000", 401, ""},
		{"Bearer s3cret-token-00011", 401, ""},
		{"Bearer s3cret-token-0001", 418, ""},
		{"bearer s3cret-token-0001", 418, ""},
		{"BEARER  s3cret-token-0001 ", 418, ""},
		{"Bearer tokA-0123456789abcdef", 418, "alpha"},
	}
	for _, tt := range tests {
		for _, path := range []string{"/mcp", "/sse", "/message"} {
			r := httptest.NewRequest("POST", path, strings.NewReader("{}"))
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w, next := serveFront(f, r)
			if w.Code != tt.status || next.called != (tt.status == 418) || next.agent != tt.agent {
				t.Errorf("%s %q: %d called=%v agent=%q", path, tt.auth, w.Code, next.called, next.agent)
			}
			if tt.status == 401 && (w.Header().Get("WWW-Authenticate") != `Bearer realm="execmcp"` || w.Body.String() != "unauthorized\n") {
				t.Errorf("%s %q: 401 headers %v body %q", path, tt.auth, w.Header(), w.Body.String())
			}
		}
	}
	if !strings.Contains(logs.String(), `level=WARN msg="unauthorized request" remote=192.0.2.1:1234 method=POST path=/mcp reason="missing bearer token"`) ||
		!strings.Contains(logs.String(), `reason="invalid bearer token"`) || strings.Contains(logs.String(), "s3cret") || strings.Contains(logs.String(), "wrong") {
		t.Errorf("logs:\n%s", logs.String())
	}
	// Without tokens, every request passes without an agent.
	w, next := serveFront(newHTTPFront(nil, true, logger), httptest.NewRequest("GET", "/mcp", nil))
	if w.Code != 418 || next.agent != "" {
		t.Errorf("no tokens: %d", w.Code)
	}
}

func TestHTTPOrigin(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	loop := newHTTPFront(nil, true, logger)
	remote := newHTTPFront([]authToken{{"s3cret-token-0001", ""}}, false, logger)
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://localhost:6274", true},
		{"https://LOCALHOST", true},
		{"http://127.0.0.1:3000", true},
		{"http://127.8.0.1", true},
		{"http://[::1]:6274", true},
		{"vscode-webview://localhost", true},
		{"http://evil.example", false},
		{"http://localhost.evil.example", false},
		{"http://10.0.0.1:80", false},
		{"null", false},
		{"file://", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/sse", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		w, next := serveFront(loop, r)
		if tt.ok != next.called || !tt.ok && (w.Code != 403 || w.Body.String() != fmt.Sprintf("Forbidden: invalid Origin header %q\n", tt.origin)) {
			t.Errorf("loopback %q: %d %q", tt.origin, w.Code, w.Body.String())
		}
		// Not checked on a non-loopback listener.
		r = httptest.NewRequest("GET", "/sse", nil)
		r.Header.Set("Authorization", "Bearer s3cret-token-0001")
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if w, next := serveFront(remote, r); !next.called {
			t.Errorf("non-loopback %q: %d", tt.origin, w.Code)
		}
	}
	// Authentication comes first: a bad Origin without a token is a 401.
	r := httptest.NewRequest("GET", "/mcp", nil)
	r.Header.Set("Origin", "http://evil.example")
	if w, _ := serveFront(newHTTPFront([]authToken{{"s3cret-token-0001", ""}}, true, logger), r); w.Code != 401 {
		t.Errorf("order: %d", w.Code)
	}
}

func TestHTTPBodyLimit(t *testing.T) {
	f := newHTTPFront([]authToken{{"s3cret-token-0001", ""}}, true, slog.New(slog.DiscardHandler))
	big := bytes.Repeat([]byte("x"), httpMaxBodyBytes+1)
	// Known length: 413 before authentication.
	w, next := serveFront(f, httptest.NewRequest("POST", "/mcp", bytes.NewReader(big)))
	if w.Code != 413 || next.called {
		t.Errorf("content-length over the limit: %d", w.Code)
	}
	// Unknown length (chunked): read after the checks, 413 when over.
	r := httptest.NewRequest("POST", "/mcp", io.MultiReader(bytes.NewReader(big)))
	r.ContentLength = -1
	r.Header.Set("Authorization", "Bearer s3cret-token-0001")
	if w, next := serveFront(f, r); w.Code != 413 || next.called {
		t.Errorf("chunked over the limit: %d", w.Code)
	}
	ok := bytes.Repeat([]byte("y"), httpMaxBodyBytes)
	r = httptest.NewRequest("POST", "/mcp", io.MultiReader(bytes.NewReader(ok)))
	r.ContentLength = -1
	r.Header.Set("Authorization", "Bearer s3cret-token-0001")
	if w, next := serveFront(f, r); w.Code != 418 || !bytes.Equal(next.body, ok) {
		t.Errorf("chunked at the limit: %d, %d bytes", w.Code, len(next.body))
	}
}

// httpTestServer serves the real transports on a loopback httptest server.
func httpTestServer(t *testing.T, tokens []authToken) (*httptest.Server, *tools.Tools) {
	t.Helper()
	tl, err := tools.New(tools.Options{
		Version: "test", Tools: policy.ToolSet{Exec: true, Process: true}, YieldMs: 10000, TimeoutSec: 1800,
		Cwd: t.TempDir(), Environ: os.Environ(), Shell: "/bin/sh", NotifyOnExit: true, Security: "full",
		Sandbox: "none", Host: "auto", OrphanGrace: time.Hour,
		Sessions: sessions.Options{KillGrace: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{Listen: "127.0.0.1:0", Tokens: tokens}
	tr := newHTTPTransports(tl, cfg, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(tr.handler)
	t.Cleanup(func() {
		tl.BeginShutdown()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tr.closeSessions(ctx)
		srv.Close()
		if err := tl.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return srv, tl
}

// post sends one JSON-RPC message to /mcp and returns the status, the session id header and the body.
func post(t *testing.T, url, sid, token, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), string(b)
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

func TestHTTPTransports(t *testing.T) {
	srv, _ := httpTestServer(t, []authToken{{"s3cret-token-0001", ""}, {"tokA-0123456789abcdef", "alpha"}})
	// Unknown paths are 404 (before authentication); the MCP paths need a token.
	for _, p := range []string{"/", "/mcp/", "/other", "/sse/x"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	if code, _, body := post(t, srv.URL, "", "", initializeBody); code != 401 || body != "unauthorized\n" {
		t.Fatalf("no token: %d %q", code, body)
	}
	// Pinned to a legacy protocol with a stateful session id.
	code, sid, body := post(t, srv.URL, "", "tokA-0123456789abcdef", initializeBody)
	if code != 200 || !strings.HasPrefix(sid, "mcp-session-") || !strings.Contains(body, `"protocolVersion":"2025-11-25"`) {
		t.Fatalf("initialize: %d %q %s", code, sid, body)
	}
	post(t, srv.URL, sid, "tokA-0123456789abcdef", `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exec","arguments":{"command":"sleep 30","background":true}}}`
	code, _, body = post(t, srv.URL, sid, "tokA-0123456789abcdef", call)
	if code != 200 || !strings.Contains(body, `Command still running (session `) {
		t.Fatalf("exec: %d %s", code, body)
	}
	// The agent scope survives a DELETE and a new MCP session; a session-scoped client does not see it.
	req, _ := http.NewRequest("DELETE", srv.URL+"/mcp", nil)
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Authorization", "Bearer tokA-0123456789abcdef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	list := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"process","arguments":{"action":"list"}}}`
	if code, _, body := post(t, srv.URL, sid, "tokA-0123456789abcdef", list); code != 404 {
		t.Fatalf("old session id after DELETE: %d %s", code, body)
	}
	_, sid2, _ := post(t, srv.URL, "", "tokA-0123456789abcdef", initializeBody)
	if _, _, body := post(t, srv.URL, sid2, "tokA-0123456789abcdef", list); !strings.Contains(body, " running ") {
		t.Fatalf("agent list after reconnect: %s", body)
	}
	_, sid3, _ := post(t, srv.URL, "", "s3cret-token-0001", initializeBody)
	if _, _, body := post(t, srv.URL, sid3, "s3cret-token-0001", list); !strings.Contains(body, "No running or recent sessions.") {
		t.Fatalf("shared-token list: %s", body)
	}
	// DNS-rebinding protection stays on.
	req, _ = http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(initializeBody))
	req.Host = "evil.example"
	req.Header.Set("Authorization", "Bearer s3cret-token-0001")
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), `invalid Host header "evil.example"`) {
		t.Fatalf("Host check: %d %q", resp.StatusCode, b)
	}
	// SSE: the endpoint event advertises a path.
	req, _ = http.NewRequest("GET", srv.URL+"/sse", nil)
	req.Header.Set("Authorization", "Bearer s3cret-token-0001")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err = http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 256)
	n, _ := resp.Body.Read(buf)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(buf[:n]), "event: endpoint\ndata: /message?sessionId=") {
		t.Fatalf("sse: %d %q", resp.StatusCode, buf[:n])
	}
}

// syncBuffer is a goroutine-safe stderr for realMain.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeHTTPShutdown(t *testing.T) {
	stderr := &syncBuffer{}
	var stdout bytes.Buffer
	exited := make(chan int, 1)
	environ := append(os.Environ(), "EXECMCP_LISTEN=127.0.0.1:0", "EXECMCP_KILL_GRACE_MS=500")
	go func() { exited <- realMain(nil, environ, strings.NewReader(""), &stdout, stderr) }()
	re := regexp.MustCompile(`level=INFO msg=listening addr=(127\.0\.0\.1:\d+) mcp=http://127\.0\.0\.1:\d+/mcp sse=http://127\.0\.0\.1:\d+/sse\n`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no listening line: %q", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "mcp=http://"+addr+"/mcp sse=http://"+addr+"/sse") {
		t.Fatalf("listening line: %q", stderr.String())
	}
	url := "http://" + addr
	// Stdin is ignored in HTTP mode: the empty stdin did not stop the server.
	_, sid, _ := post(t, url, "", "", initializeBody)
	dir := t.TempDir()
	call := fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exec","arguments":{"command":"echo $$ > %s/pgid; trap '' TERM; sleep 60","background":true}}}`, dir)
	if code, _, body := post(t, url, sid, "", call); code != 200 || !strings.Contains(body, "Command still running") {
		t.Fatalf("exec: %d %s", code, body)
	}
	var pgid int
	for deadline := time.Now().Add(5 * time.Second); pgid == 0; {
		if b, err := os.ReadFile(filepath.Join(dir, "pgid")); err == nil && strings.HasSuffix(string(b), "\n") {
			pgid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		} else if time.Now().After(deadline) {
			t.Fatal("no pgid")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A waiting exec call sees the shutdown as a cancellation.
	waiting := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("POST", url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"exec","arguments":{"command":"sleep 60","yieldMs":60000}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			waiting <- ""
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		waiting <- string(b)
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 0 || stdout.Len() != 0 || time.Since(start) > 8*time.Second {
			t.Fatalf("exit %d after %v, stdout %q", code, time.Since(start), stdout.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit")
	}
	if live := liveMembers(pgid); len(live) > 0 {
		t.Fatalf("group %d survived: live members %v", pgid, live)
	}
	select {
	case body := <-waiting:
		if body != "" && !strings.Contains(body, "Command cancelled by the client") {
			t.Errorf("waiting call: %q", body)
		}
	case <-time.After(5 * time.Second):
		t.Error("waiting call did not end")
	}
}

// liveMembers lists the processes of group pgid that are not zombies. kill(-pgid, 0) is not enough: the trapped
// shell's sleep is reparented to an init that may reap it seconds after it died, and a dead zombie is not a survivor.
func liveMembers(pgid int) []int {
	names, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pid, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "/proc/"), "/stat"))
			out = append(out, pid)
		}
	}
	return out
}

// The stats line appears every interval while the server runs, and its goroutine stops with the server.
func TestStatsLog(t *testing.T) {
	stderr := &syncBuffer{}
	var stdout bytes.Buffer
	stdinR, stdinW := io.Pipe()
	exited := make(chan int, 1)
	environ := append(os.Environ(), "EXECMCP_STATS_INTERVAL_MS=1000")
	go func() { exited <- realMain(nil, environ, stdinR, &stdout, stderr) }()
	re := regexp.MustCompile(`level=INFO msg=stats goroutines=\d+ heapInuseBytes=\d+ sysBytes=\d+ fds=\d+\n`)
	for deadline := time.Now().Add(10 * time.Second); len(re.FindAllString(stderr.String(), -1)) < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than two stats lines after 10 s: %q", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stdinW.Close()
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after stdin EOF")
	}
}
