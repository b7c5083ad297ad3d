package integration_test

// Helpers of the HTTP tests: an execmcp server started with --listen / EXECMCP_LISTEN on 127.0.0.1:0
// (through the harness's StartServer, so that the harness's leak checks apply), and MCP clients over Streamable
// HTTP and SSE built on the official Go SDK client.
//
// The SDK client drops notifications it does not know (notifications/heartbeat), so every HTTP client has a tap in
// its http.Client's RoundTripper: it parses the server-sent events of every response (the standing GET stream, SSE
// responses to POSTs, the /sse stream) and the JSON bodies, and records each JSON-RPC message with its arrival time
// and the request it came on. The SDK keeps reading its streams, so arrival times are the times the bytes were read.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// listeningRe matches the log line the server writes once it listens (docs/reference.md#command-line).
var listeningRe = regexp.MustCompile(`msg=listening addr=(\S+) mcp=(\S+) sse=(\S+)`)

// HTTPOptions configure an HTTP server start.
type HTTPOptions struct {
	Env       []string // extra KEY=VALUE entries
	Config    string   // JSON config file content
	ViaEnv    bool     // listen via EXECMCP_LISTEN instead of --listen
	Listen    string   // address; default 127.0.0.1:0
	Tokens    string   // tokens file content (JSON), written with mode 0600 and passed with EXECMCP_AUTH_TOKENS_FILE
	AuthToken string   // EXECMCP_AUTH_TOKEN
}

// HTTPServer is an execmcp server in HTTP mode.
type HTTPServer struct {
	*Server
	Addr string // host:port actually bound
	Base string // http://host:port
}

// StartHTTPServer starts execmcp in HTTP mode and waits for its listening line.
func StartHTTPServer(t testing.TB, o HTTPOptions) *HTTPServer {
	t.Helper()
	listen := o.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	env := append([]string(nil), o.Env...)
	var args []string
	if o.ViaEnv {
		env = append(env, "EXECMCP_LISTEN="+listen)
	} else {
		args = []string{"--listen", listen}
	}
	if o.AuthToken != "" {
		env = append(env, "EXECMCP_AUTH_TOKEN="+o.AuthToken)
	}
	if o.Tokens != "" {
		p := filepath.Join(t.TempDir(), "tokens.json")
		if err := os.WriteFile(p, []byte(o.Tokens), 0o600); err != nil {
			t.Fatal(err)
		}
		env = append(env, "EXECMCP_AUTH_TOKENS_FILE="+p)
	}
	s := StartServer(t, Options{Raw: true, Env: env, Args: args, Config: o.Config})
	var m []string
	ok := waitFor(20*time.Second, func() bool {
		m = listeningRe.FindStringSubmatch(s.Stderr())
		if m != nil {
			return true
		}
		select {
		case <-s.exited:
			return true
		default:
			return false
		}
	})
	if !ok || m == nil {
		t.Fatalf("no listening line from the HTTP server within 20 s\nstderr:\n%s", s.Stderr())
	}
	hs := &HTTPServer{Server: s, Addr: m[1], Base: "http://" + m[1]}
	if m[2] != hs.Base+"/mcp" || m[3] != hs.Base+"/sse" {
		t.Errorf("listening line %q: want mcp=%s/mcp sse=%s/sse", m[0], hs.Base, hs.Base)
	}
	return hs
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP tap

// hmsg is one JSON-RPC message received over HTTP.
type hmsg struct {
	message
	Stream string // the request it arrived on: "GET /mcp", "POST /mcp", "GET /sse"
}

// hexchange is one HTTP request/response seen by the tap.
type hexchange struct {
	Method, Path string
	Status       int
	ContentType  string
	SessionID    string // Mcp-Session-Id response header
}

type httpTap struct {
	mu        sync.Mutex
	msgs      []hmsg
	bad       []string
	exchanges []hexchange
	endpoint  string // data of the SSE endpoint event
	changed   chan struct{}
}

func newHTTPTap() *httpTap { return &httpTap{changed: make(chan struct{})} }

func (h *httpTap) record(data []byte, stream string) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return
	}
	var items []json.RawMessage
	if data[0] == '[' {
		if json.Unmarshal(data, &items) != nil {
			items = []json.RawMessage{data}
		}
	} else {
		items = []json.RawMessage{data}
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, it := range items {
		m, bad, ok := parseMessage(it, now)
		if !ok {
			h.bad = append(h.bad, bad)
			continue
		}
		h.msgs = append(h.msgs, hmsg{message: m, Stream: stream})
	}
	h.notifyLocked()
}

func (h *httpTap) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *httpTap) snapshot() ([]hmsg, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hmsg(nil), h.msgs...), h.changed
}

func (h *httpTap) addExchange(e hexchange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.exchanges = append(h.exchanges, e)
	h.notifyLocked()
}

func (h *httpTap) Exchanges() []hexchange {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hexchange(nil), h.exchanges...)
}

func (h *httpTap) setEndpoint(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endpoint = s
	h.notifyLocked()
}

// sseTee parses server-sent events from the bytes its reader returns.
type sseTee struct {
	r       io.ReadCloser
	tap     *httpTap
	stream  string
	partial []byte
	event   string
	data    [][]byte
}

func (s *sseTee) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.feed(p[:n])
	}
	return n, err
}

func (s *sseTee) Close() error { return s.r.Close() }

func (s *sseTee) feed(b []byte) {
	s.partial = append(s.partial, b...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			return
		}
		line := bytes.TrimSuffix(s.partial[:i], []byte("\r"))
		s.partial = s.partial[i+1:]
		s.line(line)
	}
}

func (s *sseTee) line(line []byte) {
	if len(line) == 0 {
		if len(s.data) > 0 {
			data := bytes.Join(s.data, []byte("\n"))
			switch s.event {
			case "", "message":
				s.tap.record(data, s.stream)
			case "endpoint":
				s.tap.setEndpoint(string(data))
			}
		}
		s.event, s.data = "", nil
		return
	}
	if line[0] == ':' {
		return
	}
	field, value, _ := bytes.Cut(line, []byte(":"))
	value = bytes.TrimPrefix(value, []byte(" "))
	switch string(field) {
	case "event":
		s.event = string(value)
	case "data":
		s.data = append(s.data, append([]byte(nil), value...))
	}
}

// tapTransport adds the bearer token and extra headers to every request and taps every response.
type tapTransport struct {
	base   *http.Transport
	token  string
	header http.Header
	tap    *httpTap
}

func (h *tapTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	for k, v := range h.header {
		req.Header[k] = v
	}
	resp, err := h.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	ct := resp.Header.Get("Content-Type")
	h.tap.addExchange(hexchange{Method: req.Method, Path: req.URL.Path, Status: resp.StatusCode, ContentType: ct,
		SessionID: resp.Header.Get("Mcp-Session-Id")})
	stream := req.Method + " " + req.URL.Path
	switch {
	case strings.HasPrefix(ct, "text/event-stream"):
		resp.Body = &sseTee{r: resp.Body, tap: h.tap, stream: stream}
	case strings.HasPrefix(ct, "application/json"):
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		h.tap.record(b, stream)
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP MCP client

// ClientOpts configure an HTTP client.
type ClientOpts struct {
	Token    string      // bearer token
	SSE      bool        // use /sse + /message instead of /mcp
	Protocol string      // "" = 2025-11-25, "latest" = the SDK default
	Header   http.Header // extra request headers
	NoGET    bool        // Streamable HTTP without the standing GET stream
	NoWait   bool        // do not wait for the standing GET stream to be open
}

// HClient is one MCP client over HTTP.
type HClient struct {
	calls
	t      testing.TB
	srv    *HTTPServer
	Sess   *mcp.ClientSession
	Tap    *httpTap
	HTTP   *http.Client
	base   *http.Transport
	sse    bool
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	outSchemas schemaCache
	closed     bool
}

// newTapClient returns an http.Client with a tap.
func newTapClient(token string, header http.Header) (*http.Client, *http.Transport, *httpTap) {
	base := &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}
	tp := newHTTPTap()
	return &http.Client{Transport: &tapTransport{base: base, token: token, header: header, tap: tp}}, base, tp
}

// Dial connects an MCP client; it returns the error instead of failing the test.
func (hs *HTTPServer) Dial(t testing.TB, o ClientOpts) (*HClient, error) {
	t.Helper()
	httpc, base, tp := newTapClient(o.Token, o.Header)
	c := &HClient{t: t, srv: hs, Tap: tp, HTTP: httpc, base: base, sse: o.SSE}
	c.calls = calls{t: t, call: c.Call}
	// The SSE transport ties its GET stream to the Connect context: use one that lives as long as the client.
	c.ctx, c.cancel = context.WithCancel(context.Background())
	client := mcp.NewClient(&mcp.Implementation{Name: "execmcp-http-test", Version: "1.0.0"},
		&mcp.ClientOptions{Capabilities: &mcp.ClientCapabilities{}})
	var tr mcp.Transport
	if o.SSE {
		tr = &mcp.SSEClientTransport{Endpoint: hs.Base + "/sse", HTTPClient: httpc}
	} else {
		tr = &mcp.StreamableClientTransport{Endpoint: hs.Base + "/mcp", HTTPClient: httpc, DisableStandaloneSSE: o.NoGET}
	}
	proto := o.Protocol
	switch proto {
	case "":
		proto = legacyProtocol
	case "latest":
		proto = ""
	}
	timer := time.AfterFunc(20*time.Second, c.cancel)
	sess, err := client.Connect(c.ctx, tr, &mcp.ClientSessionOptions{ProtocolVersion: proto})
	timer.Stop()
	if err != nil {
		c.cancel()
		base.CloseIdleConnections()
		return nil, err
	}
	c.Sess = sess
	t.Cleanup(c.Close)
	if !o.SSE && !o.NoGET && !o.NoWait {
		if !waitFor(10*time.Second, c.hasGETStream) {
			t.Errorf("the Streamable HTTP client did not open its standing GET stream within 10 s; exchanges %+v", tp.Exchanges())
		}
	}
	return c, nil
}

// Connect connects an MCP client and fails the test on error.
func (hs *HTTPServer) Connect(t testing.TB, o ClientOpts) *HClient {
	t.Helper()
	c, err := hs.Dial(t, o)
	if err != nil {
		t.Fatalf("connecting over HTTP (%+v): %v\nserver stderr:\n%s", o, err, hs.Stderr())
	}
	return c
}

// hasGETStream reports whether a GET /mcp answered 200 text/event-stream.
func (c *HClient) hasGETStream() bool {
	for _, e := range c.Tap.Exchanges() {
		if e.Method == "GET" && e.Path == "/mcp" && e.Status == 200 && strings.HasPrefix(e.ContentType, "text/event-stream") {
			return true
		}
	}
	return false
}

// SessionID is the MCP session id: Mcp-Session-Id on Streamable HTTP, the sessionId of the endpoint event on SSE.
func (c *HClient) SessionID() string {
	if !c.sse {
		return c.Sess.ID()
	}
	c.Tap.mu.Lock()
	ep := c.Tap.endpoint
	c.Tap.mu.Unlock()
	u, err := url.Parse(ep)
	if err != nil {
		return ""
	}
	return u.Query().Get("sessionId")
}

// Close closes the MCP session (Streamable HTTP: DELETE; SSE: the stream closes).
func (c *HClient) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	done := make(chan struct{})
	go func() { c.Sess.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.t.Errorf("closing the HTTP client session took more than 10 s")
	}
	c.cancel()
	c.base.CloseIdleConnections()
}

// Messages returns every JSON-RPC message received so far.
func (c *HClient) Messages() []hmsg { m, _ := c.Tap.snapshot(); return m }

// Notes returns the notifications with the given method.
func (c *HClient) Notes(method string) []hmsg {
	var out []hmsg
	for _, m := range c.Messages() {
		if m.isNotification() && m.Method == method {
			out = append(out, m)
		}
	}
	return out
}

// HExitMessage is an exit notifications/message with the stream it came on.
type HExitMessage struct {
	ExitMessage
	Stream string
}

// ExitMessages returns the notifications/message whose data.sessionId is id ("" = all).
func (c *HClient) ExitMessages(id string) []HExitMessage {
	var out []HExitMessage
	for _, m := range c.Notes("notifications/message") {
		if e, ok := decodeExitMessage(m.message, id); ok {
			out = append(out, HExitMessage{e, m.Stream})
		}
	}
	return out
}

func (c *HClient) tapChanged() <-chan struct{} { _, ch := c.Tap.snapshot(); return ch }

// WaitExitMessages waits until at least n exit messages for id arrived.
func (c *HClient) WaitExitMessages(id string, n int, d time.Duration) []HExitMessage {
	var msgs []HExitMessage
	awaitTap(d, c.tapChanged, func() bool {
		msgs = c.ExitMessages(id)
		return len(msgs) >= n
	})
	return msgs
}

// WaitNotes waits until at least n notifications with method satisfy pred.
func (c *HClient) WaitNotes(method string, n int, d time.Duration, pred func(hmsg) bool) []hmsg {
	var got []hmsg
	awaitTap(d, c.tapChanged, func() bool {
		got = nil
		for _, m := range c.Notes(method) {
			if pred == nil || pred(m) {
				got = append(got, m)
			}
		}
		return len(got) >= n
	})
	return got
}

// CallCtx calls a tool.
func (c *HClient) CallCtx(ctx context.Context, tool string, args map[string]any) (*Result, error) {
	start := time.Now()
	res, err := c.Sess.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return nil, err
	}
	r := newResult(res, time.Since(start))
	c.observe(tool, r)
	return r, nil
}

// Call calls a tool (bounded by 90 s) and fails the test on a protocol error.
func (c *HClient) Call(tool string, args map[string]any) *Result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r, err := c.CallCtx(ctx, tool, args)
	if err != nil {
		c.t.Fatalf("tools/call %s %v over HTTP: %v", tool, args, err)
	}
	return r
}

// ReadResource reads a resource; it returns the error of the read.
func (c *HClient) ReadResource(uri string) (*mcp.ReadResourceResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Sess.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
}

// Subscribe subscribes to a resource URI.
func (c *HClient) Subscribe(uri string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Sess.Subscribe(ctx, &mcp.SubscribeParams{URI: uri}); err != nil {
		c.t.Fatalf("resources/subscribe %s: %v", uri, err)
	}
}

func (c *HClient) observe(tool string, r *Result) {
	c.outSchemas.observe(c.t, c.Sess, c.srv.TrackPG, tool, r)
}

// ---------------------------------------------------------------------------------------------------------------
// raw HTTP

// rawResponse is a raw HTTP answer.
type rawResponse struct {
	Status int
	Header http.Header
	Body   string
}

// rawDo sends one request with a 10 s limit; streams are read for at most 300 ms.
func rawDo(t testing.TB, method, u string, header http.Header, body string) rawResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if h := header.Get("Host"); h != "" {
		req.Host = h
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	var b []byte
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		// Read what arrives in 300 ms (a stream stays open).
		done := make(chan struct{})
		var buf bytes.Buffer
		go func() {
			defer close(done)
			sc := bufio.NewReader(resp.Body)
			tmp := make([]byte, 4096)
			for {
				n, err := sc.Read(tmp)
				buf.Write(tmp[:n])
				if err != nil {
					return
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(300 * time.Millisecond):
			resp.Body.Close()
			<-done
		}
		b = buf.Bytes()
	} else {
		b, _ = io.ReadAll(resp.Body)
	}
	return rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// mcpHeaders are the headers of a Streamable HTTP POST.
func mcpHeaders(pairs ...string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	for i := 0; i+1 < len(pairs); i += 2 {
		h.Set(pairs[i], pairs[i+1])
	}
	return h
}

const rawInitialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw-http-test","version":"1"}}}`

// pctl returns the p-th percentile (nearest rank) of d, which it sorts.
func pctl(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	k := (len(s)*p + 99) / 100
	if k < 1 {
		k = 1
	}
	return s[k-1]
}

// readNanoFile reads a nanosecond timestamp written by `date +%s%N > f`.
func readNanoFile(t testing.TB, p string, d time.Duration) (time.Time, bool) {
	var ts time.Time
	ok := waitFor(d, func() bool {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return false
		}
		ts = time.Unix(0, ns)
		return true
	})
	return ts, ok
}
