package main

import (
	"testing"

	"github.com/gokeepalived/gokeepalived/internal/control"
)

func TestStatusLine(t *testing.T) {
	inst := func(name, state string) control.Instance { return control.Instance{Name: name, State: state} }
	rs := func(alive bool) control.RealServer { return control.RealServer{Alive: alive} }
	for _, tt := range []struct {
		name string
		st   control.Status
		want string
	}{
		{"nothing", control.Status{}, "no VRRP instance and no virtual server"},
		{"one master", control.Status{Instances: []control.Instance{inst("VI_1", "MASTER")}},
			"VRRP: VI_1 MASTER"},
		{"named", control.Status{Instances: []control.Instance{inst("VI_1", "MASTER"), inst("VI_2", "BACKUP"), inst("VI_3", "FAULT")}},
			"VRRP: VI_1 MASTER, VI_2 BACKUP, VI_3 FAULT"},
		{"counted in reading order", control.Status{Instances: []control.Instance{
			inst("a", "BACKUP"), inst("b", "INIT"), inst("c", "MASTER"), inst("d", "BACKUP"), inst("e", "FAULT"), inst("f", "MASTER"), inst("g", "MASTER"),
		}}, "VRRP: 3 MASTER, 2 BACKUP, 1 FAULT, 1 INIT"},
		{"checkers only", control.Status{VirtualServers: []control.VirtualServer{
			{QuorumUp: true, RealServers: []control.RealServer{rs(true), rs(true)}},
		}}, "LVS: 1 virtual server, 2/2 real servers up"},
		{"both, quorum lost, sorry server", control.Status{
			Instances: []control.Instance{inst("VI_1", "BACKUP")},
			VirtualServers: []control.VirtualServer{
				{QuorumUp: true, RealServers: []control.RealServer{rs(true), rs(false)}},
				{QuorumUp: false, SorryServer: true, RealServers: []control.RealServer{rs(false)}},
			},
		}, "VRRP: VI_1 BACKUP; LVS: 2 virtual servers, 1/3 real servers up, 1 without quorum, 1 on the sorry server"},
	} {
		if got := statusLine(tt.st); got != tt.want {
			t.Errorf("%s: statusLine = %q, want %q", tt.name, got, tt.want)
		}
	}
}
