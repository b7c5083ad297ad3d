package sessions

import (
	"io"
	"os/exec"
	"testing"
	"time"
)

const bigPipeline = "head -c 200000000 /dev/zero | tr '\\0' a"

// BenchmarkIngest200MB measures a background session ingesting 200 MB against the same pipeline read to
// io.Discard by plain Go, in the same run; the ratio is session time / baseline time.
func BenchmarkIngest200MB(b *testing.B) {
	r := New(Options{})
	defer r.Close(b.Context())
	var sess, base time.Duration
	for b.Loop() {
		start := time.Now()
		cmd := exec.Command("/bin/sh", "-c", bigPipeline)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		base += time.Since(start)

		start = time.Now()
		s, _, err := r.Start(shSpec(bigPipeline))
		if err != nil {
			b.Fatal(err)
		}
		s.Background()
		<-s.Done()
		sess += time.Since(start)
	}
	b.ReportMetric(float64(sess)/float64(base), "x-vs-baseline")
	b.ReportMetric(float64(base.Milliseconds())/float64(b.N), "baseline-ms")
	b.ReportMetric(float64(sess.Milliseconds())/float64(b.N), "session-ms")
}

// BenchmarkEcho compares one foreground `echo hi` session (spawn, drain, finalize) with a plain
// exec.Command(...).Output() of the same command, in the same run.
func BenchmarkEcho(b *testing.B) {
	r := New(Options{})
	defer r.Close(b.Context())
	var sess, base time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := exec.Command("/bin/sh", "-c", "echo hi").Output(); err != nil {
			b.Fatal(err)
		}
		base += time.Since(start)
		start = time.Now()
		s, _, err := r.Start(shSpec("echo hi"))
		if err != nil {
			b.Fatal(err)
		}
		<-s.Done()
		sess += time.Since(start)
	}
	b.ReportMetric(float64(sess)/float64(base), "x-vs-baseline")
	b.ReportMetric(float64(base.Microseconds())/float64(b.N), "baseline-us")
	b.ReportMetric(float64(sess.Microseconds())/float64(b.N), "session-us")
}
