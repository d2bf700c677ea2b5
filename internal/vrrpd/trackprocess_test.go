package vrrpd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/vrrp"
)

const processConf = `vrrp_track_process web {
    process /usr/sbin/nginx -g daemon
    param_match initial
    quorum 2
    quorum_max 4
    weight 10 reverse
    terminate_delay 1.5
    fork_delay 2
}
vrrp_track_process db {
    process postgres
    weight -30
}
vrrp_track_process gone {
    process stray
    quorum_max 0
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_process {
        web weight 5
        db
    }
}
%s`

// processInstance is a vrrp_instance on lo with a track_process block
// of tracks, when given.
func processInstance(name string, prio int, tracks ...string) string {
	block := ""
	if len(tracks) > 0 {
		block = "    track_process {\n        " + strings.Join(tracks, "\n        ") + "\n    }\n"
	}
	vrid := name[len(name)-1:]
	return fmt.Sprintf("vrrp_instance %s {\n    interface lo\n    virtual_router_id %s\n    priority %d\n"+
		"    virtual_ipaddress {\n        192.0.2.%s/32\n    }\n%s}\n", name, vrid, prio, vrid, block)
}

// processConfig is processConf with VI_1 at priority prio.
func processConfig(prio int) string {
	return fmt.Sprintf(processConf, processInstance("VI_1", prio, "db weight -8", "gone")+
		processInstance("VI_2", 100)+processInstance("VI_3", 100, "web", "db weight 0"))
}

func processWeights(nc vrrp.NetConfig) string {
	s := ""
	for _, tp := range nc.TrackProcesses {
		s += fmt.Sprintf("%s:%d:%v ", tp.Process.Name, tp.Weight, tp.Reverse)
	}
	return s
}

// TestPlanTrackProcess requires keepalived 2.2.7's track_process rules: the
// definition's weight and reverse unless the entry sets a weight; a sync
// group member keeps its own entries' weights (keepalived clears those
// of scripts and files only), takes the group's entries, and for one it
// has itself the group's weight unless its own is 0; an address owner in
// the group clears the group's weights.
func TestPlanTrackProcess(t *testing.T) {
	cfg := loadConf(t, processConfig(100))
	p := newLoop(t, cfg).plan(cfg)
	want := []string{
		"db:-30:false gone:0:false web:5:true ",
		"web:5:true db:-30:false ",
		"web:10:true db:0:false ",
	}
	for k, w := range want {
		if got := processWeights(p.specs[k].Net); got != w {
			t.Errorf("%s: track_process %q, want %q", p.specs[k].Config.Name, got, w)
		}
	}
	web := p.specs[2].Net.TrackProcesses[0].Process
	wantWeb := vrrp.TrackProcess{
		Name: "web", Process: "/usr/sbin/nginx", Params: []string{"-g", "daemon"}, ParamMatch: vrrp.ParamMatchInitial,
		FullCommand: true, Quorum: 2, QuorumMax: 4, TerminateDelay: 1500 * time.Millisecond, ForkDelay: 2 * time.Second,
	}
	if fmt.Sprint(*web) != fmt.Sprint(wantWeb) {
		t.Errorf("web: %+v, want %+v", *web, wantWeb)
	}
	if p.specs[0].Net.TrackProcesses[0].Process != p.specs[1].Net.TrackProcesses[1].Process {
		t.Error("the instances do not share the definition of db")
	}
	gone := p.specs[0].Net.TrackProcesses[1].Process
	if gone.Quorum != 0 || gone.QuorumMax != 0 {
		t.Errorf("gone: quorum [%d:%d], want [0:0]", gone.Quorum, gone.QuorumMax)
	}

	cfg = loadConf(t, processConfig(255))
	p = newLoop(t, cfg).plan(cfg)
	want[0], want[1] = "db:0:false gone:0:false web:0:true ", "web:0:true db:0:false "
	for k, w := range want {
		if got := processWeights(p.specs[k].Net); got != w {
			t.Errorf("address owner in the group: %s: track_process %q, want %q", p.specs[k].Config.Name, got, w)
		}
	}
}
