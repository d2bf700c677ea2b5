package lvs

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/ipvs"
	"github.com/gokeepalived/gokeepalived/notify"
)

type harness struct {
	t      *testing.T
	l      *LVS
	kernel *fakeKernel
	checks *fakeChecks
	rec    *recorder
	hook   *logtest.Hook
	clock  *manualClock
	seen   int // log entries already returned by logs
}

func newHarness(t *testing.T, conf string, opts Options) *harness {
	t.Helper()
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	h := &harness{
		t:      t,
		kernel: newFakeKernel(),
		checks: newFakeChecks(),
		rec:    &recorder{},
		hook:   hook,
		clock:  &manualClock{now: time.Unix(1e9, 0)},
	}
	opts.Table = ipvs.NewReconciler(h.kernel, ipvs.ReconcilerConfig{})
	opts.Checks = h.checks
	opts.Notifier = h.rec
	opts.Log = log
	opts.Clock = h.clock
	opts.ScriptUser = &notify.Credential{}
	l, err := New(parse(t, conf), opts)
	if err != nil {
		t.Fatal(err)
	}
	h.l = l
	return h
}

// logs returns the messages logged at info level since the last call.
func (h *harness) logs() []string {
	var out []string
	entries := h.hook.AllEntries()
	for _, e := range entries[h.seen:] {
		if e.Level == logrus.InfoLevel {
			out = append(out, e.Message)
		}
	}
	h.seen = len(entries)
	return out
}

// step is one event of a scenario and what it must cause.
type step struct {
	server string // check name; empty for the start
	up     bool
	weight int
	logs   []string
	notes  []string
	table  []string // nil: not compared
}

func (h *harness) check(name string, s step) {
	h.t.Helper()
	if got := h.logs(); !slices.Equal(got, s.logs) {
		h.t.Errorf("%s: log:\n  %s\nwant:\n  %s", name, strings.Join(got, "\n  "), strings.Join(s.logs, "\n  "))
	}
	if got := h.rec.take(); !slices.Equal(got, s.notes) {
		h.t.Errorf("%s: notifications:\n  %s\nwant:\n  %s", name, strings.Join(got, "\n  "), strings.Join(s.notes, "\n  "))
	}
	if s.table != nil {
		want := slices.Sorted(slices.Values(s.table))
		if got := h.kernel.lines(); !slices.Equal(got, want) {
			h.t.Errorf("%s: table:\n  %s\nwant:\n  %s", name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
}

const (
	vs1  = "[192.0.2.1]:tcp:80"
	rs2  = "[10.0.0.2]:tcp:80"
	rs3  = "[10.0.0.3]:tcp:80"
	svc  = "-A -t 192.0.2.1:80 -s rr"
	dst2 = "-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w "
	dst3 = "-a -t 192.0.2.1:80 -r 10.0.0.3:80 -m -w "
)

// twoServers is a virtual server with two real servers; vsExtra and
// rsExtra go into the virtual server's and each real server's block.
func twoServers(vsExtra, rsExtra string) string {
	return fmt.Sprintf(`
virtual_server 192.0.2.1 80 {
	protocol TCP
	lb_kind NAT
	lb_algo rr
	delay_loop 5
	quorum_up "/bin/true qup"
	quorum_down "/bin/true qdown"
	%[1]s
	real_server 10.0.0.2 80 {
		notify_up "/bin/true up2"
		notify_down "/bin/true down2"
		TCP_CHECK {
			%[2]s
		}
	}
	real_server 10.0.0.3 80 {
		TCP_CHECK {
			%[2]s
		}
	}
}`, vsExtra, rsExtra)
}

// activating is what keepalived logs as it starts the checks of real
// servers of vs1, one checker each.
func activating(servers ...string) []string {
	var out []string
	for _, rs := range servers {
		out = append(out, "Activating healthchecker for service "+rs+" for VS "+vs1)
	}
	return out
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		name  string
		conf  string
		steps []step
	}{
		{
			name: "real servers fail and return",
			conf: twoServers("", ""),
			steps: []step{
				{
					logs:  []string{"Gained quorum 1+0=1 <= 2 for VS " + vs1},
					notes: []string{"VS " + vs1 + " UP script=qup"},
					table: []string{svc, dst2 + "1", dst3 + "1"},
				},
				{
					server: rs2, up: false, weight: 1,
					logs:  []string{"Removing service " + rs2 + " from VS " + vs1},
					notes: []string{"RS " + rs2 + " " + vs1 + " DOWN script=down2"},
					table: []string{svc, dst3 + "1"},
				},
				{
					server: rs3, up: false, weight: 1,
					logs: []string{
						"Removing service " + rs3 + " from VS " + vs1,
						"Lost quorum 1-0=1 > 0 for VS " + vs1,
					},
					notes: []string{
						"RS " + rs3 + " " + vs1 + " DOWN",
						"VS " + vs1 + " DOWN script=qdown",
					},
					table: []string{svc},
				},
				{
					server: rs2, up: true, weight: 1,
					logs: []string{
						"Adding service " + rs2 + " to VS " + vs1,
						"Gained quorum 1+0=1 <= 1 for VS " + vs1,
					},
					notes: []string{
						"RS " + rs2 + " " + vs1 + " UP script=up2",
						"VS " + vs1 + " UP script=qup",
					},
					table: []string{svc, dst2 + "1"},
				},
				{
					// A repeated verdict changes nothing.
					server: rs2, up: true, weight: 1,
					table: []string{svc, dst2 + "1"},
				},
			},
		},
		{
			name: "inhibit_on_failure",
			conf: twoServers("inhibit_on_failure", ""),
			steps: []step{
				{
					logs:  []string{"Gained quorum 1+0=1 <= 2 for VS " + vs1},
					notes: []string{"VS " + vs1 + " UP script=qup"},
					table: []string{svc, dst2 + "1", dst3 + "1"},
				},
				{
					server: rs2, up: false, weight: 1,
					logs:  []string{"Disabling service " + rs2 + " of VS " + vs1},
					notes: []string{"RS " + rs2 + " " + vs1 + " DOWN script=down2"},
					table: []string{svc, dst2 + "0", dst3 + "1"},
				},
				{
					server: rs2, up: true, weight: 1,
					logs:  []string{"Enabling service " + rs2 + " of VS " + vs1},
					notes: []string{"RS " + rs2 + " " + vs1 + " UP script=up2"},
					table: []string{svc, dst2 + "1", dst3 + "1"},
				},
			},
		},
		{
			name: "alpha servers and the sorry server",
			conf: twoServers("sorry_server 10.0.0.9 80", "alpha"),
			steps: []step{
				{
					logs: []string{
						"Starting with quorum down 1-0=1 > 0 for VS " + vs1,
						"Adding sorry server [10.0.0.9]:tcp:80 to VS " + vs1,
						"Removing alive servers from the pool for VS " + vs1,
					},
					notes: []string{"VS " + vs1 + " DOWN script=qdown"},
					table: []string{svc, "-a -t 192.0.2.1:80 -r 10.0.0.9:80 -m -w 1"},
				},
				{
					server: rs3, up: true, weight: 1,
					logs: []string{
						"Adding service " + rs3 + " to VS " + vs1,
						"Gained quorum 1+0=1 <= 1 for VS " + vs1,
						"Removing sorry server [10.0.0.9]:tcp:80 from VS " + vs1,
						"Adding alive servers to the pool for VS " + vs1,
					},
					notes: []string{
						"RS " + rs3 + " " + vs1 + " UP",
						"VS " + vs1 + " UP script=qup",
					},
					table: []string{svc, dst3 + "1"},
				},
				{
					server: rs3, up: false, weight: 1,
					logs: []string{
						"Removing service " + rs3 + " from VS " + vs1,
						"Lost quorum 1-0=1 > 0 for VS " + vs1,
						"Adding sorry server [10.0.0.9]:tcp:80 to VS " + vs1,
						"Removing alive servers from the pool for VS " + vs1,
					},
					notes: []string{
						"RS " + rs3 + " " + vs1 + " DOWN",
						"VS " + vs1 + " DOWN script=qdown",
					},
					table: []string{svc, "-a -t 192.0.2.1:80 -r 10.0.0.9:80 -m -w 1"},
				},
			},
		},
		{
			name: "sorry_server_inhibit",
			conf: twoServers("sorry_server 10.0.0.9 80\nsorry_server_inhibit", ""),
			steps: []step{
				{
					logs:  []string{"Gained quorum 1+0=1 <= 2 for VS " + vs1},
					notes: []string{"VS " + vs1 + " UP script=qup"},
					table: []string{svc, dst2 + "1", dst3 + "1", "-a -t 192.0.2.1:80 -r 10.0.0.9:80 -m -w 0"},
				},
				{server: rs2, up: false, weight: 1,
					logs:  []string{"Removing service " + rs2 + " from VS " + vs1},
					notes: []string{"RS " + rs2 + " " + vs1 + " DOWN script=down2"},
				},
				{
					server: rs3, up: false, weight: 1,
					logs: []string{
						"Removing service " + rs3 + " from VS " + vs1,
						"Lost quorum 1-0=1 > 0 for VS " + vs1,
						"Enabling sorry server [10.0.0.9]:tcp:80 to VS " + vs1,
						"Removing alive servers from the pool for VS " + vs1,
					},
					notes: []string{
						"RS " + rs3 + " " + vs1 + " DOWN",
						"VS " + vs1 + " DOWN script=qdown",
					},
					table: []string{svc, "-a -t 192.0.2.1:80 -r 10.0.0.9:80 -m -w 1"},
				},
				{
					server: rs2, up: true, weight: 1,
					logs: []string{
						"Adding service " + rs2 + " to VS " + vs1,
						"Gained quorum 1+0=1 <= 1 for VS " + vs1,
						"Disabling sorry server [10.0.0.9]:tcp:80 from VS " + vs1,
						"Adding alive servers to the pool for VS " + vs1,
					},
					notes: []string{
						"RS " + rs2 + " " + vs1 + " UP script=up2",
						"VS " + vs1 + " UP script=qup",
					},
					table: []string{svc, dst2 + "1", "-a -t 192.0.2.1:80 -r 10.0.0.9:80 -m -w 0"},
				},
			},
		},
		{
			name: "dynamic weights",
			conf: twoServers("", ""),
			steps: []step{
				{
					logs:  []string{"Gained quorum 1+0=1 <= 2 for VS " + vs1},
					notes: []string{"VS " + vs1 + " UP script=qup"},
				},
				{
					server: rs2, up: true, weight: 5,
					logs:  []string{"Changing weight from 1 to 5 for active service " + rs2 + " of VS " + vs1},
					table: []string{svc, dst2 + "5", dst3 + "1"},
				},
				{
					server: rs2, up: true, weight: -3,
					logs:  []string{"Changing weight from 5 to 0 for active service " + rs2 + " of VS " + vs1},
					table: []string{svc, dst2 + "0", dst3 + "1"},
				},
				{
					server: rs2, up: true, weight: -1,
					table: []string{svc, dst2 + "0", dst3 + "1"},
				},
				{
					server: rs2, up: false, weight: 7,
					logs: []string{
						"Changing weight from 0 to 7 for active service " + rs2 + " of VS " + vs1,
						"Removing service " + rs2 + " from VS " + vs1,
					},
					notes: []string{"RS " + rs2 + " " + vs1 + " DOWN script=down2"},
					table: []string{svc, dst3 + "1"},
				},
				{
					server: rs2, up: false, weight: 2,
					logs:  []string{"Changing weight from 7 to 2 for inactive service " + rs2 + " of VS " + vs1},
					table: []string{svc, dst3 + "1"},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.conf, Options{})
			ctx := context.Background()
			if _, err := h.l.begin(ctx); err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				if s.server != "" {
					h.l.Handle(ctx, check.Event{Server: s.server, Up: s.up, Weight: s.weight, Reason: "test"})
				} else {
					s.logs = append(s.logs, activating(rs2, rs3)...)
				}
				h.check(fmt.Sprintf("step %d", i), s)
			}
		})
	}
}

// TestQuorumHysteresis follows the live weight across keepalived's two
// thresholds: quorum+hysteresis to gain, quorum-hysteresis to lose.
func TestQuorumHysteresis(t *testing.T) {
	conf := `
virtual_server 192.0.2.1 80 {
	protocol TCP
	lb_kind NAT
	lb_algo rr
	quorum 4
	hysteresis 1
	real_server 10.0.0.2 80 {
		weight 2
		TCP_CHECK {
		}
	}
	real_server 10.0.0.3 80 {
		weight 2
		TCP_CHECK {
		}
	}
	real_server 10.0.0.4 80 {
		weight 2
		TCP_CHECK {
		}
	}
}`
	rs4 := "[10.0.0.4]:tcp:80"
	steps := []step{
		{logs: append([]string{"Gained quorum 4+1=5 <= 6 for VS " + vs1}, activating(rs2, rs3, rs4)...), notes: []string{"VS " + vs1 + " UP"}},
		{server: rs2, up: false, weight: 2,
			logs:  []string{"Removing service " + rs2 + " from VS " + vs1},
			notes: []string{"RS " + rs2 + " " + vs1 + " DOWN"}},
		{server: rs3, up: false, weight: 2,
			logs: []string{
				"Removing service " + rs3 + " from VS " + vs1,
				"Lost quorum 4-1=3 > 2 for VS " + vs1,
			},
			notes: []string{"RS " + rs3 + " " + vs1 + " DOWN", "VS " + vs1 + " DOWN"}},
		{server: rs3, up: true, weight: 2,
			logs:  []string{"Adding service " + rs3 + " to VS " + vs1},
			notes: []string{"RS " + rs3 + " " + vs1 + " UP"}},
		{server: rs4, up: true, weight: 3,
			logs: []string{
				"Changing weight from 2 to 3 for active service " + rs4 + " of VS " + vs1,
				"Gained quorum 4+1=5 <= 5 for VS " + vs1,
			},
			notes: []string{"VS " + vs1 + " UP"},
			table: []string{svc, dst3 + "2", "-a -t 192.0.2.1:80 -r 10.0.0.4:80 -m -w 3"}},
	}
	h := newHarness(t, conf, Options{})
	ctx := context.Background()
	if _, err := h.l.begin(ctx); err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		if s.server != "" {
			h.l.Handle(ctx, check.Event{Server: s.server, Up: s.up, Weight: s.weight})
		}
		h.check(fmt.Sprintf("step %d", i), s)
	}
}

func TestInitNotifies(t *testing.T) {
	h := newHarness(t, "global_defs {\n rs_init_notifies\n}\n"+twoServers("", ""), Options{})
	if _, err := h.l.begin(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.check("start", step{
		logs: append([]string{"Gained quorum 1+0=1 <= 2 for VS " + vs1}, activating(rs2, rs3)...),
		notes: []string{
			"RS " + rs2 + " " + vs1 + " UP script=up2",
			"RS " + rs3 + " " + vs1 + " UP",
			"VS " + vs1 + " UP script=qup",
		},
	})
}

func TestShutdown(t *testing.T) {
	tests := []struct {
		name  string
		conf  string
		opts  Options
		notes []string
		table []string
	}{
		{
			name: "omega",
			conf: twoServers("omega", ""),
			notes: []string{
				"RS " + rs2 + " " + vs1 + " DOWN script=down2 stopping",
				"RS " + rs3 + " " + vs1 + " DOWN stopping",
				"VS " + vs1 + " DOWN script=qdown stopping",
			},
			table: []string{},
		},
		{
			name:  "without omega",
			conf:  twoServers("", ""),
			table: []string{},
		},
		{
			name:  "dont release",
			conf:  twoServers("omega", ""),
			opts:  Options{DontReleaseIPVS: true},
			table: []string{svc, dst2 + "1", dst3 + "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.conf, tt.opts)
			if _, err := h.l.begin(context.Background()); err != nil {
				t.Fatal(err)
			}
			h.logs()
			h.rec.take()
			if err := h.l.shutdown(); err != nil {
				t.Fatal(err)
			}
			var logs []string
			if !tt.opts.DontReleaseIPVS {
				logs = []string{
					"Shutting down service " + rs2 + " from VS " + vs1,
					"Shutting down service " + rs3 + " from VS " + vs1,
				}
			}
			h.check("shutdown", step{logs: logs, notes: tt.notes, table: tt.table})
		})
	}
}

// TestSorryName names sorry servers with the port keepalived's
// validation leaves them.
func TestSorryName(t *testing.T) {
	for _, tt := range []struct{ vs, method, want string }{
		{"192.0.2.1 80", "DR", "[10.0.0.9]:tcp:80"},
		{"192.0.2.1 80", "TUN", "[10.0.0.9]:tcp:80"},
		{"192.0.2.1 80", "NAT", "[10.0.0.9]:tcp:8081"},
		{"fwmark 3", "DR", "[10.0.0.9]:none:0"},
		{"fwmark 3", "NAT", "[10.0.0.9]:none:8081"},
	} {
		cfg := parse(t, fmt.Sprintf(`
virtual_server %s {
	protocol TCP
	sorry_server 10.0.0.9 8081
	sorry_server_lvs_method %s
	real_server 10.0.0.2 80 {
	}
}`, tt.vs, tt.method))
		if got := newVirtualServer(&cfg.VirtualServers[0], func(*config.Notify, string) *notify.Script { return nil }).sorryName(); got != tt.want {
			t.Errorf("%s, %s: sorry server %s, want %s", tt.vs, tt.method, got, tt.want)
		}
	}
}

// TestRealServerNames checks the names of real servers against
// config.RealServer.Name, for each kind of virtual server.
func TestRealServerNames(t *testing.T) {
	cfg := parse(t, `
virtual_server_group g {
	192.0.2.9 80
}
virtual_server 192.0.2.1 80 {
	protocol TCP
	real_server 10.0.0.2 8080 {
	}
	real_server 10.0.0.3 65535 {
	}
}
virtual_server 2001:db8::1 443 {
	protocol UDP
	real_server 2001:db8::2 443 {
	}
	real_server 2001:db8::3 443 {
	}
}
virtual_server fwmark 7 {
	lb_kind DR
	real_server 10.0.0.4 {
	}
}
virtual_server group g {
	protocol SCTP
	real_server 10.0.0.5 80 {
	}
}`)
	n := 0
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		got := realServerNames(vs)
		if len(got) != len(vs.RealServers) {
			t.Fatalf("VS %s: %d names for %d real servers", vs.Name(), len(got), len(vs.RealServers))
		}
		for j := range vs.RealServers {
			if want := vs.RealServers[j].Name(vs); got[j] != want {
				t.Errorf("VS %s: name %q, want %q", vs.Name(), got[j], want)
			}
			n++
		}
	}
	if n != 6 {
		t.Errorf("%d real servers named, want 6", n)
	}
}
