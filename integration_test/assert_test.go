package integration_test

// Expected texts and the assertions on tool results that most tests share.

import (
	"regexp"
	"testing"
	"time"
)

// Texts the server returns verbatim (docs/reference.md#messages).
const (
	runningTextFmt   = "Command still running (session %s, pid %d). Use process (list/poll/log/write/kill/clear/remove) for follow-up."
	noSessionsText   = "No running or recent sessions."
	omittedNote      = "[earlier output is omitted from this poll; use action=log with offset and limit to inspect retained output]"
	discardedNote    = "[earlier output was discarded at the retention cap and cannot be recovered]"
	wakeDisabledText = "Automatic completion wake is disabled for this command. If the task needs this result, use process poll with a timeout to collect it before ending the turn, unless another continuation is already arranged."
	syncWarning      = "Warning: background execution is disabled; running synchronously."
)

// idRe matches every session id the server hands out (docs/reference.md#session-ids).
var idRe = regexp.MustCompile(`^[a-z]+(-[a-z]+){1,2}(-[0-9]{1,2}|-[a-z0-9]{3}(-[a-z0-9]+)?)?$`)

// timeoutText is the result text of a command killed by its timeout after t seconds
// (docs/reference.md#exec-outcome).
func timeoutText(t string) string {
	return "Command timed out after " + t + " seconds. If this command is expected to take longer, re-run with a higher timeout (e.g., exec timeout=300). If it should keep running, start it with exec background=true or yieldMs so execmcp can register a pollable process session. Do not rely on shell backgrounding with a trailing &.\n" +
		"The command was terminated, but external side effects may already have completed. Verify the resulting state before retrying. Do not automatically rerun non-idempotent commands. Use a higher timeout only when the command is known to be safe to retry."
}

// ---------------------------------------------------------------------------------------------------------------
// assertions

func wantText(t *testing.T, r *Result, want string) {
	t.Helper()
	if r.IsError {
		t.Errorf("unexpected isError result: %s", r)
		return
	}
	if r.Text != want {
		t.Errorf("text = %q\nwant   %q\n(result %s)", r.Text, want, r)
	}
}

func wantError(t *testing.T, r *Result, want string) {
	t.Helper()
	if !r.IsError {
		t.Errorf("want isError result %q, got %s", want, r)
		return
	}
	if r.Text != want {
		t.Errorf("error text = %q\nwant         %q", r.Text, want)
	}
}

// wantExecError checks an exec isError result and its details {"status":"error","tool":"exec","error":msg}.
func wantExecError(t *testing.T, r *Result, want string) {
	t.Helper()
	wantError(t, r, want)
	if r.Str("status") != "error" || r.Str("tool") != "exec" || r.Str("error") != want {
		t.Errorf("details = %v, want {status: error, tool: exec, error: %q}", r.SC, want)
	}
}

// wantProcError checks a process isError result and its details {"status":"failed","error":msg}.
func wantProcError(t *testing.T, r *Result, want string) {
	t.Helper()
	wantError(t, r, want)
	if r.Str("status") != "failed" || r.Str("error") != want {
		t.Errorf("details = %v, want {status: failed, error: %q}", r.SC, want)
	}
}

func wantStatus(t *testing.T, r *Result, status string) {
	t.Helper()
	if r.IsError || r.Str("status") != status {
		t.Errorf("want status %q (not isError), got %s", status, r)
	}
}

func wantExitCode(t *testing.T, r *Result, code int) {
	t.Helper()
	if got, ok := r.Num("exitCode"); !ok || int(got) != code {
		t.Errorf("exitCode = %v, want %d", r.SC["exitCode"], code)
	}
}

func within(t *testing.T, r *Result, d time.Duration, what string) {
	t.Helper()
	if r.Elapsed > d {
		t.Errorf("%s took %v, want within %v", what, r.Elapsed.Round(time.Millisecond), d)
	}
}

func listEmpty(t *testing.T, s *Server) {
	t.Helper()
	r := s.Proc("list")
	wantText(t, r, noSessionsText)
	if sessions, ok := r.SC["sessions"].([]any); !ok || len(sessions) != 0 {
		t.Errorf("list sessions = %v, want []", r.SC["sessions"])
	}
}
