package integration_test

// The protocol versions hosts offer (docs/reference.md#stdio, docs/reference.md#http): each legacy version is
// answered with itself and gets a session with live exit notifications; a client offering the stateless
// 2026-07-28 revision ends on a legacy one.

import (
	"strings"
	"testing"
	"time"
)

// hostProtocols are the versions clients offer in initialize: 2025-06-18 (Codex CLI), 2025-11-25 (Claude Code) and
// the older revisions some clients still send; "latest" is the Go SDK's default (2026-07-28).
var hostProtocols = []string{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "latest"}

// wantNegotiated checks the protocol version the server answered offered with.
func wantNegotiated(t *testing.T, offered, got string) {
	t.Helper()
	if offered == "latest" {
		if got == "" || got >= "2026-07-28" {
			t.Errorf("offered the SDK default: negotiated %q, want a legacy version (<= 2025-11-25)", got)
		}
		return
	}
	if got != offered {
		t.Errorf("offered %s: negotiated %q", offered, got)
	}
}

// TestProtocolVersionsStdio: over stdio, each offered version negotiates as it should, exec answers and a
// background exit arrives as a notifications/message.
func TestProtocolVersionsStdio(t *testing.T) {
	par(t)
	for _, v := range hostProtocols {
		t.Run(v, func(t *testing.T) {
			s := StartServer(t, Options{Protocol: v})
			wantNegotiated(t, v, s.Sess.InitializeResult().ProtocolVersion)
			if r := s.Exec("echo hi"); r.IsError || strings.TrimSpace(r.Text) != "hi" {
				t.Errorf("exec echo hi: %s", r)
			}
			checkExitMessage(t, s)
		})
	}
}

// TestProtocolVersionsHTTP: the same over Streamable HTTP (a session id, the exit on the standing GET stream) and
// over SSE.
func TestProtocolVersionsHTTP(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{})
	for _, sse := range []bool{false, true} {
		transport := map[bool]string{false: "streamable", true: "sse"}[sse]
		for _, v := range hostProtocols {
			t.Run(transport+"/"+v, func(t *testing.T) {
				c := hs.Connect(t, ClientOpts{Protocol: v, SSE: sse})
				wantNegotiated(t, v, c.Sess.InitializeResult().ProtocolVersion)
				if !sse && !strings.HasPrefix(c.SessionID(), "mcp-session-") {
					t.Errorf("no MCP session id (%q)", c.SessionID())
				}
				if r := c.Exec("echo hi"); r.IsError || strings.TrimSpace(r.Text) != "hi" {
					t.Errorf("exec echo hi: %s", r)
				}
				id, _ := c.Background(`sleep 0.3; echo notify`)
				msgs := c.WaitExitMessages(id, 1, 10*time.Second)
				if len(msgs) == 0 {
					t.Fatalf("no exit message for %s within 10 s", id)
				}
				if want := "Exec completed (" + id8(id) + ", code 0) :: notify"; msgs[0].Text() != want {
					t.Errorf("exit message %q, want %q", msgs[0].Text(), want)
				}
				c.Close()
			})
		}
	}
}
