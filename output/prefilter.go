package output

import (
	"bytes"
	"math"
)

// prefilter finds the places in a text where one of a set of factors (factor.go) occurs, much faster than a
// regexp scans: LineMatcher only runs the regexp on the lines it points at. It picks, for each factor, the
// position whose bytes are rarest in the output seen so far (a sampled byte histogram), then either searches for
// those few bytes with bytes.IndexByte (vectorised), one search per byte remembered until passed, or, when
// there are too many such bytes or they are too common, steps through the text with a Horspool skip loop over
// the first positions of the factors. Both only ever stop early: every occurrence is found.
type prefilter struct {
	factors []factor
	// hist counts the bytes of sampled output (halved as it grows, so it follows the recent output); fed counts
	// the bytes fed since the last sample.
	hist  [256]uint32
	total uint32
	fed   int

	// The plan, rebuilt after each sample. With skip false: streams are the bytes searched, next[s] the index
	// of the next occurrence of streams[s] at or after the search position (valid for one text, see begin),
	// and pos[i] the position of factor i that holds its stream bytes. With skip true: the Horspool loop looks
	// at the byte b ending each window of width positions, checks the factors when step[b]&lastBit is set (b
	// can end an occurrence), and moves the window by step[b]&^lastBit.
	skip    bool
	streams []byte
	next    []int
	pos     []int
	width   int
	step    [256]uint8
	// targets lists, for each byte, the factors whose checked position (pos[i], or width-1) can hold it:
	// tlist[tstart[c]:tstart[c+1]].
	tstart [257]uint16
	tlist  []uint16
	// force, set by tests only, imposes streams (1, when at most maxStreams bytes) or the skip loop (2); with
	// streams, rot moves each factor's stream position rot places on (cyclically) from the chosen one.
	force, rot uint8
}

const (
	// sampleEvery is how much output passes between two samples of sampleBytes for the histogram (more often
	// while it holds less than sampleBytes*4); histCap is the sampled total above which the histogram is halved,
	// so that it follows output that changes within about histCap/sampleBytes samples.
	sampleEvery = 1 << 20
	sampleBytes = 512
	histCap     = 8 << 10
	// maxStreams bounds the bytes searched with IndexByte at once: each costs a pass over the text.
	maxStreams = 8
	// lastBit marks, in step, a byte that can end a factor's window.
	lastBit = 0x80
)

// Costs of the plan model, in nanoseconds, measured on amd64 with AVX2: an IndexByte restart at an occurrence
// (with the check of the candidate), a byte scanned by IndexByte, one step of the skip loop.
const (
	costHit  = 10.0
	costScan = 0.03
	costStep = 1.0
)

func newPrefilter(set []factor) *prefilter {
	f := &prefilter{factors: set, fed: sampleEvery}
	f.plan()
	return f
}

// observe accounts for a chunk of output, sampling it into the histogram and replanning every sampleEvery bytes
// (and at the first chunk).
func (f *prefilter) observe(p []byte) {
	f.fed += len(p)
	if f.fed < sampleEvery && f.total >= sampleBytes*4 || len(p) == 0 {
		return
	}
	f.fed = 0
	for _, c := range p[:min(len(p), sampleBytes)] {
		f.hist[c]++
	}
	f.total += uint32(min(len(p), sampleBytes))
	if f.total > histCap {
		f.total = 0
		for c := range f.hist {
			f.hist[c] /= 2
			f.total += f.hist[c]
		}
	}
	f.plan()
}

// freq estimates the frequency of byte c: its share of the sampled output, with the prior breaking ties and
// standing in before any sample.
func (f *prefilter) freqFunc() func(byte) float64 {
	den := float64(f.total)*256 + float64(priorSum)
	return func(c byte) float64 { return (float64(f.hist[c])*256 + float64(prior[c])) / den }
}

// plan chooses between streams and the skip loop by their estimated cost per byte of text.
func (f *prefilter) plan() {
	freq := f.freqFunc()
	// Streams: the rarest position of each factor; then each factor in turn moves to the position that adds
	// the least to the others' streams (failed|failure share f, F).
	f.pos = f.pos[:0]
	for _, fa := range f.factors {
		i, _ := rarest(fa, freq)
		f.pos = append(f.pos, i)
	}
	var sb byteSet
	if len(f.factors) > 1 {
		for k, fa := range f.factors {
			var others byteSet
			for j, fb := range f.factors {
				if j != k {
					others.union(&fb[f.pos[j]])
				}
			}
			bc := math.Inf(1)
			for i := range fa {
				c := 0.0
				fa[i].each(func(b byte) {
					if !others.has(b) {
						c += freq(b)*costHit + costScan
					}
				})
				if c < bc {
					f.pos[k], bc = i, c
				}
			}
		}
	}
	for k, fa := range f.factors {
		if f.force == 1 {
			f.pos[k] = (f.pos[k] + int(f.rot)) % len(fa)
		}
		sb.union(&fa[f.pos[k]])
	}
	streamCost := math.Inf(1)
	if n := sb.size(); n <= maxStreams {
		streamCost = float64(n) * costScan
		sb.each(func(c byte) { streamCost += freq(c) * costHit })
	}
	// Skip loop: windows as wide as the shortest factor.
	width := len(f.factors[0])
	for _, fa := range f.factors {
		width = min(width, len(fa))
	}
	var shift [256]uint8
	var last byteSet
	for c := range shift {
		shift[c] = uint8(width)
	}
	for _, fa := range f.factors {
		for j := 0; j < width-1; j++ {
			fa[j].each(func(c byte) { shift[c] = min(shift[c], uint8(width-1-j)) })
		}
		last.union(&fa[width-1])
	}
	avg, hits := 0.0, 0.0
	for c := range shift {
		avg += freq(byte(c)) * float64(shift[c])
		if last.has(byte(c)) {
			hits += freq(byte(c))
		}
	}
	skipCost := costStep/avg + hits*costHit

	f.skip = skipCost < streamCost
	switch {
	case f.force == 1 && !math.IsInf(streamCost, 1):
		f.skip = false
	case f.force == 2:
		f.skip = true
	}
	f.streams = f.streams[:0]
	if f.skip {
		f.width = width
		for c := range shift {
			f.step[c] = shift[c]
			if last.has(byte(c)) {
				f.step[c] |= lastBit
			}
		}
	} else {
		sb.each(func(c byte) { f.streams = append(f.streams, c) })
		f.next = append(f.next[:0], make([]int, len(f.streams))...)
	}
	var count [256]uint16
	check := func(i int) *byteSet {
		if f.skip {
			return &f.factors[i][width-1]
		}
		return &f.factors[i][f.pos[i]]
	}
	for i := range f.factors {
		check(i).each(func(c byte) { count[c]++ })
	}
	f.tstart[0] = 0
	for c := range count {
		f.tstart[c+1] = f.tstart[c] + count[c]
	}
	f.tlist = append(f.tlist[:0], make([]uint16, f.tstart[256])...)
	fill := f.tstart
	for i := range f.factors {
		check(i).each(func(c byte) { f.tlist[fill[c]] = uint16(i); fill[c]++ })
	}
}

// begin starts the searches of a new text: the remembered stream positions belong to the previous one.
func (f *prefilter) begin() {
	for s := range f.next {
		f.next[s] = -1
	}
}

// search returns the index of the first occurrence in p, at or after from, of a factor, or -1. Successive calls
// for the same p (after one begin) must not go back.
func (f *prefilter) search(p []byte, from int) int {
	switch {
	case f.skip:
		return f.searchSkip(p, from)
	case len(f.streams) == 1:
		return f.search1(p, from)
	}
	// Occurrences start at or after lo, the start of the line searched; from is where the streams go on.
	to, lo := len(p), from
	for {
		// The nearest occurrence is that of stream s1; the stream after it is at c2. Until c2, s1's
		// occurrences are taken in a tight loop, as search1 does.
		s1, c1, c2 := 0, to, to
		for s, b := range f.streams {
			n := f.next[s]
			if n < from {
				n = to
				if k := bytes.IndexByte(p[from:], b); k >= 0 {
					n = from + k
				}
				f.next[s] = n
			}
			if n < c1 {
				s1, c1, c2 = s, n, c1
			} else if n < c2 {
				c2 = n
			}
		}
		if c1 >= to {
			return -1
		}
		b := f.streams[s1]
		for c := c1; ; {
			if st := f.check(p, c, lo); st >= 0 {
				return st
			}
			from = c + 1
			n := to
			if k := bytes.IndexByte(p[from:], b); k >= 0 {
				n = from + k
			}
			if n >= c2 {
				f.next[s1] = n
				break
			}
			c = n
		}
	}
}

// search1 is search with a single stream, which needs no remembered position: each call scans on from from.
func (f *prefilter) search1(p []byte, from int) int {
	b, lo := f.streams[0], from
	for {
		k := bytes.IndexByte(p[from:], b)
		if k < 0 {
			return -1
		}
		c := from + k
		if st := f.check(p, c, lo); st >= 0 {
			return st
		}
		from = c + 1
	}
}

// check returns the start of a factor occurrence that holds p[c] at the factor's stream position and starts at
// or after lo, or -1.
func (f *prefilter) check(p []byte, c, lo int) int {
	b := p[c]
	for _, i := range f.tlist[f.tstart[b]:f.tstart[b+1]] {
		if st := c - f.pos[i]; st >= lo && f.factors[i].at(p, st) {
			return st
		}
	}
	return -1
}

// searchSkip is search with the Horspool loop: at each window it looks at the byte ending it; a factor can only
// start in the window when that byte is in last, and the window moves by the distance to the nearest earlier
// position that can hold the byte.
func (f *prefilter) searchSkip(p []byte, from int) int {
	w := f.width
	step := &f.step
	for e := from + w - 1; e < len(p); {
		b := p[e]
		t := step[b]
		if t&lastBit != 0 {
			st := e - w + 1
			for _, i := range f.tlist[f.tstart[b]:f.tstart[b+1]] {
				if f.factors[i].at(p, st) {
					return st
				}
			}
		}
		e += int(t &^ lastBit)
	}
	return -1
}

// contains reports whether a factor occurs in p.
func (f *prefilter) contains(p []byte) bool {
	f.begin()
	return f.search(p, 0) >= 0
}
