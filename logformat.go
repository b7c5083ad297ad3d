// This file owns the format of the server's own log lines on stderr (docs/reference.md#logs): slog's text
// handler (the default) or its JSON handler, one object per line.

package main

import (
	"fmt"
	"io"
	"log/slog"
)

// newLogger returns the server's logger on w: format "json" selects slog's JSON handler, anything else the text
// handler.
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// jsonLogs reports whether logger writes JSON lines.
func jsonLogs(logger *slog.Logger) bool {
	if logger == nil {
		return false
	}
	_, ok := logger.Handler().(*slog.JSONHandler)
	return ok
}

// routeStdLog sends what libraries write through the standard log package (mcp-go reports a few rare events
// there) to logger when it writes JSON, so that every line on stderr stays one JSON object. With text logs
// the standard logger is left alone.
func routeStdLog(logger *slog.Logger) {
	if jsonLogs(logger) {
		slog.SetDefault(logger) // the log package's default logger now writes through logger's handler
	}
}

// reportError writes one error the server stops on: a log record at level ERROR when logs are JSON, else the
// line "execmcp: <msg>".
func reportError(w io.Writer, logger *slog.Logger, msg string) {
	if jsonLogs(logger) {
		logger.Error(msg)
		return
	}
	fmt.Fprintf(w, "execmcp: %s\n", msg)
}
