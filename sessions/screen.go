package sessions

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/ansi/parser"
	"github.com/charmbracelet/x/vt"
	"golang.org/x/sys/unix"

	"github.com/execmcp/execmcp/output"
)

// Terminal sizes (docs/reference.md#process-screen): the window of a PTY session when Spec leaves it zero, the
// range exec and process resize accept, and the scrollback an emulator keeps.
const (
	DefaultCols   = 120
	DefaultRows   = 30
	MinTermSize   = 2
	MaxTermSize   = 1000
	MaxScrollback = 1000
	// maxTitleChars bounds the window title an OSC 0/2 sequence sets (decided: a title is a label).
	maxTitleChars = 1000
)

// ErrNoTerminal is returned by Screen and Resize for a session that runs without a terminal (not started with
// pty: true, or the PTY spawn fell back to pipes).
var ErrNoTerminal = errors.New("session has no terminal")

// Screen is what the terminal of a PTY session shows (docs/reference.md#process-screen).
type Screen struct {
	// Lines are all Rows rows, top to bottom, each without trailing spaces; a wide character appears once.
	Lines []string
	// Scrollback holds up to the requested number of lines that scrolled off the top of the main screen, oldest
	// first, each without trailing spaces.
	Scrollback []string
	Cols, Rows int
	// CursorRow and CursorCol are 0-based.
	CursorRow, CursorCol int
	CursorVisible        bool
	// AltScreen: a program switched to the alternate screen (DEC private modes 1049, 1047, 47).
	AltScreen bool
	// Title is the window title last set by OSC 0 or 2; "" when none was set.
	Title string
	// Info is the session snapshot taken with the screen (without the aggregated output).
	Info Info
}

// terminal emulates the terminal of one PTY session: the reader feeds it the raw output (before decoding and
// sanitising), process screen renders it, process resize resizes it. It never writes to the terminal: the
// emulator's own replies (cursor reports, device attributes) are discarded, so the DSR reply of the output path
// stays the only answer a program gets (docs/reference.md#output-sanitising).
//
// The emulator (github.com/charmbracelet/x/vt) costs tens of microseconds per line that scrolls, a thousand
// times the cost of the output path, so a flood is not fed to it byte by byte. Output made only of text, CR, LF,
// TAB, SGR and erase-in-line ("plain" tokens) is held back as a plain run; when the run ends (any other byte),
// or a query, a resize or the end of the output needs the screen, the run is fed, and when it advanced the
// cursor by at least need rows only its tail from the last cut that is still need rows from the end is fed (a
// cut is a position whose column is known; see plainRun). That yields the same screen, cursor and scrollback
// text as feeding everything: the run starts
// with the parser in ground state, the cursor inside the scroll region and no single shift pending; plain
// tokens touch only the cursor's row, move the cursor down (LF, wrap) or to the left margin (CR), and change
// no mode; so once the cursor went down (rows-1) rows to the bottom margin and then rows more, every row of
// the region was scrolled in blank after the cut and written only by the tail, and MaxScrollback more rows
// fill the scrollback with such rows (need = 2*rows + MaxScrollback). Only the pen differs (SGR before the
// cut are not applied), and styles are never shown. The run buffer is bounded (maxRunBytes); a run whose tail
// does not fit is fed whole, as the emulator alone would be.
//
// The emulator is created when something must be fed to it (setting one up allocates 5 MB and takes about a
// millisecond): a command that prints only plain output and that nobody looks at never gets one.
type terminal struct {
	mu    sync.Mutex
	emu   *vt.Emulator // nil until needed, and again once the last screen was rendered
	cols  int
	rows  int
	title string
	ended bool    // the output ended
	final *Screen // the last screen, rendered at the first look after the output ended

	// shadow tracks the parser state of the bytes fed outside runs, to find where a run may start.
	shadow ansi.Parser
	// tryRun: a run may start at the next byte where the parser is in ground state (set after each escape
	// sequence or control that could have changed the conditions, cleared by a failed attempt).
	tryRun bool
	inRun  bool
	run    plainRun
	// pend holds the start of a plain token that a read cut off; the next read completes or refutes it.
	pend  [maxToken]byte
	npend int

	// scrollback is the emulator's scrollback cap (MaxScrollback; tests use less, to reach the skip sooner).
	scrollback int
	// noRuns feeds every byte at once (the reference of tests and benchmarks).
	noRuns bool
	// fed counts the bytes given to the emulator, panics the library's panics that guard recovered.
	fed    int64
	panics int
}

func newTerminal(cols, rows int) *terminal { return newTerminalScrollback(cols, rows, MaxScrollback) }

func newTerminalScrollback(cols, rows, scrollback int) *terminal {
	t := &terminal{cols: cols, rows: rows, tryRun: true, scrollback: scrollback}
	t.startRun() // the output starts as a plain run, with no emulator yet
	return t
}

// ensureEmu creates the emulator if there is none yet.
func (t *terminal) ensureEmu() {
	if t.emu == nil {
		t.newEmulator()
	}
}

// newEmulator sets up a blank emulator of the terminal's size.
func (t *terminal) newEmulator() {
	t.emu = vt.NewEmulator(t.cols, t.rows)
	t.emu.SetScrollbackSize(t.scrollback)
	// The emulator writes its replies to a pipe that nobody reads; closed, a reply fails at once instead of
	// blocking the reader forever (TestTerminalNoReplies would hang if a library version stopped returning it).
	if pw, ok := t.emu.InputPipe().(interface{ Close() error }); ok {
		_ = pw.Close()
	}
	title := func(data []byte) bool {
		// "<command>;<title>": the title is everything after the first ';' (the emulator's own handler
		// ignores a title containing ';').
		_, name, _ := bytes.Cut(data, []byte{';'})
		t.title = output.TruncateMiddle(strings.ToValidUTF8(string(name), "\uFFFD"), maxTitleChars)
		return true
	}
	t.emu.RegisterOscHandler(0, title)
	t.emu.RegisterOscHandler(2, title)
	// The library repeats these sequences' work once per count, so a count of 2^31 stalls the reader for
	// minutes, and it indexes past its rows with a margin beyond the screen. Bound the parameters in place
	// before its own handlers read them, as tmux bounds them.
	width := func() int { return t.emu.Width() }
	bound := func(cmd byte, i int, limit func() int) {
		t.emu.RegisterCsiHandler(int(cmd), func(params ansi.Params) bool {
			if i < len(params) {
				if v, l := params[i].Param(0), limit(); v > l {
					params[i] = ansi.Param(l)
				}
			}
			return false // the library's handler runs next
		})
	}
	bound('I', 0, width)                                                                // CHT
	bound('Z', 0, width)                                                                // CBT
	bound('X', 0, width)                                                                // ECH
	bound('b', 0, func() int { return max(t.emu.Width()-t.emu.CursorPosition().X, 0) }) // REP
	bound('r', 1, func() int { return t.emu.Height() })                                 // DECSTBM
	bound('s', 1, width)                                                                // DECSLRM
	hooks().setup(t.emu)
}

// guard runs f, an emulator call. A panic of the library (a sequence it mishandles) must not take the server
// down with the reader: the emulator is replaced by a blank one and the output goes on; the screen is wrong
// until the program redraws it.
func (t *terminal) guard(f func()) {
	defer func() {
		if v := recover(); v != nil {
			t.panics++
			t.newEmulator()
			t.shadow = ansi.Parser{}
			t.inRun, t.tryRun, t.npend = false, true, 0
			t.run.clear()
		}
	}()
	f()
}

// write feeds one read of raw PTY output. It allocates nothing beyond what the emulator does (the run buffer
// grows to its bound once and is reused).
func (t *terminal) write(p []byte) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return
	}
	if t.npend > 0 {
		p = t.resume(p)
	}
	for len(p) > 0 {
		if !t.inRun {
			p = p[t.direct(p):]
			continue
		}
		q := p[:min(len(p), runChunk)]
		t.run.ensureFree(t, len(q))
		if !t.inRun { // ensureFree fed the run and could not start another
			continue
		}
		n, partial := t.run.scan(q)
		p = p[n:]
		switch {
		case partial && len(p) == len(q)-n:
			// An incomplete token ends the read: keep it for the next one.
			t.npend = copy(t.pend[:], p)
			return
		case partial:
			// The token continues past q: scan it again with the rest of the read.
		case n < len(q):
			// p starts with a byte that is not plain: the run ends here.
			t.endRun()
		}
	}
}

// resume completes the token pend holds with the start of p and returns the rest of p.
func (t *terminal) resume(p []byte) []byte {
	var tmp [2 * maxToken]byte
	k := copy(tmp[:], t.pend[:t.npend])
	m := copy(tmp[k:], p[:min(len(p), maxToken)])
	n, kind := token(tmp[:k+m])
	switch kind {
	case tokIncomplete:
		t.npend = copy(t.pend[:], tmp[:k+m])
		return nil
	case tokPlain:
		t.npend = 0
		t.run.ensureFree(t, n)
		if t.inRun {
			t.run.scan(tmp[:n])
			return p[n-k:]
		}
		// The run could not go on: what pend held goes to the emulator as it is.
		t.feed(tmp[:k])
		return p
	default:
		t.npend = 0
		t.endRun()
		t.feed(tmp[:k])
		return p
	}
}

// direct feeds p to the emulator until a run starts, and returns how many bytes it consumed.
func (t *terminal) direct(p []byte) int {
	t.ensureEmu()
	start := 0
	for i, b := range p {
		if t.tryRun && t.shadow.State() == parser.GroundState {
			t.emit(p[start:i])
			start = i
			if t.startRun() {
				return i
			}
			t.tryRun = false
		}
		prev := t.shadow.State()
		t.shadow.Advance(b)
		if t.shadow.State() == parser.GroundState && prev != parser.Utf8State && (prev != parser.GroundState || !isText(b)) {
			t.tryRun = true
		}
	}
	t.emit(p[start:])
	return len(p)
}

// cr and xs are fed before a run's tail: CR, then as many characters as the column it starts in.
var (
	cr = []byte{'\r'}
	xs = bytes.Repeat([]byte{'x'}, MaxTermSize)
)

// emit gives p to the emulator.
func (t *terminal) emit(p []byte) {
	if len(p) > 0 {
		t.fed += int64(len(p))
		t.guard(func() { _, _ = t.emu.Write(p) })
	}
}

// feed gives p to the emulator and the shadow parser, without looking for a run.
func (t *terminal) feed(p []byte) {
	t.ensureEmu()
	for _, b := range p {
		t.shadow.Advance(b)
	}
	t.emit(p)
	t.tryRun = true
}

// isText reports a byte that leaves the parser in ground state where it found it: printable ASCII, CR, LF, TAB.
func isText(b byte) bool { return b >= 0x20 && b < 0x7f || b == '\r' || b == '\n' || b == '\t' }

// startRun starts a plain run when the emulator is in a state where holding one back is exact (see terminal).
func (t *terminal) startRun() bool {
	if t.noRuns {
		return false
	}
	st, ok := freshRun()
	if t.emu != nil {
		st, ok = hooks().runnable(t.emu)
	}
	if !ok {
		return false
	}
	t.run.reset(2*t.rows+t.scrollback, t.cols, st)
	t.inRun = true
	return true
}

// endRun feeds the run and leaves run mode; the byte that ended it comes next.
func (t *terminal) endRun() {
	if !t.inRun {
		return
	}
	t.flushRun()
	t.inRun = false
	t.tryRun = false
}

// flushRun feeds the run to the emulator (only its tail when that is exact) and empties it.
func (t *terminal) flushRun() {
	r := &t.run
	b, col, skip := r.buf, r.baseCol, r.base > 0 // a compacted buffer starts at a cut
	if c, ok := r.bestCut(); ok && c.pos > r.base {
		b, col, skip = b[c.pos-r.base:], c.col, true
	}
	if len(b) > 0 {
		t.ensureEmu()
		if skip {
			// Put the cursor in the column the tail starts in (its row and the row's cells do not matter).
			t.emit(cr)
			t.emit(xs[:col])
		}
		t.emit(b)
	}
	r.clear()
}

// sync brings the emulator up to date with everything but an incomplete token, and stays in run mode.
func (t *terminal) sync() {
	if !t.inRun {
		return
	}
	t.flushRun()
	t.restartRun()
}

// restartRun starts a new run after the last one was fed; if none may start, an incomplete token held back
// goes to the emulator as it is.
func (t *terminal) restartRun() {
	if t.startRun() {
		return
	}
	t.inRun = false
	if t.npend > 0 {
		t.feed(t.pend[:t.npend])
		t.npend = 0
	}
}

// finish marks the end of the output; called once the reader is done. With an emulator, the last screen is
// rendered now and the emulator released; without one (plain output only), what was held back is kept and
// rendered at the first look, which a foreground session never gets.
func (t *terminal) finish() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return
	}
	t.ended = true
	if t.emu != nil {
		t.render()
		return
	}
	if cap(t.run.buf) > 2*len(t.run.buf) {
		t.run.buf = bytes.Clone(t.run.buf) // what a finished record keeps
	}
}

// render feeds what is left, keeps the last screen and releases the emulator.
func (t *terminal) render() {
	t.endRun()
	if t.npend > 0 {
		t.feed(t.pend[:t.npend])
		t.npend = 0
	}
	t.ensureEmu()
	t.final = t.snapshot(t.scrollback)
	t.emu = nil
	t.run = plainRun{}
}

// screen returns the current (or last) screen with up to scrollback lines of scrollback.
func (t *terminal) screen(scrollback int) Screen {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		if t.final == nil {
			t.render()
		}
		s := *t.final
		s.Scrollback = s.Scrollback[len(s.Scrollback)-min(max(scrollback, 0), len(s.Scrollback)):]
		return s
	}
	t.sync()
	t.ensureEmu()
	return *t.snapshot(scrollback)
}

// resize sets the window size of the PTY (setSize) and of the emulator. The terminal lock is held across both,
// so output the program writes after its SIGWINCH is fed at the new size.
func (t *terminal) resize(setSize func(cols, rows int) error, cols, rows int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return ErrNotRunning
	}
	if err := setSize(cols, rows); err != nil {
		return err
	}
	t.sync()
	t.ensureEmu()
	// The library keeps the top rows when the height shrinks, which loses the cursor's row and the newest output;
	// like tmux, drop rows below the cursor first and push the top rows into the scrollback for the rest (SU,
	// then the cursor up as far), when no sequence is half fed.
	if y := t.emu.CursorPosition().Y; y >= rows && t.shadow.State() == parser.GroundState {
		k := strconv.Itoa(y - rows + 1)
		t.emit([]byte("\x1b[" + k + "S\x1b[" + k + "A"))
	}
	t.cols, t.rows = cols, rows
	t.guard(func() { t.emu.Resize(cols, rows) })
	if t.inRun { // the run's bounds depend on the size
		t.restartRun()
	}
	return nil
}

// snapshot renders the emulator. Caller holds t.mu and has synced.
func (t *terminal) snapshot(scrollback int) *Screen {
	e := t.emu
	s := &Screen{Cols: e.Width(), Rows: e.Height(), CursorVisible: !e.CursorHidden(), AltScreen: e.IsAltScreen(),
		Title: t.title}
	pos := e.CursorPosition()
	s.CursorRow, s.CursorCol = pos.Y, pos.X
	var b strings.Builder
	s.Lines = make([]string, s.Rows)
	for y := range s.Rows {
		s.Lines[y] = renderCells(&b, s.Cols, func(x int) *uv.Cell { return e.CellAt(x, y) })
	}
	if sb := e.Scrollback(); sb != nil && scrollback > 0 {
		n := min(scrollback, sb.Len())
		s.Scrollback = make([]string, 0, n)
		for i := sb.Len() - n; i < sb.Len(); i++ {
			line := sb.Line(i)
			s.Scrollback = append(s.Scrollback, renderCells(&b, len(line), line.At))
		}
	}
	return s
}

// renderCells writes the text of width cells: a wide character once (its placeholder cells skipped), an empty
// cell as a space, attributes ignored; trailing spaces are removed.
func renderCells(b *strings.Builder, width int, cell func(x int) *uv.Cell) string {
	b.Reset()
	for x := 0; x < width; {
		c := cell(x)
		if c == nil || c.Content == "" {
			b.WriteByte(' ')
			x++
			continue
		}
		b.WriteString(c.Content)
		x += max(c.Width, 1)
	}
	return strings.TrimRight(b.String(), " ")
}

// Plain runs.

const (
	// maxToken bounds a plain token (an SGR or EL sequence, a UTF-8 character); a longer sequence is not plain.
	maxToken = 64
	// runChunk is the most of one read scanned at a time, so that the room for it can always be made.
	runChunk = 16 << 10
	// minRunBytes and maxRunBytes bound the run buffer; within them it holds about twice a tail's worth of
	// bytes for the screen size.
	minRunBytes = 64 << 10
	maxRunBytes = 8 << 20
	// candStep is the least number of rows between two recorded cut candidates: the fed tail is at most that
	// much longer than needed, and the candidate list stays short.
	candStep = 8
)

// plainRun is output held back from the emulator (see terminal). Offsets count bytes from the run's start.
//
// Rows advanced are counted exactly while the cursor's column is known (from the run's start and after each
// CR, through printable ASCII, LF and SGR), and as a lower bound otherwise: L characters written from any
// column wrap at least (L-1)/cols times. A cut is a position where the column is known; the tail fed from it
// starts after a CR and that many characters, which puts the cursor in the same column with the same pending
// wrap.
type plainRun struct {
	buf       []byte // the retained bytes: offsets base .. base+len(buf)
	base      int
	baseCol   int // the column state at base when base is a cut
	adv       int // rows the cursor moved down so far, at least (LF and wraps)
	col       int // the column state: 0..cols-1, cols when a wrap is pending; -1 when not known
	lastPrint int // offset of the last printable character, -1 before the first
	need      int // rows a tail must advance for the skip to be exact
	cols      int // the width, for wraps; 0 when autowrap is off (no wraps, and the column is known after CR only)
	lnm       bool
	cands     []cut
	head      int // cands[head:] are live
}

// cut is a position where the column state is col, with the rows advanced before it.
type cut struct{ pos, adv, col int }

// runState is what a run needs from the emulator when it starts.
type runState struct {
	awm, lnm bool // autowrap; LF also returns the carriage
	col      int  // the cursor's column state (cols when a wrap is pending)
}

func (r *plainRun) reset(need, cols int, st runState) {
	r.clear()
	r.need, r.cols, r.lnm = need, cols, st.lnm
	if !st.awm {
		r.cols = 0
	}
	if r.cols > 0 || st.col < cols {
		r.col = st.col
	}
}

// clear empties the run and keeps its buffers.
func (r *plainRun) clear() {
	r.buf = r.buf[:0]
	r.base, r.baseCol, r.adv, r.col, r.lastPrint = 0, 0, 0, -1, -1
	r.cands, r.head = r.cands[:0], 0
}

// end is the offset just past the last retained byte.
func (r *plainRun) end() int { return r.base + len(r.buf) }

// text accounts n printable ASCII characters.
func (r *plainRun) text(n int) {
	switch {
	case r.cols == 0:
		r.col = -1
	case r.col >= 0:
		r.adv += (r.col + n - 1) / r.cols
		r.col = (r.col+n-1)%r.cols + 1
	default:
		r.adv += (n - 1) / r.cols
	}
}

// addCut records pos as a cut candidate when the column is known, and drops candidates that a later valid one
// replaces.
func (r *plainRun) addCut(pos int) {
	if r.col < 0 {
		return
	}
	if n := len(r.cands); n-r.head >= 2 && r.cands[n-1].adv-r.cands[n-2].adv < candStep {
		r.cands[n-1] = cut{pos, r.adv, r.col} // the last candidate moves on until it is candStep rows past the one before
	} else {
		if r.head > 0 && r.head >= len(r.cands)/2 {
			r.cands = r.cands[:copy(r.cands, r.cands[r.head:])]
			r.head = 0
		}
		r.cands = append(r.cands, cut{pos, r.adv, r.col})
	}
	r.prune()
}

// prune keeps the latest candidate whose tail advanced need rows as the first live one.
func (r *plainRun) prune() {
	for len(r.cands)-r.head >= 2 && r.adv-r.cands[r.head+1].adv >= r.need {
		r.head++
	}
}

// bestCut returns the latest cut whose tail advanced need rows and holds a printable character.
func (r *plainRun) bestCut() (cut, bool) {
	r.prune()
	if len(r.cands) == r.head {
		return cut{}, false
	}
	c := r.cands[r.head]
	return c, r.adv-c.adv >= r.need && c.pos <= r.lastPrint
}

// ensureFree makes room for k more bytes: by dropping what precedes the best cut, by growing, or by feeding
// the run to the emulator and starting a new one (t.inRun is false if that fails).
func (r *plainRun) ensureFree(t *terminal, k int) {
	for cap(r.buf)-len(r.buf) < k {
		if c, ok := r.bestCut(); ok && c.pos > r.base && r.end()-c.pos <= cap(r.buf)/2 {
			r.buf = r.buf[:copy(r.buf, r.buf[c.pos-r.base:])]
			r.base, r.baseCol = c.pos, c.col
			continue
		}
		if limit := min(max(minRunBytes, 2*r.need*(t.cols+16)), maxRunBytes); cap(r.buf) < limit {
			nb := make([]byte, len(r.buf), min(max(2*cap(r.buf), 4<<10), limit))
			copy(nb, r.buf)
			r.buf = nb
			continue
		}
		// A tail this long does not fit: feed the run as it is and go on with a new one.
		t.flushRun()
		if t.restartRun(); !t.inRun {
			return
		}
	}
}

// scan consumes the complete plain tokens at the start of p, appends them to the run (ensureFree made room),
// and returns how many bytes it consumed; partial reports that p[n:] is the incomplete start of a plain token.
func (r *plainRun) scan(p []byte) (n int, partial bool) {
	at := r.end() // the offset of p[0]
	i := 0
	for i < len(p) {
		b := p[i]
		switch {
		case b >= 0x20 && b < 0x7f:
			j := textEnd(p, i+1)
			r.text(j - i)
			r.lastPrint = at + j - 1
			i = j
			continue
		case b == '\n':
			r.adv++
			switch {
			case r.lnm:
				r.col = 0
			case r.col == r.cols && r.cols > 0:
				r.col = r.cols - 1 // LF ends a pending wrap
			}
			r.addCut(at + i + 1)
		case b == '\r':
			r.col = 0
			r.addCut(at + i + 1)
		case b == '\t':
			r.col = -1 // tab stops are not known
		default:
			k, kind := token(p[i:])
			switch kind {
			case tokIncomplete:
				r.buf = append(r.buf, p[:i]...)
				return i, true
			case tokNotPlain:
				r.buf = append(r.buf, p[:i]...)
				return i, false
			}
			switch {
			case b >= 0x80:
				r.col = -1 // a character of unknown width
				r.lastPrint = at + i
			case p[i+k-1] == 'K' && r.cols > 0 && r.col == r.cols:
				r.col = -1 // erase in line may end a pending wrap
			}
			i += k
			continue
		}
		i++
	}
	r.buf = append(r.buf, p...)
	r.addCut(at + len(p)) // a line longer than a read has cuts too
	return len(p), false
}

// textEnd returns the index of the first byte at or after i in p that is not printable ASCII (0x20..0x7e), or
// len(p). Floods are mostly such bytes: a word at a time.
func textEnd(p []byte, i int) int {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(p); i += 8 {
		x := binary.LittleEndian.Uint64(p[i:])
		// A byte below 0x20 (exact as bytes from 0x80 are tested apart), from 0x80, or 0x7f.
		if (x-0x20*lsb)&^x&msb|x&msb|((x^0x7f*lsb)-lsb)&^(x^0x7f*lsb)&msb != 0 {
			break
		}
	}
	for ; i < len(p) && p[i] >= 0x20 && p[i] < 0x7f; i++ {
	}
	return i
}

type tokenKind int

const (
	tokPlain tokenKind = iota
	tokIncomplete
	tokNotPlain
)

// token classifies the token at the start of p: a plain multi-byte token (a UTF-8 encoded character from
// U+00A0 on, CSI ... m (SGR) or CSI ... K (erase in line) with only digits, ';' and ':' as parameters) of
// length n, an incomplete start of one, or anything else. Single bytes are classified by scan.
func token(p []byte) (n int, kind tokenKind) {
	switch b := p[0]; {
	case b >= 0x20 && b < 0x7f || b == '\r' || b == '\n' || b == '\t':
		return 1, tokPlain
	case b == 0x1b:
		if len(p) < 2 {
			return 0, tokIncomplete
		}
		if p[1] != '[' {
			return 0, tokNotPlain
		}
		for i := 2; i < len(p) && i < maxToken; i++ {
			switch c := p[i]; {
			case c >= '0' && c <= '9' || c == ';' || c == ':':
			case c == 'm' || c == 'K':
				return i + 1, tokPlain
			default:
				return 0, tokNotPlain
			}
		}
		if len(p) < maxToken {
			return 0, tokIncomplete
		}
		return 0, tokNotPlain
	case b >= 0xc2 && b <= 0xf4:
		size := 2
		if b >= 0xf0 {
			size = 4
		} else if b >= 0xe0 {
			size = 3
		}
		if len(p) < size {
			if utf8.FullRune(p) { // the bytes so far already make an invalid sequence
				return 0, tokNotPlain
			}
			return 0, tokIncomplete
		}
		r, n := utf8.DecodeRune(p[:size])
		if n != size || r < 0xa0 {
			return 0, tokNotPlain
		}
		return n, tokPlain
	}
	return 0, tokNotPlain
}

// Emulator internals.

// emuHooks reach the emulator's unexported state that no method shows but a plain run needs (see terminal),
// and bound what the library leaves too large. They are checked against the pinned library version
// (TestEmulatorHooks); when a field is not found, ok is false and runs are never held back (slower, still
// exact), and the library's own buffer sizes stay.
type emuHooks struct {
	ok bool
	// Field index paths in vt.Emulator: the active screen, both screens, the mode table, the pending single
	// shift, the parser, the pending wrap; in vt.Screen: the scroll region.
	scr, scrs, modes, gsingle, parser, phantom, scroll []int
}

// freshRun is the run state of an emulator that was fed nothing, so that a run starts before there is one.
var freshRun = sync.OnceValues(func() (runState, bool) {
	return hooks().runnable(vt.NewEmulator(DefaultCols, DefaultRows))
})

// hooks resolves the field paths once.
var hooks = sync.OnceValue(func() emuHooks {
	et := reflect.TypeFor[vt.Emulator]()
	st := reflect.TypeFor[vt.Screen]()
	var h emuHooks
	field := func(t reflect.Type, name string, want reflect.Type) []int {
		f, ok := t.FieldByName(name)
		if !ok || f.Type != want {
			return nil
		}
		return f.Index
	}
	h.scr = field(et, "scr", reflect.TypeFor[*vt.Screen]())
	h.scrs = field(et, "scrs", reflect.TypeFor[[2]vt.Screen]())
	h.modes = field(et, "modes", reflect.TypeFor[ansi.Modes]())
	h.gsingle = field(et, "gsingle", reflect.TypeFor[int]())
	h.parser = field(et, "parser", reflect.TypeFor[*ansi.Parser]())
	h.phantom = field(et, "atPhantom", reflect.TypeFor[bool]())
	h.scroll = field(st, "scroll", reflect.TypeFor[image.Rectangle]())
	h.ok = h.scr != nil && h.scrs != nil && h.modes != nil && h.gsingle != nil && h.parser != nil &&
		h.phantom != nil && h.scroll != nil
	return h
})

// runParserData bounds the data of one OSC, DCS or APC sequence the emulator keeps (the library reserves 4 MB
// per emulator; a window title is all that is read from such data).
const runParserData = 64 << 10

// setup bounds the emulator: no scrollback for the alternate screen (the library keeps 10000 lines there, which
// nothing shows), and a smaller sequence data buffer.
func (h emuHooks) setup(e *vt.Emulator) {
	if !h.ok {
		return
	}
	v := reflect.ValueOf(e).Elem()
	alt := (*vt.Screen)(v.FieldByIndex(h.scrs).Index(1).Addr().UnsafePointer())
	alt.SetScrollback(nil)
	(*ansi.Parser)(v.FieldByIndex(h.parser).UnsafePointer()).SetDataSize(runParserData)
}

// runnable reports whether a plain run may start (the emulator's parser in ground state, no single shift
// pending, a scroll region as wide as the screen with the cursor inside it), and the state it starts in.
func (h emuHooks) runnable(e *vt.Emulator) (runState, bool) {
	if !h.ok {
		return runState{}, false
	}
	v := reflect.ValueOf(e).Elem()
	if (*ansi.Parser)(v.FieldByIndex(h.parser).UnsafePointer()).State() != parser.GroundState ||
		v.FieldByIndex(h.gsingle).Int() != 0 {
		return runState{}, false
	}
	region := v.FieldByIndex(h.scr).Elem().FieldByIndex(h.scroll)
	minX, minY := region.Field(0).Field(0).Int(), region.Field(0).Field(1).Int()
	maxX, maxY := region.Field(1).Field(0).Int(), region.Field(1).Field(1).Int()
	pos := e.CursorPosition()
	if minX != 0 || maxX != int64(e.Width()) || int64(pos.Y) < minY || int64(pos.Y) >= maxY {
		return runState{}, false
	}
	modes := v.FieldByIndex(h.modes)
	set := func(m ansi.Mode) bool {
		s := modes.MapIndex(reflect.ValueOf(m))
		return s.IsValid() && ansi.ModeSetting(s.Uint()).IsSet()
	}
	st := runState{awm: set(ansi.ModeAutoWrap), lnm: set(ansi.ModeLineFeedNewLine), col: pos.X}
	if v.FieldByIndex(h.phantom).Bool() {
		st.col = e.Width()
	}
	return st, true
}

// termSize is the PTY window size spec asks for (docs/reference.md#process-screen).
func (spec Spec) termSize() (cols, rows int) {
	size := func(v, def int) int {
		if v == 0 {
			return def
		}
		return min(max(v, MinTermSize), MaxTermSize)
	}
	return size(spec.Cols, DefaultCols), size(spec.Rows, DefaultRows)
}

// Screen returns the screen of the session's terminal with up to scrollback lines of scrollback
// (docs/reference.md#process-screen): running or finished, it must be backgrounded and have a terminal.
func (r *Registry) Screen(scope, id string, scrollback int) (Screen, error) {
	s, _ := r.lookup(scope, id)
	if s == nil {
		return Screen{}, ErrNotFound
	}
	if !s.isBackgrounded() {
		return Screen{}, ErrNotBackgrounded
	}
	if s.term == nil {
		return Screen{}, ErrNoTerminal
	}
	scr := s.term.screen(scrollback)
	scr.Info = s.info(false)
	return scr, nil
}

// Resize sets the window size of a running session's terminal (docs/reference.md#process-resize): the kernel
// sends SIGWINCH to the terminal's foreground process group, and the emulator follows. cols and rows must lie
// in MinTermSize..MaxTermSize.
func (r *Registry) Resize(scope, id string, cols, rows int) (Info, error) {
	if cols < MinTermSize || cols > MaxTermSize || rows < MinTermSize || rows > MaxTermSize {
		return Info{}, errors.New("sessions: terminal size out of range")
	}
	s, finished := r.lookup(scope, id)
	switch {
	case s == nil:
		return Info{}, ErrNotFound
	case !s.isBackgrounded():
		return Info{}, ErrNotBackgrounded
	case finished:
		return Info{}, ErrNotRunning
	case s.term == nil:
		return Info{}, ErrNoTerminal
	}
	s.mu.Lock()
	master := s.input // a PTY session's input is the master until the session ends
	s.mu.Unlock()
	if master == nil {
		return Info{}, ErrNotRunning
	}
	rc, err := master.SyscallConn()
	if err != nil {
		return Info{}, ErrNotRunning
	}
	setSize := func(cols, rows int) error {
		var ioErr error
		if err := rc.Control(func(fd uintptr) {
			ioErr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)})
		}); err != nil {
			return ErrNotRunning // the session ended and closed its terminal
		}
		return ioErr
	}
	if err := s.term.resize(setSize, cols, rows); err != nil {
		return Info{}, err
	}
	return s.info(false), nil
}
