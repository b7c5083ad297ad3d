// Command execmcp is an MCP server that gives an AI agent a shell through the exec and process tools.
//
// This file owns the command line (docs/reference.md#command-line), the entry points and the wiring of the
// resolved configuration into tools.New. The other files of package main each own one concern: config.go the
// settings and the environment, configfile.go the JSON config file, auth.go the bearer tokens, http.go the HTTP
// front end, health.go the probes and the graceful stop over HTTP, metrics.go the Prometheus metrics, logformat.go
// the log format, serve.go stdio serving and shutdown, sandbox.go the startup checks of the exec policy, guardian.go
// the guardian process and the server's cgroup.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"

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
		printStartupError(stderr, logger, err)
		return 1
	}
	routeStdLog(logger)
	if err := checkPolicyStartup(&cfg, environ, logger); err != nil {
		printStartupError(stderr, logger, err)
		return 1
	}
	return run(cfg, environ, logger, stdin, stdout, stderr)
}

// probeLogin reports whether the login shell's PATH is probed: EXECMCP_LOGIN_PATH is auto and some command can
// run on the host, which with the sandbox on takes the gateway host or elevated runs (docs/reference.md#login-path).
func probeLogin(cfg config) bool {
	if cfg.LoginPath != "auto" {
		return false
	}
	return cfg.Sandbox != "bwrap" || cfg.Host == "gateway" || cfg.ElevatedEnabled
}

// printStartupError reports each problem on its own line: "execmcp: <message>", or a JSON log record with
// JSON logs (reportError).
func printStartupError(w io.Writer, logger *slog.Logger, err error) {
	var se *startupError
	if errors.As(err, &se) {
		for _, line := range se.problems {
			reportError(w, logger, line)
		}
		return
	}
	reportError(w, logger, err.Error())
}

// logOptions configures the spill files (docs/reference.md#spill) and removes what killed servers left in the log
// directory. The registry creates its own subdirectory when a session first spills and removes it at shutdown.
func logOptions(cfg config, logger *slog.Logger) sessions.LogOptions {
	if cfg.LogMaxBytes == 0 {
		return sessions.LogOptions{} // spilling is off
	}
	removed, err := sessions.RemoveStaleLogDirs(cfg.LogDir)
	if err != nil {
		logger.Warn("log directory not cleaned up", "dir", cfg.LogDir, "err", err)
	}
	for _, dir := range removed {
		logger.Debug("removed the log directory of a server that is gone", "dir", dir)
	}
	return sessions.LogOptions{Dir: cfg.LogDir, MaxBytes: cfg.LogMaxBytes, TotalMaxBytes: cfg.LogTotalMaxBytes}
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
	var loginPath func(context.Context) []string
	if probeLogin(cfg) {
		lp := startLoginPath(loginShell(environMap(environ)["SHELL"]), policy.InheritedEnv(environ), logger)
		defer lp.stop()
		loginPath = lp.Dirs
	}
	cgroups := openCgroups(cfg, logger)
	g := startGuardian(cfg, cgroups, logger, stderr)
	t, err := tools.New(tools.Options{
		Version: buildVersion(),
		Sessions: sessions.Options{
			MaxOutputChars:  cfg.MaxOutputChars,
			PendingMaxChars: cfg.PendingMaxChars,
			KillGrace:       cfg.KillGrace,
			TTL:             cfg.TTL,
			SweepInterval:   cfg.SweepInterval,
			Logger:          logger,
			Log:             logOptions(cfg, logger),
			Guardian:        g,
			Cgroups:         cgroups,
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
		HiddenFiles:              sandboxHiddenFiles(cfg),
		Host:                     cfg.Host,
		Channel:                  cfg.Channel,
		ElevatedEnabled:          cfg.ElevatedEnabled,
		LoginPath:                loginPath,
		ScriptPreflight:          cfg.ScriptPreflight,
		OrphanGrace:              cfg.OrphanGrace,
		Logger:                   logger,
	})
	if err != nil {
		if g != nil {
			g.Close(true)
		}
		if cgroups != nil {
			_ = cgroups.Close()
		}
		reportError(stderr, logger, err.Error())
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
	return serveStdio(t, cfg, logger, stdin, stdout, stderr)
}
