package tools

import (
	"maps"

	"github.com/mark3labs/mcp-go/mcp"
)

// Claude Code channel events (docs/reference.md#channel).
const (
	channelMethod     = "notifications/claude/channel"
	channelCapability = "claude/channel"
	// claudeCodeName is the clientInfo.name Claude Code initializes with.
	claudeCodeName      = "claude-code"
	channelInstructions = `Background command completions and watched output lines also arrive as <channel source="execmcp"> events; when one arrives, act on it instead of polling.`
)

// Channel modes (Options.Channel).
const (
	ChannelAuto = "auto"
	ChannelOn   = "on"
	ChannelOff  = "off"
)

// channelFor reports whether an MCP session whose client is named client gets channel events: with mode auto only
// Claude Code does, with on every client, with off none. Without background execution there is nothing to
// announce, so no client does.
func (t *Tools) channelFor(client string) bool {
	if !t.opts.Tools.Process {
		return false
	}
	switch t.opts.Channel {
	case ChannelOn:
		return true
	case ChannelOff:
		return false
	}
	return client == claudeCodeName
}

// initializeChannel is part of the initialize hook: for a client that gets channel events it declares the
// experimental capability and extends the instructions in that client's initialize result, and records the MCP
// session so that exit and watcher events also reach it as channel events.
func (t *Tools) initializeChannel(sid string, req *mcp.InitializeRequest, res *mcp.InitializeResult) {
	if req == nil || res == nil || !t.channelFor(req.Params.ClientInfo.Name) {
		return
	}
	// The result's map may be the server's own: replace it, never write into it.
	exp := maps.Clone(res.Capabilities.Experimental)
	if exp == nil {
		exp = map[string]any{}
	}
	exp[channelCapability] = map[string]any{}
	res.Capabilities.Experimental = exp
	res.Instructions += " " + channelInstructions
	if sid == "" {
		return
	}
	t.mu.Lock()
	t.channels[sid] = true
	t.mu.Unlock()
}
