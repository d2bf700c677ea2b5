package vrrpdbus

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// fakeBackend records what the service asks of VRRP.
type fakeBackend struct {
	mu    sync.Mutex
	insts []Instance
	calls []string
}

func (f *fakeBackend) Instances() []Instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Instance(nil), f.insts...)
}

func (f *fakeBackend) record(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeBackend) PrintData()            { f.record("data") }
func (f *fakeBackend) PrintStats(clear bool) { f.record(fmt.Sprint("stats ", clear)) }
func (f *fakeBackend) Reload()               { f.record("reload") }
func (f *fakeBackend) SendGarp(name string) bool {
	f.record("garp " + name)
	return true
}

func newTestServer(opts Options, insts ...Instance) (*Server, *fakeBackend, *test.Hook) {
	log, hook := test.NewNullLogger()
	fb := &fakeBackend{insts: insts}
	opts.Log, opts.Backend = log, fb
	return New(opts), fb, hook
}

func TestPaths(t *testing.T) {
	s, _, _ := newTestServer(Options{})
	for _, c := range []struct {
		ifname string
		vrid   uint8
		fam    Family
		want   dbus.ObjectPath
	}{
		{"eth0", 51, IPv4, "/org/keepalived/Vrrp1/Instance/eth0/51/IPv4"},
		{"bond0.100", 7, IPv6, "/org/keepalived/Vrrp1/Instance/bond0_100/7/IPv6"},
		{"br-lan:1", 255, IPv4, "/org/keepalived/Vrrp1/Instance/br_lan_1/255/IPv4"},
		{"", 1, 0, "/org/keepalived/Vrrp1/Instance/none/1/None"},
	} {
		if got := s.InstancePath(c.ifname, c.vrid, c.fam); got != c.want {
			t.Errorf("InstancePath(%q, %d, %v) = %s, want %s", c.ifname, c.vrid, c.fam, got, c.want)
		}
	}
	ns, _, _ := newTestServer(Options{Namespace: "blue", Instance: "i1"})
	if ns.vrrpPath != "/org/keepalived/Vrrp1/blue/i1/Vrrp" {
		t.Errorf("Vrrp path with a namespace and an instance: %s", ns.vrrpPath)
	}
	if got := ns.InstancePath("eth0", 1, IPv4); got != "/org/keepalived/Vrrp1/blue/i1/Instance/eth0/1/IPv4" {
		t.Errorf("instance path with a namespace and an instance: %s", got)
	}
}

// dispatchCall dispatches a call and renders its outcome.
func dispatchCall(s *Server, path dbus.ObjectPath, method, sig string, body ...any) string {
	i := strings.LastIndexByte(method, '.')
	ret, err := s.dispatch(path, method[:i], method[i+1:], sig, body)
	if err != nil {
		e := err.(dbus.Error)
		return fmt.Sprintf("%s: %v", e.Name, e.Body[0])
	}
	var out []string
	for _, v := range ret {
		if m, ok := v.(map[string]dbus.Variant); ok {
			keys := slices.Sorted(maps.Keys(m))
			var kv []string
			for _, k := range keys {
				kv = append(kv, k+"="+m[k].Signature().String()+" "+fmt.Sprint(m[k].Value()))
			}
			out = append(out, "{"+strings.Join(kv, ", ")+"}")
			continue
		}
		if vv, ok := v.(dbus.Variant); ok {
			out = append(out, vv.Signature().String()+" "+fmt.Sprint(vv.Value()))
			continue
		}
		out = append(out, fmt.Sprint(v))
	}
	return strings.Join(out, "; ")
}

func TestDispatch(t *testing.T) {
	s, fb, _ := newTestServer(Options{},
		Instance{Name: "VI_1", Interface: "eth0.5", VRID: 51, Family: IPv4, State: Master},
		Instance{Name: "VI_2", Interface: "eth0", VRID: 52, Family: IPv6, State: Backup})
	s.busAcquired() // no connection: the objects, without signals
	vi1 := dbus.ObjectPath("/org/keepalived/Vrrp1/Instance/eth0_5/51/IPv4")
	vi2 := dbus.ObjectPath("/org/keepalived/Vrrp1/Instance/eth0/52/IPv6")
	for _, c := range []struct {
		path         dbus.ObjectPath
		method, sig  string
		body         []any
		want         string
		backendCalls string
	}{
		{vi1, "org.freedesktop.DBus.Properties.Get", "ss", []any{InstanceInterface, "Name"}, "(s) {VI_1}", ""},
		{vi1, "org.freedesktop.DBus.Properties.Get", "ss", []any{InstanceInterface, "State"}, "(us) {2 Master}", ""},
		{vi2, "org.freedesktop.DBus.Properties.GetAll", "s", []any{InstanceInterface}, "{Name=(s) {VI_2}, State=(us) {1 Backup}}", ""},
		{vi1, "org.freedesktop.DBus.Properties.Get", "ss", []any{InstanceInterface, "Nope"}, "org.freedesktop.DBus.Error.InvalidArgs: No such property “Nope”", ""},
		{vi1, "org.freedesktop.DBus.Properties.Set", "ssv", []any{InstanceInterface, "Name", dbus.MakeVariant("x")}, "org.freedesktop.DBus.Error.InvalidArgs: Property “Name” is not writable", ""},
		{vi1, "org.freedesktop.DBus.Properties.Get", "ss", []any{"x.y", "Name"}, "org.freedesktop.DBus.Error.InvalidArgs: No such interface “x.y”", ""},
		{s.vrrpPath, "org.freedesktop.DBus.Properties.GetAll", "s", []any{VrrpInterface}, "{}", ""},
		{s.vrrpPath, VrrpInterface + ".PrintData", "", nil, "", "data"},
		{s.vrrpPath, VrrpInterface + ".PrintStats", "", nil, "", "stats false"},
		{s.vrrpPath, VrrpInterface + ".PrintStatsClear", "", nil, "", "stats true"},
		{s.vrrpPath, VrrpInterface + ".ReloadConfig", "", nil, "", "reload"},
		{s.vrrpPath, VrrpInterface + ".PrintData", "s", []any{"x"}, "org.freedesktop.DBus.Error.InvalidArgs: Type of message, “(s)”, does not match expected type “()”", ""},
		{s.vrrpPath, VrrpInterface + ".CreateInstance", "ssuu", []any{"a", "b", uint32(1), uint32(4)}, "org.freedesktop.DBus.Error.UnknownMethod: No such method “CreateInstance”", ""},
		{vi2, InstanceInterface + ".SendGarp", "", nil, "", "garp VI_2"},
		{s.vrrpPath, InstanceInterface + ".SendGarp", "", nil, "org.freedesktop.DBus.Error.UnknownMethod: No such interface “org.keepalived.Vrrp1.Instance” on object at path /org/keepalived/Vrrp1/Vrrp", ""},
		{"/org/keepalived", "org.freedesktop.DBus.Properties.Get", "ss", []any{InstanceInterface, "Name"}, "org.freedesktop.DBus.Error.UnknownMethod: Object does not exist at path “/org/keepalived”", ""},
	} {
		fb.calls = nil
		got := dispatchCall(s, c.path, c.method, c.sig, c.body...)
		if got != c.want {
			t.Errorf("%s %s: %s, want %s", c.path, c.method, got, c.want)
		}
		if calls := strings.Join(fb.calls, ","); calls != c.backendCalls {
			t.Errorf("%s %s: backend saw %q, want %q", c.path, c.method, calls, c.backendCalls)
		}
	}
	// An object whose instance has gone answers that it is not found.
	fb.insts = fb.insts[1:]
	if got, want := dispatchCall(s, vi1, "org.freedesktop.DBus.Properties.Get", "ss", InstanceInterface, "Name"),
		"org.freedesktop.DBus.Error.InvalidArgs: Instance 'eth0_5/51/IPv4' not found"; got != want {
		t.Errorf("property of a missing instance: %s, want %s", got, want)
	}
}

func TestIntrospectNodes(t *testing.T) {
	s, _, _ := newTestServer(Options{},
		Instance{Name: "VI_1", Interface: "eth0", VRID: 51, Family: IPv4},
		Instance{Name: "VI_2", Interface: "eth0", VRID: 52, Family: IPv6})
	s.busAcquired()
	for path, want := range map[dbus.ObjectPath][]string{
		"/":                                        {"org"},
		"/org/keepalived/Vrrp1":                    {"Instance", "Vrrp"},
		"/org/keepalived/Vrrp1/Instance/eth0":      {"51", "52"},
		"/org/keepalived/Vrrp1/Instance/eth0/51":   {"IPv4"},
		"/org/keepalived/Vrrp1/Instance/eth0/51/x": nil,
	} {
		if got := s.children(path); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("nodes below %s: %v, want %v", path, got, want)
		}
	}
	x := s.introspect("/org/keepalived/Vrrp1/Instance/eth0/52/IPv6", InstanceInterface)
	for _, w := range []string{`<interface name="org.keepalived.Vrrp1.Instance">`, `<property type="(us)" name="State" access="read">`,
		`<arg type="u" name="status">`, `<interface name="org.freedesktop.DBus.Properties">`} {
		if !strings.Contains(x, w) {
			t.Errorf("introspection of an instance lacks %s:\n%s", w, x)
		}
	}
	if x := s.introspect("/nowhere", ""); strings.Contains(x, "<interface") || strings.Contains(x, "<node name") {
		t.Errorf("introspection of a path with nothing below: %s", x)
	}
}

// TestReload keeps the object of an instance that stays on the same
// interface, VRID and family, whatever its name, and removes and adds the
// others.
func TestReload(t *testing.T) {
	s, fb, hook := newTestServer(Options{},
		Instance{Name: "A", Interface: "eth0", VRID: 1, Family: IPv4},
		Instance{Name: "B", Interface: "eth0", VRID: 2, Family: IPv4})
	s.busAcquired()
	fb.insts = []Instance{{Name: "A2", Interface: "eth0", VRID: 1, Family: IPv4}, {Name: "C", Interface: "eth1", VRID: 3, Family: IPv6}}
	s.Reload()
	got := fmt.Sprint(s.objects)
	if want := "map[A2:/org/keepalived/Vrrp1/Instance/eth0/1/IPv4 C:/org/keepalived/Vrrp1/Instance/eth1/3/IPv6]"; got != want {
		t.Errorf("objects after the reload: %s, want %s", got, want)
	}
	if ok, _ := s.isExported("/org/keepalived/Vrrp1/Instance/eth0/2/IPv4"); ok {
		t.Error("the removed instance's object is still exported")
	}
	var logs []string
	for _, e := range hook.AllEntries() {
		logs = append(logs, e.Message)
	}
	if !strings.Contains(strings.Join(logs, "\n"), "Deleted DBus object for instance B") {
		t.Errorf("logs: %v", logs)
	}
}

func TestValidBusName(t *testing.T) {
	for name, want := range map[string]bool{
		"org.keepalived.Vrrp1": true, "a.b": true, "a-b._c.d9": true,
		"": false, "org": false, "org..x": false, "org.9x": false, "org.ke epalived": false, "org.x/y": false,
		strings.Repeat("a.", 128) + "b": false,
	} {
		if got := validBusName(name); got != want {
			t.Errorf("validBusName(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestNoBus logs, in keepalived's words, that the name is lost when there
// is no bus, and stops without waiting for one.
func TestNoBus(t *testing.T) {
	s, _, hook := newTestServer(Options{Address: "unix:path=" + filepath.Join(t.TempDir(), "none")},
		Instance{Name: "A", Interface: "eth0", VRID: 1, Family: IPv4})
	s.Start(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for {
		if e := hook.LastEntry(); e != nil && e.Message == "Lost the name org.keepalived.Vrrp1 on the session bus" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no word of the lost name: %v", hook.AllEntries())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.StateChanged("eth0", 1, IPv4, Master) // nowhere to go, and no harm
	s.Stop()
	if e := hook.LastEntry(); e.Message != "Released DBus" {
		t.Errorf("last log: %q", e.Message)
	}
}

// TestSignalsOnABus runs the service on a private bus and reads its
// signals as a client does: VrrpStarted with the states, a state change,
// a reload that holds a new instance's signal until VrrpReloaded, and
// VrrpStopped before the name is given up.
func TestSignalsOnABus(t *testing.T) {
	addr := nettest.StartSystemBus(t).Addr
	s, fb, _ := newTestServer(Options{Address: addr},
		Instance{Name: "A", Interface: "eth0", VRID: 1, Family: IPv4, State: Backup})
	client, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.AddMatchSignal(dbus.WithMatchPathNamespace("/org/keepalived")); err != nil {
		t.Fatal(err)
	}
	if err := client.AddMatchSignal(dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, ServiceName)); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *dbus.Signal, 64)
	client.Signal(ch)
	next := func(want string) {
		t.Helper()
		for {
			select {
			case sig := <-ch:
				var got string
				switch {
				case sig.Name == "org.freedesktop.DBus.NameOwnerChanged" && sig.Body[2] == "":
					got = "released"
				case sig.Name == "org.freedesktop.DBus.NameOwnerChanged":
					got = "owned"
				case strings.HasPrefix(string(sig.Path), "/org/keepalived"):
					got = fmt.Sprint(sig.Path, " ", sig.Name[strings.LastIndexByte(sig.Name, '.')+1:], sig.Body)
				default:
					continue
				}
				if got != want {
					t.Fatalf("signal %s, want %s", got, want)
				}
				return
			case <-time.After(5 * time.Second):
				t.Fatalf("no signal; want %s", want)
			}
		}
	}
	s.Start(context.Background())
	next("/org/keepalived/Vrrp1/Vrrp VrrpStarted[]")
	next("/org/keepalived/Vrrp1/Instance/eth0/1/IPv4 VrrpStatusChange[1]")
	next("owned")

	var v dbus.Variant
	if err := client.Object(ServiceName, "/org/keepalived/Vrrp1/Instance/eth0/1/IPv4").Call(
		"org.freedesktop.DBus.Properties.Get", 0, InstanceInterface, "State").Store(&v); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(v.Signature(), v.Value()); got != "(us) [1 Backup]" {
		t.Errorf("State: %s", got)
	}

	s.StateChanged("eth0", 1, IPv4, Master)
	next("/org/keepalived/Vrrp1/Instance/eth0/1/IPv4 VrrpStatusChange[2]")

	// A reload that adds B: B's first state waits for VrrpReloaded, A's
	// goes at once.
	s.BeginReload()
	fb.mu.Lock()
	fb.insts = append(fb.insts, Instance{Name: "B", Interface: "eth1", VRID: 2, Family: IPv6, State: Backup})
	fb.mu.Unlock()
	s.StateChanged("eth1", 2, IPv6, Backup)
	s.StateChanged("eth0", 1, IPv4, Fault)
	next("/org/keepalived/Vrrp1/Instance/eth0/1/IPv4 VrrpStatusChange[3]")
	s.Reload()
	next("/org/keepalived/Vrrp1/Vrrp VrrpReloaded[]")
	next("/org/keepalived/Vrrp1/Instance/eth1/2/IPv6 VrrpStatusChange[1]")
	var x string
	if err := client.Object(ServiceName, "/org/keepalived/Vrrp1/Instance/eth1/2/IPv6").Call(
		"org.freedesktop.DBus.Introspectable.Introspect", 0).Store(&x); err != nil || !strings.Contains(x, InstanceInterface) {
		t.Errorf("the new instance's object: %v %s", err, x)
	}

	s.Stop()
	next("/org/keepalived/Vrrp1/Vrrp VrrpStopped[]")
	next("released")
}
