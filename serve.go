// This file owns serving over stdio, the shutdown signals, the shutdown of the process groups and the periodic
// resource-use log line (docs/reference.md#stdio, docs/reference.md#shutdown).

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"golang.org/x/sys/unix"

	"github.com/execmcp/execmcp/tools"
)

// notifyShutdown delivers SIGINT, SIGTERM and SIGHUP on the returned channel until stop is called. Two fit in
// the buffer: the first starts the shutdown, the second one cuts it short.
func notifyShutdown() (sigs chan os.Signal, stop func()) {
	sigs = make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	return sigs, func() { signal.Stop(sigs) }
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

// isTerminal reports whether r is a file open on a terminal (a person typing, not an MCP client's pipe).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), ioctlReadTermios)
	return err == nil
}

// terminalHint is the one line printed to stderr when stdin is a terminal (docs/reference.md#stdio): a person
// who started the server by hand learns that it is running, what it expects and how to try it.
const terminalHint = "execmcp: serving MCP (JSON-RPC) on stdin/stdout for an MCP client; " +
	"to try it, run: npx -y @modelcontextprotocol/inspector --cli %s --method tools/list (Ctrl-D here quits)\n"

// serveStdio serves MCP on stdin/stdout until stdin ends or a signal arrives, then shuts down
// (docs/reference.md#shutdown): stop reading, let in-flight handlers see cancellation, terminate every process
// group. A second signal during shutdown kills every group at once and exits 1. Both ends are normal operation
// and logged at debug level only: a host forwards the server's stderr, and a line after its client is gone is noise
// at best.
func serveStdio(t *tools.Tools, cfg config, logger *slog.Logger, stdin io.Reader, stdout, stderr io.Writer) int {
	sigs, stop := notifyShutdown()
	defer stop()

	if isTerminal(stdin) {
		self, err := os.Executable()
		if err != nil {
			self = "execmcp"
		}
		fmt.Fprintf(stderr, terminalHint, self)
	}

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
		logger.Debug("stdin closed; shutting down")
	case sig := <-sigs:
		logger.Debug("signal received; shutting down", "signal", sig.String())
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
