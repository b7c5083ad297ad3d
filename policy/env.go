package policy

import (
	_ "embed"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// envPolicyJSON holds the lists of the environment policy (docs/reference.md#env-policy).
//
//go:embed env-policy.json
var envPolicyJSON []byte

// envPolicy holds the parsed lists of env-policy.json. Names
// are stored upper-cased; it is built once and never modified.
type envPolicy struct {
	blockedEverywhere         map[string]struct{}
	blockedOverrideOnly       map[string]struct{}
	allowedInherited          map[string]struct{}
	blockedEverywherePrefixes []string
	blockedOverridePrefixes   []string
}

// envLists is parsed on first use rather than at package initialisation: the parse cost every start ≈ 0.3 ms
// and 400 allocations (GODEBUG=inittrace=1) before the server could answer initialize, and only a command
// needs it.
var envLists = sync.OnceValue(func() *envPolicy { return mustParseEnvPolicy(envPolicyJSON) })

func mustParseEnvPolicy(data []byte) *envPolicy {
	var raw struct {
		BlockedEverywhere         []string `json:"blockedEverywhere"`
		BlockedOverrideOnly       []string `json:"blockedOverrideOnly"`
		AllowedInherited          []string `json:"allowedInherited"`
		BlockedEverywherePrefixes []string `json:"blockedEverywherePrefixes"`
		BlockedOverridePrefixes   []string `json:"blockedOverridePrefixes"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		panic("policy: embedded env-policy.json: " + err.Error())
	}
	set := func(names []string) map[string]struct{} {
		m := make(map[string]struct{}, len(names))
		for _, n := range names {
			m[strings.ToUpper(n)] = struct{}{}
		}
		return m
	}
	upper := func(names []string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = strings.ToUpper(n)
		}
		return out
	}
	return &envPolicy{
		blockedEverywhere:         set(raw.BlockedEverywhere),
		blockedOverrideOnly:       set(raw.BlockedOverrideOnly),
		allowedInherited:          set(raw.AllowedInherited),
		blockedEverywherePrefixes: upper(raw.BlockedEverywherePrefixes),
		blockedOverridePrefixes:   upper(raw.BlockedOverridePrefixes),
	}
}

func has(m map[string]struct{}, k string) bool { _, ok := m[k]; return ok }

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// inheritBlocked reports whether an inherited key is stripped (see InheritedEnv).
func (p *envPolicy) inheritBlocked(key string) bool {
	u := strings.ToUpper(key)
	if hasAnyPrefix(u, p.blockedEverywherePrefixes) {
		return true
	}
	return (has(p.blockedEverywhere, u) || has(p.blockedOverrideOnly, u)) && !has(p.allowedInherited, u)
}

// overrideBlocked reports whether an upper-cased key is refused as an
// override (see ValidateEnv). PATH is handled separately.
func (p *envPolicy) overrideBlocked(upper string) bool {
	return has(p.blockedEverywhere, upper) || has(p.blockedOverrideOnly, upper) ||
		hasAnyPrefix(upper, p.blockedEverywherePrefixes) || hasAnyPrefix(upper, p.blockedOverridePrefixes)
}

// InheritedEnv filters the server's environment (os.Environ(), read once at
// startup) into the base environment of every command (docs/reference.md#env-policy): a key K
// is removed when upper(K) is in blockedEverywhere or blockedOverrideOnly and
// not in allowedInherited, or starts with a blockedEverywherePrefixes prefix.
//
// The order of the kept entries is preserved. Entries without '=' and entries
// with an empty key are dropped. The result is a new slice.
func InheritedEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		key, _, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			continue
		}
		if envLists().inheritBlocked(key) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

var portableKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidateEnv validates the exec env overrides (docs/reference.md#env-policy).
// Call it only when the env parameter was given; the entry count and NUL checks
// (docs/reference.md#input-limits) come first and are the caller's.
//
// Each key is trimmed. A trimmed key not matching ^[A-Za-z_][A-Za-z0-9_]*$ is
// invalid (reported as trimmed); upper(key) = PATH, a key of blockedEverywhere
// or blockedOverrideOnly, or one starting with a blockedEverywherePrefixes or
// blockedOverridePrefixes prefix is blocked (reported upper-cased). Any
// rejection returns a *Denial (RuleEnvOverride) listing every refused key and a
// nil map. Otherwise the accepted overrides are returned keyed by the trimmed key
// (case kept); when several given keys trim to the same key, the value of the
// byte-wise smallest given key wins.
func ValidateEnv(overrides map[string]string) (map[string]string, error) {
	given := make([]string, 0, len(overrides))
	for k := range overrides {
		given = append(given, k)
	}
	slices.Sort(given)

	accepted := make(map[string]string, len(overrides))
	blockedSet := map[string]struct{}{}
	invalidSet := map[string]struct{}{}
	for _, raw := range given {
		key := strings.TrimSpace(raw)
		if !portableKey.MatchString(key) {
			invalidSet[key] = struct{}{}
			continue
		}
		upper := strings.ToUpper(key)
		if upper == "PATH" || envLists().overrideBlocked(upper) {
			blockedSet[upper] = struct{}{}
			continue
		}
		if _, dup := accepted[key]; !dup {
			accepted[key] = overrides[raw]
		}
	}
	if len(blockedSet) == 0 && len(invalidSet) == 0 {
		return accepted, nil
	}
	return nil, &Denial{Rule: RuleEnvOverride, Blocked: sortedKeys(blockedSet), Invalid: sortedKeys(invalidSet)}
}

// sortedKeys returns the keys of m sorted byte-wise, nil when there are none.
func sortedKeys(m map[string]struct{}) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out) // byte-wise
	return out
}

// AssembleEnv builds the environment of one command (docs/reference.md#exec-env)
// from base (the InheritedEnv result), the validated overrides (ValidateEnv),
// the configured tools.exec.pathPrepend entries and the PTY flag:
//
//  2. overrides replace the value of the base entry with exactly the same key,
//     or are added;
//  3. pathPrepend entries (trimmed, empty ones dropped) are put in front of the
//     elements of PATH (key matched exactly); duplicates are removed keeping
//     the first occurrence (exact strings). Without a base PATH, or with an
//     empty one, the prepend entries alone form it. Without prepend entries
//     PATH is left as it is;
//  4. OPENCLAW_SHELL=exec is set, replacing any value;
//  5. non-PTY: TERM=dumb, PAGER=cat, GIT_PAGER=cat and GIT_TERMINAL_PROMPT=0,
//     each only if the key is absent;
//  6. PTY: TERM is kept if present and neither empty nor "dumb", else set to
//     xterm-256color.
//
// Output order is deterministic: base order is kept (a key repeated in base
// appears once, at its first position, with its last value, which is what the
// child would see), then the added keys sorted byte-wise. base is not
// modified.
func AssembleEnv(base []string, overrides map[string]string, pathPrepend []string, pty bool) []string {
	var order []string          // keys of base, first occurrence order
	vals := map[string]string{} // key -> value
	for _, kv := range base {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if _, seen := vals[k]; !seen {
			order = append(order, k)
		}
		vals[k] = v
	}
	var added []string
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			added = append(added, k)
		}
		vals[k] = v
	}

	// Step 2.
	for k, v := range overrides {
		set(k, v)
	}

	// Step 3.
	var prepend []string
	for _, p := range pathPrepend {
		if p = strings.TrimSpace(p); p != "" {
			prepend = append(prepend, p)
		}
	}
	if len(prepend) > 0 {
		elems := prepend
		if cur := vals["PATH"]; cur != "" {
			elems = append(slices.Clip(elems), strings.Split(cur, ":")...)
		}
		seen := make(map[string]struct{}, len(elems))
		var path []string
		for _, e := range elems {
			if _, dup := seen[e]; dup {
				continue
			}
			seen[e] = struct{}{}
			path = append(path, e)
		}
		set("PATH", strings.Join(path, ":"))
	}

	// Step 4.
	set("OPENCLAW_SHELL", "exec")

	// Steps 5 and 6.
	if pty {
		if t, ok := vals["TERM"]; !ok || t == "" || t == "dumb" {
			set("TERM", "xterm-256color")
		}
	} else {
		for _, d := range [...][2]string{{"TERM", "dumb"}, {"PAGER", "cat"}, {"GIT_PAGER", "cat"}, {"GIT_TERMINAL_PROMPT", "0"}} {
			if _, ok := vals[d[0]]; !ok {
				set(d[0], d[1])
			}
		}
	}

	slices.Sort(added)
	out := make([]string, 0, len(order)+len(added))
	for _, k := range order {
		out = append(out, k+"="+vals[k])
	}
	for _, k := range added {
		out = append(out, k+"="+vals[k])
	}
	return out
}
