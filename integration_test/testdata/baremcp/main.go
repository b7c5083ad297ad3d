// Command baremcp is a startup baseline for BenchmarkStartup: an mcp-go stdio server with no tools, built from
// the same module (and so the same mcp-go version) as execmcp. Its time to the initialize response is the floor
// that mcp-go, the library execmcp serves stdio with, puts under execmcp's.
package main

import (
	"context"
	"os"

	"github.com/mark3labs/mcp-go/server"
)

func main() {
	s := server.NewMCPServer("baremcp", "1")
	if err := server.NewStdioServer(s).Listen(context.Background(), os.Stdin, os.Stdout); err != nil {
		os.Exit(1)
	}
}
