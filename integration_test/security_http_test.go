package integration_test

// Attacks on the HTTP front end through the real binary (docs/reference.md#http, docs/reference.md#http-auth):
// requests that declare a body and withhold it, alone and in a flood under a low descriptor limit; MCP session ids
// used by another principal on every path that takes one; and the bound on live MCP sessions, with an initialize
// flood that measures the server's memory.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// rawAnswer is what a raw connection received: the response head and body, and whether the server then closed
// the connection.
type rawAnswer struct {
	resp    *http.Response
	body    string
	closed  bool          // EOF after the response
	elapsed time.Duration // from the request to the EOF (or to the response when the connection stayed open)
	err     error
}

// sendRaw opens a connection to addr and writes req (a request head, "%s" standing for the address); it does not
// send the declared body.
func sendRaw(addr, req string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(c, strings.ReplaceAll(req, "%s", addr)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// readRaw reads one response from c and then waits for EOF, both by deadline.
func readRaw(c net.Conn, start time.Time, deadline time.Time) rawAnswer {
	_ = c.SetReadDeadline(deadline)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return rawAnswer{err: err, elapsed: time.Since(start)}
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	a := rawAnswer{resp: resp, body: string(b), elapsed: time.Since(start)}
	if err != nil {
		a.err = err
		return a
	}
	var one [1]byte
	n, err := br.Read(one[:])
	a.elapsed = time.Since(start)
	a.closed = n == 0 && errors.Is(err, io.EOF)
	if n > 0 {
		a.err = fmt.Errorf("unexpected byte %q after the response", one[0])
	}
	return a
}

// withheld is a request head that declares a body of 100 bytes and sends none.
func withheld(method, path string, headers ...string) string {
	h := method + " " + path + " HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
	for _, x := range headers {
		h += x + "\r\n"
	}
	return h + "Content-Length: 100\r\n\r\n"
}

// A request refused before authentication, or by the Origin or Host check, is answered at once and its
// connection closed, although it declares a body it withholds (docs/reference.md#http-auth).
func TestSecurityHTTPWithheldBody(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{Tokens: tokensFile(tokenAlpha, "alpha")})
	open := StartHTTPServer(t, HTTPOptions{}) // loopback, no token: the Origin and Host checks
	cases := []struct {
		name   string
		addr   string
		req    string
		status int
	}{
		// The attack as found first: no token, a declared body of 100 bytes, none sent.
		{"POST /mcp without a token, Content-Length 100, no body", hs.Addr, withheld("POST", "/mcp"), 401},
		{"POST /mcp with a wrong token", hs.Addr, withheld("POST", "/mcp", "Authorization: Bearer wrong-token-0123456789"), 401},
		{"POST /mcp chunked, no chunk", hs.Addr, "POST /mcp HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", 401},
		{"POST /message without a token", hs.Addr, withheld("POST", "/message?sessionId=00000000-0000-0000-0000-000000000000"), 401},
		{"GET /sse without a token, with a body", hs.Addr, withheld("GET", "/sse"), 401},
		{"DELETE /mcp without a token, with a body", hs.Addr, withheld("DELETE", "/mcp", "Mcp-Session-Id: mcp-session-00000000-0000-0000-0000-000000000000"), 401},
		{"POST to an unknown path", hs.Addr, withheld("POST", "/nope"), 404},
		{"POST /mcp with a foreign Origin", open.Addr, withheld("POST", "/mcp", "Origin: http://evil.example"), 403},
		{"POST /mcp with a foreign Host", open.Addr, strings.Replace(withheld("POST", "/mcp"), "Host: %s", "Host: evil.example", 1), 403},
	}
	for _, c := range cases {
		start := time.Now()
		conn, err := sendRaw(c.addr, c.req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		a := readRaw(conn, start, start.Add(5*time.Second))
		conn.Close()
		switch {
		case a.err != nil || a.resp == nil:
			t.Errorf("%s: no complete answer within 5 s: %v", c.name, a.err)
		case a.resp.StatusCode != c.status:
			t.Errorf("%s: HTTP %d %q, want %d", c.name, a.resp.StatusCode, a.body, c.status)
		case !a.resp.Close: // the Connection: close header (http.ReadResponse moves it to Close)
			t.Errorf("%s: no Connection: close header", c.name)
		case !a.closed:
			t.Errorf("%s: the connection stayed open after the answer", c.name)
		case a.elapsed > time.Second:
			t.Errorf("%s: answered and closed after %v, want within 1 s", c.name, a.elapsed.Round(time.Millisecond))
		default:
			t.Logf("%s: HTTP %d and EOF after %v", c.name, a.resp.StatusCode, a.elapsed.Round(100*time.Microsecond))
		}
	}
	// The refused requests cost the authenticated client nothing.
	wantText(t, hs.Connect(t, ClientOpts{Token: tokenAlpha}).Exec(`echo after-withheld`), "after-withheld")
}

// An authenticated client that withholds its body holds the connection for the body deadline of 30 s, then gets
// 400 and the connection closes (docs/reference.md#http).
func TestSecurityHTTPBodyDeadline(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{Tokens: tokensFile(tokenAlpha, "alpha")})
	start := time.Now()
	conn, err := sendRaw(hs.Addr, withheld("POST", "/mcp", "Authorization: Bearer "+tokenAlpha))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Meanwhile the same principal works normally.
	wantText(t, hs.Connect(t, ClientOpts{Token: tokenAlpha}).Exec(`echo meanwhile`), "meanwhile")
	a := readRaw(conn, start, start.Add(60*time.Second))
	switch {
	case a.err != nil || a.resp == nil:
		t.Fatalf("no answer within 60 s: %v", a.err)
	case a.resp.StatusCode != http.StatusBadRequest || a.body != "cannot read the request body\n":
		t.Errorf("HTTP %d %q, want 400 %q", a.resp.StatusCode, a.body, "cannot read the request body\n")
	case !a.closed:
		t.Errorf("the connection stayed open after the answer")
	case a.elapsed < 29*time.Second || a.elapsed > 45*time.Second:
		t.Errorf("answered after %v, want after the 30 s body deadline", a.elapsed.Round(time.Millisecond))
	default:
		t.Logf("withheld authenticated body: HTTP 400 and EOF after %v", a.elapsed.Round(time.Millisecond))
	}
}

// setNofile sets the descriptor limit (soft and hard) of the running process pid.
func setNofile(t *testing.T, pid int, n uint64) {
	t.Helper()
	lim := syscall.Rlimit{Cur: n, Max: n}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(syscall.RLIMIT_NOFILE),
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0); e != 0 {
		t.Fatalf("prlimit(%d, RLIMIT_NOFILE, %d): %v", pid, n, e)
	}
}

// A descriptor-exhaustion flood: with the server's descriptor limit lowered to 128, 1100 unauthenticated requests
// that withhold a declared body (and whose clients keep their connections open) are all answered 401, and an
// authenticated client connected in the middle of them is served.
func TestSecurityHTTPWithheldBodyFlood(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{Tokens: tokensFile(tokenAlpha, "alpha")})
	const limit = 128
	setNofile(t, hs.Pid(), limit)
	n := 1100
	var own syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &own); err == nil && own.Cur < uint64(n)+300 {
		n = int(own.Cur) - 300 // the test's own descriptors hold the client ends
		t.Logf("the test's descriptor limit is %d: %d requests", own.Cur, n)
	}
	start := time.Now()
	conns := make([]net.Conn, n)
	starts := make([]time.Time, n)
	var dialErrs atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := 0; w < 32; w++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				starts[i] = time.Now()
				c, err := sendRaw(hs.Addr, withheld("POST", "/mcp"))
				if err != nil {
					dialErrs.Add(1)
					continue
				}
				conns[i] = c
			}
		})
	}
	// The authenticated client connects while the flood is being sent.
	served := make(chan error, 1)
	var servedAfter time.Duration
	go func() {
		time.Sleep(50 * time.Millisecond)
		t0 := time.Now()
		c, err := hs.Dial(t, ClientOpts{Token: tokenAlpha, NoGET: true})
		if err == nil {
			// While the flood is in flight its connections may take the server's last descriptors for a moment,
			// and a spawn then fails with EMFILE; being served means an answer once they are released again.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			for {
				var r *Result
				r, err = c.CallCtx(ctx, "exec", map[string]any{"command": "echo served"})
				if err == nil && r.Text != "served" {
					err = fmt.Errorf("exec answered %s", r)
					if strings.Contains(r.Text, "too many open files") && ctx.Err() == nil {
						time.Sleep(100 * time.Millisecond)
						continue
					}
				}
				break
			}
			cancel()
		}
		servedAfter = time.Since(t0)
		served <- err
	}()
	wg.Wait()
	sent := time.Since(start)
	if err := <-served; err != nil {
		t.Errorf("the authenticated client was not served during the flood: %v (after %v)", err, servedAfter.Round(time.Millisecond))
	}
	var answered, closed, bad atomic.Int64
	var slowest atomic.Int64
	for i, c := range conns {
		if c == nil {
			continue
		}
		wg.Go(func() {
			defer c.Close()
			a := readRaw(c, starts[i], time.Now().Add(60*time.Second))
			if a.err != nil || a.resp == nil || a.resp.StatusCode != http.StatusUnauthorized {
				if bad.Add(1) <= 3 {
					t.Errorf("request %d: %v %v", i, a.err, a.resp)
				}
				return
			}
			answered.Add(1)
			if a.closed {
				closed.Add(1)
			}
			for {
				old := slowest.Load()
				if int64(a.elapsed) <= old || slowest.CompareAndSwap(old, int64(a.elapsed)) {
					break
				}
			}
		})
	}
	wg.Wait()
	if dialErrs.Load() > 0 || answered.Load() != int64(n) || closed.Load() != int64(n) {
		t.Errorf("%d requests: %d connect errors, %d answered 401, %d closed", n, dialErrs.Load(), answered.Load(), closed.Load())
	}
	if !waitFor(10*time.Second, func() bool { return fdCount(hs.Pid()) < 64 }) {
		t.Errorf("the server still holds %d descriptors after the flood", fdCount(hs.Pid()))
	}
	t.Logf("%d withheld-body requests under a %d-descriptor limit: sent in %v, %d answered 401 and closed, slowest %v; "+
		"authenticated client served in %v; server descriptors after: %d", n, limit, sent.Round(time.Millisecond),
		closed.Load(), time.Duration(slowest.Load()).Round(time.Millisecond), servedAfter.Round(time.Millisecond), fdCount(hs.Pid()))
	wantText(t, hs.Connect(t, ClientOpts{Token: tokenAlpha}).Exec(`echo after-flood`), "after-flood")
}

// answerShape is what an answer reveals: status, body and content headers (not the date).
func answerShape(r rawResponse) string {
	return fmt.Sprintf("%d %q content-type=%q nosniff=%q", r.Status, r.Body, r.Header.Get("Content-Type"),
		r.Header.Get("X-Content-Type-Options"))
}

// authHeader returns h with the bearer token set.
func authHeader(h http.Header, token string) http.Header {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Authorization", "Bearer "+token)
	return h
}

// An MCP session belongs to the principal that created it: another principal's request naming it (POST, GET and
// DELETE /mcp, SSE POST /message) is answered exactly as one naming an unknown session, and the owner's session
// keeps working (docs/reference.md#http, docs/reference.md#scope).
func TestSecurityHTTPSessionOwner(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{Tokens: tokensFile(tokenAlpha, "alpha", tokenBeta, "beta"), AuthToken: sharedToken})
	alpha := hs.Connect(t, ClientOpts{Token: tokenAlpha})
	alphaSSE := hs.Connect(t, ClientOpts{Token: tokenAlpha, SSE: true})
	sid, sseID := alpha.SessionID(), alphaSSE.SessionID()
	if sid == "" || sseID == "" {
		t.Fatalf("session ids %q %q", sid, sseID)
	}
	unknownSID := "mcp-session-6f1c2b7e-3d4a-4f5b-8c9d-0e1f2a3b4c5d"
	unknownSSE := "6f1c2b7e-3d4a-4f5b-8c9d-0e1f2a3b4c5d"
	marker := filepath.Join(hs.Dir, "injected")
	inject := `{"jsonrpc":"2.0","id":41,"method":"tools/call","params":{"name":"exec","arguments":{"command":"touch ` + marker + `"}}}`

	// The attack as found: alpha has a background command; beta, with its own token and alpha's session ids,
	// tries to read alpha's stream, inject a call into alpha's SSE stream and delete alpha's session.
	id, _ := alpha.Background(`sleep 1; echo alpha-secret-tail`)
	for _, who := range []struct{ name, token string }{{"beta", tokenBeta}, {"the shared token", sharedToken}} {
		mcpGET := func(id string) rawResponse {
			return rawDo(t, "GET", hs.Base+"/mcp", authHeader(http.Header{"Accept": {"text/event-stream"}, "Mcp-Session-Id": {id},
				"Mcp-Protocol-Version": {legacyProtocol}}, who.token), "")
		}
		mcpPOST := func(id string) rawResponse {
			return rawDo(t, "POST", hs.Base+"/mcp", authHeader(mcpHeaders("Mcp-Session-Id", id, "Mcp-Protocol-Version", legacyProtocol), who.token), inject)
		}
		mcpDELETE := func(id string) rawResponse {
			return rawDo(t, "DELETE", hs.Base+"/mcp", authHeader(http.Header{"Mcp-Session-Id": {id}, "Mcp-Protocol-Version": {legacyProtocol}}, who.token), "")
		}
		ssePOST := func(id string) rawResponse {
			return rawDo(t, "POST", hs.Base+"/message?sessionId="+id, authHeader(http.Header{"Content-Type": {"application/json"}}, who.token), inject)
		}
		for _, c := range []struct {
			what            string
			foreign, absent rawResponse
		}{
			{"GET /mcp (read alpha's stream)", mcpGET(sid), mcpGET(unknownSID)},
			{"POST /mcp (call in alpha's session)", mcpPOST(sid), mcpPOST(unknownSID)},
			{"POST /message (inject into alpha's SSE stream)", ssePOST(sseID), ssePOST(unknownSSE)},
			{"DELETE /mcp (end alpha's session)", mcpDELETE(sid), mcpDELETE(unknownSID)},
		} {
			if c.foreign.Status != http.StatusNotFound {
				t.Errorf("%s, %s: HTTP %d %q, want 404", who.name, c.what, c.foreign.Status, c.foreign.Body)
			}
			if f, u := answerShape(c.foreign), answerShape(c.absent); f != u {
				t.Errorf("%s, %s: answered %s, an unknown session %s", who.name, c.what, f, u)
			}
			if strings.Contains(c.foreign.Body, "alpha-secret") {
				t.Errorf("%s, %s: the answer carries alpha's output: %q", who.name, c.what, c.foreign.Body)
			}
		}
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the injected call ran: %s exists", marker)
	}
	for _, m := range alphaSSE.Messages() {
		if string(m.ID) == "41" {
			t.Errorf("alpha's SSE stream carried the answer to the injected call: %+v", m)
		}
	}
	// The owner's sessions keep working: the exit notification arrives on alpha's stream, calls succeed.
	if msgs := alpha.WaitExitMessages(id, 1, 10*time.Second); len(msgs) != 1 || !strings.Contains(msgs[0].Text(), "alpha-secret-tail") {
		t.Errorf("alpha's exit notification: %+v", msgs)
	}
	wantText(t, alpha.Exec(`echo alpha-still-here`), "alpha-still-here")
	wantText(t, alphaSSE.Exec(`echo alpha-sse-still-here`), "alpha-sse-still-here")
	// Beta's own session works, and alpha cannot use it either.
	beta := hs.Connect(t, ClientOpts{Token: tokenBeta})
	wantText(t, beta.Exec(`echo beta-own`), "beta-own")
	resp := rawDo(t, "POST", hs.Base+"/mcp", authHeader(mcpHeaders("Mcp-Session-Id", beta.SessionID(), "Mcp-Protocol-Version", legacyProtocol), tokenAlpha),
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	if resp.Status != http.StatusNotFound {
		t.Errorf("alpha with beta's session id: HTTP %d %q, want 404", resp.Status, resp.Body)
	}
	// A session id is bound to its transport too: alpha's SSE id is unknown on /mcp and the reverse.
	if r := rawDo(t, "GET", hs.Base+"/mcp", authHeader(http.Header{"Accept": {"text/event-stream"}, "Mcp-Session-Id": {sseID}}, tokenAlpha), ""); r.Status != http.StatusNotFound {
		t.Errorf("GET /mcp with alpha's SSE session id: HTTP %d, want 404", r.Status)
	}
	if r := rawDo(t, "POST", hs.Base+"/message?sessionId="+sid, authHeader(http.Header{"Content-Type": {"application/json"}}, tokenAlpha), `{"jsonrpc":"2.0","id":3,"method":"ping"}`); r.Status != http.StatusNotFound {
		t.Errorf("POST /message with alpha's Streamable HTTP session id: HTTP %d, want 404", r.Status)
	}
	// The owner ends its session; then it is unknown to the owner too.
	alpha.Close()
	if r := rawDo(t, "GET", hs.Base+"/mcp", authHeader(http.Header{"Accept": {"text/event-stream"}, "Mcp-Session-Id": {sid}}, tokenAlpha), ""); r.Status != http.StatusNotFound {
		t.Errorf("GET /mcp with alpha's deleted session id: HTTP %d, want 404", r.Status)
	}
}

// initialize sends an initialize with the given JSON-RPC id and returns the answer and the session id.
func initialize(t *testing.T, hc *http.Client, base, token string, id int) (int, string, string, error) {
	body := strings.Replace(rawInitialize, `"id":1`, fmt.Sprintf(`"id":%d`, id), 1)
	req, err := http.NewRequest("POST", base+"/mcp", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = mcpHeaders()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), string(b), err
}

// tooManyBody is the answer to an initialize beyond the session bounds.
func tooManyBody(id string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"error":{"code":-32000,"message":"too many sessions"}}`
}

// At most EXECMCP_HTTP_MAX_SESSIONS live MCP sessions, a quarter of them (at least 1) per principal; an initialize
// (or a GET /sse) beyond either gets 429 with a JSON-RPC error, and the count goes down when a session ends by
// DELETE or by its SSE stream closing (docs/reference.md#http).
func TestSecurityHTTPSessionCap(t *testing.T) {
	par(t)
	tokens := map[string]string{}
	var pairs []string
	for _, a := range []string{"a", "b", "c", "d", "e"} {
		tokens[a] = "agent-" + a + "-token-0123456789"
		pairs = append(pairs, tokens[a], a)
	}
	hs := StartHTTPServer(t, HTTPOptions{Tokens: tokensFile(pairs...), Env: []string{"EXECMCP_HTTP_MAX_SESSIONS=4"}})
	hc := &http.Client{Timeout: 10 * time.Second}
	init := func(agent string, id int) (int, string, string) {
		t.Helper()
		status, sid, body, err := initialize(t, hc, hs.Base, tokens[agent], id)
		if err != nil {
			t.Fatalf("initialize as %s: %v", agent, err)
		}
		return status, sid, strings.TrimSpace(body)
	}
	del := func(agent, sid string) int {
		t.Helper()
		r := rawDo(t, "DELETE", hs.Base+"/mcp", authHeader(http.Header{"Mcp-Session-Id": {sid}}, tokens[agent]), "")
		return r.Status
	}
	want429 := func(what string, status int, body, id string) {
		t.Helper()
		if status != http.StatusTooManyRequests || body != tooManyBody(id) {
			t.Errorf("%s: HTTP %d %q, want 429 %q", what, status, body, tooManyBody(id))
		}
	}
	sids := map[string]string{}
	status, sid, _ := init("a", 1)
	if status != http.StatusOK || sid == "" {
		t.Fatalf("a's first initialize: HTTP %d session %q", status, sid)
	}
	sids["a"] = sid
	// Per principal: 4/4 = 1.
	status, _, body := init("a", 7)
	want429("a's second initialize (per-principal bound 1)", status, body, "7")
	for _, a := range []string{"b", "c", "d"} {
		if status, sid, body := init(a, 1); status != http.StatusOK || sid == "" {
			t.Fatalf("%s's initialize: HTTP %d %q", a, status, body)
		} else {
			sids[a] = sid
		}
	}
	// In all: 4.
	status, _, body = init("e", 8)
	want429("e's initialize (4 sessions live)", status, body, "8")
	sse := rawDo(t, "GET", hs.Base+"/sse", authHeader(http.Header{"Accept": {"text/event-stream"}}, tokens["e"]), "")
	want429("e's GET /sse (4 sessions live)", sse.Status, strings.TrimSpace(sse.Body), "null")
	if !strings.Contains(hs.Stderr(), `msg="too many MCP sessions"`) {
		t.Errorf("no warning for the refused sessions on stderr")
	}
	// The live sessions still work.
	if r := rawDo(t, "POST", hs.Base+"/mcp", authHeader(mcpHeaders("Mcp-Session-Id", sids["b"], "Mcp-Protocol-Version", legacyProtocol), tokens["b"]),
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`); r.Status != http.StatusOK || !strings.Contains(r.Body, `"exec"`) {
		t.Errorf("b's tools/list at the bound: HTTP %d %q", r.Status, r.Body)
	}

	// DELETE frees a place: for the same principal, and in all.
	if s := del("a", sids["a"]); s != http.StatusOK {
		t.Errorf("a's DELETE: HTTP %d", s)
	}
	status, sid, body = init("a", 2)
	if status != http.StatusOK || sid == "" {
		t.Fatalf("a's initialize after its DELETE: HTTP %d %q, want 200", status, body)
	}
	sids["a"] = sid
	if s := del("b", sids["b"]); s != http.StatusOK {
		t.Errorf("b's DELETE: HTTP %d", s)
	}
	// An SSE session counts while its stream is open and no longer once it closed.
	e := hs.Connect(t, ClientOpts{Token: tokens["e"], SSE: true})
	wantText(t, e.Exec(`echo e-over-sse`), "e-over-sse")
	status, _, body = init("b", 9)
	want429("b's initialize while e's SSE stream is open (4 sessions live)", status, body, "9")
	e.Close()
	var after int
	if !waitFor(5*time.Second, func() bool { after, _, _ = init("b", 10); return after == http.StatusOK }) {
		t.Errorf("b's initialize after e's SSE stream closed: HTTP %d, want 200 within 5 s", after)
	}
	// A refused initialize without an id is answered with a null id.
	req, _ := http.NewRequest("POST", hs.Base+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","method":"initialize","params":{}}`))
	req.Header = authHeader(mcpHeaders(), tokens["a"])
	if resp, err := hc.Do(req); err != nil {
		t.Errorf("initialize without an id: %v", err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want429("a's initialize without an id", resp.StatusCode, strings.TrimSpace(string(b)), "null")
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("429 Content-Type %q, want application/json", ct)
		}
	}
}

// One principal (no token on loopback) is bounded to a quarter of EXECMCP_HTTP_MAX_SESSIONS; DELETE gives each place
// back.
func TestSecurityHTTPSessionCapOnePrincipal(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{Env: []string{"EXECMCP_HTTP_MAX_SESSIONS=12"}})
	hc := &http.Client{Timeout: 10 * time.Second}
	var sids []string
	for i := 0; i < 3; i++ {
		status, sid, body, err := initialize(t, hc, hs.Base, "", i)
		if err != nil || status != http.StatusOK {
			t.Fatalf("initialize %d: HTTP %d %q %v", i, status, body, err)
		}
		sids = append(sids, sid)
	}
	if status, _, body, _ := initialize(t, hc, hs.Base, "", 3); status != http.StatusTooManyRequests || strings.TrimSpace(body) != tooManyBody("3") {
		t.Errorf("a fourth initialize (12/4 = 3 sessions per principal): HTTP %d %q, want 429", status, body)
	}
	for round := 0; round < 3; round++ {
		for i, sid := range sids {
			if r := rawDo(t, "DELETE", hs.Base+"/mcp", http.Header{"Mcp-Session-Id": {sid}}, ""); r.Status != http.StatusOK {
				t.Fatalf("DELETE %s: HTTP %d", sid, r.Status)
			}
			status, nsid, body, err := initialize(t, hc, hs.Base, "", 100*round+i)
			if err != nil || status != http.StatusOK {
				t.Fatalf("round %d: initialize after a DELETE: HTTP %d %q %v", round, status, body, err)
			}
			sids[i] = nsid
		}
	}
	for _, sid := range sids {
		if r := rawDo(t, "DELETE", hs.Base+"/mcp", http.Header{"Mcp-Session-Id": {sid}}, ""); r.Status != http.StatusOK {
			t.Fatalf("DELETE %s: HTTP %d", sid, r.Status)
		}
	}
	wantText(t, hs.Connect(t, ClientOpts{}).Exec(`echo places-free`), "places-free")
}

// An initialize flood: 14 000 initializes in at most 20 s (2000 with -short) from one principal. The sessions beyond
// the bound are refused and the server's resident memory grows by at most 64 MB (256 MB with a race-built server).
func TestSecurityHTTPInitializeFlood(t *testing.T) {
	par(t)
	hs := StartHTTPServer(t, HTTPOptions{})
	n := 14000
	if testing.Short() {
		n = 2000
	}
	pid := hs.Pid()
	time.Sleep(300 * time.Millisecond)
	before := procStatusKB(pid, "VmRSS")
	tr := &http.Transport{MaxIdleConnsPerHost: 32, MaxConnsPerHost: 32}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var ok, refused, other atomic.Int64
	var next atomic.Int64
	var kept atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for w := 0; w < 32; w++ {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				i := int(next.Add(1))
				if i > n {
					return
				}
				status, sid, body, err := initialize(t, hc, hs.Base, "", i)
				switch {
				case err == nil && status == http.StatusOK:
					ok.Add(1)
					kept.Store(sid)
				case err == nil && status == http.StatusTooManyRequests && strings.TrimSpace(body) == tooManyBody(fmt.Sprint(i)):
					refused.Add(1)
				default:
					if other.Add(1) <= 3 {
						t.Errorf("initialize %d: HTTP %d %q %v", i, status, body, err)
					}
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	after := procStatusKB(pid, "VmRSS")
	sent := ok.Load() + refused.Load() + other.Load()
	t.Logf("%d initializes in %v: %d sessions, %d refused 429; server RSS %d MB before, %d MB after",
		sent, el.Round(time.Millisecond), ok.Load(), refused.Load(), before/1024, after/1024)
	if ok.Load() != 250 {
		t.Errorf("%d sessions created, want 250 (a quarter of the default 1000 for the one principal)", ok.Load())
	}
	if sent < int64(n) {
		t.Errorf("only %d of %d initializes in 20 s", sent, n)
	}
	bound := int64(64)
	if os.Getenv("EXECMCP_TEST_RACE") == "1" {
		bound = 256 // the race detector's shadow memory
	}
	if after-before > bound*1024 {
		t.Errorf("the server's RSS grew by %d MB, want at most %d MB", (after-before)/1024, bound)
	}
	// The sessions created still work.
	if r := rawDo(t, "POST", hs.Base+"/mcp", mcpHeaders("Mcp-Session-Id", kept.Load().(string), "Mcp-Protocol-Version", legacyProtocol),
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`); r.Status != http.StatusOK || !strings.Contains(r.Body, `"exec"`) {
		t.Errorf("tools/list in a session created during the flood: HTTP %d %q", r.Status, r.Body)
	}
}
