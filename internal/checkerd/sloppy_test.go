package checkerd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSloppySysctls follows the two files through a start, reloads and
// the release: on writes 1, off after on puts back what was there, a
// setting never turned on is not written, and restore puts back both.
func TestSloppySysctls(t *testing.T) {
	dir := t.TempDir()
	read := func() string {
		var vs []string
		for _, f := range []string{"sloppy_tcp", "sloppy_sctp"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			vs = append(vs, strings.TrimSpace(string(b)))
		}
		return strings.Join(vs, " ")
	}
	os.WriteFile(filepath.Join(dir, "sloppy_tcp"), []byte("0\n"), 0o644)
	// The operator's own setting, which no keyword turns on.
	os.WriteFile(filepath.Join(dir, "sloppy_sctp"), []byte("1\n"), 0o644)
	s := newSloppySysctls(dir)
	for _, step := range []struct {
		tcp, sctp bool
		want      string
	}{
		{false, false, "0 1"},
		{true, false, "1 1"},
		{true, true, "1 1"},
		{false, true, "0 1"},
		{true, true, "1 1"},
	} {
		if err := s.apply(step.tcp, step.sctp); err != nil {
			t.Fatal(err)
		}
		if got := read(); got != step.want {
			t.Fatalf("tcp %v sctp %v: %q, want %q", step.tcp, step.sctp, got, step.want)
		}
	}
	if err := s.restore(); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "0 1" {
		t.Errorf("after restore %q, want the values found, \"0 1\"", got)
	}

	// Without IPVS's files, the error names the file.
	err := newSloppySysctls(filepath.Join(dir, "none")).apply(true, false)
	if err == nil || !strings.Contains(err.Error(), "none/sloppy_tcp") {
		t.Errorf("error %v, want one naming the file", err)
	}
}
