package output

import (
	"bytes"
	"unicode/utf8"
)

// Event is a terminal request found inside a removed escape sequence. The sanitiser reports it; deciding what
// to do (answer a DSR only on a PTY, track cursor-key mode) is the caller's business.
type Event uint8

const (
	// EventDSR is a cursor-position query, ESC[6n or ESC[?6n.
	EventDSR Event = iota + 1
	// EventCursorApplication is DECCKM set (ESC[?1h, also inside a list such as ESC[?1;1049h).
	EventCursorApplication
	// EventCursorNormal is DECCKM reset (ESC[?1l, ...).
	EventCursorNormal
)

// Limits of the sanitiser (docs/reference.md#output-sanitising): they bound the state a malformed or hostile stream
// can make the sanitiser hold, and they let output that merely looks like the start of a sequence reappear soon.
const (
	escInterMax = 16   // intermediates consumed in escape-intermediate
	csiMax      = 64   // parameter and intermediate chars collected in CSI
	stringMax   = 4096 // chars consumed in an OSC/DCS/SOS/PM/APC string
)

const esc = 0x1b

type sanState uint8

const (
	stGround sanState = iota
	stEscape
	stEscInter
	stCSI
	stString
	stStringEsc
)

// Sanitizer removes complete ANSI/ECMA-48 escape sequences, introduced by ESC or by their single-char C1 forms
// (U+009B CSI; U+009D OSC, U+0090 DCS, U+0098 SOS, U+009E PM, U+009F APC), and the C0 controls other than TAB, LF
// and CR from the decoded text of one stream (docs/reference.md#output-sanitising). Its state survives across calls so that a
// sequence split between two reads is still removed completely.
//
// The zero value is ready to use (state ground).
type Sanitizer struct {
	state sanState
	// n counts the chars of the current sequence that its limit applies to: intermediates in escape-intermediate,
	// collected chars in CSI, consumed chars in a string.
	n int
	// csi holds the collected CSI chars, all ASCII, for inspecting the final byte.
	csi [csiMax]byte
	// scratch backs the results of SanitizeBytes that differ from the input; reused by the next call.
	scratch []byte
}

// Sanitize returns text without escape sequences and unwanted controls, and the terminal requests found in it
// in arrival order (nil when none). text is expected to be valid UTF-8 as produced by Decoder; chars that are
// kept are copied byte for byte. Splitting the input at any point between calls gives the same concatenated
// result and events as one call.
func (s *Sanitizer) Sanitize(text string) (clean string, events []Event) {
	// Hot path: most reads are plain text and need neither a copy nor per-rune work.
	if s.state == stGround && groundEnd(text, 0) == len(text) {
		return text, nil
	}
	out, events := sanitize(s, text, make([]byte, 0, len(text)))
	return string(out), events
}

// SanitizeBytes is Sanitize without an allocation: the result is text itself when nothing is removed, else a
// view of the Sanitizer's scratch buffer, valid until the next call.
func (s *Sanitizer) SanitizeBytes(text []byte) (clean []byte, events []Event) {
	if s.state == stGround && groundEnd(text, 0) == len(text) {
		return text, nil
	}
	out, events := sanitize(s, text, s.scratch[:0])
	s.scratch = out
	return out, events
}

// sanitize appends the kept bytes of text to out.
func sanitize[T string | []byte](s *Sanitizer, text T, out []byte) ([]byte, []Event) {
	var events []Event
	i := 0
	for i < len(text) {
		if s.state == stGround {
			// Ground only cares about bytes below 0x20; every byte of a multi-byte char is >= 0x80.
			start := i
			i = groundEnd(text, i)
			out = append(out, text[start:i]...)
			if i == len(text) {
				break
			}
			switch {
			case text[i] == esc:
				s.state = stEscape
			case text[i] == c1Lead:
				// groundEnd stops at a lead byte only in front of a C1 introducer: its second byte says which.
				s.introduce(rune(text[i+1]))
				i++
			}
			i++
			continue
		}
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = decodeRune(text[i:])
		}
		var keep bool
		if events, keep = s.step(r, events); keep {
			out = append(out, text[i:i+size]...)
		}
		i += size
	}
	return out, events
}

func decodeRune[T string | []byte](text T) (rune, int) {
	switch v := any(text).(type) {
	case string:
		return utf8.DecodeRuneInString(v)
	case []byte:
		return utf8.DecodeRune(v)
	}
	panic("unreachable")
}

// Reset discards a partial sequence at the end of a stream, so that nothing of it leaks into a later use.
func (s *Sanitizer) Reset() {
	s.state = stGround
	s.n = 0
}

func keptInGround(c byte) bool {
	return c >= 0x20 || c == '\t' || c == '\n' || c == '\r'
}

// c1Lead is the first byte of the UTF-8 form of U+0080..U+00BF, the C1 controls among them.
const c1Lead = 0xc2

// c1Introducer reports whether r is the single-char form of a sequence introducer: U+0090 DCS, U+0098 SOS,
// U+009B CSI, U+009D OSC, U+009E PM, U+009F APC. Other C1 chars are kept uninterpreted.
func c1Introducer(r rune) bool {
	switch r {
	case 0x90, 0x98, 0x9b, 0x9d, 0x9e, 0x9f:
		return true
	}
	return false
}

// introduce starts the sequence of the C1 introducer r, as its ESC form does: U+009B is ESC [, the others open a
// string like ESC ], ESC P, ESC X, ESC ^ and ESC _.
func (s *Sanitizer) introduce(r rune) {
	if r == 0x9b {
		s.state, s.n = stCSI, 0
	} else {
		s.state, s.n = stString, 0
	}
}

// ground processes one char in state ground and reports whether it is kept.
func (s *Sanitizer) ground(r rune) bool {
	switch {
	case r == esc:
		s.state = stEscape
		return false
	case c1Introducer(r):
		s.introduce(r)
		return false
	case r < 0x20 && r != '\t' && r != '\n' && r != '\r':
		return false
	default:
		return true
	}
}

func (s *Sanitizer) escape(r rune) bool {
	switch {
	case r == '[':
		s.state, s.n = stCSI, 0
	case r == ']' || r == 'P' || r == 'X' || r == '^' || r == '_':
		s.state, s.n = stString, 0
	case r >= 0x20 && r <= 0x2f:
		s.state, s.n = stEscInter, 1
	case r >= 0x30 && r <= 0x7e:
		s.state = stGround // a complete two-char sequence such as ESC 7
	case r == esc:
		// The first ESC is dropped; the new one starts a sequence.
	default:
		s.state = stGround
		return s.ground(r)
	}
	return false
}

// step processes one char outside ground and reports whether it is kept.
func (s *Sanitizer) step(r rune, events []Event) ([]Event, bool) {
	switch s.state {
	case stEscape:
		return events, s.escape(r)
	case stEscInter:
		switch {
		case r >= 0x20 && r <= 0x2f && s.n < escInterMax:
			s.n++
		case r >= 0x30 && r <= 0x7e:
			s.state = stGround // complete, such as ESC ( B
		default:
			// Abort, including a 17th intermediate: at most 16 are consumed, so it is processed in ground.
			s.state = stGround
			return events, s.ground(r)
		}
	case stCSI:
		switch {
		case r >= 0x20 && r <= 0x3f:
			if s.n < csiMax {
				s.csi[s.n] = byte(r)
			}
			s.n++
			if s.n > csiMax {
				s.state = stGround // the char that overflowed is dropped with the sequence
			}
		case r >= 0x40 && r <= 0x7e:
			events = s.inspect(byte(r), events)
			s.state = stGround
		case r == esc:
			s.state = stEscape
		default:
			s.state = stGround
			return events, s.ground(r)
		}
	case stString:
		switch r {
		case 0x07, 0x9c:
			s.state = stGround
		case esc:
			s.state = stStringEsc
		default:
			s.n++
			if s.n >= stringMax {
				s.state = stGround
			}
		}
	case stStringEsc:
		if r == '\\' {
			s.state = stGround
		} else {
			s.state = stEscape
			return events, s.escape(r)
		}
	}
	return events, false
}

// inspect looks at a completed CSI sequence for the requests the session must act on.
func (s *Sanitizer) inspect(final byte, events []Event) []Event {
	p := s.csi[:s.n]
	switch final {
	case 'n':
		if string(p) == "6" || string(p) == "?6" {
			events = append(events, EventDSR)
		}
	case 'h', 'l':
		if rest, ok := bytes.CutPrefix(p, []byte("?")); ok {
			for part := range bytes.SplitSeq(rest, []byte(";")) {
				if string(part) == "1" {
					if final == 'h' {
						events = append(events, EventCursorApplication)
					} else {
						events = append(events, EventCursorNormal)
					}
					break
				}
			}
		}
	}
	return events
}
