package tools

import (
	"strings"
	"testing"
	"time"

	"github.com/execmcp/execmcp/sessions"
)

// The until fields and the no-match line of a poll result (docs/reference.md#poll-wait).
func TestRenderPollUntil(t *testing.T) {
	running := sessions.Info{ID: "s", Status: "running"}
	r := renderPoll(sessions.PollResult{Info: running, Output: "x\n", Chunks: 1, RetryIn: 5 * time.Second, Until: true}, 1500)
	if r.text != "x\n\nProcess still running.\n(no line matched until within 1500 ms)" {
		t.Errorf("no match: text %q", r.text)
	}
	if r.details["matched"] != false || r.details["match"] != nil {
		t.Errorf("no match: details %v", r.details)
	}
	long := strings.Repeat("é", 1200)
	r = renderPoll(sessions.PollResult{Info: running, Output: long + "\n", Chunks: 1, Until: true, Matched: true, Match: long}, 1500)
	if r.text != long+"\n\nProcess still running." {
		t.Errorf("match: text ends %q", r.text[len(r.text)-40:])
	}
	if r.details["matched"] != true || r.details["match"] != strings.Repeat("é", 1000) {
		t.Errorf("match: matched %v, match of %d bytes", r.details["matched"], len(r.details["match"].(string)))
	}
	fin := sessions.Info{ID: "s", Status: "completed", ExitReason: "exit"}
	r = renderPoll(sessions.PollResult{Info: fin, Finished: true, Until: true}, 1500)
	if strings.Contains(r.text, "no line matched") || r.details["matched"] != false {
		t.Errorf("finished: %q %v", r.text, r.details)
	}
	r = renderPoll(sessions.PollResult{Info: running}, 1500)
	if _, ok := r.details["matched"]; ok {
		t.Errorf("plain poll has matched: %v", r.details)
	}
}
