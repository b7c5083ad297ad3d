// This file owns the environment variables (docs/reference.md#environment-variables): envTable names every
// variable the server reads, once, together with its config-file key, default and accepted values, and the
// readers that parse a value or report it.

package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Variables named in messages as well as in envTable.
const (
	envListen         = "EXECMCP_LISTEN"
	envAuthToken      = "EXECMCP_AUTH_TOKEN"
	envAuthTokensFile = "EXECMCP_AUTH_TOKENS_FILE"
)

// envVar is one environment variable the server reads. An empty value counts as unset.
type envVar struct {
	name   string
	key    string // the config-file key (or flag) that sets the same thing and wins over the variable; "" = none
	def    string // the default, in words
	values string // the accepted values and the clamp range, in words
	doc    string // what it sets
	read   envReader
}

// envReader parses the non-empty value raw of the variable name into its field of envValues, or reports it on
// l when it is not valid.
type envReader func(l *loader, name, raw string)

// envValues holds what the environment gave, one field per envTable entry.
type envValues struct {
	shell, path, home     string
	xdgRuntimeDir, tmpDir string

	yieldMs, jobTTLMs, sweeperIntervalMs setting[int64]
	timeoutSec                           setting[float64]
	maxOutputChars, pendingMaxChars      setting[int64]
	notifyOnExit, notifyEmptySuccess     setting[bool]
	pathPrepend, allowlist               setting[[]string]
	security, sandbox, host              setting[string]
	channel                              setting[string]
	sandboxNetwork                       setting[bool]
	cwd                                  setting[string]
	killGraceMs                          setting[int64]
	elevatedEnabled                      setting[bool]
	guardian, cgroup                     setting[string]
	toolsAllow, toolsDeny                setting[[]string]
	loginPath, scriptPreflight           setting[string]

	listen, configPath, authToken, authTokensFile string
	httpMaxSessions                               setting[int64]

	logDir                        setting[string]
	logMaxBytes, logTotalMaxBytes setting[int64]

	orphanGrace                   setting[time.Duration]
	logLevel                      setting[string]
	stdioWorkers, statsIntervalMs setting[int64]

	drainTimeout setting[time.Duration]
	logFormat    setting[string]
}

// envTable lists every variable the server reads, with readers that store into ev. Problems are reported in
// this order; HOME comes before EXECMCP_CWD, which is resolved against it.
func envTable(ev *envValues) []envVar {
	return []envVar{
		// Not settings: the server's own environment.
		{name: "SHELL", read: readText(&ev.shell), def: "/bin/sh", values: "shell path or name",
			doc: "the shell commands run in (docs/reference.md#exec-shell)"},
		{name: "PATH", read: readText(&ev.path), values: "directories separated by :",
			doc: "where the shell and bwrap are looked up"},
		{name: "HOME", read: readText(&ev.home), values: "directory",
			doc: "what a leading ~ in a directory or allowlist entry stands for"},
		{name: "TMPDIR", read: readText(&ev.tmpDir), def: "/tmp", values: "directory",
			doc: "where the default log directory lies without XDG_RUNTIME_DIR (docs/reference.md#spill)"},
		{name: "XDG_RUNTIME_DIR", read: readText(&ev.xdgRuntimeDir), def: "unset", values: "directory",
			doc: "where the default log directory lies (docs/reference.md#spill)"},

		{name: "PI_BASH_YIELD_MS", key: "tools.exec.backgroundMs", read: readInteger(&ev.yieldMs),
			def: itoa(defaultYieldMs), values: "integer ms, clamp " + between(minYieldMs, maxYieldMs),
			doc: "the default yield window of exec"},
		{name: "EXECMCP_TIMEOUT_SEC", key: "tools.exec.timeoutSec", read: readNonNegative(&ev.timeoutSec),
			def: itoa(defaultTimeoutSec), values: "number s, 0 or more (0 = none), clamp max " + itoa(maxTimeoutSec),
			doc: "the default timeout of exec"},
		{name: "PI_BASH_JOB_TTL_MS", key: "tools.exec.cleanupMs", read: readInteger(&ev.jobTTLMs),
			def: itoa(defaultTTLMs), values: "integer ms, clamp " + between(minTTLMs, maxTTLMs),
			doc: "how long a finished session is kept"},
		{
			name:   "PI_BASH_SWEEPER_INTERVAL_MS",
			read:   readInteger(&ev.sweeperIntervalMs),
			def:    fmt.Sprintf("max(%d, TTL/6)", minDefaultSweepMs),
			values: "integer ms, clamp " + between(minSweepMs, maxSweepMs),
			doc:    "how often finished sessions are swept",
		},
		{name: "PI_BASH_MAX_OUTPUT_CHARS", read: readInteger(&ev.maxOutputChars),
			def: itoa(defaultMaxOutputChars), values: "integer chars, clamp " + between(minOutputChars, maxOutputChars),
			doc: "the aggregated output kept per session"},
		{
			name:   "OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS",
			read:   readInteger(&ev.pendingMaxChars),
			def:    itoa(defaultPendingMaxChars),
			values: "integer chars, clamp " + between(minOutputChars, maxOutputChars) + ", then at most the max output chars",
			doc:    "the output not yet read kept per stream",
		},
		{name: "EXECMCP_NOTIFY_ON_EXIT", key: "tools.exec.notifyOnExit", read: readBool(&ev.notifyOnExit),
			def: "true", values: "boolean", doc: "notify when a background session exits"},
		{name: "EXECMCP_NOTIFY_ON_EXIT_EMPTY_SUCCESS", read: readBool(&ev.notifyEmptySuccess),
			key: "tools.exec.notifyOnExitEmptySuccess", def: "false", values: "boolean",
			doc: "notify also on a successful exit without output"},
		{name: "EXECMCP_PATH_PREPEND", key: "tools.exec.pathPrepend", read: readList(&ev.pathPrepend, ":"),
			def: "empty", values: "list separated by :", doc: "directories put in front of every command's PATH"},
		{name: "EXECMCP_SECURITY", key: "tools.exec.security", read: readOneOf(&ev.security, securityModes),
			def: defaultSecurity, values: strings.Join(securityModes, ", "), doc: "the security mode"},
		{name: "EXECMCP_ALLOWLIST", key: "tools.exec.allowlist", read: readList(&ev.allowlist, ","),
			def: "empty", values: "list separated by ,", doc: "the allowlist entries"},
		{name: "EXECMCP_SANDBOX", key: "tools.exec.sandbox", read: readOneOf(&ev.sandbox, sandboxModes),
			def: defaultSandbox, values: strings.Join(sandboxModes, ", "), doc: "the sandbox"},
		{name: "EXECMCP_SANDBOX_NETWORK", key: "tools.exec.sandboxNetwork", read: readBool(&ev.sandboxNetwork),
			def: "false", values: "boolean", doc: "share the host network with sandboxed runs"},
		{name: "EXECMCP_HOST", key: "tools.exec.host", read: readOneOf(&ev.host, hostModes),
			def: defaultHost, values: strings.Join(hostModes, ", "), doc: "the configured host"},
		{name: "EXECMCP_CHANNEL", key: "tools.exec.channel", read: readOneOf(&ev.channel, channelModes),
			def: defaultChannel, values: strings.Join(channelModes, ", "),
			doc: "which clients get Claude Code channel events (docs/reference.md#channel)"},
		{name: "EXECMCP_CWD", key: "tools.exec.cwd", read: readDir(&ev.cwd),
			def: "the server's cwd", values: "existing directory, ~ expanded", doc: "the default workdir"},
		{name: "EXECMCP_LOG_DIR", key: "tools.exec.logDir", read: readPath(&ev.logDir),
			def: defaultLogDirText, values: "path, relative to the server's cwd; created when first needed",
			doc: "where the spill files of background sessions go (docs/reference.md#spill)"},
		{name: "EXECMCP_LOG_MAX_BYTES", key: "tools.exec.logMaxBytes", read: readCount(&ev.logMaxBytes),
			def: itoa(defaultLogMaxBytes), values: "integer bytes, 0 or more (0 = no spill files)",
			doc: "the size of one spill file"},
		{name: "EXECMCP_LOG_TOTAL_MAX_BYTES", key: "tools.exec.logTotalMaxBytes", read: readCount(&ev.logTotalMaxBytes),
			def: itoa(defaultLogTotalMaxBytes), values: "integer bytes, 0 or more",
			doc: "the size of all spill files of the server"},
		{name: "EXECMCP_KILL_GRACE_MS", key: "tools.exec.killGraceMs", read: readInteger(&ev.killGraceMs),
			def: itoa(defaultKillGraceMs), values: "integer ms, clamp " + between(minKillGraceMs, maxKillGraceMs),
			doc: "the wait between SIGTERM and SIGKILL"},
		{name: "EXECMCP_ELEVATED_ENABLED", key: "tools.elevated.enabled", read: readBool(&ev.elevatedEnabled),
			def: "false", values: "boolean", doc: "allow elevated runs"},
		{name: "EXECMCP_LOGIN_PATH", key: "tools.exec.loginPath", read: readOneOf(&ev.loginPath, loginPathModes),
			def: defaultLoginPath, values: strings.Join(loginPathModes, ", "),
			doc: "merge the login shell's PATH in front of the inherited one on the host"},
		{name: "EXECMCP_SCRIPT_PREFLIGHT", key: "tools.exec.scriptPreflight",
			read: readOneOf(&ev.scriptPreflight, scriptPreflightModes), def: defaultScriptPreflight,
			values: strings.Join(scriptPreflightModes, ", "), doc: "check python and node scripts for shell syntax before running them"},
		{name: "EXECMCP_GUARDIAN", key: "tools.exec.guardian", read: readOneOf(&ev.guardian, guardianModes),
			def: defaultGuardian, values: strings.Join(guardianModes, ", "),
			doc: "the guardian process that kills every process group when the server is killed"},
		{name: "EXECMCP_CGROUP", key: "tools.exec.cgroup", read: readOneOf(&ev.cgroup, cgroupModes),
			def: defaultCgroup, values: strings.Join(cgroupModes, ", "),
			doc: "a cgroup per session where the system allows it"},
		{name: "EXECMCP_TOOLS_ALLOW", key: "tools.allow", read: readList(&ev.toolsAllow, ","),
			def: "all tools", values: "list separated by ,", doc: "the tools offered"},
		{name: "EXECMCP_TOOLS_DENY", key: "tools.deny", read: readList(&ev.toolsDeny, ","),
			def: "none", values: "list separated by ,", doc: "the tools withheld"},
		{name: envListen, key: "--listen", read: readText(&ev.listen),
			def: "unset = stdio", values: "host:port", doc: "serve MCP over HTTP on this address"},
		{name: "EXECMCP_CONFIG", key: "--config", read: readText(&ev.configPath),
			def: "unset", values: "path", doc: "the JSON config file"},
		{name: envAuthToken, read: readText(&ev.authToken),
			def: "unset", values: "token without whitespace", doc: "one shared bearer token"},
		{name: envAuthTokensFile, read: readText(&ev.authTokensFile),
			def: "unset", values: "path", doc: "the tokens file mapping tokens to agent ids"},
		{name: "EXECMCP_HTTP_MAX_SESSIONS", key: "tools.exec.httpMaxSessions", read: readInteger(&ev.httpMaxSessions),
			def: itoa(defaultHTTPMaxSessions), values: "integer, clamp " + between(minHTTPMaxSessions, maxHTTPMaxSessions),
			doc: "the live MCP sessions over HTTP, in all (a quarter of it per principal)"},
		{name: "EXECMCP_ORPHAN_GRACE", read: readDuration(&ev.orphanGrace),
			def: defaultOrphanGrace.String(), values: "duration, clamp 0.." + maxOrphanGrace.String(),
			doc: "how long the work of a closed MCP session lives on"},
		{name: "EXECMCP_LOG_LEVEL", read: readOneOf(&ev.logLevel, logLevels),
			def: defaultLogLevel, values: strings.Join(logLevels, ", "), doc: "the lowest level logged on stderr"},
		{name: "EXECMCP_STDIO_WORKERS", read: readInteger(&ev.stdioWorkers),
			def: itoa(defaultStdioWorkers), values: "integer, clamp " + between(minStdioWorkers, maxStdioWorkers),
			doc: "the requests handled at once over stdio"},
		{name: "EXECMCP_STATS_INTERVAL_MS", read: readInteger(&ev.statsIntervalMs),
			def: "0 = no stats line", values: "integer ms, clamp " + between(minStatsIntervalMs, maxStatsIntervalMs),
			doc: "the period of the resource-use log line"},
		{name: "EXECMCP_DRAIN_TIMEOUT", key: "tools.exec.drainTimeoutSec", read: readSeconds(&ev.drainTimeout),
			def: itoa(defaultDrainTimeoutSec), values: "number s or duration, clamp 0.." + itoa(maxDrainTimeoutSec) + " s",
			doc: "how long a graceful stop over HTTP waits for tool calls in flight (docs/reference.md#drain)"},
		{name: "EXECMCP_LOG_FORMAT", read: readOneOf(&ev.logFormat, logFormats),
			def: defaultLogFormat, values: strings.Join(logFormats, ", "),
			doc: "the format of the log lines on stderr (docs/reference.md#logs)"},
	}
}

// envNames lists every environment variable the server reads, in envTable order.
func envNames() []string {
	table := envTable(new(envValues))
	names := make([]string, len(table))
	for i, v := range table {
		names[i] = v.name
	}
	return names
}

// readEnv reads every variable of envTable from envMap into l.env; every bad one is reported.
func (l *loader) readEnv(envMap map[string]string) {
	for _, v := range envTable(&l.env) {
		if raw := envMap[v.name]; raw != "" {
			v.read(l, v.name, raw)
		}
	}
}

// environMap turns KEY=VALUE entries into a map; the first entry of a key wins, as with os.Getenv.
func environMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if _, seen := m[k]; !seen {
			m[k] = v
		}
	}
	return m
}

func itoa[T int | int64](n T) string { return fmt.Sprint(n) }

func between[T int | int64](lo, hi T) string { return fmt.Sprintf("%d..%d", lo, hi) }

// --- readers, one per kind of value ---

func readText(dst *string) envReader {
	return func(_ *loader, _, raw string) { *dst = raw }
}

// readInteger reads a base-10 integer; one beyond int64 is kept at the int64 limit and clamped like any big value.
func readInteger(dst *setting[int64]) envReader {
	return func(l *loader, name, raw string) {
		v, err := strconv.ParseInt(raw, 10, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			l.invalid(name, raw, "an integer")
			return
		}
		*dst = setting[int64]{set: true, v: v, name: name, raw: raw}
	}
}

// readPath keeps a path as given; the caller resolves it against the server's cwd.
func readPath(dst *setting[string]) envReader {
	return func(_ *loader, name, raw string) { *dst = setting[string]{set: true, v: raw, name: name, raw: raw} }
}

// readCount reads a base-10 integer of 0 or more; one beyond int64 is kept at the int64 limit.
func readCount(dst *setting[int64]) envReader {
	return func(l *loader, name, raw string) {
		v, err := strconv.ParseInt(raw, 10, 64)
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange):
			l.invalid(name, raw, "an integer")
		case v < 0:
			l.invalid(name, raw, "an integer of 0 or more")
		default:
			*dst = setting[int64]{set: true, v: v, name: name, raw: raw}
		}
	}
}

// readNonNegative reads a finite number of 0 or more.
func readNonNegative(dst *setting[float64]) envReader {
	return func(l *loader, name, raw string) {
		f, err := strconv.ParseFloat(raw, 64)
		switch {
		case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
			l.invalid(name, raw, "a number")
		case f < 0:
			l.invalid(name, raw, "a number of 0 or more")
		default:
			*dst = setting[float64]{set: true, v: f, name: name, raw: raw}
		}
	}
}

func readBool(dst *setting[bool]) envReader {
	return func(l *loader, name, raw string) {
		v, err := strconv.ParseBool(raw)
		if err != nil {
			l.invalid(name, raw, "a boolean")
			return
		}
		*dst = setting[bool]{set: true, v: v, name: name, raw: raw}
	}
}

func readDuration(dst *setting[time.Duration]) envReader {
	return func(l *loader, name, raw string) {
		d, err := time.ParseDuration(raw)
		if err != nil {
			l.invalid(name, raw, "a duration")
			return
		}
		*dst = setting[time.Duration]{set: true, v: d, name: name, raw: raw}
	}
}

// secondsDuration converts a number of seconds, keeping one beyond the range of time.Duration at its maximum
// (clamped like any big value).
func secondsDuration(f float64) time.Duration {
	if ns := f * float64(time.Second); ns < math.MaxInt64 {
		return time.Duration(ns)
	}
	return math.MaxInt64
}

// readSeconds reads a number of seconds of 0 or more ("10", "2.5") or a Go duration ("1500ms", "1m"), which a
// variable without a unit in its name invites.
func readSeconds(dst *setting[time.Duration]) envReader {
	return func(l *loader, name, raw string) {
		d, err := time.ParseDuration(raw)
		if err != nil {
			f, ferr := strconv.ParseFloat(raw, 64)
			if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				l.invalid(name, raw, "a number of seconds or a duration")
				return
			}
			d = secondsDuration(f)
		}
		if d < 0 {
			l.invalid(name, raw, "0 or more")
			return
		}
		*dst = setting[time.Duration]{set: true, v: d, name: name, raw: raw}
	}
}

func readOneOf(dst *setting[string], allowed []string) envReader {
	return func(l *loader, name, raw string) {
		if !slices.Contains(allowed, raw) {
			l.invalid(name, raw, "one of "+strings.Join(allowed, ", "))
			return
		}
		*dst = setting[string]{set: true, v: raw, name: name, raw: raw}
	}
}

// readList splits on sep, trims the items and drops empty ones.
func readList(dst *setting[[]string], sep string) envReader {
	return func(_ *loader, name, raw string) {
		*dst = setting[[]string]{set: true, v: cleanList(strings.Split(raw, sep)), name: name, raw: raw}
	}
}

// readDir resolves the value with the cwd rules (loader.resolveDir).
func readDir(dst *setting[string]) envReader {
	return func(l *loader, name, raw string) {
		dir, ok := l.resolveDir(raw)
		if !ok {
			l.invalid(name, raw, "an existing directory")
			return
		}
		*dst = setting[string]{set: true, v: dir, name: name, raw: raw}
	}
}
