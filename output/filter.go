package output

import "math/bits"

// Filter is the text pipeline of one output stream: a Decoder followed by a Sanitizer, which also counts the
// chars of what it returns so that the Buffer need not look at the text again. A chunk of plain text (printable
// ASCII, TAB, LF and CR: the bulk of most floods) passes both unchanged; Filter recognises it in one word-at-a-
// time pass and returns it as it is.
//
// The zero value is ready to use; Flush returns it to that state.
type Filter struct {
	dec Decoder
	san Sanitizer
}

// Bytes returns the clean text of p, its length in chars and the terminal requests found in it. The text is p
// itself or a view of the Filter's scratch buffers, valid until the next call; splitting a stream into chunks
// anywhere gives the same concatenated text and events as Decoder and Sanitizer would.
func (f *Filter) Bytes(p []byte) (clean []byte, chars int, events []Event) {
	if f.dec.nheld == 0 && f.san.state == stGround && plainEnd(p) == len(p) {
		return p, len(p), nil
	}
	clean, events = f.san.SanitizeBytes(f.dec.DecodeBytes(p))
	return clean, countChars(clean), events
}

// Flush ends the stream: bytes of an incomplete UTF-8 sequence become U+FFFD (returned clean, with their
// chars) and an incomplete escape sequence is discarded.
func (f *Filter) Flush() (clean []byte, chars int) {
	if tail := f.dec.Flush(); tail != "" {
		s, _ := f.san.Sanitize(tail)
		clean = []byte(s)
	}
	f.san.Reset()
	return clean, countChars(clean)
}

// plainEnd returns the length of the longest prefix of p that is plain text: bytes 0x20..0x7F, TAB, LF and CR,
// which decoding and sanitising in ground keep byte for byte, one char each.
func plainEnd(p []byte) int {
	i := 0
	for i+8 <= len(p) {
		// Two words per step when there are: one branch for 16 plain bytes.
		n := 8
		if i+16 <= len(p) {
			if oddBytes(load8(p, i))|oddBytes(load8(p, i+8)) == 0 {
				i += 16
				continue
			}
			n = 16
		}
		for end := i + n; i < end; i += 8 {
			x := load8(p, i)
			for odd := oddBytes(x); odd != 0; odd &= odd - 1 {
				k := bits.TrailingZeros64(odd)
				if c := x >> (k - 7) & 0xff; c >= 0x20 || keptControls>>c&1 == 0 {
					return i + k>>3
				}
			}
		}
	}
	for ; i < len(p); i++ {
		if c := p[i]; c >= 0x80 || c < 0x20 && keptControls>>c&1 == 0 {
			return i
		}
	}
	return len(p)
}

// oddBytes holds the top bit of each byte of x that is >= 0x80 or a control other than LF. LF, the one control of
// most words, is first turned into a printable byte: lf holds the top bit of each LF, exactly (setting each top
// bit first keeps a borrow from crossing into the next byte; bytes >= 0x80 are masked out by ^y), and lf>>2 sets
// bit 5 of each LF, making it '*'. The caller lets TAB and CR through one by one.
func oddBytes(x uint64) uint64 {
	y := x ^ '\n'*lsb
	lf := ^((y | msb) - lsb) &^ y & msb
	return (x | ^((x | lf>>2 | msb) - 0x20*lsb)) & msb
}
