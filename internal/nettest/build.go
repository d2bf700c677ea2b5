package nettest

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildGokeepalived builds the daemon into the test's temporary
// directory and returns its path; the go command's cache makes a second
// build in the same run quick.
func BuildGokeepalived(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gokeepalived")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/gokeepalived/gokeepalived/cmd/gokeepalived").CombinedOutput()
	if err != nil {
		t.Fatalf("building gokeepalived: %v\n%s", err, out)
	}
	return bin
}

// BuildSpeaker builds gokeepalived-bgp, the BGP speaker the daemon runs
// as a child, into a temporary directory and returns its path.
func BuildSpeaker(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gokeepalived-bgp")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/gokeepalived/gokeepalived/cmd/gokeepalived-bgp").CombinedOutput()
	if err != nil {
		t.Fatalf("building gokeepalived-bgp: %v\n%s", err, out)
	}
	return bin
}
