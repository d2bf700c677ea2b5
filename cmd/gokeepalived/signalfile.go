package main

import (
	"io"
	"os"
)

// The files keepalived writes on signals, under keepalived 2.2's names:
// tools such as keepalived-exporter read them.
const (
	dataFile      = "/tmp/keepalived.data"       // SIGUSR1, VRRP
	checkDataFile = "/tmp/keepalived_check.data" // SIGUSR1, checkers
	statsFile     = "/tmp/keepalived.stats"      // SIGUSR2 and STATS_CLEAR
	jsonFile      = "/tmp/keepalived.json"       // the JSON signal
)

// writeFile replaces name with what write produces.
func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
