package main

import (
	"bytes"
	"strings"
	"testing"
)

// ecmpNATConf announces a NAT virtual server's address over BGP.
const ecmpNATConf = `virtual_server 192.0.2.20 80 {
    lb_algo mh
    lb_kind %s
    protocol TCP
    real_server 10.1.0.1 80 {
    }
}
bgp_speaker {
    router_id 10.0.0.1
    local_as 65001
    neighbor 10.0.0.254 {
        remote_as 65000
    }
}
bgp_announce WEB {
    prefix 192.0.2.0/24
    track_virtual_server 192.0.2.20 80 TCP
}
`

// TestConfigTestRefusesNATUnderECMP runs gokeepalived -t on a NAT virtual
// server under a bgp_announce prefix: the exit status of keepalived -t
// for a configuration with errors, and the refusal at the announcement's
// line naming the virtual server's; the same with lb_kind DR passes.
func TestConfigTestRefusesNATUnderECMP(t *testing.T) {
	for _, kind := range []string{"NAT", "DR"} {
		conf := writeConf(t, "ecmp.conf", strings.Replace(ecmpNATConf, "%s", kind, 1))
		var out, errb bytes.Buffer
		rc := run([]string{"gokeepalived", "-t", "-f", conf}, &out, &errb)
		want := conf + ":15: bgp_announce WEB: prefix 192.0.2.0/24 covers virtual_server 192.0.2.20 80 (" + conf + ":1), whose real_server 10.1.0.1 80 uses lb_kind NAT:"
		switch {
		case kind == "NAT" && (rc != exitConfigTest || !strings.Contains(errb.String(), want)):
			t.Errorf("NAT: rc %d, want %d; stderr:\n%s\nwant a line starting %q", rc, exitConfigTest, errb.String(), want)
		case kind == "DR" && (rc != exitOK || strings.Contains(errb.String(), "lb_kind NAT")):
			t.Errorf("DR: rc %d, want %d; stderr:\n%s", rc, exitOK, errb.String())
		}
	}
}
