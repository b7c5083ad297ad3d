module github.com/execmcp/execmcp

go 1.26.8

require (
	github.com/caarlos0/env/v11 v11.4.2
	github.com/creack/pty v1.1.24 // indirect
	github.com/mark3labs/mcp-go v1.2.1 // indirect
	github.com/modelcontextprotocol/go-sdk v1.8.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	mvdan.cc/sh/v3 v3.14.1 // indirect
)
