package output

import (
	"strings"
	"unicode/utf8"
)

// Buffer holds the output of one session: the pending list that poll drains (docs/reference.md#output-pending)
// and the aggregated buffer that log, tails and foreground results read (docs/reference.md#output-aggregated),
// with the counters that decide the notes (docs/reference.md#output-notes).
//
// Memory is bounded by the caps whatever is appended: at most pendingCap chars per stream are pending and at
// most maxChars chars are aggregated (plus bounded slack for amortised compaction). Appends are amortised
// O(length of the chunk): nothing re-scans the retained text.
//
// The zero value is a Buffer with the default caps (DefaultMaxChars, DefaultPendingChars). Callers must
// serialise all method calls (the session lock).
type Buffer struct {
	maxChars   int
	pendingCap int

	// The pending list is kept as one FIFO per stream; seq records the arrival order across both, so the
	// per-stream cap removes the oldest chunks of one stream in O(1) and Drain restores the interleaving.
	pending        [2]chunkQueue
	seq            uint64
	pendingDropped bool

	// agg[aggStart:] is the aggregated text (valid UTF-8, aggChars chars). The dead head before aggStart is
	// reclaimed when the slice would otherwise grow.
	agg      []byte
	aggStart int
	aggChars int

	total          int // totalOutputChars
	discarded      int // discardedChars
	lastDrainTotal int
	truncated      bool
}

// chunk is one pending chunk: data[start:end] of its stream's queue, chars chars.
type chunk struct {
	seq        uint64
	start, end int
	chars      int
}

// chunkQueue is the pending FIFO of one stream. Its text lives in data, which the queue owns, so that an append
// copies only into memory that is reused until the next drain: the caller's bytes may be a read buffer.
// data[:items[head].start] is dead and reclaimed when data would otherwise grow.
type chunkQueue struct {
	items []chunk
	head  int
	chars int
	data  []byte
}

// Drained is the result of one drain of the pending list.
type Drained struct {
	Text      string // concatenation of pending chunks, arrival order
	Chunks    int    // number of chunks drained (0 = nothing; used for retryInMs)
	Omitted   bool   // pendingDropped since previous drain
	Discarded bool   // discardedChars > lastDrainTotal
}

// NewBuffer returns an empty Buffer. maxChars and pendingCap <= 0 select DefaultMaxChars and
// DefaultPendingChars; the pending cap is lowered to maxChars because pending output beyond the retained
// output could never be paged with log. Range clamping of configured values is the caller's job (tests use
// tiny caps).
func NewBuffer(maxChars, pendingCap int) *Buffer {
	b := &Buffer{maxChars: maxChars, pendingCap: pendingCap}
	b.normalize()
	return b
}

func (b *Buffer) normalize() {
	if b.maxChars <= 0 {
		b.maxChars = DefaultMaxChars
	}
	if b.pendingCap <= 0 {
		b.pendingCap = DefaultPendingChars
	}
	b.pendingCap = min(b.pendingCap, b.maxChars)
}

func streamIndex(s Stream) int {
	if s == Stdout {
		return 0
	}
	return 1 // any other value counts as stderr
}

// Append adds one chunk of sanitised text of stream s (docs/reference.md#output-pending). Empty text is ignored so
// that a read that sanitised to nothing creates no chunk. Invalid UTF-8 (never produced by Decoder) is replaced per
// byte by U+FFFD first, because the char accounting requires that chunks concatenate to valid text.
func (b *Buffer) Append(s Stream, text string) { b.AppendBytes(s, []byte(text)) }

// AppendBytes is Append for bytes the Buffer does not keep: it copies what it retains, so p may be reused as
// soon as it returns.
func (b *Buffer) AppendBytes(s Stream, p []byte) {
	if !utf8.Valid(p) {
		var d Decoder
		p = append(d.DecodeBytes(p), d.Flush()...)
	}
	b.AppendText(s, p, countChars(p))
}

// AppendText is AppendBytes for text whose chars the caller counted, such as what Filter.Bytes returns: p must
// be valid UTF-8 of exactly chars chars, and is not looked at again.
func (b *Buffer) AppendText(s Stream, p []byte, chars int) {
	if len(p) == 0 {
		return
	}
	if b.maxChars == 0 {
		b.normalize()
	}
	b.total += chars
	b.push(streamIndex(s), p, chars)
	b.appendAggregated(p, chars)
}

func (b *Buffer) push(si int, p []byte, n int) {
	q := &b.pending[si]
	b.seq++
	limit := b.pendingCap
	if n >= limit {
		// The chunk alone fills the stream's pending cap: every older chunk goes and only the newest limit
		// chars of this one are kept, so a flood copies no more than the cap per read.
		if q.chars+n > limit {
			b.pendingDropped = true
			b.truncated = true
		}
		p = p[dropHeadOffset(p, n, n-limit):]
		clear(q.items)
		q.items, q.head = q.items[:0], 0
		q.data = append(q.data[:0], p...)
		q.items = append(q.items, chunk{seq: b.seq, start: 0, end: len(q.data), chars: limit})
		q.chars = limit
		return
	}
	q.reserve(len(p))
	start := len(q.data)
	q.data = append(q.data, p...)
	q.items = append(q.items, chunk{seq: b.seq, start: start, end: len(q.data), chars: n})
	q.chars += n
	if q.chars <= limit {
		return
	}
	b.pendingDropped = true
	b.truncated = true
	// Whole chunks first, oldest first, while what remains still reaches the cap; this never empties the
	// queue because the cap is at least 1.
	for q.chars-q.items[q.head].chars >= limit {
		q.chars -= q.items[q.head].chars
		q.items[q.head] = chunk{}
		q.head++
	}
	if excess := q.chars - limit; excess > 0 {
		c := &q.items[q.head]
		c.start += dropHeadOffset(q.data[c.start:c.end], c.chars, excess)
		c.chars -= excess
		q.chars = limit
	}
	if q.head > 0 && 2*q.head >= len(q.items) {
		m := copy(q.items, q.items[q.head:])
		clear(q.items[m:])
		q.items = q.items[:m]
		q.head = 0
	}
}

// reserve makes room for extra bytes at the end of data, as Buffer.reserve does for the aggregated buffer.
func (q *chunkQueue) reserve(extra int) {
	if len(q.data)+extra <= cap(q.data) {
		return
	}
	dead := len(q.data)
	if q.head < len(q.items) {
		dead = q.items[q.head].start
	}
	live := len(q.data) - dead
	need := live + extra
	if dead > 0 && need <= cap(q.data)/2 {
		copy(q.data, q.data[dead:])
		q.data = q.data[:live]
	} else {
		nb := make([]byte, live, max(2*need, 512))
		copy(nb, q.data[dead:])
		q.data = nb
	}
	for i := q.head; i < len(q.items); i++ {
		q.items[i].start -= dead
		q.items[i].end -= dead
	}
}

// appendAggregated appends text (n chars) and drops the oldest chars beyond maxChars.
func (b *Buffer) appendAggregated(text []byte, n int) {
	if n >= b.maxChars {
		// The chunk alone fills the buffer: everything retained so far and the head of the chunk go.
		drop := b.aggChars + n - b.maxChars
		if drop > 0 {
			b.discarded += drop
			b.truncated = true
		}
		text = text[dropHeadOffset(text, n, n-b.maxChars):]
		b.agg = append(b.agg[:0], text...)
		b.aggStart = 0
		b.aggChars = b.maxChars
		return
	}
	// Drop before appending so that the retained bytes, not retained plus new, decide whether to grow.
	if k := b.aggChars + n - b.maxChars; k > 0 {
		live := b.agg[b.aggStart:]
		b.aggStart += dropHeadOffset(live, b.aggChars, k)
		b.aggChars -= k
		b.discarded += k
		b.truncated = true
	}
	b.reserve(len(text))
	b.agg = append(b.agg, text...)
	b.aggChars += n
}

// reserve makes room for extra bytes at the end of agg. When the slice is full it either slides the live bytes
// down (when they need at most half the capacity) or moves them to a slice twice their size, so after each
// copy at least as many bytes can be appended as were copied: amortised O(1) per byte, and the capacity stays
// within twice the live bytes plus one chunk.
func (b *Buffer) reserve(extra int) {
	if len(b.agg)+extra <= cap(b.agg) {
		return
	}
	live := len(b.agg) - b.aggStart
	need := live + extra
	if b.aggStart > 0 && need <= cap(b.agg)/2 {
		copy(b.agg, b.agg[b.aggStart:])
		b.agg = b.agg[:live]
		b.aggStart = 0
		return
	}
	nb := make([]byte, live, max(2*need, 512))
	copy(nb, b.agg[b.aggStart:])
	b.agg = nb
	b.aggStart = 0
}

// Drain returns and empties the pending list (docs/reference.md#output-pending) with the note flags
// (docs/reference.md#output-notes), and records lastDrainTotal. Discarded is decided before lastDrainTotal moves.
func (b *Buffer) Drain() Drained {
	q0, q1 := &b.pending[0], &b.pending[1]
	a, c := q0.items[q0.head:], q1.items[q1.head:]
	d := Drained{
		Chunks:    len(a) + len(c),
		Omitted:   b.pendingDropped,
		Discarded: b.discarded > b.lastDrainTotal,
	}
	switch {
	case len(a) == 1 && len(c) == 0:
		d.Text = string(q0.data[a[0].start:a[0].end])
	case len(a) == 0 && len(c) == 1:
		d.Text = string(q1.data[c[0].start:c[0].end])
	case d.Chunks > 0:
		size := 0
		for _, x := range a {
			size += x.end - x.start
		}
		for _, x := range c {
			size += x.end - x.start
		}
		var sb strings.Builder
		sb.Grow(size)
		for len(a) > 0 || len(c) > 0 {
			if len(c) == 0 || (len(a) > 0 && a[0].seq < c[0].seq) {
				sb.Write(q0.data[a[0].start:a[0].end])
				a = a[1:]
			} else {
				sb.Write(q1.data[c[0].start:c[0].end])
				c = c[1:]
			}
		}
		d.Text = sb.String()
	}
	q0.reset()
	q1.reset()
	b.pendingDropped = false
	b.lastDrainTotal = b.total
	return d
}

// EachPending calls fn with each pending chunk of stdout, in arrival order, then each of stderr. The slices are
// only valid during the call.
func (b *Buffer) EachPending(fn func(s Stream, p []byte)) {
	for si, st := range [2]Stream{Stdout, Stderr} {
		q := &b.pending[si]
		for _, c := range q.items[q.head:] {
			fn(st, q.data[c.start:c.end])
		}
	}
}

func (q *chunkQueue) reset() {
	if cap(q.items) > 64 {
		// Do not keep a large index alive after a burst of tiny chunks.
		q.items = nil
	} else {
		clear(q.items)
		q.items = q.items[:0]
	}
	q.head = 0
	q.chars = 0
	// The text is released: an idle session keeps no pending memory, and a flood allocates once per drain.
	q.data = nil
}

// Aggregated returns the retained aggregated output (the newest maxChars chars), untrimmed.
func (b *Buffer) Aggregated() string { return string(b.agg[b.aggStart:]) }

// Tail returns the last TailChars chars of the aggregated output.
func (b *Buffer) Tail() string {
	live := b.agg[b.aggStart:]
	if b.aggChars <= TailChars {
		return string(live)
	}
	return string(live[dropHeadOffset(live, b.aggChars, b.aggChars-TailChars):])
}

// Truncated reports whether any output was ever dropped from the pending list or the aggregated buffer.
func (b *Buffer) Truncated() bool { return b.truncated }

// TotalChars returns totalOutputChars: all chars ever appended.
func (b *Buffer) TotalChars() int { return b.total }

// DiscardedChars returns the chars ever dropped from the head of the aggregated buffer; it always equals
// TotalChars() - AggregatedChars().
func (b *Buffer) DiscardedChars() int { return b.discarded }

// AggregatedChars returns the number of chars retained in the aggregated buffer.
func (b *Buffer) AggregatedChars() int { return b.aggChars }

// PendingChars returns the chars pending for both streams together.
func (b *Buffer) PendingChars() int { return b.pending[0].chars + b.pending[1].chars }

// dropHeadOffset returns the byte offset in s (valid UTF-8 of n chars) after its first k chars, walking from
// whichever end is nearer so that cutting a huge chunk down to a small cap costs the kept part only.
func dropHeadOffset[T ~string | ~[]byte](s T, n, k int) int {
	switch {
	case k <= 0:
		return 0
	case k >= n:
		return len(s)
	case len(s) == n:
		return k // all ASCII: bytes are chars
	case k <= n-k:
		return skipForward(s, 0, k)
	default:
		return skipBackward(s, n-k)
	}
}

// skipForward returns the offset of the char k chars after offset i (a char boundary), or len(s). It counts
// char-start bytes (all but 10xxxxxx) a word at a time and only scans the last word byte by byte.
func skipForward[T ~string | ~[]byte](s T, i, k int) int {
	for i+8 <= len(s) {
		c := 8 - contBytes(load8(s, i))
		if c > k {
			break
		}
		k -= c
		i += 8
	}
	for ; i < len(s); i++ {
		if s[i]&0xC0 != 0x80 {
			if k == 0 {
				return i
			}
			k--
		}
	}
	return len(s)
}

// skipBackward returns the offset where the last k chars of s begin (0 when s has fewer).
func skipBackward[T ~string | ~[]byte](s T, k int) int {
	if k <= 0 {
		return len(s)
	}
	i := len(s)
	for i >= 8 {
		c := 8 - contBytes(load8(s, i-8))
		if c >= k {
			break
		}
		k -= c
		i -= 8
	}
	for i--; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			k--
			if k == 0 {
				return i
			}
		}
	}
	return 0
}
