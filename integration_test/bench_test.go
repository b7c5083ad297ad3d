package integration_test

// Benchmarks. Each reports its own medians and a ratio against a baseline measured in the same run:
//
//	go test ./integration_test/ -run '^$' -bench . -benchtime 20x
import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func spawnEcho(b *testing.B) time.Duration {
	start := time.Now()
	out, err := exec.Command("sh", "-c", "echo hi").Output()
	d := time.Since(start)
	if err != nil || strings.TrimSpace(string(out)) != "hi" {
		b.Fatalf("sh -c 'echo hi': %q %v", out, err)
	}
	return d
}

// BenchmarkSpawnBaseline is plain fork+exec+wait of `sh -c 'echo hi'` from Go.
func BenchmarkSpawnBaseline(b *testing.B) {
	var d []time.Duration
	for i := 0; i < b.N; i++ {
		d = append(d, spawnEcho(b))
	}
	b.ReportMetric(ms(median(d)), "spawn-median-ms")
}

// BenchmarkExecEcho measures an exec `echo hi` round trip over stdio against the spawn baseline, interleaved in
// the same loop. The server is driven by a bare SDK client (CommandTransport): the harness's stdout tap, schema
// validation and descendant walker would otherwise be measured too.
func BenchmarkExecEcho(b *testing.B) {
	cmd := exec.Command(binPath)
	cmd.Dir = b.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "EXECMCP_LOG_LEVEL=warn"}
	client := mcp.NewClient(&mcp.Implementation{Name: "execmcp-bench", Version: "1.0.0"}, nil)
	sess, err := client.Connect(b.Context(), &mcp.CommandTransport{Command: cmd}, &mcp.ClientSessionOptions{ProtocolVersion: legacyProtocol})
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	params := &mcp.CallToolParams{Name: "exec", Arguments: map[string]any{"command": "echo hi"}}
	call := func() time.Duration {
		start := time.Now()
		r, err := sess.CallTool(b.Context(), params)
		d := time.Since(start)
		if err != nil || r.IsError || len(r.Content) == 0 {
			b.Fatalf("exec echo hi: %v %v", r, err)
		}
		if tc, ok := r.Content[0].(*mcp.TextContent); !ok || tc.Text != "hi" {
			b.Fatalf("exec echo hi: %v", r.Content[0])
		}
		return d
	}
	echoAgainstSpawn(b, call)
}

// BenchmarkExecEchoRaw is BenchmarkExecEcho with a minimal client: newline-delimited JSON-RPC written to the
// server's stdin and read from its stdout, no SDK. It measures what the server adds to the spawn; the SDK variant
// above also includes the Go SDK client's own work per call (about 0.1 ms on the reference machine).
func BenchmarkExecEchoRaw(b *testing.B) {
	echoAgainstSpawn(b, rawEchoServer(b, nil))
}

// rawEchoServer starts a server with the extra environment env for the raw exec round trip and returns the timed
// call; the server stops when the benchmark ends.
func rawEchoServer(b *testing.B, env []string) func() time.Duration {
	cmd := exec.Command(binPath)
	cmd.Dir = b.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "EXECMCP_LOG_LEVEL=warn"}, env...)
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	r := bufio.NewReader(out)
	roundTrip := func(msg string) string {
		if _, err := io.WriteString(in, msg+"\n"); err != nil {
			b.Fatal(err)
		}
		line, err := r.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		return line
	}
	roundTrip(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"` + legacyProtocol + `","capabilities":{},"clientInfo":{"name":"execmcp-bench","version":"1"}}}`)
	if _, err := io.WriteString(in, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"); err != nil {
		b.Fatal(err)
	}
	id := 0
	return func() time.Duration {
		id++
		msg := `{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"tools/call","params":{"name":"exec","arguments":{"command":"echo hi"}}}`
		start := time.Now()
		line := roundTrip(msg)
		d := time.Since(start)
		if !strings.Contains(line, `"id":`+strconv.Itoa(id)+`,`) || !strings.Contains(line, `"text":"hi"`) || strings.Contains(line, `"isError":true`) {
			b.Fatalf("exec echo hi: %s", line)
		}
		return d
	}
}

// BenchmarkExecEchoGuardian measures the raw exec round trip with the defaults (guardian on, cgroups where the
// system allows them: each spawn records its group and creates and removes a cgroup) against servers with the
// guardian off, cgroups off and both off, interleaved in one loop (docs/reference.md#guardian,
// docs/reference.md#cgroups).
func BenchmarkExecEchoGuardian(b *testing.B) {
	variants := []struct {
		metric string
		env    []string
	}{
		{"exec-median-ms", nil},
		{"guardian-off-median-ms", []string{"EXECMCP_GUARDIAN=off"}},
		{"cgroup-off-median-ms", []string{"EXECMCP_CGROUP=off"}},
		{"both-off-median-ms", []string{"EXECMCP_GUARDIAN=off", "EXECMCP_CGROUP=off"}},
	}
	calls := make([]func() time.Duration, len(variants))
	for i, v := range variants {
		calls[i] = rawEchoServer(b, v.env)
	}
	for i := 0; i < 3; i++ {
		for _, call := range calls {
			call()
		}
	}
	d := make([][]time.Duration, len(variants))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, call := range calls {
			d[j] = append(d[j], call())
		}
	}
	b.StopTimer()
	for j, v := range variants {
		b.ReportMetric(ms(median(d[j])), v.metric)
	}
	on, off := median(d[0]), median(d[len(d)-1])
	b.ReportMetric(ms(on-off), "delta-ms")
	if off > 0 {
		b.ReportMetric(float64(on)/float64(off), "x-vs-both-off")
	}
	b.ReportMetric(0, "ns/op")
}

// echoAgainstSpawn times b.N round trips of call, each followed by one spawn of the baseline (interleaved, so that
// load changes hit both alike), after three warm-up pairs, and reports the medians, the exec p99 and the ratio.
func echoAgainstSpawn(b *testing.B, call func() time.Duration) {
	for i := 0; i < 3; i++ {
		call()
		spawnEcho(b)
	}
	var execD, spawnD []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		execD = append(execD, call())
		spawnD = append(spawnD, spawnEcho(b))
	}
	b.StopTimer()
	me, msp := median(execD), median(spawnD)
	b.ReportMetric(ms(me), "exec-median-ms")
	b.ReportMetric(ms(pctl(execD, 99)), "exec-p99-ms")
	b.ReportMetric(ms(msp), "spawn-median-ms")
	if msp > 0 {
		b.ReportMetric(float64(me)/float64(msp), "x-vs-spawn")
	}
	b.ReportMetric(0, "ns/op")
}

// startupBaselines are the two floors under execmcp's startup, built once from testdata/: barego (any Go program)
// and baremcp (an mcp-go stdio server with no tools, the stdio transport execmcp itself uses).
var startupBaselines struct {
	once            sync.Once
	bareGo, bareMCP string
	err             error
}

func buildStartupBaselines(b *testing.B) (bareGo, bareMCP string) {
	sb := &startupBaselines
	sb.once.Do(func() {
		dir, err := os.MkdirTemp("", "execmcp-baselines-")
		if err != nil {
			sb.err = err
			return
		}
		for _, p := range []struct {
			dst *string
			pkg string
		}{{&sb.bareGo, "barego"}, {&sb.bareMCP, "baremcp"}} {
			*p.dst = filepath.Join(dir, p.pkg)
			cmd := exec.Command("go", "build", "-o", *p.dst, "./testdata/"+p.pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as the README builds execmcp
			if out, err := cmd.CombinedOutput(); err != nil {
				sb.err = fmt.Errorf("go build ./testdata/%s: %v\n%s", p.pkg, err, out)
				return
			}
		}
	})
	if sb.err != nil {
		b.Fatal(sb.err)
	}
	return sb.bareGo, sb.bareMCP
}

const startupInitialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + legacyProtocol +
	`","capabilities":{},"clientInfo":{"name":"execmcp-bench","version":"1"}}}` + "\n"

// startOnce starts bin, sends initialize and returns the time from starting the process to the response line,
// and the time from closing its stdin to its exit (status 0 required).
func startOnce(b *testing.B, bin string, env []string) (startup, exit time.Duration) {
	cmd := exec.Command(bin)
	cmd.Dir = os.TempDir()
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	if _, err := io.WriteString(stdin, startupInitialize); err != nil {
		b.Fatalf("%s: writing initialize: %v", bin, err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	startup = time.Since(start)
	if err != nil || !strings.Contains(line, `"id":1`) || !strings.Contains(line, `"result"`) {
		cmd.Process.Kill()
		cmd.Wait()
		b.Fatalf("%s: initialize response %q: %v", bin, line, err)
	}
	start = time.Now()
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatalf("%s: exit after stdin EOF: %v", bin, err)
	}
	return startup, time.Since(start)
}

// BenchmarkStartup measures the time from starting the server process to its initialize response, and from the
// closing of its stdin to its exit, interleaved in one loop with the same two figures of the baselines.
func BenchmarkStartup(b *testing.B) {
	bareGo, bareMCP := buildStartupBaselines(b)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir(), "EXECMCP_LOG_LEVEL=warn"}
	var up, down, mcpUp, mcpDown, goUp []time.Duration
	for i := 0; i < b.N; i++ {
		u, d := startOnce(b, binPath, env)
		up, down = append(up, u), append(down, d)
		u, d = startOnce(b, bareMCP, env)
		mcpUp, mcpDown = append(mcpUp, u), append(mcpDown, d)
		u, _ = startOnce(b, bareGo, env)
		goUp = append(goUp, u)
	}
	b.ReportMetric(ms(median(up)), "startup-median-ms")
	b.ReportMetric(ms(median(mcpUp)), "bare-mcp-go-median-ms")
	b.ReportMetric(ms(median(goUp)), "bare-go-median-ms")
	if m := median(mcpUp); m > 0 {
		b.ReportMetric(float64(median(up))/float64(m), "x-vs-bare-mcp-go")
	}
	b.ReportMetric(ms(median(down)), "exit-after-eof-median-ms")
	b.ReportMetric(ms(median(mcpDown)), "bare-mcp-go-exit-median-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkStartupGuardian measures what the guardian (and the server's cgroup) add to the start-to-initialize time
// and to the exit after stdin EOF: the defaults against EXECMCP_GUARDIAN=off and against both off, interleaved in
// one loop (docs/reference.md#guardian).
func BenchmarkStartupGuardian(b *testing.B) {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir(), "EXECMCP_LOG_LEVEL=warn"}
	offGuardian := append(append([]string{}, env...), "EXECMCP_GUARDIAN=off")
	offBoth := append(append([]string{}, offGuardian...), "EXECMCP_CGROUP=off")
	var up, down, upG, downG, upB, downB []time.Duration
	for i := 0; i < b.N; i++ {
		u, d := startOnce(b, binPath, env)
		up, down = append(up, u), append(down, d)
		u, d = startOnce(b, binPath, offGuardian)
		upG, downG = append(upG, u), append(downG, d)
		u, d = startOnce(b, binPath, offBoth)
		upB, downB = append(upB, u), append(downB, d)
	}
	b.ReportMetric(ms(median(up)), "startup-median-ms")
	b.ReportMetric(ms(median(upG)), "guardian-off-median-ms")
	b.ReportMetric(ms(median(upB)), "both-off-median-ms")
	b.ReportMetric(ms(median(up)-median(upG)), "guardian-delta-ms")
	if m := median(upG); m > 0 {
		b.ReportMetric(float64(median(up))/float64(m), "x-vs-guardian-off")
	}
	b.ReportMetric(ms(median(down)), "exit-after-eof-median-ms")
	b.ReportMetric(ms(median(downG)), "exit-guardian-off-median-ms")
	b.ReportMetric(ms(median(downB)), "exit-both-off-median-ms")
	b.ReportMetric(0, "ns/op")
}

// pipeToDiscard is the ingestion baseline: the pipeline run by Go with its stdout copied to io.Discard; it must
// print exactly size bytes.
func pipeToDiscard(b *testing.B, pipeline string, size int64) {
	cmd := exec.Command("sh", "-c", pipeline)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil || n != size {
		b.Fatalf("baseline pipeline: %d bytes, %v", n, err)
	}
}

const largePipeline = `head -c 200000000 /dev/zero | tr '\0' a`

// BenchmarkLargeOutput measures a background command printing 200 MB until the session reports its exit, against the
// same pipeline read by Go into io.Discard, and reports the server's peak RSS.
func BenchmarkLargeOutput(b *testing.B) {
	s := StartServer(b, Options{Env: []string{"EXECMCP_LOG_MAX_BYTES=0"}}) // the retained output only: see BenchmarkSpillIngest1GB
	var srvD, baseD []time.Duration
	sawNotes := false
	for i := 0; i < b.N; i++ {
		start := time.Now()
		id, _ := s.Background(largePipeline)
		// The exit notification is how the session reports its exit; polling in a loop instead would measure the
		// client's busy loop (a poll with pending output returns at once, docs/reference.md#poll-wait).
		if msgs := s.WaitExitMessages(id, 1, 5*time.Minute); len(msgs) != 1 {
			b.Fatalf("no exit notification for the 200 MB session")
		}
		srvD = append(srvD, time.Since(start))
		last := s.Proc("poll", "sessionId", id, "timeout", 30000)
		if last.IsError || last.Size > maxResponseBytes {
			b.Fatalf("poll: %d bytes: %s", last.Size, last)
		}
		if strings.HasPrefix(last.Text, omittedNote+"\n"+discardedNote+"\n") {
			sawNotes = true
		}
		if !strings.HasSuffix(last.Text, "Process exited with code 0.") {
			b.Errorf("final poll ends %q", tail(last.Text, 80))
		}
		for _, args := range [][]any{{"offset", 0}, {}} {
			lr := s.Proc("log", append([]any{"sessionId", id}, args...)...)
			if lr.Size > maxResponseBytes || !strings.HasPrefix(lr.Text, discardedNote+"\n") {
				b.Errorf("log %v: %d bytes, starts %q", args, lr.Size, head(lr.Text, 120))
			}
		}
		s.Proc("remove", "sessionId", id)

		start = time.Now()
		pipeToDiscard(b, largePipeline, 200000000)
		baseD = append(baseD, time.Since(start))
	}
	if !sawNotes {
		b.Errorf("no poll carried the omitted and discarded notes")
	}
	ms1, mb := median(srvD), median(baseD)
	b.ReportMetric(ms(ms1), "session-median-ms")
	b.ReportMetric(ms(mb), "pipe-median-ms")
	if mb > 0 {
		b.ReportMetric(float64(ms1)/float64(mb), "x-vs-pipe")
	}
	b.ReportMetric(float64(vmHWM(s.Pid()))/(1<<20), "server-VmHWM-MB")
	b.ReportMetric(0, "ns/op")
}
