// This file owns serving over stdio, the shutdown signals, the shutdown of the process groups and the periodic
// resource-use log line (docs/reference.md#stdio, docs/reference.md#shutdown).

package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/server"

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

// serveStdio serves MCP on stdin/stdout until stdin ends or a signal arrives, then shuts down
// (docs/reference.md#shutdown): stop reading, let in-flight handlers see cancellation, terminate every process
// group. A second signal during shutdown kills every group at once and exits 1.
func serveStdio(t *tools.Tools, cfg config, logger *slog.Logger, stdin io.Reader, stdout io.Writer) int {
	sigs, stop := notifyShutdown()
	defer stop()

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
