// Tests of the bearer tokens: the tokens file, the binding rules, the warnings.

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseTokens(t *testing.T) {
	tests := []struct {
		name, data, shared string
		want               []authToken
		problem            string
	}{
		{name: "two", data: `{"7f3c-0123456789abcdef": "alpha", "b91e-0123456789abcdef": "beta.2_x-y"}`,
			want: []authToken{{"7f3c-0123456789abcdef", "alpha"}, {"b91e-0123456789abcdef", "beta.2_x-y"}}},
		{name: "same agent twice", data: `{"t1": "a", "t2": "a"}`, want: []authToken{{"t1", "a"}, {"t2", "a"}}},
		{name: "shared elsewhere", data: `{"t1": "a"}`, shared: "s", want: []authToken{{"t1", "a"}}},
		{name: "syntax", data: `{"t1": "a",}`, problem: "invalid JSON: invalid character '}' looking for beginning of object key string"},
		{name: "trailing data", data: `{"t1": "a"} {}`, problem: "invalid JSON: invalid character '{' after top-level value"},
		{name: "array", data: `["t1"]`, problem: "expected an object mapping tokens to agent ids, got array"},
		{name: "null", data: `null`, problem: "expected an object mapping tokens to agent ids, got null"},
		{name: "empty object", data: `{}`, problem: "no tokens"},
		{name: "empty token", data: `{"t1": "a", "": "b"}`, problem: "entry 2: empty token"},
		{name: "whitespace", data: `{"t 1": "a"}`, problem: "entry 1: token contains whitespace"},
		{name: "tab", data: `{"t\t1": "a"}`, problem: "entry 1: token contains whitespace"},
		{name: "duplicate", data: `{"t1": "a", "t1": "b"}`, problem: "entry 2: duplicate token"},
		{name: "also shared", data: `{"t1": "a", "s3cret": "b"}`, shared: "s3cret", problem: "entry 2: token is also EXECMCP_AUTH_TOKEN"},
		{name: "number id", data: `{"t1": 5}`, problem: "entry 1: agent id: expected a string, got number"},
		{name: "object id", data: `{"t1": {"x": 1}}`, problem: "entry 1: agent id: expected a string, got object"},
		{name: "null id", data: `{"t1": null}`, problem: "entry 1: agent id: expected a string, got null"},
		{name: "empty id", data: `{"t1": ""}`, problem: `entry 1: agent id "" does not match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`},
		{name: "id starts with dot", data: `{"t1": ".a"}`, problem: `entry 1: agent id ".a" does not match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`},
		{name: "id with colon", data: `{"t1": "a:b"}`, problem: `entry 1: agent id "a:b" does not match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`},
		{name: "id too long", data: `{"t1": "` + strings.Repeat("a", 65) + `"}`,
			problem: `entry 1: agent id "` + strings.Repeat("a", 65) + `" does not match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`},
		{name: "id 64 chars", data: `{"t1": "` + strings.Repeat("a", 64) + `"}`, want: []authToken{{"t1", strings.Repeat("a", 64)}}},
	}
	for _, tt := range tests {
		got, err := parseTokens([]byte(tt.data), tt.shared)
		problem := ""
		if err != nil {
			problem = err.Error()
		}
		if (err != nil) != (tt.problem != "") || problem != tt.problem || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v %q, want %v %q", tt.name, got, problem, tt.want, tt.problem)
		}
		if strings.Contains(problem, "t1") || strings.Contains(problem, "s3cret") {
			t.Errorf("%s: the problem shows a token: %q", tt.name, problem)
		}
	}
}

const refusing = "refusing to listen on %s without authentication: set EXECMCP_AUTH_TOKEN or EXECMCP_AUTH_TOKENS_FILE"

func TestListenAuthRules(t *testing.T) {
	wd := t.TempDir()
	tokens := filepath.Join(wd, "tokens.json")
	if err := os.WriteFile(tokens, []byte(`{"tokA-0123456789abcdef": "alpha"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		listen  string
		environ []string
		problem string
	}{
		{listen: "127.0.0.1:0"},
		{listen: "localhost:8765"},
		{listen: "[::1]:8765"},
		{listen: "127.9.9.9:1"},
		{listen: "0.0.0.0:8765", problem: fmt.Sprintf(refusing, "0.0.0.0:8765")},
		{listen: ":8765", problem: fmt.Sprintf(refusing, ":8765")},
		{listen: "[::]:8765", problem: fmt.Sprintf(refusing, "[::]:8765")},
		{listen: "192.168.1.5:8765", problem: fmt.Sprintf(refusing, "192.168.1.5:8765")},
		{listen: "myhost:8765", problem: fmt.Sprintf(refusing, "myhost:8765")},
		{listen: "0.0.0.0:8765", environ: []string{"EXECMCP_AUTH_TOKEN=s3cret-token-0001"}},
		{listen: "0.0.0.0:8765", environ: []string{"EXECMCP_AUTH_TOKENS_FILE=tokens.json"}},
		{listen: "localhost", problem: `invalid value for --listen: "localhost" is not a host:port address`},
		{listen: "127.0.0.1:1", environ: []string{"EXECMCP_AUTH_TOKEN=has space"},
			problem: "EXECMCP_AUTH_TOKEN must not contain whitespace"},
		{listen: "127.0.0.1:1", environ: []string{"EXECMCP_AUTH_TOKENS_FILE=missing.json"},
			problem: "tokens file missing.json: no such file or directory"},
		// A bad tokens file is its own problem, not an unauthenticated listener.
		{listen: "0.0.0.0:1", environ: []string{"EXECMCP_AUTH_TOKENS_FILE=missing.json"},
			problem: "tokens file missing.json: no such file or directory"},
	}
	for _, tt := range tests {
		_, problems, _ := load(t, tt.listen, "", tt.environ, wd)
		if tt.problem == "" && problems != nil || tt.problem != "" && !slices.Equal(problems, []string{tt.problem}) {
			t.Errorf("listen %q %q: problems %q, want %q", tt.listen, tt.environ, problems, tt.problem)
		}
	}
	// EXECMCP_LISTEN is named as such.
	_, problems, _ := load(t, "", "", []string{"EXECMCP_LISTEN=nope"}, wd)
	if !slices.Equal(problems, []string{`invalid value for EXECMCP_LISTEN: "nope" is not a host:port address`}) {
		t.Errorf("EXECMCP_LISTEN: %q", problems)
	}
	// Both sources: the shared token maps to no agent; the file's tokens to their agents. The relative file
	// is found in the server's cwd.
	cfg, problems, stderr := load(t, "127.0.0.1:0", "", []string{"EXECMCP_AUTH_TOKEN=s3cret-token-0001", "EXECMCP_AUTH_TOKENS_FILE=tokens.json"}, wd)
	want := []authToken{{"s3cret-token-0001", ""}, {"tokA-0123456789abcdef", "alpha"}}
	if problems != nil || !reflect.DeepEqual(cfg.Tokens, want) || stderr != "" {
		t.Errorf("both: %v %q %q", cfg.Tokens, problems, stderr)
	}
	// stdio mode never reads the tokens file.
	if _, problems, _ := load(t, "", "", []string{"EXECMCP_AUTH_TOKENS_FILE=missing.json"}, wd); problems != nil {
		t.Errorf("stdio with a missing tokens file: %q", problems)
	}
	// Through realMain: exit 1, one line on stderr, nothing on stdout.
	code, stdout, stderrOut := runMain(t, []string{"--listen", "0.0.0.0:0"}, nil)
	if code != 1 || stdout != "" || stderrOut != "execmcp: "+fmt.Sprintf(refusing, "0.0.0.0:0")+"\n" {
		t.Errorf("realMain: %d %q %q", code, stdout, stderrOut)
	}
}

func TestTokenWarnings(t *testing.T) {
	wd := t.TempDir()
	if err := os.WriteFile(filepath.Join(wd, "open.json"), []byte(`{"short": "alpha", "long-enough-0123456789": "beta"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(wd, "open.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, problems, stderr := load(t, "127.0.0.1:0", "", []string{"EXECMCP_AUTH_TOKEN=tiny", "EXECMCP_AUTH_TOKENS_FILE=open.json"}, wd)
	if problems != nil {
		t.Fatal(problems)
	}
	for _, want := range []string{
		`level=WARN msg="auth token shorter than 16 chars" source=EXECMCP_AUTH_TOKEN`,
		`level=WARN msg="tokens file is accessible by group or others" file=open.json mode=0644`,
		`level=WARN msg="auth token shorter than 16 chars" source=open.json agent=alpha`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "agent=beta") || strings.Contains(stderr, "tiny") || strings.Contains(stderr, "short ") {
		t.Errorf("stderr shows too much:\n%s", stderr)
	}
}
