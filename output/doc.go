// Package output owns the data handling between a command's raw output bytes and the text that exec and
// process show (docs/reference.md#output-decoding and the sections after it): streaming UTF-8 decoding, ANSI/C0
// sanitising, the pending list and the aggregated buffer of a session, and the pure text helpers that bound and
// page that text (trimming, the one whitespace collapser CollapseSpace, the one middle truncation
// TruncateMiddle, JSON-encoded size budgets, log slicing, the line index of a spill file and the LogView that
// pages and searches it). It words no message: the notes a caller shows are built by package tools from the
// typed results (Drained, LogSlice, Page, Found). It uses the standard library only.
//
// Every length is in chars, that is Unicode code points, never bytes or UTF-16 units, so no cut ever splits a
// UTF-8 sequence.
//
// Concurrency: nothing in this package is safe for concurrent use and nothing starts goroutines or does I/O of its
// own: a LogView reads a spill file only through the io.ReaderAt its caller hands it.
// A Decoder and a Sanitizer belong to the single goroutine that reads one stream; a Buffer is shared by a
// session's readers and its callers, which must hold the session lock around every method call (including the
// read-only ones). The pure functions may be called from anywhere.
//
// Memory: the *Bytes methods are the allocation-free path a session reader uses. DecodeBytes and SanitizeBytes
// return views (of their input or of their own scratch buffer) that are valid until the next call; AppendBytes
// copies what the Buffer retains. Once the caps are reached, a read costs no allocation at all.
package output

// Stream identifies which output stream a chunk came from. A PTY session has one stream, Stdout.
type Stream uint8

const (
	Stdout Stream = iota
	Stderr
)

// Limits shared with the packages that build results (docs/reference.md#output-aggregated,
// docs/reference.md#output-budget).
const (
	TailChars           = 500
	TextBudget          = 393216 // encoded JSON bytes for output in content[0].text
	StructuredBudget    = 393216 // encoded JSON bytes for output-bearing structured fields
	DefaultMaxChars     = 100000
	DefaultPendingChars = 30000
)
