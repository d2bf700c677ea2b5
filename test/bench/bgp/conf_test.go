package bgp

import "fmt"

// Addresses of a lab: the router and three directors on one segment, and
// the VIP every director announces.
const (
	routerAddr = "10.98.0.254"
	vip        = "10.10.10.10"
	vipPrefix  = vip + "/32"
	nDirectors = 3
)

// dirAddr is director n's address, n from 1.
func dirAddr(n int) string { return fmt.Sprintf("10.98.0.1%d", n) }

// routerConf is BIRD's configuration on the router, the same for either
// implementation's directors: an eBGP session to each director, their
// routes merged into one ECMP route in the kernel table, and a dropped
// session tried again after a second.
func routerConf() string {
	s := fmt.Sprintf(`router id %s;
protocol device { scan time 10; }
protocol kernel {
    ipv4 { import none; export all; };
    merge paths yes;
}
template bgp dir {
    local %s as 65000;
    connect retry time 1;
    error wait time 1, 2;
    ipv4 { import all; export none; };
}
`, routerAddr, routerAddr)
	for n := 1; n <= nDirectors; n++ {
		s += fmt.Sprintf("protocol bgp d%d from dir { neighbor %s as 65001; }\n", n, dirAddr(n))
	}
	return s
}

// vrrpConf is director n's VRRP instance, the same for both
// implementations: alone on its VRID (so MASTER while healthy), in FAULT
// while the track_file in dir holds a non-zero value; notify adds the
// notify lines of keepalived's glue.
func vrrpConf(n int, dir, notify string) string {
	return fmt.Sprintf(`track_file HEALTH {
    file %s/health
    weight 0
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    version 3
    virtual_router_id %d
    priority 200
    advert_int 0.1
    track_file {
        HEALTH
    }
    virtual_ipaddress {
        %s
    }
%s}
`, dir, 10+n, vipPrefix, notify)
}

// oursConf is gokeepalived's director n: the instance, and the VIP
// announced to the router while the instance is MASTER.
func oursConf(n int, dir string) string {
	return vrrpConf(n, dir, "") + fmt.Sprintf(`bgp_speaker {
    router_id %s
    local_as 65001
    hold_time 9
    neighbor %s {
        remote_as 65000
        source_ip %s
    }
}
bgp_announce WEB {
    prefix %s
    track_instance VI_1
}
`, dirAddr(n), routerAddr, dirAddr(n), vipPrefix)
}

// keepalivedConf is keepalived's director n: the same instance, whose
// notify scripts switch the static route of the director's own BIRD
// (directorBIRDConf) on as it becomes MASTER and off as it leaves, the
// glue operators run beside keepalived, which has no BGP of its own.
func keepalivedConf(n int, dir, birdc, sock string) string {
	cmd := func(verb string) string { return fmt.Sprintf("%q", birdc+" -s "+sock+" "+verb+" vip") }
	return `global_defs {
    script_user root
    enable_script_security
}
` + vrrpConf(n, dir, fmt.Sprintf("    notify_master %s\n    notify_backup %s\n    notify_fault %s\n",
		cmd("enable"), cmd("disable"), cmd("disable")))
}

// directorBIRDConf is the BIRD beside keepalived on director n: a static
// route to the VIP, disabled until keepalived's notify_master enables
// it, exported to the router over eBGP (next hop: the director).
func directorBIRDConf(n int) string {
	return fmt.Sprintf(`router id %s;
protocol device { scan time 10; }
protocol static vip {
    disabled;
    ipv4;
    route %s blackhole;
}
protocol bgp uplink {
    local %s as 65001;
    neighbor %s as 65000;
    hold time 9;
    connect retry time 1;
    error wait time 1, 2;
    ipv4 { import none; export all; };
}
`, dirAddr(n), vipPrefix, dirAddr(n), routerAddr)
}
