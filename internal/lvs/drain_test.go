package lvs

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDrain follows a drained real server through the table: weight 0 at
// once, still at 0 when its checks come up again, out once its
// connections are gone, kept drained across a reload that keeps it,
// forgotten by one that removes it, and back at its weight on undrain.
func TestDrain(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, reloadBefore, Options{})
	h.run()
	const (
		a2 = "-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 1"
		a3 = "-a -t 192.0.2.1:80 -r 10.0.0.3:80 -m -w 1"
		a6 = "-a -t 192.0.2.1:80 -r 10.0.0.6:80 -m -w 1"
		v1 = "-A -t 192.0.2.1:80 -s rr"
		v2 = "-A -t 192.0.2.2:80 -s rr"
		a5 = "-a -t 192.0.2.2:80 -r 10.0.0.5:80 -m -w 1"
	)
	h.wantTable("start", v1, a2, a3, a6, v2, a5)

	if err := h.l.Drain(ctx, "192.0.2.1:80", "10.0.0.3:80", time.Minute); err != nil {
		t.Fatal(err)
	}
	h.wantTable("drained", v1, a2, strings.Replace(a3, "-w 1", "-w 0", 1), a6, v2, a5)
	// The checks run on: a verdict changes the health, not the drain.
	h.send("[10.0.0.3]:tcp:80", false, 1, "down")
	h.wantTable("drained and down", v1, a2, a6, v2, a5)
	h.send("[10.0.0.3]:tcp:80", true, 1, "up")
	h.wantTable("drained and up again", v1, a2, strings.Replace(a3, "-w 1", "-w 0", 1), a6, v2, a5)

	ds := h.l.Drains()
	if len(ds) != 1 || ds[0].RealServer != "[10.0.0.3]:tcp:80" || ds[0].VirtualServer != "[192.0.2.1]:tcp:80" ||
		ds[0].Removed || ds[0].Deadline.Sub(ds[0].Since) != time.Minute || len(ds[0].Dests) != 1 || ds[0].Dests[0].String() != "10.0.0.3:80" {
		t.Fatalf("Drains() = %+v", ds)
	}
	if !h.l.DrainDone(ctx, ds[0].VirtualServer, ds[0].RealServer) {
		t.Fatal("DrainDone of a draining server reported false")
	}
	h.wantTable("removed", v1, a2, a6, v2, a5)
	if rs := h.l.Status()[0].RealServers[1]; rs.Name != "[10.0.0.3]:tcp:80" || rs.InPool || !rs.Alive {
		t.Errorf("status of the removed server: %+v", rs)
	}
	if h.l.DrainDone(ctx, ds[0].VirtualServer, ds[0].RealServer) {
		t.Error("DrainDone of a removed server reported true")
	}

	// A reload that keeps the server keeps its drain.
	h.l.Reload(ctx, parse(t, reloadAfter))
	h.settle()
	if ds := h.l.Drains(); len(ds) != 1 || !ds[0].Removed {
		t.Fatalf("after a reload keeping it, Drains() = %+v", ds)
	}
	if err := h.l.Undrain(ctx, "[192.0.2.1]:tcp:80", "[10.0.0.3]:tcp:80"); err != nil {
		t.Fatal(err)
	}
	if ds := h.l.Drains(); len(ds) != 0 {
		t.Fatalf("after undrain, Drains() = %+v", ds)
	}
	if err := h.l.Undrain(ctx, "192.0.2.1:80", "10.0.0.3:80"); err == nil {
		t.Error("undrain of a server not drained succeeded")
	}

	// A reload that removes the server forgets its drain.
	if err := h.l.Drain(ctx, "192.0.2.1:80/tcp", "10.0.0.4:80", 0); err != nil {
		t.Fatal(err)
	}
	h.l.Reload(ctx, parse(t, reloadBefore))
	h.settle()
	if ds := h.l.Drains(); len(ds) != 0 {
		t.Fatalf("after a reload removing it, Drains() = %+v", ds)
	}

	for _, tc := range []struct{ vs, rs, err string }{
		{"192.0.2.9:80", "10.0.0.3:80", "no virtual server 192.0.2.9:80"},
		{"192.0.2.1:80/udp", "10.0.0.3:80", "no virtual server 192.0.2.1:80/udp"},
		{"192.0.2.1:80", "10.0.0.9:80", "virtual server [192.0.2.1]:tcp:80 has no real server 10.0.0.9:80"},
	} {
		if err := h.l.Drain(ctx, tc.vs, tc.rs, 0); err == nil || err.Error() != tc.err {
			t.Errorf("Drain(%s, %s) = %v, want %q", tc.vs, tc.rs, err, tc.err)
		}
	}
}

// TestDrainForms names virtual servers by firewall mark and by their
// names in the status, and drains a real server of a firewall mark.
func TestDrainForms(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, `
virtual_server fwmark 7 {
	lb_kind DR
	lb_algo rr
	real_server 10.0.0.2 {
	}
	real_server 10.0.0.3 {
	}
}
virtual_server 192.0.2.1 53 {
	protocol UDP
	lb_kind NAT
	lb_algo rr
	real_server 10.0.0.5 53 {
	}
}
`, Options{})
	h.run()
	h.wantTable("start", "-A -f 7 -s rr", "-a -f 7 -r 10.0.0.2:0 -g -w 1", "-a -f 7 -r 10.0.0.3:0 -g -w 1",
		"-A -u 192.0.2.1:53 -s rr", "-a -u 192.0.2.1:53 -r 10.0.0.5:53 -m -w 1")
	if err := h.l.Drain(ctx, "fwmark:7", "10.0.0.3", 0); err != nil {
		t.Fatal(err)
	}
	if err := h.l.Drain(ctx, "192.0.2.1:53/udp", "[10.0.0.5]:udp:53", 0); err != nil {
		t.Fatal(err)
	}
	h.wantTable("drained", "-A -f 7 -s rr", "-a -f 7 -r 10.0.0.2:0 -g -w 1", "-a -f 7 -r 10.0.0.3:0 -g -w 0",
		"-A -u 192.0.2.1:53 -s rr", "-a -u 192.0.2.1:53 -r 10.0.0.5:53 -m -w 0")
	ds := h.l.Drains()
	if len(ds) != 2 || ds[0].VirtualServer != "FWM 7" || ds[0].Dests[0].String() != "10.0.0.3:0" {
		t.Fatalf("Drains() = %+v", ds)
	}
	if err := h.l.Undrain(ctx, "FWM 7", "[10.0.0.3]:none:0"); err != nil {
		t.Fatal(err)
	}
	if err := h.l.Drain(ctx, "192.0.2.1:53", "10.0.0.5:53", 0); err == nil {
		t.Error("a UDP virtual server matched the TCP default")
	}
}
