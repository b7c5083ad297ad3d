package tools

import (
	"context"
	"strings"

	"github.com/mark3labs/mcp-go/server"
)

// Scope keys (docs/reference.md#scope).
const (
	stdioScope  = "stdio"
	agentPrefix = "agent:"
)

// principalKey is the context key of the HTTP principal.
type principalKey struct{}

// WithPrincipal returns ctx carrying the HTTP principal of a request: the agent id its bearer token maps to in
// the tokens file, or "" when the request has no agent id (shared token, or no tokens configured). The HTTP
// front end stores it in every request's context before mcp-go sees the request, so that tool calls, resource
// reads and the session hooks (whose contexts derive from the request's) all see it.
func WithPrincipal(ctx context.Context, agentID string) context.Context {
	return context.WithValue(ctx, principalKey{}, agentID)
}

// PrincipalFromContext returns the agent id stored by WithPrincipal ("" = none).
func PrincipalFromContext(ctx context.Context) string {
	agent, _ := ctx.Value(principalKey{}).(string)
	return agent
}

// sessionScope is the scope of MCP session sid as seen from ctx (docs/reference.md#scope): agent:<id> when the
// context carries an agent id, else the MCP session id itself (stdio's session id is "stdio"). "" means the session
// cannot own a scope: a session id that looks like an agent scope (mcp-go's GET /mcp accepts any session id header)
// must never join that agent's scope.
func sessionScope(ctx context.Context, sid string) string {
	if sid == "" {
		return ""
	}
	if agent := PrincipalFromContext(ctx); agent != "" {
		return agentPrefix + agent
	}
	if strings.HasPrefix(sid, agentPrefix) {
		return ""
	}
	return sid
}

// isSessionIDScope reports whether scope ends with its MCP session (docs/reference.md#disconnect): neither stdio
// nor an agent scope.
func isSessionIDScope(scope string) bool {
	return scope != "" && scope != stdioScope && !strings.HasPrefix(scope, agentPrefix)
}

// scopeOf is the scope of a request; ok is false when the request has no usable MCP session.
func scopeOf(ctx context.Context) (string, bool) {
	cs := server.ClientSessionFromContext(ctx)
	if cs == nil {
		return "", false
	}
	scope := sessionScope(ctx, cs.SessionID())
	return scope, scope != ""
}
