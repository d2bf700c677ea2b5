package vrrpd

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/vrrp"
)

// staticRoute is a static_routes line as the daemon installs it.
type staticRoute struct {
	route vrrp.Route
}

func (r staticRoute) equal(o staticRoute) bool { return r.route.Equal(o.route) }

// staticRule is a static_rules line as the daemon installs it.
type staticRule struct {
	rule vrrp.Rule
}

// staticSet is the static_ipaddress, static_routes and static_rules of one
// configuration, and which deletions of them keepalived would see.
type staticSet struct {
	addrs  []vrrp.VIP // each with its device; NoTrack is no_track
	routes []staticRoute
	rules  []staticRule
	// keepalived hears of route and rule deletions of a family only
	// while a tracked virtual route or rule of that family asks it to
	// (vrrp_complete_instance's monitor_ipv4_routes and the like): only
	// then does it restore a static one deleted by hand.
	watchRoutes4, watchRoutes6 bool
	watchRules4, watchRules6   bool
}

// staticsOf returns cfg's static entries.
func staticsOf(cfg *config.Config) staticSet {
	var s staticSet
	for _, a := range cfg.StaticAddresses {
		v := vrrpVIP(a)
		if v.Device == "" {
			v.Device = cmp.Or(cfg.Global.DefaultInterface, config.DefaultInterface)
		}
		s.addrs = append(s.addrs, v)
	}
	for _, r := range cfg.StaticRoutes {
		s.routes = append(s.routes, staticRoute{route: vrrpRoute(r)})
	}
	for _, r := range cfg.StaticRules {
		s.rules = append(s.rules, staticRule{rule: vrrpRule(r)})
	}
	// A static route or rule with a track group asks for the deletions
	// of its family too (keepalived's process_static_entries).
	for _, r := range cfg.StaticRoutes {
		if r.TrackGroup != "" {
			s.watchRoutes4 = s.watchRoutes4 || r.To.Addr().Is4()
			s.watchRoutes6 = s.watchRoutes6 || r.To.Addr().Is6()
		}
	}
	for _, r := range cfg.StaticRules {
		if r.TrackGroup != "" {
			v6 := vrrpRule(r).Is6()
			s.watchRules4 = s.watchRules4 || !v6
			s.watchRules6 = s.watchRules6 || v6
		}
	}
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		for _, r := range in.VirtualRoutes {
			if !r.NoTrack {
				s.watchRoutes4 = s.watchRoutes4 || r.To.Addr().Is4()
				s.watchRoutes6 = s.watchRoutes6 || r.To.Addr().Is6()
			}
		}
		for _, r := range in.VirtualRules {
			if !r.NoTrack {
				v6 := vrrpRule(r).Is6()
				s.watchRules4 = s.watchRules4 || !v6
				s.watchRules6 = s.watchRules6 || v6
			}
		}
	}
	return s
}

func (s staticSet) empty() bool { return len(s.addrs) == 0 && len(s.routes) == 0 && len(s.rules) == 0 }

func (s staticSet) routeList() []vrrp.Route {
	out := make([]vrrp.Route, len(s.routes))
	for i, r := range s.routes {
		out[i] = r.route
	}
	return out
}

func (s staticSet) ruleList() []vrrp.Rule {
	out := make([]vrrp.Rule, len(s.rules))
	for i, r := range s.rules {
		out[i] = r.rule
	}
	return out
}

// statics keeps the static entries on the host for the daemon's life, as
// keepalived's VRRP process does: installed at start, restored when one
// is deleted by hand, changed by a reload, removed at stop.
type statics struct {
	log logrus.FieldLogger
	nl  *netlink.Handle

	// op serializes start, reload and stop: a reload racing the stop
	// would install what the stop has just removed.
	op  sync.Mutex
	mu  sync.Mutex
	set staticSet
	// ctx is the daemon's, which the watch follows; nil before start.
	ctx context.Context

	stopWatch context.CancelFunc // ends watch; nil while none runs
	watching  sync.WaitGroup
}

// newStatics returns the static entries of cfg, not yet installed.
func newStatics(cfg *config.Config, log logrus.FieldLogger) *statics {
	return &statics{log: log, nl: &netlink.Handle{}, set: staticsOf(cfg)}
}

// start removes what a run killed before it could stop may have left,
// as the VIPs are at start-up, installs the addresses, then the routes,
// which may need them, then the rules, and watches for their deletion.
func (s *statics) start(ctx context.Context) {
	if s == nil {
		// A loop made for its reports only has none.
		return
	}
	s.op.Lock()
	defer s.op.Unlock()
	s.mu.Lock()
	set := s.set
	s.ctx = ctx
	s.mu.Unlock()
	if !set.empty() {
		s.logErr(s.remove(set))
		s.logErr(s.add(set))
	}
	s.watch(ctx)
}

// stop ends the watch, so that removing them is not taken for a deletion
// by hand, then removes the rules, routes and addresses, in keepalived's
// order.
func (s *statics) stop() {
	if s == nil {
		// A loop made for its reports only has none.
		return
	}
	s.op.Lock()
	defer s.op.Unlock()
	s.mu.Lock()
	stop := s.stopWatch
	s.stopWatch, s.ctx = nil, nil
	set := s.set
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	s.watching.Wait()
	s.logErr(s.remove(set))
}

// reload makes the installed entries those of cfg: the old ones the new
// configuration lacks go, the new ones come, and those in both stay, as
// keepalived's clear_diff_static_* and the adds after them do.
func (s *statics) reload(cfg *config.Config) {
	if s == nil {
		// A loop made for its reports only has none.
		return
	}
	s.op.Lock()
	defer s.op.Unlock()
	next := staticsOf(cfg)
	s.mu.Lock()
	old, ctx := s.set, s.ctx
	// Set first: the removals below are no deletions by hand.
	s.set = next
	s.mu.Unlock()
	if ctx == nil {
		// Not started: start installs them.
		return
	}
	gone := staticSet{
		addrs:  missingFrom(old.addrs, next.addrs),
		routes: missingFunc(old.routes, next.routes, staticRoute.equal),
		rules:  missingFrom(old.rules, next.rules),
	}
	added := staticSet{
		addrs:  missingFrom(next.addrs, old.addrs),
		routes: missingFunc(next.routes, old.routes, staticRoute.equal),
		rules:  missingFrom(next.rules, old.rules),
	}
	s.logErr(s.remove(gone))
	s.logErr(s.add(added))
	// What is watched may have changed: the watch starts again.
	s.mu.Lock()
	stop := s.stopWatch
	s.stopWatch = nil
	s.mu.Unlock()
	if stop != nil {
		stop()
		s.watching.Wait()
	}
	s.watch(ctx)
}

// missingFrom returns the elements of a that b lacks.
func missingFrom[T comparable](a, b []T) []T {
	return missingFunc(a, b, func(x, y T) bool { return x == y })
}

// missingFunc returns the elements of a that b lacks, by eq.
func missingFunc[T any](a, b []T, eq func(T, T) bool) []T {
	return slices.DeleteFunc(slices.Clone(a), func(v T) bool {
		return slices.ContainsFunc(b, func(w T) bool { return eq(v, w) })
	})
}

// add installs set's addresses, routes and rules, in that order.
func (s *statics) add(set staticSet) error {
	var errs []error
	for _, a := range set.addrs {
		errs = append(errs, vrrp.NewAddressSet(s.nl, a.Device, []vrrp.VIP{a}).Add())
	}
	errs = append(errs, vrrp.NewRouteSet(s.nl, set.routeList()).Add(), vrrp.NewRuleSet(s.nl, set.ruleList()).Add())
	return errors.Join(errs...)
}

// remove removes set's rules, routes and addresses, in that order; one
// already absent is no error.
func (s *statics) remove(set staticSet) error {
	errs := []error{vrrp.NewRuleSet(s.nl, set.ruleList()).Remove(), vrrp.NewRouteSet(s.nl, set.routeList()).Remove()}
	for _, a := range set.addrs {
		if _, err := s.nl.LinkByName(a.Device); err != nil {
			// keepalived does not delete an address of an interface
			// that is gone: there is none to delete.
			continue
		}
		errs = append(errs, vrrp.NewAddressSet(s.nl, a.Device, []vrrp.VIP{a}).Remove())
	}
	return errors.Join(errs...)
}

func (s *statics) logErr(err error) {
	if err == nil {
		return
	}
	for _, e := range splitJoined(err) {
		s.log.Errorf("static: %v", e)
	}
}

// splitJoined returns the errors errors.Join made err of, or err alone.
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return []error{err}
}

// addressText is a static address as keepalived's format_ipaddress writes
// it.
func addressText(v vrrp.VIP) string {
	var b strings.Builder
	a := v.Prefix.Addr()
	b.WriteString(a.String())
	if v.Prefix.Bits() != a.BitLen() {
		b.WriteString("/" + strconv.Itoa(v.Prefix.Bits()))
	}
	if v.Broadcast.IsValid() {
		b.WriteString(" brd " + v.Broadcast.String())
	}
	b.WriteString(" dev " + v.Device + " scope " + v.Scope.String())
	if v.Label != "" {
		b.WriteString(" label " + v.Label)
	}
	return b.String()
}

// routeText is a restored static route as keepalived's format_iproute
// writes it, for the options the daemon installs.
func routeText(rt vrrp.Route) string {
	var b strings.Builder
	b.WriteString("prepend ")
	if rt.Type != 0 && rt.Type != vrrp.RouteUnicast {
		b.WriteString(rt.Type.String() + " ")
	}
	b.WriteString(prefixText(rt.Dst))
	if rt.Src.IsValid() {
		b.WriteString(" src " + rt.Src.String())
	}
	if rt.Gateway.IsValid() {
		fam := "inet"
		if rt.Gateway.Is6() {
			fam = "inet6"
		}
		b.WriteString(" via " + fam + " " + rt.Gateway.String())
	}
	if rt.Device != "" {
		b.WriteString(" dev " + rt.Device)
	}
	if rt.Table != 0 && rt.Table != 254 {
		b.WriteString(" table " + strconv.Itoa(rt.Table))
	}
	// Only tracked routes are restored, and keepalived gives them its
	// protocol.
	b.WriteString(" proto " + strconv.Itoa(int(cmp.Or(rt.Protocol, vrrp.RouteProtocol))))
	if rt.Scope != vrrp.ScopeUniverse {
		b.WriteString(" scope " + strconv.Itoa(int(rt.Scope)))
	}
	if rt.Metric != 0 {
		b.WriteString(" metric " + strconv.Itoa(rt.Metric))
	}
	if rt.OnLink && rt.Dst.Addr().Is4() {
		b.WriteString(" onlink")
	}
	return b.String()
}

// staticTracks returns, by instance name, the interfaces the instances
// of track groups track for the static entries that name their group, as
// keepalived's static_track_group_init adds them: an interface going down
// puts each of them in FAULT. It logs what keepalived logs of the groups
// and entries it cannot use.
func staticTracks(cfg *config.Config, log logrus.FieldLogger) map[string][]string {
	exists := make(map[string]bool, len(cfg.Instances))
	for _, in := range cfg.Instances {
		exists[in.Name] = true
	}
	members := make(map[string][]string)
	for _, g := range cfg.TrackGroups {
		if g.Group == nil {
			log.Infof("Static track group %s has no virtual router(s)", g.Name)
			log.Infof("Static track group %s init fails - removing", g.Name)
			continue
		}
		var ok []string
		for _, name := range g.Group {
			if !exists[name] {
				log.Infof("vrrp instance %s specified in track group %s doesn't exist - ignoring", name, g.Name)
				continue
			}
			ok = append(ok, name)
		}
		if len(ok) == 0 {
			log.Infof("Static track group %s has no VRRP instance(s)", g.Name)
			log.Infof("Static track group %s init fails - removing", g.Name)
			continue
		}
		members[g.Name] = ok
	}
	tracks := make(map[string][]string)
	add := func(what, group, ifname string, noTrack bool) {
		names, ok := members[group]
		if group == "" || !ok {
			return
		}
		if noTrack {
			log.Infof("Static %s has both track_group and no_track set - not tracking", what)
			return
		}
		if ifname == "" {
			return
		}
		for _, name := range names {
			if !slices.Contains(tracks[name], ifname) {
				tracks[name] = append(tracks[name], ifname)
			}
		}
	}
	for _, a := range cfg.StaticAddresses {
		add("address", a.TrackGroup, cmp.Or(a.Dev, cmp.Or(cfg.Global.DefaultInterface, config.DefaultInterface)), a.NoTrack)
	}
	for _, r := range cfg.StaticRoutes {
		add("route", r.TrackGroup, r.Dev, r.NoTrack)
	}
	for _, r := range cfg.StaticRules {
		add("rule", r.TrackGroup, r.Iif, r.NoTrack)
	}
	return tracks
}
