package tools

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/execmcp/execmcp/output"
	"github.com/execmcp/execmcp/sessions"
)

// Limits of the per-scope bookkeeping (docs/reference.md#exit-notifications).
const (
	maxSystemEvents  = 20
	heartbeatDelay   = 250 * time.Millisecond
	snippetTailChars = 400
	snippetMaxChars  = 180
)

// sysEvent is one queued exit or watcher event of a scope (docs/reference.md#system-events).
type sysEvent struct {
	sessionID, text string
	output          bool // a watcher announcement
}

// scopeState is the per-scope bookkeeping besides sessions (docs/reference.md#scope).
type scopeState struct {
	live   map[string]bool // live MCP session ids
	events []sysEvent
	hb     *time.Timer // pending coalesced heartbeat
}

func (st *scopeState) empty() bool {
	return len(st.live) == 0 && len(st.events) == 0 && st.hb == nil
}

// enqueue appends an event: at most maxSystemEvents, and an event whose text equals the immediately preceding
// one is skipped. When the queue is full the oldest watcher announcement is dropped, or without one the oldest
// event: a chatty watcher never pushes a completion out.
func (st *scopeState) enqueue(ev sysEvent) {
	if n := len(st.events); n > 0 && st.events[n-1].text == ev.text {
		return
	}
	st.events = append(st.events, ev)
	if len(st.events) > maxSystemEvents {
		drop := 0
		for i, e := range st.events {
			if e.output {
				drop = i
				break
			}
		}
		st.events = slices.Delete(st.events, drop, drop+1)
	}
}

// ack removes the events of session id; it reports whether any was removed.
func (st *scopeState) ack(id string) bool {
	k := 0
	for _, ev := range st.events {
		if ev.sessionID != id {
			st.events[k] = ev
			k++
		}
	}
	removed := k < len(st.events)
	clear(st.events[k:])
	st.events = st.events[:k]
	return removed
}

// take empties the queue and returns the texts, oldest first.
func (st *scopeState) take() []string {
	if len(st.events) == 0 {
		return nil
	}
	texts := make([]string, len(st.events))
	for i, ev := range st.events {
		texts[i] = ev.text
	}
	st.events = nil
	return texts
}

// scopeLocked returns the state of scope, creating it. Caller holds t.mu.
func (t *Tools) scopeLocked(scope string) *scopeState {
	st := t.scopes[scope]
	if st == nil {
		st = &scopeState{live: map[string]bool{}}
		t.scopes[scope] = st
	}
	return st
}

// gcLocked drops the bookkeeping of a scope that has nothing left. Caller holds t.mu.
func (t *Tools) gcLocked(scope string) {
	if st := t.scopes[scope]; st != nil && st.empty() {
		delete(t.scopes, scope)
	}
}

// acknowledge removes the queued events of session id (poll of a finished session, clear, remove). The
// registry emits a session's exit event before it wakes the session's waiters, so nothing can arrive later.
func (t *Tools) acknowledge(scope, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.scopeLocked(scope).ack(id)
	t.gcLocked(scope)
}

// takeEvents empties the scope's queue atomically: with concurrent calls of one scope, exactly one of them
// carries each event (docs/reference.md#system-events).
func (t *Tools) takeEvents(scope string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.scopes[scope]
	if st == nil {
		return nil
	}
	texts := st.take()
	t.gcLocked(scope)
	return texts
}

// shouldNotify applies the rules of docs/reference.md#exit-notifications that depend on the session: notify on
// exit is on, nobody killed it (no process kill; not cancelled, shut down or orphaned), and it is not a quiet
// success (completed with code 0 and an empty snippet) unless empty successes are announced too. sessions only
// calls OnExit once, for backgrounded sessions that were not removed; the caller checks shutdown.
func shouldNotify(info sessions.Info) bool {
	if !info.NotifyOnExit || info.KillRequested {
		return false
	}
	switch sessions.Reason(info.ExitReason) {
	case sessions.ReasonCancel, sessions.ReasonShutdown, sessions.ReasonOrphaned:
		return false
	}
	quiet := info.Status == "completed" && info.ExitCode != nil && *info.ExitCode == 0 && exitSnippet(info.Tail) == ""
	return !quiet || info.NotifyOnExitEmptySuccess
}

// exitSnippet is the snippet of an exit event (docs/reference.md#exit-notifications): the last 400 chars of the
// tail, whitespace collapsed, at most 180 chars (179 and an ellipsis).
func exitSnippet(tail string) string {
	s := output.CollapseSpace(lastChars(tail, snippetTailChars))
	if r := []rune(s); len(r) > snippetMaxChars {
		s = string(r[:snippetMaxChars-1]) + "…"
	}
	return s
}

// exitEventText is the text of an exit event (docs/reference.md#exit-notifications).
func exitEventText(info sessions.Info) string {
	text := "Exec " + info.Status + " (" + shortID(info.ID) + ", " + exitLabel(info) + ")"
	if sn := exitSnippet(info.Tail); sn != "" {
		text += " :: " + sn
	}
	return withRetryGuidance(text, info)
}

// shortID is how event texts name a session: the first 8 chars of its id.
func shortID(id string) string {
	if r := []rune(id); len(r) > 8 {
		return string(r[:8])
	}
	return id
}

// outputEventText is the text of a watcher announcement (docs/reference.md#watch-events): the line with
// whitespace runs collapsed and cut like an exit snippet, and how many more matching lines it covers.
func outputEventText(a sessions.Announcement) string {
	if a.Stopped {
		return fmt.Sprintf("Exec output (%s) :: watcher stopped after %d announcements; use process poll or log.", shortID(a.ID), sessions.WatchBudget)
	}
	line := output.CollapseSpace(a.Line)
	if r := []rune(line); len(r) > snippetMaxChars {
		line = string(r[:snippetMaxChars-1]) + "…"
	}
	text := "Exec output (" + shortID(a.ID) + ") :: " + line
	if a.Matches > 1 {
		text += fmt.Sprintf(" (+%d more matching lines)", a.Matches-1)
	}
	return text
}

// outputMessageParams are the params of the notifications/message of a watcher announcement
// (docs/reference.md#watch-events). The final event of a watcher that used up its budget has no line and no
// stream, matches 0 and stopped true.
func outputMessageParams(a sessions.Announcement, text string) map[string]any {
	data := map[string]any{"event": "exec.output", "text": text, "sessionId": a.ID, "matches": a.Matches}
	if a.Stopped {
		data["stopped"] = true
	} else {
		data["line"] = cutChars(a.Line, maxMatchChars)
		data["stream"] = a.Stream
	}
	return map[string]any{"level": mcp.LoggingLevelInfo, "logger": "exec", "data": data}
}

// exitMessageParams are the params of the notifications/message of an exit event
// (docs/reference.md#exit-notifications).
func exitMessageParams(info sessions.Info, text string) map[string]any {
	level := mcp.LoggingLevelInfo
	if info.Status != "completed" {
		level = mcp.LoggingLevelWarning
	}
	return map[string]any{
		"level":  level,
		"logger": "exec",
		"data": map[string]any{
			"event":      "exec.exit",
			"text":       text,
			"sessionId":  info.ID,
			"status":     info.Status,
			"exitCode":   exitCodeValue(info.ExitCode),
			"exitSignal": nullableString(info.ExitSignal),
			"exitReason": info.ExitReason,
			"name":       nullableString(info.Name),
			"command":    output.TruncateMiddle(info.Command, 500),
			"tail":       info.Tail,
		},
	}
}

var levelRank = map[mcp.LoggingLevel]int{
	mcp.LoggingLevelDebug: 0, mcp.LoggingLevelInfo: 1, mcp.LoggingLevelNotice: 2, mcp.LoggingLevelWarning: 3,
	mcp.LoggingLevelError: 4, mcp.LoggingLevelCritical: 5, mcp.LoggingLevelAlert: 6, mcp.LoggingLevelEmergency: 7,
}

// levelAllows reports whether a message of level passes an explicitly set session level.
func levelAllows(set, level mcp.LoggingLevel) bool {
	s, ok := levelRank[set]
	if !ok {
		return true
	}
	return levelRank[level] >= s
}

// onExit is sessions.Options.OnExit: it produces the exit event of a finalized backgrounded session
// (docs/reference.md#exit-notifications). It never blocks.
func (t *Tools) onExit(info sessions.Info) {
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		return
	}
	t.stopLogThrottleLocked(info.ID)
	if t.orphanedLocked(info.Scope) {
		t.mu.Unlock()
		return
	}
	st := t.scopeLocked(info.Scope)
	// Resource updates go out at every finalization of a backgrounded session, announced or not: the resource
	// changed either way (docs/reference.md#resources).
	updates := t.resourceUpdatesLocked(st, info.ID)
	if !shouldNotify(info) {
		t.gcLocked(info.Scope)
		t.mu.Unlock()
		t.sendUpdates(updates)
		return
	}
	text := exitEventText(info)
	params := exitMessageParams(info, text)
	meta := map[string]string{"session_id": info.ID, "event": "exit", "status": info.Status}
	if info.ExitCode != nil {
		meta["exit_code"] = strconv.Itoa(*info.ExitCode)
	}
	send := t.eventLocked(st, info.Scope, sysEvent{sessionID: info.ID, text: text}, params, meta)
	t.mu.Unlock()
	send()
	t.sendUpdates(updates)
}

// onWatch is sessions.Options.OnWatch: it produces the event of one output-watcher announcement
// (docs/reference.md#watch-events), delivered like an exit event. It never blocks.
func (t *Tools) onWatch(a sessions.Announcement) {
	t.mu.Lock()
	if t.closing || t.orphanedLocked(a.Scope) {
		t.mu.Unlock()
		return
	}
	st := t.scopeLocked(a.Scope)
	text := outputEventText(a)
	send := t.eventLocked(st, a.Scope, sysEvent{sessionID: a.ID, text: text, output: true}, outputMessageParams(a, text),
		map[string]string{"session_id": a.ID, "event": "output", "status": "running"})
	t.mu.Unlock()
	send()
}

// eventLocked queues ev in the scope's System: queue, arms the heartbeat and returns the function that sends the
// event's notifications/message (to the scope's live MCP sessions whose logging level lets it through) and, to
// those of them that take channel events, its notifications/claude/channel (docs/reference.md#channel). The
// caller holds t.mu and calls the function after releasing it.
func (t *Tools) eventLocked(st *scopeState, scope string, ev sysEvent, params map[string]any, meta map[string]string) func() {
	st.enqueue(ev)
	level := params["level"].(mcp.LoggingLevel)
	var targets, channels []string
	for sid := range st.live {
		if set, ok := t.levels[sid]; ok && !levelAllows(set, level) {
			continue
		}
		targets = append(targets, sid)
		if t.channels[sid] {
			channels = append(channels, sid)
		}
	}
	t.armHeartbeatLocked(scope, st)
	kind := notifyExit
	if meta["event"] == "output" {
		kind = notifyOutput
	}
	return func() {
		for _, sid := range targets {
			if t.notify(sid, "notifications/message", params) {
				t.stats.notified(kind)
			}
		}
		if len(channels) == 0 {
			return
		}
		cp := map[string]any{"content": ev.text, "meta": meta}
		for _, sid := range channels {
			if t.notify(sid, channelMethod, cp) {
				t.stats.notified(kind)
			}
		}
	}
}

// armHeartbeatLocked starts the scope's 250 ms heartbeat timer unless one is pending. Caller holds t.mu.
func (t *Tools) armHeartbeatLocked(scope string, st *scopeState) {
	if st.hb != nil || t.closing {
		return
	}
	t.hbWG.Add(1)
	st.hb = time.AfterFunc(heartbeatDelay, func() {
		defer t.hbWG.Done()
		t.mu.Lock()
		st := t.scopes[scope]
		if st == nil || t.closing {
			t.mu.Unlock()
			return
		}
		st.hb = nil
		targets := make([]string, 0, len(st.live))
		for sid := range st.live {
			targets = append(targets, sid)
		}
		t.gcLocked(scope)
		t.mu.Unlock()
		for _, sid := range targets {
			if t.notify(sid, "notifications/heartbeat", map[string]any{"reason": "exec-event", "scope": scope}) {
				t.stats.notified(notifyHeartbeat)
			}
		}
	})
}

// notify sends one notification to one MCP session, logging failures; it reports whether the notification was
// handed to the session.
func (t *Tools) notify(sid, method string, params map[string]any) bool {
	err := t.srv.SendNotificationToSpecificClient(sid, method, params)
	switch {
	case err == nil:
		return true
	case errors.Is(err, server.ErrSessionNotFound):
	case errors.Is(err, server.ErrNotificationChannelBlocked):
		t.log.Warn("notification dropped: client channel blocked", "session", sid, "method", method)
	default:
		t.log.Debug("notification not sent", "session", sid, "method", method, "err", err)
	}
	return false
}

// stopHeartbeats stops pending heartbeat timers and waits for running ones. Caller set t.closing.
func (t *Tools) stopHeartbeats() {
	t.mu.Lock()
	for _, st := range t.scopes {
		if st.hb != nil && st.hb.Stop() {
			t.hbWG.Done()
		}
		st.hb = nil
	}
	t.mu.Unlock()
	t.hbWG.Wait()
}

// registerSession is the OnRegisterSession hook: it records the live MCP session in its scope. The hook's
// context derives from the registering request's, so it carries the principal (WithPrincipal).
func (t *Tools) registerSession(ctx context.Context, cs server.ClientSession) {
	sid := cs.SessionID()
	scope := sessionScope(ctx, sid)
	if scope == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.orphanedLocked(scope) {
		return // mcp-go's GET /mcp registers any session id it is given, also a terminated one
	}
	t.mcpSessions[sid] = scope
	t.scopeLocked(scope).live[sid] = true
}

// LiveSession reports whether id is a registered MCP session (an initialized client that has not gone away).
// The HTTP front end uses it because mcp-go's GET /mcp accepts any session id, so a client holding a stale id
// would otherwise get a fresh, empty stream instead of the 404 that tells it to re-initialize.
func (t *Tools) LiveSession(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.mcpSessions[id]
	return ok
}

// unregisterSession is the OnUnregisterSession hook (DELETE, idle-TTL sweep, SSE stream closed, shutdown): it drops
// the session's subscriptions and logging level and, when a session-id scope lost its last live MCP session, starts
// the scope's orphan timer (docs/reference.md#disconnect). The hook's context is not used: the idle sweep
// unregisters with a background context.
func (t *Tools) unregisterSession(_ context.Context, cs server.ClientSession) {
	sid := cs.SessionID()
	t.mu.Lock()
	defer t.mu.Unlock()
	scope, ok := t.mcpSessions[sid]
	delete(t.mcpSessions, sid)
	delete(t.levels, sid)
	delete(t.channels, sid)
	delete(t.subs, sid)
	if !ok {
		return
	}
	st := t.scopes[scope]
	if st != nil {
		delete(st.live, sid)
	}
	if isSessionIDScope(scope) && (st == nil || len(st.live) == 0) {
		t.startOrphanTimerLocked(scope)
	}
	t.gcLocked(scope)
}

func (t *Tools) setLevel(ctx context.Context, req *mcp.SetLevelRequest) {
	cs := server.ClientSessionFromContext(ctx)
	if cs == nil || req == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, live := t.mcpSessions[cs.SessionID()]; live {
		t.levels[cs.SessionID()] = req.Params.Level
	}
}

// systemEventsText is the extra content item of docs/reference.md#system-events: one "System: " line per
// event, oldest first.
func systemEventsText(texts []string) string {
	var sb strings.Builder
	for i, s := range texts {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString("System: " + s)
	}
	return sb.String()
}
