package integration_test

// The HTTP request body bound is execmcp's (docs/reference.md#http): 8 MiB on every transport. The MCP library
// behind the front end has a smaller bound of its own by default, which must not answer first.

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestHTTPBodyBoundIsEightMiB sends a 5 MiB tools/call over Streamable HTTP and over SSE: a body under 8 MiB reaches
// the tool, which answers with its own length check, not an HTTP 413.
func TestHTTPBodyBoundIsEightMiB(t *testing.T) {
	hs := StartHTTPServer(t, HTTPOptions{})
	command := strings.Repeat("x", 5<<20)
	want := "command is too long (5242880 bytes; limit 262144)."
	for _, sse := range []bool{false, true} {
		name := map[bool]string{false: "Streamable HTTP", true: "SSE"}[sse]
		c := hs.Connect(t, ClientOpts{SSE: sse})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		r, err := c.CallCtx(ctx, "exec", map[string]any{"command": command})
		cancel()
		if err != nil {
			t.Errorf("%s: a 5 MiB tools/call failed: %v", name, err)
			continue
		}
		if !r.IsError || r.Text != want {
			t.Errorf("%s: a 5 MiB tools/call got %s, want isError %q", name, r, want)
		}
		// The server keeps serving on the same session.
		if r := c.Call("exec", map[string]any{"command": "echo ok"}); r.IsError || !strings.Contains(r.Text, "ok") {
			t.Errorf("%s: after the 5 MiB call, exec echo ok got %s", name, r)
		}
	}
}
