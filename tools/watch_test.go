package tools

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/execmcp/execmcp/policy"
	"github.com/execmcp/execmcp/sessions"
)

func TestOutputEventText(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		name string
		a    sessions.Announcement
		want string
	}{
		{"one", sessions.Announcement{ID: "amber-atlas", Line: "ERROR disk full", Matches: 1},
			"Exec output (amber-at) :: ERROR disk full"},
		{"held", sessions.Announcement{ID: "amber-atlas", Line: "hit 1", Matches: 50},
			"Exec output (amber-at) :: hit 1 (+49 more matching lines)"},
		{"whitespace", sessions.Announcement{ID: "ab", Line: "\t a   b \r", Matches: 1}, "Exec output (ab) :: a b"},
		{"long", sessions.Announcement{ID: "ab", Line: long, Matches: 2},
			"Exec output (ab) :: " + long[:179] + "… (+1 more matching lines)"},
		{"stopped", sessions.Announcement{ID: "amber-atlas", Stopped: true},
			"Exec output (amber-at) :: watcher stopped after 100 announcements; use process poll or log."},
	}
	for _, tc := range tests {
		if got := outputEventText(tc.a); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestOutputMessageParams(t *testing.T) {
	line := strings.Repeat("é", 1200)
	p := outputMessageParams(sessions.Announcement{ID: "s1", Line: line, Stream: "pty", Matches: 3}, "T")
	want := map[string]any{"level": mcp.LoggingLevelInfo, "logger": "exec", "data": map[string]any{
		"event": "exec.output", "text": "T", "sessionId": "s1", "matches": 3, "line": strings.Repeat("é", 1000), "stream": "pty"}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("params %v", p)
	}
	p = outputMessageParams(sessions.Announcement{ID: "s1", Stopped: true}, "T")
	want["data"] = map[string]any{"event": "exec.output", "text": "T", "sessionId": "s1", "matches": 0, "stopped": true}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("final event params %v", p)
	}
}

func TestRenderWatch(t *testing.T) {
	r := renderWatch(sessions.Info{ID: "s1", Name: "npm dev"}, "^ready")
	if r.text != "Watching session s1 for /^ready/." || !reflect.DeepEqual(r.details,
		map[string]any{"status": "running", "sessionId": "s1", "name": "npm dev", "pattern": "^ready"}) {
		t.Errorf("set: %q %v", r.text, r.details)
	}
	r = renderWatch(sessions.Info{ID: "s1"}, "")
	if r.text != "Stopped watching session s1." || !reflect.DeepEqual(r.details, map[string]any{"status": "running", "sessionId": "s1"}) {
		t.Errorf("removed: %q %v", r.text, r.details)
	}
}

// The channel capability and instructions go to the clients the mode selects, in a copy of the result's maps.
func TestInitializeChannel(t *testing.T) {
	for _, tc := range []struct {
		mode, client string
		process      bool
		want         bool
	}{
		{"", "claude-code", true, true},
		{ChannelAuto, "claude-code", true, true},
		{ChannelAuto, "Claude Code", true, false},
		{ChannelAuto, "codex", true, false},
		{ChannelOn, "codex", true, true},
		{ChannelOff, "claude-code", true, false},
		{ChannelOn, "claude-code", false, false},
	} {
		tl := &Tools{opts: Options{Channel: tc.mode, Tools: policy.ToolSet{Exec: true, Process: tc.process}}, channels: map[string]bool{}}
		shared := map[string]any{"other": true}
		req := &mcp.InitializeRequest{}
		req.Params.ClientInfo.Name = tc.client
		res := &mcp.InitializeResult{Instructions: "Base."}
		res.Capabilities.Experimental = shared
		tl.initializeChannel("sid", req, res)
		_, declared := res.Capabilities.Experimental[channelCapability]
		if declared != tc.want || tl.channels["sid"] != tc.want ||
			(res.Instructions == "Base. "+channelInstructions) != tc.want {
			t.Errorf("%q %q process=%v: declared %v, recorded %v, instructions %q", tc.mode, tc.client, tc.process,
				declared, tl.channels["sid"], res.Instructions)
		}
		if len(shared) != 1 || res.Capabilities.Experimental["other"] != true {
			t.Errorf("%q %q: the server's map was changed or lost: %v", tc.mode, tc.client, res.Capabilities.Experimental)
		}
	}
}
