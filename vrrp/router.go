package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// NetConfig is where an instance lives on the network: the parts of a
// vrrp_instance that are not the protocol's.
type NetConfig struct {
	Interface string     // interface
	Group     netip.Addr // vrrp_mcast_group4/6; zero: the default group
	Source    netip.Addr // mcast_src_ip or unicast_src_ip; zero: the interface's
	Peers     []netip.Addr
	VIPs      []VIP         // virtual_ipaddress
	Garp      time.Duration // garp_interval (gna_interval for IPv6)
	// UnicastTTL (unicast_ttl) is the TTL or hop limit of the adverts
	// sent to Peers when HasUnicastTTL is set. Without it IPv4 adverts
	// carry 255 and IPv6 ones the interface's default hop limit, as
	// keepalived's do.
	UnicastTTL    uint8
	HasUnicastTTL bool

	// ExcludedVIPs (virtual_ipaddress_excluded) come and go with the
	// VIPs and are announced with them, but are not advertised.
	ExcludedVIPs []VIP
	// Routes (virtual_routes) are installed after the VIPs on becoming
	// MASTER and removed before them on leaving it.
	Routes []Route
	// Rules (virtual_rules) are installed after the routes on becoming
	// MASTER and removed before them on leaving it.
	Rules []Rule

	TrackInterfaces  []TrackedInterface // track_interface
	DontTrackPrimary bool               // dont_track_primary

	// ConfigFault keeps the instance in FAULT for as long as the
	// configuration stands, as a keepalived config fault does: for
	// unicast_fault_no_peer without unicast peers.
	ConfigFault bool

	// Firewall puts the VIPs in the router's nftables firewall (see
	// Router.SetFirewall) while the instance is MASTER, before they are
	// added and after they are removed: an instance without accept
	// mode (no_accept, strict mode) that is not the address owner.
	Firewall     bool
	TrackScripts []TrackedScript // track_script
	TrackFiles   []TrackedFile   // track_file
	// TrackProcesses (track_process) are counted by one process
	// monitor for all the router's instances.
	TrackProcesses []TrackedProcess
	// TrackBFDs (track_bfd) follow BFD sessions whose states come
	// through SetBFD.
	TrackBFDs []TrackedBFD
	// BFDTakeover (the bfd_takeover extension) is the BFD session to
	// the master whose Down takes a backup over early: see MasterGone.
	BFDTakeover BFDTakeover

	// UseVMAC (use_vmac) puts the instance on a macvlan interface of
	// Interface, named VMACName or vrrp.{VRID}, with the virtual router
	// MAC address: the adverts, the VIPs without a device of their own
	// and the gratuitous ARPs or neighbour adverts go there. The router
	// creates it and removes it when the instance stops. An IPv6
	// instance's VMAC carries Interface's link-local address, as
	// keepalived's does, for the adverts' source.
	UseVMAC  bool
	VMACName string
	// VMACAddr (use_vmac's MAC address) is the VMAC's MAC address in
	// place of the virtual router MAC.
	VMACAddr net.HardwareAddr
	// VMACXmitBase (vmac_xmit_base) sends the adverts from Interface
	// itself, with its own MAC address, rather than from the VMAC.
	VMACXmitBase bool
}

// A TrackedInterface is a track_interface entry. With a zero weight the
// instance goes to FAULT while the interface is down; a positive weight is
// added to the priority while it is up, a negative one while it is down.
// Reverse (weight ... reverse) subtracts the weight where it would be
// added, and with a zero weight faults while the interface is up.
type TrackedInterface struct {
	Name    string
	Weight  int
	Reverse bool
}

// A Router runs VRRP instances on the host's interfaces: one socket per
// interface, family and group, shared by the instances there, and FAULT
// or a priority change when an instance's interface or a tracked one
// loses carrier (netlink link notifications, not polling). Instances it
// returns from Add may be joined with NewSyncGroup before Run; Apply
// changes the instances and groups of a running router, as a reload of
// keepalived.conf does.
type Router struct {
	host  *host // the operating system's side: links, addresses, routes
	log   logrus.FieldLogger
	clock Clock
	guard guard // counts the panics of every goroutine of the router

	mu      sync.Mutex
	conns   map[connKey]*routerConn
	members []*member // in the order added
	carrier map[int]bool
	running bool
	runner  ScriptRunner
	scripts map[string]*scriptTracker
	files   map[string]*fileTracker
	// processes are the track_process trackers and their watcher.
	processes processTrackers
	// bfds are the states of the BFD sessions the instances track.
	bfds map[string]*bfdTracker
	// linkHook, if set, hears of every interface the kernel reports.
	linkHook func(name string)

	// While running: the context of the trackers, and their goroutines.
	trackCtx context.Context
	trackWG  sync.WaitGroup

	// While running: the context of the sockets' Serve, and its
	// goroutines.
	serveCtx context.Context
	serveWG  sync.WaitGroup

	socketErrors    atomic.Uint64
	resubscriptions atomic.Uint64
	progress        atomic.Int64 // UnixNano of the last heartbeat
}

type connKey struct {
	ifindex int
	v6      bool
	group   netip.Addr // invalid for unicast
	ah      bool       // IP protocol 51, for auth_type AH
}

type routerConn struct {
	*Conn
	stop context.CancelFunc // ends Serve; nil before Run
}

type member struct {
	inst         *Instance
	spec         Spec // as given, to compare with a reload's
	key          connKey
	conn         *routerConn
	ifindex      int
	trackPrimary bool
	track        []trackedLink
	net          *linkNetwork
	vmac         string // the VMAC interface the router created
	out          *Conn  // the VMAC's sending socket; nil with vmac_xmit_base
	scripts      []memberScript
	files        []memberFile
	processes    []memberProcess
	bfds         []memberBFD
	takeover     BFDTakeover
}

// closeOut closes the VMAC's own sending socket, if it has one: with
// vmac_xmit_base the instance sends on the shared socket of its parent.
func (m *member) closeOut() {
	if m.out != nil {
		m.out.Close()
	}
}

type memberScript struct {
	t       *scriptTracker
	weight  int
	reverse bool
}

type memberFile struct {
	t       *fileTracker
	weight  int
	reverse bool
}

type trackedLink struct {
	ifindex int
	weight  int
	reverse bool
}

// A Spec is an instance as Apply takes it: its protocol configuration
// and its place on the network, as given to Add.
type Spec struct {
	Config Config
	Net    NetConfig
}

// A GroupSpec is a vrrp_sync_group as Apply takes it.
type GroupSpec struct {
	Name    string
	Members []string         // the instances' names
	Notify  func(Transition) // as NewSyncGroup's
}

// newRouter returns a router on h that logs to log.
func newRouter(h *host, log logrus.FieldLogger) *Router {
	return &Router{
		host: h, log: log, clock: SystemClock(), guard: guard{log: log},
		conns:   make(map[connKey]*routerConn),
		carrier: make(map[int]bool),
		runner:  ExecRunner{},
		scripts: make(map[string]*scriptTracker),
		files:   make(map[string]*fileTracker),
	}
}

// SetScriptRunner makes the router run track scripts with sr instead of
// ExecRunner. It takes effect for scripts started afterwards.
func (r *Router) SetScriptRunner(sr ScriptRunner) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runner = sr
}

// Add creates an instance of cfg on nc's interface, filling in what cfg
// leaves to the network: the advertised addresses (from nc.VIPs), the
// source address and Unicast. Once the router runs, Apply changes its
// instances instead.
func (r *Router) Add(cfg Config, nc NetConfig) (*Instance, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return nil, fmt.Errorf("adding vrrp instance %s: router already running", cfg.Name)
	}
	defer r.closeIdle()
	p, err := r.plan(Spec{Config: cfg, Net: nc}, newLinkCache())
	if err != nil {
		return nil, err
	}
	m, err := r.create(p)
	if err != nil {
		return nil, err
	}
	return m.inst, nil
}

// A plan is a Spec checked against the host: the instance's complete
// configuration and what it needs of the network.
type plan struct {
	spec     Spec
	cfg      Config // filled in
	ifi      *net.Interface
	key      connKey
	dsts     []netip.Addr
	vips     []VIP          // virtual and excluded
	onLink   []netip.Addr   // announced on the instance's interface
	base     *net.Interface // whose carrier the instance follows
	vmac     string         // use_vmac's interface, to create
	xmitBase bool           // vmac_xmit_base
	local    netip.Addr     // an IPv6 VMAC's link-local address
	out      *Conn          // sends from the VMAC interface
	track    []trackedLink
	primary  bool // track the instance's interface

	// otherFamily: an IPv4 instance's VMAC keeps IPv6, for excluded
	// addresses of that family, as keepalived's does.
	otherFamily bool
}

func (r *Router) plan(spec Spec, links *linkCache) (*plan, error) {
	cfg, nc := spec.Config, spec.Net
	ifi, err := links.interfaceByName(nc.Interface)
	if err != nil {
		return nil, fmt.Errorf("vrrp instance %s: interface %s: %w", cfg.Name, nc.Interface, err)
	}
	if len(nc.VIPs) == 0 {
		return nil, fmt.Errorf("vrrp instance %s: no VIP specified", cfg.Name)
	}
	v6 := nc.VIPs[0].Prefix.Addr().Is6()
	if cfg.Addresses == nil {
		for _, v := range nc.VIPs {
			cfg.Addresses = append(cfg.Addresses, v.Prefix.Addr())
		}
	}
	src := nc.Source
	if !src.IsValid() {
		if src, err = links.primaryAddress(ifi, v6, cfg.Addresses); err != nil {
			return nil, fmt.Errorf("vrrp instance %s: %w", cfg.Name, err)
		}
	}
	cfg.Primary = src
	cfg.Unicast = len(nc.Peers) > 0
	if cfg.Peers == nil {
		cfg.Peers = nc.Peers
	}
	check := cfg
	if err := check.normalize(r.log); err != nil {
		return nil, err
	}
	p := &plan{spec: spec, cfg: cfg, ifi: ifi, base: ifi, key: connKey{ifindex: ifi.Index, v6: v6}, dsts: nc.Peers, primary: !nc.DontTrackPrimary}
	if check.AuthType == AuthAH {
		if nc.UseVMAC {
			return nil, fmt.Errorf("vrrp instance %s: use_vmac with AH authentication is not supported", cfg.Name)
		}
		p.key.ah = true
	}
	if nc.UseVMAC {
		if v6 {
			// The base's own link-local address: a VMAC's address
			// derived from the virtual MAC would be the same on
			// every router.
			if p.local, err = links.primaryAddress(ifi, true, nil); err != nil {
				return nil, fmt.Errorf("vrrp instance %s: use_vmac: %w", cfg.Name, err)
			}
		}
		p.xmitBase = nc.VMACXmitBase
		p.vmac = nc.VMACName
		if p.vmac == "" {
			p.vmac = DefaultVMACName(cfg.VRID)
		}
		// Already there from a previous configuration, for a reload.
		if vifi, err := links.interfaceByName(p.vmac); err == nil {
			p.ifi = vifi
		}
	}
	if !cfg.Unicast {
		p.key.group = nc.Group
		if !p.key.group.IsValid() {
			p.key.group = DefaultGroup4()
			if v6 {
				p.key.group = DefaultGroup6()
			}
		}
		p.dsts = []netip.Addr{p.key.group}
	}
	p.vips = slices.Concat(nc.VIPs, nc.ExcludedVIPs)
	for k, v := range p.vips {
		switch {
		case p.vmac == "" || v.Device != "" && v.Device != ifi.Name:
		case v.Prefix.Addr().Is6() != v6:
			// keepalived leaves an address of the other family on
			// the configured interface.
			p.vips[k].Device = ifi.Name
			p.otherFamily = true
		default:
			p.vips[k].Device = "" // on the VMAC interface
		}
		if p.vips[k].Device == "" || p.vips[k].Device == ifi.Name || p.vips[k].Device == p.vmac {
			p.onLink = append(p.onLink, v.Prefix.Addr())
		}
	}
	for _, ti := range nc.TrackInterfaces {
		tifi, err := links.interfaceByName(ti.Name)
		if err != nil {
			return nil, fmt.Errorf("vrrp instance %s: track_interface %s: %w", cfg.Name, ti.Name, err)
		}
		p.track = append(p.track, trackedLink{ifindex: tifi.Index, weight: ti.Weight, reverse: ti.Reverse})
	}
	for _, ts := range nc.TrackScripts {
		if ts.Script == nil || ts.Script.Name == "" || len(ts.Script.Args) == 0 {
			return nil, fmt.Errorf("vrrp instance %s: track_script without a script", cfg.Name)
		}
	}
	for _, tf := range nc.TrackFiles {
		if tf.File == nil || tf.File.Name == "" {
			return nil, fmt.Errorf("vrrp instance %s: track_file without a file", cfg.Name)
		}
		if _, err := newFileTracker(tf.File); err != nil {
			return nil, fmt.Errorf("vrrp instance %s: %w", cfg.Name, err)
		}
	}
	if err := checkProcesses(cfg.Name, nc); err != nil {
		return nil, err
	}
	return p, nil
}

// attachTrackers points m at the trackers of its scripts and files,
// sharing those already running with the same definition.
func (r *Router) attachTrackers(m *member, nc NetConfig) {
	m.scripts, m.files = nil, nil
	for _, ts := range nc.TrackScripts {
		t := r.scripts[ts.Script.Name]
		if t == nil || !sameScript(t.script, ts.Script) {
			nt := newScriptTracker(ts.Script)
			if t != nil {
				// As keepalived does on reload, a script keeps its
				// state by name: no FAULT until its next result.
				nt.state.carry(&t.state)
			}
			t = nt
			r.scripts[ts.Script.Name] = t
		}
		m.scripts = append(m.scripts, memberScript{t: t, weight: ts.Weight, reverse: ts.Reverse})
	}
	for _, tf := range nc.TrackFiles {
		t := r.files[tf.File.Name]
		if t == nil || *t.file != *tf.File {
			nt, err := newFileTracker(tf.File)
			if err != nil {
				// Checked by plan; the directory went since.
				r.log.Errorf("(%s) %v", m.inst.Name(), err)
				continue
			}
			t = nt
			r.files[tf.File.Name] = t
		}
		m.files = append(m.files, memberFile{t: t, weight: tf.Weight, reverse: tf.Reverse})
	}
	r.attachProcesses(m, nc)
	r.attachBFDs(m, nc)
}

// startTrackers drops the trackers no instance uses any more and starts
// the new ones of a running router.
func (r *Router) startTrackers() {
	usedScripts := make(map[*scriptTracker]bool)
	usedFiles := make(map[*fileTracker]bool)
	for _, m := range r.members {
		for _, ms := range m.scripts {
			usedScripts[ms.t] = true
		}
		for _, mf := range m.files {
			usedFiles[mf.t] = true
		}
	}
	for name, t := range r.scripts {
		if !usedScripts[t] {
			t.close()
			delete(r.scripts, name)
		}
	}
	for name, t := range r.files {
		if !usedFiles[t] {
			t.close()
			delete(r.files, name)
		}
	}
	r.startProcesses()
	if !r.running {
		return
	}
	for _, t := range r.scripts {
		if t.stop == nil {
			t.start(r.trackCtx, &r.trackWG, r.runner, &r.guard, func(status int, err error) { r.scriptDone(t, status, err) })
		}
	}
	for _, t := range r.files {
		if t.f == nil {
			if err := t.start(&r.trackWG, &r.guard, func(v int) { r.fileChanged(t, v) }); err != nil {
				r.log.Error(err)
			}
		}
	}
}

func (r *Router) scriptDone(t *scriptTracker, status int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.scripts[t.script.Name] != t || !t.record(status, err, r.log) {
		return
	}
	r.applyTracking(func(m *member) bool {
		return slices.ContainsFunc(m.scripts, func(ms memberScript) bool { return ms.t == t })
	})
}

func (r *Router) fileChanged(t *fileTracker, v int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.files[t.file.Name] != t || v == t.value {
		return
	}
	t.value = v
	r.applyTracking(func(m *member) bool {
		return slices.ContainsFunc(m.files, func(mf memberFile) bool { return mf.t == t })
	})
}

// applyTracking makes the members that tracks says track a changed
// tracker take its new state.
func (r *Router) applyTracking(tracks func(*member) bool) {
	for _, m := range r.members {
		if tracks(m) {
			m.apply(r.carrier)
		}
	}
}

// conn returns the socket of p's key, opening it if needed; a running
// router serves it at once.
func (r *Router) conn(p *plan) (*routerConn, error) {
	if c := r.conns[p.key]; c != nil {
		return c, nil
	}
	var c *Conn
	var err error
	// On the parent, also for a VMAC instance (p.ifi is then the
	// VMAC): the socket is shared by every instance of the parent's key,
	// and a macvlan does not hear frames from its own address, which the
	// master's VMAC shares.
	switch {
	case p.key.ah:
		c, err = ListenAH(p.base, p.key.group, r.log)
	case p.cfg.Unicast:
		c, err = ListenUnicast(p.base, p.key.v6, r.log)
	default:
		c, err = Listen(p.base, p.key.group, r.log)
	}
	if err != nil {
		return nil, fmt.Errorf("vrrp instance %s: %w", p.cfg.Name, err)
	}
	c.guard.parent = &r.guard
	rc := &routerConn{Conn: c}
	r.conns[p.key] = rc
	if r.running {
		r.serve(rc)
	}
	return rc, nil
}

// create makes the instance of p, registered on its socket, not started.
func (r *Router) create(p *plan) (m *member, err error) {
	if p.vmac != "" {
		mac := p.spec.Net.VMACAddr
		if mac == nil {
			mac = VirtualMAC(p.cfg.VRID, p.local.IsValid())
		}
		vifi, err := r.host.addVMAC(p.cfg.Name, p.vmac, p.base, mac, p.local, p.otherFamily)
		if err != nil {
			return nil, fmt.Errorf("vrrp instance %s: %w", p.cfg.Name, err)
		}
		p.ifi = vifi
		defer func() {
			if err != nil {
				r.host.removeVMAC(p.cfg.Name, p.vmac)
			}
		}()
		// Adverts go out from the virtual MAC address, unless
		// vmac_xmit_base. They are received on the parent: a macvlan
		// does not hear frames from its own address, which the
		// master's VMAC shares.
		if !p.xmitBase {
			out, err := ListenUnicast(vifi, p.key.v6, r.log)
			if err != nil {
				return nil, fmt.Errorf("vrrp instance %s: %w", p.cfg.Name, err)
			}
			out.guard.parent = &r.guard
			defer func() {
				if err != nil {
					out.Close()
				}
			}()
			p.out = out
		}
	}
	conn, err := r.conn(p)
	if err != nil {
		return nil, err
	}
	ln, err := r.network(p, conn, nil)
	if err != nil {
		return nil, err
	}
	inst, err := NewInstance(p.cfg, ln, r.clock, r.log)
	if err != nil {
		ln.ann.Close()
		ln.closeExtra()
		return nil, err
	}
	inst.guard.parent = &r.guard
	if err := conn.Register(p.cfg.VRID, inst); err != nil {
		ln.ann.Close()
		ln.closeExtra()
		return nil, fmt.Errorf("vrrp instance %s: %w", p.cfg.Name, err)
	}
	m = &member{inst: inst, spec: p.spec, key: p.key, conn: conn, ifindex: p.base.Index, trackPrimary: p.primary, track: p.track, net: ln, vmac: p.vmac, out: p.out}
	r.attachTrackers(m, p.spec.Net)
	r.members = append(r.members, m)
	return m, nil
}

// closeIdle closes the sockets no instance uses any more.
func (r *Router) closeIdle() {
	for k, c := range r.conns {
		if !c.idle() {
			continue
		}
		if c.stop != nil {
			c.stop()
		} else {
			c.Close()
		}
		delete(r.conns, k)
	}
}

// Run starts every instance and runs them until ctx is done; then masters
// send priority 0 and release their addresses before Run returns.
func (r *Router) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("vrrp router already running")
	}
	subDone := make(chan struct{})
	links, err := r.host.subscribeLinks(ctx, subDone)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	defer func() { close(subDone) }()
	addrDone := make(chan struct{})
	addrs, err := r.host.subscribeAddrs(ctx, addrDone)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	defer func() { close(addrDone) }()
	delDone := make(chan struct{})
	dels, err := r.host.subscribeDeletions(ctx, delDone)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	defer func() { close(delDone) }()
	r.running = true
	defer func() {
		r.mu.Lock()
		r.running = false
		r.mu.Unlock()
	}()
	// The sockets outlive ctx: stopping masters still send priority 0.
	serveCtx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	r.serveCtx = serveCtx
	for _, c := range r.conns {
		r.serve(c)
	}
	r.trackCtx = ctx
	r.startTrackers()
	// Subscribed first, read carrier second: no change falls between.
	for _, m := range r.members {
		r.watch(m)
		m.apply(r.carrier)
	}
	// Every member's trackers are read before any starts: a member held
	// by a script holds its whole sync group from the start.
	for _, m := range r.members {
		if err := m.inst.Start(); err != nil {
			r.mu.Unlock()
			cancel()
			return errors.Join(err, r.shutdown(stopServing))
		}
	}
	r.mu.Unlock()

	beat := time.NewTicker(HeartbeatInterval)
	defer beat.Stop()
	r.heartbeat()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-beat.C:
			r.guard.run("heartbeat", r.heartbeat)
		case u, ok := <-links:
			if ok {
				r.guard.run("link watcher", func() { r.linkChanged(u) })
				if hook := r.hook(); hook != nil {
					r.guard.run("link hook", func() { hook(u.name) })
				}
				continue
			}
			// The subscription failed (a burst of changes overflows
			// its socket): subscribe again, then read every watched
			// carrier, so that no change is lost and none is made up.
			close(subDone)
			subDone = make(chan struct{})
			links = r.resubscribe(ctx, subDone)
		case a, ok := <-addrs:
			if ok {
				r.guard.run("address watcher", func() { r.addressDeleted(a) })
				continue
			}
			// Lost as the link subscription can be: a deletion
			// missed meanwhile leaves a master without that VIP until
			// its next transition, as a missed RTM_DELADDR leaves
			// keepalived.
			close(addrDone)
			addrDone = make(chan struct{})
			addrs = r.resubscribeAddrs(ctx, addrDone)
		case d, ok := <-dels:
			if ok {
				r.guard.run("route and rule watcher", func() { r.deleted(d) })
				continue
			}
			close(delDone)
			delDone = make(chan struct{})
			dels = subscribeAgain(ctx, r, "route and rule", func() (<-chan deletion, error) { return r.host.subscribeDeletions(ctx, delDone) })
		}
	}
	return r.shutdown(stopServing)
}

// OnLink sets f to hear the name of each interface the kernel reports
// added or changed while the router runs: a caller holding back an
// instance whose interface is missing learns when to Check it again. f
// runs on the router's goroutine, outside its lock, and must not block.
func (r *Router) OnLink(f func(name string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.linkHook = f
}

func (r *Router) hook() func(string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.linkHook
}

// A Lookup holds one listing of the links and of each link's addresses,
// taken when first needed, for one configuration pass: the Check and
// the Apply of a reload. Each listing is a netlink dump of a whole table,
// and a master of hundreds of instances holds hundreds of addresses: one
// dump per instance made a reload quadratic.
//
// A Lookup also keeps the plans Check made, by instance name, for the
// Apply that follows with the same specs: planning is pure given a spec
// and the listings, and a reload of hundreds of instances otherwise
// planned each twice.
type Lookup struct {
	links *linkCache
	plans map[string]*plan
}

// NewLookup returns a Lookup that has listed nothing yet.
func NewLookup() *Lookup { return &Lookup{links: newLinkCache(), plans: make(map[string]*plan)} }

// plan returns the plan Check made for spec, once, or makes one.
func (l *Lookup) plan(r *Router, spec Spec) (*plan, error) {
	if p := l.plans[spec.Config.Name]; p != nil {
		delete(l.plans, spec.Config.Name)
		return p, nil
	}
	return r.plan(spec, l.links)
}

// Check reports, for each of specs in order, why it cannot be applied
// now, or nil: its interfaces must exist and have the address it
// advertises from. Apply refuses every spec when one of them fails Check.
// look serves all of specs, and keeps their plans for ApplyLookup with
// the same specs; nil takes a new one.
func (r *Router) Check(look *Lookup, specs ...Spec) []error {
	if look == nil {
		look = NewLookup()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := make([]error, len(specs))
	for i, spec := range specs {
		var p *plan
		if p, errs[i] = r.plan(spec, look.links); p != nil {
			look.plans[spec.Config.Name] = p
		}
	}
	return errs
}

// Index returns the index of the named interface, or 0 when it does not
// exist or the links cannot be listed.
func (l *Lookup) Index(name string) int {
	ifi, err := l.links.interfaceByName(name)
	if err != nil {
		return 0
	}
	return ifi.Index
}

// HeartbeatInterval is how often a running Router records its Progress.
const HeartbeatInterval = time.Second

// resubscribe subscribes to link changes again, trying until it works or
// ctx ends, and then brings the watched carriers up to date. It returns
// the new subscription, or nil (which blocks) once ctx has ended.
func (r *Router) resubscribe(ctx context.Context, done chan struct{}) <-chan linkUpdate {
	links := subscribeAgain(ctx, r, "link", func() (<-chan linkUpdate, error) { return r.host.subscribeLinks(ctx, done) })
	if links != nil {
		r.guard.run("link watcher", r.rereadCarriers)
	}
	return links
}

// resubscribeAddrs subscribes to address deletions again, as resubscribe
// does to link changes.
func (r *Router) resubscribeAddrs(ctx context.Context, done chan struct{}) <-chan netip.Addr {
	return subscribeAgain(ctx, r, "address", func() (<-chan netip.Addr, error) { return r.host.subscribeAddrs(ctx, done) })
}

// subscribeAgain counts a lost netlink subscription of what and makes it
// again, backing off between failures, until it works or ctx ends (nil).
func subscribeAgain[T any](ctx context.Context, r *Router, what string, subscribe func() (<-chan T, error)) <-chan T {
	r.resubscriptions.Add(1)
	r.log.Errorf("netlink %s subscription lost; subscribing again", what)
	pause := socketRetryMin
	for {
		ch, err := subscribe()
		if err == nil {
			r.log.Infof("netlink %s subscription made again", what)
			return ch
		}
		r.log.Errorf("%v; trying again in %v", err, pause)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		pause = min(2*pause, socketRetryMax)
	}
}

// addressDeleted hears that addr was deleted from an interface: a master
// that holds it as a VIP or an excluded VIP without no_track leaves
// MASTER and takes it back, as keepalived does.
func (r *Router) addressDeleted(addr netip.Addr) {
	r.mu.Lock()
	carrier := carriers{host: r.host}
	var lost []*Instance
	for _, m := range r.members {
		if m.inst.Status().State != StateMaster {
			continue
		}
		// An interface going down or away takes its addresses with it,
		// and the link's event, on another socket, may come second: the
		// master then goes to FAULT, not through BACKUP, as keepalived
		// (which hears both on one socket) does.
		// Carrier is a netlink request: asked only of the masters that
		// held addr, once per interface, so that the deletion of one of
		// hundreds of addresses (a reload, a shutdown) costs no request
		// per instance.
		held := func(v VIP) bool { return v.Prefix.Addr() == addr && !v.NoTrack }
		if !slices.ContainsFunc(m.spec.Net.VIPs, held) && !slices.ContainsFunc(m.spec.Net.ExcludedVIPs, held) {
			continue
		}
		if !carrier.up(m.ifindex) {
			continue
		}
		lost = append(lost, m.inst)
	}
	r.mu.Unlock()
	for _, in := range lost {
		r.log.Infof("(%s) VIP %s deleted from under the master", in.Name(), addr)
		in.AddressLost()
	}
}

// deleted hears that a route or a rule was deleted: a master whose
// virtual_routes or virtual_rules hold it without no_track leaves MASTER
// and takes it back, as keepalived's netlink_route_filter and
// netlink_rule_filter make it do.
func (r *Router) deleted(d deletion) {
	r.mu.Lock()
	carrier := carriers{host: r.host}
	var lost []*Instance
	for _, m := range r.members {
		if m.inst.Status().State != StateMaster {
			continue
		}
		var found bool
		if d.route != nil {
			found = slices.ContainsFunc(m.spec.Net.Routes, func(rt Route) bool { return !rt.NoTrack && rt.IsKernel(*d.route) })
		} else {
			found = slices.ContainsFunc(m.spec.Net.Rules, func(ru Rule) bool { return !ru.NoTrack && d.rule.Is(ru) })
		}
		// As for addresses: a link going away takes its routes.
		if found && carrier.up(m.ifindex) {
			lost = append(lost, m.inst)
		}
	}
	r.mu.Unlock()
	for _, in := range lost {
		what := "rule"
		if d.route != nil {
			what = "route"
		}
		r.log.Infof("(%s) virtual %s deleted from under the master", in.Name(), what)
		in.AddressLost()
	}
}

// carriers reads the carrier of each interface once for one event: each
// read is a netlink request.
type carriers struct {
	host *host
	read map[int]bool
}

func (c *carriers) up(idx int) bool {
	up, ok := c.read[idx]
	if !ok {
		up = c.host.carrier(idx)
		if c.read == nil {
			c.read = make(map[int]bool)
		}
		c.read[idx] = up
	}
	return up
}

// rereadCarriers reads the carrier of every watched interface and applies
// those that changed while no subscription reported them.
func (r *Router) rereadCarriers() {
	r.mu.Lock()
	idxs := make([]int, 0, len(r.carrier))
	for idx := range r.carrier {
		idxs = append(idxs, idx)
	}
	r.mu.Unlock()
	for _, idx := range idxs {
		r.linkChanged(linkUpdate{index: idx, name: r.host.linkName(idx), up: r.host.carrier(idx)})
	}
}

// shutdown stops the trackers and every instance, and waits for the
// sockets to close.
func (r *Router) shutdown(stopServing context.CancelFunc) error {
	r.mu.Lock()
	for _, t := range r.scripts {
		t.close()
	}
	for _, t := range r.files {
		t.close()
	}
	r.processes.close()
	r.mu.Unlock()
	// Outside the lock: a tracker may be waiting for it to report.
	r.trackWG.Wait()
	r.mu.Lock()
	for _, m := range r.members {
		m.inst.Stop()
		m.net.ann.Close()
	}
	r.mu.Unlock()
	stopServing()
	r.serveWG.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		if m.vmac != "" {
			m.closeOut()
			r.host.removeVMAC(m.inst.Name(), m.vmac)
		}
	}
	// The instances have released their VIPs: the firewall's tables go,
	// as keepalived's do when it stops.
	if r.host.fw != nil {
		if err := r.host.fw.close(); err != nil {
			r.log.Errorf("%v", err)
		}
	}
	return nil
}

// serve reads c until the router stops. A socket that fails is opened
// again, and the instances on it go on in their states: a master keeps
// its addresses and its adverts, which use the new socket as soon as it
// is there.
func (r *Router) serve(c *routerConn) {
	ctx, stop := context.WithCancel(r.serveCtx)
	c.stop = stop
	r.serveWG.Add(1)
	go func() {
		defer r.serveWG.Done()
		pause := socketRetryMin
		for ctx.Err() == nil {
			var err error
			// Serve contains the panics of the instances it calls; one
			// of its own ends it, and it starts again on the same
			// socket.
			if r.guard.run("VRRP reader on "+c.ifi.Name, func() { err = c.Serve(ctx) }) || ctx.Err() != nil {
				continue
			}
			r.socketErrors.Add(1)
			r.log.Errorf("%v; opening the socket again", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			if err := c.Reopen(); err != nil {
				r.log.Errorf("%v; trying again in %v", err, pause)
				pause = min(2*pause, socketRetryMax)
				continue
			}
			r.log.Infof("VRRP socket on %s opened again", c.ifi.Name)
			pause = socketRetryMin
		}
	}()
}

// The pauses before a failed socket, or a lost link subscription, is
// opened again: short, since the instances cannot hear their peers
// meanwhile, and growing while the host refuses.
const (
	socketRetryMin = 10 * time.Millisecond
	socketRetryMax = time.Second
)

// SocketErrors returns the number of times a VRRP socket failed and was
// opened again.
func (r *Router) SocketErrors() uint64 { return r.socketErrors.Load() }

// LinkResubscriptions returns the number of times the netlink link
// subscription was lost (as when a burst of link changes overflows it)
// and made again, with the carrier of every watched interface read anew.
func (r *Router) LinkResubscriptions() uint64 { return r.resubscriptions.Load() }

// Progress returns when the router last showed that it works: its event
// loop runs and the locks of the router and of every instance can be
// taken. A time that stops moving means a wedged router.
func (r *Router) Progress() time.Time { return time.Unix(0, r.progress.Load()) }

// Stall holds the router's lock for d, as a goroutine wedged while
// holding it would: for tests of what watches Progress.
func (r *Router) Stall(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	time.Sleep(d)
}

// heartbeat takes the router's lock and every instance's, and records
// the time: what a wedged goroutine holding one of them would stop.
func (r *Router) heartbeat() {
	r.mu.Lock()
	members := slices.Clone(r.members)
	r.mu.Unlock()
	for _, m := range members {
		m.inst.Status()
	}
	r.progress.Store(time.Now().UnixNano())
}

// watch starts following the carrier of m's interfaces.
func (r *Router) watch(m *member) {
	r.watchLink(m.ifindex)
	for _, tl := range m.track {
		r.watchLink(tl.ifindex)
	}
}

func (r *Router) watchLink(idx int) {
	if _, seen := r.carrier[idx]; seen {
		return
	}
	r.carrier[idx] = r.host.carrier(idx)
}

// A linkUpdate is a change of an interface's carrier, as keepalived
// reads it: administratively up and IFF_RUNNING.
type linkUpdate struct {
	index int
	name  string
	up    bool
}

func (r *Router) linkChanged(u linkUpdate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	was, tracked := r.carrier[u.index]
	if !tracked || u.up == was {
		return
	}
	r.carrier[u.index] = u.up
	if u.up {
		r.log.Infof("Netlink reports %s up", u.name)
	} else {
		r.log.Infof("Netlink reports %s down", u.name)
	}
	for _, m := range r.members {
		if m.uses(u.index) {
			m.apply(r.carrier)
		}
	}
}

// Instances returns the router's instances, in the order they were
// added.
func (r *Router) Instances() []*Instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Instance, len(r.members))
	for k, m := range r.members {
		out[k] = m.inst
	}
	return out
}

// Drops returns the counts of messages dropped by the router's sockets
// before reaching an instance; each instance counts its own in its Status.
func (r *Router) Drops() map[DropReason]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[DropReason]uint64)
	for _, c := range r.conns {
		for reason, n := range c.Drops() {
			out[reason] += n
		}
	}
	return out
}

func (m *member) uses(ifindex int) bool {
	if m.ifindex == ifindex {
		return true
	}
	for _, tl := range m.track {
		if tl.ifindex == ifindex {
			return true
		}
	}
	return false
}

// apply sets the instance's fault and priority from the carrier of its
// interface and tracked interfaces, its scripts' states and its files'
// values: FAULT if any of them says so, and the sum of their weights
// (keepalived's total_priority) as the priority's offset.
func (m *member) apply(carrier map[int]bool) {
	fault := m.spec.Net.ConfigFault || m.trackPrimary && !carrier[m.ifindex]
	offset := 0
	for _, tl := range m.track {
		// keepalived's weight multiplier: reverse turns the effect
		// round, not the state it follows.
		up, mult := carrier[tl.ifindex], 1
		if tl.reverse {
			mult = -1
		}
		switch {
		case tl.weight == 0 && up == tl.reverse:
			fault = true
		case tl.weight > 0 && up, tl.weight < 0 && !up:
			offset += tl.weight * mult
		}
	}
	held := false
	for _, ms := range m.scripts {
		if ms.t.state.init && ms.weight == 0 {
			held = true
			continue
		}
		f, o := ms.t.state.effect(ms.weight, ms.reverse)
		fault, offset = fault || f, offset+o
	}
	for _, mf := range m.files {
		f, o := fileEffect(mf.t.value, mf.weight, mf.reverse)
		fault, offset = fault || f, offset+o
	}
	for _, mp := range m.processes {
		f, o := mp.t.effect(mp.weight, mp.reverse)
		fault, offset = fault || f, offset+o
	}
	for _, mb := range m.bfds {
		f, o := mb.t.effect(mb.weight, mb.reverse)
		fault, offset = fault || f, offset+o
	}
	m.inst.SetPriorityOffset(offset)
	m.inst.SetFault(fault)
	m.inst.SetHeld(held)
}
