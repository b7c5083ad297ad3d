// This file owns the HTTP front end (docs/reference.md#http, docs/reference.md#http-auth): the request pipeline
// in front of mcp-go (body limit, bearer check, Origin check), the two MCP transports on one mux, and serving
// until a signal arrives.

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/execmcp/execmcp/tools"
)

// HTTP server limits (docs/reference.md#http).
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpIdleTimeout       = 120 * time.Second
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

// httpFront is the request pipeline in front of mcp-go: body limit, authentication, Origin check
// (docs/reference.md#http-auth). It stores the request's principal in the request context (tools.WithPrincipal).
type httpFront struct {
	tokens   []tokenDigest
	loopback bool
	logger   *slog.Logger
}

// tokenDigest is a configured token as a SHA-256 digest, so that comparisons take the same time whatever
// the lengths.
type tokenDigest struct {
	sum   [sha256.Size]byte
	agent string
}

func newHTTPFront(tokens []authToken, loopback bool, logger *slog.Logger) *httpFront {
	f := &httpFront{loopback: loopback, logger: logger}
	for _, tk := range tokens {
		f.tokens = append(f.tokens, tokenDigest{sum: sha256.Sum256([]byte(tk.token)), agent: tk.agent})
	}
	return f
}

// wrap puts the pipeline in front of next.
func (f *httpFront) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// 1. Body limit.
		if r.ContentLength > httpMaxBodyBytes {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, httpMaxBodyBytes)
		}
		// 2. Authentication.
		agent, ok := f.authenticate(w, r)
		if !ok {
			return
		}
		// 3. Origin.
		if origin := r.Header.Get("Origin"); f.loopback && origin != "" && !loopbackOrigin(origin) {
			http.Error(w, fmt.Sprintf("Forbidden: invalid Origin header %q", origin), http.StatusForbidden)
			return
		}
		// A body of unknown length is read here, so that one over the limit is answered 413 rather than as
		// a JSON-RPC parse error.
		if r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				} else {
					http.Error(w, "cannot read the request body", http.StatusBadRequest)
				}
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		// 4. mcp-go (with its Host check).
		next.ServeHTTP(w, r.WithContext(tools.WithPrincipal(r.Context(), agent)))
	})
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

// httpTransports are the two MCP transports on one mux.
type httpTransports struct {
	handler    http.Handler
	streamable *server.StreamableHTTPServer
	sse        *server.SSEServer
}

// newHTTPTransports builds the mux: /mcp (Streamable HTTP), /sse + /message (SSE), everything else 404.
func newHTTPTransports(t *tools.Tools, cfg config, logger *slog.Logger) *httpTransports {
	host, _, _ := net.SplitHostPort(cfg.Listen)
	front := newHTTPFront(cfg.Tokens, isLoopbackHost(host), logger)
	s := t.MCPServer()
	streamable := server.NewStreamableHTTPServer(s,
		server.WithEndpointPath("/mcp"),
		server.WithStateful(true),
		server.WithStreamableHTTPProtocolVersions(mcp.LegacyProtocolVersions()...),
		server.WithHeartbeatInterval(httpHeartbeat),
		server.WithSessionIdleTTL(httpSessionIdleTTL),
		server.WithHTTPContextFunc(principalContext),
		server.WithStreamableHTTPLogger(logger),
	)
	sse := server.NewSSEServer(s,
		server.WithSSEEndpoint("/sse"),
		server.WithMessageEndpoint("/message"),
		server.WithUseFullURLForMessageEndpoint(false),
		server.WithKeepAliveInterval(httpHeartbeat),
		server.WithSSEContextFunc(principalContext),
	)
	mux := http.NewServeMux()
	mux.Handle("/mcp", front.wrap(requireLiveSession(t, streamable)))
	mux.Handle("/sse", front.wrap(sse.SSEHandler()))
	mux.Handle("/message", front.wrap(sse.MessageHandler()))
	return &httpTransports{handler: mux, streamable: streamable, sse: sse}
}

// requireLiveSession answers 404 to a GET /mcp whose Mcp-Session-Id is not a live session (unknown, deleted or
// swept), as POST already does in stateful mode, so the client re-initializes instead of listening on a stream
// that belongs to no session.
func requireLiveSession(t *tools.Tools, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("Mcp-Session-Id"); r.Method == http.MethodGet && id != "" && !t.LiveSession(id) {
			http.Error(w, "session not found", http.StatusNotFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// closeSessions closes every MCP session of both transports (their hooks unregister them) and stops the
// Streamable HTTP idle sweeper.
func (h *httpTransports) closeSessions(ctx context.Context) {
	_ = h.streamable.Shutdown(ctx) // not started with Start: closes the sessions and stops the sweeper only
	h.sse.CloseSessions()
}

// serveHTTP serves MCP over HTTP until a signal arrives or the listener fails, then shuts down
// (docs/reference.md#shutdown): cancel the base context, close the MCP sessions, shut the HTTP server down (at
// most 2000 ms), terminate every process group. A second signal during shutdown kills every group at once and
// exits 1.
func serveHTTP(t *tools.Tools, cfg config, logger *slog.Logger, stderr io.Writer) int {
	sigs, stop := notifyShutdown()
	defer stop()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "execmcp: %v\n", err)
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
	go func() { served <- srv.Serve(ln) }()

	status := 0
	select {
	case err := <-served:
		logger.Error("HTTP listener failed; shutting down", "err", err)
		status = 1
	case sig := <-sigs:
		logger.Info("signal received; shutting down", "signal", sig.String())
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

// ---------------------------------------------------------------------------------------------------------------
