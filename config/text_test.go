package config

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
)

// TestWriteTextRoundTrip writes each shipped sample as text and reads it
// back: the two models must be equal apart from positions.
func TestWriteTextRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("/usr/share/doc/keepalived/samples/keepalived.conf.*")
	more, _ := filepath.Glob("testdata/*.conf")
	files = append(files, more...)
	if len(files) == 0 {
		t.Skip("no configurations to read")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, first, err := Load(f, Options{ConfigID: "main"})
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			if err := cfg.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			again, ds := Parse("written.conf", text.Bytes(), Options{ConfigID: "main"})
			// Errors that stay in the model (a sync group of one, say) are
			// found again; anything else is an error the writing made.
			seen := make(map[string]bool)
			for _, d := range first {
				seen[d.Msg] = true
			}
			for _, d := range ds {
				if d.Severity == Error && !seen[d.Msg] {
					t.Errorf("reading the written text: %s\n%s", d, text.String())
				}
			}
			a, b := withoutPositions(t, cfg), withoutPositions(t, again)
			if !reflect.DeepEqual(a, b) {
				ja, _ := json.MarshalIndent(a, "", " ")
				jb, _ := json.MarshalIndent(b, "", " ")
				t.Errorf("models differ after a round trip\nfirst:  %s\nsecond: %s\ntext:\n%s", ja, jb, text.String())
			}
		})
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
