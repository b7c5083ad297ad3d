package sessions

import (
	"sync/atomic"
	"time"

	"github.com/execmcp/execmcp/output"
)

// durationBounds are the upper bounds, in seconds, of the buckets of Stats.Durations: from a quick command to an
// hour, past which run times need no finer grain (docs/reference.md#metrics).
var durationBounds = [...]float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600}

// Stats is a snapshot of the registry's counters (docs/reference.md#metrics). The counts are cumulative since
// New; nothing in it names a session or a scope.
type Stats struct {
	// Running is the number of sessions running now, foreground ones included (a removed session counts until
	// it is finalized).
	Running int
	// Completed and Failed count the finalized sessions that were backgrounded, by status. A foreground
	// session's outcome goes to its exec result instead; every session is in Durations.
	Completed, Failed uint64
	// StdoutBytes, StderrBytes and PTYBytes are the bytes of output recorded per stream, after decoding and
	// sanitising (what the buffers received).
	StdoutBytes, StderrBytes, PTYBytes uint64
	// DroppedChars counts the chars dropped from the head of the sessions' aggregated output (the sum of their
	// discardedChars).
	DroppedChars uint64
	// Durations is the histogram of the run times (spawn to exit) of finalized sessions, all of them.
	Durations Histogram
}

// Histogram is a cumulative histogram of seconds.
type Histogram struct {
	// Bounds are the buckets' upper bounds (shared: do not modify); Counts[i] is the number of observations of at most
	// Bounds[i] seconds. Observations above the last bound are counted in Count only.
	Bounds []float64
	Counts []uint64
	Count  uint64
	// Sum is the total of the observations in seconds.
	Sum float64
}

// counters are the registry's statistics. They are atomics so that the output path adds to them without a lock
// and without allocating: one add per recorded chunk, not per byte.
type counters struct {
	completed, failed atomic.Uint64
	stdout, stderr    atomic.Uint64
	pty               atomic.Uint64
	dropped           atomic.Uint64
	// buckets[i] counts observations in (durationBounds[i-1], durationBounds[i]]; the last one those above all
	// bounds. Cumulated by Stats.
	buckets [len(durationBounds) + 1]atomic.Uint64
	count   atomic.Uint64
	sumNs   atomic.Int64
}

// recordOutput counts one recorded chunk of n bytes of stream (of a PTY session when pty) and the chars its
// append dropped from the aggregated output.
func (c *counters) recordOutput(pty bool, stream output.Stream, n, dropped int) {
	switch {
	case pty:
		c.pty.Add(uint64(n))
	case stream == output.Stdout:
		c.stdout.Add(uint64(n))
	default:
		c.stderr.Add(uint64(n))
	}
	if dropped > 0 {
		c.dropped.Add(uint64(dropped))
	}
}

// recordFinished counts a finalized session: its run time, and its status when it was backgrounded.
func (c *counters) recordFinished(info Info) {
	if info.Backgrounded {
		if info.Status == "completed" {
			c.completed.Add(1)
		} else {
			c.failed.Add(1)
		}
	}
	d := max(info.EndedAt.Sub(info.StartedAt), 0)
	sec := d.Seconds()
	i := 0
	for i < len(durationBounds) && sec > durationBounds[i] {
		i++
	}
	c.buckets[i].Add(1)
	c.sumNs.Add(int64(d))
	c.count.Add(1)
}

// Stats returns a snapshot of the counters. The counters are read one by one while sessions keep running, so
// a snapshot taken under load may be off by the chunks and sessions recorded while it was taken.
func (r *Registry) Stats() Stats {
	r.mu.Lock()
	running := len(r.running)
	r.mu.Unlock()
	c := &r.stats
	st := Stats{
		Running:      running,
		Completed:    c.completed.Load(),
		Failed:       c.failed.Load(),
		StdoutBytes:  c.stdout.Load(),
		StderrBytes:  c.stderr.Load(),
		PTYBytes:     c.pty.Load(),
		DroppedChars: c.dropped.Load(),
	}
	h := Histogram{Bounds: durationBounds[:], Counts: make([]uint64, len(durationBounds))}
	var cum uint64
	for i := range durationBounds {
		cum += c.buckets[i].Load()
		h.Counts[i] = cum
	}
	// Count is at least the cumulated buckets, so that a snapshot racing an observation stays a valid histogram.
	h.Count = max(c.count.Load(), cum+c.buckets[len(durationBounds)].Load())
	h.Sum = time.Duration(c.sumNs.Load()).Seconds()
	st.Durations = h
	return st
}
