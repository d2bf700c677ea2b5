package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gokeepalived/gokeepalived/config"
)

// TestUmask reads the umask keyword as keepalived's umask_handler does,
// with its messages for what it refuses.
func TestUmask(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int    // -1: no umask set
		err  string // the diagnostic, when refused
	}{
		{"umask 0177", 0o177, ""},
		{"umask 0x3f", 0o77, ""},
		{"umask 18", 0o22, ""},
		{"umask IWGRP|IWOTH", 0o22, ""},
		{"umask IXUSR | IRWXG", -1, "Unknown umask bit IRWXG"},
		{"umask IXUSR | IRGRP|IWGRP IXOTH", -1, "Invalid umask syntax IXOTH"},
		{"umask IXUSR | IRGRP |", -1, "umask missing bit value"},
		{"umask 01000", -1, "invalid umask value 01000"},
		{"umask 0177 0", -1, "Extra parameter(s) to umask option"},
		{"umask 09", -1, "invalid umask value 09"},
	} {
		path := filepath.Join(t.TempDir(), "keepalived.conf")
		conf := "global_defs {\n  " + tc.line + "\n}\n"
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, diags, err := config.Load(path, config.Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.line, err)
		}
		got := -1
		if cfg.Global.Umask != nil {
			got = *cfg.Global.Umask
		}
		if got != tc.want {
			t.Errorf("%s: umask %#o, want %#o", tc.line, got, tc.want)
		}
		var msgs []string
		for _, d := range diags {
			msgs = append(msgs, d.Msg)
		}
		if tc.err != "" && !strings.Contains(strings.Join(msgs, "\n"), tc.err) {
			t.Errorf("%s: diagnostics %q, want %q", tc.line, msgs, tc.err)
		}
		if tc.err == "" && len(msgs) != 0 {
			t.Errorf("%s: unexpected diagnostics %q", tc.line, msgs)
		}
	}
}
