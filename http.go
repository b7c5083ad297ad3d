// This file owns the HTTP front end (docs/reference.md#http, docs/reference.md#http-auth): the request pipeline
// in front of mcp-go (body limit, bearer check, Origin and Host checks, body deadline), the MCP sessions of both
// transports (who owns each, how many there may be), the two MCP transports on one handler, and serving until a
// signal arrives.

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/execmcp/execmcp/tools"
)

// HTTP server limits (docs/reference.md#http).
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpIdleTimeout       = 60 * time.Second
	httpBodyTimeout       = 30 * time.Second
	httpMaxHeaderBytes    = 65536
	httpMaxBodyBytes      = 8 << 20
	httpShutdownLimit     = 2000 * time.Millisecond
	httpHeartbeat         = 20 * time.Second
	httpSessionIdleTTL    = 10 * time.Minute
)

// isLoopbackHost reports whether the host part of a listen address (or an Origin's host) is loopback:
// localhost, 127.0.0.0/8 or ::1 (docs/reference.md#http-auth).
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// hostOf is the host part of a host:port address, or addr itself when it has no port.
func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// httpFront is the request pipeline in front of mcp-go: body limit, authentication, Origin and Host checks, the
// body read under a deadline (docs/reference.md#http-auth). It stores the request's principal in the request
// context (tools.WithPrincipal).
//
// Nothing before authentication waits for the client: a refused request is answered at once and its connection
// closed, so a client that declares a body and withholds it holds no connection (net/http would otherwise try
// to read the unread body before it sends the answer).
type httpFront struct {
	tokens      []tokenDigest
	loopback    bool
	bodyTimeout time.Duration
	logger      *slog.Logger
}

// tokenDigest is a configured token as a SHA-256 digest, so that comparisons take the same time whatever
// the lengths.
type tokenDigest struct {
	sum   [sha256.Size]byte
	agent string
}

func newHTTPFront(tokens []authToken, loopback bool, logger *slog.Logger) *httpFront {
	f := &httpFront{loopback: loopback, bodyTimeout: httpBodyTimeout, logger: logger}
	for _, tk := range tokens {
		f.tokens = append(f.tokens, tokenDigest{sum: sha256.Sum256([]byte(tk.token)), agent: tk.agent})
	}
	return f
}

// refuse answers a request the front end will not serve and closes its connection.
func refuse(w http.ResponseWriter, msg string, code int) {
	closeAfterAnswer(w)
	http.Error(w, msg, code)
}

// closeAfterAnswer makes the connection close once the answer is sent, without reading what is left of the
// request body: net/http reads an unread body (up to 256 KiB) before it closes or reuses a connection, and
// would wait for one the client withholds. A read deadline in the past ends that read at once.
func closeAfterAnswer(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now()) // not supported by test recorders
}

// wrap puts the pipeline in front of next.
func (f *httpFront) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// 1. Body limit (a declared length).
		if r.ContentLength > httpMaxBodyBytes {
			refuse(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		// 2. Authentication.
		agent, ok := f.authenticate(w, r)
		if !ok {
			return
		}
		// 3. Origin.
		if origin := r.Header.Get("Origin"); f.loopback && origin != "" && !loopbackOrigin(origin) {
			refuse(w, fmt.Sprintf("Forbidden: invalid Origin header %q", origin), http.StatusForbidden)
			return
		}
		// 4. Host: mcp-go's DNS-rebinding check, answered here so that it too closes the connection.
		if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && local != nil &&
			isLoopbackHost(hostOf(local.String())) && !isLoopbackHost(hostOf(r.Host)) {
			refuse(w, fmt.Sprintf("Forbidden: invalid Host header %q", r.Host), http.StatusForbidden)
			return
		}
		// 5. The body, read here under a deadline (a client cannot hold the connection by withholding it) and
		// at most 8 MiB, so that one over the limit is answered 413 rather than as a JSON-RPC parse error.
		if r.Body != nil && r.Body != http.NoBody {
			body, err := readBody(w, r, f.bodyTimeout)
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					refuse(w, "request body too large", http.StatusRequestEntityTooLarge)
				} else {
					refuse(w, "cannot read the request body", http.StatusBadRequest)
				}
				return
			}
			r.Body = &requestBody{Reader: bytes.NewReader(body), data: body}
			r.ContentLength = int64(len(body))
		}
		// 6. The sessions check and mcp-go.
		next.ServeHTTP(w, r.WithContext(tools.WithPrincipal(r.Context(), agent)))
	})
}

// readBody reads the request body, at most httpMaxBodyBytes, under a read deadline timeout from now. The deadline
// bounds the body only and is lifted afterwards (net/http lifts it too once the body is read): the connection may
// then carry a long response (an SSE-upgraded POST) while the server watches it for the client going away.
func readBody(w http.ResponseWriter, r *http.Request, timeout time.Duration) ([]byte, error) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(timeout)) // not supported by test recorders: no deadline there
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	return io.ReadAll(http.MaxBytesReader(w, r.Body, httpMaxBodyBytes))
}

// requestBody is a request body the front end has read; the sessions check looks at its bytes without reading it.
type requestBody struct {
	*bytes.Reader
	data []byte
}

func (*requestBody) Close() error { return nil }

// bodyBytes returns the body the front end read ("" when it read none).
func bodyBytes(r *http.Request) []byte {
	if b, ok := r.Body.(*requestBody); ok {
		return b.data
	}
	return nil
}

// authenticate checks the bearer token when tokens are configured and answers 401 when it is missing or
// wrong. It returns the token's agent id.
func (f *httpFront) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	if len(f.tokens) == 0 {
		return "", true
	}
	reason := "missing bearer token"
	if scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " "); found && strings.EqualFold(scheme, "Bearer") {
		if token = strings.TrimSpace(token); token != "" {
			sum := sha256.Sum256([]byte(token))
			match := -1
			for i := range f.tokens { // every token is compared, whatever matches
				if subtle.ConstantTimeCompare(sum[:], f.tokens[i].sum[:]) == 1 {
					match = i
				}
			}
			if match >= 0 {
				return f.tokens[match].agent, true
			}
			reason = "invalid bearer token"
		}
	}
	f.logger.Warn("unauthorized request", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "reason", reason)
	w.Header().Set("WWW-Authenticate", `Bearer realm="execmcp"`)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	closeAfterAnswer(w)
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = io.WriteString(w, "unauthorized\n")
	return "", false
}

// loopbackOrigin reports whether an Origin header names a loopback host (any scheme and port).
func loopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return isLoopbackHost(u.Hostname())
}

// principalContext is the context function of both transports: the principal the front end stored in the
// request context (tools.WithPrincipal) is the request's.
func principalContext(ctx context.Context, r *http.Request) context.Context {
	return tools.WithPrincipal(ctx, tools.PrincipalFromContext(r.Context()))
}

// ---------------------------------------------------------------------------------------------------------------
// MCP sessions: owner and number (docs/reference.md#http)

// sessionKind is the transport that issued a session id; an id is usable only on its own transport.
type sessionKind uint8

const (
	streamableSession sessionKind = iota + 1
	sseSession
)

// httpSessions records the principal that created each live MCP session of both transports and bounds their
// number: at most max in all, at most perPrincipal for one principal (the agent id of the token, "" for the
// shared token or when no token is configured). The streamable transport's session ids come from it (it is that
// transport's session id manager) and end through it (DELETE, the idle sweep, shutdown); an SSE session lives
// as long as its GET /sse request. A request naming a session of another principal is answered exactly as one
// naming an unknown session, so that it learns nothing about it.
type httpSessions struct {
	max, perPrincipal int
	logger            *slog.Logger

	mu     sync.Mutex
	owners map[string]sessionOwner // session id -> owner
	counts map[string]int          // principal -> sessions live or being created
	total  int
}

type sessionOwner struct {
	principal string
	kind      sessionKind
}

// sessionSlot is the place an initialize (Streamable HTTP) or a GET /sse reserves before its session id exists.
type sessionSlot struct {
	principal string
	kind      sessionKind
	sid       string // the id issued for it; "" while none is
	done      bool   // issued or released
}

func newHTTPSessions(maxSessions int, logger *slog.Logger) *httpSessions {
	if maxSessions < 1 {
		maxSessions = defaultHTTPMaxSessions
	}
	return &httpSessions{
		max: maxSessions, perPrincipal: max(1, maxSessions/4), logger: logger,
		owners: map[string]sessionOwner{}, counts: map[string]int{},
	}
}

// reserve takes a place for a new session of principal; ok is false when either bound is reached.
func (h *httpSessions) reserve(principal string, kind sessionKind) (*sessionSlot, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.total >= h.max || h.counts[principal] >= h.perPrincipal {
		return nil, false
	}
	h.total++
	h.counts[principal]++
	return &sessionSlot{principal: principal, kind: kind}, true
}

// issue gives the slot its session id; "" when the slot has one already or was released.
func (h *httpSessions) issue(slot *sessionSlot) string {
	id := newUUID()
	if slot.kind == streamableSession {
		id = "mcp-session-" + id
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if slot.done {
		return ""
	}
	slot.done, slot.sid = true, id
	h.owners[id] = sessionOwner{principal: slot.principal, kind: slot.kind}
	return id
}

// release gives back the place of a slot that got no session id (the request ended before one was issued).
func (h *httpSessions) release(slot *sessionSlot) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !slot.done {
		slot.done = true
		h.dropLocked(slot.principal)
	}
}

// finish ends the session of a slot whose session lives as long as its request (SSE), or releases the slot.
func (h *httpSessions) finish(slot *sessionSlot) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !slot.done {
		slot.done = true
		h.dropLocked(slot.principal)
	} else if o, ok := h.owners[slot.sid]; ok && o.kind == slot.kind {
		delete(h.owners, slot.sid)
		h.dropLocked(o.principal)
	}
}

// end ends the session id of kind: its place is free again. Unknown ids are ignored.
func (h *httpSessions) end(id string, kind sessionKind) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if o, ok := h.owners[id]; ok && o.kind == kind {
		delete(h.owners, id)
		h.dropLocked(o.principal)
	}
}

func (h *httpSessions) dropLocked(principal string) {
	h.total--
	if h.counts[principal]--; h.counts[principal] <= 0 {
		delete(h.counts, principal)
	}
}

// owns reports whether id is a live session of kind created by principal.
func (h *httpSessions) owns(principal, id string, kind sessionKind) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	o, ok := h.owners[id]
	return ok && o.principal == principal && o.kind == kind
}

// live returns the number of sessions live or being created, in all and of principal.
func (h *httpSessions) live(principal string) (total, own int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total, h.counts[principal]
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// slotKey is the context key of the request's session slot.
type slotKey struct{}

func slotFrom(r *http.Request) *sessionSlot {
	if r == nil {
		return nil
	}
	slot, _ := r.Context().Value(slotKey{}).(*sessionSlot)
	return slot
}

// errUnknownSession makes mcp-go answer 404 "Invalid session ID", its answer to an unknown session.
var errUnknownSession = errors.New("unknown session")

// ResolveSessionIdManager makes httpSessions the Streamable HTTP transport's session id manager resolver: the
// manager of a request knows its principal and slot. The idle sweep resolves with a nil request.
func (h *httpSessions) ResolveSessionIdManager(r *http.Request) server.SessionIdManager {
	return streamableIDs{h: h, r: r}
}

// streamableIDs is the session id manager of one Streamable HTTP request.
type streamableIDs struct {
	h *httpSessions
	r *http.Request
}

// Generate issues the id of the initialize's slot. A GET /mcp without a session id also asks for one: it gets
// an id recorded nowhere, for its own stream only.
func (m streamableIDs) Generate() string {
	if slot := slotFrom(m.r); slot != nil && slot.kind == streamableSession {
		if id := m.h.issue(slot); id != "" {
			return id
		}
	}
	return "mcp-session-" + newUUID()
}

// Validate accepts only a live session of the request's principal.
func (m streamableIDs) Validate(id string) (isTerminated bool, err error) {
	if m.r == nil || !m.h.owns(tools.PrincipalFromContext(m.r.Context()), id, streamableSession) {
		return false, errUnknownSession
	}
	return false, nil
}

// Terminate ends the session (DELETE, whose owner the sessions gate checked; the idle sweep; shutdown).
func (m streamableIDs) Terminate(id string) (isNotAllowed bool, err error) {
	m.h.end(id, streamableSession)
	return false, nil
}

// sseSessionID is the SSE transport's session id generator: it issues the id of the GET /sse request's slot.
func (h *httpSessions) sseSessionID(_ context.Context, r *http.Request) (string, error) {
	slot := slotFrom(r)
	if slot == nil || slot.kind != sseSession {
		return "", errors.New("no session slot")
	}
	if id := h.issue(slot); id != "" {
		return id, nil
	}
	return "", errors.New("session slot used")
}

// unknownStreamableSession is mcp-go's answer to an unknown Mcp-Session-Id.
func unknownStreamableSession(w http.ResponseWriter) {
	http.Error(w, "Invalid session ID", http.StatusNotFound)
}

// unknownSSESession is the answer to an unknown sessionId on /message: mcp-go's JSON-RPC error, with status 404.
func unknownSSESession(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_ = json.NewEncoder(w).Encode(mcp.NewJSONRPCError(mcp.NewRequestId(nil), mcp.INVALID_PARAMS, "Invalid session ID", nil))
}

// tooManySessions answers an initialize (or a GET /sse) beyond the session bounds: HTTP 429 with a JSON-RPC error
// carrying the request's id (null when it has none).
func (h *httpSessions) tooManySessions(w http.ResponseWriter, r *http.Request, id json.RawMessage) {
	principal := tools.PrincipalFromContext(r.Context())
	total, own := h.live(principal)
	h.logger.Warn("too many MCP sessions", "remote", r.RemoteAddr, "path", r.URL.Path, "agent", principal,
		"sessions", total, "agentSessions", own, "max", h.max, "maxPerAgent", h.perPrincipal)
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	body, _ := json.Marshal(jsonrpcErrorBody{JSONRPC: "2.0", ID: id, Error: jsonrpcErrorDetails{Code: -32000, Message: "too many sessions"}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write(append(body, '\n'))
}

// jsonrpcErrorBody is a JSON-RPC error response whose id is kept as the request gave it.
type jsonrpcErrorBody struct {
	JSONRPC string              `json:"jsonrpc"`
	ID      json.RawMessage     `json:"id"`
	Error   jsonrpcErrorDetails `json:"error"`
}

type jsonrpcErrorDetails struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// initializeID reports whether body is an initialize request, and its id.
func initializeID(body []byte) (json.RawMessage, bool) {
	if !bytes.Contains(body, []byte(`"initialize"`)) {
		return nil, false
	}
	var msg struct {
		Method string          `json:"method"`
		ID     json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Method != string(mcp.MethodInitialize) {
		return nil, false
	}
	return msg.ID, true
}

// mcpGate checks the sessions of /mcp before mcp-go: an initialize takes a place (429 when none is left); a GET
// or DELETE must name a live session of the request's principal (mcp-go itself checks the session of a POST
// through streamableIDs.Validate). A GET also needs the session to be live in the tools layer: mcp-go's GET
// /mcp would otherwise open a fresh, empty stream for a session id that is gone, instead of the 404 that tells
// the client to re-initialize.
func (h *httpSessions) mcpGate(t *tools.Tools, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		principal := tools.PrincipalFromContext(r.Context())
		id := r.Header.Get(server.HeaderKeySessionID)
		switch r.Method {
		case http.MethodGet:
			if id != "" && (!h.owns(principal, id, streamableSession) || !t.LiveSession(id)) {
				unknownStreamableSession(w)
				return
			}
		case http.MethodDelete:
			if !h.owns(principal, id, streamableSession) {
				unknownStreamableSession(w)
				return
			}
		case http.MethodPost:
			if reqID, ok := initializeID(bodyBytes(r)); ok {
				slot, ok := h.reserve(principal, streamableSession)
				if !ok {
					h.tooManySessions(w, r, reqID)
					return
				}
				defer h.release(slot) // the initialize ended before mcp-go asked for its id
				r = r.WithContext(context.WithValue(r.Context(), slotKey{}, slot))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// sseGate counts the session of a GET /sse for as long as its stream lasts (429 when no place is left).
func (h *httpSessions) sseGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			next.ServeHTTP(w, r) // mcp-go answers 405
			return
		}
		slot, ok := h.reserve(tools.PrincipalFromContext(r.Context()), sseSession)
		if !ok {
			h.tooManySessions(w, r, nil)
			return
		}
		defer h.finish(slot)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), slotKey{}, slot)))
	})
}

// messageGate lets a POST /message through only for a live SSE session of the request's principal.
func (h *httpSessions) messageGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.URL.Query().Get("sessionId"); id != "" && !h.owns(tools.PrincipalFromContext(r.Context()), id, sseSession) {
			unknownSSESession(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ---------------------------------------------------------------------------------------------------------------
// Transports and serving

// httpTransports are the two MCP transports on one handler, with the probes and the metrics beside them.
type httpTransports struct {
	handler    http.Handler
	streamable *server.StreamableHTTPServer
	sse        *server.SSEServer
	sessions   *httpSessions
	health     *health
}

// newHTTPTransports builds the handler: /mcp (Streamable HTTP), /sse + /message (SSE), /healthz and /readyz
// (docs/reference.md#health), /metrics (docs/reference.md#metrics), everything else 404.
func newHTTPTransports(t *tools.Tools, cfg config, logger *slog.Logger) *httpTransports {
	host, _, _ := net.SplitHostPort(cfg.Listen)
	front := newHTTPFront(cfg.Tokens, isLoopbackHost(host), logger)
	sessions := newHTTPSessions(cfg.HTTPMaxSessions, logger)
	s := t.MCPServer()
	streamable := server.NewStreamableHTTPServer(s,
		server.WithEndpointPath("/mcp"),
		server.WithSessionIdManagerResolver(sessions), // stateful: ids are issued, checked and ended by sessions
		server.WithStreamableHTTPProtocolVersions(mcp.LegacyProtocolVersions()...),
		server.WithHeartbeatInterval(httpHeartbeat),
		server.WithSessionIdleTTL(httpSessionIdleTTL),
		server.WithHTTPContextFunc(principalContext),
		server.WithStreamableHTTPLogger(logger),
		// The front end bounds bodies (8 MiB, 413 with the connection closed); mcp-go's own bound (4 MiB by
		// default) must not answer first.
		server.WithMaxRequestBodyBytes(httpMaxBodyBytes),
	)
	sse := server.NewSSEServer(s,
		server.WithSSEEndpoint("/sse"),
		server.WithMessageEndpoint("/message"),
		server.WithUseFullURLForMessageEndpoint(false),
		server.WithKeepAliveInterval(httpHeartbeat),
		server.WithSSEContextFunc(principalContext),
		server.WithSessionIDGenerator(sessions.sseSessionID),
		server.WithSSEMaxRequestBodyBytes(httpMaxBodyBytes),
	)
	hl := &health{}
	mcpHandler := front.wrap(hl.gate(false, sessions.mcpGate(t, streamable)))
	sseHandler := front.wrap(hl.gate(true, sessions.sseGate(sse.SSEHandler())))
	messageHandler := front.wrap(hl.gate(true, sessions.messageGate(sse.MessageHandler())))
	metricsHandler := front.wrap(newMetricsHandler(t, buildVersion(), logger))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/mcp":
			mcpHandler.ServeHTTP(w, r)
		case "/sse":
			sseHandler.ServeHTTP(w, r)
		case "/message":
			messageHandler.ServeHTTP(w, r)
		case "/healthz", "/readyz": // no authentication, no Origin or Host check
			hl.probe(w, r)
		case "/metrics":
			metricsHandler.ServeHTTP(w, r)
		default: // before authentication: answered at once
			refuse(w, "404 page not found", http.StatusNotFound)
		}
	})
	return &httpTransports{handler: handler, streamable: streamable, sse: sse, sessions: sessions, health: hl}
}

// closeSessions closes every MCP session of both transports (their hooks unregister them) and stops the
// Streamable HTTP idle sweeper.
func (h *httpTransports) closeSessions(ctx context.Context) {
	_ = h.streamable.Shutdown(ctx) // not started with Start: closes the sessions and stops the sweeper only
	h.sse.CloseSessions()
}

// serveHTTP serves MCP over HTTP until a signal arrives or the listener fails. A signal starts a graceful stop
// (docs/reference.md#drain): readiness off and no new MCP session, then a wait for the tool calls in flight (at
// most the drain timeout; a second signal ends it). Then it shuts down (docs/reference.md#shutdown): cancel the
// base context, close the MCP sessions, shut the HTTP server down (at most 2000 ms), terminate every process
// group. A signal during the shutdown proper kills every group at once and exits 1.
func serveHTTP(t *tools.Tools, cfg config, logger *slog.Logger, stderr io.Writer) int {
	sigs, stop := notifyShutdown()
	defer stop()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		reportError(stderr, logger, err.Error())
		closeCtx, cancel := context.WithTimeout(context.Background(), cfg.KillGrace+5*time.Second)
		defer cancel()
		_ = t.Close(closeCtx)
		return 1
	}
	transports := newHTTPTransports(t, cfg, logger)
	baseCtx, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler:           transports.handler,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	addr := ln.Addr().String()
	logger.Info("listening", "addr", addr, "mcp", "http://"+addr+"/mcp", "sse", "http://"+addr+"/sse")
	served := make(chan error, 1)
	transports.health.setState(stateReady)
	go func() { served <- srv.Serve(ln) }()

	status := 0
	select {
	case err := <-served:
		logger.Error("HTTP listener failed; shutting down", "err", err)
		status = 1
	case sig := <-sigs:
		logger.Debug("signal received; shutting down", "signal", sig.String())
		transports.health.drain(t, cfg.DrainTimeout, sigs, logger)
	}

	t.BeginShutdown()
	cancelBase()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		ctx, cancel := context.WithTimeout(context.Background(), httpShutdownLimit)
		defer cancel()
		transports.closeSessions(ctx)
		if err := srv.Shutdown(ctx); err != nil {
			logger.Warn("HTTP server did not stop in time", "err", err)
			_ = srv.Close()
		}
	}()
	select {
	case <-stopped:
	case <-sigs:
		t.KillAll()
		return 1
	}

	return closeTools(t, cfg, logger, sigs, status)
}
