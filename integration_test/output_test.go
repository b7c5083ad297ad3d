package integration_test

// Output and retention through the real binary: decoding and sanitising, arrival order, output frozen at exit, caps
// and their notes, the running tail, bounded responses (docs/reference.md#output-decoding and the output sections
// after it), and which sessions the registry keeps, for how long, and their ids (docs/reference.md#retention,
// docs/reference.md#session-ids).

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Decoding and sanitising: a UTF-8 sequence split across reads, invalid bytes, escape sequences (also split) and
// control characters (docs/reference.md#output-decoding, docs/reference.md#output-sanitising).
func TestC29DecodingAndSanitising(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`printf '\342\202'; sleep 0.5; printf '\254\n'`)
	s.WaitFinished(id, 10*time.Second)
	r := s.Proc("log", "sessionId", id)
	wantText(t, r, "€")
	if strings.ContainsRune(r.Text, '\uFFFD') {
		t.Errorf("log contains U+FFFD: %q", r.Text)
	}
	wantText(t, s.Exec(`printf 'a\377b\n'`), "a\uFFFDb")
	wantText(t, s.Exec(`printf '\033[31mRED\033[0m \033]0;title\007ok\n'`), "RED ok")
	wantText(t, s.Exec(`printf '\033[3'; sleep 0.3; printf '1mX\n'`), "X")
	wantText(t, s.Exec(`printf 'a\001b\tc\n'`), "ab\tc")
}

// stdout and stderr are returned interleaved in arrival order (docs/reference.md#output-pending).
func TestC30ArrivalOrder(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`echo out1; echo err1 >&2; sleep 0.3; echo out2`)
	s.WaitFinished(id, 10*time.Second)
	wantText(t, s.Proc("poll", "sessionId", id), "out1\nerr1\nout2\n\nProcess exited with code 0.")
}

// Output nobody polled is frozen at exit and returned once by the first poll (docs/reference.md#output-freeze).
func TestC31UnreadOutputFrozen(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	id, _ := s.Background(`echo one; echo two`)
	s.WaitFinished(id, 10*time.Second)
	wantText(t, s.Proc("poll", "sessionId", id), "one\ntwo\n\nProcess exited with code 0.")
	wantText(t, s.Proc("poll", "sessionId", id), "(no new output)\n\nProcess exited with code 0.")
}

// The output caps and the notes that announce what they dropped, in poll, log and a foreground result
// (docs/reference.md#output-notes).
func TestC32CapsAndNotes(t *testing.T) {
	par(t)
	// Without spill files, which would keep the complete output for log (TestSpillCompleteOutput).
	s := StartServer(t, Options{Env: []string{"PI_BASH_MAX_OUTPUT_CHARS=5000", "OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS=1000", "EXECMCP_LOG_MAX_BYTES=0"}})
	id, _ := s.Background(`seq 1 1500`)
	s.WaitFinished(id, 10*time.Second)
	r := s.Proc("poll", "sessionId", id)
	const exitLine = "\n\nProcess exited with code 0."
	prefix := omittedNote + "\n" + discardedNote + "\n"
	if !strings.HasPrefix(r.Text, prefix) || !strings.HasSuffix(r.Text, exitLine) {
		t.Errorf("poll = %q...%q, want the omitted and discarded notes then output then the exit line", head(r.Text, 240), tail(r.Text, 60))
	} else {
		out := strings.TrimSuffix(strings.TrimPrefix(r.Text, prefix), exitLine)
		if n := len([]rune(out)); n > 1000 {
			t.Errorf("poll output part has %d chars, want <= 1000", n)
		}
		if !strings.HasSuffix(out, "1500") {
			t.Errorf("poll output part ends %q, want 1500", tail(out, 20))
		}
	}
	r = s.Proc("log", "sessionId", id, "offset", 0)
	if !strings.HasPrefix(r.Text, discardedNote+"\n") {
		t.Errorf("log = %q..., want the discarded note first", head(r.Text, 120))
	}
	if r.Int("totalChars") != 5000 {
		t.Errorf("log totalChars = %v, want 5000", r.SC["totalChars"])
	}
	if v, _ := r.Bool("truncated"); !v {
		t.Errorf("log truncated = %v, want true", r.SC["truncated"])
	}
	r = s.Exec(`seq 1 1500`)
	if !strings.HasPrefix(r.Text, discardedNote+"\n") || !strings.HasSuffix(r.Text, "\n1500") {
		t.Errorf("foreground = %q...%q, want the discarded note first and 1500 last", head(r.Text, 120), tail(r.Text, 20))
	}
}

// The tail of a running result is the last 500 chars of output (docs/reference.md#output-aggregated).
func TestC34Tail(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	r := s.Exec(`head -c 2000 /dev/zero | tr '\0' a; sleep 30`, "yieldMs", 500)
	s.mustRunning(r, "tail")
	if got := r.Str("tail"); got != strings.Repeat("a", 500) {
		t.Errorf("tail = %q (%d chars), want 500 × a", head(got, 40), len(got))
	}
}

// poll, log and the log resource stay within 1 MiB of JSON with large retained output
// (docs/reference.md#output-budget).
func TestC35BoundedResponses(t *testing.T) {
	par(t)
	s := StartServer(t, Options{Env: []string{"PI_BASH_MAX_OUTPUT_CHARS=200000", "OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS=200000", "EXECMCP_LOG_MAX_BYTES=0"}})
	id, _ := s.Background(`head -c 300000 /dev/zero | tr '\0' '<'`)
	s.WaitFinished(id, 20*time.Second)
	checkBounded(t, s, id, 200000)
}

// checkBounded checks the responses of poll, log {offset: 0}, log and the log resource of a finished session whose
// retained output is one long line.
func checkBounded(t *testing.T, s *Server, id string, retained int) {
	t.Helper()
	size := func(what string, r *Result) {
		t.Helper()
		if r.Size == 0 {
			t.Errorf("%s: response size unknown", what)
		} else if r.Size > maxResponseBytes {
			t.Errorf("%s: response is %d bytes, want <= %d", what, r.Size, maxResponseBytes)
		} else {
			t.Logf("%s: %d bytes", what, r.Size)
		}
	}
	r := s.Proc("poll", "sessionId", id)
	size("poll", r)
	if !strings.HasPrefix(r.Text, omittedNote+"\n") {
		t.Errorf("poll text = %q..., want the omitted note first", head(r.Text, 200))
	}
	if !strings.HasSuffix(r.Text, "\n\nProcess exited with code 0.") {
		t.Errorf("poll text ends %q", tail(r.Text, 60))
	}
	r = s.Proc("log", "sessionId", id, "offset", 0)
	size("log {offset: 0}", r)
	m := regexp.MustCompile(`\n\n\[response size limit reached after (\d+) lines; pass offset=(\d+) to continue\]$`).FindStringSubmatch(r.Text)
	if m == nil {
		t.Errorf("log {offset: 0} ends %q, want the response size note", tail(r.Text, 120))
	} else if m[1] != m[2] {
		t.Errorf("log {offset: 0} note: %q (offset should equal 0 + n)", m[0])
	}
	r = s.Proc("log", "sessionId", id)
	size("log", r)
	if !strings.Contains(r.Text, "[response size limit reached; showing the last ") {
		t.Errorf("log (tail mode) ends %q, want the tail-mode size note", tail(r.Text, 120))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	before := len(s.Messages())
	rr, err := s.Sess.ReadResource(ctx, &mcp.ReadResourceParams{URI: "exec://sessions/" + id + "/log"})
	if err != nil {
		t.Errorf("reading the log resource: %v", err)
		return
	}
	for _, msg := range s.Messages()[before:] {
		if msg.isResponse() && msg.Size > maxResponseBytes {
			t.Errorf("log resource response is %d bytes", msg.Size)
		} else if msg.isResponse() {
			t.Logf("log resource: %d bytes", msg.Size)
		}
	}
	const truncNote = "[log truncated to fit the response size limit; use process log with offset and limit to read the rest]\n"
	if len(rr.Contents) != 1 {
		t.Errorf("log resource has %d contents, want 1", len(rr.Contents))
	} else if txt := rr.Contents[0].Text; !strings.HasPrefix(txt, truncNote) && !strings.HasPrefix(txt, discardedNote+"\n"+truncNote) {
		t.Errorf("log resource text starts %q, want the log-truncated note (after the discarded note, if any)", head(txt, 240))
	}
	_ = retained
}

// Slow: 200 MB of output; poll and log stay bounded and the server's peak RSS stays below 100 MB
// (docs/reference.md#output-budget).
func TestC36LargeOutput(t *testing.T) {
	if !slowEnabled() {
		t.Skip("slow test: set EXECMCP_SLOW=1 (and do not pass -short)")
	}
	par(t)
	s := StartServer(t, Options{Env: []string{"EXECMCP_LOG_MAX_BYTES=0"}}) // the retained output only
	start := time.Now()
	id, _ := s.Background(`head -c 200000000 /dev/zero | tr '\0' a`)
	s.WaitFinished(id, 60*time.Second)
	t.Logf("200 MB of output finished after %v", time.Since(start).Round(time.Millisecond))
	r := s.Proc("poll", "sessionId", id)
	if r.Size > maxResponseBytes || !strings.HasPrefix(r.Text, omittedNote+"\n"+discardedNote+"\n") {
		t.Errorf("poll: %d bytes, starts %q", r.Size, head(r.Text, 240))
	}
	for _, args := range [][]any{{"offset", 0}, {}} {
		r = s.Proc("log", append([]any{"sessionId", id}, args...)...)
		if r.Size > maxResponseBytes || !strings.HasPrefix(r.Text, discardedNote+"\n") {
			t.Errorf("log %v: %d bytes, starts %q", args, r.Size, head(r.Text, 120))
		}
	}
	if hwm := vmHWM(s.Pid()); hwm <= 0 || hwm >= 100<<20 {
		t.Errorf("server VmHWM = %d bytes, want below 100 MB", hwm)
	} else {
		t.Logf("server VmHWM = %.1f MB", float64(hwm)/(1<<20))
	}
}

// vmHWM returns the peak RSS of pid in bytes (-1 when unknown).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:")), "%d", &kb)
			return kb * 1024
		}
	}
	return -1
}

// Only backgrounded sessions are retained, and they stay listed after they exit (docs/reference.md#retention).
func TestD37OnlyBackgroundedRetained(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	for _, c := range []string{`echo a`, `true`, `exit 3`} {
		wantStatus(t, s.Exec(c), "completed")
	}
	listEmpty(t, s)
	id, _ := s.Background(`echo x`)
	if e, lr := s.ListEntry(id); e == nil {
		t.Errorf("background session not listed: %s", lr)
	}
	s.WaitFinished(id, 10*time.Second)
	_, lr := s.ListEntry(id)
	if sessions, _ := lr.SC["sessions"].([]any); len(sessions) != 1 {
		t.Errorf("list after exit: %s, want one entry", lr)
	}
}

// Slow: a finished session is kept for the TTL and swept after it (docs/reference.md#retention).
func TestD38TTL(t *testing.T) {
	if !slowEnabled() {
		t.Skip("slow test: set EXECMCP_SLOW=1 (and do not pass -short)")
	}
	par(t)
	s := StartServer(t, Options{Env: []string{"PI_BASH_JOB_TTL_MS=60000", "PI_BASH_SWEEPER_INTERVAL_MS=1000"}})
	id, _ := s.Background(`true`)
	e := s.WaitFinished(id, 10*time.Second)
	ended, _ := e["endedAt"].(float64)
	endedAt := time.UnixMilli(int64(ended))
	time.Sleep(time.Until(endedAt.Add(50 * time.Second)))
	if e, lr := s.ListEntry(id); e == nil {
		t.Errorf("finished session gone at 50 s: %s", lr)
	}
	time.Sleep(time.Until(endedAt.Add(65 * time.Second)))
	wantProcError(t, s.Proc("poll", "sessionId", id), "No session found for "+id)
}

// At most 50 finished sessions are kept; the oldest are evicted (docs/reference.md#retention).
func TestD39FinishedCaps(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	var ids []string
	for i := 0; i < 55; i++ {
		id, _ := s.Background(`true`)
		ids = append(ids, id)
		// Wait for each to finish so that endedAt follows the start order.
		waitFor(10*time.Second, func() bool {
			r := s.Proc("log", "sessionId", id)
			return r.IsError || r.Str("status") != "running"
		})
	}
	r := s.Proc("list")
	sessions, _ := r.SC["sessions"].([]any)
	if len(sessions) != 50 {
		t.Errorf("list shows %d sessions, want 50", len(sessions))
	}
	for i, id := range ids {
		pr := s.Proc("log", "sessionId", id)
		if i < 5 {
			wantProcError(t, pr, "No session found for "+id)
		} else if pr.IsError {
			t.Errorf("session %d (%s) was evicted: %s", i, id, pr)
		}
	}
}

// 200 concurrent sessions get distinct ids of the documented shape (docs/reference.md#session-ids).
func TestD40Ids(t *testing.T) {
	par(t)
	s := StartServer(t, Options{})
	const n = 200
	ids := make([]string, n)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				// Sessions stay running so that every id stays taken (finished records beyond the cap of 50 are
				// evicted, and an evicted id may legitimately be drawn again).
				r := s.Exec(`exec sleep 60`, "background", true)
				if r.Str("status") != "running" {
					t.Errorf("exec %d: %s", i, r)
					continue
				}
				ids[i] = r.Str("sessionId")
			}
		}(w)
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if !idRe.MatchString(id) || len(id) < 9 {
			t.Errorf("id %q does not match %v (or is shorter than 9 chars)", id, idRe)
		}
		if seen[id] {
			t.Errorf("duplicate id %q", id)
		}
		seen[id] = true
	}
}
