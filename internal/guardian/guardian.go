// Package guardian turns the process into execmcp's guardian (docs/reference.md#guardian) when the server started
// it as one, before the packages that only the server needs are initialised.
//
// The server re-executes its own binary with TokenVar set to a random token and the read end of a pipe as
// descriptor 3, on which the first record repeats the token. Go runs every package's initialisation before main,
// and the server's packages cost about 6 ms of CPU and 8 MB of memory at every start (the JSON-schema validator
// that mcp-go imports compiles its metaschemas then): the guardian must be tiny and must not slow down the server
// it starts next to. Go initialises a package as soon as its imports are, in import-path order, so this package
// (which imports only the standard library and sessions) runs its init before those packages, and the guardian
// never returns from it. This is the one place outside package main that reads the environment and handles
// signals, for that reason.
package guardian

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/execmcp/execmcp/sessions"
)

// TokenVar is the environment variable that marks the guardian process; the server sets it for the guardian only.
const TokenVar = "EXECMCP_GUARDIAN_TOKEN"

// pipeFD is the descriptor of the guardian's end of the pipe (the server's first extra file).
const pipeFD = 3

// terminating are the signals the guardian ignores: it ends when the server does, never before.
var terminating = []os.Signal{syscall.SIGINT, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGPIPE}

func init() {
	token, ok := os.LookupEnv(TokenVar)
	if !ok {
		return
	}
	_ = os.Unsetenv(TokenVar)
	var st syscall.Stat_t
	if syscall.Fstat(pipeFD, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return // no pipe: not started by execmcp, whatever the environment says
	}
	// A blocking descriptor: the guardian's one thread sleeps in read(2) and wakes once per record.
	if syscall.SetNonblock(pipeFD, false) != nil {
		return
	}
	signal.Ignore(terminating...)
	dropExecutablePages()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("pid", os.Getpid())
	status, err := sessions.RunGuardian(os.NewFile(pipeFD, "guardian"), token, logger)
	if err != nil {
		signal.Reset(terminating...)
		return
	}
	os.Exit(status)
}
