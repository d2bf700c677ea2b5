package chaos

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// Addresses of the lab's segment.
const (
	subnet      = "10.66.0.%d/24"
	clientAddr  = 10
	servicePort = "7000" // the TCP service each director runs on its VIPs
)

// prefLoss is the preference of the loss filters on a host's clsact
// qdisc, by which they are removed.
const prefLoss = 100

// A director is one namespace running gokeepalived and the TCP service.
type director struct {
	name   string
	host   *nettest.Host
	dir    string // configuration, pid files, health flag
	daemon *nettest.Daemon
	runs   []string // output of earlier runs, killed
	nl     *netlink.Handle
	link   int // eth0's index
	ln     net.Listener
}

// healthFlag is the file whose presence fails the director's health
// script.
func (d *director) healthFlag() string { return filepath.Join(d.dir, "unhealthy") }

// log returns everything the director's daemons printed, earliest run
// first.
func (d *director) log() string {
	s := strings.Join(d.runs, "")
	if d.daemon != nil {
		s += d.daemon.Output()
	}
	return s
}

// A lab is three directors and a client on one bridge.
type lab struct {
	t       *testing.T
	net     *nettest.Lab
	bin     string
	advert  time.Duration
	dirs    [nDirectors]*director
	client  *nettest.Host
	sw      string                  // the namespace of the lab's bridge
	swnl    *netlink.Handle         // a netlink handle in it
	bridges map[string]int          // br0 and br1: their indexes
	ports   map[string]netlink.Link // host namespace -> its port on the bridge
	cnl     *netlink.Handle
	clink   int
	netem   bool // sch_netem is usable
	bfd     bool // the directors run BFD with each other and bfd_takeover
	started time.Time
}

// newLab builds the segment, the directors' services and the filters'
// plumbing; the daemons start with startDaemons. With bfd, the directors'
// configurations add BFD sessions between every two of them and
// bfd_takeover.
func newLab(t *testing.T, bin string, advert time.Duration, bfd bool) *lab {
	t.Helper()
	lb := &lab{t: t, net: nettest.NewLab(t), bin: bin, advert: advert, bfd: bfd,
		ports: map[string]netlink.Link{}, bridges: map[string]int{}}
	for k := range lb.dirs {
		d := &director{name: dirName(k), dir: t.TempDir()}
		d.host = lb.net.AddHost(d.name, fmt.Sprintf(subnet, 11+k))
		if k == 0 {
			lb.findSwitch(d.host)
		}
		d.nl = d.host.Netlink()
		d.link = linkIndex(t, d.nl)
		lb.plumb(d.host)
		d.ln = listen(t, d.host)
		go serve(d.ln, d.name)
		conf := filepath.Join(d.dir, "keepalived.conf")
		if err := os.WriteFile(conf, []byte(makeConf(k, advert, d.healthFlag(), bfd)), 0o644); err != nil {
			t.Fatal(err)
		}
		lb.dirs[k] = d
	}
	lb.client = lb.net.AddHost("client", fmt.Sprintf(subnet, clientAddr))
	lb.cnl = lb.client.Netlink()
	lb.clink = linkIndex(t, lb.cnl)
	lb.plumb(lb.client)
	lb.netem = lb.probeNetem()
	return lb
}

func linkIndex(t *testing.T, nl *netlink.Handle) int {
	t.Helper()
	l, err := nl.LinkByName("eth0")
	if err != nil {
		t.Fatalf("finding eth0: %v", err)
	}
	return l.Attrs().Index
}

// findSwitch finds the namespace of the lab's bridge through h's eth0,
// whose veth peer is a port of it, and adds a second bridge there for
// partitions.
func (lb *lab) findSwitch(h *nettest.Host) {
	lb.t.Helper()
	var ids []struct {
		NSID int    `json:"nsid"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(h.Run("ip", "-j", "netns", "list-id")), &ids); err != nil {
		lb.t.Fatalf("reading %s's namespace ids: %v", h.NS, err)
	}
	_, nsid := lb.peer(h)
	for _, id := range ids {
		if id.NSID == nsid {
			lb.sw = id.Name
		}
	}
	if lb.sw == "" {
		lb.t.Fatalf("no named namespace holds the peer of %s's eth0", h.NS)
	}
	ip := func(args ...string) {
		lb.t.Helper()
		if out, err := exec.Command("ip", append([]string{"-n", lb.sw}, args...)...).CombinedOutput(); err != nil {
			lb.t.Fatalf("ip -n %s %s: %v: %s", lb.sw, strings.Join(args, " "), err, out)
		}
	}
	ip("link", "add", "br1", "type", "bridge", "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0")
	ip("link", "set", "br1", "up")
	ns, err := netns.GetFromName(lb.sw)
	if err != nil {
		lb.t.Fatalf("opening namespace %s: %v", lb.sw, err)
	}
	defer ns.Close()
	// Route family only: a kernel without xfrm or nfnetlink must not
	// matter here.
	if lb.swnl, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE); err != nil {
		lb.t.Fatalf("netlink handle in %s: %v", lb.sw, err)
	}
	lb.t.Cleanup(lb.swnl.Close)
	for _, br := range []string{"br0", "br1"} {
		l, err := lb.swnl.LinkByName(br)
		if err != nil {
			lb.t.Fatalf("finding %s in %s: %v", br, lb.sw, err)
		}
		lb.bridges[br] = l.Attrs().Index
	}
}

// peer returns the index and namespace id of the veth peer of h's eth0.
func (lb *lab) peer(h *nettest.Host) (index, nsid int) {
	lb.t.Helper()
	var links []struct {
		LinkIndex   int `json:"link_index"`
		LinkNetNSID int `json:"link_netnsid"`
	}
	if err := json.Unmarshal([]byte(h.Run("ip", "-j", "-d", "link", "show", "eth0")), &links); err != nil || len(links) != 1 {
		lb.t.Fatalf("reading %s's eth0: %v", h.NS, err)
	}
	return links[0].LinkIndex, links[0].LinkNetNSID
}

// plumb records h's bridge port and prepares h for loss filters: a clsact
// qdisc on eth0 and a sink, a veth whose peer is up in the bridge's
// namespace, attached to nothing, to which the filters redirect what they
// drop. (The kernel this runs on may lack the gact action, so "action
// drop" is not available. Redirecting to a link that is down would drop
// too, but would return ENOBUFS to the sender, which a wire does not.)
func (lb *lab) plumb(h *nettest.Host) {
	lb.t.Helper()
	index, _ := lb.peer(h)
	port, err := lb.swnl.LinkByIndex(index)
	if err != nil {
		lb.t.Fatalf("finding the bridge port of %s's eth0 in %s: %v", h.NS, lb.sw, err)
	}
	lb.ports[h.NS] = port
	drain := "s-" + h.Name
	h.Run("ip", "link", "add", "sink", "type", "veth", "peer", "name", drain, "netns", lb.sw)
	h.Run("ip", "link", "set", "sink", "addrgenmode", "none", "up")
	if out, err := exec.Command("ip", "-n", lb.sw, "link", "set", drain, "addrgenmode", "none", "up").CombinedOutput(); err != nil {
		lb.t.Fatalf("setting %s up in %s: %v: %s", drain, lb.sw, err, out)
	}
	h.Run("tc", "qdisc", "add", "dev", "eth0", "clsact")
}

// probeNetem reports whether a netem qdisc can be attached (sch_netem
// built in or loadable).
func (lb *lab) probeNetem() bool {
	exec.Command("modprobe", "-q", "sch_netem").Run()
	h := lb.client
	if err := h.Exec("tc", "qdisc", "add", "dev", "sink", "root", "netem", "delay", "1ms").Run(); err != nil {
		return false
	}
	h.Exec("tc", "qdisc", "del", "dev", "sink", "root").Run()
	return true
}

// listen opens the director's TCP service in its namespace on every
// address, so that it answers on whichever VIPs the director holds. The
// listener belongs to the test, not to the daemon: a killed or hung
// daemon's VIPs still answer, as a real director's service would.
func listen(t *testing.T, h *nettest.Host) net.Listener {
	t.Helper()
	var ln net.Listener
	err := h.Do(func() (err error) {
		ln, err = net.Listen("tcp4", ":"+servicePort)
		return err
	})
	if err != nil {
		t.Fatalf("listening in %s: %v", h.NS, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// serve answers each connection with the director's name.
func serve(ln net.Listener, name string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte(name + "\n"))
		c.Close()
	}
}

// makeConf renders director k's keepalived.conf.
//
// VRRPv3 at advert_int 0.5: Master_Down_Interval is about 1.7-2.0 s, so a
// fault and its healing settle in a few seconds and a CI-length run fits
// a few dozen faults, while an advert still tolerates the scheduling
// stalls of a shared 2-core machine (0.1 s would turn a 300 ms stall into
// a failover). vrrp_higher_prio_send_advert makes a master that steps
// down for a higher priority answer first; the winner, hearing a lower
// priority, then sends gratuitous ARP (garp_lower_prio_repeat defaults
// to garp_master_repeat). Without it, which master's advert crosses first
// after a partition heals decides whether the client's ARP entry is
// refreshed, and a client that sided with the loser keeps its stale entry
// for tens of seconds; keepalived behaves the same. The health script
// runs as root under script security, which both daemons insist on.
//
// With bfd, director k runs a bfd_instance toward each other director
// (named after it: D1, D2, D3) and each instance names, in bfd_takeover,
// the session to the director that is its master when all are well
// (the master's own instance names its session to its first backup): a
// backup takes over from a master whose session goes Down after its
// skew time, unless the master answers its own Down with an advert,
// rather than after three missed adverts.
func makeConf(k int, advert time.Duration, healthFlag string, bfd bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global_defs {
    router_id %s
    vrrp_higher_prio_send_advert
    script_user root
    enable_script_security
}
vrrp_script chk_health {
    script "/usr/bin/test ! -e %s"
    interval 1
    fall 1
    rise 1
}
`, dirName(k), healthFlag)
	if bfd {
		for j := range nDirectors {
			if j != k {
				fmt.Fprintf(&b, `bfd_instance %s {
    neighbor_ip %s
    source_ip %s
    min_rx %d
    min_tx %d
    idle_tx 1000
    multiplier %d
}
`, bfdSession(j), dirAddr(j), dirAddr(k), bfdInterval/time.Millisecond, bfdInterval/time.Millisecond, bfdMultiplier)
			}
		}
	}
	for _, in := range instances {
		var extra string
		if bfd {
			extra += fmt.Sprintf("    bfd_takeover %s\n", bfdSession(takeoverPeer(in, k)))
		}
		if in.nopreempt {
			extra += "    nopreempt\n"
		}
		switch in.track {
		case trackWeight:
			extra += fmt.Sprintf("    track_script {\n        chk_health weight %d\n    }\n", healthWeight)
		case trackFault:
			extra += "    track_script {\n        chk_health\n    }\n"
		}
		fmt.Fprintf(&b, `vrrp_instance %s {
    state BACKUP
    interface eth0
    version 3
    virtual_router_id %d
    priority %d
    advert_int %s
%s    virtual_ipaddress {
        %s/24
    }
}
`, in.name, in.vrid, in.prio[k], strconv.FormatFloat(advert.Seconds(), 'f', -1, 64), extra, in.vip)
	}
	return b.String()
}

// The BFD sessions of the BFD variant: 3 x 100 ms, a detection well
// inside an advert at 0.5 s and beyond the scheduling stalls of a loaded
// 2-core machine.
const (
	bfdInterval   = 100 * time.Millisecond
	bfdMultiplier = 3
)

// bfdSession names director d's bfd_instance on the others.
func bfdSession(d int) string { return strings.ToUpper(dirName(d)) }

// dirAddr is director d's address on the segment.
func dirAddr(d int) string { return fmt.Sprintf("10.66.0.%d", 11+d) }

// takeoverPeer is the director whose session instance in names in
// bfd_takeover on director k: the one of highest priority other than k,
// the master k backs up when all are well.
func takeoverPeer(in instanceSpec, k int) int {
	best := -1
	for d := range nDirectors {
		if d != k && (best < 0 || in.prio[d] > in.prio[best]) {
			best = d
		}
	}
	return best
}

// blockBFD drops every BFD control packet (UDP to port 3784) into and
// out of h with nftables, and nothing else: VRRP, IP protocol 112, goes
// on. unblockBFD removes the table.
func (lb *lab) blockBFD(h *nettest.Host) {
	lb.t.Helper()
	for _, cmd := range [][]string{
		{"add", "table", "inet", "chaosbfd"},
		{"add", "chain", "inet", "chaosbfd", "in", "{ type filter hook input priority 0 ; }"},
		{"add", "chain", "inet", "chaosbfd", "out", "{ type filter hook output priority 0 ; }"},
		{"add", "rule", "inet", "chaosbfd", "in", "udp", "dport", "3784", "drop"},
		{"add", "rule", "inet", "chaosbfd", "out", "udp", "dport", "3784", "drop"},
	} {
		h.Run("nft", cmd...)
	}
}

func (lb *lab) unblockBFD(h *nettest.Host) {
	lb.t.Helper()
	h.Run("nft", "delete", "table", "inet", "chaosbfd")
}

// start runs director d's daemon with keepalived's command line, VRRP
// only, logging in detail to the console the test keeps.
func (lb *lab) start(d *director) {
	lb.t.Helper()
	d.daemon = d.host.Start(lb.t, lb.bin, "-P", "-n", "-l", "-D", "-G",
		"-f", filepath.Join(d.dir, "keepalived.conf"),
		"-p", filepath.Join(d.dir, "keepalived.pid"),
		"-r", filepath.Join(d.dir, "vrrp.pid"),
		"-c", filepath.Join(d.dir, "checkers.pid"),
		"--control-socket", filepath.Join(d.dir, "ctl.sock"))
}

// kill sends SIGKILL to d's daemon and keeps its output.
func (lb *lab) kill(d *director) {
	d.daemon.Kill()
	d.runs = append(d.runs, fmt.Sprintf("%s\n--- killed at +%v ---\n", d.daemon.Output(), lb.since()))
	d.daemon = nil
}

// signal sends sig to d's daemon's process group, so that a daemon of
// several processes (keepalived's parent and VRRP child) hangs as a whole.
func (lb *lab) signal(d *director, sig syscall.Signal) {
	lb.t.Helper()
	if err := syscall.Kill(-d.daemon.Pid(), sig); err != nil {
		lb.t.Fatalf("signalling %s: %v", d.name, err)
	}
}

// stormPairs is the veth pairs of a storm: 4 link changes each, a burst
// several times what a netlink subscriber's buffer holds.
const stormPairs = 300

// pressFDs lowers d's daemon's descriptor limit to 64 and opens many
// connections to its status socket, as a client gone
// wrong would: a daemon that accepted them all would run out of
// descriptors for its scripts and sockets. It returns the function that
// closes them and restores the limit.
func (lb *lab) pressFDs(d *director) func() {
	lb.t.Helper()
	pid := strconv.Itoa(d.daemon.Pid())
	old := strings.TrimSpace(lb.run(exec.Command("prlimit", "--pid", pid, "--nofile", "--output", "SOFT,HARD", "--noheadings")))
	soft, hard, _ := strings.Cut(strings.Join(strings.Fields(old), ":"), ":")
	// The soft limit only: raising a hard limit back takes a capability
	// the test may not have.
	lb.run(exec.Command("prlimit", "--pid", pid, "--nofile=64:"+hard))
	var conns []net.Conn
	for range 200 {
		c, err := net.DialTimeout("unix", filepath.Join(d.dir, "ctl.sock"), 100*time.Millisecond)
		if err != nil {
			break // the backlog is full: the daemon takes no more
		}
		conns = append(conns, c)
	}
	return func() {
		for _, c := range conns {
			c.Close()
		}
		lb.run(exec.Command("prlimit", "--pid", pid, "--nofile="+soft+":"+hard))
	}
}

// run runs cmd and returns its output; a failure fails the test.
func (lb *lab) run(cmd *exec.Cmd) string {
	lb.t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		lb.t.Fatalf("%s: %v: %s", strings.Join(cmd.Args, " "), err, out)
	}
	return string(out)
}

func (lb *lab) since() time.Duration { return time.Since(lb.started).Round(time.Millisecond) }

// hosts returns the directors' and the client's hosts, index nDirectors
// being the client.
func (lb *lab) hosts() []*nettest.Host {
	hs := make([]*nettest.Host, 0, nDirectors+1)
	for _, d := range lb.dirs {
		hs = append(hs, d.host)
	}
	return append(hs, lb.client)
}

// partition moves the bridge ports of the hosts on side 1 to a second
// bridge: a clean cut, with links up. side is indexed as hosts. The moves
// are netlink calls microseconds apart, so that the hosts cut off stop
// hearing the other side's adverts at the same moment and their down
// timers, hence a nopreempt election among them, follow their priorities
// alone.
func (lb *lab) partition(side []int) {
	lb.t.Helper()
	for h, host := range lb.hosts() {
		if side[h] == 1 {
			lb.setMaster(host, "br1")
		}
	}
}

// heal moves the ports back, the client's first. Moving one port joins
// its host to the rest in both directions at once, so no director hears
// another that cannot hear it (which would lose the advert that makes the
// winner send gratuitous ARP); moving the client first makes sure it
// hears that ARP.
func (lb *lab) heal(side []int) {
	lb.t.Helper()
	hs := lb.hosts()
	if side[nDirectors] == 1 {
		lb.setMaster(lb.client, "br0")
	}
	for h, host := range hs[:nDirectors] {
		if side[h] == 1 {
			lb.setMaster(host, "br0")
		}
	}
}

func (lb *lab) setMaster(h *nettest.Host, br string) {
	lb.t.Helper()
	if err := lb.swnl.LinkSetMasterByIndex(lb.ports[h.NS], lb.bridges[br]); err != nil {
		lb.t.Fatalf("moving %s's port to %s: %v", h.Name, br, err)
	}
}

// lossBytecode is a classic BPF program matching a packet with
// probability p: ld rand; jgt K; ret -1; ret 0, with K = p * 2^32.
func lossBytecode(p float64) string {
	k := uint64(p * (1 << 32))
	return fmt.Sprintf("4,32 0 0 %d,37 1 0 %d,6 0 0 4294967295,6 0 0 0", uint32(0xfffff000+56), min(k, 1<<32-1))
}

// setLoss drops a fraction p of h's frames in each direction, at eth0's
// ingress and egress, with a classic BPF filter (the kernel's own random
// numbers: the loss pattern is not the seed's).
func (lb *lab) setLoss(h *nettest.Host, p float64) {
	lb.t.Helper()
	for _, dir := range []string{"ingress", "egress"} {
		h.Run("tc", "filter", "add", "dev", "eth0", dir, "pref", strconv.Itoa(prefLoss),
			"protocol", "all", "bpf", "bytecode", lossBytecode(p),
			"action", "mirred", "egress", "redirect", "dev", "sink")
	}
}

func (lb *lab) clearLoss(h *nettest.Host) {
	lb.t.Helper()
	for _, dir := range []string{"ingress", "egress"} {
		h.Run("tc", "filter", "del", "dev", "eth0", dir, "pref", strconv.Itoa(prefLoss))
	}
}

// An observation is what the test saw of the lab at one moment.
type observation struct {
	holders [][]int            // per instance: observed directors holding its VIP
	reply   []string           // per instance: the name the client's connection got
	dialErr []error            // per instance: why the client got no answer
	neigh   []net.HardwareAddr // per instance: the client's entry for the VIP
}

// observe reads each observed director's addresses and, for each
// instance the client's side expects to be held, connects to its VIP from
// the client (tries connections at once, the first answer counting) and
// then reads the client's neighbour entry for it.
func (lb *lab) observe(w *world, exp [][2][]int, dialTimeout time.Duration, tries int) (*observation, error) {
	o := &observation{
		holders: make([][]int, len(instances)),
		reply:   make([]string, len(instances)),
		dialErr: make([]error, len(instances)),
		neigh:   make([]net.HardwareAddr, len(instances)),
	}
	for k, d := range lb.dirs {
		if !w.observed(k) {
			continue
		}
		addrs, err := d.nl.AddrList(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Index: d.link}}, netlink.FAMILY_V4)
		if err != nil {
			return nil, fmt.Errorf("listing %s's addresses: %w", d.name, err)
		}
		for i, in := range instances {
			for _, a := range addrs {
				if a.IP.String() == in.vip {
					o.holders[i] = append(o.holders[i], k)
				}
			}
		}
	}
	var wg sync.WaitGroup
	for i, in := range instances {
		if len(exp[i][w.clientSide]) == 0 {
			continue
		}
		wg.Go(func() { o.reply[i], o.dialErr[i] = lb.ask(in.vip, dialTimeout, tries) })
	}
	wg.Wait()
	ns, err := lb.cnl.NeighList(lb.clink, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("listing the client's neighbours: %w", err)
	}
	for i, in := range instances {
		for _, n := range ns {
			if n.IP.String() == in.vip && n.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) == 0 {
				o.neigh[i] = n.HardwareAddr
			}
		}
	}
	return o, nil
}

// ask makes tries connections at once from the client to vip's service
// and returns the name the first to be answered got, or the last error.
func (lb *lab) ask(vip string, timeout time.Duration, tries int) (string, error) {
	type answer struct {
		name string
		err  error
	}
	answers := make(chan answer, tries)
	for range tries {
		go func() {
			var a answer
			a.err = lb.client.Do(func() error {
				c, err := net.DialTimeout("tcp4", net.JoinHostPort(vip, servicePort), timeout)
				if err != nil {
					return err
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(timeout))
				b, err := io.ReadAll(io.LimitReader(c, 64))
				a.name = strings.TrimSpace(string(b))
				if err == nil && a.name == "" {
					err = errors.New("empty answer")
				}
				return err
			})
			answers <- a
		}()
	}
	var last answer
	for range tries {
		if last = <-answers; last.err == nil {
			// The others end by their deadline; the channel
			// has room for them.
			return last.name, nil
		}
	}
	return "", last.err
}

// verify checks an observation against the expected owners: exactly one
// expected holder per side, and on the client's side the client's
// connection answered by the holder and its neighbour entry naming the
// holder's MAC. It returns what differs, or "".
func (lb *lab) verify(w *world, exp [][2][]int, o *observation) string {
	bad := w.verify(exp, o.holders)
	var more []string
	if bad != "" {
		more = append(more, bad)
	}
	for i, in := range instances {
		if len(exp[i][w.clientSide]) == 0 {
			continue
		}
		var holder = -1
		for _, d := range o.holders[i] {
			if w.node[d].side == w.clientSide {
				holder = d
			}
		}
		if holder < 0 {
			continue // already reported
		}
		h := lb.dirs[holder]
		switch {
		case o.dialErr[i] != nil:
			more = append(more, fmt.Sprintf("%s: client's connection to %s: %v", in.name, in.vip, o.dialErr[i]))
		case o.reply[i] != h.name:
			more = append(more, fmt.Sprintf("%s: client's connection to %s answered by %s, holder %s", in.name, in.vip, o.reply[i], h.name))
		}
		if o.neigh[i].String() != h.host.MAC.String() {
			more = append(more, fmt.Sprintf("%s: client's neighbour entry for %s is %v (%s), holder %s has %v",
				in.name, in.vip, o.neigh[i], lb.macOwner(o.neigh[i]), h.name, h.host.MAC))
		}
	}
	return strings.Join(more, "; ")
}

func (lb *lab) macOwner(mac net.HardwareAddr) string {
	for _, d := range lb.dirs {
		if d.host.MAC.String() == mac.String() {
			return d.name
		}
	}
	return "nobody's"
}
