package sessions

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/execmcp/execmcp/output"
)

// BenchmarkPTYFlood200MB measures a PTY session ingesting 200 MB with its terminal emulator against the same
// flood in a registry whose PTY sessions have none, alternating in the same run: x-vs-no-emulator is the ratio of
// the times, cpu-x-vs-no-emulator that of this process's CPU time (the reading side; the flood's own processes
// are not counted), which a loaded machine disturbs less (docs/benchmarks.md).
func BenchmarkPTYFlood200MB(b *testing.B) {
	for _, w := range []struct{ name, cmd string }{
		{"text-lines", "yes 'The quick brown fox jumps over the lazy dog; lorem ipsum dolor sit amet, consectetur' | head -c 200000000"},
		{"colored-lines", "yes \"$(printf '\\033[1;32mPASS\\033[0m test_%s \\033[2m(12 ms)\\033[0m\\033[K' quick_brown_fox_jumps)\" | head -c 200000000"},
		{"one-line", "head -c 200000000 /dev/zero | tr '\\0' a"},
	} {
		b.Run(w.name, func(b *testing.B) {
			with := New(Options{})
			defer with.Close(b.Context())
			without := New(Options{})
			without.noTerminal = true
			defer without.Close(b.Context())
			var cw, cn time.Duration
			run := func(r *Registry, cpu *time.Duration) time.Duration {
				spec := shSpec(w.cmd)
				spec.PTY = true
				c0 := cpuTime(b)
				defer func() { *cpu += cpuTime(b) - c0 }()
				start := time.Now()
				s, _, err := r.Start(spec)
				if err != nil {
					b.Fatal(err)
				}
				s.Background()
				<-s.Done()
				if in := s.Info(); in.TotalChars < 100000000 {
					b.Fatalf("%d chars", in.TotalChars)
				}
				return time.Since(start)
			}
			var tw, tn time.Duration
			for b.Loop() {
				tn += run(without, &cn)
				tw += run(with, &cw)
			}
			b.ReportMetric(float64(tw)/float64(tn), "x-vs-no-emulator")
			b.ReportMetric(float64(cw)/float64(cn), "cpu-x-vs-no-emulator")
			b.ReportMetric(float64(tn.Milliseconds())/float64(b.N), "no-emulator-ms")
			b.ReportMetric(float64(tw.Milliseconds())/float64(b.N), "emulator-ms")
		})
	}
}

// floodData is 8 MB of a flood's output as a PTY delivers it (CRLF line ends).
func floodData(kind string) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 8<<20; i++ {
		switch kind {
		case "text-lines":
			b.WriteString("The quick brown fox jumps over the lazy dog; lorem ipsum dolor sit amet, consectetur\r\n")
		case "colored-lines":
			fmt.Fprintf(&b, "\x1b[1;32mPASS\x1b[0m test_%d \x1b[2m(12 ms)\x1b[0m\x1b[K\r\n", i)
		case "one-line":
			b.WriteString("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
		}
	}
	return b.Bytes()
}

// BenchmarkTerminalWrite is the CPU cost of the terminal per byte of a flood, in reads of 4 KB as a PTY gives
// them, next to the output path's (decode, sanitise, record) on the same data.
func BenchmarkTerminalWrite(b *testing.B) {
	for _, kind := range []string{"text-lines", "colored-lines", "one-line"} {
		data := floodData(kind)
		b.Run(kind+"/terminal", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			t := newTerminal(DefaultCols, DefaultRows)
			for b.Loop() {
				for p := data; len(p) > 0; p = p[min(4096, len(p)):] {
					t.write(p[:min(4096, len(p))])
				}
			}
			b.StopTimer()
			t.finish() // one tail for the whole flood, as for a session
		})
		b.Run(kind+"/output-path", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var f output.Filter
				buf := output.NewBuffer(output.DefaultMaxChars, output.DefaultPendingChars)
				for p := data; len(p) > 0; p = p[min(4096, len(p)):] {
					clean, chars, _ := f.Bytes(p[:min(4096, len(p))])
					buf.AppendText(output.Stdout, clean, chars)
				}
			}
		})
	}
}

// BenchmarkTerminalScreen is the cost of rendering a full 120x30 screen of text, without and with the whole
// scrollback (1000 lines), the work of process screen in sessions.
func BenchmarkTerminalScreen(b *testing.B) {
	t := newTerminal(DefaultCols, DefaultRows)
	var data bytes.Buffer
	for i := range 1100 {
		fmt.Fprintf(&data, "\x1b[32m%04d\x1b[m %s漢字\r\n", i, strings.Repeat("text ", 22))
	}
	data.WriteString(strings.Repeat("z", DefaultCols-1))
	t.write(data.Bytes())
	for _, n := range []int{0, MaxScrollback} {
		b.Run(fmt.Sprintf("scrollback-%d", n), func(b *testing.B) {
			for b.Loop() {
				if s := t.screen(n); len(s.Lines) != DefaultRows || len(s.Scrollback) != n {
					b.Fatalf("%d rows, %d scrollback lines", len(s.Lines), len(s.Scrollback))
				}
			}
		})
	}
	// A screen asked for while a flood is held back feeds the held-back tail first.
	b.Run("after-flood", func(b *testing.B) {
		line := []byte("flood line of some length, as a build log prints them by the thousand\r\n")
		for b.Loop() {
			b.StopTimer()
			for range 5000 {
				t.write(line)
			}
			b.StartTimer()
			t.screen(0)
		}
	})
}
