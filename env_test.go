// Tests of the environment variables: values, errors and the table that names them.

package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

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
		{"EXECMCP_CHANNEL=off", func(c config) bool { return c.Channel == "off" }},
		{"EXECMCP_CHANNEL=", func(c config) bool { return c.Channel == "auto" }},
		{"EXECMCP_LOGIN_PATH=off", func(c config) bool { return c.LoginPath == "off" }},
		{"EXECMCP_SCRIPT_PREFLIGHT=off", func(c config) bool { return !c.ScriptPreflight }},
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
		{"EXECMCP_HTTP_MAX_SESSIONS=4", func(c config) bool { return c.HTTPMaxSessions == 4 }},
		{"EXECMCP_GUARDIAN=off", func(c config) bool { return c.Guardian == "off" }},
		{"EXECMCP_GUARDIAN=on", func(c config) bool { return c.Guardian == "on" }},
		{"EXECMCP_CGROUP=off", func(c config) bool { return c.Cgroup == "off" }},
		{"EXECMCP_CGROUP=auto", func(c config) bool { return c.Cgroup == "auto" }},
		{"EXECMCP_HTTP_MAX_SESSIONS=1", func(c config) bool { return c.HTTPMaxSessions == 1 }},
		{"EXECMCP_HTTP_MAX_SESSIONS=100000", func(c config) bool { return c.HTTPMaxSessions == 100000 }},
		{"EXECMCP_DRAIN_TIMEOUT=30", func(c config) bool { return c.DrainTimeout == 30*time.Second }},
		{"EXECMCP_DRAIN_TIMEOUT=2.5", func(c config) bool { return c.DrainTimeout == 2500*time.Millisecond }},
		{"EXECMCP_DRAIN_TIMEOUT=1500ms", func(c config) bool { return c.DrainTimeout == 1500*time.Millisecond }},
		{"EXECMCP_DRAIN_TIMEOUT=0", func(c config) bool { return c.DrainTimeout == 0 }},
		{"EXECMCP_DRAIN_TIMEOUT=", func(c config) bool { return c.DrainTimeout == 10*time.Second }},
		{"EXECMCP_LOG_FORMAT=json", func(c config) bool { return c.LogFormat == "json" }},
		{"EXECMCP_LOG_FORMAT=text", func(c config) bool { return c.LogFormat == "text" }},
		{"EXECMCP_LOG_DIR=logs/", func(c config) bool { return c.LogDir == filepath.Join(wd, "logs") }},
		{"EXECMCP_LOG_DIR=/var/tmp/x", func(c config) bool { return c.LogDir == "/var/tmp/x" }},
		{"XDG_RUNTIME_DIR=/run/user/7", func(c config) bool { return c.LogDir == "/run/user/7/execmcp" }},
		{"XDG_RUNTIME_DIR=relative", func(c config) bool { return strings.HasPrefix(c.LogDir, "/tmp/execmcp-") }},
		{"TMPDIR=/var/tmp", func(c config) bool { return c.LogDir == "/var/tmp/execmcp-"+strconv.Itoa(os.Getuid()) }},
		{"EXECMCP_LOG_MAX_BYTES=0", func(c config) bool { return c.LogMaxBytes == 0 }},
		{"EXECMCP_LOG_MAX_BYTES=100000", func(c config) bool { return c.LogMaxBytes == 100000 }},
		{"EXECMCP_LOG_TOTAL_MAX_BYTES=0", func(c config) bool { return c.LogTotalMaxBytes == 0 }},
		{"EXECMCP_LOG_TOTAL_MAX_BYTES=99999999999999999999", func(c config) bool { return c.LogTotalMaxBytes == 1<<63-1 }},
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
		{"EXECMCP_LOG_MAX_BYTES=-1", `invalid value for EXECMCP_LOG_MAX_BYTES: "-1" is not an integer of 0 or more`},
		{"EXECMCP_LOG_MAX_BYTES=1GiB", `invalid value for EXECMCP_LOG_MAX_BYTES: "1GiB" is not an integer`},
		{"EXECMCP_LOG_TOTAL_MAX_BYTES=1e9", `invalid value for EXECMCP_LOG_TOTAL_MAX_BYTES: "1e9" is not an integer`},
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
		{"EXECMCP_CHANNEL=yes", `invalid value for EXECMCP_CHANNEL: "yes" is not one of auto, on, off`},
		{"EXECMCP_LOGIN_PATH=on", `invalid value for EXECMCP_LOGIN_PATH: "on" is not one of auto, off`},
		{"EXECMCP_SCRIPT_PREFLIGHT=true", `invalid value for EXECMCP_SCRIPT_PREFLIGHT: "true" is not one of on, off`},
		{"EXECMCP_CWD=/does/not/exist", `invalid value for EXECMCP_CWD: "/does/not/exist" is not an existing directory`},
		{"EXECMCP_CWD=file", `invalid value for EXECMCP_CWD: "file" is not an existing directory`},
		{"EXECMCP_KILL_GRACE_MS=3s", `invalid value for EXECMCP_KILL_GRACE_MS: "3s" is not an integer`},
		{"EXECMCP_ELEVATED_ENABLED=enabled", `invalid value for EXECMCP_ELEVATED_ENABLED: "enabled" is not a boolean`},
		{"EXECMCP_ORPHAN_GRACE=60", `invalid value for EXECMCP_ORPHAN_GRACE: "60" is not a duration`},
		{"EXECMCP_LOG_LEVEL=verbose", `invalid value for EXECMCP_LOG_LEVEL: "verbose" is not one of debug, info, warn, error`},
		{"EXECMCP_LOG_LEVEL=INFO", `invalid value for EXECMCP_LOG_LEVEL: "INFO" is not one of debug, info, warn, error`},
		{"EXECMCP_STDIO_WORKERS=many", `invalid value for EXECMCP_STDIO_WORKERS: "many" is not an integer`},
		{"EXECMCP_STATS_INTERVAL_MS=10s", `invalid value for EXECMCP_STATS_INTERVAL_MS: "10s" is not an integer`},
		{"EXECMCP_HTTP_MAX_SESSIONS=1e3", `invalid value for EXECMCP_HTTP_MAX_SESSIONS: "1e3" is not an integer`},
		{"EXECMCP_DRAIN_TIMEOUT=soon", `invalid value for EXECMCP_DRAIN_TIMEOUT: "soon" is not a number of seconds or a duration`},
		{"EXECMCP_DRAIN_TIMEOUT=NaN", `invalid value for EXECMCP_DRAIN_TIMEOUT: "NaN" is not a number of seconds or a duration`},
		{"EXECMCP_DRAIN_TIMEOUT=-1", `invalid value for EXECMCP_DRAIN_TIMEOUT: "-1" is not 0 or more`},
		{"EXECMCP_DRAIN_TIMEOUT=-2s", `invalid value for EXECMCP_DRAIN_TIMEOUT: "-2s" is not 0 or more`},
		{"EXECMCP_LOG_FORMAT=JSON", `invalid value for EXECMCP_LOG_FORMAT: "JSON" is not one of text, json`},
		{"EXECMCP_LOG_FORMAT=logfmt", `invalid value for EXECMCP_LOG_FORMAT: "logfmt" is not one of text, json`},
		{"EXECMCP_GUARDIAN=true", `invalid value for EXECMCP_GUARDIAN: "true" is not one of on, off`},
		{"EXECMCP_CGROUP=on", `invalid value for EXECMCP_CGROUP: "on" is not one of auto, off`},
		{"EXECMCP_HTTP_MAX_SESSIONS=many", `invalid value for EXECMCP_HTTP_MAX_SESSIONS: "many" is not an integer`},
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

// envTable names every variable once, documents each, and states the defaults that loadConfig applies.
func TestEnvTable(t *testing.T) {
	table := envTable(new(envValues))
	seen := map[string]bool{}
	for _, v := range table {
		if seen[v.name] {
			t.Errorf("%s is listed twice", v.name)
		}
		seen[v.name] = true
		if v.values == "" || v.doc == "" || v.read == nil {
			t.Errorf("%s: values %q doc %q, reader set %v", v.name, v.values, v.doc, v.read != nil)
		}
	}
	if names := envNames(); len(names) != len(table) || names[0] != table[0].name {
		t.Errorf("envNames() = %q", names)
	}
	// Every config key named is one the config file knows.
	schema := (&loader{}).configSchema(&fileConfig{})
	for _, v := range table {
		if v.key == "" || strings.HasPrefix(v.key, "--") {
			continue
		}
		node := schema
		for part := range strings.SplitSeq(v.key, ".") {
			if node = node.children[part]; node == nil {
				t.Errorf("%s: config key %q is not in the config file schema", v.name, v.key)
				break
			}
		}
	}

	cfg, _ := mustLoad(t, "", nil, t.TempDir())
	applied := map[string]string{
		"SHELL":                                  cfg.Shell,
		"PI_BASH_YIELD_MS":                       strconv.Itoa(cfg.YieldMs),
		"EXECMCP_TIMEOUT_SEC":                    formatFloat(cfg.TimeoutSec),
		"PI_BASH_JOB_TTL_MS":                     strconv.FormatInt(cfg.TTL.Milliseconds(), 10),
		"PI_BASH_MAX_OUTPUT_CHARS":               strconv.Itoa(cfg.MaxOutputChars),
		"OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS": strconv.Itoa(cfg.PendingMaxChars),
		"EXECMCP_NOTIFY_ON_EXIT":                 strconv.FormatBool(cfg.NotifyOnExit),
		"EXECMCP_NOTIFY_ON_EXIT_EMPTY_SUCCESS":   strconv.FormatBool(cfg.NotifyOnExitEmptySuccess),
		"EXECMCP_SECURITY":                       cfg.Security,
		"EXECMCP_SANDBOX":                        cfg.Sandbox,
		"EXECMCP_SANDBOX_NETWORK":                strconv.FormatBool(cfg.SandboxNetwork),
		"EXECMCP_HOST":                           cfg.Host,
		"EXECMCP_KILL_GRACE_MS":                  strconv.FormatInt(cfg.KillGrace.Milliseconds(), 10),
		"EXECMCP_ELEVATED_ENABLED":               strconv.FormatBool(cfg.ElevatedEnabled),
		"EXECMCP_ORPHAN_GRACE":                   cfg.OrphanGrace.String(),
		"EXECMCP_LOG_LEVEL":                      strings.ToLower(cfg.LogLevel.String()),
		"EXECMCP_STDIO_WORKERS":                  strconv.Itoa(cfg.StdioWorkers),
		"EXECMCP_GUARDIAN":                       cfg.Guardian,
		"EXECMCP_CGROUP":                         cfg.Cgroup,
	}
	for _, v := range table {
		if want, ok := applied[v.name]; ok && v.def != want {
			t.Errorf("%s: documented default %q, applied %q", v.name, v.def, want)
		}
		delete(applied, v.name)
	}
	if len(applied) > 0 {
		t.Errorf("not in envTable: %v", applied)
	}
}

// The help text names only variables the server reads.
func TestUsageNamesKnownVariables(t *testing.T) {
	names := envNames()
	for _, name := range regexp.MustCompile(`\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b`).FindAllString(usageText, -1) {
		if !slices.Contains(names, name) {
			t.Errorf("usage names %s, which envTable does not list", name)
		}
	}
}
