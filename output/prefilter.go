package output

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
)

// prefilter finds the places in a text where one of a set of factors (factor.go) occurs, much faster than a
// regexp scans: LineMatcher only runs the regexp on the lines it points at. From the frequencies of bytes in the
// output seen so far (a sampled histogram) it estimates the cost of its ways of searching and takes the cheapest:
//   - streams: for each factor, the position whose bytes are rarest; those few bytes are searched with
//     bytes.IndexByte (vectorised), one search per byte, each remembered until passed. Each occurrence of such a
//     byte costs a restart (about 10 ns, mostly a mispredicted branch), so this is for rare bytes.
//   - pairs: a factor whose every position is common (`(?i)error` on English text, found on every line by any
//     single byte) is searched by testing two of its positions together, eight bytes at a time (SWAR, in plain
//     Go), at a cost per byte that does not depend on how common the bytes are. Some factors of a set can go to
//     pairs and the others to streams (error|warning|fatal: error by a pair, warning and fatal by their a).
//   - skip: a Horspool loop over windows as wide as the shortest factor, for many or common bytes in long
//     factors (\d{6}).
//   - none: the factors occur about every line, so that checking each line they point at would cost more than
//     running the pattern over the text; the matcher does the latter.
//
// No way ever passes over an occurrence; what they stop at is checked against the whole factor.
type prefilter struct {
	factors []factor
	// hist counts the bytes of sampled output (halved as it grows, so it follows the recent output); fed counts
	// the bytes fed since the last sample.
	hist  [256]uint32
	total uint32
	fed   int

	// The plan, rebuilt after each sample. planStreams: the factors of pairs are searched by pair (pnext[j] is
	// the start of the next occurrence of pairs[j]'s factor, or the text's end, found from the search position
	// or before: valid for one text, see begin), the others by streams: streams are the bytes searched, next[s]
	// the index of the next occurrence of streams[s] at or after the search position, and pos[i] the position
	// of factor i that holds its stream bytes. planSkip: the Horspool loop looks at the byte b ending each
	// window of width positions, checks the factors when step[b]&lastBit is set (b can end an occurrence), and
	// moves the window by step[b]&^lastBit.
	mode    uint8
	pairs   []pair
	pnext   []int
	streams []byte
	next    []int
	pos     []int
	width   int
	step    [256]uint8
	// targets lists, for each byte, the factors whose checked position (pos[i] for streams, width-1 for skip)
	// can hold it: tlist[tstart[c]:tstart[c+1]].
	tstart [257]uint16
	tlist  []uint16
	// force, set by tests only, imposes a plan: 1 streams only (when at most maxStreams bytes), 2 skip, 3 a
	// pair for every factor of two positions or more and streams for the others; with streams, rot moves each
	// factor's stream position rot places on (cyclically) from the chosen one.
	force, rot uint8
}

// The plans.
const (
	planNone = iota
	planStreams
	planSkip
)

// pair is the search of one factor by two of its positions, at and at+dist; a byte passes a position when it is
// in the position's cube.
type pair struct {
	factor, at, dist int
	cubes            [2]cube
	cost             float64 // estimated per byte of text
}

// cube is the set of bytes b with b|mask == value: the smallest such set holding a position's bytes (one byte,
// a letter in both cases), tested on eight bytes at once.
type cube struct{ value, mask byte }

func cubeOf(s *byteSet) cube {
	var c cube
	first := true
	s.each(func(b byte) {
		if first {
			c.value, first = b, false
		}
		c.mask |= b ^ c.value
	})
	c.value |= c.mask
	return c
}

func (c cube) has(b byte) bool { return b|c.mask == c.value }

// freq sums freq over the bytes of the cube.
func (c cube) freq(freq func(byte) float64) float64 {
	t := 0.0
	// Every subset of the mask's bits, cleared from value.
	for sub := uint(c.mask); ; sub = (sub - 1) & uint(c.mask) {
		t += freq(c.value &^ byte(sub))
		if sub == 0 {
			return t
		}
	}
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
	// maxPairSet bounds the sets whose factors may go to pairs: each try replans the streams.
	maxPairSet = 8
	// maxOccurrences is the estimated rate of occurrences per byte above which the prefilter steps aside
	// (planNone): one in 256 bytes is about one line in three.
	maxOccurrences = 1.0 / 256
)

// Costs of the plan model, in nanoseconds, measured on amd64 with AVX2 (an Intel Xeon VM): an IndexByte restart
// at an occurrence, or a candidate of the pair loop, with its check (mostly a mispredicted branch); a byte
// scanned by IndexByte; one step of the skip loop, and the check when its window's last byte fits; a byte of the
// pair loop.
const (
	costHit   = 12.0
	costScan  = 0.03
	costStep  = 1.0
	costCheck = 2.5
	costPair  = 0.13
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

// plan chooses the plan of least estimated cost per byte of text, or planNone, and prepares it.
func (f *prefilter) plan() {
	freq := f.freqFunc()
	n := len(f.factors)
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	f.pos = append(f.pos[:0], make([]int, n)...)
	sb, streamCost := f.streamPlan(all, freq, f.pos)

	// Pairs: while moving one more factor from the streams to a pair lowers the cost, the best such factor
	// moves. Each try replans the streams, so this is bounded to small sets.
	var pairs []pair
	inPair := make([]bool, n)
	mixedCost := streamCost
	if n <= maxPairSet {
		pos := make([]int, n)
		for {
			var bp pair
			found, bc := false, mixedCost
			for k := range f.factors {
				if inPair[k] || len(f.factors[k]) < 2 {
					continue
				}
				pr := f.pairOf(k, freq)
				inPair[k] = true
				_, sc := f.streamPlan(others(inPair), freq, pos)
				inPair[k] = false
				c := sc + pr.cost
				for _, q := range pairs {
					c += q.cost
				}
				if c < bc || f.force == 3 && !found {
					bp, bc, found = pr, c, true
				}
			}
			if !found {
				break
			}
			pairs, inPair[bp.factor], mixedCost = append(pairs, bp), true, bc
		}
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
	skipCost := costStep/avg + hits*costCheck

	switch {
	case f.force == 1 && !math.IsInf(streamCost, 1):
		f.mode, pairs = planStreams, nil
	case f.force == 2:
		f.mode = planSkip
	case f.force == 3 && !math.IsInf(mixedCost, 1):
		f.mode = planStreams
	case occurrences(f.factors, freq) > maxOccurrences:
		f.mode = planNone
	case skipCost < mixedCost:
		f.mode = planSkip
	default:
		f.mode = planStreams
	}
	f.pairs, f.streams = pairs, f.streams[:0]
	f.pnext = append(f.pnext[:0], make([]int, len(pairs))...)
	for i := range inPair {
		inPair[i] = false
	}
	for _, pr := range pairs {
		inPair[pr.factor] = true
	}
	// The streams of the factors left to them.
	rest := others(inPair)
	if f.mode == planStreams {
		sb, _ = f.streamPlan(rest, freq, f.pos)
		if f.rot != 0 {
			sb = byteSet{}
			for _, k := range rest {
				f.pos[k] = (f.pos[k] + int(f.rot)) % len(f.factors[k])
				sb.union(&f.factors[k][f.pos[k]])
			}
		}
		sb.each(func(c byte) { f.streams = append(f.streams, c) })
		f.next = append(f.next[:0], make([]int, len(f.streams))...)
	} else {
		f.pairs, f.pnext = f.pairs[:0], f.pnext[:0]
		rest = all
	}
	if f.mode == planSkip {
		f.width = width
		for c := range shift {
			f.step[c] = shift[c]
			if last.has(byte(c)) {
				f.step[c] |= lastBit
			}
		}
	}
	var count [256]uint16
	check := func(i int) *byteSet {
		if f.mode == planSkip {
			return &f.factors[i][width-1]
		}
		return &f.factors[i][f.pos[i]]
	}
	for _, i := range rest {
		check(i).each(func(c byte) { count[c]++ })
	}
	f.tstart[0] = 0
	for c := range count {
		f.tstart[c+1] = f.tstart[c] + count[c]
	}
	f.tlist = append(f.tlist[:0], make([]uint16, f.tstart[256])...)
	fill := f.tstart
	for _, i := range rest {
		check(i).each(func(c byte) { f.tlist[fill[c]] = uint16(i); fill[c]++ })
	}
}

// others returns the indexes of the factors not in the set.
func others(in []bool) []int {
	var out []int
	for i, b := range in {
		if !b {
			out = append(out, i)
		}
	}
	return out
}

// streamPlan chooses the stream positions of the factors idx into pos: the rarest position of each; then each
// in turn moves to the position that adds the least to the others' streams (a|ab share a). It returns the
// stream bytes and their estimated cost per byte of text (0 without factors, +Inf over maxStreams bytes).
func (f *prefilter) streamPlan(idx []int, freq func(byte) float64, pos []int) (byteSet, float64) {
	for _, k := range idx {
		pos[k], _ = rarest(f.factors[k], freq)
	}
	if len(idx) > 1 {
		for _, k := range idx {
			var others byteSet
			for _, j := range idx {
				if j != k {
					others.union(&f.factors[j][pos[j]])
				}
			}
			bc := math.Inf(1)
			for i := range f.factors[k] {
				c := 0.0
				f.factors[k][i].each(func(b byte) {
					if !others.has(b) {
						c += freq(b)*costHit + costScan
					}
				})
				if c < bc {
					pos[k], bc = i, c
				}
			}
		}
	}
	var sb byteSet
	for _, k := range idx {
		sb.union(&f.factors[k][pos[k]])
	}
	n := sb.size()
	if n > maxStreams {
		return sb, math.Inf(1)
	}
	cost := float64(n) * costScan
	sb.each(func(c byte) { cost += freq(c) * costHit })
	return sb, cost
}

// pairOf returns the pair of positions of factor k least often found together, with its cost.
func (f *prefilter) pairOf(k int, freq func(byte) float64) pair {
	fa := f.factors[k]
	best := pair{factor: k, cost: math.Inf(1)}
	for i := range fa {
		fi := cubeOf(&fa[i]).freq(freq)
		for j := i + 1; j < len(fa); j++ {
			if c := costPair + fi*cubeOf(&fa[j]).freq(freq)*costHit; c < best.cost {
				best.at, best.dist, best.cost = i, j-i, c
			}
		}
	}
	best.cubes = [2]cube{cubeOf(&fa[best.at]), cubeOf(&fa[best.at+best.dist])}
	return best
}

// begin starts the searches of a new text: the remembered positions belong to the previous one.
func (f *prefilter) begin() {
	for s := range f.next {
		f.next[s] = -1
	}
	for j := range f.pnext {
		f.pnext[j] = -1
	}
}

// search returns the index of the first occurrence in p, at or after from, of a factor, or -1; with planNone,
// from itself (every line is checked). Successive calls for the same p (after one begin) must not go back.
func (f *prefilter) search(p []byte, from int) int {
	switch f.mode {
	case planNone:
		if from < len(p) {
			return from
		}
		return -1
	case planSkip:
		return f.searchSkip(p, from)
	}
	best := len(p)
	for j := range f.pairs {
		if f.pnext[j] < from {
			f.pnext[j] = f.searchPair(&f.pairs[j], p, from)
		}
		best = min(best, f.pnext[j])
	}
	switch {
	case len(f.streams) == 1:
		if st := f.search1(p, from); st >= 0 {
			best = min(best, st)
		}
	case len(f.streams) > 1:
		if st := f.searchStreams(p, from); st >= 0 {
			best = min(best, st)
		}
	}
	if best == len(p) {
		return -1
	}
	return best
}

// searchStreams is search by streams.
func (f *prefilter) searchStreams(p []byte, from int) int {
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
	for _, i := range f.tlist[f.tstart[b]:f.tstart[int(b)+1]] {
		if st := c - f.pos[i]; st >= lo && f.factors[i].at(p, st) {
			return st
		}
	}
	return -1
}

// searchSkip is search with the Horspool loop: at each window it looks at the byte ending it; a factor can only
// start at the window when that byte can end one (lastBit), and the window moves by the distance to the nearest
// earlier position that can hold the byte, or its width.
func (f *prefilter) searchSkip(p []byte, from int) int {
	w := f.width
	step := &f.step
	for e := from + w - 1; e < len(p); {
		b := p[e]
		t := step[b]
		if t&lastBit != 0 {
			st := e - w + 1
			for _, i := range f.tlist[f.tstart[b]:f.tstart[int(b)+1]] {
				if f.factors[i].at(p, st) {
					return st
				}
			}
		}
		e += int(t &^ lastBit)
	}
	return -1
}

// searchPair returns the start of the first occurrence of the pair's factor in p at or after from, or len(p).
// At each index k it tests whether p[k] passes the first position and p[k+dist] the second, eight indexes per
// 64-bit word: a byte of (x|mask)^value is zero where x's byte passes, and OR-ing the two words leaves a zero
// byte where both do. Zero bytes are found with the classic (v-0x01..)&^v&0x80.. test, which may also flag a
// byte above a zero byte (a borrow), never miss one.
func (f *prefilter) searchPair(pr *pair, p []byte, from int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	fa, at, d := f.factors[pr.factor], pr.at, pr.dist
	m1, v1 := lo*uint64(pr.cubes[0].mask), lo*uint64(pr.cubes[0].value)
	m2, v2 := lo*uint64(pr.cubes[1].mask), lo*uint64(pr.cubes[1].value)
	// k is where the factor's position at lies: its start is k-at, at or after from.
	k := from + at
	for ; k+d+64 <= len(p); k += 64 {
		x := (*[64]byte)(p[k : k+64])
		y := (*[64]byte)(p[k+d : k+d+64])
		w0 := ((binary.LittleEndian.Uint64(x[0:]) | m1) ^ v1) | ((binary.LittleEndian.Uint64(y[0:]) | m2) ^ v2)
		w0 = (w0 - lo) &^ w0
		w1 := ((binary.LittleEndian.Uint64(x[8:]) | m1) ^ v1) | ((binary.LittleEndian.Uint64(y[8:]) | m2) ^ v2)
		w1 = (w1 - lo) &^ w1
		w2 := ((binary.LittleEndian.Uint64(x[16:]) | m1) ^ v1) | ((binary.LittleEndian.Uint64(y[16:]) | m2) ^ v2)
		w2 = (w2 - lo) &^ w2
		w3 := ((binary.LittleEndian.Uint64(x[24:]) | m1) ^ v1) | ((binary.LittleEndian.Uint64(y[24:]) | m2) ^ v2)
		w3 = (w3 - lo) &^ w3
		w4 := ((binary.LittleEndian.Uint64(x[32:]) | m1) ^ v1) | ((binary.LittleEndian.Uint64(y[32:]) | m2) ^ v2)
		w4 = (w4 - lo) &^ w4
		w5 := ((binary.LittleEndian.Uint64(x[40:]) | m1) ^ v1) | ((binary.LittleEndian.Uint64(y[40:]) | m2) ^ v2)
		w5 = (w5 - lo) &^ w5
		w6 := ((binary.LittleEndian.Uint64(x[48:]) | m1) ^ v1) | ((binary.LittleEndian.Uint64(y[48:]) | m2) ^ v2)
		w6 = (w6 - lo) &^ w6
		w7 := ((binary.LittleEndian.Uint64(x[56:]) | m1) ^ v1) | ((binary.LittleEndian.Uint64(y[56:]) | m2) ^ v2)
		w7 = (w7 - lo) &^ w7
		if (w0|w1|w2|w3|w4|w5|w6|w7)&hi == 0 {
			continue
		}
		for j, m := range [8]uint64{w0, w1, w2, w3, w4, w5, w6, w7} {
			for m &= hi; m != 0; m &= m - 1 {
				if st := k + 8*j + bits.TrailingZeros64(m)/8 - at; fa.at(p, st) {
					return st
				}
			}
		}
	}
	for ; k+d < len(p); k++ {
		if pr.cubes[0].has(p[k]) && pr.cubes[1].has(p[k+d]) && fa.at(p, k-at) {
			return k - at
		}
	}
	return len(p)
}

// contains reports whether a factor occurs in p; always true with planNone.
func (f *prefilter) contains(p []byte) bool {
	if f.mode == planNone {
		return true
	}
	f.begin()
	return f.search(p, 0) >= 0
}
