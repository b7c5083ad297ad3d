package tools

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/execmcp/execmcp/output"
	"github.com/execmcp/execmcp/sessions"
)

// Resources (docs/reference.md#resources).
const (
	resourcePrefix     = "exec://sessions/"
	logSuffix          = "/log"
	summaryTemplate    = "exec://sessions/{id}"
	logTemplate        = "exec://sessions/{id}/log"
	summaryName        = "exec session"
	logName            = "exec session log"
	summaryDescription = "Summary of a background exec session (JSON)"
	logDescription     = "Retained output of a background exec session (text)"
	summaryMIME        = "application/json"
	logMIME            = "text/plain"
	noteLogTruncated   = "[log truncated to fit the response size limit; use process log with offset and limit to read the rest]"
	summaryCommandMax  = 2000
	// logUpdateInterval spaces the log URI's updates while output arrives.
	logUpdateInterval = 1000 * time.Millisecond
	// maxSubscriptions bounds the URIs one MCP session can subscribe to (further ones are acknowledged and
	// ignored), so a client cannot grow the server's memory without bound.
	maxSubscriptions = 1024
)

func summaryURI(id string) string { return resourcePrefix + id }
func logURI(id string) string     { return resourcePrefix + id + logSuffix }

// addResources registers the two resource templates.
func (t *Tools) addResources() {
	t.srv.AddResourceTemplate(mcp.NewResourceTemplate(summaryTemplate, summaryName,
		mcp.WithTemplateDescription(summaryDescription), mcp.WithTemplateMIMEType(summaryMIME)), t.readSummary)
	t.srv.AddResourceTemplate(mcp.NewResourceTemplate(logTemplate, logName,
		mcp.WithTemplateDescription(logDescription), mcp.WithTemplateMIMEType(logMIME)), t.readLog)
}

// resourceID extracts the session id of a resource URI: exec://sessions/<id> (log false) or
// exec://sessions/<id>/log (log true). ok is false for anything else.
func resourceID(uri string, log bool) (string, bool) {
	rest, ok := strings.CutPrefix(uri, resourcePrefix)
	if !ok {
		return "", false
	}
	if log {
		if rest, ok = strings.CutSuffix(rest, logSuffix); !ok {
			return "", false
		}
	}
	if rest == "" || strings.ContainsAny(rest, "/?#") {
		return "", false
	}
	return rest, true
}

// lookupResource resolves the session of a resource read in the caller's scope exactly like process: only
// backgrounded running sessions and finished records; anything else is server.ErrResourceNotFound, the same
// for unknown and foreign ids.
func (t *Tools) lookupResource(ctx context.Context, uri string, log bool) (sessions.Info, error) {
	scope, ok := scopeOf(ctx)
	if !ok {
		return sessions.Info{}, server.ErrResourceNotFound
	}
	id, ok := resourceID(uri, log)
	if !ok {
		return sessions.Info{}, server.ErrResourceNotFound
	}
	info, err := t.reg.Log(scope, id)
	if err != nil {
		return sessions.Info{}, server.ErrResourceNotFound
	}
	return info, nil
}

func (t *Tools) readSummary(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	info, err := t.lookupResource(ctx, req.Params.URI, false)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(resourceSummary(info, time.Now()))
	if err != nil {
		return nil, err
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: summaryMIME, Text: string(b)}}, nil
}

func (t *Tools) readLog(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	info, err := t.lookupResource(ctx, req.Params.URI, true)
	if err != nil {
		return nil, err
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: logMIME, Text: resourceLogText(info)}}, nil
}

// resourceSummary is the JSON summary of a session: its process list entry plus exitReason and timedOut
// (finished) and pty, with the command middle-truncated to 2000 chars.
func resourceSummary(info sessions.Info, now time.Time) map[string]any {
	e := listEntry(info, now)
	e["command"] = output.TruncateMiddle(info.Command, summaryCommandMax)
	e["pty"] = info.PTY
	if info.Status != "running" {
		e["exitReason"] = info.ExitReason
		e["timedOut"] = info.TimedOut
	}
	return e
}

// resourceLogText is the text of the log resource: the retained aggregated output, untrimmed, cut to the
// text budget (newest part kept, with the truncation note) and prefixed with the discarded note.
func resourceLogText(info sessions.Info) string {
	text, cut := output.KeepNewest(info.Aggregated, output.TextBudget)
	if cut {
		text = noteLogTruncated + "\n" + text
	}
	if info.DiscardedChars > 0 {
		text = discardedNote(info) + "\n" + text
	}
	return text
}

// subscribe is the AfterSubscribe hook: subscriptions are tracked per live MCP session. Any URI is accepted,
// so a subscription reveals nothing about foreign ids; updates only ever reach the session's own scope.
func (t *Tools) subscribe(ctx context.Context, req *mcp.SubscribeRequest) {
	cs := server.ClientSessionFromContext(ctx)
	if cs == nil || req == nil || req.Params.URI == "" {
		return
	}
	sid := cs.SessionID()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, live := t.mcpSessions[sid]; !live {
		return
	}
	set := t.subs[sid]
	if set == nil {
		set = map[string]bool{}
		t.subs[sid] = set
	}
	if len(set) >= maxSubscriptions && !set[req.Params.URI] {
		t.log.Warn("resource subscription ignored: too many subscriptions", "session", sid, "limit", maxSubscriptions)
		return
	}
	set[req.Params.URI] = true
}

// unsubscribe is the AfterUnsubscribe hook.
func (t *Tools) unsubscribe(ctx context.Context, req *mcp.UnsubscribeRequest) {
	cs := server.ClientSessionFromContext(ctx)
	if cs == nil || req == nil {
		return
	}
	sid := cs.SessionID()
	t.mu.Lock()
	defer t.mu.Unlock()
	if set := t.subs[sid]; set != nil {
		delete(set, req.Params.URI)
		if len(set) == 0 {
			delete(t.subs, sid)
		}
	}
}

// update is one notifications/resources/updated to send.
type update struct{ sid, uri string }

// subscribersLocked returns the live MCP sessions of scope subscribed to uri. Caller holds t.mu.
func (t *Tools) subscribersLocked(st *scopeState, uri string) []update {
	var out []update
	for sid := range st.live {
		if t.subs[sid][uri] {
			out = append(out, update{sid: sid, uri: uri})
		}
	}
	return out
}

// resourceUpdatesLocked returns the updates of both URIs of session id at its finalization. Caller holds t.mu.
func (t *Tools) resourceUpdatesLocked(st *scopeState, id string) []update {
	if len(t.subs) == 0 {
		return nil
	}
	return append(t.subscribersLocked(st, summaryURI(id)), t.subscribersLocked(st, logURI(id))...)
}

// sendUpdates sends resource updates; call without t.mu.
func (t *Tools) sendUpdates(updates []update) {
	for _, u := range updates {
		t.notify(u.sid, "notifications/resources/updated", map[string]any{"uri": u.uri})
	}
}

// logThrottle spaces the log URI's updates of one session: the first output after a quiet second is
// announced at once, later output in the same second once when the second ends.
type logThrottle struct {
	scope string
	timer *time.Timer
	dirty bool
}

// onOutput is sessions.Options.OnOutput: output was appended to a backgrounded session. It never blocks.
func (t *Tools) onOutput(scope, id string) {
	t.mu.Lock()
	if t.closing || len(t.subs) == 0 {
		t.mu.Unlock()
		return
	}
	if th := t.logThrottle[id]; th != nil {
		th.dirty = true
		t.mu.Unlock()
		return
	}
	st := t.scopes[scope]
	if st == nil {
		t.mu.Unlock()
		return
	}
	updates := t.subscribersLocked(st, logURI(id))
	if len(updates) == 0 {
		t.mu.Unlock()
		return
	}
	th := &logThrottle{scope: scope}
	th.timer = t.afterLocked(logUpdateInterval, func() { t.logThrottleFired(id, th) })
	t.logThrottle[id] = th
	t.mu.Unlock()
	t.sendUpdates(updates)
}

// logThrottleFired ends one throttle interval: output that arrived during it is announced and a new interval
// starts; a quiet interval ends the throttle.
func (t *Tools) logThrottleFired(id string, th *logThrottle) {
	t.mu.Lock()
	if t.closing || t.logThrottle[id] != th {
		t.mu.Unlock()
		return
	}
	if !th.dirty {
		delete(t.logThrottle, id)
		t.mu.Unlock()
		return
	}
	th.dirty = false
	var updates []update
	if st := t.scopes[th.scope]; st != nil {
		updates = t.subscribersLocked(st, logURI(id))
	}
	th.timer = t.afterLocked(logUpdateInterval, func() { t.logThrottleFired(id, th) })
	t.mu.Unlock()
	t.sendUpdates(updates)
}

// stopLogThrottleLocked ends the throttle of session id (finalization sends the last update). Caller holds t.mu.
func (t *Tools) stopLogThrottleLocked(id string) {
	if th := t.logThrottle[id]; th != nil {
		t.stopTimerLocked(th.timer)
		delete(t.logThrottle, id)
	}
}
