package vm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	if InGuest() {
		t.Skip("already inside the kernel guest")
	}
	Require(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "greeting"), []byte("copied into the guest\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The guest must have the directory, the environment marker, IPVS and
	// the tools, and hand back the command's own exit status.
	const command = `cat greeting && test "$GOKEEPALIVED_GUEST" = 1 && grep -q '^ip_vs ' /proc/modules &&
		ipvsadm -A -t 192.0.2.1:80 -s rr && ipvsadm -Sn && exit 3`
	var console strings.Builder
	code, err := Run(t.Context(), dir, command, &console)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, console.String())
	}
	if code != 3 {
		t.Fatalf("exit status %d, want 3\n%s", code, console.String())
	}
	for _, want := range []string{"copied into the guest", "-A -t 192.0.2.1:80 -s rr"} {
		if !strings.Contains(console.String(), want) {
			t.Errorf("console lacks %q:\n%s", want, console.String())
		}
	}
}

func TestIsStatic(t *testing.T) {
	for _, tt := range []struct {
		path   string
		static bool
	}{
		{"/bin/busybox", true}, // busybox-static
		{"/usr/sbin/ipvsadm", false},
	} {
		if _, err := os.Stat(tt.path); err != nil {
			t.Skipf("%s: %v", tt.path, err)
		}
		if got := isStatic(tt.path); got != tt.static {
			t.Errorf("isStatic(%s) = %v, want %v", tt.path, got, tt.static)
		}
	}
}
