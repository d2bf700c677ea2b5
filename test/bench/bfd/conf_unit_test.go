package bfd

import (
	"strings"
	"testing"
)

func TestConfs(t *testing.T) {
	c := detectConf("10.79.0.2", "10.79.0.1", profile{mult: 3, interval: 10})
	for _, s := range []string{"bfd_instance B {", "neighbor_ip 10.79.0.1", "source_ip 10.79.0.2", "min_rx 10", "min_tx 10", "multiplier 3"} {
		if !strings.Contains(c, s) {
			t.Errorf("detection configuration lacks %q:\n%s", s, c)
		}
	}
	ours := takeoverConf(takeoverBackup, takeoverMaster, "BACKUP", 100, true)
	theirs := takeoverConf(takeoverBackup, takeoverMaster, "BACKUP", 100, false)
	if !strings.Contains(ours, "bfd_takeover PEER") || !strings.Contains(ours, "bfd_instance PEER") {
		t.Errorf("gokeepalived's backup lacks BFD:\n%s", ours)
	}
	if strings.Contains(theirs, "bfd") {
		t.Errorf("keepalived's backup has BFD, which it would refuse with bfd_takeover:\n%s", theirs)
	}
	if !strings.Contains(theirs, "advert_int 1\n") || !strings.Contains(theirs, "priority 100\n") {
		t.Errorf("keepalived's backup:\n%s", theirs)
	}
}
