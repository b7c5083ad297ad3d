package output

import (
	"strings"
	"unicode/utf8"
)

// Decoder turns the byte stream of one output descriptor into UTF-8 text (docs/reference.md#output-decoding).
// Reads end at arbitrary byte positions, so an incomplete but so-far-valid sequence at the end of a read is held
// back and completed by the next read instead of becoming replacement characters.
//
// The zero value is ready to use (nothing held). Flush returns it to that state.
type Decoder struct {
	held  [utf8.UTFMax - 1]byte
	nheld int
	// scratch backs the results of DecodeBytes that cannot be a view of the input; reused by the next call.
	scratch []byte
}

// Decode returns the text of p, preceded by the completion of any sequence held from the previous call. The
// result is exactly what decoding the concatenation of all inputs so far would give (Go's per-byte
// utf8.DecodeRune semantics: each byte that cannot start or continue a valid sequence becomes one U+FFFD),
// except that a trailing incomplete sequence is held for the next call or for Flush.
func (d *Decoder) Decode(p []byte) string { return string(d.DecodeBytes(p)) }

// DecodeBytes is Decode without an allocation: the result is a view of p when p needs no change (the common
// case), else of the Decoder's scratch buffer. It is valid until the next call or until p is modified, so the
// caller must copy what it keeps. Readers use it so that a flood of output costs no garbage.
func (d *Decoder) DecodeBytes(p []byte) []byte {
	out := d.scratch[:0]
	if d.nheld > 0 {
		// Only the boundary needs the held bytes: join them with just enough of p to decide the first rune.
		var tmp [utf8.UTFMax]byte
		n := copy(tmp[:], d.held[:d.nheld])
		n += copy(tmp[n:], p)
		if !utf8.FullRune(tmp[:n]) {
			// p was too short to complete the sequence and did not break it either.
			d.nheld = copy(d.held[:], tmp[:n])
			return nil
		}
		r, size := utf8.DecodeRune(tmp[:n])
		if r != utf8.RuneError || size > 1 {
			out = utf8.AppendRune(out, r)
			p = p[size-d.nheld:]
		} else {
			// The held prefix turned out invalid. In the concatenation its lead byte is one U+FFFD and its
			// remaining bytes are continuation bytes, each of which is one U+FFFD as a start byte; p is then
			// decoded from its first byte, exactly as decoding the concatenation would.
			for range d.nheld {
				out = utf8.AppendRune(out, utf8.RuneError)
			}
		}
		d.nheld = 0
	}
	// Most reads are valid UTF-8, possibly ending inside a char: no per-rune work, and no copy at all when
	// nothing was held.
	if end := len(p) - incompleteTail(p); utf8.Valid(p[:end]) {
		d.nheld = copy(d.held[:], p[end:])
		if len(out) == 0 {
			return p[:end]
		}
		out = append(out, p[:end]...)
		d.scratch = out
		return out
	}
	i := 0
	for i < len(p) {
		start := i
		for i < len(p) && p[i] < utf8.RuneSelf {
			i++
		}
		out = append(out, p[start:i]...)
		if i == len(p) {
			break
		}
		if !utf8.FullRune(p[i:]) {
			d.nheld = copy(d.held[:], p[i:])
			break
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, p[i:i+size]...)
		}
		i += size
	}
	d.scratch = out
	return out
}

// Flush ends the stream: each byte still held becomes one U+FFFD, matching what utf8.DecodeRune gives for a
// truncated sequence at the end of its input. The Decoder is then empty and may be reused.
func (d *Decoder) Flush() string {
	n := d.nheld
	d.nheld = 0
	return strings.Repeat(string(utf8.RuneError), n)
}

// incompleteTail returns the length of the incomplete but so-far-valid sequence that ends p, or 0.
func incompleteTail(p []byte) int {
	for j := len(p) - 1; j >= 0 && j >= len(p)-(utf8.UTFMax-1); j-- {
		if p[j]&0xC0 != 0x80 { // the last start byte
			if utf8.FullRune(p[j:]) {
				return 0
			}
			return len(p) - j
		}
	}
	return 0
}
