package tools

import (
	"context"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/execmcp/execmcp/output"
	"github.com/execmcp/execmcp/sessions"
)

// Progress timing (docs/reference.md#progress).
const (
	progressInterval  = 250 * time.Millisecond
	progressKeepAlive = 5000 * time.Millisecond
	progressMaxChars  = 200
)

// progressToken returns the call's progress token, or nil.
func progressToken(req mcp.CallToolRequest) mcp.ProgressToken {
	if req.Params.Meta == nil {
		return nil
	}
	return req.Params.Meta.ProgressToken
}

// progressMessage is the message of a progress notification: the last non-empty output line.
func progressMessage(aggregated string) string {
	line := output.LastLine(aggregated)
	if line == "" {
		return "(no output yet)"
	}
	return output.TruncateMiddle(line, progressMaxChars)
}

// startProgress starts the progress goroutine of a waiting exec call when the call carries a progress
// token. The returned function stops it and waits for it; it is idempotent, and after it returned no
// progress notification of this call is sent any more.
func (t *Tools) startProgress(ctx context.Context, req mcp.CallToolRequest, sess *sessions.Session) func() {
	token := progressToken(req)
	if token == nil {
		return func() {}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t.progressLoop(ctx, stop, sess, token)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			wg.Wait()
		})
	}
}

// progressLoop sends progress after output (at most one per 250 ms, trailing edge) and a keep-alive after
// 5000 ms without a notification.
func (t *Tools) progressLoop(ctx context.Context, stop <-chan struct{}, sess *sessions.Session, token mcp.ProgressToken) {
	var last int64 = -1
	var lastSent time.Time
	keepAlive := time.NewTimer(progressKeepAlive)
	defer keepAlive.Stop()
	var throttle *time.Timer
	var throttleC <-chan time.Time
	defer func() {
		if throttle != nil {
			throttle.Stop()
		}
	}()
	send := func() {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		n := time.Since(sess.StartedAt()).Milliseconds()
		if n <= last {
			n = last + 1
		}
		last = n
		lastSent = time.Now()
		params := map[string]any{"progressToken": token, "progress": n, "message": progressMessage(sess.Info().Aggregated)}
		if err := t.srv.SendNotificationToClient(ctx, "notifications/progress", params); err != nil {
			t.log.Debug("progress notification not sent", "session", sess.ID(), "err", err)
		}
		keepAlive.Reset(progressKeepAlive)
	}
	changed := sess.Changed()
	// Output that arrived between the spawn and this loop's first look would otherwise wait for the keep-alive.
	if info := sess.Info(); info.TotalChars > 0 && info.Status == "running" {
		send()
	}
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-sess.Done():
			return
		case <-changed:
			changed = sess.Changed()
			if throttleC != nil {
				continue // a trailing notification is already scheduled
			}
			if wait := progressInterval - time.Since(lastSent); !lastSent.IsZero() && wait > 0 {
				throttle = time.NewTimer(wait)
				throttleC = throttle.C
				continue
			}
			send()
		case <-throttleC:
			throttle, throttleC = nil, nil
			send()
		case <-keepAlive.C:
			send()
		}
	}
}
