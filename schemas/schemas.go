// Package schemas holds the JSON Schemas of the exec and process tools
// (exec.md §2, process.md §2, mcp.md §11) as embedded files, registered raw by
// the tools package and compared byte for byte by golden tests.
//
// The input schemas list exactly the tools' parameters, in the order of the
// specification's parameter tables, with additionalProperties false and no
// type arrays. The output schemas describe the structuredContent of every
// result (isError ones included); they require status and deliberately do not
// set additionalProperties false.
//
// Concurrency: the exported variables are read-only data initialised at
// package initialisation and safe for concurrent use. They alias the embedded
// bytes: callers must not modify them (copy first, e.g. with bytes.Clone).
//
// The package uses the Go standard library only.
package schemas

import (
	_ "embed"
	"encoding/json"
)

var (
	//go:embed exec.input.json
	execInput []byte
	//go:embed exec.output.json
	execOutput []byte
	//go:embed process.input.json
	processInput []byte
	//go:embed process.output.json
	processOutput []byte
)

// The tool schemas. Read-only: they must not be mutated.
var (
	// ExecInput is the input schema of exec (exec.md §2).
	ExecInput = json.RawMessage(execInput)
	// ExecOutput is the output schema of exec (mcp.md §11).
	ExecOutput = json.RawMessage(execOutput)
	// ProcessInput is the input schema of process (process.md §2).
	ProcessInput = json.RawMessage(processInput)
	// ProcessOutput is the output schema of process (mcp.md §11).
	ProcessOutput = json.RawMessage(processOutput)
)
