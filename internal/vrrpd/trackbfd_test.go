package vrrpd

import (
	"fmt"
	"testing"

	"github.com/gokeepalived/gokeepalived/vrrp"
)

// bfdConf has the cases keepalived 2.2.7's track_bfd rules tell apart;
// keepalived -t on it says "(VI_1) ignoring tracked bfd B1 with weight 4
// due to SYNC group" and "(VI_3) track bfd B3 not found, ignoring...",
// B3 sending its events to the checkers only.
const bfdConf = `bfd_instance B1 {
    neighbor_ip 192.0.2.100
    weight 30 reverse
}
bfd_instance B2 {
    neighbor_ip 192.0.2.101
    weight -5
}
bfd_instance B3 {
    neighbor_ip 192.0.2.102
    checker
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_bfd {
        B1 weight 7
        B2
    }
}
vrrp_instance VI_1 {
    interface lo
    virtual_router_id 1
    priority %d
    virtual_ipaddress {
        192.0.2.1/32
    }
    track_bfd {
        B2 weight 0
        B1 weight 4
    }
}
vrrp_instance VI_2 {
    interface lo
    virtual_router_id 2
    priority 100
    virtual_ipaddress {
        192.0.2.2/32
    }
}
vrrp_instance VI_3 {
    interface lo
    virtual_router_id 3
    priority 100
    virtual_ipaddress {
        192.0.2.3/32
    }
    track_bfd {
        B1
        B2 weight 9
        B3
    }
}
vrrp_instance VI_4 {
    interface lo
    virtual_router_id 4
    priority 100
    virtual_ipaddress {
        192.0.2.4/32
    }
    track_bfd {
        B1 weight 6 noreverse
    }
}
vrrp_instance VI_5 {
    interface lo
    virtual_router_id 5
    priority 100
    virtual_ipaddress {
        192.0.2.5/32
    }
    track_bfd {
        B1 weight -6
    }
}
`

func bfdWeights(nc vrrp.NetConfig) string {
	s := ""
	for _, tb := range nc.TrackBFDs {
		s += fmt.Sprintf("%s:%d:%v ", tb.Name, tb.Weight, tb.Reverse)
	}
	return s
}

// TestPlanTrackBFD requires keepalived 2.2.7's track_bfd rules: the
// bfd_instance's weight unless the entry sets one, and its reverse unless
// the entry says reverse or noreverse; a
// sync group member loses its own weighted entries, takes the group's,
// and for one it has itself keeps weight 0; an address owner in the
// group clears the group's weights; a block that sends only to the
// checkers is not there for VRRP.
func TestPlanTrackBFD(t *testing.T) {
	cfg := loadConf(t, fmt.Sprintf(bfdConf, 100))
	p := newLoop(t, cfg).plan(cfg)
	want := []string{
		"B2:0:false B1:7:true ",
		"B1:7:true B2:-5:false ",
		"B1:30:true B2:9:false ",
		"B1:6:false ",
		"B1:-6:true ",
	}
	for k, w := range want {
		if got := bfdWeights(p.specs[k].Net); got != w {
			t.Errorf("%s: track_bfd %q, want %q", p.specs[k].Config.Name, got, w)
		}
	}

	cfg = loadConf(t, fmt.Sprintf(bfdConf, 255))
	p = newLoop(t, cfg).plan(cfg)
	want[0], want[1] = "B2:0:false B1:0:true ", "B1:0:true B2:0:false "
	for k, w := range want {
		if got := bfdWeights(p.specs[k].Net); got != w {
			t.Errorf("address owner in the group: %s: track_bfd %q, want %q", p.specs[k].Config.Name, got, w)
		}
	}
}
