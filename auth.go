// This file owns the bearer tokens of the HTTP mode (docs/reference.md#http-auth): the listen-address and
// binding rules checked at startup, the shared token, the tokens file and its agent ids.

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// minTokenChars is the token length below which a warning is logged.
const minTokenChars = 16

// agentIDPattern is the syntax of an agent id in the tokens file. It is compiled on first use: the bounded
// repetition makes it a costly one (≈ 0.25 ms and 860 allocations at package initialisation, measured with
// GODEBUG=inittrace=1), which every start paid while only a server with a tokens file needs it.
var agentIDPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
})

// authToken is one accepted bearer token; agent is its agent id ("" for the shared token).
type authToken struct {
	token, agent string
}

// resolveHTTP checks the listen address and resolves the tokens. A listener on a host that is not loopback
// needs a token. The tokens file is read only in HTTP mode.
func (l *loader) resolveHTTP(cfg *config, listenName string) {
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		l.invalid(listenName, cfg.Listen, "a host:port address")
		return
	}
	if cfg.AuthToken != "" {
		if strings.IndexFunc(cfg.AuthToken, unicode.IsSpace) >= 0 {
			l.fail("%s must not contain whitespace", envAuthToken) // the value is a secret: never printed
		} else {
			if utf8.RuneCountInString(cfg.AuthToken) < minTokenChars {
				l.logger.Warn("auth token shorter than 16 chars", "source", envAuthToken)
			}
			cfg.Tokens = append(cfg.Tokens, authToken{token: cfg.AuthToken})
		}
	}
	if cfg.AuthTokensFile != "" {
		tokens, err := l.readTokensFile(cfg.AuthTokensFile, cfg.AuthToken)
		if err != nil {
			l.fail("tokens file %s: %v", cfg.AuthTokensFile, err)
		}
		cfg.Tokens = append(cfg.Tokens, tokens...)
	}
	if !isLoopbackHost(host) && cfg.AuthToken == "" && cfg.AuthTokensFile == "" {
		l.fail("refusing to listen on %s without authentication: set %s or %s", cfg.Listen, envAuthToken, envAuthTokensFile)
	}
}

// readTokensFile reads the tokens file p (relative to the server's cwd) and returns its tokens. It warns when
// the file's mode allows group or other access and for tokens shorter than 16 chars.
func (l *loader) readTokensFile(p, shared string) ([]authToken, error) {
	data, err := l.readFile(p)
	if err != nil {
		return nil, err
	}
	tokens, err := parseTokens(data, shared)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(l.serverPath(p)); err == nil && fi.Mode().Perm()&0o077 != 0 {
		l.logger.Warn("tokens file is accessible by group or others", "file", p, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
	for _, tk := range tokens {
		if utf8.RuneCountInString(tk.token) < minTokenChars {
			l.logger.Warn("auth token shorter than 16 chars", "source", p, "agent", tk.agent)
		}
	}
	return tokens, nil
}

// parseTokens decodes a tokens file: a JSON object mapping token -> agent id, checked in file order. Errors
// name entries by their 1-based position and never contain a token.
func parseTokens(data []byte, shared string) ([]authToken, error) {
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	first, _ := dec.Token()
	if d, ok := first.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("expected an object mapping tokens to agent ids, got %s", gotText(first))
	}
	var tokens []authToken
	seen := map[string]bool{}
	for n := 1; dec.More(); n++ {
		keyTok, _ := dec.Token()
		token, _ := keyTok.(string)
		valTok, _ := dec.Token()
		agent, isString := valTok.(string)
		switch {
		case token == "":
			return nil, fmt.Errorf("entry %d: empty token", n)
		case strings.IndexFunc(token, unicode.IsSpace) >= 0:
			return nil, fmt.Errorf("entry %d: token contains whitespace", n)
		case seen[token]:
			return nil, fmt.Errorf("entry %d: duplicate token", n)
		case shared != "" && token == shared:
			return nil, fmt.Errorf("entry %d: token is also %s", n, envAuthToken)
		case !isString:
			return nil, fmt.Errorf("entry %d: agent id: expected a string, got %s", n, gotText(valTok))
		case !agentIDPattern().MatchString(agent):
			return nil, fmt.Errorf("entry %d: agent id %q does not match %s", n, agent, agentIDPattern().String())
		}
		seen[token] = true
		tokens = append(tokens, authToken{token: token, agent: agent})
	}
	if len(tokens) == 0 {
		return nil, errors.New("no tokens")
	}
	return tokens, nil
}
