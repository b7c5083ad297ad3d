package sessions

import (
	"io"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkSpill200MB measures what spilling adds to ingestion: 200 MB through a background session that spills,
// through one that does not, and read to io.Discard by plain Go, in the same run; time and this process's CPU.
func BenchmarkSpill200MB(b *testing.B) {
	for _, v := range []struct{ name, pipeline string }{
		{"bytes", bigPipeline},
		{"lines", "yes 'a line of output' | head -c 200000000"},
	} {
		b.Run(v.name, func(b *testing.B) {
			spilling := New(Options{Log: LogOptions{Dir: b.TempDir(), MaxBytes: 1 << 30, TotalMaxBytes: 8 << 30}})
			defer spilling.Close(b.Context())
			plain := New(Options{})
			defer plain.Close(b.Context())
			var base, baseCPU time.Duration
			var sess, sessCPU [2]time.Duration
			for b.Loop() {
				cpu := cpuTime(b)
				start := time.Now()
				cmd := exec.Command("/bin/sh", "-c", v.pipeline)
				out, _ := cmd.StdoutPipe()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, out)
				_ = cmd.Wait()
				base += time.Since(start)
				baseCPU += cpuTime(b) - cpu
				for i, r := range []*Registry{spilling, plain} {
					cpu = cpuTime(b)
					start = time.Now()
					spec := shSpec(v.pipeline)
					spec.Spill, spec.Background = true, true
					s, _, err := r.Start(spec)
					if err != nil {
						b.Fatal(err)
					}
					<-s.Done()
					sess[i] += time.Since(start)
					sessCPU[i] += cpuTime(b) - cpu
					if in := s.Info(); in.Log.Spilled != (i == 0) || i == 0 && in.Log.Bytes != 200000000 {
						b.Fatalf("log %+v", in.Log)
					}
					_, _ = r.Clear("test", s.ID())
				}
			}
			b.ReportMetric(float64(sess[0])/float64(base), "spill-x-vs-baseline")
			b.ReportMetric(float64(sess[1])/float64(base), "memory-x-vs-baseline")
			b.ReportMetric(float64(sess[0])/float64(sess[1]), "spill-x-vs-memory")
			b.ReportMetric(float64(sessCPU[0].Milliseconds())/float64(b.N), "spill-cpu-ms")
			b.ReportMetric(float64(sessCPU[1].Milliseconds())/float64(b.N), "memory-cpu-ms")
			b.ReportMetric(float64(baseCPU.Milliseconds())/float64(b.N), "baseline-cpu-ms")
		})
	}
}
