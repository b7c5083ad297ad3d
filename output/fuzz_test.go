package output

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// splitAt cuts data into parts whose lengths come from cuts (0 means an empty read).
func splitAt(data, cuts []byte) [][]byte {
	var parts [][]byte
	for _, c := range cuts {
		n := min(int(c)%16, len(data))
		parts = append(parts, data[:n])
		data = data[n:]
	}
	return append(parts, data)
}

type pipeline struct {
	dec Decoder
	san Sanitizer
	sb  strings.Builder
	evs []Event
}

func (p *pipeline) feed(text string) {
	c, e := p.san.Sanitize(text)
	p.sb.WriteString(c)
	p.evs = append(p.evs, e...)
}

// FuzzDecodeSanitize checks that reads split anywhere decode and sanitise exactly like the unsplit stream
// (a sequence or a UTF-8 character split across reads is still whole), and that nothing the sanitiser lets
// through is a control it must remove: a C0 control other than TAB, LF and CR, or a C1 sequence introducer.
func FuzzDecodeSanitize(f *testing.F) {
	seeds := []string{
		"\xE2\x82\xAC\n", "a\377b\n", "\x1b[31mRED\x1b[0m \x1b]0;title\aok\n", "\x1b[31mX\n", "a\x01b\tc\r\n",
		"10%\r50%\r100%\n", "\x1b[6n\x1b[?1;1049h\x1b[?1l\x1b[?6n", "\x1b]0;t\x1b\\x\x1bPq\x1b[1m", "\x1b(B\x1b 0",
		"\xF0\x9F\x98\x80\xED\xA0\x80\xC0\x80", "\x1b]" + strings.Repeat("a", 4100), "\x1b[" + strings.Repeat("1", 70) + "m",
		"\x1b" + strings.Repeat(" ", 20) + "0", "\x1b]x\xc2\x9cy\x1b\x1b[z", "\x1b\xc3\xa9\x1b\n",
		"AB\u009b31mC\u009d0;t\u009cD\u0090q\x1b\\E", "\u009b6n\u009b?1h\u009b?1l", "\u00a0\u00a9\xc2\u009b\xc2",
		"\x1b[1\u009b2\u009d\u009b3m\u009c\u009b\x1b", strings.Repeat("\u00b0", 9) + "\u009e" + strings.Repeat("x", 9) + "\a",
	}
	for i, s := range seeds {
		f.Add([]byte(s), []byte{byte(i), 1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		// Unsplit: one read, one flush.
		var whole pipeline
		whole.feed(whole.dec.Decode(data) + whole.dec.Flush())
		wantText, wantEvs := whole.sb.String(), whole.evs
		var ref Decoder
		if got := ref.Decode(data) + ref.Flush(); got != decodeRef(data) {
			t.Fatalf("decode %q = %q, want %q", data, got, decodeRef(data))
		}

		// Split reads, as the session reader does them.
		var split pipeline
		for _, p := range splitAt(data, cuts) {
			split.feed(split.dec.Decode(p))
		}
		split.feed(split.dec.Flush())
		if got := split.sb.String(); got != wantText || !slices.Equal(split.evs, wantEvs) {
			t.Fatalf("split %q by %v: %q %v, unsplit %q %v", data, cuts, got, split.evs, wantText, wantEvs)
		}

		// The same reads through the allocation-free APIs, as the session reader uses them: one read buffer
		// reused for every read, and every result clobbered once consumed, so that any view the decoder or the
		// sanitiser kept into either would show.
		var bd Decoder
		var bs Sanitizer
		var got []byte
		var evs []Event
		buf := make([]byte, len(data)+1)
		for _, part := range splitAt(data, cuts) {
			n := copy(buf, part)
			clean, e := bs.SanitizeBytes(bd.DecodeBytes(buf[:n]))
			got = append(got, clean...)
			evs = append(evs, e...)
			for i := range clean {
				clean[i] = 0x1b
			}
			for i := range buf {
				buf[i] = 0xff
			}
		}
		tailClean, e := bs.Sanitize(bd.Flush())
		got, evs = append(got, tailClean...), append(evs, e...)
		if string(got) != wantText || !slices.Equal(evs, wantEvs) {
			t.Fatalf("byte APIs %q by %v: %q %v, unsplit %q %v", data, cuts, got, evs, wantText, wantEvs)
		}

		// The same reads through Filter, as the session reader runs them: the plain fast path must agree with the
		// full pipeline, and each chunk's char count must be its chars.
		var fl Filter
		got, evs = got[:0], evs[:0]
		for _, part := range splitAt(data, cuts) {
			n := copy(buf, part)
			clean, chars, e := fl.Bytes(buf[:n])
			if c := utf8.RuneCount(clean); c != chars || !utf8.Valid(clean) {
				t.Fatalf("Filter.Bytes(%q) = %q, %d chars (has %d)", part, clean, chars, c)
			}
			got = append(got, clean...)
			evs = append(evs, e...)
			for i := range clean {
				clean[i] = 0x1b
			}
			for i := range buf {
				buf[i] = 0xff
			}
		}
		tail, chars := fl.Flush()
		if c := utf8.RuneCount(tail); c != chars {
			t.Fatalf("Filter.Flush = %q, %d chars (has %d)", tail, chars, c)
		}
		if got = append(got, tail...); string(got) != wantText || !slices.Equal(evs, wantEvs) {
			t.Fatalf("Filter %q by %v: %q %v, unsplit %q %v", data, cuts, got, evs, wantText, wantEvs)
		}

		if !utf8.ValidString(wantText) {
			t.Fatalf("invalid UTF-8 out: %q", wantText)
		}
		for _, r := range wantText {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || c1Introducer(r) {
				t.Fatalf("control %U kept in %q", r, wantText)
			}
		}

		// One char per call exercises the slow path everywhere. It is the slowest check, so long inputs (which the
		// minimiser replays many times) skip it; the arbitrary splits above still cover them.
		if len(data) > 512 {
			return
		}
		var one pipeline
		for _, r := range decodeRef(data) {
			one.feed(string(r))
		}
		if got := one.sb.String(); got != wantText || !slices.Equal(one.evs, wantEvs) {
			t.Fatalf("char by char %q: %q %v, unsplit %q %v", data, got, one.evs, wantText, wantEvs)
		}
	})
}

// bufferModel is the pending list and aggregated buffer (docs/reference.md#output-pending,
// docs/reference.md#output-aggregated) written as literally as possible, to compare Buffer against.
type bufferModel struct {
	max, cap   int
	pending    []modelChunk
	count      [2]int
	dropped    bool
	all        []rune
	lastDrain  int
	truncated  bool
	aggregated []rune
}

type modelChunk struct {
	s int
	r []rune
}

func (m *bufferModel) append(s int, text string) {
	r := []rune(text)
	m.pending = append(m.pending, modelChunk{s, r})
	m.count[s] += len(r)
	if m.count[s] > m.cap {
		m.dropped, m.truncated = true, true
		for {
			i := slices.IndexFunc(m.pending, func(c modelChunk) bool { return c.s == s })
			if m.count[s]-len(m.pending[i].r) >= m.cap {
				m.count[s] -= len(m.pending[i].r)
				m.pending = slices.Delete(m.pending, i, i+1)
				continue
			}
			m.pending[i].r = m.pending[i].r[m.count[s]-m.cap:]
			m.count[s] = m.cap
			break
		}
	}
	m.all = append(m.all, r...)
	m.aggregated = m.all[max(0, len(m.all)-m.max):]
	if len(m.all) > m.max {
		m.truncated = true
	}
}

func (m *bufferModel) drain() Drained {
	var sb strings.Builder
	for _, c := range m.pending {
		sb.WriteString(string(c.r))
	}
	d := Drained{Text: sb.String(), Chunks: len(m.pending), Omitted: m.dropped,
		Discarded: len(m.all)-len(m.aggregated) > m.lastDrain}
	m.pending, m.count, m.dropped, m.lastDrain = nil, [2]int{}, false, len(m.all)
	return d
}

// FuzzBuffer runs arbitrary appends and drains against the model and checks the invariants of the aggregated
// buffer (docs/reference.md#output-aggregated).
func FuzzBuffer(f *testing.F) {
	f.Add(uint8(10), uint8(10), []byte("\x140123456789\x0cabcdef\xff"))
	f.Add(uint8(200), uint8(10), []byte("\x0caaaaaa\x0cbbbbbb\x19cccccccccccc\xff\xff"))
	f.Add(uint8(3), uint8(0), []byte("\x02\xe2\x04\x82\xac\x05\xc3\xa9\xc3\xa9\xff"))
	f.Add(uint8(7), uint8(2), []byte("\x03a\x03b\x02\x03c\x02\xff\x05dd\x04e\xff"))
	f.Fuzz(func(t *testing.T, maxB, capB uint8, ops []byte) {
		maxChars := 1 + int(maxB)%64
		pendingCap := int(capB) % 70 // 0 selects the default, lowered to maxChars
		b := NewBuffer(maxChars, pendingCap)
		m := &bufferModel{max: maxChars, cap: min(maxChars, cmpOr(pendingCap, DefaultPendingChars))}
		for len(ops) > 0 {
			op := ops[0]
			ops = ops[1:]
			if op == 0xff {
				got, want := b.Drain(), m.drain()
				if got != want {
					t.Fatalf("drain %+v, model %+v", got, want)
				}
				continue
			}
			s := int(op & 1)
			n := min(int(op>>1)%40, len(ops))
			text := string(ops[:n])
			ops = ops[n:]
			if op&0x80 != 0 {
				// The Buffer must copy what it keeps: the caller's bytes are clobbered right after.
				p := []byte(text)
				b.AppendBytes(Stream(s), p)
				for i := range p {
					p[i] = '!'
				}
			} else {
				b.Append(Stream(s), text)
			}
			if text != "" {
				var d Decoder
				m.append(s, d.Decode([]byte(text))+d.Flush())
			}
			agg := b.Aggregated()
			if agg != string(m.aggregated) {
				t.Fatalf("aggregated %q, model %q", agg, string(m.aggregated))
			}
			if b.AggregatedChars() != utf8.RuneCountInString(agg) || b.AggregatedChars() > maxChars {
				t.Fatalf("AggregatedChars %d for %q", b.AggregatedChars(), agg)
			}
			if b.TotalChars() != len(m.all) || b.DiscardedChars() != b.TotalChars()-b.AggregatedChars() {
				t.Fatalf("total %d discarded %d aggregated %d", b.TotalChars(), b.DiscardedChars(), b.AggregatedChars())
			}
			if b.Truncated() != m.truncated {
				t.Fatalf("truncated %v, model %v", b.Truncated(), m.truncated)
			}
			for i, q := range b.pending {
				if q.chars > m.cap || q.chars != m.count[i] {
					t.Fatalf("stream %d pending %d, model %d, cap %d", i, q.chars, m.count[i], m.cap)
				}
			}
			if b.PendingChars() != m.count[0]+m.count[1] {
				t.Fatalf("PendingChars %d", b.PendingChars())
			}
			tail := []rune(agg)
			if got := b.Tail(); got != string(tail[max(0, len(tail)-TailChars):]) {
				t.Fatalf("tail %q", got)
			}
		}
		if got, want := b.Drain(), m.drain(); got != want {
			t.Fatalf("final drain %+v, model %+v", got, want)
		}
	})
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// FuzzSliceLog checks that slicing never panics, counts lines as specified and stays within the budget.
func FuzzSliceLog(f *testing.F) {
	f.Add("one\ntwo\nthree\n", 1, 1, true, true, uint32(TextBudget))
	f.Add(numbered(201), 0, 0, false, false, uint32(TextBudget))
	f.Add("a\r\nb\r\r\nc\rd\n\n", -3, 2, true, false, uint32(9))
	f.Add(strings.Repeat("<", 100)+"\n\u2028é😀", 0, 1, false, true, uint32(50))
	f.Add("x\ny\n", 1<<40, 1<<62, true, true, uint32(0))
	f.Fuzz(func(t *testing.T, text string, off, lim int, hasOff, hasLim bool, budgetU uint32) {
		budget := int(budgetU % (2 * TextBudget))
		var offset, limit *int
		if hasOff {
			offset = &off
		}
		if hasLim {
			limit = &lim
		}
		ls := SliceLog(text, offset, limit, budget)

		var lines []string
		if text != "" {
			lines = strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
			if lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
		}
		if ls.TotalLines != len(lines) || ls.TotalChars != utf8.RuneCountInString(text) {
			t.Fatalf("totals %d %d", ls.TotalLines, ls.TotalChars)
		}
		if ls.DefaultWindow != (!hasOff && !hasLim) {
			t.Fatalf("DefaultWindow %v", ls.DefaultWindow)
		}
		if (ls.DefaultWindow && ls.Start > 0) != (ls.DefaultWindow && ls.TotalLines > defaultLogLines) {
			t.Fatalf("default window starts at %d of %d lines", ls.Start, ls.TotalLines)
		}
		if EncodedLen(ls.Text) > budget {
			t.Fatalf("text %d encoded bytes over budget %d", EncodedLen(ls.Text), budget)
		}
		if ls.Start < 0 || ls.End < 0 || ls.End > ls.TotalLines {
			t.Fatalf("window %d..%d of %d", ls.Start, ls.End, ls.TotalLines)
		}
		var full string
		if ls.Start < ls.End {
			full = strings.Join(lines[ls.Start:ls.End], "\n")
		}
		if ls.Cut != (ls.Kept > 0) || ls.Cut && (ls.Kept > ls.End-ls.Start || strings.Count(ls.Text, "\n") != ls.Kept-1) {
			t.Fatalf("cut %v, kept %d lines of %d..%d, text %q", ls.Cut, ls.Kept, ls.Start, ls.End, ls.Text)
		}
		switch {
		case !ls.Cut:
			if ls.Text != full {
				t.Fatalf("text %q, window %q", ls.Text, full)
			}
		case hasOff:
			if !strings.HasPrefix(full, ls.Text) || ls.Text == full {
				t.Fatalf("offset cut %q is not a proper prefix of %q", ls.Text, full)
			}
		default:
			if !strings.HasSuffix(full, ls.Text) || ls.Text == full {
				t.Fatalf("tail cut %q is not a proper suffix of %q", ls.Text, full)
			}
		}
	})
}

// FuzzText checks the pure helpers against encoding/json and their own contracts.
func FuzzText(f *testing.F) {
	f.Add("<a>&\"\\\x00\x1f\u2028\xff\n", 5)
	f.Add(strings.Repeat("é", 60), 48)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if got, want := EncodedLen(s), jsonLen(s); got != want {
			t.Fatalf("EncodedLen(%q) = %d, json %d", s, got, want)
		}
		budget := n % 1000
		kept, cut := KeepNewest(s, budget)
		if !strings.HasSuffix(s, kept) || cut != (kept != s) || EncodedLen(kept) > max(budget, 0) && kept != "" {
			t.Fatalf("KeepNewest(%q, %d) = %q %v", s, budget, kept, cut)
		}
		if cut && budget >= 0 {
			// The next older char would not have fitted.
			_, size := utf8.DecodeLastRuneInString(s[:len(s)-len(kept)])
			if EncodedLen(s[len(s)-len(kept)-size:]) <= budget {
				t.Fatalf("KeepNewest(%q, %d) = %q stopped early", s, budget, kept)
			}
		}
		tm := TruncateMiddle(s, budget)
		if c := utf8.RuneCountInString(s); c <= budget {
			if tm != s {
				t.Fatalf("TruncateMiddle changed a short string")
			}
		} else if budget >= 3 && utf8.RuneCountInString(tm) != 2*((budget-3)/2)+3 {
			t.Fatalf("TruncateMiddle(%q, %d) = %q", s, budget, tm)
		}
		_ = Trim(s)
		_ = CollapseSpace(s)
		_ = LastLine(s)
	})
}
