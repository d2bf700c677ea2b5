package e2e

import (
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestGuestLeftoversAfterKill kills gokeepalived with SIGKILL, which leaves
// its table in the kernel, takes a real server down while it is dead, and
// starts it again on the same configuration: the restart must take the
// table over and remove what is no longer true, the dead server's entry,
// without a flush (the live entries stay), and its SIGTERM must then leave
// the table empty.
func TestGuestLeftoversAfterKill(t *testing.T) {
	requireGuest(t)
	l := newLab(t, gokeepalived)
	const conf = "testdata/01-nat-tcp-check.conf"
	const gone = "-a -t 192.0.2.1:80 -r 192.168.200.2:8080 -m -w 1"
	d := startWith(t, l, gokeepalived, conf, "-C")
	before := converge(t, d)[0]
	if !slices.Contains(before, gone) {
		t.Fatalf("table before the kill lacks %q:\n  %s", gone, strings.Join(before, "\n  "))
	}
	d.signal(t, syscall.SIGKILL)
	<-d.done
	if left := l.saved(t); !slices.Equal(left, before) {
		t.Fatalf("table after SIGKILL:\n  %s\nwant it as it was:\n  %s", strings.Join(left, "\n  "), strings.Join(before, "\n  "))
	}

	l.servers["192.168.200.2:8080"]()
	d = startWith(t, l, gokeepalived, conf, "-C")
	want := slices.DeleteFunc(slices.Clone(before), func(s string) bool { return s == gone })
	// connect_timeout 1, retry 0: one failed check after the first.
	took := waitTables(t, "leftover of the dead real server removed", 2*delayLoop+margin,
		func(_ *daemon, cur []string) bool { return slices.Equal(cur, want) }, d)
	t.Logf("restart on the killed run's table: dead real server removed in %v", took[0])
	// Taking over is not flushing: the service and the live server are
	// never deleted or added again. (Every start adds the server nothing
	// listens on, as up until its first check, and then removes it.)
	removed := false
	for line := range strings.Lines(d.log.String()) {
		if !strings.Contains(line, "IPVS change") {
			continue
		}
		switch {
		case strings.Contains(line, "delete-destination -t 192.0.2.1:80 -r 192.168.200.2:8080"):
			removed = true
		case strings.Contains(line, "-service") || strings.Contains(line, "192.168.200.1:8080") ||
			strings.Contains(line, "192.168.200.2:8080"):
			t.Errorf("the restart touched an entry that was still true: %s", strings.TrimSpace(line))
		}
	}
	if !removed {
		t.Errorf("no delete-destination of the dead server in the log:\n%s", d.log)
	}
	stop(t, d)
}
