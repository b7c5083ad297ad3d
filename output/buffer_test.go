package output

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

type appendOp struct {
	s    Stream
	text string
}

func TestBufferWorkedExamples(t *testing.T) {
	rep := strings.Repeat
	tests := []struct {
		name          string
		max, pending  int
		appends       []appendOp
		wantAgg       string
		wantTotal     int
		wantDiscarded int
		wantTrunc     bool
		want          Drained
	}{
		{
			name: "aggregated cap 10", max: 10, pending: 10,
			appends:   []appendOp{{Stdout, "0123456789"}, {Stdout, "abcdef"}},
			wantAgg:   "6789abcdef",
			wantTotal: 16, wantDiscarded: 6, wantTrunc: true,
			want: Drained{Text: "6789abcdef", Chunks: 2, Omitted: true, Discarded: true},
		},
		{
			name: "pending cap on one big chunk", max: 100000, pending: 20000,
			appends:   []appendOp{{Stdout, rep("a", 70000) + rep("b", 20000)}},
			wantAgg:   rep("a", 70000) + rep("b", 20000),
			wantTotal: 90000, wantTrunc: true,
			want: Drained{Text: rep("b", 20000), Chunks: 1, Omitted: true},
		},
		{
			name: "pending cap never above max output", max: 5000, pending: 30000,
			appends:   []appendOp{{Stdout, rep("x", 10000)}},
			wantAgg:   rep("x", 5000),
			wantTotal: 10000, wantDiscarded: 5000, wantTrunc: true,
			want: Drained{Text: rep("x", 5000), Chunks: 1, Omitted: true, Discarded: true},
		},
		{
			name: "per-stream caps with interleaving", max: 1000, pending: 10,
			appends:   []appendOp{{Stdout, "aaaaaa"}, {Stdout, "bbbbbb"}, {Stderr, rep("c", 12)}},
			wantAgg:   "aaaaaabbbbbb" + rep("c", 12),
			wantTotal: 24, wantTrunc: true,
			want: Drained{Text: "aaaabbbbbbcccccccccc", Chunks: 3, Omitted: true},
		},
		{
			name: "other stream keeps its position", max: 1000, pending: 5,
			appends:   []appendOp{{Stdout, "123"}, {Stderr, "E"}, {Stdout, "456"}, {Stderr, "F"}, {Stdout, "789"}},
			wantAgg:   "123E456F789",
			wantTotal: 11, wantTrunc: true,
			want: Drained{Text: "E56F789", Chunks: 4, Omitted: true},
		},
		{
			name: "interleaving", max: 1000, pending: 1000,
			appends:   []appendOp{{Stdout, "out1\n"}, {Stderr, "err1\n"}, {Stdout, "out2\n"}},
			wantAgg:   "out1\nerr1\nout2\n",
			wantTotal: 15,
			want:      Drained{Text: "out1\nerr1\nout2\n", Chunks: 3},
		},
		{
			name: "chars are code points", max: 1000, pending: 0,
			appends:   []appendOp{{Stdout, rep("é", 1200)}},
			wantAgg:   rep("é", 1000),
			wantTotal: 1200, wantDiscarded: 200, wantTrunc: true,
			want: Drained{Text: rep("é", 1000), Chunks: 1, Omitted: true, Discarded: true},
		},
		{
			name: "exactly at the caps", max: 10, pending: 10,
			appends:   []appendOp{{Stdout, "01234"}, {Stdout, "56789"}},
			wantAgg:   "0123456789",
			wantTotal: 10,
			want:      Drained{Text: "0123456789", Chunks: 2},
		},
		{
			name: "empty appends are no chunks", max: 10, pending: 10,
			appends: []appendOp{{Stdout, ""}, {Stderr, ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuffer(tt.max, tt.pending)
			for _, a := range tt.appends {
				b.Append(a.s, a.text)
			}
			if got := b.Aggregated(); got != tt.wantAgg {
				t.Errorf("aggregated %q, want %q", short(got), short(tt.wantAgg))
			}
			if got := b.AggregatedChars(); got != utf8.RuneCountInString(tt.wantAgg) {
				t.Errorf("AggregatedChars %d", got)
			}
			if b.TotalChars() != tt.wantTotal || b.DiscardedChars() != tt.wantDiscarded || b.Truncated() != tt.wantTrunc {
				t.Errorf("total %d discarded %d truncated %v, want %d %d %v", b.TotalChars(), b.DiscardedChars(),
					b.Truncated(), tt.wantTotal, tt.wantDiscarded, tt.wantTrunc)
			}
			if got := b.PendingChars(); got != utf8.RuneCountInString(tt.want.Text) {
				t.Errorf("PendingChars %d", got)
			}
			got := b.Drain()
			if got.Text != tt.want.Text || got.Chunks != tt.want.Chunks || got.Omitted != tt.want.Omitted ||
				got.Discarded != tt.want.Discarded {
				t.Errorf("drain {%q %d %v %v}, want {%q %d %v %v}", short(got.Text), got.Chunks, got.Omitted,
					got.Discarded, short(tt.want.Text), tt.want.Chunks, tt.want.Omitted, tt.want.Discarded)
			}
			if again := b.Drain(); again != (Drained{}) {
				t.Errorf("second drain %+v", again)
			}
			if b.PendingChars() != 0 {
				t.Errorf("pending after drain")
			}
		})
	}
}

func short(s string) string {
	if len(s) > 80 {
		return s[:40] + "..." + s[len(s)-40:] + " (" + strconv.Itoa(len(s)) + " bytes)"
	}
	return s
}

// The poll notes example (docs/reference.md#output-examples): 6300 chars, never polled, max 5000, pending 1000.
func TestBufferPollNotes(t *testing.T) {
	b := NewBuffer(5000, 1000)
	var all strings.Builder
	for i := 0; all.Len() < 6300; i++ {
		line := strconv.Itoa(i%10) + strings.Repeat("-", 8) + "\n" // 10 chars
		all.WriteString(line)
		b.Append(Stdout, line)
	}
	d := b.Drain()
	want := all.String()[6300-1000:]
	if d.Text != want || !d.Omitted || !d.Discarded {
		t.Fatalf("drain %q omitted %v discarded %v", short(d.Text), d.Omitted, d.Discarded)
	}
	if b.DiscardedChars() != 1300 {
		t.Fatalf("discarded %d", b.DiscardedChars())
	}
	// Output produced after this drain that is still retained is neither omitted nor discarded.
	b.Append(Stdout, "more\n")
	if d := b.Drain(); d.Text != "more\n" || d.Omitted || d.Discarded || d.Chunks != 1 {
		t.Fatalf("second drain %+v", d)
	}
	// Output produced since the drain and already pushed out of aggregated is reported as discarded.
	b.Append(Stdout, strings.Repeat("z", 5001))
	if d := b.Drain(); !d.Discarded || !d.Omitted || d.Text != strings.Repeat("z", 1000) {
		t.Fatalf("third drain omitted %v discarded %v", d.Omitted, d.Discarded)
	}
}

func TestBufferZeroValueAndDefaults(t *testing.T) {
	var b Buffer
	b.Append(Stdout, strings.Repeat("a", 40000))
	if d := b.Drain(); len(d.Text) != DefaultPendingChars || !d.Omitted {
		t.Fatalf("zero value pending cap: %d", len(d.Text))
	}
	b.Append(Stderr, strings.Repeat("b", 70000))
	if b.AggregatedChars() != DefaultMaxChars || b.DiscardedChars() != 10000 {
		t.Fatalf("zero value max: %d %d", b.AggregatedChars(), b.DiscardedChars())
	}
	nb := NewBuffer(0, -1)
	if nb.maxChars != DefaultMaxChars || nb.pendingCap != DefaultPendingChars {
		t.Fatalf("defaults %d %d", nb.maxChars, nb.pendingCap)
	}
	if nb := NewBuffer(2000, 0); nb.pendingCap != 2000 {
		t.Fatalf("pending cap not lowered: %d", nb.pendingCap)
	}
}

func TestBufferTail(t *testing.T) {
	b := NewBuffer(1000, 1000)
	if b.Tail() != "" {
		t.Fatal("tail of empty buffer")
	}
	b.Append(Stdout, "héllo")
	if b.Tail() != "héllo" {
		t.Fatalf("short tail %q", b.Tail())
	}
	b.Append(Stdout, strings.Repeat("a", 1000)+strings.Repeat("€", 499))
	if want := "a" + strings.Repeat("€", 499); b.Tail() != want {
		t.Fatalf("tail %q", short(b.Tail()))
	}
	if n := utf8.RuneCountInString(b.Tail()); n != TailChars {
		t.Fatalf("tail chars %d", n)
	}
}

func TestBufferInvalidUTF8(t *testing.T) {
	b := NewBuffer(3, 3)
	b.Append(Stdout, "\xE2")
	b.Append(Stdout, "\x82\xAC") // would form € if concatenated raw
	if got := b.Aggregated(); got != "\uFFFD\uFFFD\uFFFD" || b.TotalChars() != 3 {
		t.Fatalf("got %q total %d", got, b.TotalChars())
	}
}

// Memory stays bounded by the caps however much is appended, including one huge chunk and many tiny ones.
func TestBufferBounded(t *testing.T) {
	b := NewBuffer(1000, 100)
	chunk := strings.Repeat("ab€", 11000)
	for range 100 {
		b.Append(Stdout, chunk)
		b.Append(Stderr, "x")
	}
	b.Append(Stdout, strings.Repeat("y", 1<<20))
	if cap(b.agg) > 16*1000 {
		t.Errorf("aggregated capacity %d", cap(b.agg))
	}
	if c := cap(b.pending[0].data); c > 2*4*100 {
		t.Errorf("pending text capacity %d after a 1 MiB chunk, want the cap's worth", c)
	}
	for i := range 100000 {
		b.Append(Stream(i%2), "z")
	}
	for _, q := range b.pending {
		if len(q.items) > 2*100 || q.chars > 100 {
			t.Errorf("pending queue %d items, %d chars", len(q.items), q.chars)
		}
		// Live text is at most 100 chars of at most 4 bytes; reserve keeps at most twice live plus one chunk.
		if cap(q.data) > 2*(4*100+4*100) {
			t.Errorf("pending text capacity %d", cap(q.data))
		}
	}
	if cap(b.agg) > 16*1000 {
		t.Errorf("aggregated capacity %d", cap(b.agg))
	}
}

// A flood must not produce garbage per read: once the caps are reached, decoding, sanitising and recording a
// read allocate nothing (the session reader relies on this to keep its RSS flat, docs/benchmarks.md).
func TestReadPathAllocationFree(t *testing.T) {
	tests := []struct {
		name string
		read []byte
	}{
		{"ascii", bytes.Repeat([]byte("y\n"), 16<<10)},
		{"utf-8 split across reads", append(bytes.Repeat([]byte("é"), 16<<10-1), 0xc3)},
		{"escapes", bytes.Repeat([]byte("\x1b[31mred\x1b[0m\n"), 2<<10)},
		{"invalid bytes", bytes.Repeat([]byte("a\xff"), 16<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Filter
			b := NewBuffer(DefaultMaxChars, DefaultPendingChars)
			read := func() {
				clean, chars, _ := f.Bytes(tt.read)
				b.AppendText(Stdout, clean, chars)
			}
			for range 10 { // reach the caps and grow every buffer to its steady size
				read()
			}
			if n := testing.AllocsPerRun(100, read); n != 0 {
				t.Errorf("%v allocations per read, want 0", n)
			}
		})
	}
}
