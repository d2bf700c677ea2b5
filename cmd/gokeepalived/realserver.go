package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// runRealServer is `gokeepalived realserver start|stop --vip ADDR [--tun]`:
// what the real server scripts of LVS-DR and LVS-TUN walkthroughs do by
// hand. start puts the VIP on lo (DR) or tunl0 (TUN) as a host address and
// stops the server from answering ARP for it, so that only the director
// does; stop undoes it. Both may be run again without harm.
func runRealServer(args []string, stdout, stderr io.Writer) int {
	opts, rest, err := getopt([]option{{0, "vip", requiredArg}, {0, "tun", noArg}}, args)
	if err == nil && (len(rest) != 1 || (rest[0] != "start" && rest[0] != "stop")) {
		err = errors.New("usage: gokeepalived realserver start|stop --vip ADDR [--vip ADDR...] [--tun]")
	}
	var vips []netip.Addr
	tun := false
	for _, p := range opts {
		switch p.opt.long {
		case "vip":
			a, perr := netip.ParseAddr(p.value)
			if perr != nil && err == nil {
				err = fmt.Errorf("--vip %q: %w", p.value, perr)
			}
			vips = append(vips, a)
		case "tun":
			tun = true
		}
	}
	if err == nil && len(vips) == 0 {
		err = errors.New("realserver: at least one --vip is needed")
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitProgramError
	}
	rs := realServer{tun: tun, sysctl: "/proc/sys"}
	if rest[0] == "start" {
		err = rs.start(vips, stdout)
	} else {
		err = rs.stop(vips, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gokeepalived realserver %s: %v\n", rest[0], err)
		return exitProgramError
	}
	return exitOK
}

type realServer struct {
	tun    bool
	sysctl string // root of the sysctl tree, /proc/sys
}

// device is where the VIP lives: lo for direct routing, the IPIP tunnel
// device for tunnelling.
func (r realServer) device() (netlink.Link, error) {
	name := "lo"
	if r.tun {
		name = "tunl0"
	}
	l, err := netlink.LinkByName(name)
	if err != nil && r.tun {
		// tunl0 appears when the ipip module loads; ask for it.
		if aerr := netlink.LinkAdd(&netlink.Iptun{LinkAttrs: netlink.LinkAttrs{Name: "tunl0"}}); aerr != nil && !errors.Is(aerr, unix.EEXIST) {
			return nil, fmt.Errorf("creating tunl0 (is the ipip module available?): %w", aerr)
		}
		l, err = netlink.LinkByName(name)
	}
	if err != nil {
		return nil, fmt.Errorf("finding %s: %w", name, err)
	}
	return l, nil
}

func hostPrefix(a netip.Addr) netip.Prefix {
	return netip.PrefixFrom(a, a.BitLen())
}

func (r realServer) start(vips []netip.Addr, out io.Writer) error {
	l, err := r.device()
	if err != nil {
		return err
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("bringing %s up: %w", l.Attrs().Name, err)
	}
	v4 := false
	for _, vip := range vips {
		p := hostPrefix(vip)
		addr := &netlink.Addr{IPNet: prefixNet(p), Scope: int(netlink.SCOPE_HOST)}
		if vip.Is6() {
			addr.Flags = unix.IFA_F_NODAD
			addr.Scope = int(netlink.SCOPE_UNIVERSE)
		} else {
			v4 = true
		}
		if err := netlink.AddrAdd(l, addr); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("adding %s to %s: %w", p, l.Attrs().Name, err)
		}
		fmt.Fprintf(out, "%s on %s\n", p, l.Attrs().Name)
	}
	if !v4 {
		return nil
	}
	// arp_ignore 1: answer ARP only for addresses of the asking
	// interface; arp_announce 2: never use the VIP as the source of our
	// own ARP requests. Without them the real server steals the VIP from
	// the director.
	set := map[string]string{
		"net/ipv4/conf/all/arp_ignore": "1", "net/ipv4/conf/all/arp_announce": "2",
		"net/ipv4/conf/" + l.Attrs().Name + "/arp_ignore": "1", "net/ipv4/conf/" + l.Attrs().Name + "/arp_announce": "2",
	}
	if r.tun {
		// Decapsulated packets arrive on tunl0 with the client's source:
		// reverse-path filtering would drop them.
		set["net/ipv4/conf/all/rp_filter"] = "0"
		set["net/ipv4/conf/tunl0/rp_filter"] = "0"
	}
	return r.writeSysctls(set, out)
}

func (r realServer) stop(vips []netip.Addr, out io.Writer) error {
	l, err := r.device()
	if err != nil {
		return err
	}
	for _, vip := range vips {
		p := hostPrefix(vip)
		err := netlink.AddrDel(l, &netlink.Addr{IPNet: prefixNet(p)})
		if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("removing %s from %s: %w", p, l.Attrs().Name, err)
		}
		fmt.Fprintf(out, "%s removed from %s\n", p, l.Attrs().Name)
	}
	// The ARP settings stay while other service addresses remain.
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("listing addresses of %s: %w", l.Attrs().Name, err)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			fmt.Fprintf(out, "ARP settings kept: %s still has %s\n", l.Attrs().Name, a.IPNet)
			return nil
		}
	}
	return r.writeSysctls(map[string]string{
		"net/ipv4/conf/all/arp_ignore": "0", "net/ipv4/conf/all/arp_announce": "0",
		"net/ipv4/conf/" + l.Attrs().Name + "/arp_ignore": "0", "net/ipv4/conf/" + l.Attrs().Name + "/arp_announce": "0",
	}, out)
}

func (r realServer) writeSysctls(set map[string]string, out io.Writer) error {
	for k, v := range set {
		if err := os.WriteFile(filepath.Join(r.sysctl, k), []byte(v), 0o644); err != nil {
			return fmt.Errorf("setting %s: %w", strings.ReplaceAll(k, "/", "."), err)
		}
		fmt.Fprintf(out, "%s = %s\n", strings.ReplaceAll(k, "/", "."), v)
	}
	return nil
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
