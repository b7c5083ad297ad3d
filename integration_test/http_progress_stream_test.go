package integration_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Over Streamable HTTP, a call's progress notifications travel on the call's own POST response stream, also when
// the client holds the standing GET stream (docs/reference.md#progress): they belong to that request, and on the
// GET stream they could arrive after the result they relate to. Exit notifications, which belong to no request,
// stay on the GET stream (TestI68HTTPModernClientPinned).
func TestHTTPProgressOnCallStream(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{})
	c := hs.Connect(t, ClientOpts{})
	if !c.hasGETStream() {
		t.Fatalf("the client has no standing GET stream")
	}
	params := &mcp.CallToolParams{Name: "exec", Arguments: map[string]any{"command": "sleep 0.3; echo step1; sleep 0.5; echo step2; sleep 0.5", "yieldMs": 30000}}
	params.SetProgressToken("tok-stream")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Sess.CallTool(ctx, params); err != nil {
		t.Fatalf("tools/call: %v", err)
	}
	var n int
	for _, m := range c.Notes("notifications/progress") {
		var p map[string]any
		if json.Unmarshal(m.Params, &p) != nil || p["progressToken"] != "tok-stream" {
			continue
		}
		n++
		if m.Stream != "POST /mcp" {
			t.Errorf("progress %v arrived on %q, want the call's stream POST /mcp", p["message"], m.Stream)
		}
	}
	if n == 0 {
		t.Errorf("no notifications/progress for the call; messages %v", c.Messages())
	}
}
