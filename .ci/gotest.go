//go:build ignore

// gotest reads `go test -json` on stdin and prints what plain `go test`
// would (package results, and the output of tests that failed), then fails
// if any test was skipped that is not on the allowed list below: CI must not
// lose a test, PostgreSQL's above all, to a skip nobody sees.
//
//	go test -count=1 -json ./... | go run .ci/gotest.go
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// allowed are the skips CI expects, each with why.
var allowed = map[string]string{
	"TestSoak": "opt-in soak run (SLOTBRIDGE_SOAK), minutes long",
	"TestStoreContract/sqlite/OpenWithOneConnection": "about the PostgreSQL pool only",
	"TestRenameWhileTemplateWaits/sqlite":            "about PostgreSQL's row-lock order; SQLite has one writer",
}

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	outputs := map[string][]string{} // package/test -> output lines, until it ends
	var skipped, failed []string
	sawAny := false
	for in.Scan() {
		line := in.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not test2json (a build error, say): show it as it came.
			fmt.Println(string(line))
			continue
		}
		sawAny = true
		key := e.Package + " " + e.Test
		switch e.Action {
		case "build-output":
			fmt.Print(e.Output)
		case "output":
			if e.Test == "" {
				fmt.Print(e.Output) // package lines: ok, FAIL, build errors
				continue
			}
			outputs[key] = append(outputs[key], e.Output)
		case "fail":
			if e.Test != "" {
				failed = append(failed, e.Package+" "+e.Test)
				fmt.Print(strings.Join(outputs[key], ""))
			}
			delete(outputs, key)
		case "skip":
			if e.Test != "" {
				if _, ok := allowed[e.Test]; !ok {
					skipped = append(skipped, e.Package+" "+e.Test)
					fmt.Print(strings.Join(outputs[key], ""))
				}
			}
			delete(outputs, key)
		case "pass":
			delete(outputs, key)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "gotest: reading go test -json:", err)
		os.Exit(2)
	}
	if !sawAny {
		fmt.Fprintln(os.Stderr, "gotest: no test events on stdin")
		os.Exit(2)
	}
	sort.Strings(skipped)
	for _, s := range skipped {
		fmt.Println("gotest: skipped, and not on the allowed list in .ci/gotest.go:", s)
	}
	if len(skipped) > 0 || len(failed) > 0 {
		fmt.Printf("gotest: %d failed, %d skipped unexpectedly\n", len(failed), len(skipped))
		os.Exit(1)
	}
}
