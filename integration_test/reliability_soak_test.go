package integration_test

// Reliability: the soak run, opt-in with EXECMCP_SOAK=<duration>.

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReliabilitySoak: EXECMCP_SOAK=<duration> of mixed exec/poll/kill from 8 Streamable HTTP clients; RSS, threads
// and open descriptors of the server are sampled every 10 s and must stay flat (the last fifth against the first
// sample after warm-up). Not part of the normal run.
func TestReliabilitySoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("EXECMCP_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set EXECMCP_SOAK=<duration> (e.g. 30m) to run the soak")
	}
	// The server logs its goroutine count every second (EXECMCP_STATS_INTERVAL_MS): nothing outside the process
	// can observe it; a sample takes the newest line.
	hs := StartHTTPServer(t, HTTPOptions{Env: append(slices.Clone(relEnv), "EXECMCP_STATS_INTERVAL_MS=1000")})
	pid := hs.Pid()
	type sample struct {
		at             time.Duration
		rssKB, threads int64
		fds            int
		goroutines     int
	}
	statsLine := regexp.MustCompile(`msg=stats goroutines=(\d+) `)
	goroutines := func() int {
		m := statsLine.FindAllStringSubmatch(hs.Stderr(), -1)
		if len(m) == 0 {
			return -1
		}
		n, _ := strconv.Atoi(m[len(m)-1][1])
		return n
	}
	var samples []sample
	var mu sync.Mutex
	t0 := time.Now()
	take := func() {
		s := sample{at: time.Since(t0).Round(time.Second), rssKB: procStatusKB(pid, "VmRSS"), threads: procStatusKB(pid, "Threads"), fds: fdCount(pid), goroutines: goroutines()}
		mu.Lock()
		samples = append(samples, s)
		mu.Unlock()
	}
	time.Sleep(1500 * time.Millisecond) // the first stats line
	take()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var ops, errs atomic.Int64
	var wg sync.WaitGroup
	var clients []*HClient
	for w := 0; w < 8; w++ {
		c := hs.Connect(t, ClientOpts{})
		clients = append(clients, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			call := func(tool string, args map[string]any) *Result {
				cctx, ccancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer ccancel()
				r, err := c.CallCtx(cctx, tool, args)
				ops.Add(1)
				if err != nil {
					errs.Add(1)
					t.Errorf("client %d: %s %v: %v", w, tool, args, err)
					return nil
				}
				return r
			}
			for i := 0; ctx.Err() == nil; i++ {
				if r := call("exec", map[string]any{"command": "echo soak-" + strconv.Itoa(i)}); r != nil && r.Text != "soak-"+strconv.Itoa(i) {
					t.Errorf("client %d: exec echo: %s", w, r)
				}
				r := call("exec", map[string]any{"command": "for i in 1 2 3; do echo line $i; sleep 0.05; done", "background": true})
				if r != nil {
					id := r.Str("sessionId")
					for k := 0; k < 10; k++ {
						p := call("process", map[string]any{"action": "poll", "sessionId": id, "timeout": 2000})
						if p == nil || p.Str("status") != "running" {
							break
						}
					}
					call("process", map[string]any{"action": "log", "sessionId": id})
					call("process", map[string]any{"action": "remove", "sessionId": id})
				}
				r = call("exec", map[string]any{"command": "sleep 30 & sleep 30; echo never", "background": true})
				if r != nil {
					id := r.Str("sessionId")
					call("process", map[string]any{"action": "kill", "sessionId": id})
					call("process", map[string]any{"action": "poll", "sessionId": id, "timeout": 5000})
					call("process", map[string]any{"action": "list"})
					call("process", map[string]any{"action": "clear", "sessionId": id})
				}
				if i%5 == 0 {
					r = call("exec", map[string]any{"command": "yes | head -c 3000000", "background": true})
					if r != nil {
						id := r.Str("sessionId")
						for k := 0; k < 10; k++ {
							p := call("process", map[string]any{"action": "poll", "sessionId": id, "timeout": 2000})
							if p == nil || p.Str("status") != "running" {
								break
							}
						}
						call("process", map[string]any{"action": "remove", "sessionId": id})
					}
				}
			}
		}()
	}
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			take()
		}
	}
	wg.Wait()
	time.Sleep(time.Duration(relKillGraceMs)*time.Millisecond + 3*time.Second) // the last kills settle
	take()
	// Every client leaves (DELETE): what the server keeps afterwards is what it would leak.
	for _, c := range clients {
		c.Close()
	}
	time.Sleep(3 * time.Second) // a stats line after the last DELETE
	take()
	var b strings.Builder
	for _, s := range samples {
		fmt.Fprintf(&b, "%8v rss=%6d kB threads=%3d fds=%4d goroutines=%5d\n", s.at, s.rssKB, s.threads, s.fds, s.goroutines)
	}
	t.Logf("soak of %v, 8 clients, %d calls (%d errors):\n%s", d, ops.Load(), errs.Load(), b.String())
	if len(samples) < 6 {
		return
	}
	// Flat: the last fifth of the samples against the one at 20 % (after warm-up).
	ref := samples[len(samples)/5]
	for _, s := range samples[len(samples)*4/5:] {
		if s.rssKB > ref.rssKB*3/2+4096 {
			t.Errorf("RSS grew from %d kB (at %v) to %d kB (at %v)", ref.rssKB, ref.at, s.rssKB, s.at)
		}
		if s.fds > ref.fds+32 {
			t.Errorf("open descriptors grew from %d (at %v) to %d (at %v)", ref.fds, ref.at, s.fds, s.at)
		}
		if s.threads > ref.threads+16 {
			t.Errorf("threads grew from %d (at %v) to %d (at %v)", ref.threads, ref.at, s.threads, s.at)
		}
		if s.goroutines < 0 || s.goroutines > ref.goroutines*3/2+64 {
			t.Errorf("goroutines grew from %d (at %v) to %d (at %v)", ref.goroutines, ref.at, s.goroutines, s.at)
		}
	}
	if first, final := samples[0], samples[len(samples)-1]; final.goroutines > first.goroutines+16 || final.fds > first.fds+16 {
		t.Errorf("after the clients left: %d goroutines and %d descriptors, at the start %d and %d",
			final.goroutines, final.fds, first.goroutines, first.fds)
	}
	final := samples[len(samples)-1]
	t.Logf("soak: RSS %d -> %d kB, threads %d -> %d, fds %d -> %d, goroutines %d -> %d (first after warm-up -> final)",
		ref.rssKB, final.rssKB, ref.threads, final.threads, ref.fds, final.fds, ref.goroutines, final.goroutines)
}
