package tools

import (
	"encoding/json"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkExecEcho measures the exec handler for `echo hi` through the MCP server's message handling
// (JSON-RPC decode, handler, result encoding) against a plain exec.Command of the same command.
func BenchmarkExecEcho(b *testing.B) {
	t := &testing.T{}
	h := newHarness(t, nil)
	msg := json.RawMessage(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"exec","arguments":{"command":"echo hi"}}}`)
	var server, base time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := exec.Command("/bin/sh", "-c", "echo hi").Output(); err != nil {
			b.Fatal(err)
		}
		base += time.Since(start)
		start = time.Now()
		resp := h.tl.srv.HandleMessage(h.ctx, msg)
		if _, err := json.Marshal(resp); err != nil {
			b.Fatal(err)
		}
		server += time.Since(start)
	}
	b.ReportMetric(float64(server)/float64(base), "x-vs-spawn")
}
