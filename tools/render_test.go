package tools

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/execmcp/execmcp/output"
	"github.com/execmcp/execmcp/sessions"
)

func intp(n int) *int { return &n }

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		ms   int64
		want string
	}{
		{-5, "n/a"}, {0, "n/a"}, {1, "1ms"}, {500, "500ms"}, {999, "999ms"}, {1000, "1s"}, {1499, "1s"}, {1500, "2s"},
		{45000, "45s"}, {59499, "59s"}, {59500, "1m"}, {60000, "1m"}, {125000, "2m5s"}, {180000, "3m"},
		{3599499, "59m59s"}, {3600000, "1h"}, {5400000, "1h30m"}, {5430000, "1h30m"}, {86399000, "23h59m"},
		{86400000, "1d"}, {2*86400000 + 3*3600000, "2d3h"}, {3*86400000 + 59*60000, "3d"},
	}
	for _, tc := range tests {
		if got := formatDuration(tc.ms); got != tc.want {
			t.Errorf("formatDuration(%d) = %q, want %q", tc.ms, got, tc.want)
		}
	}
}

func TestListLines(t *testing.T) {
	now := t0.Add(2*time.Minute + 5*time.Second)
	running := sessions.Info{ID: "amber-atlas", Status: "running", Name: "npm run", Command: "npm run build", Pid: 42,
		StartedAt: t0, Cwd: "/w", Tail: "out"}
	done := sessions.Info{ID: "calm-reef", Status: "completed", Name: "echo hello", Command: "echo hello",
		StartedAt: t0, EndedAt: t0.Add(45 * time.Second), ExitCode: intp(0), ExitReason: "exit", Cwd: "/w"}
	failed := sessions.Info{ID: "tidy-bass", Status: "failed", Command: "  a\n\tb  ", StartedAt: t0,
		EndedAt: t0.Add(500 * time.Millisecond), ExitSignal: "SIGTERM", ExitReason: "signal"}
	longName := sessions.Info{ID: "x", Status: "running", Name: strings.Repeat("n", 100), StartedAt: now}
	longCmd := sessions.Info{ID: "y", Status: "running", Command: strings.Repeat("c", 200), StartedAt: now}
	tests := []struct {
		info sessions.Info
		want string
	}{
		{running, "amber-atlas running   2m5s :: npm run"},
		{done, "calm-reef completed 45s :: echo hello"},
		{failed, "tidy-bass failed    500ms :: a b"},
		{longName, "x running   n/a :: " + strings.Repeat("n", 38) + "..." + strings.Repeat("n", 38)},
		{longCmd, "y running   n/a :: " + strings.Repeat("c", 58) + "..." + strings.Repeat("c", 58)},
	}
	for _, tc := range tests {
		if got := listLine(tc.info, now); got != tc.want {
			t.Errorf("listLine\n got %q\nwant %q", got, tc.want)
		}
	}

	r := renderList([]sessions.Info{running, done, failed}, now)
	if r.text != "amber-atlas running   2m5s :: npm run\ncalm-reef completed 45s :: echo hello\ntidy-bass failed    500ms :: a b" {
		t.Errorf("list text %q", r.text)
	}
	entries := r.details["sessions"].([]any)
	e0 := entries[0].(map[string]any)
	if e0["pid"] != 42 || e0["runtimeMs"] != int64(125000) || e0["name"] != "npm run" || e0["tail"] != "out" {
		t.Errorf("running entry %v", e0)
	}
	e1 := entries[1].(map[string]any)
	if e1["exitCode"] != 0 || e1["endedAt"] != t0.Add(45*time.Second).UnixMilli() || e1["runtimeMs"] != int64(45000) {
		t.Errorf("finished entry %v", e1)
	}
	if _, ok := e1["exitSignal"]; ok {
		t.Errorf("null exitSignal present: %v", e1)
	}
	e2 := entries[2].(map[string]any)
	if _, ok := e2["exitCode"]; ok || e2["exitSignal"] != "SIGTERM" {
		t.Errorf("signal entry %v", e2)
	}
	if _, ok := e2["name"]; ok {
		t.Errorf("empty name present: %v", e2)
	}

	if r := renderList(nil, now); r.text != "No running or recent sessions." || len(r.details["sessions"].([]any)) != 0 {
		t.Errorf("empty list %q %v", r.text, r.details)
	}

	var many []sessions.Info
	for range 103 {
		many = append(many, done)
	}
	r = renderList(many, now)
	lines := strings.Split(r.text, "\n")
	if len(lines) != 101 || lines[100] != "... 3 more sessions not shown" || r.details["omitted"] != 3 ||
		len(r.details["sessions"].([]any)) != 100 {
		t.Errorf("limit: %d lines, last %q, omitted %v", len(lines), lines[len(lines)-1], r.details["omitted"])
	}
}

func TestRenderForeground(t *testing.T) {
	base := sessions.Info{ID: "a", Cwd: "/w", StartedAt: t0, EndedAt: t0.Add(1500 * time.Millisecond), ExitReason: "exit"}
	completed := func(agg string, code int) sessions.Info {
		in := base
		in.Status, in.Aggregated, in.ExitCode = "completed", agg, intp(code)
		return in
	}
	tests := []struct {
		name     string
		info     sessions.Info
		warnings []string
		text     string
		details  map[string]any
	}{
		{"plain", completed("\nhello\n\n", 0), nil, "hello", map[string]any{
			"status": "completed", "exitCode": 0, "exitReason": "exit", "durationMs": int64(1500), "aggregated": "hello",
			"cwd": "/w", "truncated": false}},
		{"empty", completed("", 0), nil, "(no output)", nil},
		{"nonzero", completed("nope\n", 1), nil, "nope\n\n(Command exited with code 1)", nil},
		{"nonzero empty", completed("", 3), nil, "(Command exited with code 3)", nil},
		{"warnings", completed("x", 0), []string{"Warning: a", "Warning: b"}, "Warning: a\nWarning: b\n\nx", nil},
		{"discarded", func() sessions.Info {
			in := completed("tail", 0)
			in.DiscardedChars = 5
			in.Truncated = true
			return in
		}(), nil,
			"[earlier output was discarded at the retention cap and cannot be recovered]\ntail", nil},
		{"timeout", func() sessions.Info {
			in := base
			in.Status, in.ExitReason, in.ExitSignal, in.TimedOut = "failed", "overall-timeout", "SIGTERM", true
			in.Failure, in.TimeoutSec = sessions.FailureTimeout, 1
			return in
		}(), nil, timeoutText(1), map[string]any{
			"status": "failed", "exitCode": nil, "exitSignal": "SIGTERM", "exitReason": "overall-timeout",
			"durationMs": int64(1500), "aggregated": "", "timedOut": true, "cwd": "/w", "truncated": false}},
		{"not found", func() sessions.Info {
			in := base
			in.Status, in.ExitCode, in.Failure = "failed", intp(127), sessions.FailureNotFound
			in.Aggregated = "sh: 1: nope: not found\n"
			return in
		}(), nil, "sh: 1: nope: not found\n\nCommand not found", nil},
	}
	for _, tc := range tests {
		r := renderForeground(tc.info, tc.warnings)
		if r.text != tc.text {
			t.Errorf("%s: text\n got %q\nwant %q", tc.name, r.text, tc.text)
		}
		if tc.details != nil && !reflect.DeepEqual(r.details, tc.details) {
			t.Errorf("%s: details\n got %v\nwant %v", tc.name, r.details, tc.details)
		}
		if len(tc.warnings) > 0 && !reflect.DeepEqual(r.details["warnings"], tc.warnings) {
			t.Errorf("%s: warnings %v", tc.name, r.details["warnings"])
		}
		if r.isError {
			t.Errorf("%s: isError", tc.name)
		}
	}
}

func TestRenderForegroundBudget(t *testing.T) {
	big := strings.Repeat("<", 100000) // 6 encoded bytes each: 600000 > budget
	in := sessions.Info{Status: "completed", ExitCode: intp(0), Aggregated: big + "END", StartedAt: t0, EndedAt: t0}
	r := renderForeground(in, nil)
	if !strings.HasPrefix(r.text, "[earlier output was cut to fit the response size limit]\n") || !strings.HasSuffix(r.text, "END") {
		t.Errorf("text head %q", r.text[:80])
	}
	if r.details["aggregatedTruncated"] != true {
		t.Error("aggregatedTruncated missing")
	}
	b, err := json.Marshal(map[string]any{"content": r.text, "structuredContent": r.details})
	if err != nil || len(b) > 1<<20 {
		t.Errorf("result size %d (%v)", len(b), err)
	}
}

func TestRenderRunning(t *testing.T) {
	in := sessions.Info{ID: "amber-atlas", Pid: 7, StartedAt: t0, Cwd: "/w", Tail: "t", NotifyOnExit: true}
	r := renderRunning(in, nil)
	want := "Command still running (session amber-atlas, pid 7). Use process (list/poll/log/write/kill/clear/remove) for follow-up."
	if r.text != want {
		t.Errorf("text %q", r.text)
	}
	if !reflect.DeepEqual(r.details, map[string]any{"status": "running", "sessionId": "amber-atlas", "pid": 7,
		"startedAt": t0.UnixMilli(), "cwd": "/w", "tail": "t"}) {
		t.Errorf("details %v", r.details)
	}
	in.NotifyOnExit = false
	r = renderRunning(in, []string{textSyncWarn})
	if r.text != textSyncWarn+"\n\n"+want+"\n\n"+textWakeOff {
		t.Errorf("text %q", r.text)
	}
}

func TestRenderPoll(t *testing.T) {
	running := sessions.Info{ID: "s", Status: "running", Aggregated: "a\n", Name: "echo a"}
	r := renderPoll(sessions.PollResult{Info: running, Output: "a\n", Chunks: 1, RetryIn: 5 * time.Second}, 0)
	if r.text != "a\n\nProcess still running." {
		t.Errorf("text %q", r.text)
	}
	if !reflect.DeepEqual(r.details, map[string]any{"status": "running", "sessionId": "s", "aggregated": "a\n", "name": "echo a", "retryInMs": int64(5000)}) {
		t.Errorf("details %v", r.details)
	}
	r = renderPoll(sessions.PollResult{Info: running, RetryIn: 10 * time.Second}, 0)
	if r.text != "(no new output)\n\nProcess still running." || r.details["retryInMs"] != int64(10000) {
		t.Errorf("silent poll %q %v", r.text, r.details)
	}
	r = renderPoll(sessions.PollResult{Info: running, Output: "x", Omitted: true, Discarded: true}, 0)
	if r.text != noteOmitted+"\n"+noteDiscarded+"\nx\n\nProcess still running." {
		t.Errorf("notes %q", r.text)
	}
	r = renderPoll(sessions.PollResult{Info: running, Output: strings.Repeat("&", 70000) + "Z"}, 0)
	if !strings.HasPrefix(r.text, noteOmitted+"\n") || !strings.HasSuffix(r.text, "Z\n\nProcess still running.") {
		t.Errorf("budget cut %q", r.text[:120])
	}

	fin := sessions.Info{ID: "s", Status: "completed", ExitCode: intp(0), ExitReason: "exit", Aggregated: "b\n"}
	r = renderPoll(sessions.PollResult{Info: fin, Output: "b\n", Finished: true}, 0)
	if r.text != "b\n\nProcess exited with code 0." {
		t.Errorf("finished %q", r.text)
	}
	if !reflect.DeepEqual(r.details, map[string]any{"status": "completed", "sessionId": "s", "exitCode": 0, "exitSignal": nil,
		"exitReason": "exit", "timedOut": false, "aggregated": "b\n"}) {
		t.Errorf("finished details %v", r.details)
	}
	r = renderPoll(sessions.PollResult{Info: fin, Finished: true}, 0)
	if r.text != "(no new output)\n\nProcess exited with code 0." {
		t.Errorf("second poll %q", r.text)
	}
	to := sessions.Info{ID: "s", Status: "failed", ExitSignal: "SIGTERM", ExitReason: "overall-timeout", TimedOut: true, TimeoutSec: 5}
	if r = renderPoll(sessions.PollResult{Info: to, Finished: true}, 0); r.text != "(no new output)\n\nProcess exited with signal SIGTERM (timed out after 5 seconds).\n\nThe command was terminated, but external side effects may already have completed. Verify the resulting state before retrying. Do not automatically rerun non-idempotent commands. Use a higher timeout only when the command is known to be safe to retry." {
		t.Errorf("timeout %q", r.text)
	}
	to.ExitSignal, to.ExitCode, to.TimeoutSec = "", intp(143), 0.05
	if r = renderPoll(sessions.PollResult{Info: to, Finished: true}, 0); r.text != "(no new output)\n\nProcess exited with code 143 (timed out after 0.05 seconds).\n\nThe command was terminated, but external side effects may already have completed. Verify the resulting state before retrying. Do not automatically rerun non-idempotent commands. Use a higher timeout only when the command is known to be safe to retry." {
		t.Errorf("timeout code %q", r.text)
	}
	unk := sessions.Info{ID: "s", Status: "failed", ExitReason: "unknown"}
	if r = renderPoll(sessions.PollResult{Info: unk, Finished: true}, 0); r.text != "(no new output)\n\nProcess exited with unknown exit code." {
		t.Errorf("unknown %q", r.text)
	}
}

func TestRenderLog(t *testing.T) {
	ip := func(n int) *int { return &n }
	three := sessions.Info{ID: "s", Status: "completed", ExitCode: intp(0), ExitReason: "exit", Aggregated: "one\ntwo\nthree\n"}
	tests := []struct {
		name string
		info sessions.Info
		w    logWindow
		text string
	}{
		{"all", three, logWindow{}, "one\ntwo\nthree"},
		{"limit", three, logWindow{limit: ip(2)}, "two\nthree"},
		{"window", three, logWindow{offset: ip(1), limit: ip(1)}, "two"},
		{"range", three, logWindow{offset: ip(5)}, "(no lines in the requested range; the log has 3 lines)"},
		{"limit 0", three, logWindow{limit: ip(0)}, "(no lines in the requested range; the log has 3 lines)"},
		{"running empty", sessions.Info{Status: "running"}, logWindow{}, "(no output yet)"},
		{"finished empty", sessions.Info{Status: "completed", ExitCode: intp(0)}, logWindow{}, "(no output recorded)"},
		{"discarded", func() sessions.Info { in := three; in.DiscardedChars = 3; return in }(), logWindow{limit: ip(1)},
			noteDiscarded + "\nthree"},
	}
	for _, tc := range tests {
		r := renderLog(tc.info, tc.w)
		if r.text != tc.text {
			t.Errorf("%s: %q, want %q", tc.name, r.text, tc.text)
		}
	}
	r := renderLog(three, logWindow{})
	want := map[string]any{"status": "completed", "sessionId": "s", "total": 3, "totalLines": 3, "totalChars": 14,
		"truncated": false, "exitCode": 0, "exitSignal": nil, "exitReason": "exit"}
	if !reflect.DeepEqual(r.details, want) {
		t.Errorf("details %v", r.details)
	}
	var sb strings.Builder
	for i := 1; i <= 201; i++ {
		sb.WriteString("line-" + strconv.Itoa(i) + "\n")
	}
	many := sessions.Info{ID: "s", Status: "running", Aggregated: sb.String()}
	r = renderLog(many, logWindow{})
	if !strings.HasPrefix(r.text, "line-2\n") || !strings.HasSuffix(r.text, "line-201\n\n[showing last 200 of 201 lines; pass offset/limit to page]") {
		t.Errorf("default window %q ... %q", r.text[:20], r.text[len(r.text)-80:])
	}
	if _, ok := r.details["exitCode"]; ok || r.details["status"] != "running" {
		t.Errorf("running details %v", r.details)
	}
	r = renderLog(many, logWindow{offset: ip(30)})
	if !strings.HasPrefix(r.text, "line-31\n") || !strings.HasSuffix(r.text, "line-201") {
		t.Errorf("offset window %q", r.text[len(r.text)-30:])
	}
	huge := sessions.Info{Status: "running", Aggregated: strings.Repeat(strings.Repeat(">", 1000)+"\n", 100)}
	r = renderLog(huge, logWindow{})
	if !strings.Contains(r.text, "[response size limit reached") || output.EncodedLen(r.text) > output.TextBudget+200 {
		t.Errorf("budget note missing or too long (%d)", output.EncodedLen(r.text))
	}
}

// The reason line of every failed outcome (docs/reference.md#exec-outcome).
func TestFailureText(t *testing.T) {
	timeout := "Command timed out after 0.2 seconds. If this command is expected to take longer, re-run with a higher timeout (e.g., exec timeout=300). If it should keep running, start it with exec background=true or yieldMs so execmcp can register a pollable process session. Do not rely on shell backgrounding with a trailing &.\n" +
		"The command was terminated, but external side effects may already have completed. Verify the resulting state before retrying. Do not automatically rerun non-idempotent commands. Use a higher timeout only when the command is known to be safe to retry."
	tests := []struct {
		info sessions.Info
		want string
	}{
		{sessions.Info{Failure: sessions.FailureTimeout, TimeoutSec: 0.2}, timeout},
		{sessions.Info{Failure: sessions.FailureSignal, ExitSignal: "SIGTERM"}, "Command aborted by signal SIGTERM"},
		{sessions.Info{Failure: sessions.FailureNotFound, ExitCode: intp(127)}, "Command not found"},
		{sessions.Info{Failure: sessions.FailureNotExecutable, ExitCode: intp(126)}, "Command not executable (permission denied)"},
		{sessions.Info{Failure: sessions.FailureUnknown}, "Command aborted before exit code was captured"},
		{sessions.Info{Failure: sessions.FailureRuntime, WaitErr: errors.New("wait: no child processes")}, "wait: no child processes"},
		{sessions.Info{Failure: sessions.FailureRuntime}, "Command aborted before exit code was captured"},
		{sessions.Info{}, "Command aborted before exit code was captured"},
	}
	for _, tc := range tests {
		if got := failureText(tc.info); got != tc.want {
			t.Errorf("failure %d: %q, want %q", tc.info.Failure, got, tc.want)
		}
	}
	if timeoutText(0.2) != timeout || timeoutText(1800) != strings.Replace(timeout, "0.2", "1800", 1) {
		t.Errorf("timeoutText(1800) = %q", timeoutText(1800))
	}
	for sec, want := range map[float64]string{1800: "1800", 0.05: "0.05", 1.5: "1.5"} {
		if got := formatSeconds(sec); got != want {
			t.Errorf("formatSeconds(%v) = %q", sec, got)
		}
	}
}

// The PTY fallback warning (docs/reference.md#exec-pty): the command collapsed and middle-truncated to 120 chars.
func TestPTYFallbackWarning(t *testing.T) {
	err := errors.New("open /dev/ptmx: no such device")
	got := ptyFallbackWarning("read x;   echo \"got:$x\"\n echo \"tty:$(tty)\"", err)
	want := "Warning: PTY spawn failed (open /dev/ptmx: no such device); retrying without PTY for `read x; echo \"got:$x\" echo \"tty:$(tty)\"`."
	if got != want {
		t.Errorf("warning %q\nwant    %q", got, want)
	}
	long := "echo " + strings.Repeat("a", 100) + "    " + strings.Repeat("b", 100)
	collapsed := "echo " + strings.Repeat("a", 100) + " " + strings.Repeat("b", 100)
	cmd := collapsed[:58] + "..." + collapsed[len(collapsed)-58:]
	if want := "Warning: PTY spawn failed (open /dev/ptmx: no such device); retrying without PTY for `" + cmd + "`."; ptyFallbackWarning(long, err) != want {
		t.Errorf("long command warning %q\nwant %q", ptyFallbackWarning(long, err), want)
	}
}

func TestStartErrorText(t *testing.T) {
	if got := startErrorText(sessions.ErrClosed); got != "Failed to start command: server is shutting down" {
		t.Errorf("closed: %q", got)
	}
	if got := startErrorText(fmt.Errorf("fork/exec /nonexistent/zsh: %w", errors.New("no such file or directory"))); got != "Failed to start command: fork/exec /nonexistent/zsh: no such file or directory" {
		t.Errorf("spawn error: %q", got)
	}
}

func TestExitLabel(t *testing.T) {
	for _, tc := range []struct {
		info sessions.Info
		want string
	}{
		{sessions.Info{ExitCode: intp(3)}, "code 3"},
		{sessions.Info{ExitSignal: "SIGKILL"}, "signal SIGKILL"},
		{sessions.Info{}, "unknown exit code"},
	} {
		if got := exitLabel(tc.info); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}

// The notes of a log page (docs/reference.md#process-log): the window note of the default window and the budget
// notes, for slices that output.SliceLog cut (its own tests check the cut).
func TestLogNotes(t *testing.T) {
	ip := func(n int) *int { return &n }
	slicePage := func(text string, offset, limit *int, budget int) output.Page {
		v := output.TextView(text)
		pg, _ := v.Slice(offset, limit, budget)
		return pg
	}
	var sb strings.Builder
	for i := 1; i <= 201; i++ {
		sb.WriteString("line-" + strconv.Itoa(i) + "\n")
	}
	many := sb.String()
	if got := logWindowNote(slicePage(many, nil, nil, output.TextBudget)); got != "[showing last 200 of 201 lines; pass offset/limit to page]" {
		t.Errorf("window note %q", got)
	}
	for _, sl := range []output.Page{
		slicePage(many, ip(30), nil, output.TextBudget),
		slicePage(many, nil, ip(200), output.TextBudget),
		slicePage(strings.Repeat("x\n", 200), nil, nil, output.TextBudget),
	} {
		if got := logWindowNote(sl); got != "" {
			t.Errorf("window note %q for %+v", got, sl)
		}
	}

	// 10 lines of 8 chars: each costs 8+2 = 10.
	sb.Reset()
	for i := range 10 {
		fmt.Fprintf(&sb, "line-%03d\n", i)
	}
	text := sb.String()
	tests := []struct {
		name          string
		text          string
		offset, limit *int
		budget        int
		wantNote      string
	}{
		{"offset: whole lines that fit", text, ip(2), nil, 35, "[response size limit reached after 3 lines; pass offset=5 to continue]"},
		{"offset: exact fit has no note", text, ip(7), nil, 30, ""},
		{"offset with limit", text, ip(0), ip(5), 20, "[response size limit reached after 2 lines; pass offset=2 to continue]"},
		{"offset: first line prefix", text, ip(4), ip(3), 7, "[response size limit reached after 1 lines; pass offset=5 to continue]"},
		{"offset: prefix by encoded size", "<<<<<\nx\n", ip(0), nil, 20, "[response size limit reached after 1 lines; pass offset=1 to continue]"},
		{"tail: last whole lines", text, nil, nil, 25, "[response size limit reached; showing the last 2 of 10 requested lines]"},
		{"tail with limit", text, nil, ip(4), 39, "[response size limit reached; showing the last 3 of 4 requested lines]"},
		{"tail: exact fit has no note", text, nil, ip(4), 40, ""},
		{"tail: last line suffix", text, nil, ip(2), 6, "[response size limit reached; showing the last 1 of 2 requested lines]"},
		{"tail: suffix by encoded size", "a\nxx>>>>\n", nil, nil, 20, "[response size limit reached; showing the last 1 of 2 requested lines]"},
		{"zero budget", text, ip(0), nil, 0, "[response size limit reached after 1 lines; pass offset=1 to continue]"},
		{"large line, offset", strings.Repeat("<", 200000), ip(0), nil, output.TextBudget, "[response size limit reached after 1 lines; pass offset=1 to continue]"},
		{"large line, tail", strings.Repeat("<", 200000), nil, nil, output.TextBudget, "[response size limit reached; showing the last 1 of 1 requested lines]"},
	}
	for _, tc := range tests {
		sl := slicePage(tc.text, tc.offset, tc.limit, tc.budget)
		if got := logBudgetNote(sl, tc.offset != nil); got != tc.wantNote {
			t.Errorf("%s: note %q, want %q", tc.name, got, tc.wantNote)
		}
	}
}

// Numbers in texts are written as JavaScript's Number.prototype.toString writes them (docs/reference.md#exec-timeout);
// every want below is node's output for the same literal.
func TestJSNumber(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{1800, "1800"},
		{0.5, "0.5"},
		{0.05, "0.05"},
		{1.5, "1.5"},
		{1e-300, "1e-300"},
		{-1e-300, "-1e-300"},
		{1.5e21, "1.5e+21"},
		{1e21, "1e+21"},
		{1e20, "100000000000000000000"},
		{123456789012345680000, "123456789012345680000"},
		{9.999999999999999e20, "999999999999999900000"},
		{1e-7, "1e-7"},
		{2.5e-7, "2.5e-7"},
		{123e-20, "1.23e-18"},
		{0.000001, "0.000001"},
		{1.234e-6, "0.000001234"},
		{0.0000012345, "0.0000012345"},
		{1e-5, "0.00001"},
		{1.7976931348623157e308, "1.7976931348623157e+308"},
		{5e-324, "5e-324"},
		{math.Copysign(0, -1), "0"},
		{0, "0"},
		{0.30000000000000004, "0.30000000000000004"},
		{0.2, "0.2"},
		{0.001, "0.001"},
		{604800, "604800"},
		{100, "100"},
		{9007199254740992, "9007199254740992"},
		{-1.5, "-1.5"},
		{1234.5678, "1234.5678"},
		{1e100, "1e+100"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "Infinity"},
		{math.Inf(-1), "-Infinity"},
	}
	for _, tt := range tests {
		if got := jsNumber(tt.f); got != tt.want {
			t.Errorf("jsNumber(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
	// The smallest timeout a call can give still makes a short text.
	if got := timeoutText(1e-300); !strings.HasPrefix(got, "Command timed out after 1e-300 seconds. ") {
		t.Errorf("timeoutText(1e-300) = %q", got)
	}
}
