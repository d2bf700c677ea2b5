package main

import (
	"io"

	"github.com/gokeepalived/gokeepalived/internal/safefile"
)

// The files keepalived writes on signals, under keepalived 2.2's names:
// tools such as keepalived-exporter read them.
const (
	dataFile      = "/tmp/keepalived.data"       // SIGUSR1, VRRP
	checkDataFile = "/tmp/keepalived_check.data" // SIGUSR1, checkers
	bfdDataFile   = "/tmp/keepalived_bfd.data"   // SIGUSR1, BFD
	statsFile     = "/tmp/keepalived.stats"      // SIGUSR2 and STATS_CLEAR
	jsonFile      = "/tmp/keepalived.json"       // the JSON signal
)

// writeFile replaces name with what write produces as keepalived's
// fopen_safe(name, "w") does: a new file of mode 0666 less umask renamed
// over the name, so that a symlink or another user's file planted there
// is replaced, never written through.
func writeFile(name string, umask int, write func(io.Writer) error) error {
	return safefile.WriteFile(name, safefile.Mode(umask), write)
}
