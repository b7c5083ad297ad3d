package tools

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/execmcp/execmcp/output"
	"github.com/execmcp/execmcp/policy"
	"github.com/execmcp/execmcp/schemas"
	"github.com/execmcp/execmcp/sessions"
)

const (
	maxPollWaitMs = 30000
	// maxPatternBytes bounds an until pattern (docs/reference.md#poll-wait).
	maxPatternBytes = 1000
	textNoID        = "sessionId is required for this action."
)

// actionSet is the set of process actions and the text that lists them for an unknown one.
type actionSet struct {
	valid   map[string]bool
	badText string
}

// processActions derives the actions from the action enum of the input schema, on first use.
var processActions = sync.OnceValue(func() actionSet {
	names := schemas.ProcessActions()
	a := actionSet{valid: make(map[string]bool, len(names))}
	for _, n := range names {
		a.valid[n] = true
	}
	a.badText = "Invalid process action. Expected one of: " + strings.Join(names, ", ") + "."
	return a
})

// signals of process kill (docs/reference.md#process-kill).
var killSignals = map[string]syscall.Signal{
	"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "KILL": syscall.SIGKILL,
}

// processCall is the outcome of one process action: the result and the acknowledgement to apply.
type processCall struct {
	r     result
	ackID string
}

func failed(msg string) processCall { return processCall{r: processError(msg)} }

func (t *Tools) handleProcess(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	scope, ok := scopeOf(ctx)
	if !ok {
		return t.envelope("", processError(textNoMCP), ""), nil
	}
	pc := t.runProcess(ctx, scope, req)
	return t.envelope(scope, pc.r, pc.ackID), nil
}

// runProcess checks the arguments, then the action, then the session id (docs/reference.md#process-rules), and
// runs the action.
func (t *Tools) runProcess(ctx context.Context, scope string, req mcp.CallToolRequest) processCall {
	a, err := decodeArgs("process", processParams(), req.GetRawArguments())
	if err != nil {
		return failed(err.Error())
	}
	action, _ := a.str("action")
	action = strings.ToLower(strings.TrimSpace(action))
	if !processActions().valid[action] {
		return failed(processActions().badText)
	}
	if action == "list" {
		return processCall{r: renderList(t.reg.List(scope), time.Now())}
	}
	id, _ := a.str("sessionId")
	id = strings.TrimSpace(id)
	if id == "" {
		return failed(textNoID)
	}
	// The events name a session by the first 8 chars of its id: a unique prefix stands for the id
	// (docs/reference.md#session-ids).
	resolved, ambiguous := t.reg.Resolve(scope, id)
	if ambiguous != nil {
		return failed("Session id " + id + " is ambiguous: " + strings.Join(ambiguous, ", "))
	}
	id = resolved
	switch action {
	case "poll":
		return t.poll(ctx, scope, id, a)
	case "log":
		return t.logAction(scope, id, a)
	case "watch":
		return t.watch(scope, id, a)
	case "write":
		data, _ := a.str("data")
		if len(data) > policy.MaxInputBytes {
			return failed(fmt.Sprintf("data is too long (%d bytes; limit %d).", len(data), policy.MaxInputBytes))
		}
		eof, _ := a.boolean("eof")
		return t.write(ctx, scope, id, []byte(data), eof, func(res sessions.WriteResult) string {
			switch {
			case res.ClosedStdin:
				return fmt.Sprintf("Wrote %d bytes to session %s (stdin closed).", len(data), id)
			case res.SentEOT:
				return fmt.Sprintf("Wrote %d bytes to session %s (sent EOT).", len(data), id)
			}
			return fmt.Sprintf("Wrote %d bytes to session %s.", len(data), id)
		})
	case "submit":
		return t.write(ctx, scope, id, []byte("\r"), false, func(sessions.WriteResult) string {
			return fmt.Sprintf("Submitted session %s (sent CR).", id)
		})
	case "paste":
		text, _ := a.str("text")
		payload := text
		if bracketed, given := a.boolean("bracketed"); bracketed || !given {
			payload = "\x1b[200~" + text + "\x1b[201~"
		}
		if len(payload) > policy.MaxInputBytes {
			return failed(fmt.Sprintf("text is too long (%d bytes; limit %d).", len(payload), policy.MaxInputBytes))
		}
		if payload == "" {
			return failed("No paste text provided.")
		}
		return t.write(ctx, scope, id, []byte(payload), false, func(sessions.WriteResult) string {
			return fmt.Sprintf("Pasted %d chars to session %s.", utf8.RuneCountInString(text), id)
		})
	case "send-keys":
		return t.sendKeys(ctx, scope, id, a)
	case "screen":
		return t.screen(scope, id, a)
	case "resize":
		return t.resize(scope, id, a)
	case "kill":
		return t.kill(scope, id, a)
	case "clear":
		info, err := t.reg.Clear(scope, id)
		if err != nil {
			return failed("No finished session found for " + id)
		}
		return processCall{
			r:     result{text: "Cleared session " + id + ".", details: map[string]any{"status": "completed", "sessionId": info.ID}},
			ackID: id,
		}
	default: // remove
		info, running, err := t.reg.Remove(scope, id)
		switch {
		case errors.Is(err, sessions.ErrNotBackgrounded):
			return failed("Session " + id + " is not backgrounded.")
		case err != nil:
			return failed("No session found for " + id)
		}
		text := "Removed session " + id + "."
		if running {
			text = "Removed session " + id + " (termination requested)."
		}
		d := map[string]any{"status": "completed", "sessionId": info.ID}
		addName(d, info.Name)
		return processCall{r: result{text: text, details: d}, ackID: id}
	}
}

func (t *Tools) poll(ctx context.Context, scope, id string, a *args) processCall {
	waitMs := 0
	if v, ok := a.num("timeout"); ok {
		waitMs = min(max(floorInt(v), 0), maxPollWaitMs)
	}
	var until *regexp.Regexp
	if pat, _ := a.str("until"); pat != "" {
		re, err := compilePattern(pat)
		if err != nil {
			return failed("Invalid until pattern: " + err.Error())
		}
		until = re
	}
	res, err := t.reg.Poll(ctx, scope, id, time.Duration(waitMs)*time.Millisecond, until)
	switch {
	case errors.Is(err, sessions.ErrNotBackgrounded):
		return failed("Session " + id + " is not backgrounded.")
	case err != nil:
		return failed("No session found for " + id)
	}
	pc := processCall{r: renderPoll(res, waitMs)}
	if res.Finished {
		pc.ackID = id
	}
	return pc
}

// compilePattern compiles a pattern of until, notifyOnOutput or watch (docs/reference.md#patterns); the error
// text follows the "Invalid ... pattern: " of the caller.
func compilePattern(pat string) (*regexp.Regexp, error) {
	if len(pat) > maxPatternBytes {
		return nil, errors.New("longer than 1000 bytes")
	}
	return regexp.Compile(pat)
}

// watch sets or removes the output watcher of a running session (docs/reference.md#process-watch).
func (t *Tools) watch(scope, id string, a *args) processCall {
	pat, given := a.str("pattern")
	if !given {
		return failed("pattern is required for watch.")
	}
	var re *regexp.Regexp
	if pat != "" {
		var err error
		if re, err = compilePattern(pat); err != nil {
			return failed("Invalid pattern: " + err.Error())
		}
	}
	info, err := t.reg.Watch(scope, id, re)
	switch {
	case errors.Is(err, sessions.ErrNotRunning):
		return failed("Session " + id + " is not running.")
	case errors.Is(err, sessions.ErrNotBackgrounded):
		return failed("Session " + id + " is not backgrounded.")
	case err != nil:
		return failed("No session found for " + id)
	}
	return processCall{r: renderWatch(info, pat)}
}

// logAction pages the session's output, or with a pattern searches it (docs/reference.md#process-log,
// docs/reference.md#log-pattern).
func (t *Tools) logAction(scope, id string, a *args) processCall {
	var re *regexp.Regexp
	pat, _ := a.str("pattern")
	if pat != "" {
		var err error
		if re, err = compilePattern(pat); err != nil {
			return failed("Invalid pattern: " + err.Error())
		}
	}
	var w logWindow
	if v, ok := a.num("offset"); ok {
		n := max(floorInt(v), 0)
		w.offset = &n
	}
	if v, ok := a.num("limit"); ok {
		n := max(floorInt(v), 0)
		w.limit = &n
	}
	var r result
	err := t.reg.ReadLog(scope, id, func(info sessions.Info, v *output.LogView) error {
		var err error
		if re == nil {
			r, err = renderLogView(info, v, w)
			return err
		}
		offset, limit := 0, defaultMatchLimit
		if w.offset != nil {
			offset = *w.offset
		}
		if w.limit != nil {
			limit = *w.limit
		}
		r, err = renderSearch(info, v, re, pat, offset, limit)
		return err
	})
	switch {
	case errors.Is(err, sessions.ErrNotBackgrounded):
		return failed("Session " + id + " is not backgrounded.")
	case errors.Is(err, sessions.ErrNotFound):
		return failed("No session found for " + id)
	case err != nil:
		return failed(fmt.Sprintf("Cannot read the full log of session %s: %v", id, withoutPath(err)))
	}
	return processCall{r: r}
}

// write writes data and renders the success text with okText, or the error (docs/reference.md#process-input).
func (t *Tools) write(ctx context.Context, scope, id string, data []byte, eof bool, okText func(sessions.WriteResult) string) processCall {
	res, err := t.reg.Write(ctx, scope, id, data, eof)
	if err != nil {
		return failed(writeErrorText(id, err))
	}
	d := map[string]any{"status": "running", "sessionId": id}
	addName(d, res.Info.Name)
	return processCall{r: result{text: okText(res), details: d}}
}

// writeErrorText maps a registry write error to its text (docs/reference.md#process-input).
func writeErrorText(id string, err error) string {
	var we *sessions.WriteError
	switch {
	case errors.Is(err, sessions.ErrNotFound):
		return "No active session found for " + id
	case errors.Is(err, sessions.ErrNotBackgrounded):
		return "Session " + id + " is not backgrounded."
	case errors.Is(err, sessions.ErrFinalizing):
		return "Session " + id + " is finalizing."
	case errors.Is(err, sessions.ErrNotWritable):
		return "Session " + id + " stdin is not writable."
	case errors.As(err, &we) && we.TimedOut:
		return fmt.Sprintf("Timed out writing to session %s after 10 seconds; %d of %d bytes were written (the process is not reading its input).", id, we.Written, we.Total)
	case errors.As(err, &we) && we.Cancelled:
		return fmt.Sprintf("Write to session %s was cancelled; %d of %d bytes were written.", id, we.Written, we.Total)
	case errors.As(err, &we) && we.Err != nil:
		return fmt.Sprintf("Failed to write to session %s: %v", id, we.Err)
	}
	return fmt.Sprintf("Failed to write to session %s: %v", id, err)
}

func (t *Tools) sendKeys(ctx context.Context, scope, id string, a *args) processCall {
	keys, _ := a.list("keys")
	hex, _ := a.list("hex")
	literal, _ := a.str("literal")
	if len(keys) > policy.MaxKeyItems {
		return failed(fmt.Sprintf("keys has too many items (%d; limit %d).", len(keys), policy.MaxKeyItems))
	}
	if len(hex) > policy.MaxKeyItems {
		return failed(fmt.Sprintf("hex has too many items (%d; limit %d).", len(hex), policy.MaxKeyItems))
	}
	// Shared preconditions as far as the session snapshot shows them; the write re-checks all of them.
	info, err := t.reg.Log(scope, id)
	if err := inputPrecondition(info, err); err != nil {
		return failed(writeErrorText(id, err))
	}
	if info.CursorMode == sessions.CursorUnknown {
		for _, k := range keys {
			if isCursorKeyToken(k) {
				return failed("Session " + id + " cursor key mode is not known yet. Poll or log until startup output appears, then retry send-keys.")
			}
		}
	}
	payload, warnings := EncodeKeys(literal, hex, keys, info.CursorMode)
	if len(payload) == 0 {
		return failed("No key data provided.")
	}
	if len(payload) > policy.MaxInputBytes {
		return failed(fmt.Sprintf("Key data is too long (%d bytes; limit %d).", len(payload), policy.MaxInputBytes))
	}
	pc := t.write(ctx, scope, id, payload, false, func(sessions.WriteResult) string {
		text := fmt.Sprintf("Sent %d bytes to session %s.", len(payload), id)
		if len(warnings) > 0 {
			text += "\nWarnings:\n- " + strings.Join(warnings, "\n- ")
		}
		return text
	})
	if !pc.r.isError {
		addWarnings(pc.r.details, warnings)
	}
	return pc
}

// inputPrecondition checks the shared input preconditions (docs/reference.md#process-input) on a session
// snapshot (info and err of Registry.Log), in their order: none or finished, not backgrounded, finalizing, no
// writable input. It returns the registry error that stands for the first one that fails (writeErrorText words
// it), or nil when input may be sent. (Only backgrounded sessions leave finished records, so
// ErrNotBackgrounded always means a running foreground session.)
func inputPrecondition(info sessions.Info, err error) error {
	switch {
	case errors.Is(err, sessions.ErrNotBackgrounded):
		return sessions.ErrNotBackgrounded
	case err != nil || info.Status != "running":
		return sessions.ErrNotFound
	case info.Finalizing:
		return sessions.ErrFinalizing
	case !info.Writable:
		return sessions.ErrNotWritable
	}
	return nil
}

func (t *Tools) kill(scope, id string, a *args) processCall {
	name := "TERM"
	if given, ok := a.str("signal"); ok {
		name = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(given)), "SIG")
		if _, valid := killSignals[name]; !valid {
			return failed(fmt.Sprintf("Invalid signal \"%s\". Expected one of: TERM, INT, HUP, QUIT, USR1, USR2, KILL.", given))
		}
	}
	sig := killSignals[name]
	info, err := t.reg.Kill(scope, id, sig)
	var se *sessions.SignalError
	switch {
	case errors.Is(err, sessions.ErrNotBackgrounded):
		return failed("Session " + id + " is not backgrounded.")
	case errors.As(err, &se) && se.Terminate:
		return failed(fmt.Sprintf("Unable to terminate session %s: %v.", id, se.Err))
	case errors.As(err, &se):
		return failed(fmt.Sprintf("Unable to signal session %s: %v.", id, se.Err))
	case err != nil:
		return failed("No active session found for " + id)
	}
	text := "Termination requested for session " + id + "."
	if sig != syscall.SIGTERM && sig != syscall.SIGKILL {
		text = "Sent SIG" + name + " to session " + id + "."
	}
	d := map[string]any{"status": "completed", "sessionId": id, "signal": "SIG" + name}
	addName(d, info.Name)
	return processCall{r: result{text: text, details: d}}
}
