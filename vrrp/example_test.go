package vrrp_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/gokeepalived/gokeepalived/vrrp"
)

func ExampleAdvertisement_Unmarshal() {
	// A VRRPv3 advert as keepalived sends it from 10.77.0.1.
	b := []byte{0x31, 0x33, 0x96, 0x01, 0x00, 0x64, 0x42, 0xd9, 10, 77, 0, 100}
	var a vrrp.Advertisement
	err := a.Unmarshal(b, netip.MustParseAddr("10.77.0.1"), vrrp.DefaultGroup4())
	fmt.Println(a.Version, a.VRID, a.Priority, a.Interval, a.Addresses, err)

	// The same bytes claimed by another sender fail the checksum.
	err = a.Unmarshal(b, netip.MustParseAddr("10.77.0.2"), vrrp.DefaultGroup4())
	fmt.Println(err)
	// Output:
	// 3 51 150 1s [10.77.0.100] <nil>
	// Invalid VRRPv3 checksum
}

// A director's pair of instances, as a keepalived.conf with a
// vrrp_sync_group of VI_EXT and VI_INT describes them.
func ExampleRouter() {
	log := logrus.NewEntry(logrus.New())
	r := vrrp.NewRouter(nil, log)
	notify := func(t vrrp.Transition) { log.Infof("%s is now %v", t.Instance, t.To) }
	ext, err := r.Add(vrrp.Config{Name: "VI_EXT", VRID: 51, Priority: 150, Notify: notify,
		GarpMasterRepeat: vrrp.DefaultGarpMasterRepeat, GarpMasterDelay: vrrp.DefaultGarpMasterDelay},
		vrrp.NetConfig{Interface: "eth0", VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("192.0.2.10/24")}}})
	if err != nil {
		log.Fatal(err)
	}
	in, err := r.Add(vrrp.Config{Name: "VI_INT", VRID: 52, Priority: 150, Interval: 2 * time.Second, Notify: notify},
		vrrp.NetConfig{Interface: "eth1", VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.0.0.1/24"), Label: "eth1:gw"}}})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := vrrp.NewSyncGroup("VG_1", notify, log, ext, in); err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := r.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
