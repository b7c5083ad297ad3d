package sessions

import (
	"io"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

const bigPipeline = "head -c 200000000 /dev/zero | tr '\\0' a"

// cpuTime is the CPU time (user + system) this process used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIngest200MB measures a background session ingesting 200 MB against the same pipeline read to
// io.Discard by plain Go, in the same run; the ratios are session / baseline, for the time and for this process's
// CPU time (the reading side only: the pipeline's own CPU is its processes').
func BenchmarkIngest200MB(b *testing.B) {
	r := New(Options{})
	defer r.Close(b.Context())
	var sess, base, sessCPU, baseCPU time.Duration
	for b.Loop() {
		cpu := cpuTime(b)
		start := time.Now()
		cmd := exec.Command("/bin/sh", "-c", bigPipeline)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		base += time.Since(start)
		baseCPU += cpuTime(b) - cpu

		cpu = cpuTime(b)
		start = time.Now()
		s, _, err := r.Start(shSpec(bigPipeline))
		if err != nil {
			b.Fatal(err)
		}
		s.Background()
		<-s.Done()
		sess += time.Since(start)
		sessCPU += cpuTime(b) - cpu
	}
	b.ReportMetric(float64(sess)/float64(base), "x-vs-baseline")
	b.ReportMetric(float64(base.Milliseconds())/float64(b.N), "baseline-ms")
	b.ReportMetric(float64(sess.Milliseconds())/float64(b.N), "session-ms")
	b.ReportMetric(float64(sessCPU)/float64(baseCPU), "cpu-x-vs-baseline")
	b.ReportMetric(float64(sessCPU.Milliseconds())/float64(b.N), "session-cpu-ms")
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
