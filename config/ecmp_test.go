package config

import (
	"strings"
	"testing"
)

const ecmpSpeaker = `bgp_speaker {
    router_id 10.0.0.1
    local_as 65001
    neighbor 10.0.0.254 {
        remote_as 65000
    }
}
`

// TestNATUnderECMPRefused holds a NAT virtual server covered by a
// bgp_announce prefix to an error at the announcement's line that names
// both blocks, the announcement dropped; DR, TUN, an announcement that
// follows a VRRP master, an address outside the prefix and a firewall
// mark pass.
func TestNATUnderECMPRefused(t *testing.T) {
	vs := func(head, kind, rsKind string) string {
		return "virtual_server " + head + " {\n    lb_algo mh\n    lb_kind " + kind + "\n    protocol TCP\n" +
			"    real_server 10.1.0.1 80 {\n" + rsKind + "    }\n}\n"
	}
	announce := "bgp_announce WEB {\n    prefix 192.0.2.0/24\n    track_virtual_server 192.0.2.20 80 TCP\n}\n"
	for _, tc := range []struct {
		name, conf string
		want       string // the error, "" for none
	}{
		{"NAT", ecmpSpeaker + vs("192.0.2.20 80", "NAT", ""), "e.conf:15: bgp_announce WEB: prefix 192.0.2.0/24 covers virtual_server 192.0.2.20 80 (e.conf:8), whose real_server 10.1.0.1 80 uses lb_kind NAT:"},
		{"NAT by default", ecmpSpeaker + strings.Replace(vs("192.0.2.20 80", "DR", ""), "    lb_kind DR\n", "", 1), "e.conf:14: bgp_announce WEB: prefix 192.0.2.0/24 covers virtual_server 192.0.2.20 80 (e.conf:8), whose real_server 10.1.0.1 80 uses lb_kind NAT:"},
		{"NAT real server of a DR server", ecmpSpeaker + vs("192.0.2.20 80", "DR", "        lvs_method NAT\n"), "whose real_server 10.1.0.1 80 uses lb_kind NAT"},
		{"DR", ecmpSpeaker + vs("192.0.2.20 80", "DR", ""), ""},
		{"TUN", ecmpSpeaker + vs("192.0.2.20 80", "TUN", ""), ""},
		{"NAT behind a VRRP master", ecmpSpeaker + vs("192.0.2.20 80", "NAT", "") +
			"vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    priority 100\n    virtual_ipaddress {\n        192.0.2.20\n    }\n}\n" +
			strings.Replace(announce, "    track_virtual_server", "    track_instance VI_1\n    track_virtual_server", 1), ""},
		{"outside", ecmpSpeaker + vs("192.0.2.20 80", "NAT", "") + strings.Replace(announce, "192.0.2.0/24", "198.51.100.0/24", 1), ""},
		{"group", ecmpSpeaker + "virtual_server_group G {\n    192.0.2.1-30 80\n}\n" + vs("group G", "NAT", "") +
			vs("192.0.2.20 80", "DR", ""), "covers virtual_server group G (e.conf:11), whose real_server 10.1.0.1 80 uses lb_kind NAT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := tc.conf
			if !strings.Contains(conf, "bgp_announce") {
				conf += announce
			}
			cfg, ds := parse("e.conf", conf, Options{ConfigID: "x"}, noFiles{}, defaultMaxLines)
			var errs []string
			for _, d := range ds.Errors() {
				// keepalived's own "no forwarding method set"
				// comes with the default NAT.
				if !strings.Contains(d.Msg, "setting default NAT") {
					errs = append(errs, d.String())
				}
			}
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("errors %q", errs)
			case tc.want == "" && len(cfg.BGPAnnounces) != 1:
				t.Errorf("the announcement was dropped")
			case tc.want == "":
			case len(errs) != 1 || !strings.Contains(errs[0], tc.want) || !strings.HasSuffix(errs[0], "- ignoring the bgp_announce; use lb_kind DR or TUN"):
				t.Errorf("errors %q, want one containing %q", errs, tc.want)
			case len(cfg.BGPAnnounces) != 0:
				t.Errorf("the announcement was kept: %+v", cfg.BGPAnnounces)
			}
		})
	}
}
