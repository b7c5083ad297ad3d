// This file owns the startup configuration (docs/reference.md#configuration): the resolved config, the
// defaults and clamp ranges, and loadConfig, which merges the command line, the environment (env.go) and the
// config file (configfile.go) with the precedence flag > config file > environment > default.

package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// config is the resolved startup configuration (all defaults applied, clamps done).
type config struct {
	Listen     string // "" = stdio
	ConfigPath string // the config file path as given, "" = none

	YieldMs    int     // default yield window, clamped 10..120000
	TimeoutSec float64 // default timeout, 0 = none

	TTL           time.Duration
	SweepInterval time.Duration

	MaxOutputChars  int
	PendingMaxChars int // never above MaxOutputChars

	NotifyOnExit, NotifyOnExitEmptySuccess bool

	PathPrepend []string

	Security  string // full | allowlist | deny
	Allowlist []string

	Sandbox        string // none | bwrap
	SandboxNetwork bool
	BwrapPath      string // the bwrap executable found by checkPolicyStartup (sandbox bwrap)

	Host string // auto | sandbox | gateway
	// Channel is auto | on | off (docs/reference.md#channel).
	Channel string

	Cwd string // absolute, cleaned, existing directory

	KillGrace time.Duration

	ElevatedEnabled bool

	// LoginPath is "auto" (probe the login shell's PATH at startup, docs/reference.md#login-path) or "off".
	LoginPath string
	// ScriptPreflight is the script preflight check (docs/reference.md#script-preflight).
	ScriptPreflight bool
	// Guardian is "on" or "off" (docs/reference.md#guardian); Cgroup "auto" or "off" (docs/reference.md#cgroups).
	Guardian, Cgroup string

	ToolsAllow, ToolsDeny []string

	AuthToken, AuthTokensFile string

	// Tokens are the bearer tokens enforced over HTTP (docs/reference.md#http-auth), resolved only with Listen;
	// empty = none.
	Tokens []authToken

	// HTTPMaxSessions bounds the live MCP sessions over HTTP; a quarter of it (at least 1) bounds those of one
	// principal (docs/reference.md#http).
	HTTPMaxSessions int

	OrphanGrace time.Duration

	LogLevel slog.Level

	StdioWorkers int

	// StatsInterval is the period of the resource-use log line; 0 means none.
	StatsInterval time.Duration

	// DrainTimeout bounds the graceful stop's wait for tool calls in flight over HTTP; 0 means no drain
	// (docs/reference.md#drain).
	DrainTimeout time.Duration

	// LogFormat is text or json (docs/reference.md#logs).
	LogFormat string
	// LogDir holds the spill files, one subdirectory per server (docs/reference.md#spill); absolute.
	LogDir string
	// LogMaxBytes caps one spill file (0: no spill files); LogTotalMaxBytes all of them.
	LogMaxBytes, LogTotalMaxBytes int64

	Shell string // chosen from the server's SHELL and PATH (docs/reference.md#exec-shell)
}

// Defaults and ranges (docs/reference.md#environment-variables).
const (
	defaultYieldMs         = 10000
	minYieldMs, maxYieldMs = 10, 120000

	defaultTimeoutSec = 1800
	maxTimeoutSec     = 604800

	defaultTTLMs       = 1800000
	minTTLMs, maxTTLMs = 60000, 10800000

	minSweepMs, maxSweepMs = 1000, 3600000
	minDefaultSweepMs      = 30000

	defaultMaxOutputChars          = 100000
	defaultPendingMaxChars         = 30000
	minOutputChars, maxOutputChars = 1000, 200000

	defaultKillGraceMs               = 3000
	minKillGraceMs, maxKillGraceMs   = 0, 60000
	defaultOrphanGrace               = 60 * time.Second
	maxOrphanGrace                   = time.Hour
	defaultStdioWorkers              = 32
	minStdioWorkers, maxStdioWorkers = 5, 100
	minStatsIntervalMs               = 1000
	maxStatsIntervalMs               = 3600000

	defaultLogMaxBytes      = 1 << 30 // 1 GiB
	defaultLogTotalMaxBytes = 8 << 30 // 8 GiB
	defaultLogDirText       = "$XDG_RUNTIME_DIR/execmcp, else $TMPDIR/execmcp-<uid>"

	defaultHTTPMaxSessions                 = 1000
	minHTTPMaxSessions, maxHTTPMaxSessions = 1, 100000

	defaultDrainTimeoutSec = 10
	maxDrainTimeoutSec     = 600
)

// Defaults of the modes; the first of each list below.
const (
	defaultSecurity  = "full"
	defaultSandbox   = "none"
	defaultHost      = "auto"
	defaultChannel   = "auto"
	defaultLogLevel  = "info"
	defaultLogFormat = "text"

	defaultLoginPath       = "auto"
	defaultScriptPreflight = "on"
	defaultGuardian        = "on"
	defaultCgroup          = "auto"
)

var (
	securityModes = []string{defaultSecurity, "allowlist", "deny"}
	sandboxModes  = []string{defaultSandbox, "bwrap"}
	hostModes     = []string{defaultHost, "sandbox", "gateway"}
	channelModes  = []string{defaultChannel, "on", "off"}
	logLevels     = []string{"debug", defaultLogLevel, "warn", "error"}

	loginPathModes       = []string{defaultLoginPath, "off"}
	scriptPreflightModes = []string{defaultScriptPreflight, "off"}
	logFormats           = []string{defaultLogFormat, "json"}
	guardianModes        = []string{defaultGuardian, "off"}
	cgroupModes          = []string{defaultCgroup, "off"}
)

// startupError carries every startup problem, one message each (without the "execmcp: " prefix).
type startupError struct{ problems []string }

func (e *startupError) Error() string { return strings.Join(e.problems, "\n") }

// setting is one value given by a source: the environment (name = VAR) or the config file (name = dotted path).
// raw is the value as given, used in clamp warnings.
type setting[T any] struct {
	set  bool
	v    T
	name string
	raw  string
}

// first returns the first set setting, in precedence order.
func first[T any](s ...setting[T]) setting[T] {
	for _, x := range s {
		if x.set {
			return x
		}
	}
	return setting[T]{}
}

// loader holds the state of one loadConfig call.
type loader struct {
	logger  *slog.Logger
	getwd   func() (string, error)
	env     envValues
	errs    []string
	wd      string
	wdErr   error
	wdKnown bool
}

func (l *loader) fail(format string, a ...any) { l.errs = append(l.errs, fmt.Sprintf(format, a...)) }

func (l *loader) invalid(name, raw, what string) {
	l.fail("invalid value for %s: %q is not %s", name, raw, what)
}

func (l *loader) clamped(name, raw string, used any) {
	l.logger.Warn("setting clamped", "name", name, "value", raw, "used", used)
}

// serverWd is the server's working directory, asked once.
func (l *loader) serverWd() (string, error) {
	if !l.wdKnown {
		l.wd, l.wdErr = l.getwd()
		l.wdKnown = true
	}
	return l.wd, l.wdErr
}

// resolveDir applies the workdir rules (docs/reference.md#exec-workdir): "~" expanded with HOME, relative to the
// server's cwd, cleaned, must be an existing directory. ok is false when it is not.
func (l *loader) resolveDir(p string) (string, bool) {
	if home := l.env.home; home != "" {
		if p == "~" {
			p = home
		} else if rest, ok := strings.CutPrefix(p, "~/"); ok {
			p = filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(p) {
		wd, err := l.serverWd()
		if err != nil {
			return "", false
		}
		p = filepath.Join(wd, p)
	}
	p = filepath.Clean(p)
	fi, err := os.Stat(p)
	if err != nil || !fi.IsDir() {
		return "", false
	}
	return p, true
}

// serverPath resolves p relative to the server's working directory.
func (l *loader) serverPath(p string) string {
	if !filepath.IsAbs(p) {
		if wd, err := l.serverWd(); err == nil {
			return filepath.Join(wd, p)
		}
	}
	return p
}

// readFile reads p (relative to the server's cwd); the error is the OS error without the path, which the
// caller's message already names.
func (l *loader) readFile(p string) ([]byte, error) {
	data, err := os.ReadFile(l.serverPath(p))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	return data, nil
}

// cleanList trims the items and drops empty ones.
func cleanList(items []string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// dedupe removes repeated items, keeping the first occurrence.
func dedupe(items []string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		if !slices.Contains(out, it) {
			out = append(out, it)
		}
	}
	return out
}

// --- resolution helpers (precedence: config file > environment > default) ---

// pickInt resolves an integer setting and clamps it to [lo, hi] with a warning.
func (l *loader) pickInt(def, lo, hi int64, sources ...setting[int64]) int64 {
	s := first(sources...)
	if !s.set {
		return def
	}
	v := min(max(s.v, lo), hi)
	if v != s.v {
		l.clamped(s.name, s.raw, v)
	}
	return v
}

func pickInt64(def int64, sources ...setting[int64]) int64 {
	if s := first(sources...); s.set {
		return s.v
	}
	return def
}

// defaultLogDir is the log directory without a setting (docs/reference.md#spill): in the user's runtime
// directory (private, in memory, emptied at logout) when there is one, else in the temporary directory.
func defaultLogDir(xdgRuntimeDir, tmpDir string, uid int) string {
	if filepath.IsAbs(xdgRuntimeDir) {
		return filepath.Join(xdgRuntimeDir, "execmcp")
	}
	if !filepath.IsAbs(tmpDir) {
		tmpDir = "/tmp"
	}
	return filepath.Join(tmpDir, "execmcp-"+strconv.Itoa(uid))
}

func pickBool(def bool, sources ...setting[bool]) bool {
	if s := first(sources...); s.set {
		return s.v
	}
	return def
}

func pickString(def string, sources ...setting[string]) string {
	if s := first(sources...); s.set {
		return s.v
	}
	return def
}

func pickList(sources ...setting[[]string]) []string {
	if s := first(sources...); s.set {
		return s.v
	}
	return nil
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// loadConfig resolves the startup configuration from the command-line values (listen, configPath; "" = not
// given), the environment and the config file. It builds the logger (stderr, the log format and log level
// variables) and logs clamp warnings on it. Every problem is reported in the returned *startupError, together
// with the logger to report it on.
func loadConfig(listen, configPath string, environ []string, getwd func() (string, error), stderr io.Writer) (config, *slog.Logger, error) {
	l := &loader{getwd: getwd}
	l.readEnv(environMap(environ))
	ev := &l.env

	level := slog.LevelInfo
	if ev.logLevel.set {
		_ = level.UnmarshalText([]byte(ev.logLevel.v))
	}
	logFormat := pickString(defaultLogFormat, ev.logFormat)
	l.logger = newLogger(stderr, logFormat, level)

	// A flag wins over its variable; empty counts as unset.
	listenName := "--listen"
	if listen == "" {
		listen = ev.listen
		listenName = envListen
	}
	if configPath == "" {
		configPath = ev.configPath
	}
	var fc fileConfig
	if configPath != "" {
		if err := l.readConfigFile(configPath, &fc); err != nil {
			l.fail("config %s: %v", configPath, err)
		}
	}
	if len(l.errs) > 0 {
		return config{}, l.logger, &startupError{problems: l.errs}
	}

	cfg := config{
		Listen:         listen,
		ConfigPath:     configPath,
		AuthToken:      ev.authToken,
		AuthTokensFile: ev.authTokensFile,
		LogLevel:       level,
		LogFormat:      logFormat,
	}
	l.resolve(&cfg, &fc)

	// Cross-field check, then the allowlist entries (docs/reference.md#allowlist).
	if cfg.Host == "sandbox" && cfg.Sandbox == "none" {
		msg := `tools.exec.host is "sandbox" but tools.exec.sandbox is "none"`
		if fc.host.set || fc.sandbox.set {
			msg = fmt.Sprintf("config %s: %s", configPath, msg)
		}
		l.fail("%s", msg)
	}
	cfg.Allowlist = l.allowlistEntries(cfg.Allowlist)
	if cfg.Listen != "" {
		l.resolveHTTP(&cfg, listenName)
	}
	if len(l.errs) > 0 {
		return config{}, l.logger, &startupError{problems: l.errs}
	}
	return cfg, l.logger, nil
}

// resolve sets the settings of cfg from the config file fc, the environment and the defaults, clamping with a
// warning.
func (l *loader) resolve(cfg *config, fc *fileConfig) {
	ev := &l.env
	cfg.YieldMs = int(l.pickInt(defaultYieldMs, minYieldMs, maxYieldMs, fc.backgroundMs, ev.yieldMs))
	cfg.TimeoutSec = defaultTimeoutSec
	if s := first(fc.timeoutSec, ev.timeoutSec); s.set {
		cfg.TimeoutSec = s.v
		if s.v > maxTimeoutSec {
			cfg.TimeoutSec = maxTimeoutSec
			l.clamped(s.name, s.raw, formatFloat(cfg.TimeoutSec))
		}
	}
	ttlMs := l.pickInt(defaultTTLMs, minTTLMs, maxTTLMs, fc.cleanupMs, ev.jobTTLMs)
	cfg.TTL = time.Duration(ttlMs) * time.Millisecond
	cfg.SweepInterval = time.Duration(l.pickInt(max(minDefaultSweepMs, ttlMs/6), minSweepMs, maxSweepMs, ev.sweeperIntervalMs)) * time.Millisecond
	cfg.MaxOutputChars = int(l.pickInt(defaultMaxOutputChars, minOutputChars, maxOutputChars, ev.maxOutputChars))
	cfg.PendingMaxChars = int(l.pickInt(defaultPendingMaxChars, minOutputChars, maxOutputChars, ev.pendingMaxChars))
	if cfg.PendingMaxChars > cfg.MaxOutputChars {
		if ev.pendingMaxChars.set {
			l.clamped(ev.pendingMaxChars.name, ev.pendingMaxChars.raw, cfg.MaxOutputChars)
		}
		cfg.PendingMaxChars = cfg.MaxOutputChars
	}
	cfg.NotifyOnExit = pickBool(true, fc.notifyOnExit, ev.notifyOnExit)
	cfg.NotifyOnExitEmptySuccess = pickBool(false, fc.notifyOnExitEmptySuccess, ev.notifyEmptySuccess)
	cfg.PathPrepend = dedupe(pickList(fc.pathPrepend, ev.pathPrepend))
	cfg.Security = pickString(defaultSecurity, fc.security, ev.security)
	cfg.Allowlist = pickList(fc.allowlist, ev.allowlist)
	cfg.Sandbox = pickString(defaultSandbox, fc.sandbox, ev.sandbox)
	cfg.SandboxNetwork = pickBool(false, fc.sandboxNetwork, ev.sandboxNetwork)
	cfg.Host = pickString(defaultHost, fc.host, ev.host)
	cfg.Channel = pickString(defaultChannel, fc.channel, ev.channel)
	cfg.KillGrace = time.Duration(l.pickInt(defaultKillGraceMs, minKillGraceMs, maxKillGraceMs, fc.killGraceMs, ev.killGraceMs)) * time.Millisecond
	cfg.ElevatedEnabled = pickBool(false, fc.elevatedEnabled, ev.elevatedEnabled)
	cfg.LoginPath = pickString(defaultLoginPath, fc.loginPath, ev.loginPath)
	cfg.ScriptPreflight = pickString(defaultScriptPreflight, fc.scriptPreflight, ev.scriptPreflight) == "on"
	cfg.Guardian = pickString(defaultGuardian, fc.guardian, ev.guardian)
	cfg.Cgroup = pickString(defaultCgroup, fc.cgroup, ev.cgroup)
	cfg.ToolsAllow = pickList(fc.toolsAllow, ev.toolsAllow)
	cfg.ToolsDeny = pickList(fc.toolsDeny, ev.toolsDeny)
	cfg.HTTPMaxSessions = int(l.pickInt(defaultHTTPMaxSessions, minHTTPMaxSessions, maxHTTPMaxSessions, fc.httpMaxSessions, ev.httpMaxSessions))
	cfg.OrphanGrace = defaultOrphanGrace
	if s := ev.orphanGrace; s.set {
		cfg.OrphanGrace = min(max(s.v, 0), maxOrphanGrace)
		if cfg.OrphanGrace != s.v {
			l.clamped(s.name, s.raw, cfg.OrphanGrace.String())
		}
	}
	cfg.DrainTimeout = defaultDrainTimeoutSec * time.Second
	if s := first(fc.drainTimeout, ev.drainTimeout); s.set {
		cfg.DrainTimeout = min(s.v, maxDrainTimeoutSec*time.Second)
		if cfg.DrainTimeout != s.v {
			l.clamped(s.name, s.raw, cfg.DrainTimeout.String())
		}
	}
	cfg.StdioWorkers = int(l.pickInt(defaultStdioWorkers, minStdioWorkers, maxStdioWorkers, ev.stdioWorkers))
	if s := ev.statsIntervalMs; s.set && s.v > 0 { // 0 or less: no stats line
		cfg.StatsInterval = time.Duration(l.pickInt(0, minStatsIntervalMs, maxStatsIntervalMs, s)) * time.Millisecond
	}
	cfg.Shell = selectShell(ev.shell, ev.path)
	cfg.LogMaxBytes = pickInt64(defaultLogMaxBytes, fc.logMaxBytes, ev.logMaxBytes)
	cfg.LogTotalMaxBytes = pickInt64(defaultLogTotalMaxBytes, fc.logTotalMaxBytes, ev.logTotalMaxBytes)
	if s := first(fc.logDir, ev.logDir); s.set {
		cfg.LogDir = filepath.Clean(l.serverPath(s.v))
	} else {
		cfg.LogDir = defaultLogDir(ev.xdgRuntimeDir, ev.tmpDir, os.Getuid())
	}

	if s := first(fc.cwd, ev.cwd); s.set {
		cfg.Cwd = s.v
	} else {
		wd, err := l.serverWd()
		if err != nil {
			l.fail("cannot determine the working directory: %v", err)
		} else {
			cfg.Cwd = filepath.Clean(wd)
		}
	}
}
