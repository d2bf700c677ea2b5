package config

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
)

// TestWriteTextRoundTrip writes each accepted configuration (shipped
// samples and testdata) as text and reads it back: the two models must be
// equal apart from positions, and the text must read without diagnostics.
func TestWriteTextRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("/usr/share/doc/keepalived/samples/keepalived.conf.*")
	more, _ := filepath.Glob("testdata/*.conf")
	ran := 0
	for _, f := range append(files, more...) {
		cfg, first, err := Load(f, Options{ConfigID: "main"})
		if err != nil {
			t.Fatal(err)
		}
		if first.HasErrors() {
			continue // refused, so nothing to write
		}
		ran++
		t.Run(filepath.Base(f), func(t *testing.T) {
			var text bytes.Buffer
			if err := cfg.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			again, ds := Parse("written.conf", text.Bytes(), Options{ConfigID: "main"})
			for _, d := range ds.Keepalived() {
				t.Errorf("reading the written text: %s\n%s", d, text.String())
			}
			a, b := withoutPositions(t, cfg), withoutPositions(t, again)
			if !reflect.DeepEqual(a, b) {
				ja, _ := json.MarshalIndent(a, "", " ")
				jb, _ := json.MarshalIndent(b, "", " ")
				t.Errorf("models differ after a round trip\nfirst:  %s\nsecond: %s\ntext:\n%s", ja, jb, text.String())
			}
		})
	}
	if ran < 3 {
		t.Fatalf("only %d accepted configurations to write", ran)
	}
}

// withoutPositions returns the JSON form of cfg without its "pos" fields,
// which differ between a file and the text written from it.
func withoutPositions(t *testing.T, cfg *Config) any {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var strip func(any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			delete(v, "pos")
			for _, e := range v {
				strip(e)
			}
		case []any:
			for _, e := range v {
				strip(e)
			}
		}
	}
	strip(v)
	return v
}

// equalJSON compares two values by their JSON form, which leaves out the
// bookkeeping the parser keeps in unexported fields.
func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}
