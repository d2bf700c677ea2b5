// Command gokeepalived is a keepalived-compatible high-availability daemon
// for Linux load-balancer directors.
package main

import (
	"fmt"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fmt.Fprintln(os.Stderr, "gokeepalived: not yet runnable")
	return 1
}
