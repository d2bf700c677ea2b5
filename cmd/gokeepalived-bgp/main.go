// Command gokeepalived-bgp is the BGP speaker of gokeepalived, run by the
// daemon as a child process when its configuration has a bgp_speaker
// block. It reads requests from its standard input and answers on its
// standard output, one JSON object a line, and exits when its standard
// input closes.
//
// It is a program of its own so that gokeepalived does not link GoBGP,
// gRPC and protocol buffers: they would cost every daemon process their
// memory, BGP configured or not.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gokeepalived/gokeepalived/internal/bgp/gobgp"
)

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintf(os.Stderr, "usage: %s (run by gokeepalived, speaks on its standard input and output)\n", os.Args[0])
		os.Exit(2)
	}
	// The daemon decides when the speaker stops: it drains the routes
	// first, then closes the standard input. A signal sent to the whole
	// process group or control group, as a terminal's interrupt or
	// systemd's stop, must not cut the drain short.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if err := gobgp.Serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "gokeepalived-bgp: %v\n", err)
		os.Exit(1)
	}
}
