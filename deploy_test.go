package main

import (
	"os"
	"strings"
	"testing"
)

// docs/deploy.md quotes the deployment files that CI checks, each whole in one code block, so that what a reader
// copies is what was checked.
func TestDeployGuideQuotesFiles(t *testing.T) {
	guide := docText(t, "docs/deploy.md")
	for _, f := range []struct{ path, lang string }{
		{"deploy/systemd/execmcp.service", "ini"},
		{"deploy/container/Containerfile", "dockerfile"},
		{"deploy/kubernetes/execmcp.yaml", "yaml"},
	} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(guide, "```"+f.lang+"\n"+string(b)+"```\n") {
			t.Errorf("docs/deploy.md does not quote %s exactly in a ```%s block", f.path, f.lang)
		}
	}
}
