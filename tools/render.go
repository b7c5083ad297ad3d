package tools

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/execmcp/execmcp/output"
	"github.com/execmcp/execmcp/sessions"
)

// Notes and fixed texts (docs/reference.md#messages, docs/reference.md#output-notes).
const (
	noteDiscarded = "[earlier output was discarded at the retention cap and cannot be recovered]"
	// noteInFullLog replaces noteDiscarded while a complete spill file holds what memory no longer does.
	noteInFullLog  = "[earlier output is no longer in memory; it is in the full log: use action=log with offset and limit, or pattern]"
	noteCut        = "[earlier output was cut to fit the response size limit]"
	noteOmitted    = "[earlier output is omitted from this poll; use action=log with offset and limit to inspect retained output]"
	textNoOutput   = "(no output)"
	textNoNew      = "(no new output)"
	textStillRun   = "Process still running."
	textCancelled  = "Command cancelled by the client; its process group was terminated."
	textWakeOff    = "Automatic completion wake is disabled for this command. If the task needs this result, use process poll with a timeout to collect it before ending the turn, unless another continuation is already arranged."
	textSyncWarn   = "Warning: background execution is disabled; running synchronously."
	textNoSessions = "No running or recent sessions."
	textNoMCP      = "This server requires an MCP session; connect with protocol version 2025-11-25 or earlier."
	textNoExitCode = "Command aborted before exit code was captured"
	textShutdown   = "server is shutting down"
)

// result is a tool result before the envelope: the text, the details object and isError.
type result struct {
	text    string
	details map[string]any
	isError bool
}

// maxErrorChars bounds an error text: messages quote what the caller sent (a parameter name, a session id, a
// host value), and a 10 MB argument must not come back as a 10 MB error (every result stays within 1 MiB,
// docs/reference.md#output-budget).
const maxErrorChars = 4096

func boundError(msg string) string { return output.TruncateMiddle(msg, maxErrorChars) }

func execError(msg string) result {
	msg = boundError(msg)
	return result{text: msg, details: map[string]any{"status": "error", "tool": "exec", "error": msg}, isError: true}
}

func processError(msg string) result {
	msg = boundError(msg)
	return result{text: msg, details: map[string]any{"status": "failed", "error": msg}, isError: true}
}

func epochMs(t time.Time) int64 { return t.UnixMilli() }

func durationMs(a, b time.Time) int64 { return b.Sub(a).Milliseconds() }

func exitCodeValue(c *int) any {
	if c == nil {
		return nil
	}
	return *c
}

func nullableString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func warningsBlock(warnings []string) string {
	if len(warnings) == 0 {
		return ""
	}
	return strings.Join(warnings, "\n") + "\n\n"
}

func addWarnings(d map[string]any, warnings []string) {
	if len(warnings) > 0 {
		d["warnings"] = append([]string(nil), warnings...)
	}
}

// addAggregated puts s into details within the structured budget (docs/reference.md#output-budget).
func addAggregated(d map[string]any, s string) {
	kept, cut := output.KeepNewest(s, output.StructuredBudget)
	d["aggregated"] = kept
	if cut {
		d["aggregatedTruncated"] = true
	}
}

func addName(d map[string]any, name string) {
	if name != "" {
		d["name"] = name
	}
}

// addTitle puts the caller's title of the command into details; it is omitted when there is none.
func addTitle(d map[string]any, title string) {
	if title != "" {
		d["title"] = title
	}
}

// foregroundBody builds the output part of a foreground exec result (docs/reference.md#exec-results): the
// trimmed output cut to the text budget, under the cut and discarded notes.
func foregroundBody(info sessions.Info) string {
	out, cut := output.KeepNewest(output.Trim(info.Aggregated), output.TextBudget)
	if cut {
		out = noteCut + "\n" + out
	}
	if info.DiscardedChars > 0 {
		out = noteDiscarded + "\n" + out
	}
	return out
}

// renderForeground renders a finished foreground exec session (docs/reference.md#exec-results).
func renderForeground(info sessions.Info, warnings []string) result {
	out := foregroundBody(info)
	d := map[string]any{
		"status":     info.Status,
		"exitReason": info.ExitReason,
		"durationMs": durationMs(info.StartedAt, info.EndedAt),
		"cwd":        info.Cwd,
		"truncated":  info.Truncated,
	}
	addAggregated(d, output.Trim(info.Aggregated))
	addWarnings(d, warnings)
	addTitle(d, info.Title)
	if info.Status == "completed" {
		code := 0
		if info.ExitCode != nil {
			code = *info.ExitCode
		}
		d["exitCode"] = code
		if code != 0 {
			out = joinBlocks(out, fmt.Sprintf("(Command exited with code %d)", code))
		}
		if out == "" {
			out = textNoOutput
		}
	} else {
		d["exitCode"] = exitCodeValue(info.ExitCode)
		d["exitSignal"] = nullableString(info.ExitSignal)
		d["timedOut"] = info.TimedOut
		out = joinBlocks(out, failureText(info))
	}
	return result{text: warningsBlock(warnings) + out, details: d}
}

// failureText is the reason line of a failed outcome (docs/reference.md#exec-outcome).
func failureText(info sessions.Info) string {
	switch info.Failure {
	case sessions.FailureRuntime:
		if info.WaitErr != nil {
			return info.WaitErr.Error()
		}
	case sessions.FailureTimeout:
		return timeoutText(info.TimeoutSec)
	case sessions.FailureSignal:
		return "Command aborted by signal " + info.ExitSignal
	case sessions.FailureNotFound:
		return "Command not found"
	case sessions.FailureNotExecutable:
		return "Command not executable (permission denied)"
	}
	return textNoExitCode
}

// textRetryGuidance is the retry guidance of a timed-out command: the second line of the timeout text, and the
// paragraph after the exit event and the finished poll of a session killed by its timeout
// (docs/reference.md#exec-outcome).
const textRetryGuidance = "The command was terminated, but external side effects may already have completed. Verify the resulting state before retrying. Do not automatically rerun non-idempotent commands. Use a higher timeout only when the command is known to be safe to retry."

// timeoutText is the two-line text of a timed-out command (docs/reference.md#exec-outcome).
func timeoutText(sec float64) string {
	return "Command timed out after " + formatSeconds(sec) + " seconds. If this command is expected to take longer, re-run with a higher timeout (e.g., exec timeout=300). If it should keep running, start it with exec background=true or yieldMs so execmcp can register a pollable process session. Do not rely on shell backgrounding with a trailing &.\n" +
		textRetryGuidance
}

// withRetryGuidance appends the retry guidance after a blank line when the session was killed by its timeout.
func withRetryGuidance(text string, info sessions.Info) string {
	if info.ExitReason != string(sessions.ReasonTimeout) {
		return text
	}
	return text + "\n\n" + textRetryGuidance
}

// formatSeconds writes seconds as JavaScript writes a number (1800, 0.05, 1.5, 1e-300): see jsNumber.
func formatSeconds(sec float64) string { return jsNumber(sec) }

// jsNumber formats f as JavaScript's Number.prototype.toString does (ECMAScript Number::toString, radix 10): the
// shortest digits that read back as f, in plain decimal when the decimal exponent n (f = 0.d1d2... × 10^n) is
// in -5..21, else in exponent form with at least one digit and an explicit exponent sign: 1800, 0.000001, 1e-7,
// 1.5e+21, 5e-324; -0 is 0. A number in a text is therefore never longer than 25 characters.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	case f < 0:
		return "-" + jsNumber(-f)
	}
	// 'e' with the shortest precision: d[.ddd]e±XX.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	k, n := len(digits), x+1
	switch {
	case k <= n && n <= 21:
		return digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		return digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		return "0." + strings.Repeat("0", -n) + digits
	}
	m := digits[:1]
	if k > 1 {
		m += "." + digits[1:]
	}
	if n-1 < 0 {
		return m + "e-" + strconv.Itoa(1-n)
	}
	return m + "e+" + strconv.Itoa(n-1)
}

// exitLabel is "code <N>", "signal <SIG>" or "unknown exit code" (docs/reference.md#exec-outcome).
func exitLabel(info sessions.Info) string {
	switch {
	case info.ExitCode != nil:
		return fmt.Sprintf("code %d", *info.ExitCode)
	case info.ExitSignal != "":
		return "signal " + info.ExitSignal
	default:
		return "unknown exit code"
	}
}

// ptyFallbackWarning is the warning of a PTY spawn that failed with err, after which command was started with
// pipes (docs/reference.md#exec-pty).
func ptyFallbackWarning(command string, err error) string {
	cmd := output.TruncateMiddle(output.CollapseSpace(command), 120)
	return fmt.Sprintf("Warning: PTY spawn failed (%v); retrying without PTY for `%s`.", err, cmd)
}

// startErrorText is the text of a command that could not be started.
func startErrorText(err error) string {
	if errors.Is(err, sessions.ErrClosed) {
		return "Failed to start command: " + textShutdown
	}
	return "Failed to start command: " + err.Error()
}

// joinBlocks joins a and b with a blank line, or returns b when a is empty.
func joinBlocks(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n\n" + b
}

// renderRunning renders the running result of exec (docs/reference.md#exec-results).
func renderRunning(info sessions.Info, warnings []string) result {
	text := warningsBlock(warnings) + fmt.Sprintf("Command still running (session %s, pid %d). Use process (list/poll/log/write/kill/clear/remove) for follow-up.", info.ID, info.Pid)
	if !info.NotifyOnExit {
		text += "\n\n" + textWakeOff
	}
	d := map[string]any{
		"status":    "running",
		"sessionId": info.ID,
		"pid":       info.Pid,
		"startedAt": epochMs(info.StartedAt),
		"cwd":       info.Cwd,
		"tail":      info.Tail,
	}
	addWarnings(d, warnings)
	addTitle(d, info.Title)
	addLogPath(d, info)
	return result{text: text, details: d}
}

// renderCancelled is the result of a cancelled foreground exec (docs/reference.md#cancellation).
func renderCancelled(cwd string) result {
	return result{
		text:    textCancelled,
		details: map[string]any{"status": "failed", "exitReason": "manual-cancel", "cwd": cwd},
		isError: true,
	}
}

// exitLine is the last line of a finished poll (docs/reference.md#process-poll).
func exitLine(info sessions.Info) string {
	var line string
	switch {
	case info.ExitCode != nil:
		line = fmt.Sprintf("Process exited with code %d", *info.ExitCode)
	case info.ExitSignal != "":
		line = "Process exited with signal " + info.ExitSignal
	default:
		line = "Process exited with unknown exit code"
	}
	if info.ExitReason == string(sessions.ReasonTimeout) {
		line += " (timed out after " + formatSeconds(info.TimeoutSec) + " seconds)"
	}
	return line + "."
}

// maxMatchChars bounds the matching line an until poll returns (docs/reference.md#poll-wait).
const maxMatchChars = 1000

// cutChars returns s cut to its first n chars (code points).
func cutChars(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// renderPoll renders a poll result (docs/reference.md#process-poll); waitMs is the clamped timeout, named in the
// text of an until poll that matched nothing (docs/reference.md#poll-wait).
func renderPoll(res sessions.PollResult, waitMs int) result {
	info := res.Info
	body, cut := output.KeepNewest(output.Trim(res.Output), output.TextBudget)
	var notes string
	if res.Omitted || cut {
		notes += noteOmitted + "\n"
	}
	if res.Discarded {
		notes += discardedNote(info) + "\n"
	}
	if body == "" {
		body = textNoNew
	}
	d := map[string]any{"sessionId": info.ID}
	addAggregated(d, info.Aggregated)
	addName(d, info.Name)
	addTitle(d, info.Title)
	addLogPath(d, info)
	var noMatch string
	if res.Until {
		d["matched"] = res.Matched
		if res.Matched {
			d["match"] = cutChars(res.Match, maxMatchChars)
		} else if !res.Finished {
			noMatch = fmt.Sprintf("\n(no line matched until within %d ms)", waitMs)
		}
	}
	if !res.Finished {
		d["status"] = "running"
		d["retryInMs"] = res.RetryIn.Milliseconds()
		return result{text: notes + body + "\n\n" + textStillRun + noMatch, details: d}
	}
	d["status"] = info.Status
	d["exitCode"] = exitCodeValue(info.ExitCode)
	d["exitSignal"] = nullableString(info.ExitSignal)
	d["exitReason"] = info.ExitReason
	d["timedOut"] = info.TimedOut
	return result{text: withRetryGuidance(notes+body+"\n\n"+exitLine(info), info), details: d}
}

// logWindow is the log request: nil pointers mean "not given".
type logWindow struct{ offset, limit *int }

// renderLog renders a log result of the retained text (docs/reference.md#process-log).
func renderLog(info sessions.Info, w logWindow) result {
	v := output.TextView(info.Aggregated)
	r, _ := renderLogView(info, &v, w) // a text view does not fail
	return r
}

// renderLogView renders a log result (docs/reference.md#process-log) of the view of the session's output: the
// spill file, the file and the retained text, or the retained text (docs/reference.md#spill). The error is a
// read error of the file.
func renderLogView(info sessions.Info, v *output.LogView, w logWindow) (result, error) {
	pg, err := v.Slice(w.offset, w.limit, output.TextBudget)
	if err != nil {
		return result{}, err
	}
	var sb strings.Builder
	sb.WriteString(logHeadNote(info))
	running := info.Status == "running"
	var body string
	switch {
	case pg.TotalLines == 0 && running:
		body = "(no output yet)"
	case pg.TotalLines == 0:
		body = "(no output recorded)"
	case pg.Start >= pg.End:
		body = fmt.Sprintf("(no lines in the requested range; the log has %d lines)", pg.TotalLines)
	default:
		body = pg.Text
	}
	notes := []string{body}
	if pg.LostStart < pg.LostEnd {
		notes = append(notes, lostNote(pg.LostStart, pg.LostEnd))
	}
	notes = append(notes, logWindowNote(pg), logBudgetNote(pg, w.offset != nil))
	sb.WriteString(joinNotes(notes))
	return result{text: sb.String(), details: logDetails(info, pg.TotalLines, pg.TotalChars)}, nil
}

// joinNotes joins the non-empty parts with a blank line.
func joinNotes(parts []string) string {
	var out string
	for _, p := range parts {
		if p != "" {
			out = joinBlocks(out, p)
		}
	}
	return out
}

// discardedNote is the note for output the retention cap dropped (docs/reference.md#output-notes): it is gone,
// unless a spill file that has not stopped holds it (docs/reference.md#spill).
func discardedNote(info sessions.Info) string {
	if info.Log.Spilled && info.Log.Cause == sessions.StopNone {
		return noteInFullLog
	}
	return noteDiscarded
}

// logHeadNote is the note a log starts with (docs/reference.md#spill): the discarded note when the retention
// cap dropped output and no spill file holds it, nothing while the spill file is complete, the stopped note when
// it stopped growing.
func logHeadNote(info sessions.Info) string {
	switch {
	case !info.Log.Spilled && info.DiscardedChars > 0:
		return noteDiscarded + "\n"
	case info.Log.Spilled && info.Log.Cause != sessions.StopNone:
		return fmt.Sprintf("[the full log stopped at %d bytes (%s); later output is only in the retained tail]\n",
			info.Log.Bytes, stopReason(info.Log))
	}
	return ""
}

// stopReason words why a spill file stopped growing.
func stopReason(l sessions.LogInfo) string {
	switch l.Cause {
	case sessions.StopSessionCap:
		return "per-session cap"
	case sessions.StopServerCap:
		return "server cap"
	case sessions.StopLowSpace:
		return "file system almost full"
	}
	if l.Err == nil {
		return "unknown error"
	}
	// Capitalised as strerror writes it.
	msg := withoutPath(l.Err).Error()
	r, size := utf8.DecodeRuneInString(msg)
	return string(unicode.ToUpper(r)) + msg[size:]
}

// withoutPath returns the OS error inside a path error: texts never name the spill file's path, which the agent
// knows as logPath unless its command runs in the sandbox.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// lostNote names the lines of a stopped spill file that neither the file nor the retained text holds.
func lostNote(start, end int) string {
	return fmt.Sprintf("[lines %d to %d were not kept: the full log stopped before them]", start, end-1)
}

// logDetails are the details of log (docs/reference.md#process-log) with those of a spill file
// (docs/reference.md#spill).
func logDetails(info sessions.Info, lines, chars int) map[string]any {
	d := map[string]any{
		"sessionId":  info.ID,
		"total":      lines,
		"totalLines": lines,
		"totalChars": chars,
		"truncated":  info.Truncated,
	}
	addName(d, info.Name)
	addTitle(d, info.Title)
	if info.Status == "running" {
		d["status"] = "running"
	} else {
		d["status"] = info.Status
		d["exitCode"] = exitCodeValue(info.ExitCode)
		d["exitSignal"] = nullableString(info.ExitSignal)
		d["exitReason"] = info.ExitReason
	}
	if info.Log.Spilled {
		d["spilled"] = true
		d["logBytes"] = info.Log.Bytes
		addLogPath(d, info)
	}
	return d
}

// addLogPath puts the spill file's path into details, unless the command runs in the sandbox, which does not see
// it (docs/reference.md#spill).
func addLogPath(d map[string]any, info sessions.Info) {
	if info.Log.Path != "" && !info.Wrapped {
		d["logPath"] = info.Log.Path
	}
}

// Limits of log with a pattern (docs/reference.md#log-pattern).
const (
	defaultMatchLimit = 100
	maxMatchCount     = 100000
	maxMatchLineChars = 2000
)

// renderSearch renders log with a pattern (docs/reference.md#log-pattern): the matching lines from offset on,
// at most limit of them, each with its line number. The error is a read error of the file.
func renderSearch(info sessions.Info, v *output.LogView, re *regexp.Regexp, pattern string, offset, limit int) (result, error) {
	f, err := v.Search(re, offset, limit, maxMatchCount, maxMatchLineChars)
	if err != nil {
		return result{}, err
	}
	var lines []string
	used := 0
	for _, m := range f.Matches {
		line := strconv.Itoa(m.Line) + ": " + m.Text
		if m.Cut {
			line += "…"
		}
		c := output.EncodedLen(line) + 2
		if used+c > output.TextBudget {
			break
		}
		used += c
		lines = append(lines, line)
	}
	body := strings.Join(lines, "\n")
	if f.Count == 0 {
		body = "(no lines match /" + pattern + "/)"
	}
	notes := []string{body}
	if f.LostStart < f.LostEnd {
		notes = append(notes, lostNote(f.LostStart, f.LostEnd))
	}
	if shown := len(lines); f.Count > shown {
		next := f.Next
		if shown < len(f.Matches) {
			next = f.Matches[shown].Line
		}
		count := strconv.Itoa(f.Count)
		if f.More {
			count = "more than " + count
		}
		notes = append(notes, fmt.Sprintf("[%d of %s matching lines shown; pass offset %d to continue]", shown, count, next))
	}
	d := logDetails(info, v.TotalLines(), v.TotalChars())
	d["matches"] = f.Count
	d["pattern"] = pattern
	return result{text: logHeadNote(info) + joinNotes(notes), details: d}, nil
}

// logWindowNote tells that the default window of a log hid older lines, "" when it did not.
func logWindowNote(pg output.Page) string {
	if !pg.DefaultWindow || pg.Start == 0 {
		return ""
	}
	return fmt.Sprintf("[showing last %d of %d lines; pass offset/limit to page]", pg.Lines, pg.TotalLines)
}

// logBudgetNote tells that the response budget cut a log page, "" when it did not: a page asked for with an
// offset kept its first lines and says where to continue, any other page kept its last lines.
func logBudgetNote(pg output.Page, offsetGiven bool) string {
	switch {
	case !pg.Cut:
		return ""
	case offsetGiven:
		return fmt.Sprintf("[response size limit reached after %d lines; pass offset=%d to continue]", pg.Kept, pg.Resume)
	default:
		return fmt.Sprintf("[response size limit reached; showing the last %d of %d requested lines]", pg.Kept, pg.Lines)
	}
}

// formatDuration is the compact duration of docs/reference.md#compact-duration.
func formatDuration(ms int64) string {
	if ms <= 0 {
		return "n/a"
	}
	if ms < 1000 {
		return strconv.FormatInt(ms, 10) + "ms"
	}
	s := (ms + 500) / 1000
	if s < 60 {
		return strconv.FormatInt(s, 10) + "s"
	}
	m, rs := s/60, s%60
	if m < 60 {
		if rs == 0 {
			return strconv.FormatInt(m, 10) + "m"
		}
		return fmt.Sprintf("%dm%ds", m, rs)
	}
	h, rm := m/60, m%60
	if h < 24 {
		if rm == 0 {
			return strconv.FormatInt(h, 10) + "h"
		}
		return fmt.Sprintf("%dh%dm", h, rm)
	}
	d, rh := h/24, h%24
	if rh == 0 {
		return strconv.FormatInt(d, 10) + "d"
	}
	return fmt.Sprintf("%dd%dh", d, rh)
}

// listLimit is the number of sessions list shows (docs/reference.md#process-list).
const listLimit = 100

func runtimeMs(info sessions.Info, now time.Time) int64 {
	if info.Status == "running" {
		return durationMs(info.StartedAt, now)
	}
	return durationMs(info.StartedAt, info.EndedAt)
}

// listLabel is the label of a list line: the caller's title, else the name, else the collapsed command.
func listLabel(info sessions.Info) string {
	if info.Title != "" {
		return info.Title
	}
	if info.Name != "" {
		return output.TruncateMiddle(info.Name, 80)
	}
	return output.TruncateMiddle(output.CollapseSpace(info.Command), 120)
}

// listLine is one line of the list text.
func listLine(info sessions.Info, now time.Time) string {
	return fmt.Sprintf("%s %-9s %s :: %s", info.ID, info.Status, formatDuration(runtimeMs(info, now)), listLabel(info))
}

// listEntry is one entry of the list details.
func listEntry(info sessions.Info, now time.Time) map[string]any {
	e := map[string]any{
		"sessionId": info.ID,
		"status":    info.Status,
		"startedAt": epochMs(info.StartedAt),
		"runtimeMs": runtimeMs(info, now),
		"cwd":       info.Cwd,
		"command":   output.TruncateMiddle(info.Command, 500),
		"tail":      lastChars(info.Tail, output.TailChars),
		"truncated": info.Truncated,
	}
	addName(e, info.Name)
	addTitle(e, info.Title)
	if info.Status == "running" {
		e["pid"] = info.Pid
		return e
	}
	e["endedAt"] = epochMs(info.EndedAt)
	if info.ExitCode != nil {
		e["exitCode"] = *info.ExitCode
	}
	if info.ExitSignal != "" {
		e["exitSignal"] = info.ExitSignal
	}
	e["exitReason"] = info.ExitReason
	return e
}

// renderList renders the list action (docs/reference.md#process-list); infos are sorted newest first already.
func renderList(infos []sessions.Info, now time.Time) result {
	shown := infos
	omitted := 0
	if len(shown) > listLimit {
		omitted = len(shown) - listLimit
		shown = shown[:listLimit]
	}
	entries := make([]any, 0, len(shown))
	lines := make([]string, 0, len(shown)+1)
	for _, in := range shown {
		entries = append(entries, listEntry(in, now))
		lines = append(lines, listLine(in, now))
	}
	d := map[string]any{"status": "completed", "sessions": entries}
	if omitted > 0 {
		lines = append(lines, fmt.Sprintf("... %d more sessions not shown", omitted))
		d["omitted"] = omitted
	}
	text := strings.Join(lines, "\n")
	if len(shown) == 0 {
		text = textNoSessions
	}
	return result{text: text, details: d}
}

// lastChars returns the last n code points of s.
func lastChars(s string, n int) string {
	i := len(s)
	for k := 0; k < n && i > 0; k++ {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return s[i:]
}

// renderWatch is the result of process watch (docs/reference.md#process-watch); pattern "" removed the watcher.
func renderWatch(info sessions.Info, pattern string) result {
	d := map[string]any{"status": "running", "sessionId": info.ID}
	addName(d, info.Name)
	if pattern == "" {
		return result{text: "Stopped watching session " + info.ID + ".", details: d}
	}
	d["pattern"] = pattern
	return result{text: "Watching session " + info.ID + " for /" + pattern + "/.", details: d}
}

// Texts of process screen (docs/reference.md#process-screen).
const (
	textBlankScreen  = "(blank screen)"
	textScreenMarker = "--- screen ---"
	noteScreenFinal  = "[session exited; last screen shown]"
)

// renderScreen renders the screen of a PTY session (docs/reference.md#process-screen): the scrollback lines, the
// marker line, the screen's rows without the empty rows at its end, within the text budget (the newest part
// kept), and the exited note for a finished session.
func renderScreen(s sessions.Screen) result {
	rows := s.Lines
	for len(rows) > 0 && rows[len(rows)-1] == "" {
		rows = rows[:len(rows)-1]
	}
	body := strings.Join(rows, "\n")
	if len(rows) == 0 {
		body = textBlankScreen
	}
	if len(s.Scrollback) > 0 {
		body = strings.Join(s.Scrollback, "\n") + "\n" + textScreenMarker + "\n" + body
	}
	if kept, cut := output.KeepNewest(body, output.TextBudget); cut {
		body = noteCut + "\n" + kept
	}
	if s.Info.Status != "running" {
		body += "\n" + noteScreenFinal
	}
	d := map[string]any{
		"status":    s.Info.Status,
		"sessionId": s.Info.ID,
		"cols":      s.Cols,
		"rows":      s.Rows,
		"cursor":    map[string]any{"row": s.CursorRow, "col": s.CursorCol, "visible": s.CursorVisible},
		"altScreen": s.AltScreen,
	}
	if s.Title != "" {
		d["terminalTitle"] = s.Title
	}
	addName(d, s.Info.Name)
	return result{text: body, details: d}
}
