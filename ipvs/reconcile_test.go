package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func web(weights ...int) Service {
	s := Service{Addr: netip.MustParseAddrPort("192.0.2.1:80"), Protocol: TCP, Scheduler: "wrr"}
	for i, w := range weights {
		s.Destinations = append(s.Destinations, Destination{
			Addr:   netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 80),
			Method: NAT, Weight: w,
		})
	}
	return s
}

func dns() Service {
	return Service{
		Addr: netip.MustParseAddrPort("[2001:db8::53]:53"), Protocol: UDP, Scheduler: "rr",
		Destinations: []Destination{{Addr: netip.MustParseAddrPort("[2001:db8::a]:53"), Method: DirectRoute, Weight: 1}},
	}
}

func mark() Service {
	return Service{
		FWMark: 7, Scheduler: "sh", Flags: FlagPersistent | FlagSHPort, Timeout: 300 * time.Second,
		Netmask:      net.CIDRMask(24, 32),
		Destinations: []Destination{{Addr: netip.MustParseAddrPort("10.0.1.1:0"), Method: Tunnel, Weight: 2, UpperThreshold: 100, LowerThreshold: 50}},
	}
}

func with(s Service, f func(*Service)) Service {
	s.Destinations = slices.Clone(s.Destinations)
	f(&s)
	return s
}

func TestReconcile(t *testing.T) {
	handMade := Service{Addr: netip.MustParseAddrPort("198.51.100.9:443"), Protocol: TCP, Scheduler: "lc",
		Destinations: []Destination{{Addr: netip.MustParseAddrPort("10.9.9.9:443"), Weight: 1}}}
	foreignDest := Destination{Addr: netip.MustParseAddrPort("10.0.0.99:80"), Method: DirectRoute, Weight: 5}

	tests := []struct {
		name    string
		adopt   bool
		foreign []Service              // made by hand before the reconciler starts
		before  []Service              // reconciled first; its ops are not checked
		tamper  func(f *fakeKernel)    // someone editing the table by hand
		desired []Service              // the pass under test
		ops     []string               // its ops
		table   string                 // the kernel table afterwards
		err     string                 // a substring of the error, if one is expected
		owns    func(*Reconciler) bool // extra ownership check
	}{
		{
			name:    "add from empty",
			desired: []Service{web(1, 2)},
			ops: []string{
				"add-service -t 192.0.2.1:80 -s wrr",
				"add-destination -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1",
				"add-destination -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2",
			},
			table: "-A -t 192.0.2.1:80 -s wrr\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1\n-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2",
		},
		{
			name:    "every service form",
			desired: []Service{dns(), mark()},
			ops: []string{
				"add-service -u [2001:db8::53]:53 -s rr",
				"add-destination -u [2001:db8::53]:53 -r [2001:db8::a]:53 -g -w 1",
				"add-service -f 7 -s sh -p 300 flags 0x10",
				"add-destination -f 7 -r 10.0.1.1:0 -i -w 2 -x 100 -y 50",
			},
			table: "-A -f 7 -s sh -p 300 flags 0x10 -M ffffff00\n-A -u [2001:db8::53]:53 -s rr\n" +
				"-a -f 7 -r 10.0.1.1:0 -i -w 2 -x 100 -y 50\n-a -u [2001:db8::53]:53 -r [2001:db8::a]:53 -g -w 1",
		},
		{
			name:    "no change is no op",
			before:  []Service{web(1, 2), dns(), mark()},
			desired: []Service{web(1, 2), dns(), mark()},
			ops:     nil,
		},
		{
			name:   "explicit default netmask is no change",
			before: []Service{with(web(1), func(s *Service) { s.Flags = FlagPersistent; s.Timeout = 60 * time.Second })},
			desired: []Service{with(web(1), func(s *Service) {
				s.Flags = FlagPersistent
				s.Timeout = 60 * time.Second
				s.Netmask = net.CIDRMask(32, 32)
			})},
			ops: nil,
		},
		{
			name:    "weight change is one update",
			before:  []Service{web(1, 2, 3)},
			desired: []Service{web(1, 5, 3)},
			ops:     []string{"update-destination -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 5"},
		},
		{
			name:    "method and thresholds change in place",
			before:  []Service{web(1)},
			desired: []Service{with(web(1), func(s *Service) { s.Destinations[0].Method = DirectRoute; s.Destinations[0].UpperThreshold = 9 })},
			ops:     []string{"update-destination -t 192.0.2.1:80 -r 10.0.0.1:80 -g -w 1 -x 9 -y 0"},
		},
		{
			name:    "scheduler change updates the service only",
			before:  []Service{web(1, 2)},
			desired: []Service{with(web(1, 2), func(s *Service) { s.Scheduler = "lc" })},
			ops:     []string{"update-service -t 192.0.2.1:80 -s lc"},
		},
		{
			name:    "persistence change updates the service",
			before:  []Service{mark()},
			desired: []Service{with(mark(), func(s *Service) { s.Netmask = nil; s.Timeout = 60 * time.Second })},
			ops:     []string{"update-service -f 7 -s sh -p 60 flags 0x10"},
		},
		{
			name:    "removed destination is deleted",
			before:  []Service{web(1, 2)},
			desired: []Service{web(1)},
			ops:     []string{"delete-destination -t 192.0.2.1:80 -r 10.0.0.2:80"},
		},
		{
			name:    "removed service is one delete",
			before:  []Service{web(1, 2), dns()},
			desired: []Service{dns()},
			ops:     []string{"delete-service -t 192.0.2.1:80"},
		},
		{
			name:    "port change replaces the service",
			before:  []Service{web(1)},
			desired: []Service{with(web(1), func(s *Service) { s.Addr = netip.MustParseAddrPort("192.0.2.1:8080") })},
			ops: []string{
				"add-service -t 192.0.2.1:8080 -s wrr",
				"add-destination -t 192.0.2.1:8080 -r 10.0.0.1:80 -m -w 1",
				"delete-service -t 192.0.2.1:80",
			},
		},
		{
			name:    "flushed table is restored",
			before:  []Service{web(1, 2)},
			tamper:  func(f *fakeKernel) { f.services = nil },
			desired: []Service{web(1, 2)},
			ops: []string{
				"add-service -t 192.0.2.1:80 -s wrr",
				"add-destination -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1",
				"add-destination -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2",
			},
		},
		{
			name:    "destination deleted by hand is restored",
			before:  []Service{web(1, 2)},
			tamper:  func(f *fakeKernel) { f.services[0].Destinations = f.services[0].Destinations[:1] },
			desired: []Service{web(1, 2)},
			ops:     []string{"add-destination -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2"},
		},
		{
			name:    "weight edited by hand is restored",
			before:  []Service{web(1, 2)},
			tamper:  func(f *fakeKernel) { f.services[0].Destinations[1].Weight = 0 },
			desired: []Service{web(1, 2)},
			ops:     []string{"update-destination -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2"},
		},
		{
			name:    "scheduler edited by hand is restored",
			before:  []Service{web(1)},
			tamper:  func(f *fakeKernel) { f.services[0].Scheduler = "rr" },
			desired: []Service{web(1)},
			ops:     []string{"update-service -t 192.0.2.1:80 -s wrr"},
		},
		{
			name:    "hand-made service survives",
			foreign: []Service{handMade},
			before:  []Service{web(1)},
			desired: nil,
			ops:     []string{"delete-service -t 192.0.2.1:80"},
			table:   "-A -t 198.51.100.9:443 -s lc\n-a -t 198.51.100.9:443 -r 10.9.9.9:443 -m -w 1",
		},
		{
			name:    "hand-made service is not even read",
			foreign: []Service{handMade},
			before:  []Service{web(1)},
			tamper:  func(f *fakeKernel) { f.fail = map[string]error{"read -t 198.51.100.9:443": syscall.EIO} },
			desired: []Service{web(2)},
			ops:     []string{"update-destination -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 2"},
		},
		{
			name:    "a failed destination read leaves that service alone",
			before:  []Service{web(1, 2), dns()},
			tamper:  func(f *fakeKernel) { f.fail = map[string]error{"read -t 192.0.2.1:80": syscall.EIO} },
			desired: []Service{web(1)},
			ops:     []string{"delete-service -u [2001:db8::53]:53"},
			err:     "reading IPVS table: input/output error",
			table:   "-A -t 192.0.2.1:80 -s wrr\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1\n-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2",
		},
		{
			name:    "hand-made service with a desired key is left alone",
			foreign: []Service{web(1)},
			desired: []Service{web(4)},
			ops:     nil,
			err:     "leaving service -t 192.0.2.1:80 alone: it exists and is not owned",
			table:   "-A -t 192.0.2.1:80 -s wrr\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1",
			owns:    func(r *Reconciler) bool { return !r.Owns(web()) },
		},
		{
			name:    "hand-made service with a desired key is adopted when asked",
			adopt:   true,
			foreign: []Service{with(web(1), func(s *Service) { s.Scheduler = "rr" })},
			desired: []Service{web(4, 2)},
			ops: []string{
				"update-service -t 192.0.2.1:80 -s wrr",
				"update-destination -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 4",
				"add-destination -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2",
			},
			owns: func(r *Reconciler) bool { return r.Owns(web(4, 2), web(4, 2).Destinations...) },
		},
		{
			name:   "hand-made destination in an owned service survives",
			before: []Service{web(1, 2)},
			tamper: func(f *fakeKernel) {
				f.services[0].Destinations = append(f.services[0].Destinations, foreignDest)
			},
			desired: []Service{web(1)},
			ops:     []string{"delete-destination -t 192.0.2.1:80 -r 10.0.0.2:80"},
			table:   "-A -t 192.0.2.1:80 -s wrr\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1\n-a -t 192.0.2.1:80 -r 10.0.0.99:80 -g -w 5",
		},
		{
			name:   "owned service holding a hand-made destination loses only its own",
			before: []Service{web(1, 2)},
			tamper: func(f *fakeKernel) {
				f.services[0].Destinations = append(f.services[0].Destinations, foreignDest)
			},
			desired: nil,
			ops: []string{
				"delete-destination -t 192.0.2.1:80 -r 10.0.0.1:80",
				"delete-destination -t 192.0.2.1:80 -r 10.0.0.2:80",
			},
			table: "-A -t 192.0.2.1:80 -s wrr\n-a -t 192.0.2.1:80 -r 10.0.0.99:80 -g -w 5",
			owns:  func(r *Reconciler) bool { return !r.Owns(web()) },
		},
		{
			name:   "hand-made destination with a desired address is left alone",
			before: []Service{web(1)},
			tamper: func(f *fakeKernel) {
				f.services[0].Destinations = append(f.services[0].Destinations, web(1, 7).Destinations[1])
			},
			desired: []Service{web(1, 2)},
			ops:     nil,
			err:     "leaving destination 10.0.0.2:80 of service -t 192.0.2.1:80 alone: it exists and is not owned",
		},
		{
			name:    "a failed change does not stop the others",
			desired: []Service{web(1, 2, 3)},
			tamper: func(f *fakeKernel) {
				f.fail = map[string]error{"add-destination -t 192.0.2.1:80 -r 10.0.0.2:80": syscall.EINVAL}
			},
			ops: []string{
				"add-service -t 192.0.2.1:80 -s wrr",
				"add-destination -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1",
				"add-destination -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2",
				"add-destination -t 192.0.2.1:80 -r 10.0.0.3:80 -m -w 3",
			},
			err:  "adding destination 10.0.0.2:80 to service -t 192.0.2.1:80: invalid argument",
			owns: func(r *Reconciler) bool { return !r.Owns(web(), web(1, 2).Destinations[1]) },
		},
		{
			name:    "a failed service add skips its destinations",
			desired: []Service{web(1), dns()},
			tamper:  func(f *fakeKernel) { f.fail = map[string]error{"add-service -t": syscall.ENOENT} },
			ops: []string{
				"add-service -t 192.0.2.1:80 -s wrr",
				"add-service -u [2001:db8::53]:53 -s rr",
				"add-destination -u [2001:db8::53]:53 -r [2001:db8::a]:53 -g -w 1",
			},
			err: "adding service -t 192.0.2.1:80: no such file or directory",
		},
		{
			name:    "a failed read changes nothing",
			before:  []Service{web(1)},
			tamper:  func(f *fakeKernel) { f.fail = map[string]error{"read": syscall.EPERM} },
			desired: nil,
			ops:     nil,
			err:     "reading IPVS table: operation not permitted",
		},
		{
			name:    "a service listed twice is refused",
			desired: []Service{web(1), web(2)},
			err:     "service -t 192.0.2.1:80 listed twice",
		},
		{
			name:    "a destination listed twice is refused",
			desired: []Service{with(web(1, 2), func(s *Service) { s.Destinations[1].Addr = s.Destinations[0].Addr })},
			err:     "destination 10.0.0.1:80 listed twice",
		},
		{
			name:    "tunnel options need the tunnel method",
			desired: []Service{with(web(1), func(s *Service) { s.Destinations[0].TunnelType = GRE })},
			err:     "destination 10.0.0.1:80: tunnel options without the tunnel method",
		},
		{
			name:    "a GUE tunnel needs a port",
			desired: []Service{with(web(1), func(s *Service) { s.Destinations[0].Method = Tunnel; s.Destinations[0].TunnelType = GUE })},
			err:     "destination 10.0.0.1:80: GUE tunnel without a port",
		},
		{
			name:    "an IPv4-mapped address is refused",
			desired: []Service{with(web(1), func(s *Service) { s.Addr = netip.MustParseAddrPort("[::ffff:192.0.2.1]:80") })},
			err:     "address must be plain IPv4 or IPv6",
		},
		{
			name:    "a destination of the other family is refused",
			desired: []Service{with(dns(), func(s *Service) { s.Destinations[0].Addr = netip.MustParseAddrPort("10.0.0.1:53") })},
			err:     "destination 10.0.0.1:53 is not IPv6",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			k := &fakeKernel{}
			for _, s := range tt.foreign {
				if err := k.NewService(s); err != nil {
					t.Fatal(err)
				}
				k.services[len(k.services)-1].Destinations = slices.Clone(s.Destinations)
			}
			r := NewReconciler(k, ReconcilerConfig{Adopt: tt.adopt})
			if _, err := r.Reconcile(ctx, tt.before); err != nil {
				t.Fatalf("first pass: %v", err)
			}
			if tt.tamper != nil {
				tt.tamper(k)
			}
			before := r.Stats()

			ops, err := r.Reconcile(ctx, tt.desired)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("Reconcile: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("Reconcile error = %v, want one containing %q", err, tt.err)
			}
			if strings.Contains(tt.err, "not owned") && !errors.Is(err, ErrNotOwned) {
				t.Errorf("error %v is not ErrNotOwned", err)
			}
			var got []string
			for _, op := range ops {
				got = append(got, op.String())
			}
			if !slices.Equal(got, tt.ops) {
				t.Errorf("ops:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.ops, "\n"))
			}
			if d := r.Stats().Ops - before.Ops; d != uint64(len(tt.ops)) {
				t.Errorf("Stats().Ops grew by %d, want %d", d, len(tt.ops))
			}
			if tt.table != "" {
				if got := k.dump(); got != tt.table {
					t.Errorf("table:\n%s\nwant:\n%s", got, tt.table)
				}
			}
			if tt.owns != nil && !tt.owns(r) {
				t.Error("ownership check failed")
			}
			if err == nil {
				// A converged table needs no further change.
				again, err := r.Reconcile(ctx, tt.desired)
				if err != nil || len(again) != 0 {
					t.Errorf("second pass: ops %v, err %v; want none", again, err)
				}
			}
		})
	}
}

func TestReconcileRetriesFailedChange(t *testing.T) {
	ctx := context.Background()
	k := &fakeKernel{fail: map[string]error{"add-destination": syscall.EBUSY}}
	r := NewReconciler(k, ReconcilerConfig{})
	if _, err := r.Reconcile(ctx, []Service{web(1)}); !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("first pass error = %v, want EBUSY", err)
	}
	k.fail = nil
	ops, err := r.Reconcile(ctx, []Service{web(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 1 || ops[0].Kind != AddDestination {
		t.Fatalf("second pass ops = %v, want the one add-destination", ops)
	}
	// Reads: the services twice, the destinations of the one that existed
	// at the second pass once.
	if s := r.Stats(); s.Passes != 2 || s.Reads != 3 || s.Ops != 3 || s.Errors != 1 {
		t.Errorf("Stats() = %+v, want 2 passes, 3 reads, 3 ops, 1 error", s)
	}
}

func TestReconcileCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k := &fakeKernel{}
	ops, err := NewReconciler(k, ReconcilerConfig{}).Reconcile(ctx, []Service{web(1)})
	if !errors.Is(err, context.Canceled) || len(ops) != 0 || len(k.calls) != 0 {
		t.Fatalf("Reconcile on a cancelled context: ops %v, calls %v, err %v", ops, k.calls, err)
	}
}

func TestShutdown(t *testing.T) {
	handMade := Service{Addr: netip.MustParseAddrPort("198.51.100.9:443"), Protocol: TCP, Scheduler: "lc"}
	daemon := SyncDaemon{State: SyncMaster, Interface: "eth0", SyncID: 51}
	for _, tt := range []struct {
		name  string
		cfg   ReconcilerConfig
		fail  map[string]error
		ops   []string
		table string
		err   string
	}{
		{
			name: "removes what it owns",
			ops: []string{
				"delete-service -t 192.0.2.1:80",
				"delete-service -f 7",
				"stop-sync-daemon master eth0 syncid 51",
			},
			table: "-A -t 198.51.100.9:443 -s lc",
		},
		{
			name: "keeps the table when told to",
			cfg:  ReconcilerConfig{KeepOnShutdown: true},
			ops:  []string{"stop-sync-daemon master eth0 syncid 51"},
			table: "-A -f 7 -s sh -p 300 flags 0x10 -M ffffff00\n-A -t 192.0.2.1:80 -s wrr\n-A -t 198.51.100.9:443 -s lc\n" +
				"-a -f 7 -r 10.0.1.1:0 -i -w 2 -x 100 -y 50\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1",
		},
		{
			name:  "flushes everything when told to",
			cfg:   ReconcilerConfig{FlushOnShutdown: true},
			ops:   []string{"flush", "stop-sync-daemon master eth0 syncid 51"},
			table: "",
		},
		{
			name: "stops the sync daemon even when the table cannot be read",
			fail: map[string]error{"read": syscall.EIO},
			ops:  []string{"stop-sync-daemon master eth0 syncid 51"},
			table: "-A -f 7 -s sh -p 300 flags 0x10 -M ffffff00\n-A -t 192.0.2.1:80 -s wrr\n-A -t 198.51.100.9:443 -s lc\n" +
				"-a -f 7 -r 10.0.1.1:0 -i -w 2 -x 100 -y 50\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1",
			err: "reading IPVS table: input/output error",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			k := &fakeKernel{}
			if err := k.NewService(handMade); err != nil {
				t.Fatal(err)
			}
			r := NewReconciler(k, tt.cfg)
			if _, err := r.Reconcile(ctx, []Service{web(1), mark()}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.StartSyncDaemon(ctx, daemon); err != nil {
				t.Fatal(err)
			}
			k.fail = tt.fail
			ops, err := r.Shutdown(ctx)
			if (err == nil) != (tt.err == "") || err != nil && err.Error() != tt.err {
				t.Fatalf("Shutdown error = %v, want %q", err, tt.err)
			}
			var got []string
			for _, op := range ops {
				got = append(got, op.String())
			}
			if !slices.Equal(got, tt.ops) {
				t.Errorf("ops:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.ops, "\n"))
			}
			if got := k.dump(); got != tt.table {
				t.Errorf("table:\n%s\nwant:\n%s", got, tt.table)
			}
			if len(k.daemons) != 0 {
				t.Errorf("sync daemons left running: %v", k.daemons)
			}
			if r.Owns(web()) || r.Owns(mark()) {
				t.Error("reconciler still owns services after Shutdown")
			}
		})
	}
}

func TestFlush(t *testing.T) {
	ctx := context.Background()
	k := &fakeKernel{}
	r := NewReconciler(k, ReconcilerConfig{})
	if _, err := r.Reconcile(ctx, []Service{web(1)}); err != nil {
		t.Fatal(err)
	}
	if op, err := r.Flush(ctx); err != nil || op.String() != "flush" {
		t.Fatalf("Flush = %v, %v", op, err)
	}
	if r.Owns(web()) || len(k.services) != 0 {
		t.Fatal("table or ownership survived Flush")
	}
	// Nothing is owned, so nothing is restored or deleted.
	if ops, err := r.Shutdown(ctx); err != nil || len(ops) != 0 {
		t.Fatalf("Shutdown after Flush: ops %v, err %v", ops, err)
	}
}

func TestTimeoutsRestoredAtShutdown(t *testing.T) {
	ctx := context.Background()
	orig := Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}
	k := &fakeKernel{timeouts: orig}
	r := NewReconciler(k, ReconcilerConfig{KeepOnShutdown: true})

	first := Timeouts{TCP: 7200 * time.Second, TCPFin: 60 * time.Second, UDP: 120 * time.Second}
	op, err := r.SetTimeouts(ctx, first)
	if err != nil || op.String() != "set-timeouts 7200 60 120" || k.timeouts != first {
		t.Fatalf("SetTimeouts = %v, %v; kernel has %+v", op, err, k.timeouts)
	}
	// A second change must not make the first one the value to restore.
	if _, err := r.SetTimeouts(ctx, Timeouts{UDP: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	k.fail = map[string]error{"set-timeouts 1 ": syscall.EINVAL}
	if _, err := r.SetTimeouts(ctx, Timeouts{TCP: time.Second}); err == nil || err.Error() != "setting IPVS timeouts: invalid argument" {
		t.Fatalf("SetTimeouts error = %v", err)
	}
	k.fail = nil

	ops, err := r.Shutdown(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := opStrings(ops); !slices.Equal(got, []string{"set-timeouts 900 120 300"}) {
		t.Errorf("Shutdown ops = %q, want the original timeouts restored", got)
	}
	if k.timeouts != orig {
		t.Errorf("kernel timeouts after Shutdown = %+v, want %+v", k.timeouts, orig)
	}
	if s := r.Stats(); s.Reads != 1 || s.Ops != 4 || s.Errors != 1 {
		t.Errorf("Stats() = %+v, want 1 read, 4 ops, 1 error", s)
	}

	k.fail = map[string]error{"read timeouts": syscall.EPERM}
	if _, err := NewReconciler(k, ReconcilerConfig{}).SetTimeouts(ctx, first); err == nil || k.timeouts != orig {
		t.Errorf("SetTimeouts without the old timeouts: err %v, kernel has %+v", err, k.timeouts)
	}
}

func TestNetmaskBits(t *testing.T) {
	// The kernel takes an IPv4 netmask in network order inside a
	// native-order attribute.
	be := func(b ...byte) uint32 { return binary.NativeEndian.Uint32(b) }
	for _, tt := range []struct {
		s    Service
		bits uint32
	}{
		{Service{Addr: netip.MustParseAddrPort("192.0.2.1:80")}, 0xffffffff},
		{Service{Addr: netip.MustParseAddrPort("192.0.2.1:80"), Netmask: net.CIDRMask(24, 32)}, be(255, 255, 255, 0)},
		{Service{Addr: netip.MustParseAddrPort("192.0.2.1:80"), Netmask: net.IPv4Mask(255, 255, 0, 0)}, be(255, 255, 0, 0)},
		{Service{Addr: netip.MustParseAddrPort("192.0.2.1:80"), Netmask: net.CIDRMask(120, 128)}, be(255, 255, 255, 0)},
		{Service{FWMark: 1, Netmask: net.CIDRMask(16, 32)}, be(255, 255, 0, 0)},
		{Service{Addr: netip.MustParseAddrPort("[2001:db8::1]:80")}, 128},
		{Service{Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Netmask: net.CIDRMask(64, 128)}, 64},
		{Service{FWMark: 1, Family: IPv6, Netmask: net.CIDRMask(48, 128)}, 48},
	} {
		if got := tt.s.netmaskBits(); got != tt.bits {
			t.Errorf("%v netmask %v: bits %#x, want %#x", tt.s, tt.s.Netmask, got, tt.bits)
		}
		back := tt.s
		back.Netmask = netmaskFromBits(tt.s.family(), tt.bits)
		if got := back.netmaskBits(); got != tt.bits {
			t.Errorf("%v: netmask bits %#x read back as %v, which is %#x", tt.s, tt.bits, back.Netmask, got)
		}
	}
}

func TestReconcileServices(t *testing.T) {
	handMade := Service{Addr: netip.MustParseAddrPort("198.51.100.9:443"), Protocol: TCP, Scheduler: "lc",
		Destinations: []Destination{{Addr: netip.MustParseAddrPort("10.9.9.9:443"), Weight: 1}}}
	foreignDest := Destination{Addr: netip.MustParseAddrPort("10.0.0.99:80"), Method: DirectRoute, Weight: 5}

	tests := []struct {
		name    string
		adopt   bool
		foreign []Service              // made by hand before the reconciler starts
		before  []Service              // fully reconciled first
		tamper  func(f *fakeKernel)    // someone editing the table by hand
		desired []Service              // the whole desired table
		keys    []Service              // the services named in the pass under test
		ops     []string               // its ops
		table   string                 // the kernel table afterwards
		err     string                 // a substring of the error, if one is expected
		owns    func(*Reconciler) bool // extra ownership check
		full    []string               // the ops of a full pass that follows
	}{
		{
			name:    "weight change is one update",
			before:  []Service{web(1, 2, 3), dns()},
			desired: []Service{web(1, 5, 3), dns()},
			keys:    []Service{web()},
			ops:     []string{"update-destination -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 5"},
		},
		{
			name:    "added destination",
			before:  []Service{web(1, 2), dns()},
			desired: []Service{web(1, 2, 3), dns()},
			keys:    []Service{web()},
			ops:     []string{"add-destination -t 192.0.2.1:80 -r 10.0.0.3:80 -m -w 3"},
			owns:    func(r *Reconciler) bool { return r.Owns(web(), web(1, 2, 3).Destinations...) },
		},
		{
			name:    "removed destination",
			before:  []Service{web(1, 2), dns()},
			desired: []Service{web(1), dns()},
			keys:    []Service{web()},
			ops:     []string{"delete-destination -t 192.0.2.1:80 -r 10.0.0.2:80"},
			owns:    func(r *Reconciler) bool { return !r.Owns(web(), web(1, 2).Destinations[1]) },
		},
		{
			name:    "new service is added and owned",
			before:  []Service{dns()},
			desired: []Service{dns(), web(1)},
			keys:    []Service{web()},
			ops: []string{
				"add-service -t 192.0.2.1:80 -s wrr",
				"add-destination -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1",
			},
			owns: func(r *Reconciler) bool { return r.Owns(web(1), web(1).Destinations...) },
		},
		{
			name:    "dropped owned service is deleted",
			before:  []Service{web(1, 2), dns()},
			desired: []Service{dns()},
			keys:    []Service{web()},
			ops:     []string{"delete-service -t 192.0.2.1:80"},
			table:   "-A -u [2001:db8::53]:53 -s rr\n-a -u [2001:db8::53]:53 -r [2001:db8::a]:53 -g -w 1",
			owns:    func(r *Reconciler) bool { return !r.Owns(web()) },
		},
		{
			name:    "dropped service deleted by hand is forgotten",
			before:  []Service{web(1), dns()},
			tamper:  func(f *fakeKernel) { f.services = f.services[1:] },
			desired: []Service{dns()},
			keys:    []Service{web()},
			ops:     nil,
			owns:    func(r *Reconciler) bool { return !r.Owns(web()) && r.Owns(dns()) },
		},
		{
			name:    "dropped hand-made service is left alone",
			foreign: []Service{handMade},
			before:  []Service{web(1)},
			desired: []Service{web(1)},
			keys:    []Service{handMade},
			ops:     nil,
			table:   "-A -t 192.0.2.1:80 -s wrr\n-A -t 198.51.100.9:443 -s lc\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1\n-a -t 198.51.100.9:443 -r 10.9.9.9:443 -m -w 1",
		},
		{
			name:   "dropped owned service keeps a hand-made destination",
			before: []Service{web(1, 2)},
			tamper: func(f *fakeKernel) {
				f.services[0].Destinations = append(f.services[0].Destinations, foreignDest)
			},
			desired: nil,
			keys:    []Service{web()},
			ops: []string{
				"delete-destination -t 192.0.2.1:80 -r 10.0.0.1:80",
				"delete-destination -t 192.0.2.1:80 -r 10.0.0.2:80",
			},
			table: "-A -t 192.0.2.1:80 -s wrr\n-a -t 192.0.2.1:80 -r 10.0.0.99:80 -g -w 5",
			owns:  func(r *Reconciler) bool { return !r.Owns(web()) },
		},
		{
			name:   "unnamed services are not read",
			before: []Service{web(1), dns()},
			tamper: func(f *fakeKernel) {
				f.fail = map[string]error{"read -u [2001:db8::53]:53": syscall.EIO, "lookup -u [2001:db8::53]:53": syscall.EIO}
			},
			desired: []Service{web(2), dns()},
			keys:    []Service{web()},
			ops:     []string{"update-destination -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 2"},
		},
		{
			name:    "an unnamed change waits for a full pass",
			before:  []Service{web(1), dns()},
			desired: []Service{web(1), with(dns(), func(s *Service) { s.Destinations[0].Weight = 5 })},
			keys:    []Service{web()},
			ops:     nil,
			full:    []string{"update-destination -u [2001:db8::53]:53 -r [2001:db8::a]:53 -g -w 5"},
		},
		{
			name:    "service deleted by hand is restored",
			before:  []Service{web(1, 2)},
			tamper:  func(f *fakeKernel) { f.services = nil },
			desired: []Service{web(1, 2)},
			keys:    []Service{web()},
			ops: []string{
				"add-service -t 192.0.2.1:80 -s wrr",
				"add-destination -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1",
				"add-destination -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2",
			},
		},
		{
			name:    "hand-made service with a named key is left alone",
			foreign: []Service{web(1)},
			desired: []Service{web(4)},
			keys:    []Service{web()},
			ops:     nil,
			err:     "leaving service -t 192.0.2.1:80 alone: it exists and is not owned",
			table:   "-A -t 192.0.2.1:80 -s wrr\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1",
			owns:    func(r *Reconciler) bool { return !r.Owns(web()) },
		},
		{
			name:    "hand-made service with a named key is adopted when asked",
			adopt:   true,
			foreign: []Service{with(web(1), func(s *Service) { s.Scheduler = "rr" })},
			desired: []Service{web(4, 2)},
			keys:    []Service{web()},
			ops: []string{
				"update-service -t 192.0.2.1:80 -s wrr",
				"update-destination -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 4",
				"add-destination -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 2",
			},
			owns: func(r *Reconciler) bool { return r.Owns(web(4, 2), web(4, 2).Destinations...) },
		},
		{
			name:    "several keys in their order, each once",
			before:  []Service{web(1), dns(), mark()},
			desired: []Service{web(2), mark()},
			keys:    []Service{dns(), web(), dns()},
			ops: []string{
				"delete-service -u [2001:db8::53]:53",
				"update-destination -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 2",
			},
		},
		{
			name:    "a key in neither table is no op",
			before:  []Service{web(1)},
			desired: []Service{web(1)},
			keys:    []Service{dns()},
			ops:     nil,
		},
		{
			name:    "a failed change does not stop the other keys",
			before:  []Service{web(1), dns()},
			tamper:  func(f *fakeKernel) { f.fail = map[string]error{"update-destination -t": syscall.EINVAL} },
			desired: []Service{web(2)},
			keys:    []Service{web(), dns()},
			ops: []string{
				"update-destination -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 2",
				"delete-service -u [2001:db8::53]:53",
			},
			err: "updating destination 10.0.0.1:80 of service -t 192.0.2.1:80: invalid argument",
		},
		{
			name:    "a failed read changes nothing",
			before:  []Service{web(1)},
			tamper:  func(f *fakeKernel) { f.fail = map[string]error{"read": syscall.EPERM} },
			desired: nil,
			keys:    []Service{web()},
			ops:     nil,
			err:     "operation not permitted",
			owns:    func(r *Reconciler) bool { return r.Owns(web(1), web(1).Destinations...) },
		},
		{
			name:    "a named service listed twice is refused",
			desired: []Service{web(1), web(2)},
			keys:    []Service{web()},
			err:     "service -t 192.0.2.1:80 listed twice",
		},
		{
			name:    "an invalid named service is refused",
			desired: []Service{with(web(1), func(s *Service) { s.Destinations[0].TunnelType = GRE })},
			keys:    []Service{web()},
			err:     "destination 10.0.0.1:80: tunnel options without the tunnel method",
		},
		{
			name:    "the zero key is refused",
			desired: []Service{web(1)},
			keys:    []Service{{}},
			err:     "zero service key",
		},
	}
	kernels := []struct {
		name string
		wrap func(*fakeKernel) Kernel
	}{
		{"lookup", func(f *fakeKernel) Kernel { return f }},
		{"list", func(f *fakeKernel) Kernel { return listOnly{f} }},
	}
	for _, tt := range tests {
		for _, kern := range kernels {
			t.Run(tt.name+"/"+kern.name, func(t *testing.T) {
				ctx := context.Background()
				k := &fakeKernel{}
				for _, s := range tt.foreign {
					if err := k.NewService(s); err != nil {
						t.Fatal(err)
					}
					k.services[len(k.services)-1].Destinations = slices.Clone(s.Destinations)
				}
				r := NewReconciler(kern.wrap(k), ReconcilerConfig{Adopt: tt.adopt})
				if _, err := r.Reconcile(ctx, tt.before); err != nil {
					t.Fatalf("first pass: %v", err)
				}
				if tt.tamper != nil {
					tt.tamper(k)
				}
				before := r.Stats()
				var keys []ServiceKey
				for i := range tt.keys {
					keys = append(keys, tt.keys[i].Key())
				}

				ops, err := r.ReconcileServices(ctx, tt.desired, keys...)
				switch {
				case tt.err == "" && err != nil:
					t.Fatalf("ReconcileServices: %v", err)
				case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
					t.Fatalf("ReconcileServices error = %v, want one containing %q", err, tt.err)
				}
				if strings.Contains(tt.err, "not owned") && !errors.Is(err, ErrNotOwned) {
					t.Errorf("error %v is not ErrNotOwned", err)
				}
				if got := opStrings(ops); !slices.Equal(got, tt.ops) {
					t.Errorf("ops:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.ops, "\n"))
				}
				if d := r.Stats().Ops - before.Ops; d != uint64(len(tt.ops)) {
					t.Errorf("Stats().Ops grew by %d, want %d", d, len(tt.ops))
				}
				if tt.table != "" {
					if got := k.dump(); got != tt.table {
						t.Errorf("table:\n%s\nwant:\n%s", got, tt.table)
					}
				}
				if tt.owns != nil && !tt.owns(r) {
					t.Error("ownership check failed")
				}
				if err != nil {
					return
				}
				// The full pass must agree with what the targeted one
				// left behind: nothing to redo, nothing owned forgotten.
				k.fail = nil
				full, err := r.Reconcile(ctx, tt.desired)
				if err != nil {
					t.Fatalf("full pass: %v", err)
				}
				if got := opStrings(full); !slices.Equal(got, tt.full) {
					t.Errorf("full pass ops:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.full, "\n"))
				}
			})
		}
	}
}

// TestReconcileServicesCost checks that a targeted pass reads the named
// service and its destinations only, however large the table: one lookup
// or, on a kernel without lookups, one read of the list of services.
func TestReconcileServicesCost(t *testing.T) {
	ctx := context.Background()
	for _, size := range []int{1, 10, 1000} {
		for _, list := range []bool{false, true} {
			k := &fakeKernel{}
			var kern Kernel = k
			if list {
				kern = listOnly{k}
			}
			r := NewReconciler(kern, ReconcilerConfig{})
			table := make([]Service, size)
			for i := range table {
				table[i] = with(web(1, 2, 3), func(s *Service) {
					s.Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)}), 80)
				})
			}
			if _, err := r.Reconcile(ctx, table); err != nil {
				t.Fatal(err)
			}
			named := &table[size/2]
			k.fail = make(map[string]error)
			for _, s := range table {
				if s.Key() != named.Key() {
					k.fail["read "+s.String()] = syscall.EIO
					k.fail["lookup "+s.String()] = syscall.EIO
				}
			}
			before := r.Stats()
			named.Destinations[1].Weight = 7
			ops, err := r.ReconcileServices(ctx, table, named.Key())
			if err != nil || len(ops) != 1 || ops[0].Kind != UpdateDestination {
				t.Fatalf("%d services, list %v: ops %q, err %v; want one update-destination", size, list, opStrings(ops), err)
			}
			after := r.Stats()
			if reads := after.Reads - before.Reads; reads != 2 {
				t.Errorf("%d services, list %v: %d reads, want 2", size, list, reads)
			}
			if after.Passes-before.Passes != 1 {
				t.Errorf("%d services, list %v: Stats().Passes grew by %d, want 1", size, list, after.Passes-before.Passes)
			}
		}
	}
}

func TestReconcileServicesCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k := &fakeKernel{}
	s := web(1)
	ops, err := NewReconciler(k, ReconcilerConfig{}).ReconcileServices(ctx, []Service{s}, s.Key())
	if !errors.Is(err, context.Canceled) || len(ops) != 0 || len(k.calls) != 0 {
		t.Fatalf("ReconcileServices on a cancelled context: ops %v, calls %v, err %v", ops, k.calls, err)
	}
}

func TestServiceKeyString(t *testing.T) {
	for _, s := range []Service{web(), dns(), mark(), {FWMark: 9, Family: IPv6}} {
		if got, want := s.Key().String(), s.String(); got != want {
			t.Errorf("Key().String() = %q, want %q", got, want)
		}
	}
}

func TestChangedServices(t *testing.T) {
	webKey, dnsKey, markKey := web().Key(), dns().Key(), mark().Key()
	for _, tt := range []struct {
		name     string
		from, to []Service
		want     []ServiceKey
	}{
		{"same tables", []Service{web(1, 2), dns(), mark()}, []Service{web(1, 2), dns(), mark()}, nil},
		{"both empty", nil, nil, nil},
		{"destinations reordered", []Service{web(1, 2)}, []Service{with(web(1, 2), func(s *Service) { slices.Reverse(s.Destinations) })}, nil},
		{"services reordered", []Service{web(1), dns()}, []Service{dns(), web(1)}, nil},
		{"default netmask spelt out", []Service{web(1)}, []Service{with(web(1), func(s *Service) { s.Netmask = net.CIDRMask(32, 32) })}, nil},
		{"weight", []Service{web(1, 2), dns()}, []Service{web(1, 3), dns()}, []ServiceKey{webKey}},
		{"destination added", []Service{web(1), dns()}, []Service{web(1, 2), dns()}, []ServiceKey{webKey}},
		{"destination removed", []Service{web(1, 2), dns()}, []Service{web(1), dns()}, []ServiceKey{webKey}},
		{"destination replaced", []Service{web(1, 2)}, []Service{with(web(1, 2), func(s *Service) { s.Destinations[1].Addr = netip.MustParseAddrPort("10.0.0.9:80") })}, []ServiceKey{webKey}},
		{"scheduler", []Service{mark()}, []Service{with(mark(), func(s *Service) { s.Scheduler = "mh" })}, []ServiceKey{markKey}},
		{"persistence", []Service{mark()}, []Service{with(mark(), func(s *Service) { s.Timeout = time.Minute })}, []ServiceKey{markKey}},
		{"service added", []Service{dns()}, []Service{web(1), dns()}, []ServiceKey{webKey}},
		{"service removed", []Service{web(1), dns(), mark()}, []Service{mark()}, []ServiceKey{webKey, dnsKey}},
		{"added, changed and removed", []Service{web(1), dns()}, []Service{mark(), web(2)}, []ServiceKey{markKey, webKey, dnsKey}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ChangedServices(tt.from, tt.to); !slices.Equal(got, tt.want) {
				t.Errorf("ChangedServices = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestChangedServicesConverge applies reloads through ChangedServices and
// ReconcileServices and checks that a full pass finds nothing left to do.
func TestChangedServicesConverge(t *testing.T) {
	ctx := context.Background()
	tables := [][]Service{
		{web(1, 2), dns()},
		{web(1, 3), dns(), mark()},
		{with(mark(), func(s *Service) { s.Scheduler = "mh" }), web(4)},
		nil,
		{dns()},
	}
	k := &fakeKernel{}
	r := NewReconciler(k, ReconcilerConfig{})
	var from []Service
	for i, to := range tables {
		if _, err := r.ReconcileServices(ctx, to, ChangedServices(from, to)...); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		if ops, err := r.Reconcile(ctx, to); err != nil || len(ops) != 0 {
			t.Fatalf("reload %d: full pass after it: ops %q, err %v; want none", i, opStrings(ops), err)
		}
		from = to
	}
}

func TestReconcileLogsChangesAtDebugLevel(t *testing.T) {
	for _, level := range []logrus.Level{logrus.DebugLevel, logrus.InfoLevel} {
		var out strings.Builder
		log := logrus.New()
		log.Out = &out
		log.Level = level
		r := NewReconciler(&fakeKernel{}, ReconcilerConfig{Log: log.WithField("component", "ipvs")})
		if _, err := r.Reconcile(context.Background(), []Service{web(1)}); err != nil {
			t.Fatal(err)
		}
		got := strings.Count(out.String(), `msg="IPVS change" component=ipvs op="add-`)
		if want := map[logrus.Level]int{logrus.DebugLevel: 2, logrus.InfoLevel: 0}[level]; got != want {
			t.Errorf("at level %v: %d change lines, want %d:\n%s", level, got, want, out.String())
		}
	}
}

func TestReconcileDebuggingFollowsEntryLevel(t *testing.T) {
	log := logrus.New()
	for _, level := range []logrus.Level{logrus.DebugLevel, logrus.InfoLevel} {
		log.Level = level
		for _, l := range []logrus.FieldLogger{log, log.WithField("component", "ipvs")} {
			r := NewReconciler(&fakeKernel{}, ReconcilerConfig{Log: l})
			if got, want := r.debugging(), level == logrus.DebugLevel; got != want {
				t.Errorf("%T at level %v: debugging() = %v, want %v", l, level, got, want)
			}
		}
	}
}
