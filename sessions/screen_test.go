package sessions

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
)

// feedChunks writes stream to t in chunks of size n (0: one write).
func feedChunks(t *terminal, stream []byte, n int) {
	if n <= 0 {
		n = len(stream)
	}
	for len(stream) > 0 {
		k := min(n, len(stream))
		t.write(stream[:k])
		stream = stream[k:]
	}
}

// sameScreen reports how two terminals' screens differ (text, cursor, modes, title, the whole scrollback).
func sameScreen(a, b *terminal) string {
	sa, sb := a.screen(MaxScrollback), b.screen(MaxScrollback)
	sa.Info, sb.Info = Info{}, Info{}
	if reflect.DeepEqual(sa, sb) {
		return ""
	}
	return fmt.Sprintf("held back:\n%s\nfed at once:\n%s", dumpScreen(sa), dumpScreen(sb))
}

func dumpScreen(s Screen) string {
	return fmt.Sprintf("%dx%d cursor %d,%d visible %v alt %v title %q\nscrollback %q\nlines %q", s.Cols, s.Rows,
		s.CursorRow, s.CursorCol, s.CursorVisible, s.AltScreen, s.Title, s.Scrollback, s.Lines)
}

func repeatLines(format string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

// The held-back runs change nothing a screen shows: the same streams, in several chunkings, give the same
// screen, cursor, title and scrollback as the emulator fed every byte at once. A small scrollback cap makes the
// runs' tails short, so most streams here skip.
func TestTerminalSameAsEmulator(t *testing.T) {
	streams := map[string]string{
		"lines":          repeatLines("line %d\r\n", 200),
		"bare LF":        repeatLines("x%d\n", 100),
		"long lines":     repeatLines(strings.Repeat("abcdefghij", 7)+"%d\r\n", 60),
		"no newline":     strings.Repeat("y", 5000),
		"colors":         repeatLines("\x1b[1;31merror\x1b[0m %d \x1b[38;5;12mblue\x1b[m\x1b[K\r\n", 150),
		"wide":           repeatLines("漢字%d ok é\r\n", 120),
		"progress":       repeatLines("\r[%d%%]\x1b[K", 300) + "\r\ndone\r\n",
		"tabs":           repeatLines("a\tb\tc%d\r\n", 100),
		"cursor moves":   repeatLines("\x1b[H\x1b[2Jframe %d\x1b[3;5Hx\r\n", 50) + repeatLines("l%d\r\n", 80),
		"scroll region":  "\x1b[2;4r\x1b[3;1H" + repeatLines("r%d\r\n", 100) + "\x1b[r",
		"below region":   "\x1b[1;3r\x1b[6;1H" + repeatLines("below %d\r\n", 100),
		"alt screen":     "main\r\n\x1b[?1049h" + repeatLines("alt %d\r\n", 100) + "\x1b[?1049l" + repeatLines("m%d\r\n", 40),
		"autowrap off":   "\x1b[?7l" + repeatLines(strings.Repeat("w", 30)+"%d\r\n", 80) + strings.Repeat("z", 100),
		"title":          "\x1b]0;first\x07" + repeatLines("t%d\r\n", 60) + "\x1b]2;sec;ond\x1b\\",
		"insert delete":  repeatLines("abc%d\r\n", 40) + "\x1b[2;1H\x1b[2L\x1b[3P\x1b[1@Z\x1b[3M" + repeatLines("q%d\r\n", 40),
		"erase":          repeatLines("e%d\r\n", 40) + "\x1b[1J\x1b[2;2H\x1b[1K" + repeatLines("f%d\r\n", 3),
		"cursor hidden":  "\x1b[?25l" + repeatLines("h%d\r\n", 50),
		"single shift":   repeatLines("s%d\r\n", 20) + "\x1bN" + repeatLines("u%d\r\n", 60),
		"dec graphics":   "\x1b(0" + repeatLines("lqqk%d\r\n", 60) + "\x1b(B",
		"bad utf8":       repeatLines("a\xc3(b\xff%d\r\n", 60),
		"c1 controls":    repeatLines("\u0085x\u009b1m%d\r\n", 60),
		"unterminated":   "\x1b]0;never ends " + repeatLines("n%d\r\n", 60),
		"csi digits":     "\x1b[" + repeatLines("%d\r\n", 60) + "H",
		"split sequence": repeatLines("\x1b[3%dm#\x1b[0m\r\n", 80),
		"combining":      repeatLines("e\u0301\u0302%d\r\n", 60),
		"repeat char":    repeatLines("r%d\r\n", 60) + "\x1b[5b",
		"bells":          repeatLines("b%d\a\r\n", 60),
	}
	sizes := [][2]int{{20, 6}, {7, 3}, {80, 24}}
	for name, stream := range streams {
		for _, size := range sizes {
			for _, chunk := range []int{0, 1, 3, 64, 1000} {
				held := newTerminalScrollback(size[0], size[1], 4)
				ref := newTerminalScrollback(size[0], size[1], 4)
				ref.noRuns = true
				feedChunks(held, []byte(stream), chunk)
				// One write: the library splits a character from its combining marks at write boundaries, which
				// a run, written at once, does not.
				feedChunks(ref, []byte(stream), 0)
				if d := sameScreen(held, ref); d != "" {
					t.Fatalf("%s, %dx%d, chunks of %d:\n%s", name, size[0], size[1], chunk, d)
				}
			}
		}
	}
}

// A flood is not fed to the emulator byte by byte: of 200000 lines only a tail reaches it, and the screen and
// the scrollback still end with the last lines.
func TestTerminalSkipsFloods(t *testing.T) {
	term := newTerminal(DefaultCols, DefaultRows)
	stream := []byte(repeatLines("flood line %d\r\n", 200000))
	feedChunks(term, stream, 4096)
	s := term.screen(MaxScrollback)
	if term.fed > int64(len(stream))/20 {
		t.Errorf("fed %d of %d bytes to the emulator; want the tail only", term.fed, len(stream))
	}
	if s.Lines[DefaultRows-2] != "flood line 199999" || s.Lines[DefaultRows-1] != "" || s.CursorRow != DefaultRows-1 || s.CursorCol != 0 {
		t.Errorf("screen ends %q, cursor %d,%d", s.Lines[DefaultRows-3:], s.CursorRow, s.CursorCol)
	}
	if len(s.Scrollback) != MaxScrollback || s.Scrollback[MaxScrollback-1] != fmt.Sprintf("flood line %d", 200000-DefaultRows) {
		t.Errorf("scrollback: %d lines, last %q", len(s.Scrollback), s.Scrollback[len(s.Scrollback)-1])
	}
	// The same with a one-line flood that only wraps.
	term = newTerminal(DefaultCols, DefaultRows)
	feedChunks(term, bytes.Repeat([]byte("a"), 10<<20), 32<<10)
	if s := term.screen(0); term.fed > 1<<20 || s.Lines[0] != strings.Repeat("a", DefaultCols) {
		t.Errorf("one-line flood: fed %d bytes, first row %q", term.fed, s.Lines[0])
	}
}

// The run buffer stays within its bound when no tail fits (tails of very long lines made of wide characters,
// whose width the run does not count), and the screen is still exact.
func TestTerminalRunBound(t *testing.T) {
	held := newTerminalScrollback(4, 2, 1)
	ref := newTerminalScrollback(4, 2, 1)
	ref.noRuns = true
	stream := []byte(strings.Repeat("漢", 3<<20) + "\r\nend")
	feedChunks(held, stream, 32<<10)
	feedChunks(ref, stream, 0)
	if c := cap(held.run.buf); c > maxRunBytes {
		t.Errorf("run buffer %d bytes, bound %d", c, maxRunBytes)
	}
	if d := sameScreen(held, ref); d != "" {
		t.Error(d)
	}
}

// The emulator answers no query itself: a cursor-position or device-attributes request neither blocks the
// reader nor is answered (the output path's DSR reply is the only one).
func TestTerminalNoReplies(t *testing.T) {
	term := newTerminal(DefaultCols, DefaultRows)
	term.write([]byte("\x1b[6n\x1b[c\x1b[>c\x1b[5n\x1b]11;?\x07\x1b[?1$pok"))
	if s := term.screen(0); s.Lines[0] != "ok" {
		t.Errorf("screen %q", s.Lines[0])
	}
}

func TestTerminalTitle(t *testing.T) {
	for _, tc := range []struct{ stream, want string }{
		{"\x1b]0;zero\x07", "zero"},
		{"\x1b]2;two\x1b\\", "two"},
		{"\x1b]2;a;b\x07", "a;b"},
		{"\x1b]1;icon only\x07", ""},
		{"\x1b]2;" + strings.Repeat("t", 5000) + "\x07", strings.Repeat("t", 498) + "..." + strings.Repeat("t", 498)},
		{"\x1b]2;first\x07\x1b]0;second\x07", "second"},
	} {
		term := newTerminal(DefaultCols, DefaultRows)
		feedChunks(term, []byte(tc.stream), 2)
		if got := term.screen(0).Title; got != tc.want {
			t.Errorf("%q: title %q, want %q", tc.stream, got, tc.want)
		}
	}
}

func TestTerminalRender(t *testing.T) {
	term := newTerminal(10, 4)
	term.write([]byte("漢字 ok  \r\nab\x1b[2;6Hc\x1b[?25l"))
	s := term.screen(0)
	if want := []string{"漢字 ok", "ab   c", "", ""}; !reflect.DeepEqual(s.Lines, want) {
		t.Errorf("lines %q, want %q", s.Lines, want)
	}
	if s.CursorRow != 1 || s.CursorCol != 6 || s.CursorVisible || s.AltScreen || s.Cols != 10 || s.Rows != 4 {
		t.Errorf("screen %+v", s)
	}
	term.finish()
	f := term.screen(0)
	if !reflect.DeepEqual(f.Lines, s.Lines) || term.emu != nil {
		t.Errorf("final screen %+v", f)
	}
	term.write([]byte("ignored"))
	if term.screen(0).Lines[0] != "漢字 ok" {
		t.Error("a write after finish changed the last screen")
	}
}

// The hooks into the emulator's internals find their fields in the pinned library version: without them floods
// are fed byte by byte (minutes for 200 MB) and the alternate screen keeps a hidden scrollback of 10000 lines.
func TestEmulatorHooks(t *testing.T) {
	h := hooks()
	if !h.ok {
		t.Fatalf("emulator hooks not found: %+v", h)
	}
	term := newTerminal(DefaultCols, DefaultRows)
	term.ensureEmu()
	v := reflect.ValueOf(term.emu).Elem()
	alt := (*vt.Screen)(v.FieldByIndex(h.scrs).Index(1).Addr().UnsafePointer())
	if alt.Scrollback() != nil {
		t.Error("the alternate screen has a scrollback")
	}
	if term.emu.Scrollback().MaxLines() != MaxScrollback {
		t.Errorf("scrollback cap %d", term.emu.Scrollback().MaxLines())
	}
	if _, ok := h.runnable(term.emu); !ok {
		t.Error("a fresh emulator does not allow a run")
	}
	for _, stream := range []string{"\x1b[", "\x1b]0;x", "\x1b[2;5r\x1b[1;1H", "\x1b[2;5r\x1b[6;1H"} {
		term := newTerminal(DefaultCols, DefaultRows)
		term.ensureEmu()
		e := term.emu
		_, _ = e.Write([]byte(stream))
		if _, ok := h.runnable(e); ok {
			t.Errorf("a run may start after %q", stream)
		}
	}
}

// joins reports whether stream holds a character that may join the one before it into one grapheme cluster
// (a combining mark, a joiner, a prepended mark, a Hangul jamo, a regional indicator...). The library puts such a cluster into one
// cell only when no write boundary, and no sequence that flushes it, falls inside; a run ends with a write
// boundary where the emulator fed at once may not flush (a C1 string starter that a UTF-8 character aborts).
func joins(stream []byte) bool {
	for _, r := range string(stream) {
		if r < 0x300 {
			continue
		}
		before, after := []byte("a"+string(r)), []byte(string(r)+"a")
		if c, _ := ansi.FirstGraphemeCluster(before, ansi.GraphemeWidth); len(c) == len(before) ||
			len(firstCluster(after)) == len(after) ||
			r >= 0x1100 && r <= 0x11ff || r >= 0xa960 && r <= 0xa97f || r >= 0xd7b0 && r <= 0xd7ff ||
			r >= 0x1f1e6 && r <= 0x1f1ff {
			return true
		}
	}
	return false
}

func firstCluster(p []byte) []byte {
	c, _ := ansi.FirstGraphemeCluster(p, ansi.GraphemeWidth)
	return c
}

// FuzzTerminal feeds random streams, with random read boundaries, to the held-back terminal and to the emulator
// fed at once: no panic, the run buffer and the cut list stay bounded, and the screens agree (for streams of
// ASCII in any chunking; otherwise in one read, since the library splits a character's combining marks from it
// at read boundaries; and not for streams whose characters may join, see joins).
func FuzzTerminal(f *testing.F) {
	for _, s := range []string{
		"line 1\r\nline 2\r\n\x1b[1;1HX",
		"\x1b[?1049h\x1b[2;3r\x1b[3;1Hab\r\ncd\r\n\x1b[?1049l",
		"\x1b[31mred\x1b[0m\x1b[K\r\n漢字\r\n\x1b]0;t\x07",
		"\x1b[", "\x1b]0;", "\xe6\xbc", "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nx",
	} {
		f.Add([]byte(s), uint8(3), uint8(5), uint8(4))
	}
	f.Fuzz(func(t *testing.T, stream []byte, chunk, cols, rows uint8) {
		w, h := 2+int(cols)%40, 2+int(rows)%12
		ascii := true
		for _, b := range stream {
			if b >= 0x80 {
				ascii = false
				break
			}
		}
		n := 1 + int(chunk)
		if !ascii {
			n = 0
		}
		held := newTerminalScrollback(w, h, 3)
		feedChunks(held, stream, n)
		r := &held.run
		if cap(r.buf) > maxRunBytes || len(r.cands)-r.head > r.need/candStep+3 || held.npend > maxToken {
			t.Fatalf("unbounded: buffer %d, %d cuts for need %d, %d pending", cap(r.buf), len(r.cands)-r.head, r.need, held.npend)
		}
		ref := newTerminalScrollback(w, h, 3)
		ref.noRuns = true
		feedChunks(ref, stream, n)
		if d := sameScreen(held, ref); d != "" && !joins(stream) {
			t.Fatalf("%q in chunks of %d at %dx%d:\n%s", stream, n, w, h, d)
		}
		held.finish()
		if s := held.screen(1000); len(s.Lines) != h || len(s.Scrollback) > 3 {
			t.Fatalf("final screen %+v", s)
		}
	})
}

// Random streams of plain and other tokens, long enough to skip many times.
func TestTerminalRandomStreams(t *testing.T) {
	tokens := []string{"abc", "defghijklmnop", "\r\n", "\n", "\r", "\t", "\x1b[1m", "\x1b[0;31m", "\x1b[K", "\x1b[2K",
		"漢", "é", "\x1b[H", "\x1b[5;1H", "\x1b[2;4r", "\x1b[r", "\x1b[?1049h", "\x1b[?1049l", "\x1b[L", "\x1b[M",
		"\x1b[?7l", "\x1b[?7h", "\x1b[2J", "\x1b]2;title\x07", "\x1b(0", "\x1b(B", "\b", "\x1b[3@", "\x1b[2P"}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		var b strings.Builder
		for range 2000 {
			i := rng.IntN(len(tokens))
			if rng.IntN(4) > 0 {
				i = rng.IntN(4) // mostly plain, so that runs get long
			}
			b.WriteString(tokens[i])
		}
		w, h := 2+rng.IntN(30), 2+rng.IntN(8)
		held := newTerminalScrollback(w, h, 1+rng.IntN(5))
		ref := newTerminalScrollback(w, h, held.scrollback)
		ref.noRuns = true
		chunk := 1 + rng.IntN(100)
		feedChunks(held, []byte(b.String()), chunk)
		feedChunks(ref, []byte(b.String()), 0)
		if d := sameScreen(held, ref); d != "" {
			t.Fatalf("round %d, %dx%d, chunks of %d, stream %q:\n%s", round, w, h, chunk, b.String(), d)
		}
	}
}

// Screen and Resize through the registry: the errors, and queries and resizes racing a flood (for the race
// detector) while the flood's screen stays right.
func TestRegistryScreen(t *testing.T) {
	r := newTestRegistry(t, Options{KillGrace: time.Second})
	spec := shSpec("i=0; while [ $i -lt 20000 ]; do echo \"line $i\"; i=$((i+1)); done; echo done; sleep 30")
	spec.PTY, spec.Background, spec.Cols, spec.Rows = true, true, 50, 8
	s, _, err := r.Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for size := 10; ; size++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := r.Resize("test", s.ID(), 40+size%20, 6+size%4); err != nil {
				in := s.Info()
				t.Errorf("resize: %v; session %s %s code %v signal %s, tail %q", err, in.Status, in.ExitReason, in.ExitCode, in.ExitSignal, in.Tail[max(0, len(in.Tail)-100):])
				return
			}
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		scr, err := r.Screen("test", s.ID(), 5)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(scr.Lines, "\n") != "" && slices.Contains(scr.Lines, "done") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no done on the screen: %q", scr.Lines)
		}
	}
	close(stop)
	wg.Wait()
	if _, err := r.Resize("test", s.ID(), 50, 8); err != nil {
		t.Fatal(err)
	}
	scr, _ := r.Screen("test", s.ID(), 3)
	if scr.Cols != 50 || scr.Rows != 8 || !strings.HasPrefix(scr.Lines[0], "line 19") || len(scr.Scrollback) != 3 {
		t.Errorf("screen %dx%d %q, scrollback %q", scr.Cols, scr.Rows, scr.Lines, scr.Scrollback)
	}

	for _, tc := range []struct {
		scope, id  string
		cols, rows int
		want       error
	}{
		{"test", "nope", 80, 24, ErrNotFound},
		{"other", s.ID(), 80, 24, ErrNotFound},
	} {
		if _, err := r.Screen(tc.scope, tc.id, 0); err != tc.want {
			t.Errorf("Screen %s/%s: %v", tc.scope, tc.id, err)
		}
		if _, err := r.Resize(tc.scope, tc.id, tc.cols, tc.rows); err != tc.want {
			t.Errorf("Resize %s/%s: %v", tc.scope, tc.id, err)
		}
	}
	if _, err := r.Resize("test", s.ID(), 1, 24); err == nil {
		t.Error("Resize to 1 column succeeded")
	}
	fg, _, err := r.Start(func() Spec { sp := shSpec("sleep 30"); sp.PTY = true; return sp }())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Screen("test", fg.ID(), 0); err != ErrNotBackgrounded {
		t.Errorf("foreground: %v", err)
	}
	fg.CancelForeground()
	plain, _, _ := r.Start(func() Spec { sp := shSpec("sleep 30"); sp.Background = true; return sp }())
	if _, err := r.Screen("test", plain.ID(), 0); err != ErrNoTerminal {
		t.Errorf("no terminal: %v", err)
	}
	if _, err := r.Resize("test", plain.ID(), 80, 24); err != ErrNoTerminal {
		t.Errorf("no terminal: %v", err)
	}
	r.Kill("test", plain.ID(), syscall.SIGKILL)
	r.Kill("test", s.ID(), syscall.SIGKILL)
	waitDone(t, s, 10*time.Second)
	if _, err := r.Resize("test", s.ID(), 80, 24); err != ErrNotRunning {
		t.Errorf("finished: %v", err)
	}
	if scr, err := r.Screen("test", s.ID(), 1000); err != nil || scr.Info.Status != "failed" || len(scr.Scrollback) != MaxScrollback {
		t.Errorf("finished: %v %s, %d scrollback lines", err, scr.Info.Status, len(scr.Scrollback))
	}
}

// A terminal that only ever got plain output has no emulator until someone looks: a foreground PTY command that
// prints text costs no emulator at all.
func TestTerminalLazyEmulator(t *testing.T) {
	term := newTerminal(DefaultCols, DefaultRows)
	term.write([]byte("hello\r\n\x1b[1mworld\x1b[m\r\n"))
	term.finish()
	if term.emu != nil || term.fed != 0 {
		t.Fatalf("plain output created an emulator (%d bytes fed)", term.fed)
	}
	s := term.screen(10)
	if s.Lines[0] != "hello" || s.Lines[1] != "world" || s.CursorRow != 2 || term.emu != nil {
		t.Errorf("last screen %q, cursor %d; emulator kept: %v", s.Lines[:3], s.CursorRow, term.emu != nil)
	}
	running := newTerminal(DefaultCols, DefaultRows)
	running.write([]byte("plain"))
	if running.emu != nil {
		t.Fatal("plain output created an emulator")
	}
	if s := running.screen(0); s.Lines[0] != "plain" || s.CursorCol != 5 {
		t.Errorf("screen %q, cursor col %d", s.Lines[0], s.CursorCol)
	}
	running.write([]byte("\x1b[?25l"))
	if running.emu == nil || running.screen(0).CursorVisible {
		t.Error("a mode change did not reach an emulator")
	}
}

// resizeTo resizes the terminal without a PTY.
func (t *terminal) resizeTo(cols, rows int) error {
	return t.resize(func(int, int) error { return nil }, cols, rows)
}

// Resizing: a smaller height keeps the cursor's row and the rows above it (the top rows go to the scrollback, as
// in tmux); resizes between reads of a flood leave the screen as feeding every byte would.
func TestTerminalResize(t *testing.T) {
	term := newTerminal(20, 10)
	term.write([]byte(repeatLines("r%d\r\n", 8) + "prompt$ "))
	if err := term.resizeTo(20, 4); err != nil {
		t.Fatal(err)
	}
	s := term.screen(10)
	if want := []string{"r5", "r6", "r7", "prompt$"}; !reflect.DeepEqual(s.Lines, want) || s.CursorRow != 3 || s.CursorCol != 8 {
		t.Errorf("after shrinking: %q cursor %d,%d", s.Lines, s.CursorRow, s.CursorCol)
	}
	if want := []string{"r0", "r1", "r2", "r3", "r4"}; !reflect.DeepEqual(s.Scrollback, want) {
		t.Errorf("scrollback %q", s.Scrollback)
	}
	// Rows below the cursor go first.
	term = newTerminal(20, 10)
	term.write([]byte("top\r\nmid\x1b[9;1Hbottom\x1b[2;1H"))
	term.resizeTo(20, 5)
	if s := term.screen(5); !reflect.DeepEqual(s.Lines[:2], []string{"top", "mid"}) || len(s.Scrollback) != 0 || s.CursorRow != 1 {
		t.Errorf("cursor near the top: %q, scrollback %q", s.Lines, s.Scrollback)
	}

	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 30 {
		held := newTerminalScrollback(50, 8, 5)
		ref := newTerminalScrollback(50, 8, 5)
		ref.noRuns = true
		p := []byte(repeatLines("line %d\r\n", 3000) + "done\r\n")
		for len(p) > 0 {
			k := min(len(p), 1+rng.IntN(300))
			held.write(p[:k])
			ref.write(p[:k])
			p = p[k:]
			if rng.IntN(3) == 0 {
				c, r := 40+rng.IntN(20), 6+rng.IntN(4)
				held.resizeTo(c, r)
				ref.resizeTo(c, r)
			}
		}
		if d := sameScreen(held, ref); d != "" {
			t.Fatalf("round %d:\n%s", round, d)
		}
	}
	term.finish()
	if err := term.resizeTo(30, 10); err != ErrNotRunning {
		t.Errorf("resize after the end: %v", err)
	}
}
