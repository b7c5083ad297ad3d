package main

// The repository explains itself: docs/reference.md is the manual every comment and document cites, it covers every
// parameter, action and environment variable, and no file depends on material a clone does not have.

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/execmcp/execmcp/schemas"
)

// repoFiles returns the repository's text files (relative, slash-separated), without .git and installed packages.
func repoFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, filepath.ToSlash(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func docText(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// referenceAnchors returns the explicit anchors (<a id="...">) of docs/reference.md.
func referenceAnchors(t *testing.T) map[string]bool {
	t.Helper()
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`<a id="([A-Za-z0-9_-]+)"></a>`).FindAllStringSubmatch(docText(t, "docs/reference.md"), -1) {
		anchors[m[1]] = true
	}
	if len(anchors) == 0 {
		t.Fatal("docs/reference.md has no anchors")
	}
	return anchors
}

func TestDocsCitationsResolve(t *testing.T) {
	files := repoFiles(t)
	names := map[string]bool{}
	for _, f := range files {
		names[filepath.Base(f)] = true
	}
	anchors := referenceAnchors(t)
	// Built from parts so that this file does not match itself.
	outside := regexp.MustCompile(`\.\./` + `shared|shared` + `/spec`)
	section := regexp.MustCompile(`([A-Za-z0-9_.-]+\.md) ?` + `§`)
	citation := regexp.MustCompile(`reference\.md#([A-Za-z0-9_-]+)`)
	for _, f := range files {
		text := docText(t, f)
		if outside.MatchString(text) {
			t.Errorf("%s refers to a specification outside the repository: %q", f, outside.FindString(text))
		}
		for _, m := range section.FindAllStringSubmatch(text, -1) {
			if !names[m[1]] {
				t.Errorf("%s cites %q, which is not a file of the repository", f, m[0])
			}
		}
		for _, m := range citation.FindAllStringSubmatch(text, -1) {
			if !anchors[m[1]] {
				t.Errorf("%s cites %q, which docs/reference.md does not define", f, m[0])
			}
		}
	}
}

func TestDocsNoHistory(t *testing.T) {
	history := regexp.MustCompile(`(?i)\bissue \d+\b|\b(second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(nd|rd|th)) session\b|\bstop \d+\b`)
	for _, f := range repoFiles(t) {
		if !strings.HasSuffix(f, ".go") && !strings.HasSuffix(f, ".md") {
			continue
		}
		for i, line := range strings.Split(docText(t, f), "\n") {
			if m := history.FindString(line); m != "" {
				t.Errorf("%s:%d speaks of project history (%q): say what a reader needs instead", f, i+1, m)
			}
		}
	}
}

// schemaProperties returns the property names of a tool's input schema and the enum of one of them, if named.
func schemaProperties(t *testing.T, raw json.RawMessage, enumOf string) (props, enum []string) {
	t.Helper()
	var s struct {
		Properties map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	for name, p := range s.Properties {
		props = append(props, name)
		if name == enumOf {
			enum = p.Enum
		}
	}
	slices.Sort(props)
	return props, enum
}

func TestReferenceCoversTools(t *testing.T) {
	ref := docText(t, "docs/reference.md")
	mentioned := func(what, name string) {
		if !strings.Contains(ref, "`"+name+"`") {
			t.Errorf("docs/reference.md does not mention %s `%s`", what, name)
		}
	}
	execProps, _ := schemaProperties(t, schemas.ExecInput, "")
	processProps, actions := schemaProperties(t, schemas.ProcessInput, "action")
	if len(execProps) < 9 || len(processProps) < 13 || len(actions) < 10 {
		t.Fatalf("schemas read wrongly: exec %v, process %v, actions %v", execProps, processProps, actions)
	}
	for _, p := range execProps {
		mentioned("exec parameter", p)
	}
	for _, p := range processProps {
		mentioned("process parameter", p)
	}
	for _, a := range actions {
		mentioned("process action", a)
	}
}

// The schemas section of the reference lists every property of both output schemas, list entries included.
func TestReferenceListsOutputProperties(t *testing.T) {
	ref := docText(t, "docs/reference.md")
	start := strings.Index(ref, `<a id="tool-schemas"></a>`)
	end := strings.Index(ref, `<a id="result-envelope"></a>`)
	if start < 0 || end < start {
		t.Fatal("docs/reference.md lacks the tool-schemas section")
	}
	section := ref[start:end]
	for name, raw := range map[string]json.RawMessage{"exec": schemas.ExecOutput, "process": schemas.ProcessOutput} {
		var s struct {
			Properties map[string]struct {
				Items struct {
					Properties map[string]any `json:"properties"`
				} `json:"items"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(raw, &s); err != nil || len(s.Properties) < 10 {
			t.Fatalf("%s output schema read wrongly: %v %v", name, err, s.Properties)
		}
		for p, v := range s.Properties {
			if !strings.Contains(section, "`"+p+"`") {
				t.Errorf("the tool-schemas section does not list %s output property `%s`", name, p)
			}
			for q := range v.Items.Properties {
				if !strings.Contains(section, "`"+q+"`") {
					t.Errorf("the tool-schemas section does not list %s.%s entry property `%s`", name, p, q)
				}
			}
		}
	}
}

func TestReferenceCoversEnvironment(t *testing.T) {
	ref := docText(t, "docs/reference.md")
	names := envNames()
	for _, want := range []string{"PI_BASH_YIELD_MS", "OPENCLAW_BASH_PENDING_MAX_OUTPUT_CHARS", "EXECMCP_CONFIG"} {
		if !slices.Contains(names, want) {
			t.Fatalf("envNames() lacks %s: %v", want, names)
		}
	}
	for _, n := range names {
		if !strings.Contains(ref, "`"+n+"`") {
			t.Errorf("docs/reference.md does not mention environment variable `%s`", n)
		}
	}
}

// TestReferenceEnvRows ties the reference's variable table to envTable: each variable's row names its config key
// and its default as the loader applies them.
func TestReferenceEnvRows(t *testing.T) {
	rows := map[string]string{}
	for _, line := range strings.Split(docText(t, "docs/reference.md"), "\n") {
		if m := regexp.MustCompile("^\\| `([A-Z0-9_]+)` \\|").FindStringSubmatch(line); m != nil {
			rows[m[1]] = line
		}
	}
	for _, v := range envTable(new(envValues)) {
		if !strings.Contains(v.name, "_") {
			continue // SHELL, PATH, HOME: the server's own environment, described in prose
		}
		row, ok := rows[v.name]
		if !ok {
			t.Errorf("docs/reference.md has no table row for %s", v.name)
			continue
		}
		cells := strings.Split(row, "|")
		if len(cells) < 5 {
			t.Errorf("row of %s has %d cells: %s", v.name, len(cells), row)
			continue
		}
		if v.key != "" && !strings.Contains(cells[2], v.key) {
			t.Errorf("row of %s does not name its key %q: %s", v.name, v.key, row)
		}
		if v.def != "" && !strings.Contains(cells[3], v.def) {
			t.Errorf("row of %s does not give its default %q: %s", v.name, v.def, row)
		}
	}
}
