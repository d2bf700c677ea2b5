package checkermib

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/agentx"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
	"github.com/gokeepalived/gokeepalived/ipvs"
)

const testConf = `global_defs {
    router_id lb1
    lvs_timeouts tcp 900 udp 60
}
virtual_server_group web {
    10.0.0.20 8080
    10.0.0.30-32 8081
    fwmark 7
}
virtual_server 10.0.0.10 80 {
    delay_loop 2
    quorum 2
    lb_algo wrr
    lb_kind DR
    protocol UDP
    persistence_timeout 30
    persistence_granularity 255.255.255.0
    sorry_server 10.0.0.99 80
    real_server 10.0.0.1 80 {
        weight 3
        uthreshold 100
        notify_up "/bin/up.sh a"
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.0.0.2 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server group web {
    lb_algo sh
    lb_kind NAT
    protocol TCP
    sh-port
    real_server 10.0.0.3 8080 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`

func parse(t *testing.T, src string) *config.Config {
	t.Helper()
	cfg, diags := config.Parse("test.conf", []byte(src), config.Options{})
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	return cfg
}

// show renders a view as snmpwalk -On would, roughly: "OID = TYPE value".
func show(v agentx.View) []string {
	var out []string
	for _, vb := range v.All() {
		out = append(out, fmt.Sprintf("%v = %v %v", vb.Name, vb.Type, vb.Value))
	}
	return out
}

func get(t *testing.T, v agentx.View, oid string) any {
	t.Helper()
	vb, ok := v.Get(agentx.MustParseOID(oid))
	if !ok {
		t.Fatalf("%s: absent", oid)
	}
	return vb.Value
}

func absent(t *testing.T, v agentx.View, oid string) {
	t.Helper()
	if vb, ok := v.Get(agentx.MustParseOID(oid)); ok {
		t.Errorf("%s = %v, want it absent", oid, vb.Value)
	}
}

func TestFill(t *testing.T) {
	cfg := parse(t, testConf)
	stats := &ipvs.Counters{Conns: 1 << 33, InPkts: 5, InBytes: 1 << 40, CPS: 3}
	snap := Snapshot{Config: cfg, Servers: []VirtualServer{
		{QuorumUp: false, Stats: stats, SorryStats: &RealServerStats{}, Real: []RealServer{
			{Alive: true, Weight: 3, NotifyUp: "'/bin/up.sh' 'a'", Stats: &RealServerStats{ActiveConns: 4}},
			{Alive: false, Weight: 1, FailedCheckers: 1, Stats: &RealServerStats{}},
		}},
		{QuorumUp: true, Real: []RealServer{{Alive: true, Weight: 1}}},
	}}
	var b agentx.Builder
	Fill(&b, snap)
	v := b.View()
	r := "1.3.6.1.4.1.9586.100.5.3."
	// The group and its members: fwmark first, then the address, then
	// the range.
	if got := get(t, v, r+"1.1.2.1"); string(got.([]byte)) != "web" {
		t.Errorf("group name %q", got)
	}
	for oid, want := range map[string]any{
		r + "2.1.2.1.1": int32(1), r + "2.1.3.1.1": uint32(7),
		r + "2.1.2.1.2": int32(2), r + "2.1.8.1.2": uint32(8080),
		r + "2.1.2.1.3": int32(3), r + "2.1.8.1.3": uint32(8081),
		// The first virtual server.
		r + "3.1.2.1": int32(2), r + "3.1.7.1": uint32(80), r + "3.1.8.1": int32(2),
		r + "3.1.9.1": int32(2), r + "3.1.10.1": int32(2), r + "3.1.13.1": int32(1),
		r + "3.1.14.1": uint32(30), r + "3.1.16.1": uint32(2), r + "3.1.20.1": uint32(2),
		r + "3.1.21.1": uint32(1), r + "3.1.22.1": uint32(2), r + "3.1.23.1": int32(2),
		r + "3.1.27.1": uint32(0), r + "3.1.38.1": uint64(1 << 33), r + "3.1.30.1": uint64(1 << 40),
		r + "3.1.41.1": uint32(3), r + "3.1.42.1": uint32(0), r + "3.1.60.1": int32(1),
		r + "3.1.64.1": uint32(2000000), r + "3.1.67.1": uint32(5000000),
		// The group's virtual server: sh-port is flag-2.
		r + "3.1.2.2": int32(3), r + "3.1.9.2": int32(8), r + "3.1.54.2": int32(1), r + "3.1.53.2": int32(2),
		r + "3.1.51.2": uint32(0xffffffff),
		// The sorry server is the first real server row.
		r + "4.1.2.1.1": int32(2), r + "4.1.2.1.2": int32(1), r + "4.1.2.1.3": int32(1),
		r + "4.1.6.1.2": int32(1), r + "4.1.6.1.3": int32(2), r + "4.1.7.1.2": int32(3),
		r + "4.1.8.1.2": uint32(100), r + "4.1.13.1.3": uint32(1), r + "4.1.15.1.2": uint32(4),
		r + "4.1.40.1.2": int32(2), r + "4.1.46.1.2": uint32(2), r + "4.1.5.2.1": uint32(8080),
		// lvs_timeouts, in seconds; the sync daemon is off.
		r + "7.1.0": int32(900), r + "7.3.0": int32(60), r + "6.1.0": int32(2),
	} {
		if got := get(t, v, oid); got != want {
			t.Errorf("%s = %#v, want %#v", oid, got, want)
		}
	}
	if got := string(get(t, v, r+"3.1.15.1").([]byte)); got != "\xff\xff\xff\x00" {
		t.Errorf("granularity %q", got)
	}
	if got := string(get(t, v, r+"4.1.11.1.2").([]byte)); got != "'/bin/up.sh' 'a'" {
		t.Errorf("notify_up %q", got)
	}
	for _, oid := range []string{
		r + "3.1.6.2", r + "3.1.7.2", // a group has no address
		r + "3.1.51.1",                                     // an IPv4 server has no IPv6 granularity
		r + "4.1.6.1.1", r + "4.1.7.1.1", r + "4.1.13.1.1", // the sorry server has no status
		r + "4.1.9.1.2", r + "4.1.12.1.2", // unset threshold and script
		r + "3.1.27.2", r + "4.1.14.2.1", // no counters given
		r + "7.2.0", r + "6.2.0",
	} {
		absent(t, v, oid)
	}
	if t.Failed() {
		t.Logf("view:\n%s", strings.Join(show(v), "\n"))
	}
}

func TestTrap(t *testing.T) {
	cfg := parse(t, testConf)
	vs := &cfg.VirtualServers[0]
	oid, vbs := Trap(lvs.Event{VS: vs, RS: &vs.RealServers[1], Up: false, RealUp: 1, RealTotal: 2}, "lb1")
	if oid.Compare(RealServerStateChange) != 0 {
		t.Errorf("trap %v", oid)
	}
	var names []string
	for _, vb := range vbs {
		names = append(names, strings.TrimPrefix(vb.Name.String(), "1.3.6.1.4.1.9586.100.5."))
	}
	want := []string{"3.4.1.3", "3.4.1.4", "3.4.1.5", "3.4.1.6", "3.3.1.2", "3.3.1.5", "3.3.1.6", "3.3.1.7", "3.3.1.8", "3.3.1.21", "3.3.1.20", "1.2.0"}
	if !slices.Equal(names, want) {
		t.Errorf("varbinds %v, want %v", names, want)
	}
	// A UDP service is "not TCP": 2.
	if vbs[8].Value != int32(2) || vbs[3].Value != int32(2) {
		t.Errorf("protocol %v, status %v", vbs[8].Value, vbs[3].Value)
	}

	oid, vbs = Trap(lvs.Event{VS: &cfg.VirtualServers[1], Stopping: true, RealTotal: 1}, "lb1")
	if oid.Compare(VirtualServerQuorumStateChange) != 0 {
		t.Errorf("trap %v", oid)
	}
	names = names[:0]
	for _, vb := range vbs {
		names = append(names, strings.TrimPrefix(vb.Name.String(), "1.3.6.1.4.1.9586.100.5."))
	}
	want = []string{"3.3.1.2", "3.3.1.3", "3.3.1.8", "3.3.1.23", "3.3.1.22", "3.3.1.21", "3.3.1.20", "1.2.0"}
	if !slices.Equal(names, want) {
		t.Errorf("varbinds %v, want %v", names, want)
	}
	if vbs[3].Value != int32(3) {
		t.Errorf("quorum status at shutdown %v, want 3", vbs[3].Value)
	}
}

// TestSyncDaemonID checks lvsSyncDaemonSyncId as keepalived's checker
// process shows it: the line's id, else 0 without an instance, else -1.
func TestSyncDaemonID(t *testing.T) {
	const instance = `
vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.200/32
    }
}
`
	for line, want := range map[string]int32{
		"lvs_sync_daemon lo VI_1 id 7":                  int32(7),
		"lvs_sync_daemon lo VI_1":                       int32(-1),
		"lvs_sync_daemon lo VI_1 port 8849 ttl 2":       int32(-1),
		"lvs_sync_daemon lo VI_1 id 0 group 224.0.0.82": int32(0),
	} {
		cfg := parse(t, "global_defs {\n    "+line+"\n}\n"+instance)
		var b agentx.Builder
		Fill(&b, Snapshot{Config: cfg})
		v := b.View()
		if got := get(t, v, "1.3.6.1.4.1.9586.100.5.3.6.4.0"); got != want {
			t.Errorf("%s: sync id %v, want %v", line, got, want)
		}
		if got := get(t, v, "1.3.6.1.4.1.9586.100.5.3.6.1.0"); got != int32(1) {
			t.Errorf("%s: enabled %v", line, got)
		}
	}
}
