package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/safefile"
)

// configTest checks the configuration without touching the system and
// exits as keepalived -t does: 0 when the daemon would run it as written,
// exitConfigTest when it has errors. Every message goes out as
// "file:line: message". The file is read once: the same reading tells
// which network namespace the test belongs in and, when that is this one,
// what the test reports. A large configuration takes most of -t's time
// and memory in reading it.
func configTest(s *settings, prog string, stderr io.Writer) int {
	cfg, diags, err := config.Load(s.configFile, config.Options{ConfigID: s.configID, CheckSystem: true})
	if code, done := configTestIn(s, placeFrom(s, cfg, diags, err), prog, stderr); done {
		return code
	}
	out := stderr
	if s.configTestLog != "" {
		// keepalived writes it with fopen_safe(name, "w").
		f, err := safefile.Create(s.configTestLog, safefile.Mode(s.umask))
		if err != nil {
			fmt.Fprintf(stderr, "gokeepalived: opening config test log: %v\n", err)
			return exitProgramError
		}
		defer f.Close()
		out = f
	}
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
