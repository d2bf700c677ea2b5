package config

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const bgpConf = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        10.10.10.10
    }
}
bgp_speaker {
    router_id 10.0.0.11
    local_as 65011
    hold_time 9
    graceful_restart
    restart_time 60
    neighbor 10.99.0.254 {
        remote_as 65000
        password SECRET
        multihop 2
        source_ip 10.99.0.11
        bfd RT
    }
}
bgp_announce WEB {
    prefix 10.10.10.10
    track_instance VI_1
    community 65000:100 65000:200
    large_community 65000:1:4294967295
    large_community 4200000000:0:7
    med 10
    next_hop 10.99.0.12
}
bfd_instance RT {
    neighbor_ip 10.99.0.254
}
`

// TestBGPBlocks reads the BGP extension's blocks into the model, with a
// notice naming the extension for each block and nothing unimplemented,
// and reads back what WriteText makes of them.
func TestBGPBlocks(t *testing.T) {
	cfg, ds := parse("b.conf", bgpConf, Options{ConfigID: "x"}, noFiles{}, defaultMaxLines)
	if ds.HasErrors() {
		t.Fatalf("errors: %v", ds)
	}
	var notices []string
	for _, d := range ds {
		switch d.Severity {
		case Extension:
			notices = append(notices, d.String())
		case Unimplemented:
			t.Errorf("unexpected: %s", d)
		}
	}
	want := []string{
		"b.conf:9: bgp_speaker: " + bgpExtension,
		"b.conf:23: bgp_announce: " + bgpExtension,
	}
	if !slices.Equal(notices, want) {
		t.Errorf("notices:\n%s\nwant:\n%s", strings.Join(notices, "\n"), strings.Join(want, "\n"))
	}
	if len(ds.Keepalived()) != 0 {
		t.Errorf("the notices count as keepalived's: %v", ds.Keepalived())
	}
	med := uint32(10)
	wantS := &BGPSpeaker{Pos: Pos{"b.conf", 9}, RouterID: netip.MustParseAddr("10.0.0.11"), LocalAS: 65011, HoldTime: 9 * time.Second,
		GracefulRestart: true, RestartTime: 60 * time.Second,
		Neighbors: []BGPNeighbor{{Pos: Pos{"b.conf", 15}, Addr: netip.MustParseAddr("10.99.0.254"), RemoteAS: 65000,
			Password: "SECRET", Multihop: 2, SourceIP: netip.MustParseAddr("10.99.0.11"), BFD: "RT"}}}
	wantA := []BGPAnnounce{{Pos: Pos{"b.conf", 23}, Name: "WEB", Prefix: netip.MustParsePrefix("10.10.10.10/32"),
		TrackInstances: []string{"VI_1"}, Communities: []uint32{65000<<16 | 100, 65000<<16 | 200},
		LargeCommunities: [][3]uint32{{65000, 1, 4294967295}, {4200000000, 0, 7}}, MED: &med,
		NextHop: netip.MustParseAddr("10.99.0.12")}}
	if !reflect.DeepEqual(cfg.BGPSpeaker, wantS) {
		t.Errorf("speaker %+v\nwant %+v", cfg.BGPSpeaker, wantS)
	}
	if !reflect.DeepEqual(cfg.BGPAnnounces, wantA) {
		t.Errorf("announces %+v\nwant %+v", cfg.BGPAnnounces, wantA)
	}
	var text strings.Builder
	if err := cfg.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	again, ds := parse("c.conf", text.String(), Options{ConfigID: "x"}, noFiles{}, defaultMaxLines)
	if ds.HasErrors() {
		t.Fatalf("read back: %v\n%s", ds, text.String())
	}
	again.BGPSpeaker.Pos, again.BGPSpeaker.Neighbors[0].Pos, again.BGPAnnounces[0].Pos = wantS.Pos, wantS.Neighbors[0].Pos, wantA[0].Pos
	if !reflect.DeepEqual(again.BGPSpeaker, wantS) || !reflect.DeepEqual(again.BGPAnnounces, wantA) {
		t.Errorf("read back %+v %+v from:\n%s", again.BGPSpeaker, again.BGPAnnounces, text.String())
	}
}

// TestBGPBlockErrors holds each mistake to its file:line message.
func TestBGPBlockErrors(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{"bgp_speaker {\n local_as 1\n}\n", "e.conf:3: bgp_speaker: no router_id - ignoring the BGP speaker"},
		{"bgp_speaker {\n router_id ::1\n}\n", "e.conf:2: bgp_speaker: router_id ::1 is not an IPv4 address"},
		{"bgp_speaker {\n router_id 1.1.1.1\n local_as 1\n hold_time 2\n}\n", "e.conf:4: bgp_speaker: hold_time 2 must be 0 or at least 3 seconds"},
		{"bgp_speaker {\n router_id 1.1.1.1\n local_as 1\n neighbor 1.2.3.4 {\n }\n}\n", "e.conf:5: bgp_speaker: neighbor 1.2.3.4 has no remote_as - ignoring it"},
		{"bgp_speaker {\n router_id 1.1.1.1\n local_as 1\n}\nbgp_announce A {\n prefix 1.2.3.4/32\n}\n", "e.conf:7: bgp_announce A: neither track_virtual_server nor track_instance - ignoring it"},
		{"bgp_announce A {\n prefix 1.2.3.4/32\n track_instance X\n}\n", "e.conf:1: bgp_announce A: no bgp_speaker to announce it"},
		{"bgp_speaker {\n router_id 1.1.1.1\n local_as 1\n}\nbgp_announce A {\n prefix 1.2.3.4/32\n track_instance X\n}\n", "e.conf:5: bgp_announce A: track_instance X names no vrrp_instance"},
		{"bgp_speaker {\n router_id 1.1.1.1\n local_as 1\n}\nbgp_announce A {\n prefix 1.2.3.4/32\n track_virtual_server 1.2.3.4 80 TCP\n}\n", "e.conf:5: bgp_announce A: track_virtual_server 1.2.3.4:80 TCP names no virtual_server"},
		{"bgp_speaker {\n router_id 1.1.1.1\n local_as 1\n neighbor 1.2.3.4 {\n  remote_as 2\n  bfd RT\n }\n}\n", "e.conf:4: bgp_speaker: neighbor 1.2.3.4 bfd RT names no bfd_instance - ignoring it"},
		{"bgp_announce A {\n community 70000:1\n}\n", "e.conf:2: bgp_announce A: community 70000:1 is not ASN:VALUE (each 0-65535)"},
		{"bgp_announce A {\n large_community 1:2\n}\n", "e.conf:2: bgp_announce A: large_community 1:2 is not ASN:VALUE:VALUE (each 0-4294967295)"},
		{"bgp_announce A {\n large_community 1:2:4294967296\n}\n", "e.conf:2: bgp_announce A: large_community 1:2:4294967296 is not ASN:VALUE:VALUE (each 0-4294967295)"},
		{"bgp_announce A {\n next_hop me\n}\n", "e.conf:2: bgp_announce A: next_hop me is not a unicast IP address or self"},
		{"bgp_announce A {\n next_hop 0.0.0.0\n}\n", "e.conf:2: bgp_announce A: next_hop 0.0.0.0 is not a unicast IP address or self"},
		{"bgp_announce A {\n prefix 10.1.1.1/32\n next_hop 2001:db8::1\n}\n", "e.conf:4: bgp_announce A: next_hop 2001:db8::1 and prefix 10.1.1.1/32 are not of the same family - announcing with next_hop self"},
		{"bgp_speaker {\n router_id 1.1.1.1\n local_as 1\n restart_time 4096\n}\n", "e.conf:4: number '4096' outside range [1, 4095]"},
		{"bgp_speaker {\n router_id 1.1.1.1\n local_as 1\n graceful_restart yes\n}\n", "e.conf:4: bgp_speaker: graceful_restart takes no argument - ignoring yes"},
	} {
		_, ds := parse("e.conf", tc.conf, Options{ConfigID: "x"}, noFiles{}, defaultMaxLines)
		found := false
		for _, d := range ds.Errors() {
			found = found || d.String() == tc.want
		}
		if !found {
			t.Errorf("%q: got %v, want %q", tc.conf, ds.Errors(), tc.want)
		}
	}
}
