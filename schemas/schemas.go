// Package schemas owns the JSON Schemas of the exec and process tools (docs/reference.md#tool-schemas) as
// embedded files: the tools package registers them raw and derives its parameter tables from them (Params,
// ProcessActions), so each parameter list exists once, in the schema files, pinned by golden tests.
//
// The input schemas list exactly the tools' parameters, in the order of the reference's parameter tables
// (docs/reference.md#exec-parameters, docs/reference.md#process-parameters), with additionalProperties false.
// The output schemas describe the structuredContent of every result (isError ones included); they require status
// and deliberately do not set additionalProperties false. No schema uses a type array, which clients that map
// tool schemas onto a single-type dialect reject: a nullable field is an anyOf of one-type branches.
//
// Concurrency: the exported variables are read-only data initialised at package initialisation and safe for
// concurrent use. They alias the embedded bytes: callers must not modify them (copy first, e.g. with
// bytes.Clone). The functions parse the embedded bytes on every call and return fresh values the caller owns.
//
// The package uses the Go standard library only.
package schemas

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
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
	// ExecInput is the input schema of exec (docs/reference.md#exec-parameters).
	ExecInput = json.RawMessage(execInput)
	// ExecOutput is the output schema of exec (docs/reference.md#tool-schemas).
	ExecOutput = json.RawMessage(execOutput)
	// ProcessInput is the input schema of process (docs/reference.md#process-parameters).
	ProcessInput = json.RawMessage(processInput)
	// ProcessOutput is the output schema of process (docs/reference.md#tool-schemas).
	ProcessOutput = json.RawMessage(processOutput)
)

// Param is one property of an input schema.
type Param struct {
	// Name is the parameter name.
	Name string
	// Type is its JSON Schema type: "string", "number", "integer", "boolean", "object" or "array".
	Type string
	// Enum lists the values the schema allows, in schema order; nil when it lists none.
	Enum []string
}

// Params returns the properties of an input schema (ExecInput or ProcessInput) in file order, which is the
// order of the reference's parameter table. It panics when schema is not an object schema with properties:
// the embedded schemas are, and golden tests pin them.
func Params(schema json.RawMessage) []Param {
	var doc struct {
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(schema, &doc); err != nil {
		panic("schemas: " + err.Error())
	}
	// A map would lose the order, which decides which of several bad parameters is reported first.
	dec := json.NewDecoder(bytes.NewReader(doc.Properties))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		panic(fmt.Sprintf("schemas: properties is not an object (%v)", err))
	}
	var params []Param
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			panic("schemas: " + err.Error())
		}
		var prop struct {
			Type string   `json:"type"`
			Enum []string `json:"enum"`
		}
		if err := dec.Decode(&prop); err != nil {
			panic("schemas: property " + fmt.Sprint(tok) + ": " + err.Error())
		}
		params = append(params, Param{Name: tok.(string), Type: prop.Type, Enum: prop.Enum})
	}
	return params
}

// ProcessActions returns the actions of the process tool (the enum of its action parameter) in schema order.
func ProcessActions() []string {
	for _, p := range Params(ProcessInput) {
		if p.Name == "action" {
			return p.Enum
		}
	}
	panic("schemas: process.input.json has no action parameter")
}
