package sessions

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// MinIDPrefix is the shortest prefix of a session id that Resolve completes: the exit and output events name a
// session by the first 8 chars of its id (docs/reference.md#session-ids), and 6 still leaves the adjective and
// a letter of the noun, so a short reference rarely matches more than one session.
const MinIDPrefix = 6

// Resolve turns ref, a session id or a prefix of one, into the id of a session of scope
// (docs/reference.md#session-ids). A visible session of scope whose id is ref always wins, whatever else ref is a
// prefix of. Otherwise a ref of at least MinIDPrefix chars that starts the id of exactly one backgrounded session
// of scope (running, not removed, or finished) resolves to that id; when it starts several, ambiguous lists them,
// sorted. Anything else returns ref itself, which the action then does not find. Sessions of other scopes are
// never candidates: a prefix cannot reach them and ambiguous never names them. A ref that ends where a "-"
// follows in the id is not a prefix of it: "lucky-daisy" may be the whole id of a session that is gone, and must
// not reach its namesake "lucky-daisy-2" (a kill would hit the wrong command).
func (r *Registry) Resolve(scope, ref string) (id string, ambiguous []string) {
	if s, _ := r.lookup(scope, ref); s != nil {
		return ref, nil
	}
	if utf8.RuneCountInString(ref) < MinIDPrefix {
		return ref, nil
	}
	r.mu.Lock()
	var matches []string
	for sid, s := range r.running {
		if s.scope != scope || !isIDPrefix(sid, ref) {
			continue
		}
		s.mu.Lock()
		visible := s.backgrounded && !s.removed
		s.mu.Unlock()
		if visible {
			matches = append(matches, sid)
		}
	}
	for sid, s := range r.finished {
		if s.scope == scope && isIDPrefix(sid, ref) {
			matches = append(matches, sid)
		}
	}
	r.mu.Unlock()
	switch len(matches) {
	case 0:
		return ref, nil
	case 1:
		return matches[0], nil
	}
	sort.Strings(matches)
	return "", matches
}

// isIDPrefix reports whether ref starts id, unless ref has the shape of a whole id (a "-" inside it) and id
// continues it with "-": "nimble" starts "nimble-cloud", "lucky-daisy" does not start "lucky-daisy-2".
func isIDPrefix(id, ref string) bool {
	if !strings.HasPrefix(id, ref) {
		return false
	}
	return len(id) == len(ref) || id[len(ref)] != '-' || !strings.Contains(strings.TrimSuffix(ref, "-"), "-")
}
