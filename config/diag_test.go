package config

import (
	"encoding/json"
	"testing"
)

func TestDiagnostic(t *testing.T) {
	tests := []struct {
		d    Diagnostic
		want string
	}{
		{Diagnostic{Pos: Pos{"/etc/keepalived/keepalived.conf", 12}, Severity: Error, Msg: "Unknown keyword 'x'"},
			"/etc/keepalived/keepalived.conf:12: Unknown keyword 'x'"},
		{Diagnostic{Severity: Warning, Msg: "no position"}, "no position"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}

	ds := Diagnostics{{Severity: Warning, Msg: "w"}}
	if ds.HasErrors() || len(ds.Errors()) != 0 {
		t.Errorf("warnings only: HasErrors %v, Errors %v", ds.HasErrors(), ds.Errors())
	}
	ds = append(ds, Diagnostic{Pos: Pos{"a.conf", 3}, Severity: Error, Msg: "e"})
	if !ds.HasErrors() || len(ds.Errors()) != 1 || ds.Errors()[0].Msg != "e" {
		t.Errorf("with an error: HasErrors %v, Errors %v", ds.HasErrors(), ds.Errors())
	}
	b, err := json.Marshal(ds[1])
	if err != nil || string(b) != `{"pos":{"file":"a.conf","line":3},"severity":"error","msg":"e"}` {
		t.Errorf("JSON: %s %v", b, err)
	}
}
