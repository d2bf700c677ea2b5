package bgp

import (
	"strings"
	"testing"
)

// TestConfs checks, without root, that both implementations' directors
// run the same VRRP instance and differ only in how the VIP reaches the
// router.
func TestConfs(t *testing.T) {
	ours := oursConf(2, "/d")
	theirs := keepalivedConf(2, "/d", "/usr/sbin/birdc", "/s/bird.ctl")
	instance := vrrpConf(2, "/d", "")
	if !strings.HasPrefix(ours, instance) {
		t.Errorf("gokeepalived's director does not start with the instance:\n%s", ours)
	}
	for _, s := range []string{"bgp_speaker {", "router_id 10.98.0.12", "neighbor 10.98.0.254 {", "source_ip 10.98.0.12",
		"bgp_announce WEB {", "prefix 10.10.10.10/32", "track_instance VI_1"} {
		if !strings.Contains(ours, s) {
			t.Errorf("gokeepalived's director lacks %q:\n%s", s, ours)
		}
	}
	stripped := theirs
	for _, verb := range []string{"master", "backup", "fault"} {
		line := map[string]string{"master": "enable", "backup": "disable", "fault": "disable"}[verb]
		want := `    notify_` + verb + ` "/usr/sbin/birdc -s /s/bird.ctl ` + line + ` vip"` + "\n"
		if !strings.Contains(theirs, want) {
			t.Errorf("keepalived's director lacks %q:\n%s", want, theirs)
		}
		stripped = strings.Replace(stripped, want, "", 1)
	}
	if !strings.HasSuffix(stripped, instance) {
		t.Errorf("keepalived's director's instance, notify lines aside, is not gokeepalived's:\n%s", stripped)
	}
	for _, s := range []string{"virtual_router_id 12", "advert_int 0.1", "file /d/health", "10.10.10.10/32"} {
		if !strings.Contains(instance, s) {
			t.Errorf("instance lacks %q:\n%s", s, instance)
		}
	}
	bird := directorBIRDConf(2)
	for _, s := range []string{"protocol static vip {\n    disabled;", "route 10.10.10.10/32 blackhole;", "local 10.98.0.12 as 65001;", "neighbor 10.98.0.254 as 65000;"} {
		if !strings.Contains(bird, s) {
			t.Errorf("director BIRD lacks %q:\n%s", s, bird)
		}
	}
	router := routerConf()
	for _, s := range []string{"merge paths yes;", "neighbor 10.98.0.11 as 65001;", "neighbor 10.98.0.13 as 65001;"} {
		if !strings.Contains(router, s) {
			t.Errorf("router lacks %q:\n%s", s, router)
		}
	}
}
