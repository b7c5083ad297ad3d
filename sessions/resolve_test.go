package sessions

import (
	"reflect"
	"testing"
	"time"
)

// TestResolve uses zeroReader (sessions_test.go), which makes every id draw pick the first word, so ids are known
// in advance: the first session of a registry is amber-atlas, the next ones amber-atlas-2, amber-atlas-3, ...
// (docs/reference.md#session-ids).
func TestResolve(t *testing.T) {
	r := newTestRegistry(t, Options{Rand: zeroReader{}, KillGrace: 100 * time.Millisecond})
	start := func(scope, cmd string, background bool) *Session {
		t.Helper()
		spec := shSpec(cmd)
		spec.Scope, spec.Background = scope, background
		s, _, err := r.Start(spec)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a1 := start("A", "sleep 30", true)   // amber-atlas
	b1 := start("B", "sleep 30", true)   // amber-atlas-2
	a2 := start("A", "true", true)       // amber-atlas-3, finished below
	fg := start("A", "sleep 30", false)  // amber-atlas-4, foreground
	b2 := start("B", "sleep 30", true)   // amber-atlas-5
	gone := start("B", "sleep 30", true) // amber-atlas-6, removed below
	waitDone(t, a2, 10*time.Second)
	if _, _, err := r.Remove("B", gone.ID()); err != nil {
		t.Fatal(err)
	}
	for i, s := range []*Session{a1, b1, a2, fg, b2, gone} {
		want := "amber-atlas"
		if i > 0 {
			want += "-" + string(rune('2'+i-1))
		}
		if s.ID() != want {
			t.Fatalf("session %d has id %s, want %s: the test's ids are not the ones it assumes", i, s.ID(), want)
		}
	}

	tests := []struct {
		name, scope, ref string
		id               string
		ambiguous        []string
	}{
		{"an exact id wins over the ids it starts", "A", "amber-atlas", "amber-atlas", nil},
		{"exact, finished", "A", "amber-atlas-3", "amber-atlas-3", nil},
		{"exact, foreground", "A", "amber-atlas-4", "amber-atlas-4", nil},
		{"ambiguous in A: its two backgrounded sessions, neither B's nor the foreground one", "A", "amber-at",
			"", []string{"amber-atlas", "amber-atlas-3"}},
		{"the 6-char minimum", "A", "amber-", "", []string{"amber-atlas", "amber-atlas-3"}},
		{"too short", "A", "amber", "amber", nil},
		{"a whole id (here another scope's, or a gone session's) does not reach its namesakes", "B", "amber-atlas", "amber-atlas", nil},
		{"a prefix that ends at a dash still does", "B", "amber-atlas-", "", []string{"amber-atlas-2", "amber-atlas-5"}},
		{"so does the adjective alone", "B", "amber-", "", []string{"amber-atlas-2", "amber-atlas-5"}},
		{"ambiguous in B without A's ids and the removed one", "B", "amber-atl", "", []string{"amber-atlas-2", "amber-atlas-5"}},
		{"unique in B", "B", "amber-atlas-5", "amber-atlas-5", nil},
		{"another scope's id is not found", "B", "amber-atlas-3", "amber-atlas-3", nil},
		{"a prefix of another scope's id only", "A", "amber-atlas-2", "amber-atlas-2", nil},
		{"the removed session is gone", "B", "amber-atlas-6", "amber-atlas-6", nil},
		{"no match", "A", "delta-br", "delta-br", nil},
		{"unknown scope", "C", "amber-at", "amber-at", nil},
	}
	for _, tt := range tests {
		id, amb := r.Resolve(tt.scope, tt.ref)
		if id != tt.id || !reflect.DeepEqual(amb, tt.ambiguous) {
			t.Errorf("%s: Resolve(%s, %q) = %q %v, want %q %v", tt.name, tt.scope, tt.ref, id, amb, tt.id, tt.ambiguous)
		}
	}
	// Only one session of B left with the prefix: it resolves.
	if _, _, err := r.Remove("B", "amber-atlas-5"); err != nil {
		t.Fatal(err)
	}
	if id, amb := r.Resolve("B", "amber-at"); id != "amber-atlas-2" || amb != nil {
		t.Errorf("unique prefix in B: %q %v, want amber-atlas-2", id, amb)
	}
	fg.CancelForeground()
}
