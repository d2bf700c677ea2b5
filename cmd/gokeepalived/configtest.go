package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/gokeepalived/gokeepalived/config"
)

// configTest checks the configuration without touching the system and
// exits as keepalived -t does: 0 when the daemon would run it as written,
// exitConfigTest when it has errors. Every message goes out as
// "file:line: message".
func configTest(s *settings, stderr io.Writer) int {
	out := stderr
	if s.configTestLog != "" {
		f, err := os.OpenFile(s.configTestLog, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "gokeepalived: opening config test log: %v\n", err)
			return exitProgramError
		}
		defer f.Close()
		out = f
	}
	_, diags, err := config.Load(s.configFile, config.Options{ConfigID: s.configID, CheckSystem: true})
	if err != nil {
		fmt.Fprintf(out, "%v\n", err)
		return exitConfig
	}
	for _, d := range diags {
		fmt.Fprintln(out, d.String())
	}
	if diags.HasErrors() {
		return exitConfigTest
	}
	return exitOK
}

// dumpConfig prints the parsed configuration with every default filled in.
func dumpConfig(s *settings, stdout, stderr io.Writer) int {
	cfg, diags, err := config.Load(s.configFile, config.Options{ConfigID: s.configID})
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return exitConfig
	}
	for _, d := range diags {
		fmt.Fprintln(stderr, d.String())
	}
	if s.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(cfg); err != nil {
			fmt.Fprintf(stderr, "gokeepalived: %v\n", err)
			return exitProgramError
		}
	} else if err := cfg.WriteText(stdout); err != nil {
		fmt.Fprintf(stderr, "gokeepalived: %v\n", err)
		return exitProgramError
	}
	if diags.HasErrors() {
		return exitConfig
	}
	return exitOK
}
