package vrrpd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/kstate"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// vmacConf has five instances on eth0 with use_vmac: VI_A with a MAC
// address of five octets that its VRID completes, VI_B with a name and
// a MAC of six, VI_C unnamed, VI_D named as VI_E's VMAC would be named,
// and VI_E unnamed, which must then take another name; vmac_prefix
// starts the generated names.
const vmacConf = `global_defs {
	vmac_prefix lb
}
vrrp_instance VI_A {
	state MASTER
	interface eth0
	virtual_router_id 7
	priority 150
	advert_int 1
	use_vmac 02:11:22:33:44
	virtual_ipaddress {
		10.67.0.107/24
	}
}
vrrp_instance VI_B {
	state MASTER
	interface eth0
	virtual_router_id 8
	priority 150
	advert_int 1
	use_vmac vb 2:a:b:c:d:e
	virtual_ipaddress {
		10.67.0.108/24
	}
}
vrrp_instance VI_C {
	state MASTER
	interface eth0
	virtual_router_id 9
	priority 150
	advert_int 1
	use_vmac
	virtual_ipaddress {
		10.67.0.109/24
	}
}
vrrp_instance VI_D {
	state MASTER
	interface eth0
	virtual_router_id 11
	priority 150
	advert_int 1
	use_vmac lb.10
	virtual_ipaddress {
		10.67.0.111/24
	}
}
vrrp_instance VI_F {
	state MASTER
	interface eth0
	virtual_router_id 12
	priority 150
	advert_int 1
	use_vmac
	virtual_ipaddress {
		fd00:67::12/64
	}
	virtual_ipaddress_excluded {
		10.67.1.12/24
	}
}
vrrp_instance VI_E {
	state MASTER
	interface eth0
	virtual_router_id 10
	priority 150
	advert_int 1
	use_vmac
	virtual_ipaddress {
		10.67.0.110/24
	}
}
`

// macvlans is each macvlan interface of h as "name mac mode parent",
// sorted.
func macvlans(t *testing.T, h *nettest.Host) []string {
	t.Helper()
	out, err := h.Exec("ip", "-j", "-d", "link", "show", "type", "macvlan").Output()
	if err != nil {
		t.Fatalf("ip link: %v", err)
	}
	var links []struct {
		Name     string `json:"ifname"`
		Link     string `json:"link"`
		Address  string `json:"address"`
		LinkInfo struct {
			Data struct {
				Mode string `json:"mode"`
			} `json:"info_data"`
		} `json:"linkinfo"`
		Flags []string `json:"flags"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		t.Fatalf("ip -j link: %v", err)
	}
	var got []string
	for _, l := range links {
		got = append(got, fmt.Sprintf("%s %s %s %s up=%v", l.Name, l.Address, l.LinkInfo.Data.Mode, l.Link, slices.Contains(l.Flags, "UP")))
	}
	slices.Sort(got)
	return got
}

// TestVMACNamesAndAddressesAsKeepalived runs keepalived, then
// gokeepalived, with vmacConf and requires the same VMAC interfaces
// (names, MAC addresses, mode, parent) and the same nftables ruleset
// (keepalived's VMAC maps, which move IGMP and MLD reports to the
// parent) while the instances are MASTER, and neither after SIGTERM.
func TestVMACNamesAndAddressesAsKeepalived(t *testing.T) {
	lab := nettest.NewLab(t)
	a := lab.AddHost("a", "10.67.0.1/24")
	seen := make(map[string][]string)
	rulesets := make(map[string][]string)
	for _, d := range daemons {
		t.Run(d.name, func(t *testing.T) {
			p := d.start(t, a, vmacConf)
			wait(t, d.name+" masters", 20*time.Second, func() bool {
				for _, vip := range []string{"10.67.0.107", "10.67.0.108", "10.67.0.109", "10.67.0.110", "10.67.0.111", "fd00:67::12"} {
					if !a.HasAddr(vip) {
						return false
					}
				}
				return true
			})
			seen[d.name] = macvlans(t, a)
			rulesets[d.name] = nftState(t, a)
			t.Logf("%s: %v", d.name, seen[d.name])
			if err := p.Stop(t, 10*time.Second); err != nil {
				t.Errorf("%s exited with %v", d.name, err)
			}
			if left := macvlans(t, a); len(left) != 0 {
				t.Errorf("after SIGTERM %s left %v", d.name, left)
			}
			if left := ruleset(t, a); len(left) != 0 {
				t.Errorf("after SIGTERM %s left the ruleset %v", d.name, left)
			}
		})
	}
	want := []string{
		"lb.7 02:11:22:33:44:07 private eth0 up=true",
		"lb.9 00:00:5e:00:01:09 private eth0 up=true",
		"lb.10 00:00:5e:00:01:0b private eth0 up=true",
		"lb1.10 00:00:5e:00:01:0a private eth0 up=true",
		"lb.12 00:00:5e:00:02:0c private eth0 up=true",
		"vb 02:0a:0b:0c:0d:0e private eth0 up=true",
	}
	slices.Sort(want)
	if ka := seen["keepalived"]; !reflect.DeepEqual(ka, want) {
		t.Errorf("keepalived's VMACs:\n%v\nthe test expects\n%v", ka, want)
	}
	if len(rulesets["keepalived"]) == 0 {
		t.Error("keepalived made no nftables ruleset")
	}
	if !slices.Equal(rulesets["gokeepalived"], rulesets["keepalived"]) {
		t.Errorf("rulesets differ\nkeepalived:\n%s\ngokeepalived:\n%s",
			strings.Join(rulesets["keepalived"], "\n"), strings.Join(rulesets["gokeepalived"], "\n"))
	}
	if !reflect.DeepEqual(seen["gokeepalived"], seen["keepalived"]) {
		t.Errorf("VMACs differ\nkeepalived:   %v\ngokeepalived: %v", seen["keepalived"], seen["gokeepalived"])
	}
}

// nftState is h's nftables ruleset as the kernel-state lab captures it:
// without handles and counts, and the VMAC maps' data by interface name.
func nftState(t *testing.T, h *nettest.Host) []string {
	t.Helper()
	st, err := kstate.Capture(context.Background(), h.NS)
	if err != nil {
		t.Fatal(err)
	}
	return st[kstate.Nft]
}
