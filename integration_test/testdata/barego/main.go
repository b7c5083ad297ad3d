// Command barego is a startup baseline for BenchmarkStartup: a Go program that answers the first line on stdin
// with a fixed JSON-RPC result and exits at EOF. Its time is the floor of starting any Go program here.
package main

import (
	"bufio"
	"io"
	"os"
)

func main() {
	r := bufio.NewReader(os.Stdin)
	if _, err := r.ReadString('\n'); err != nil {
		os.Exit(1)
	}
	os.Stdout.WriteString(`{"jsonrpc":"2.0","id":1,"result":{}}` + "\n")
	io.Copy(io.Discard, r)
}
