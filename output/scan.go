package output

import "math/bits"

// Word-at-a-time scans for the hot path: most output is ASCII without controls, and a 32 KiB read must not
// cost a branch per byte in every stage.

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// load8 reads 8 bytes little-endian; the compiler merges the byte loads into one load.
func load8[T ~string | ~[]byte](s T, i int) uint64 {
	w := s[i : i+8] // one bounds check: indexing w by constants needs none
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// groundEnd returns the index of the first byte at or after i that ground does not simply keep (a C0
// control other than TAB, LF or CR, ESC included, or the lead byte of a C1 sequence introducer), or len(s).
func groundEnd[T ~string | ~[]byte](s T, i int) int {
	for i+8 <= len(s) {
		x := load8(s, i)
		// ctl holds the top bit of each byte < 0x20, exactly: setting each top bit first keeps a borrow from
		// crossing into the next byte, and bytes >= 0x80 are masked out by ^x. "Some byte is 0xC2" (a zero byte
		// of y) may also flag a byte after a real one.
		ctl := ^((x | msb) - 0x20*lsb) &^ x & msb
		y := x ^ c1Lead*lsb
		c2 := (y - lsb) &^ y & msb
		if ctl|c2 == 0 {
			i += 8
			continue
		}
		if c2 != 0 {
			// Rare outside Latin-1 text: the bytes are looked at one by one.
			for end := i + 8; i < end; i++ {
				if stopsGround(s, i) {
					return i
				}
			}
			continue
		}
		// In line-oriented output most words hold an LF: the controls are tested from the mask.
		for ; ctl != 0; ctl &= ctl - 1 {
			k := bits.TrailingZeros64(ctl)
			if keptControls>>(x>>(k-7)&0x1f)&1 == 0 {
				return i + k>>3
			}
		}
		i += 8
	}
	for ; i < len(s); i++ {
		if stopsGround(s, i) {
			return i
		}
	}
	return len(s)
}

// keptControls is the set of C0 controls that ground keeps: TAB, LF and CR.
const keptControls = 1<<'\t' | 1<<'\n' | 1<<'\r'

// stopsGround reports whether s[i] is a byte groundEnd stops at: a C0 control other than TAB, LF and CR, or the
// lead byte of a C1 sequence introducer (two bytes, c1Lead first).
func stopsGround[T ~string | ~[]byte](s T, i int) bool {
	switch c := s[i]; {
	case c < 0x20:
		return c != '\t' && c != '\n' && c != '\r'
	case c == c1Lead:
		return i+1 < len(s) && c1Introducer(rune(s[i+1]))
	}
	return false
}

// contBytes counts the UTF-8 continuation bytes (10xxxxxx) in a word: bit 7 set and bit 6 clear.
func contBytes(x uint64) int {
	if x&msb == 0 {
		return 0
	}
	return bits.OnesCount64(x &^ (x << 1) & msb)
}

// countChars returns the number of chars of valid UTF-8 s: its bytes minus its continuation bytes, counted a
// word at a time. utf8.RuneCountInString costs a branch per byte.
func countChars[T ~string | ~[]byte](s T) int {
	cont := 0
	i := 0
	for ; i+8 <= len(s); i += 8 {
		cont += contBytes(load8(s, i))
	}
	for ; i < len(s); i++ {
		if s[i]&0xC0 == 0x80 {
			cont++
		}
	}
	return len(s) - cont
}
