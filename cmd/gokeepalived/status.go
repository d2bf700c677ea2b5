package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/control"
)

// runStatus is `gokeepalived status`: the running daemon's instances and
// real servers, as a table or, with --json, for scripts.
func runStatus(args []string, stdout, stderr io.Writer) int {
	opts, rest, err := getopt([]option{{0, "json", noArg}, {0, "control-socket", requiredArg}}, args)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("unexpected argument %q", rest[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "gokeepalived status: %v\n", err)
		return exitProgramError
	}
	path, asJSON := control.DefaultSocket, false
	for _, p := range opts {
		switch p.opt.long {
		case "json":
			asJSON = true
		case "control-socket":
			path = p.value
		}
	}
	st, err := control.Query(path)
	if err != nil {
		fmt.Fprintf(stderr, "gokeepalived status: %v\n", err)
		return exitProgramError
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(st)
		return exitOK
	}
	control.WriteTable(stdout, st, time.Now())
	return exitOK
}
