package output

import (
	"bytes"
	"sort"
)

// MarkSpacing is the distance in bytes after which LineIndex records the next line start. Finding any line
// start reads at most about this many bytes from the nearest mark, whatever the line lengths, and the index holds
// at most one mark per MarkSpacing bytes of text (256 KiB of marks for 1 GiB).
const MarkSpacing = 64 << 10

// LineMark is a line start: line Line (0-based) begins at byte offset Off.
type LineMark struct{ Line, Off int64 }

// LineIndex is a sparse index of the line starts of a text fed in chunks, such as a spill file while it is
// written (docs/reference.md#spill). Lines are those of log slicing (docs/reference.md#process-log): the text is
// split on LF and an empty element after a final LF is not a line.
//
// Marks are only ever appended, so a copy of a LineIndex is a consistent snapshot of the text fed so far: one
// goroutine may go on feeding the original (under a lock the copier also takes) while another reads the copy.
// The zero value is the index of the empty text. Feeding allocates only when the mark slice grows (amortised,
// one mark per MarkSpacing bytes).
type LineIndex struct {
	marks []LineMark
	size  int64 // bytes fed
	lfs   int64 // LF bytes fed
	last  int64 // offset after the last LF: where the last line starts
	mark  int64 // offset of the newest mark (0: the implicit mark of line 0)
	// spacing is MarkSpacing unless a test sets a smaller one (0 = MarkSpacing).
	spacing int64
}

// Feed indexes the next chunk of the text.
func (x *LineIndex) Feed(p []byte) {
	base := x.size
	newlines := x.lfs
	spacing := x.spacing
	if spacing <= 0 {
		spacing = MarkSpacing
	}
	i := 0
	for i < len(p) {
		// The next mark is the first line start at or after x.mark+spacing, that is after the first LF at
		// or after that offset minus one. Bytes before it only need counting.
		from := int(min(max(x.mark+spacing-1-base, 0), int64(len(p))))
		if from > i {
			x.lfs += int64(bytes.Count(p[i:from], newline))
			i = from
		}
		if i == len(p) {
			break
		}
		k := bytes.IndexByte(p[i:], '\n')
		if k < 0 {
			break
		}
		x.lfs++
		i += k + 1
		x.mark = base + int64(i)
		x.marks = append(x.marks, LineMark{Line: x.lfs, Off: x.mark})
	}
	if x.lfs != newlines {
		x.last = base + int64(bytes.LastIndexByte(p, '\n')) + 1
	}
	x.size += int64(len(p))
}

var newline = []byte{'\n'}

// Size returns the bytes fed.
func (x *LineIndex) Size() int64 { return x.size }

// Newlines returns the LF bytes fed: the number of complete lines.
func (x *LineIndex) Newlines() int64 { return x.lfs }

// LastStart returns the offset where the last line starts (after the last LF; 0 when there is none). The text
// ends with an incomplete line when LastStart() < Size().
func (x *LineIndex) LastStart() int64 { return x.last }

// Lines returns the number of lines: the complete ones and an incomplete last one.
func (x *LineIndex) Lines() int64 {
	if x.size > x.last {
		return x.lfs + 1
	}
	return x.lfs
}

// Marks returns the number of marks, for tests and memory accounting.
func (x *LineIndex) Marks() int { return len(x.marks) }

// Nearest returns the nearest known line start at or before line: a mark, or line 0 at offset 0.
func (x *LineIndex) Nearest(line int64) LineMark {
	i := sort.Search(len(x.marks), func(i int) bool { return x.marks[i].Line > line })
	if i == 0 {
		return LineMark{}
	}
	return x.marks[i-1]
}
