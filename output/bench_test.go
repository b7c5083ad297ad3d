package output

import (
	"strings"
	"testing"
)

const benchChunk = 32 * 1024

// BenchmarkBufferAppend is the hot path of a chatty command: 32 KiB reads appended with the default caps and
// nobody polling, so both the pending cap and the aggregated cap cut on every append.
func BenchmarkBufferAppend(b *testing.B) {
	for _, bc := range []struct {
		name string
		unit string
	}{{"ascii", "a"}, {"lines", "some log line 0123456789\n"}, {"utf8", "é€😀x"}} {
		b.Run(bc.name, func(b *testing.B) {
			chunk := strings.Repeat(bc.unit, benchChunk/len(bc.unit)+1)[:benchChunk]
			chunk = strings.ToValidUTF8(chunk, "")
			buf := NewBuffer(0, 0)
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			for b.Loop() {
				buf.Append(Stdout, chunk)
			}
		})
	}
}

// BenchmarkPipeline is one reader loop iteration: decode, sanitise, append.
func BenchmarkPipeline(b *testing.B) {
	for _, bc := range []struct {
		name string
		unit string
	}{{"plain", "some log line 0123456789\n"}, {"ansi", "\x1b[32mok\x1b[0m test 0123 \x1b]0;t\a\n"}} {
		b.Run(bc.name, func(b *testing.B) {
			chunk := []byte(strings.Repeat(bc.unit, benchChunk/len(bc.unit)+1)[:benchChunk])
			var dec Decoder
			var san Sanitizer
			buf := NewBuffer(0, 0)
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			for b.Loop() {
				clean, _ := san.Sanitize(dec.Decode(chunk))
				buf.Append(Stdout, clean)
			}
		})
	}
}

// Benchmark200MB streams 200 MB in 32 KiB reads through the whole pipeline (decode, sanitise, record) with the
// default caps.
func Benchmark200MB(b *testing.B) {
	chunk := []byte(strings.Repeat("a", benchChunk))
	const total = 200_000_000
	b.SetBytes(total)
	for b.Loop() {
		var dec Decoder
		var san Sanitizer
		buf := NewBuffer(0, 0)
		for n := 0; n < total; n += len(chunk) {
			clean, _ := san.Sanitize(dec.Decode(chunk))
			buf.Append(Stdout, clean)
		}
		if buf.AggregatedChars() != DefaultMaxChars {
			b.Fatal("lost output")
		}
	}
}

// floodShapes are the shapes of output that dominate floods, each repeated into one 32 KiB read by shapeChunk.
var floodShapes = []struct{ name, unit string }{
	{"nonl", "a"},
	{"lines17", "a line of output\n"},
	{"crlf", "some log line 0123456789\r\n"},
	{"tabs", "col\tcol2\tcolumn three\n"},
	{"utf8", "é€😀x ünïcödé\n"},
	{"ansi", "\x1b[32mok\x1b[0m test 0123 \x1b]0;t\a\n"},
}

// shapeChunk repeats unit into one read of benchChunk bytes, cut back to whole chars.
func shapeChunk(unit string) []byte {
	return []byte(strings.ToValidUTF8(strings.Repeat(unit, benchChunk/len(unit)+1)[:benchChunk], ""))
}

// BenchmarkPipelineBytes is the reader loop as the sessions ran it before Filter, without allocations:
// DecodeBytes, SanitizeBytes, AppendBytes.
func BenchmarkPipelineBytes(b *testing.B) {
	for _, sh := range floodShapes {
		b.Run(sh.name, func(b *testing.B) {
			chunk := shapeChunk(sh.unit)
			var dec Decoder
			var san Sanitizer
			buf := NewBuffer(0, 0)
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			for b.Loop() {
				clean, _ := san.SanitizeBytes(dec.DecodeBytes(chunk))
				buf.AppendBytes(Stdout, clean)
			}
		})
	}
}

// BenchmarkFilter is the reader loop as the sessions run it: Filter.Bytes, then AppendText.
func BenchmarkFilter(b *testing.B) {
	for _, sh := range floodShapes {
		b.Run(sh.name, func(b *testing.B) {
			chunk := shapeChunk(sh.unit)
			var f Filter
			buf := NewBuffer(0, 0)
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			for b.Loop() {
				clean, chars, _ := f.Bytes(chunk)
				buf.AppendText(Stdout, clean, chars)
			}
		})
	}
}

// BenchmarkSanitizeBytes and BenchmarkPlainEnd are the sanitiser and Filter's plain-text scan alone.
func BenchmarkSanitizeBytes(b *testing.B) {
	for _, sh := range floodShapes {
		b.Run(sh.name, func(b *testing.B) {
			chunk := shapeChunk(sh.unit)
			var san Sanitizer
			b.SetBytes(int64(len(chunk)))
			for b.Loop() {
				san.SanitizeBytes(chunk)
			}
		})
	}
}

func BenchmarkPlainEnd(b *testing.B) {
	for _, sh := range floodShapes[:4] { // the plain ones
		b.Run(sh.name, func(b *testing.B) {
			chunk := shapeChunk(sh.unit)
			b.SetBytes(int64(len(chunk)))
			for b.Loop() {
				if plainEnd(chunk) != len(chunk) {
					b.Fatal("not plain")
				}
			}
		})
	}
}
