// Command execmcp is an MCP server that gives an AI agent a shell through the exec and process tools.
//
// This file holds the command line, the startup configuration (mcp.md §2-§3) and the entry points. The behaviour
// contract is the specification in ../shared/spec.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/caarlos0/env/v11"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/execmcp/execmcp/policy"
	"github.com/execmcp/execmcp/sessions"
	"github.com/execmcp/execmcp/tools"
)

// version is set at build time with -ldflags "-X main.version=<v>".
var version = ""

// buildVersion is the version reported by --version and serverInfo.version: the -ldflags value, else the module
// version from the build info (unless "(devel)"), else "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// config is the resolved startup configuration (all defaults applied, clamps done).
type config struct {
	Listen     string // "" = stdio
	ConfigPath string // the config file path as given, "" = none

	YieldMs    int     // resolved default yield window (config backgroundMs > PI_BASH_YIELD_MS > 10000), clamped 10..120000
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

	Cwd string // absolute, cleaned, existing directory

	KillGrace time.Duration

	ElevatedEnabled bool

	ToolsAllow, ToolsDeny []string

	AuthToken, AuthTokensFile string

	// Tokens are the bearer tokens enforced over HTTP (mcp.md §5.2), resolved only with Listen; empty = none.
	Tokens []authToken

	OrphanGrace time.Duration

	LogLevel slog.Level

	StdioWorkers int

	// StatsInterval is the period of the resource-use log line (EXECMCP_STATS_INTERVAL_MS); 0 means none.
	StatsInterval time.Duration

	Shell string // exec.md §9 shell selection from SHELL/PATH
}

// Defaults and ranges (mcp.md §3.2).
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
)

var (
	securityModes = []string{"full", "allowlist", "deny"}
	sandboxModes  = []string{"none", "bwrap"}
	hostModes     = []string{"auto", "sandbox", "gateway"}
	logLevels     = []string{"debug", "info", "warn", "error"}
)

// ---------------------------------------------------------------------------------------------------------------
// Command line (mcp.md §2)

type action int

const (
	actionRun action = iota
	actionVersion
	actionHelp
)

const usageText = `Usage:
  execmcp                      serve MCP over stdio
  execmcp --listen ADDR        serve MCP over HTTP (Streamable HTTP at /mcp, SSE at /sse + /message)
  execmcp --config FILE        read the JSON config file FILE (combinable with --listen)
  execmcp --version            print "execmcp <version>" and exit 0
  execmcp --help               print this help and exit 0

Every setting is also an environment variable (EXECMCP_LISTEN, EXECMCP_CONFIG, PI_BASH_YIELD_MS,
EXECMCP_TIMEOUT_SEC, PI_BASH_JOB_TTL_MS, EXECMCP_CWD, EXECMCP_LOG_LEVEL, ...); a flag wins over its variable.
Logs go to stderr; in stdio mode stdout carries only MCP messages.
`

// parseArgs parses the command line. An error means exit status 2: the caller prints it and the usage to stderr.
func parseArgs(args []string) (listen, configPath string, act action, err error) {
	fs := flag.NewFlagSet("execmcp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&listen, "listen", "", "serve MCP over HTTP on ADDR")
	fs.StringVar(&configPath, "config", "", "read the JSON config file FILE")
	showVersion := fs.Bool("version", false, "print the version and exit")
	help := fs.Bool("help", false, "print usage and exit")
	fs.BoolVar(help, "h", false, "print usage and exit")
	if err := fs.Parse(args); err != nil {
		return "", "", actionRun, err
	}
	if fs.NArg() > 0 {
		return "", "", actionRun, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case *help:
		return listen, configPath, actionHelp, nil
	case *showVersion:
		return listen, configPath, actionVersion, nil
	}
	return listen, configPath, actionRun, nil
}

// ---------------------------------------------------------------------------------------------------------------
// Entry points

func main() {
	os.Exit(realMain(os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr))
}

// realMain runs execmcp with the given arguments, environment and streams and returns the exit status.
func realMain(args []string, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	listen, configPath, act, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "execmcp: %v\n\n%s", err, usageText)
		return 2
	}
	switch act {
	case actionHelp:
		fmt.Fprint(stdout, usageText)
		return 0
	case actionVersion:
		fmt.Fprintf(stdout, "execmcp %s\n", buildVersion())
		return 0
	}
	cfg, logger, err := loadConfig(listen, configPath, environ, os.Getwd, stderr)
	if err != nil {
		printStartupError(stderr, err)
		return 1
	}
	if err := checkPolicyStartup(&cfg, environ, logger); err != nil {
		printStartupError(stderr, err)
		return 1
	}
	return run(cfg, environ, logger, stdin, stdout, stderr)
}

// printStartupError prints one "execmcp: <message>" line per problem.
func printStartupError(w io.Writer, err error) {
	var se *startupError
	if errors.As(err, &se) {
		for _, line := range se.problems {
			fmt.Fprintf(w, "execmcp: %s\n", line)
		}
		return
	}
	fmt.Fprintf(w, "execmcp: %v\n", err)
}

// run serves MCP with the resolved configuration: over HTTP with --listen, else over stdio.
func run(cfg config, environ []string, logger *slog.Logger, stdin io.Reader, stdout, stderr io.Writer) int {
	toolSet, warnings := policy.Tools(cfg.ToolsAllow, cfg.ToolsDeny)
	for _, w := range warnings {
		logger.Warn(w)
	}
	if !toolSet.Exec && !toolSet.Process {
		logger.Warn("tool policy denies every tool; the server has no tools")
	}
	t, err := tools.New(tools.Options{
		Version: buildVersion(),
		Sessions: sessions.Options{
			MaxOutputChars:  cfg.MaxOutputChars,
			PendingMaxChars: cfg.PendingMaxChars,
			KillGrace:       cfg.KillGrace,
			TTL:             cfg.TTL,
			SweepInterval:   cfg.SweepInterval,
			Logger:          logger,
		},
		Tools:                    toolSet,
		YieldMs:                  cfg.YieldMs,
		TimeoutSec:               cfg.TimeoutSec,
		Cwd:                      cfg.Cwd,
		Environ:                  environ,
		Home:                     environMap(environ)["HOME"],
		Shell:                    cfg.Shell,
		PathPrepend:              cfg.PathPrepend,
		NotifyOnExit:             cfg.NotifyOnExit,
		NotifyOnExitEmptySuccess: cfg.NotifyOnExitEmptySuccess,
		Security:                 cfg.Security,
		Allowlist:                cfg.Allowlist,
		Sandbox:                  cfg.Sandbox,
		SandboxNetwork:           cfg.SandboxNetwork,
		BwrapPath:                cfg.BwrapPath,
		Host:                     cfg.Host,
		ElevatedEnabled:          cfg.ElevatedEnabled,
		OrphanGrace:              cfg.OrphanGrace,
		Logger:                   logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "execmcp: %v\n", err)
		return 1
	}
	if cfg.StatsInterval > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		var stats sync.WaitGroup
		stats.Go(func() { logStats(ctx, logger, cfg.StatsInterval) })
		defer stats.Wait()
		defer cancel()
	}
	if cfg.Listen != "" {
		return serveHTTP(t, cfg, logger, stderr)
	}
	return serveStdio(t, cfg, logger, stdin, stdout)
}

// logStats logs the server's own resource use every interval until ctx ends, so that an operator (or the soak
// test, which has no other view of the goroutine count) can see a leak without attaching a profiler.
func logStats(ctx context.Context, logger *slog.Logger, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fds := -1 // unknown where /proc is missing
		if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
			fds = len(ents)
		}
		logger.Info("stats", "goroutines", runtime.NumGoroutine(), "heapInuseBytes", ms.HeapInuse,
			"sysBytes", ms.Sys, "fds", fds)
	}
}

// closeTools terminates every process group (Tools.Close, bounded by the kill grace + 5 s) and returns status;
// a signal arriving meanwhile kills every group at once and makes the exit status 1.
func closeTools(t *tools.Tools, cfg config, logger *slog.Logger, sigs <-chan os.Signal, status int) int {
	closeCtx, closeCancel := context.WithTimeout(context.Background(), cfg.KillGrace+5*time.Second)
	defer closeCancel()
	closed := make(chan error, 1)
	go func() { closed <- t.Close(closeCtx) }()
	select {
	case err := <-closed:
		if err != nil {
			logger.Warn("shutdown incomplete", "err", err)
		}
		return status
	case <-sigs:
		t.KillAll()
		return 1
	}
}

// serveStdio serves MCP on stdin/stdout until stdin ends or a signal arrives, then shuts down
// (registry.md §9): stop reading, let in-flight handlers see cancellation, terminate every process group.
// A second signal during shutdown kills every group at once and exits 1.
func serveStdio(t *tools.Tools, cfg config, logger *slog.Logger, stdin io.Reader, stdout io.Writer) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	srv := server.NewStdioServer(t.MCPServer())
	server.WithErrorLogger(slog.NewLogLogger(logger.Handler(), slog.LevelError))(srv)
	server.WithWorkerPoolSize(cfg.StdioWorkers)(srv)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	listened := make(chan error, 1)
	go func() { listened <- srv.Listen(ctx, stdin, stdout) }()

	select {
	case err := <-listened:
		if err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("stdio transport failed", "err", err)
		}
		logger.Info("stdin closed; shutting down")
	case sig := <-sigs:
		logger.Info("signal received; shutting down", "signal", sig.String())
		cancel()
		select {
		case <-listened:
		case <-time.After(2 * time.Second):
			logger.Warn("stdio transport did not stop in time")
		case <-sigs:
			t.KillAll()
			return 1
		}
	}
	cancel()

	return closeTools(t, cfg, logger, sigs, 0)
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP transports (mcp.md §4.2-§4.4, §5)

// HTTP server limits (mcp.md §4.4).
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpIdleTimeout       = 120 * time.Second
	httpMaxHeaderBytes    = 65536
	httpMaxBodyBytes      = 8 << 20
	httpShutdownLimit     = 2000 * time.Millisecond
	httpHeartbeat         = 20 * time.Second
	httpSessionIdleTTL    = 10 * time.Minute
	minTokenChars         = 16
)

// agentIDPattern is the syntax of an agent id in the tokens file (mcp.md §5.2). It is compiled on first use: the
// bounded repetition makes it a costly one (≈ 0.25 ms and 860 allocations at package initialisation, measured
// with GODEBUG=inittrace=1), which every start paid while only a server with a tokens file needs it.
var agentIDPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
})

// authToken is one accepted bearer token; agent is its agent id ("" for the shared token).
type authToken struct {
	token, agent string
}

// resolveHTTP checks the listen address and resolves the tokens (mcp.md §5.1, §5.2). The tokens file is read
// only in HTTP mode.
func (l *loader) resolveHTTP(cfg *config, listenName string) {
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		l.invalid(listenName, cfg.Listen, "a host:port address")
		return
	}
	if cfg.AuthToken != "" {
		if strings.IndexFunc(cfg.AuthToken, unicode.IsSpace) >= 0 {
			l.fail("EXECMCP_AUTH_TOKEN must not contain whitespace") // the value is a secret: never printed
		} else {
			if utf8.RuneCountInString(cfg.AuthToken) < minTokenChars {
				l.logger.Warn("auth token shorter than 16 chars", "source", "EXECMCP_AUTH_TOKEN")
			}
			cfg.Tokens = append(cfg.Tokens, authToken{token: cfg.AuthToken})
		}
	}
	if cfg.AuthTokensFile != "" {
		tokens, problem := l.readTokensFile(cfg.AuthTokensFile, cfg.AuthToken)
		if problem != "" {
			l.fail("tokens file %s: %s", cfg.AuthTokensFile, problem)
		}
		cfg.Tokens = append(cfg.Tokens, tokens...)
	}
	if !isLoopbackHost(host) && cfg.AuthToken == "" && cfg.AuthTokensFile == "" {
		l.fail("refusing to listen on %s without authentication: set EXECMCP_AUTH_TOKEN or EXECMCP_AUTH_TOKENS_FILE", cfg.Listen)
	}
}

// readTokensFile reads the tokens file p (relative to the server's cwd) and returns its tokens or the problem.
// It warns when the file's mode allows group or other access and for tokens shorter than 16 chars.
func (l *loader) readTokensFile(p, shared string) ([]authToken, string) {
	data, problem := l.readFile(p)
	if problem != "" {
		return nil, problem
	}
	tokens, problem := parseTokens(data, shared)
	if problem != "" {
		return nil, problem
	}
	if fi, err := os.Stat(l.serverPath(p)); err == nil && fi.Mode().Perm()&0o077 != 0 {
		l.logger.Warn("tokens file is accessible by group or others", "file", p, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
	for _, tk := range tokens {
		if utf8.RuneCountInString(tk.token) < minTokenChars {
			l.logger.Warn("auth token shorter than 16 chars", "source", p, "agent", tk.agent)
		}
	}
	return tokens, ""
}

// parseTokens decodes a tokens file: a JSON object mapping token -> agent id, checked in file order. Problems
// name entries by their 1-based position and never contain a token.
func parseTokens(data []byte, shared string) ([]authToken, string) {
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		return nil, "invalid JSON: " + err.Error()
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	first, _ := dec.Token()
	if d, ok := first.(json.Delim); !ok || d != '{' {
		return nil, "expected an object mapping tokens to agent ids, got " + gotText(first)
	}
	var tokens []authToken
	seen := map[string]bool{}
	for n := 1; dec.More(); n++ {
		keyTok, _ := dec.Token()
		token, _ := keyTok.(string)
		valTok, _ := dec.Token()
		agent, isString := valTok.(string)
		switch {
		case token == "":
			return nil, fmt.Sprintf("entry %d: empty token", n)
		case strings.IndexFunc(token, unicode.IsSpace) >= 0:
			return nil, fmt.Sprintf("entry %d: token contains whitespace", n)
		case seen[token]:
			return nil, fmt.Sprintf("entry %d: duplicate token", n)
		case shared != "" && token == shared:
			return nil, fmt.Sprintf("entry %d: token is also EXECMCP_AUTH_TOKEN", n)
		case !isString:
			return nil, fmt.Sprintf("entry %d: agent id: expected a string, got %s", n, gotText(valTok))
		case !agentIDPattern().MatchString(agent):
			return nil, fmt.Sprintf("entry %d: agent id %q does not match %s", n, agent, agentIDPattern().String())
		}
		seen[token] = true
		tokens = append(tokens, authToken{token: token, agent: agent})
	}
	if len(tokens) == 0 {
		return nil, "no tokens"
	}
	return tokens, ""
}

// isLoopbackHost reports whether the host part of a listen address (or an Origin's host) is loopback:
// localhost, 127.0.0.0/8 or ::1 (mcp.md §5.1).
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// httpFront is the request pipeline in front of mcp-go: body limit, authentication, Origin check (mcp.md §4.4,
// §5.3). It stores the request's principal in the request context (tools.WithPrincipal).
type httpFront struct {
	tokens   []tokenDigest
	loopback bool
	logger   *slog.Logger
}

// tokenDigest is a configured token as a SHA-256 digest, so that comparisons take the same time whatever
// the lengths.
type tokenDigest struct {
	sum   [sha256.Size]byte
	agent string
}

func newHTTPFront(tokens []authToken, loopback bool, logger *slog.Logger) *httpFront {
	f := &httpFront{loopback: loopback, logger: logger}
	for _, tk := range tokens {
		f.tokens = append(f.tokens, tokenDigest{sum: sha256.Sum256([]byte(tk.token)), agent: tk.agent})
	}
	return f
}

// wrap puts the pipeline in front of next.
func (f *httpFront) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// 1. Body limit.
		if r.ContentLength > httpMaxBodyBytes {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, httpMaxBodyBytes)
		}
		// 2. Authentication.
		agent, ok := f.authenticate(w, r)
		if !ok {
			return
		}
		// 3. Origin.
		if origin := r.Header.Get("Origin"); f.loopback && origin != "" && !loopbackOrigin(origin) {
			http.Error(w, fmt.Sprintf("Forbidden: invalid Origin header %q", origin), http.StatusForbidden)
			return
		}
		// A body of unknown length is read here, so that one over the limit is answered 413 rather than as
		// a JSON-RPC parse error.
		if r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				} else {
					http.Error(w, "cannot read the request body", http.StatusBadRequest)
				}
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		// 4. mcp-go (with its Host check).
		next.ServeHTTP(w, r.WithContext(tools.WithPrincipal(r.Context(), agent)))
	})
}

// authenticate checks the bearer token when tokens are configured and answers 401 when it is missing or
// wrong. It returns the token's agent id.
func (f *httpFront) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	if len(f.tokens) == 0 {
		return "", true
	}
	reason := "missing bearer token"
	if scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " "); found && strings.EqualFold(scheme, "Bearer") {
		if token = strings.TrimSpace(token); token != "" {
			sum := sha256.Sum256([]byte(token))
			match := -1
			for i := range f.tokens { // every token is compared, whatever matches
				if subtle.ConstantTimeCompare(sum[:], f.tokens[i].sum[:]) == 1 {
					match = i
				}
			}
			if match >= 0 {
				return f.tokens[match].agent, true
			}
			reason = "invalid bearer token"
		}
	}
	f.logger.Warn("unauthorized request", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "reason", reason)
	w.Header().Set("WWW-Authenticate", `Bearer realm="execmcp"`)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = io.WriteString(w, "unauthorized\n")
	return "", false
}

// loopbackOrigin reports whether an Origin header names a loopback host (any scheme and port).
func loopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return isLoopbackHost(u.Hostname())
}

// principalContext is the context function of both transports: the principal the front end stored in the
// request context (tools.WithPrincipal) is the request's.
func principalContext(ctx context.Context, r *http.Request) context.Context {
	return tools.WithPrincipal(ctx, tools.PrincipalFromContext(r.Context()))
}

// httpTransports are the two MCP transports on one mux.
type httpTransports struct {
	handler    http.Handler
	streamable *server.StreamableHTTPServer
	sse        *server.SSEServer
}

// newHTTPTransports builds the mux: /mcp (Streamable HTTP), /sse + /message (SSE), everything else 404.
func newHTTPTransports(t *tools.Tools, cfg config, logger *slog.Logger) *httpTransports {
	host, _, _ := net.SplitHostPort(cfg.Listen)
	front := newHTTPFront(cfg.Tokens, isLoopbackHost(host), logger)
	s := t.MCPServer()
	streamable := server.NewStreamableHTTPServer(s,
		server.WithEndpointPath("/mcp"),
		server.WithStateful(true),
		server.WithStreamableHTTPProtocolVersions(mcp.LegacyProtocolVersions()...),
		server.WithHeartbeatInterval(httpHeartbeat),
		server.WithSessionIdleTTL(httpSessionIdleTTL),
		server.WithHTTPContextFunc(principalContext),
		server.WithStreamableHTTPLogger(logger),
	)
	sse := server.NewSSEServer(s,
		server.WithSSEEndpoint("/sse"),
		server.WithMessageEndpoint("/message"),
		server.WithUseFullURLForMessageEndpoint(false),
		server.WithKeepAliveInterval(httpHeartbeat),
		server.WithSSEContextFunc(principalContext),
	)
	mux := http.NewServeMux()
	mux.Handle("/mcp", front.wrap(requireLiveSession(t, streamable)))
	mux.Handle("/sse", front.wrap(sse.SSEHandler()))
	mux.Handle("/message", front.wrap(sse.MessageHandler()))
	return &httpTransports{handler: mux, streamable: streamable, sse: sse}
}

// requireLiveSession answers 404 to a GET /mcp whose Mcp-Session-Id is not a live session (unknown, deleted or
// swept), as POST already does in stateful mode, so the client re-initializes instead of listening on a stream
// that belongs to no session.
func requireLiveSession(t *tools.Tools, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("Mcp-Session-Id"); r.Method == http.MethodGet && id != "" && !t.LiveSession(id) {
			http.Error(w, "session not found", http.StatusNotFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// closeSessions closes every MCP session of both transports (their hooks unregister them) and stops the
// Streamable HTTP idle sweeper.
func (h *httpTransports) closeSessions(ctx context.Context) {
	_ = h.streamable.Shutdown(ctx) // not started with Start: closes the sessions and stops the sweeper only
	h.sse.CloseSessions()
}

// serveHTTP serves MCP over HTTP until a signal arrives or the listener fails, then shuts down (registry.md
// §9): cancel the base context, close the MCP sessions, shut the HTTP server down (at most 2000 ms), terminate
// every process group. A second signal during shutdown kills every group at once and exits 1.
func serveHTTP(t *tools.Tools, cfg config, logger *slog.Logger, stderr io.Writer) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "execmcp: %v\n", err)
		closeCtx, cancel := context.WithTimeout(context.Background(), cfg.KillGrace+5*time.Second)
		defer cancel()
		_ = t.Close(closeCtx)
		return 1
	}
	transports := newHTTPTransports(t, cfg, logger)
	baseCtx, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler:           transports.handler,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	addr := ln.Addr().String()
	logger.Info("listening", "addr", addr, "mcp", "http://"+addr+"/mcp", "sse", "http://"+addr+"/sse")
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	status := 0
	select {
	case err := <-served:
		logger.Error("HTTP listener failed; shutting down", "err", err)
		status = 1
	case sig := <-sigs:
		logger.Info("signal received; shutting down", "signal", sig.String())
	}

	t.BeginShutdown()
	cancelBase()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		ctx, cancel := context.WithTimeout(context.Background(), httpShutdownLimit)
		defer cancel()
		transports.closeSessions(ctx)
		if err := srv.Shutdown(ctx); err != nil {
			logger.Warn("HTTP server did not stop in time", "err", err)
			_ = srv.Close()
		}
	}()
	select {
	case <-stopped:
	case <-sigs:
		t.KillAll()
		return 1
	}

	return closeTools(t, cfg, logger, sigs, status)
}

// ---------------------------------------------------------------------------------------------------------------
// Configuration loading (mcp.md §3)

// startupError carries every startup problem, one message each (without the "execmcp: " prefix).
type startupError struct{ problems []string }

func (e *startupError) Error() string { return strings.Join(e.problems, "\n") }

// envVars are the environment variables of mcp.md §3.2, read as raw strings by caarlos0/env (an empty value is
// unset). They are converted and validated by loadConfig so that every message is exact.
type envVars struct {
	YieldMs                  string `env:"PI_BASH_YIELD_MS"`
	TimeoutSec               string `env:"EXECMCP_TIMEOUT_SEC"`
	JobTTLMs                 string `env:"PI_BASH_JOB_TTL_MS"`
	SweeperIntervalMs        string `env:"PI_BASH_SWEEPER_INTERVAL_MS"`
	MaxOutputChars           string `env:"PI_BASH_MAX_OUTPUT_CHARS"`
	PendingMaxOutputChars    string `env:"OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS"`
	NotifyOnExit             string `env:"EXECMCP_NOTIFY_ON_EXIT"`
	NotifyOnExitEmptySuccess string `env:"EXECMCP_NOTIFY_ON_EXIT_EMPTY_SUCCESS"`
	PathPrepend              string `env:"EXECMCP_PATH_PREPEND"`
	Security                 string `env:"EXECMCP_SECURITY"`
	Allowlist                string `env:"EXECMCP_ALLOWLIST"`
	Sandbox                  string `env:"EXECMCP_SANDBOX"`
	SandboxNetwork           string `env:"EXECMCP_SANDBOX_NETWORK"`
	Host                     string `env:"EXECMCP_HOST"`
	Cwd                      string `env:"EXECMCP_CWD"`
	KillGraceMs              string `env:"EXECMCP_KILL_GRACE_MS"`
	ElevatedEnabled          string `env:"EXECMCP_ELEVATED_ENABLED"`
	ToolsAllow               string `env:"EXECMCP_TOOLS_ALLOW"`
	ToolsDeny                string `env:"EXECMCP_TOOLS_DENY"`
	Listen                   string `env:"EXECMCP_LISTEN"`
	Config                   string `env:"EXECMCP_CONFIG"`
	AuthToken                string `env:"EXECMCP_AUTH_TOKEN"`
	AuthTokensFile           string `env:"EXECMCP_AUTH_TOKENS_FILE"`
	OrphanGrace              string `env:"EXECMCP_ORPHAN_GRACE"`
	LogLevel                 string `env:"EXECMCP_LOG_LEVEL"`
	StdioWorkers             string `env:"EXECMCP_STDIO_WORKERS"`
	StatsIntervalMs          string `env:"EXECMCP_STATS_INTERVAL_MS"`

	// Not settings, but read by the server (mcp.md §3.2 last paragraph).
	Shell string `env:"SHELL"`
	Path  string `env:"PATH"`
	Home  string `env:"HOME"`
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
	home    string
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

// resolveDir applies the cwd rules (exec.md §7): "~" expanded with HOME, relative to the server's cwd, cleaned,
// must be an existing directory. ok is false when it is not.
func (l *loader) resolveDir(p string) (string, bool) {
	if l.home != "" {
		if p == "~" {
			p = l.home
		} else if rest, ok := strings.CutPrefix(p, "~/"); ok {
			p = filepath.Join(l.home, rest)
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

// --- environment conversions ---

func (l *loader) envInt(name, raw string) setting[int64] {
	if raw == "" {
		return setting[int64]{}
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // out of int64 range: clamped like any other big value
		l.invalid(name, raw, "an integer")
		return setting[int64]{}
	}
	return setting[int64]{set: true, v: v, name: name, raw: raw}
}

func (l *loader) envBool(name, raw string) setting[bool] {
	if raw == "" {
		return setting[bool]{}
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		l.invalid(name, raw, "a boolean")
		return setting[bool]{}
	}
	return setting[bool]{set: true, v: v, name: name, raw: raw}
}

func (l *loader) envEnum(name, raw string, allowed []string) setting[string] {
	if raw == "" {
		return setting[string]{}
	}
	if !slices.Contains(allowed, raw) {
		l.invalid(name, raw, "one of "+strings.Join(allowed, ", "))
		return setting[string]{}
	}
	return setting[string]{set: true, v: raw, name: name, raw: raw}
}

func (l *loader) envList(name, raw, sep string) setting[[]string] {
	if raw == "" {
		return setting[[]string]{}
	}
	return setting[[]string]{set: true, v: cleanList(strings.Split(raw, sep)), name: name, raw: raw}
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
// given), the environment and the config file. It builds the logger (stderr, text handler, EXECMCP_LOG_LEVEL)
// first and logs clamp warnings on it. Every problem is reported in the returned *startupError.
func loadConfig(listen, configPath string, environ []string, getwd func() (string, error), stderr io.Writer) (config, *slog.Logger, error) {
	envMap := environMap(environ)
	var ev envVars
	if err := env.ParseWithOptions(&ev, env.Options{Environment: envMap}); err != nil {
		return config{}, nil, &startupError{problems: []string{err.Error()}}
	}

	l := &loader{getwd: getwd, home: ev.Home}

	// The logger first, so that every later warning honours the level.
	level := slog.LevelInfo
	levelSet := l.envEnum("EXECMCP_LOG_LEVEL", ev.LogLevel, logLevels)
	if levelSet.set {
		_ = level.UnmarshalText([]byte(levelSet.v))
	}
	l.logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	logErrs := l.errs
	l.errs = nil

	// Environment variables, in the order of the mcp.md §3.2 table; every bad one is reported.
	eYield := l.envInt("PI_BASH_YIELD_MS", ev.YieldMs)
	var eTimeout setting[float64]
	if raw := ev.TimeoutSec; raw != "" {
		f, err := strconv.ParseFloat(raw, 64)
		switch {
		case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
			l.invalid("EXECMCP_TIMEOUT_SEC", raw, "a number")
		case f < 0:
			l.invalid("EXECMCP_TIMEOUT_SEC", raw, "a number of 0 or more")
		default:
			eTimeout = setting[float64]{set: true, v: f, name: "EXECMCP_TIMEOUT_SEC", raw: raw}
		}
	}
	eTTL := l.envInt("PI_BASH_JOB_TTL_MS", ev.JobTTLMs)
	eSweep := l.envInt("PI_BASH_SWEEPER_INTERVAL_MS", ev.SweeperIntervalMs)
	eMaxOut := l.envInt("PI_BASH_MAX_OUTPUT_CHARS", ev.MaxOutputChars)
	ePending := l.envInt("OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS", ev.PendingMaxOutputChars)
	eNotify := l.envBool("EXECMCP_NOTIFY_ON_EXIT", ev.NotifyOnExit)
	eNotifyEmpty := l.envBool("EXECMCP_NOTIFY_ON_EXIT_EMPTY_SUCCESS", ev.NotifyOnExitEmptySuccess)
	ePathPrepend := l.envList("EXECMCP_PATH_PREPEND", ev.PathPrepend, ":")
	eSecurity := l.envEnum("EXECMCP_SECURITY", ev.Security, securityModes)
	eAllowlist := l.envList("EXECMCP_ALLOWLIST", ev.Allowlist, ",")
	eSandbox := l.envEnum("EXECMCP_SANDBOX", ev.Sandbox, sandboxModes)
	eSandboxNet := l.envBool("EXECMCP_SANDBOX_NETWORK", ev.SandboxNetwork)
	eHost := l.envEnum("EXECMCP_HOST", ev.Host, hostModes)
	var eCwd setting[string]
	if raw := ev.Cwd; raw != "" {
		if dir, ok := l.resolveDir(raw); ok {
			eCwd = setting[string]{set: true, v: dir, name: "EXECMCP_CWD", raw: raw}
		} else {
			l.invalid("EXECMCP_CWD", raw, "an existing directory")
		}
	}
	eKillGrace := l.envInt("EXECMCP_KILL_GRACE_MS", ev.KillGraceMs)
	eElevated := l.envBool("EXECMCP_ELEVATED_ENABLED", ev.ElevatedEnabled)
	eToolsAllow := l.envList("EXECMCP_TOOLS_ALLOW", ev.ToolsAllow, ",")
	eToolsDeny := l.envList("EXECMCP_TOOLS_DENY", ev.ToolsDeny, ",")
	var eOrphan setting[time.Duration]
	if raw := ev.OrphanGrace; raw != "" {
		if d, err := time.ParseDuration(raw); err != nil {
			l.invalid("EXECMCP_ORPHAN_GRACE", raw, "a duration")
		} else {
			eOrphan = setting[time.Duration]{set: true, v: d, name: "EXECMCP_ORPHAN_GRACE", raw: raw}
		}
	}
	l.errs = append(l.errs, logErrs...) // EXECMCP_LOG_LEVEL keeps its place in the table order
	eWorkers := l.envInt("EXECMCP_STDIO_WORKERS", ev.StdioWorkers)
	eStats := l.envInt("EXECMCP_STATS_INTERVAL_MS", ev.StatsIntervalMs)

	// The config file: a flag wins over its variable; empty counts as unset.
	listenName := "--listen"
	if listen == "" {
		listen = ev.Listen
		listenName = "EXECMCP_LISTEN"
	}
	if configPath == "" {
		configPath = ev.Config
	}
	var fc fileConfig
	if configPath != "" {
		if problem := l.readConfigFile(configPath, &fc); problem != "" {
			l.fail("config %s: %s", configPath, problem)
		}
	}
	if len(l.errs) > 0 {
		return config{}, nil, &startupError{problems: l.errs}
	}

	cfg := config{
		Listen:         listen,
		ConfigPath:     configPath,
		AuthToken:      ev.AuthToken,
		AuthTokensFile: ev.AuthTokensFile,
		LogLevel:       level,
	}
	cfg.YieldMs = int(l.pickInt(defaultYieldMs, minYieldMs, maxYieldMs, fc.backgroundMs, eYield))
	cfg.TimeoutSec = defaultTimeoutSec
	if s := first(fc.timeoutSec, eTimeout); s.set {
		cfg.TimeoutSec = s.v
		if s.v > maxTimeoutSec {
			cfg.TimeoutSec = maxTimeoutSec
			l.clamped(s.name, s.raw, formatFloat(cfg.TimeoutSec))
		}
	}
	ttlMs := l.pickInt(defaultTTLMs, minTTLMs, maxTTLMs, fc.cleanupMs, eTTL)
	cfg.TTL = time.Duration(ttlMs) * time.Millisecond
	cfg.SweepInterval = time.Duration(l.pickInt(max(minDefaultSweepMs, ttlMs/6), minSweepMs, maxSweepMs, eSweep)) * time.Millisecond
	cfg.MaxOutputChars = int(l.pickInt(defaultMaxOutputChars, minOutputChars, maxOutputChars, eMaxOut))
	cfg.PendingMaxChars = int(l.pickInt(defaultPendingMaxChars, minOutputChars, maxOutputChars, ePending))
	if cfg.PendingMaxChars > cfg.MaxOutputChars {
		if ePending.set {
			l.clamped(ePending.name, ePending.raw, cfg.MaxOutputChars)
		}
		cfg.PendingMaxChars = cfg.MaxOutputChars
	}
	cfg.NotifyOnExit = pickBool(true, fc.notifyOnExit, eNotify)
	cfg.NotifyOnExitEmptySuccess = pickBool(false, fc.notifyOnExitEmptySuccess, eNotifyEmpty)
	cfg.PathPrepend = dedupe(pickList(fc.pathPrepend, ePathPrepend))
	cfg.Security = pickString("full", fc.security, eSecurity)
	cfg.Allowlist = pickList(fc.allowlist, eAllowlist)
	sandbox := first(fc.sandbox, eSandbox)
	cfg.Sandbox = pickString("none", sandbox)
	cfg.SandboxNetwork = pickBool(false, fc.sandboxNetwork, eSandboxNet)
	host := first(fc.host, eHost)
	cfg.Host = pickString("auto", host)
	cfg.KillGrace = time.Duration(l.pickInt(defaultKillGraceMs, minKillGraceMs, maxKillGraceMs, fc.killGraceMs, eKillGrace)) * time.Millisecond
	cfg.ElevatedEnabled = pickBool(false, fc.elevatedEnabled, eElevated)
	cfg.ToolsAllow = pickList(fc.toolsAllow, eToolsAllow)
	cfg.ToolsDeny = pickList(fc.toolsDeny, eToolsDeny)
	cfg.OrphanGrace = defaultOrphanGrace
	if eOrphan.set {
		cfg.OrphanGrace = min(max(eOrphan.v, 0), maxOrphanGrace)
		if cfg.OrphanGrace != eOrphan.v {
			l.clamped(eOrphan.name, eOrphan.raw, cfg.OrphanGrace.String())
		}
	}
	cfg.StdioWorkers = int(l.pickInt(defaultStdioWorkers, minStdioWorkers, maxStdioWorkers, eWorkers))
	if eStats.set && eStats.v > 0 { // 0 or less: no stats line
		cfg.StatsInterval = time.Duration(l.pickInt(0, minStatsIntervalMs, maxStatsIntervalMs, eStats)) * time.Millisecond
	}
	cfg.Shell = selectShell(ev.Shell, ev.Path)

	if s := first(fc.cwd, eCwd); s.set {
		cfg.Cwd = s.v
	} else {
		wd, err := l.serverWd()
		if err != nil {
			l.fail("cannot determine the working directory: %v", err)
		} else {
			cfg.Cwd = filepath.Clean(wd)
		}
	}

	// Cross-field check (mcp.md §3.3), then the allowlist entries (policy.md §3.1 step 6).
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
		return config{}, nil, &startupError{problems: l.errs}
	}
	return cfg, l.logger, nil
}

// ---------------------------------------------------------------------------------------------------------------
// Config file (mcp.md §3.3)

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
	cwd                      setting[string]
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

// schemaNode describes one key of the config file. apply stores a checked leaf value; it returns a problem text
// (without the "config <file>: " prefix) or "".
type schemaNode struct {
	kind     jsonKind
	children map[string]*schemaNode
	apply    func(path string, v any) string
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
		return &schemaNode{kind: kindStrings, apply: func(path string, v any) string {
			*dst = setting[[]string]{set: true, v: cleanList(v.([]string)), name: path}
			return ""
		}}
	}
	integer := func(dst *setting[int64]) *schemaNode {
		return &schemaNode{kind: kindInteger, apply: func(path string, v any) string {
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
			return ""
		}}
	}
	boolean := func(dst *setting[bool]) *schemaNode {
		return &schemaNode{kind: kindBool, apply: func(path string, v any) string {
			*dst = setting[bool]{set: true, v: v.(bool), name: path}
			return ""
		}}
	}
	enum := func(dst *setting[string], allowed []string) *schemaNode {
		return &schemaNode{kind: kindString, apply: func(path string, v any) string {
			s := v.(string)
			if path == "tools.exec.host" && s == "node" {
				return `tools.exec.host: "node" is not supported (node hosts are out of scope)`
			}
			if !slices.Contains(allowed, s) {
				return fmt.Sprintf("%s: %q is not one of %s", path, s, strings.Join(allowed, ", "))
			}
			*dst = setting[string]{set: true, v: s, name: path, raw: s}
			return ""
		}}
	}
	timeout := &schemaNode{kind: kindNumber, apply: func(path string, v any) string {
		n := v.(json.Number)
		f, _ := strconv.ParseFloat(n.String(), 64)
		if f < 0 {
			return path + ": must be 0 or more"
		}
		fc.timeoutSec = setting[float64]{set: true, v: f, name: path, raw: n.String()}
		return ""
	}}
	cwd := &schemaNode{kind: kindString, apply: func(path string, v any) string {
		s := v.(string)
		dir, ok := l.resolveDir(s)
		if !ok {
			return fmt.Sprintf("%s: %q is not an existing directory", path, s)
		}
		fc.cwd = setting[string]{set: true, v: dir, name: path, raw: s}
		return ""
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
				"cwd":                      cwd,
				"killGraceMs":              integer(&fc.killGraceMs),
			}},
			"elevated": {kind: kindObject, children: map[string]*schemaNode{
				"enabled": boolean(&fc.elevatedEnabled),
			}},
		}},
	}}
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

// readFile reads p (relative to the server's cwd); the problem is the OS error without the path, which the
// caller's message already names.
func (l *loader) readFile(p string) ([]byte, string) {
	data, err := os.ReadFile(l.serverPath(p))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, err.Error()
	}
	return data, ""
}

// readConfigFile reads, decodes and checks the config file. It returns the first problem ("" = none); keys are
// visited in sorted order so that the reported problem is deterministic.
func (l *loader) readConfigFile(p string, fc *fileConfig) string {
	data, problem := l.readFile(p)
	if problem != "" {
		return problem
	}
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil { // full syntax check, incl. trailing data
		return "invalid JSON: " + err.Error()
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return "invalid JSON: " + err.Error()
	}
	return walkConfig("", root, l.configSchema(fc))
}

func walkConfig(path string, v any, node *schemaNode) string {
	mismatch := func() string {
		msg := fmt.Sprintf("expected %s, got %s", expectedText[node.kind], gotText(v))
		if path == "" {
			return msg
		}
		return path + ": " + msg
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
				return fmt.Sprintf("unknown key %q", sub)
			}
			if problem := walkConfig(sub, obj[k], child); problem != "" {
				return problem
			}
		}
		return ""
	case kindStrings:
		arr, ok := v.([]any)
		if !ok {
			return mismatch()
		}
		strs := make([]string, len(arr))
		for i, item := range arr {
			s, ok := item.(string)
			if !ok {
				return fmt.Sprintf("%s[%d]: expected a string, got %s", path, i, gotText(item))
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
	return ""
}

// ---------------------------------------------------------------------------------------------------------------
// Shell selection (exec.md §9)

// selectShell chooses the shell from the server's SHELL and PATH.
func selectShell(shellVar, pathVar string) string {
	shell := strings.TrimSpace(shellVar)
	if shell == "" {
		return "/bin/sh"
	}
	if !strings.Contains(shell, "/") {
		if found := lookPath(shell, pathVar); found != "" {
			shell = found
		}
	}
	if filepath.Base(shell) == "fish" {
		for _, alt := range []string{"bash", "sh"} {
			if found := lookPath(alt, pathVar); found != "" {
				return found
			}
		}
	}
	return shell
}

// lookPath finds an executable regular file named name in the directories of pathVar ("" if none).
func lookPath(name, pathVar string) string {
	for _, dir := range filepath.SplitList(pathVar) {
		if dir == "" {
			continue // an empty entry would mean the current directory; never search it
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// ---------------------------------------------------------------------------------------------------------------
// Startup checks of the policy settings (policy.md §3.1 step 6, §5): allowlist entries and the bubblewrap
// sandbox. The sandbox probe is the only program the server runs before it serves.

// sandboxProbeTimeout bounds the startup probe of bubblewrap (policy.md §5); a variable for tests.
var sandboxProbeTimeout = 5000 * time.Millisecond

// allowlistEntries trims the allowlist entries, drops empty ones, expands ~ in path globs (entries with a /)
// and reports entries that are not a name or an absolute path glob (policy.md §3.1 step 6).
func (l *loader) allowlistEntries(entries []string) []string {
	var out []string
	for _, given := range entries {
		e := strings.TrimSpace(given)
		if e == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(e, "~/"); ok && l.home != "" {
			e = filepath.Join(l.home, rest) // ~user is never expanded
		}
		if err := policy.CheckAllowlistEntry(given, e); err != nil {
			l.fail("%v", err)
			continue
		}
		out = append(out, e)
	}
	return out
}

// checkPolicyStartup runs the startup checks that need the outside world: with tools.exec.sandbox "bwrap",
// bwrap must be on the server's PATH and a probe run must succeed within 5000 ms; cfg.BwrapPath is set. In
// allowlist mode a shell whose syntax is not bash's gets a warning, since commands are parsed as bash.
func checkPolicyStartup(cfg *config, environ []string, logger *slog.Logger) error {
	if cfg.Security == policy.SecurityAllowlist {
		switch filepath.Base(cfg.Shell) {
		case "sh", "bash", "dash", "ash":
		default:
			logger.Warn("tools.exec.allowlist parses commands as bash; this shell may read some of them differently",
				"shell", cfg.Shell)
		}
	}
	if cfg.Sandbox != policy.SandboxBwrap {
		return nil
	}
	bwrap := lookPath("bwrap", environMap(environ)["PATH"])
	if bwrap == "" {
		return errors.New(`tools.exec.sandbox is "bwrap" but bwrap was not found on PATH`)
	}
	if err := probeSandbox(bwrap, cfg.Shell, cfg.SandboxNetwork, policy.InheritedEnv(environ)); err != "" {
		return errors.New("bwrap does not work here: " + err)
	}
	cfg.BwrapPath = bwrap
	return nil
}

// probeSandbox runs `bwrap ... -- <shell> -c true` (policy.md §5) in its own session, killed with its group
// after the probe timeout. It returns "" on success, else the first line of bwrap's stderr or the error.
func probeSandbox(bwrap, shell string, network bool, env []string) string {
	ctx, cancel := context.WithTimeout(context.Background(), sandboxProbeTimeout)
	defer cancel()
	argv := policy.SandboxProbeArgs(bwrap, shell, network)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Sprintf("the probe did not finish within %d ms", sandboxProbeTimeout.Milliseconds())
	}
	if err == nil {
		return ""
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return err.Error()
}
