package integration_test

// What a stdio server writes: the tap records every JSON-RPC message on its stdout (with arrival time and size),
// and a locked buffer collects its stderr.

import (
	"bytes"
	"encoding/json"
	"os"
	"sync"
	"time"
)

type message struct {
	At     time.Time
	Size   int // bytes of the line, without the newline
	Raw    json.RawMessage
	Method string
	ID     string // raw JSON of the id, "" when absent
	Params json.RawMessage
	Result json.RawMessage
	Error  json.RawMessage
}

func (m message) isNotification() bool { return m.Method != "" && m.ID == "" }
func (m message) isResponse() bool     { return m.Method == "" && m.ID != "" }

type tap struct {
	r *os.File

	mu      sync.Mutex
	partial []byte
	msgs    []message
	bad     []string
	changed chan struct{}
}

func newTap(r *os.File) *tap { return &tap{r: r, changed: make(chan struct{})} }

func (t *tap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.feed(p[:n])
	}
	return n, err
}

func (t *tap) Close() error { return t.r.Close() }

func (t *tap) feed(b []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, b...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		line := t.partial[:i]
		t.partial = t.partial[i+1:]
		t.record(line)
	}
	if len(t.partial) == 0 {
		t.partial = nil
	}
}

func (t *tap) record(line []byte) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	m, bad, ok := parseMessage(line, time.Now())
	if !ok {
		t.bad = append(t.bad, bad)
		return
	}
	t.msgs = append(t.msgs, m)
	close(t.changed)
	t.changed = make(chan struct{})
}

// parseMessage decodes one JSON-RPC message seen at at; when it is not one, bad is its start, for the report.
func parseMessage(raw []byte, at time.Time) (m message, bad string, ok bool) {
	var w struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
		Result  json.RawMessage `json:"result"`
		Error   json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(raw, &w); err != nil || w.JSONRPC != "2.0" {
		s := string(raw)
		if len(s) > 300 {
			s = s[:300] + "..."
		}
		return message{}, s, false
	}
	m = message{At: at, Size: len(raw), Raw: append(json.RawMessage(nil), raw...), Method: w.Method,
		Params: w.Params, Result: w.Result, Error: w.Error}
	if len(w.ID) > 0 && string(w.ID) != "null" {
		m.ID = string(w.ID)
	}
	return m, "", true
}

// snapshot returns the messages seen so far and a channel closed at the next message.
func (t *tap) snapshot() ([]message, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]message(nil), t.msgs...), t.changed
}

func (t *tap) badLines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.bad...)
}

// ---------------------------------------------------------------------------------------------------------------
// locked buffer for stderr

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
