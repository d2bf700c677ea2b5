package checkers

import (
	"io"
	"strings"
	"testing"
)

func TestLineKind(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Mon Nov 23 19:13:53 2026: Check on service [198.18.1.7]:tcp:8012 failed after 1 retries.",
			"Check on service [#.#.#.#]:tcp:# failed after # retries."},
		{"time=\"2026-11-23T19:13:53Z\" level=info msg=\"Activating healthchecker for service [198.18.0.1]:tcp:10000\"",
			`time="#-#-#T#:#:#Z" level=info msg="Activating healthchecker for service [#.#.#.#]:tcp:#"`},
		{"Starting Healthcheck child process, pid=12", "Starting Healthcheck child process, pid=#"},
	} {
		if got := lineKind([]byte(tt.in)); got != tt.want {
			t.Errorf("lineKind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDaemonLog(t *testing.T) {
	l := newDaemonLog(16)
	// Lines arrive in pieces that split them anywhere.
	in := "Mon Nov 23 19:13:53 2026: up 1\nMon Nov 23 19:13:54 2026: up 2\nMon Nov 23 19:13:54 2026: down 3\n"
	for len(in) > 0 {
		n := min(7, len(in))
		if _, err := io.WriteString(l, in[:n]); err != nil {
			t.Fatal(err)
		}
		in = in[n:]
	}
	if got, want := l.Digest(5), "       2  up #\n       1  down #\n"; got != want {
		t.Errorf("Digest = %q, want %q", got, want)
	}
	if got := l.String(); len(got) != 16 || !strings.HasSuffix(got, "down 3\n") {
		t.Errorf("String = %q, want the last 16 bytes", got)
	}
}
