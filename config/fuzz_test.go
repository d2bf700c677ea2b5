package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// noFiles makes every include match nothing, so that fuzzing neither
// reads the machine's files nor depends on them.
type noFiles struct{}

func (noFiles) Glob(string) ([]string, error)   { return nil, nil }
func (noFiles) IsFile(string) bool              { return false }
func (noFiles) Exists(string) bool              { return false }
func (noFiles) ReadFile(string) ([]byte, error) { return nil, os.ErrNotExist }

// FuzzParse checks that no input makes the parser panic, hang or run out
// of memory, that every diagnostic has a position inside the input, and
// that whatever is parsed can be written as text and JSON.
func FuzzParse(f *testing.F) {
	samples, _ := filepath.Glob("/usr/share/doc/keepalived/samples/keepalived.conf.*")
	own, _ := filepath.Glob("testdata/*.conf")
	for _, name := range append(samples, own...) {
		if src, err := os.ReadFile(name); err == nil {
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		lines := bytes.Count(src, []byte("\n")) + 1
		start := time.Now()
		cfg, ds := parse("fuzz.conf", string(src), Options{ConfigID: "main"}, noFiles{}, 1<<14)
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("parsing took %v", d)
		}
		for _, d := range ds {
			if d.Pos.IsZero() {
				continue
			}
			if d.Pos.File != "fuzz.conf" || d.Pos.Line < 1 || d.Pos.Line > lines {
				t.Fatalf("diagnostic outside the input (%d lines): %v", lines, d)
			}
		}
		if err := cfg.WriteText(&bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(cfg); err != nil {
			t.Fatal(err)
		}
	})
}
