package policy

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestEnvPolicyDataWellFormed(t *testing.T) {
	var raw map[string][]string
	if err := json.Unmarshal(envPolicyJSON, &raw); err != nil {
		t.Fatal(err)
	}
	want := []string{"allowedInherited", "blockedEverywhere", "blockedEverywherePrefixes", "blockedOverrideOnly", "blockedOverridePrefixes"}
	var got []string
	for k := range raw {
		got = append(got, k)
	}
	slices.Sort(got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lists = %v, want %v", got, want)
	}
	for name, list := range raw {
		if len(list) == 0 {
			t.Errorf("%s is empty", name)
		}
		seen := map[string]bool{}
		for _, n := range list {
			if n != strings.ToUpper(n) || strings.TrimSpace(n) != n || n == "" {
				t.Errorf("%s: %q is not a trimmed upper-case name", name, n)
			}
			if seen[n] {
				t.Errorf("%s: duplicate %q", name, n)
			}
			seen[n] = true
		}
	}
	if len(envLists().blockedEverywhere) != len(raw["blockedEverywhere"]) ||
		len(envLists().blockedOverrideOnly) != len(raw["blockedOverrideOnly"]) ||
		len(envLists().allowedInherited) != len(raw["allowedInherited"]) {
		t.Fatal("parsed sets do not match the file")
	}
}

func TestInheritedEnv(t *testing.T) {
	stripped := []string{
		// examples of docs/reference.md#env-policy
		"NODE_OPTIONS", "PYTHONPATH", "BASH_ENV", "ENV", "SHELL", "IFS", "SSLKEYLOGFILE", "GIT_DIR",
		"JAVA_TOOL_OPTIONS", "LD_PRELOAD", "EDITOR", "CLASSPATH", "GITHUB_TOKEN", "GH_TOKEN",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "NPM_TOKEN", "DATABASE_URL", "REDIS_URL",
		// prefixes and case-insensitivity
		"BASH_FUNC_foo%%", "DYLD_INSERT_LIBRARIES", "LD_LIBRARY_PATH", "ld_debug", "github_token", "Node_Options",
		// message catalogues of bash's $"..." and perl's old library path
		"TEXTDOMAIN", "TEXTDOMAINDIR", "PERLLIB", "textdomaindir",
		// the server's own settings and secrets
		"EXECMCP_AUTH_TOKEN", "EXECMCP_AUTH_TOKENS_FILE", "EXECMCP_CONFIG", "EXECMCP_LISTEN", "EXECMCP_", "execmcp_x",
	}
	kept := []string{
		// examples of docs/reference.md#env-policy
		"HOME", "PATH", "USER", "LANG", "TERM", "SSH_AUTH_SOCK", "HTTP_PROXY", "KUBECONFIG",
		"AWS_SHARED_CREDENTIALS_FILE",
		// allowedInherited, case-insensitive; override-only prefixes are inherited
		"XDG_RUNTIME_DIR", "http_proxy", "PAGER", "GIT_PAGER", "GIT_CONFIG_COUNT", "NPM_CONFIG_REGISTRY",
		"TF_VAR_region", "CARGO_REGISTRIES_X_INDEX", "FOO_OK", "LDX", "LD", "_",
		"EXECMCP", "MY_EXECMCP_X", "TEXTDOMAINX", "PERLLIBX",
	}
	for _, k := range stripped {
		if got := InheritedEnv([]string{k + "=v"}); len(got) != 0 {
			t.Errorf("%s kept, want stripped", k)
		}
	}
	for _, k := range kept {
		if got := InheritedEnv([]string{k + "=v"}); !reflect.DeepEqual(got, []string{k + "=v"}) {
			t.Errorf("%s: got %q, want kept", k, got)
		}
	}

	in := []string{"B=2", "GITHUB_TOKEN=t", "A=1", "NOEQUALS", "=weird", "HOME=/h", "EMPTY=", "X=a=b", "B=3"}
	want := []string{"B=2", "A=1", "HOME=/h", "EMPTY=", "X=a=b", "B=3"}
	orig := slices.Clone(in)
	if got := InheritedEnv(in); !reflect.DeepEqual(got, want) {
		t.Errorf("InheritedEnv = %q, want %q", got, want)
	}
	if !reflect.DeepEqual(in, orig) {
		t.Error("input modified")
	}
	if got := InheritedEnv(nil); got == nil || len(got) != 0 {
		t.Errorf("InheritedEnv(nil) = %#v, want empty non-nil", got)
	}
}

type keys = []string

func TestValidateEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want map[string]string // accepted result when blocked and invalid are nil
		// blocked and invalid are the refused keys the denial lists; tools words them (TestValidateEnvTexts).
		blocked, invalid keys
	}{
		// Every row of the examples table (docs/reference.md#env-policy).
		{"path", map[string]string{"PATH": "/explicit/bin"}, nil, keys{"PATH"}, nil},
		{"path lower", map[string]string{"path": "/x"}, nil, keys{"PATH"}, nil},
		{"classpath", map[string]string{"CLASSPATH": "/x"}, nil, keys{"CLASSPATH"}, nil},
		{"ld prefix", map[string]string{"LD_DEBUG": "1"}, nil, keys{"LD_DEBUG"}, nil},
		{"two blocked", map[string]string{"HTTPS_PROXY": "x", "NODE_TLS_REJECT_UNAUTHORIZED": "0"}, nil, keys{"HTTPS_PROXY", "NODE_TLS_REJECT_UNAUTHORIZED"}, nil},
		{"invalid", map[string]string{"1BAD": "x"}, nil, nil, keys{"1BAD"}},
		{"path and classpath", map[string]string{"PATH": "/x", "CLASSPATH": "/y"}, nil, keys{"CLASSPATH", "PATH"}, nil},
		{"home and invalid", map[string]string{"HOME": "/tmp", "A-B": "x"}, nil, keys{"HOME"}, keys{"A-B"}},
		{"accepted", map[string]string{"FOO": "bar", "TERM": "xterm"}, map[string]string{"FOO": "bar", "TERM": "xterm"}, nil, nil},

		// Further variants.
		{"blocked reported upper-cased", map[string]string{"classpath": "/x"}, nil, keys{"CLASSPATH"}, nil},
		{"duplicates merged", map[string]string{"PATH": "/x", "path": "/y", " Path ": "/z"}, nil, keys{"PATH"}, nil},
		{"duplicate blocked merged", map[string]string{"classpath": "/x", "CLASSPATH": "/y"}, nil, keys{"CLASSPATH"}, nil},
		{"path and invalid", map[string]string{"PATH": "/x", "A.B": "x"}, nil, keys{"PATH"}, keys{"A.B"}},
		{"single blocked plus invalid", map[string]string{"CLASSPATH": "/x", "9": "x"}, nil, keys{"CLASSPATH"}, keys{"9"}},
		{"invalid sorted bytewise, trimmed", map[string]string{" b-c ": "x", "B-C": "y", "a b": "z", "1": "w"}, nil, nil, keys{"1", "B-C", "a b", "b-c"}},
		{"invalid deduplicated after trim", map[string]string{"A-B": "x", " A-B": "y"}, nil, nil, keys{"A-B"}},
		{"empty key invalid", map[string]string{"  ": "x"}, nil, nil, keys{""}},
		{"non-ascii invalid", map[string]string{"ÄRGER": "x"}, nil, nil, keys{"ÄRGER"}},
		{"blocked sorted bytewise", map[string]string{"gh_token": "x", "AWS_ACCESS_KEY_ID": "y", "bash_env": "z"}, nil, keys{"AWS_ACCESS_KEY_ID", "BASH_ENV", "GH_TOKEN"}, nil},
		{"allowedInherited not overridable", map[string]string{"SSH_AUTH_SOCK": "/s"}, nil, keys{"SSH_AUTH_SOCK"}, nil},
		{"override prefix", map[string]string{"GIT_CONFIG_COUNT": "1"}, nil, keys{"GIT_CONFIG_COUNT"}, nil},
		{"override prefixes lower", map[string]string{"npm_config_registry": "r", "tf_var_x": "1", "cargo_registries_a_index": "i"}, nil, keys{"CARGO_REGISTRIES_A_INDEX", "NPM_CONFIG_REGISTRY", "TF_VAR_X"}, nil},
		{"everywhere prefixes", map[string]string{"DYLD_X": "1", "BASH_FUNC_f": "1"}, nil, keys{"BASH_FUNC_F", "DYLD_X"}, nil},
		{"message catalogues", map[string]string{"TEXTDOMAIN": "x", "TEXTDOMAINDIR": "."}, nil, keys{"TEXTDOMAIN", "TEXTDOMAINDIR"}, nil},
		{"perllib", map[string]string{"PERLLIB": "/x"}, nil, keys{"PERLLIB"}, nil},
		{"perllib lower", map[string]string{"perllib": "/x"}, nil, keys{"PERLLIB"}, nil},
		{"server settings", map[string]string{"EXECMCP_AUTH_TOKEN": "x", "execmcp_config": "/c"}, nil, keys{"EXECMCP_AUTH_TOKEN", "EXECMCP_CONFIG"}, nil},
		{"server prefix only as a prefix", map[string]string{"EXECMCP": "1", "MY_EXECMCP_X": "2"},
			map[string]string{"EXECMCP": "1", "MY_EXECMCP_X": "2"}, nil, nil},
		{"trimmed and case kept", map[string]string{" Foo ": "1", "_x9": "2", "LDX": "3", "PATHX": "4"},
			map[string]string{"Foo": "1", "_x9": "2", "LDX": "3", "PATHX": "4"}, nil, nil},
		{"trim collision smallest given key wins", map[string]string{" FOO": "a", "FOO": "b", "FOO ": "c"},
			map[string]string{"FOO": "a"}, nil, nil},
		{"empty map", map[string]string{}, map[string]string{}, nil, nil},
		{"nil map", nil, map[string]string{}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ValidateEnv(tt.env)
			if tt.blocked != nil || tt.invalid != nil {
				var d *Denial
				if !errors.As(err, &d) {
					t.Fatalf("err = %v (%T), want *Denial", err, err)
				}
				want := &Denial{Rule: RuleEnvOverride, Blocked: tt.blocked, Invalid: tt.invalid}
				if !reflect.DeepEqual(d, want) {
					t.Fatalf("denial\n got %#v\nwant %#v", d, want)
				}
				if got != nil {
					t.Fatalf("map = %v, want nil on denial", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got == nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestAssembleEnv(t *testing.T) {
	tests := []struct {
		name    string
		base    []string
		over    map[string]string
		prepend []string
		pty     bool
		want    []string
	}{
		{
			name: "non-pty defaults added sorted",
			base: []string{"HOME=/h", "PATH=/usr/bin:/bin"},
			want: []string{"HOME=/h", "PATH=/usr/bin:/bin", "GIT_PAGER=cat", "GIT_TERMINAL_PROMPT=0", "OPENCLAW_SHELL=exec", "PAGER=cat", "TERM=dumb"},
		},
		{
			name: "non-pty defaults only when absent",
			base: []string{"TERM=xterm", "PAGER=less", "GIT_PAGER=", "GIT_TERMINAL_PROMPT=1", "OPENCLAW_SHELL=other"},
			want: []string{"TERM=xterm", "PAGER=less", "GIT_PAGER=", "GIT_TERMINAL_PROMPT=1", "OPENCLAW_SHELL=exec"},
		},
		{
			name: "overrides replace exact key and add sorted",
			base: []string{"FOO=1", "foo=2", "TERM=xterm"},
			over: map[string]string{"FOO": "x", "ZED": "z", "ALPHA": "a", "TERM": "vt100"},
			want: []string{"FOO=x", "foo=2", "TERM=vt100", "ALPHA=a", "GIT_PAGER=cat", "GIT_TERMINAL_PROMPT=0", "OPENCLAW_SHELL=exec", "PAGER=cat", "ZED=z"},
		},
		{
			name:    "path prepend dedupe keeps first",
			base:    []string{"PATH=/usr/bin:/opt/b:/bin:/usr/bin", "TERM=dumb"},
			prepend: []string{" /opt/a ", "", "/opt/b", "  ", "/opt/a"},
			want:    []string{"PATH=/opt/a:/opt/b:/usr/bin:/bin", "TERM=dumb", "GIT_PAGER=cat", "GIT_TERMINAL_PROMPT=0", "OPENCLAW_SHELL=exec", "PAGER=cat"},
		},
		{
			name:    "path prepend without base path",
			base:    []string{"TERM=dumb", "Path=/x"},
			prepend: []string{"/opt/a", "/opt/b"},
			want:    []string{"TERM=dumb", "Path=/x", "GIT_PAGER=cat", "GIT_TERMINAL_PROMPT=0", "OPENCLAW_SHELL=exec", "PAGER=cat", "PATH=/opt/a:/opt/b"},
		},
		{
			name:    "path prepend with empty base path",
			base:    []string{"PATH=", "TERM=dumb"},
			prepend: []string{"/opt/a"},
			want:    []string{"PATH=/opt/a", "TERM=dumb", "GIT_PAGER=cat", "GIT_TERMINAL_PROMPT=0", "OPENCLAW_SHELL=exec", "PAGER=cat"},
		},
		{
			name:    "path prepend keeps empty element of base once",
			base:    []string{"PATH=/bin::/usr/bin:", "TERM=dumb"},
			prepend: []string{"/opt/a"},
			want:    []string{"PATH=/opt/a:/bin::/usr/bin", "TERM=dumb", "GIT_PAGER=cat", "GIT_TERMINAL_PROMPT=0", "OPENCLAW_SHELL=exec", "PAGER=cat"},
		},
		{
			name:    "no prepend leaves path untouched",
			base:    []string{"PATH=/bin:/bin", "TERM=dumb"},
			prepend: []string{"", " "},
			want:    []string{"PATH=/bin:/bin", "TERM=dumb", "GIT_PAGER=cat", "GIT_TERMINAL_PROMPT=0", "OPENCLAW_SHELL=exec", "PAGER=cat"},
		},
		{
			name: "pty keeps a real TERM and adds no other defaults",
			base: []string{"TERM=screen-256color", "HOME=/h"},
			pty:  true,
			want: []string{"TERM=screen-256color", "HOME=/h", "OPENCLAW_SHELL=exec"},
		},
		{
			name: "pty replaces dumb TERM",
			base: []string{"TERM=dumb"},
			pty:  true,
			want: []string{"TERM=xterm-256color", "OPENCLAW_SHELL=exec"},
		},
		{
			name: "pty replaces empty TERM",
			base: []string{"TERM="},
			pty:  true,
			want: []string{"TERM=xterm-256color", "OPENCLAW_SHELL=exec"},
		},
		{
			name: "pty adds TERM when absent",
			base: []string{"HOME=/h"},
			pty:  true,
			want: []string{"HOME=/h", "OPENCLAW_SHELL=exec", "TERM=xterm-256color"},
		},
		{
			name: "pty TERM from override",
			base: []string{"TERM=dumb"},
			over: map[string]string{"TERM": "xterm-kitty"},
			pty:  true,
			want: []string{"TERM=xterm-kitty", "OPENCLAW_SHELL=exec"},
		},
		{
			name: "duplicate base keys collapse to first position, last value",
			base: []string{"A=1", "B=2", "A=3", "junk", "=x"},
			pty:  true,
			want: []string{"A=3", "B=2", "OPENCLAW_SHELL=exec", "TERM=xterm-256color"},
		},
		{
			name: "empty base",
			want: []string{"GIT_PAGER=cat", "GIT_TERMINAL_PROMPT=0", "OPENCLAW_SHELL=exec", "PAGER=cat", "TERM=dumb"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := slices.Clone(tt.base)
			got := AssembleEnv(tt.base, tt.over, tt.prepend, tt.pty)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("\n got %q\nwant %q", got, tt.want)
			}
			if !reflect.DeepEqual(tt.base, orig) {
				t.Fatal("base modified")
			}
			// Deterministic: same result on every call (map iteration order varies).
			for range 20 {
				if again := AssembleEnv(tt.base, tt.over, tt.prepend, tt.pty); !reflect.DeepEqual(again, got) {
					t.Fatalf("non-deterministic: %q vs %q", again, got)
				}
			}
		})
	}
}

// TestEnvPipeline runs one call through the three steps: inherited variables filtered, an override trimmed
// and accepted, PATH prepended.
// No EXECMCP_* variable reaches a command, whatever the other lists say: an inherited one is dropped even when
// allowedInherited would keep its name, and none can be added as an override.
func TestEnvServerVariablesNeverInherited(t *testing.T) {
	p := mustParseEnvPolicy([]byte(`{"blockedEverywhere": [], "blockedOverrideOnly": ["EXECMCP_AUTH_TOKEN"],
		"allowedInherited": ["EXECMCP_AUTH_TOKEN", "EXECMCP_CONFIG"], "blockedEverywherePrefixes": ["EXECMCP_"],
		"blockedOverridePrefixes": []}`))
	for _, k := range []string{"EXECMCP_AUTH_TOKEN", "EXECMCP_CONFIG", "Execmcp_Listen"} {
		if !p.inheritBlocked(k) {
			t.Errorf("%s inherited", k)
		}
		if !p.overrideBlocked(strings.ToUpper(k)) {
			t.Errorf("%s accepted as an override", k)
		}
	}
	if !slices.Contains(envLists().blockedEverywherePrefixes, "EXECMCP_") {
		t.Fatal("env-policy.json: EXECMCP_ is not a blockedEverywherePrefixes entry")
	}
	environ := []string{"EXECMCP_AUTH_TOKEN=s3cret", "EXECMCP_AUTH_TOKENS_FILE=/etc/t.json", "EXECMCP_CONFIG=/etc/c.json",
		"EXECMCP_LISTEN=0.0.0.0:8080", "execmcp_lower=1", "KEEP=1", "TEXTDOMAIN=x", "TEXTDOMAINDIR=/d", "PERLLIB=/p"}
	got := AssembleEnv(InheritedEnv(environ), nil, nil, false)
	for _, kv := range got {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(strings.ToUpper(k), "EXECMCP_") || k == "TEXTDOMAIN" ||
			k == "TEXTDOMAINDIR" || k == "PERLLIB" {
			t.Errorf("child environment has %s", kv)
		}
	}
	if !slices.Contains(got, "KEEP=1") {
		t.Errorf("child environment %q lacks KEEP=1", got)
	}
}

func TestEnvPipeline(t *testing.T) {
	base := InheritedEnv([]string{"SSLKEYLOGFILE=/tmp/k", "GITHUB_TOKEN=t", "FOO_OK=1", "HOME=/home/me", "PATH=/usr/bin:/bin"})
	over, err := ValidateEnv(map[string]string{" FOO ": "bar"})
	if err != nil {
		t.Fatal(err)
	}
	got := AssembleEnv(base, over, []string{"/opt/a", "/opt/b"}, false)
	want := []string{"FOO_OK=1", "HOME=/home/me", "PATH=/opt/a:/opt/b:/usr/bin:/bin", "FOO=bar", "GIT_PAGER=cat", "GIT_TERMINAL_PROMPT=0", "OPENCLAW_SHELL=exec", "PAGER=cat", "TERM=dumb"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
}
