package sessions

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Reason is why the server terminated a session; the first recorded reason wins.
type Reason string

// Termination reasons (docs/reference.md#exec-kill).
const (
	ReasonNone     Reason = ""
	ReasonTimeout  Reason = "overall-timeout"
	ReasonCancel   Reason = "manual-cancel"
	ReasonShutdown Reason = "shutdown"
	ReasonOrphaned Reason = "orphaned"
)

// StdinMode selects the standard input of a non-PTY child (and of a PTY fallback).
type StdinMode int

const (
	// StdinNull connects /dev/null: reads see end-of-file at once. It is the zero value.
	StdinNull StdinMode = iota
	// StdinPipe connects a pipe that process write can feed until eof or exit.
	StdinPipe
)

// CursorMode is the DECCKM state a PTY program last asked for (docs/reference.md#send-keys).
type CursorMode string

// Cursor-key modes.
const (
	CursorUnknown     CursorMode = "unknown"
	CursorNormal      CursorMode = "normal"
	CursorApplication CursorMode = "application"
)

// Spec describes one command to start. The zero value of every field is usable except Command and Shell.
type Spec struct {
	// Scope owns the session; process actions of other scopes never see it.
	Scope string
	// Command is the shell command, passed verbatim as one argument.
	Command string
	// Name is the derived display name; empty means none.
	Name string
	// Title is the caller's label for the command (exec's title); empty means none.
	Title string
	// Shell is the program that runs Command: argv = Wrapper + [Shell, "-c", Command].
	Shell string
	// Wrapper is an argv prefix (a sandbox launcher); empty runs Shell directly.
	Wrapper []string
	// Dir is the absolute working directory; empty inherits the server's.
	Dir string
	// Env is the complete child environment; nil gives the child an empty environment.
	Env []string
	// PTY runs the command in a pseudo-terminal; on failure the command is retried with pipes.
	PTY bool
	// Cols and Rows are the PTY's window size; zero means DefaultCols and DefaultRows, and other values are
	// clamped to MinTermSize..MaxTermSize.
	Cols, Rows int
	// Stdin applies to non-PTY runs and PTY fallbacks.
	Stdin StdinMode
	// Timeout kills the group with reason overall-timeout; zero means no timeout.
	Timeout time.Duration
	// TimeoutSec is the timeout as the caller expressed it, for texts.
	TimeoutSec float64
	// NotifyOnExit and NotifyOnExitEmptySuccess are captured at spawn for the exit notification rules.
	NotifyOnExit, NotifyOnExitEmptySuccess bool
	// Watch is the output watcher's pattern (exec notifyOnOutput); nil means none (docs/reference.md#watch).
	Watch *regexp.Regexp
	// Background registers the session as backgrounded from the start (exec background:true), so that even a
	// command that finishes at once is retained and announced.
	Background bool
	// Spill keeps the complete output in a spill file once it exceeds the retention cap, for a session that may
	// be backgrounded (docs/reference.md#spill); the file goes when a session ends in the foreground.
	Spill bool
}

// Info is a snapshot of a session or finished record. Strings are copies; it is safe to keep.
type Info struct {
	ID, Scope, Command, Name, Cwd string
	// Title is Spec.Title.
	Title string
	Pid   int
	PTY   bool
	// StartedAt is set at spawn; EndedAt when the leader was reaped (zero while it runs).
	StartedAt, EndedAt time.Time
	// Status is "running", "completed" or "failed".
	Status string
	// Backgrounded: the exec call returned running. Finalizing: the leader exited, output is draining.
	Backgrounded, Finalizing bool
	// ExitCode is nil when the process died by a signal or the code is unknown.
	ExitCode *int
	// ExitSignal is "" (null) or a name such as "SIGTERM".
	ExitSignal string
	// ExitReason is "" while running; else exit, signal, overall-timeout, manual-cancel, shutdown,
	// orphaned, runtime-error or unknown.
	ExitReason string
	// Failure says why a finished session failed; FailureNone while running and for completed sessions.
	Failure Failure
	// WaitErr is the error of waiting for the leader (Failure is FailureRuntime), nil otherwise.
	WaitErr    error
	TimedOut   bool
	Timeout    time.Duration
	TimeoutSec float64
	// Tail is the last 500 chars of the aggregated output.
	Tail string
	// Aggregated is the retained output; filled only by Session.Info, Poll and Log.
	Aggregated      string
	Truncated       bool
	TotalChars      int
	DiscardedChars  int
	AggregatedChars int
	KillRequested   bool
	NotifyOnExit    bool
	// NotifyOnExitEmptySuccess as captured at spawn.
	NotifyOnExitEmptySuccess bool
	CursorMode               CursorMode
	// Writable: the session has an input (stdin pipe or PTY) that accepts writes now.
	Writable bool
	// Wrapped: the command runs under Spec.Wrapper (the sandbox), which does not see the server's files.
	Wrapped bool
	// Log describes the spill file (docs/reference.md#spill).
	Log LogInfo
}

// Running reports whether the session has not been finalized yet (finalizing counts as running).
func (i Info) Running() bool { return i.Status == "running" }

// Failure classifies a failed outcome (docs/reference.md#exec-outcome); tools words it. A recorded timeout wins
// over how the process ended, and a process that died by a signal after a cancel, shutdown or orphan cleanup is
// FailureSignal with that reason as its ExitReason.
type Failure uint8

const (
	// FailureNone: running, or completed (exited with any code other than 126 and 127).
	FailureNone Failure = iota
	// FailureRuntime: waiting for the process failed (Info.WaitErr); exitReason runtime-error.
	FailureRuntime
	// FailureTimeout: the overall timeout terminated the process (Info.TimeoutSec); exitReason overall-timeout.
	FailureTimeout
	// FailureSignal: the process died by the signal Info.ExitSignal.
	FailureSignal
	// FailureNotFound: exit code 127, the shell did not find the command.
	FailureNotFound
	// FailureNotExecutable: exit code 126, the command was found but could not be executed.
	FailureNotExecutable
	// FailureUnknown: neither an exit code nor a signal is known; exitReason unknown.
	FailureUnknown
)

// Errors of process actions. A foreign scope's id yields ErrNotFound, exactly like an unknown id.
var (
	ErrNotFound        = errors.New("session not found")
	ErrNotBackgrounded = errors.New("session is not backgrounded")
	ErrFinalizing      = errors.New("session is finalizing")
	ErrNotWritable     = errors.New("session stdin is not writable")
)

// WriteError reports an input write that did not complete.
type WriteError struct {
	Written, Total int
	// TimedOut: the 10 s write limit passed. Cancelled: the call's context ended.
	TimedOut, Cancelled bool
	// Err is the underlying error for other failures.
	Err error
}

func (e *WriteError) Error() string {
	switch {
	case e.TimedOut:
		return fmt.Sprintf("write timed out after %d of %d bytes", e.Written, e.Total)
	case e.Cancelled:
		return fmt.Sprintf("write cancelled after %d of %d bytes", e.Written, e.Total)
	default:
		return e.Err.Error()
	}
}

func (e *WriteError) Unwrap() error { return e.Err }

// SignalError reports a kill(2) failure other than ESRCH.
type SignalError struct {
	// Terminate is true for TERM/KILL (termination), false for other signals.
	Terminate bool
	Err       error
}

func (e *SignalError) Error() string { return e.Err.Error() }
func (e *SignalError) Unwrap() error { return e.Err }

// PTYFallback reports that the PTY spawn of a Spec with PTY set failed and that the command was started with
// pipes instead (stdin as Spec.Stdin says).
type PTYFallback struct {
	// Err is why the PTY spawn failed.
	Err error
}

// PollResult is what one poll observed.
type PollResult struct {
	// Info includes Aggregated.
	Info Info
	// Output is the drained pending output (running) or the frozen unread output (finished, first poll only).
	Output string
	// Chunks is the number of chunks drained.
	Chunks int
	// Omitted and Discarded select the poll notes (docs/reference.md#output-notes).
	Omitted, Discarded bool
	// Finished: the session had been finalized when the poll looked.
	Finished bool
	// Until reports that the poll had an until pattern; Matched that a line matched it, Match the first such
	// line (docs/reference.md#poll-wait).
	Until, Matched bool
	Match          string
	// RetryIn is the back-off hint of a running poll (docs/reference.md#retry-hint); zero when finished.
	RetryIn time.Duration
}

// WriteResult describes a successful input write.
type WriteResult struct {
	Info Info
	// Written is the number of bytes of data written (the EOT byte not counted).
	Written int
	// ClosedStdin: eof closed a stdin pipe. SentEOT: eof sent 0x04 to a PTY.
	ClosedStdin, SentEOT bool
}
