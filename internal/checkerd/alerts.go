package checkerd

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
	"github.com/gokeepalived/gokeepalived/notify"
)

// checkerAlerts is what the checkers report real server and quorum
// changes through: it hands every report to the notify scripts and FIFOs
// and sends the smtp_alert mails keepalived's checkers send when a real
// server goes down or comes up, is removed by a reload, or is shut down.
//
// keepalived mails from inside each checker, which knows its own kind;
// here the reports come per real server, so the checker whose attempt
// decided is taken from the scheduler's observer: the latest failed
// attempt for a server going down, the latest passed one for a server
// coming up. A checker's change of verdict that leaves its server's
// health as it was (the server has other checkers) is mailed from the
// observer, unless no_checker_emails, as keepalived's checkers do.
type checkerAlerts struct {
	hub Outputs

	mu              sync.Mutex
	noCheckerEmails bool // no_checker_emails
	// vss are the virtual servers of the configuration, and through
	// them their real servers.
	vss     map[notify.VirtualServer]*alertVS
	removed map[rsKey]*alertServer // the real servers the last reload removed
	byCheck map[string]*alertServer
	gen     uint64 // counts the configurations applied
}

// alertVS is what a virtual server's quorum mail says: keepalived writes
// the threshold and the live weight the quorum was judged on. The live
// weight is summed here from the real servers' reports, with their
// configured weights.
type alertVS struct {
	id         notify.VirtualServer
	mail       bool // smtp_alert
	quorum     int64
	hysteresis int64
	judged     bool // a quorum report came since the virtual server was configured
	up         bool // the last quorum reported
	// servers are its real servers, by address: a map per virtual
	// server keeps ten thousand real servers' keys to their addresses.
	servers map[netip.AddrPort]*alertServer
}

// rsKey names a real server as the reports do.
type rsKey struct {
	vs notify.VirtualServer
	rs netip.AddrPort
}

// alertServer is a real server's smtp_alert and its latest attempts.
// There is one per real server, ten thousand in a large configuration:
// it holds what the mails and the data file need, no more.
type alertServer struct {
	vs        *alertVS
	addr      netip.AddrPort
	weight    int    // configured weight, for the quorum mails
	gen       uint64 // the last configuration that has the server
	mail      bool   // smtp_alert, resolved from real_server, virtual_server and global_defs
	alive     bool   // as last reported
	attempted bool   // an attempt has ended since the server was configured
	// failed and passed are the checkers of the latest failed and
	// passed attempts, failure the error of the failed one.
	failed, passed string
	failure        error
	at             time.Time // when the latest attempt began
	// last is each checker kind's latest attempt, for the data file: a
	// real server has one or two checkers, and a slice spares every
	// attempt a map's hashing.
	last []kindResult
}

// key names the real server as the reports do.
func (s *alertServer) key() rsKey { return rsKey{s.vs.id, s.addr} }

// server returns the real server of the configuration with key k, nil if
// there is none. a.mu is held.
func (a *checkerAlerts) server(k rsKey) *alertServer {
	if av := a.vss[k.vs]; av != nil {
		return av.servers[k.rs]
	}
	return nil
}

// kindResult is the latest attempt of one kind of checker.
type kindResult struct {
	checker string
	ok      bool
}

func newCheckerAlerts(hub Outputs, cfg *config.Config) *checkerAlerts {
	a := &checkerAlerts{hub: hub}
	a.apply(cfg)
	return a
}

// apply takes the real servers of cfg. It runs before the checkers see
// cfg, so that the reports of a reload find the servers it removes in
// removed, and those it keeps keep their attempts.
func (a *checkerAlerts) apply(cfg *config.Config) {
	a.mu.Lock()
	defer a.mu.Unlock()
	oldVS := a.vss
	a.noCheckerEmails = cfg.Global.NoCheckerEmails
	// Sized up front: a reload of ten thousand real servers otherwise
	// grows each map a dozen times.
	total := 0
	for i := range cfg.VirtualServers {
		total += len(cfg.VirtualServers[i].RealServers)
	}
	a.byCheck = make(map[string]*alertServer, total)
	a.vss = make(map[notify.VirtualServer]*alertVS, len(cfg.VirtualServers))
	a.gen++
	names := lvs.CheckNames(cfg) // in the order of the loops below
	n := 0
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		id := lvs.NotifyID(vs)
		av := a.vss[id]
		if av == nil {
			// The first block of a service (a later one with the
			// same service is lvs's to refuse) takes the old state.
			var old map[netip.AddrPort]*alertServer
			if av = oldVS[id]; av != nil {
				old = av.servers
			} else {
				av = &alertVS{id: id}
			}
			av.servers = make(map[netip.AddrPort]*alertServer, len(vs.RealServers))
			for addr, s := range old {
				av.servers[addr] = s
			}
			a.vss[id] = av
		}
		av.mail, av.quorum, av.hysteresis = vs.SMTPAlert, int64(vs.Quorum), int64(vs.Hysteresis)
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			addr := netip.AddrPortFrom(rs.Addr, rs.Port)
			s := av.servers[addr]
			if s == nil {
				// A real server starts alive unless a checker is
				// in alpha mode, as the checkers start it.
				s = &alertServer{vs: av, addr: addr, alive: !slices.ContainsFunc(rs.Checkers, func(c config.Checker) bool { return c.Timing.Alpha })}
				av.servers[addr] = s
			}
			s.mail, s.weight, s.gen = rs.SMTPAlert, rs.Weight, a.gen
			a.byCheck[names[n]] = s
			n++
		}
	}
	// What cfg no longer has leaves the maps for removed: old servers
	// of a virtual server cfg keeps, and every server of one it drops.
	a.removed = make(map[rsKey]*alertServer)
	for _, av := range a.vss {
		for addr, s := range av.servers {
			if s.gen != a.gen {
				a.removed[s.key()] = s
				delete(av.servers, addr)
			}
		}
	}
	for id, av := range oldVS {
		if a.vss[id] == nil {
			for _, s := range av.servers {
				a.removed[s.key()] = s
			}
		}
	}
}

// observe records an attempt of the scheduler, and mails a checker's
// change of verdict that leaves its server's health as it was: keepalived
// mails it with the server's state in the subject and the checker's line
// in the body, unless no_checker_emails.
func (a *checkerAlerts) observe(at check.Attempt) {
	a.mu.Lock()
	s := a.byCheck[at.Server]
	if s == nil {
		a.mu.Unlock()
		return
	}
	a.record(s, at)
	mailer := a.hub.Mailer()
	mail := at.Changed && !at.ServerChanged && s.mail && !a.noCheckerEmails && mailer != nil
	key := s.key()
	a.mu.Unlock()
	if !mail {
		return
	}
	if body, ok := checkerBody(at.Checker, at.Up, at.Err); ok {
		mailer.RealServerState(key.rs, key.vs, at.ServerUp, body)
	}
}

// checkerBody is the body of the mail for a checker's verdict, from the
// attempt that decided it: an SMTP_CHECK failure says why, as
// keepalived's does.
func checkerBody(checker string, up bool, err error) (string, bool) {
	var se *check.SMTPError
	if !up && errors.As(err, &se) {
		return notify.CheckerFailureBody(se.Reason), true
	}
	return notify.CheckerBody(checker, up)
}

// record keeps an attempt for the mails and the data file. a.mu is held.
func (a *checkerAlerts) record(s *alertServer, at check.Attempt) {
	s.attempted = true
	ok := at.Err == nil
	i := slices.IndexFunc(s.last, func(r kindResult) bool { return r.checker == at.Checker })
	if i < 0 {
		s.last = append(s.last, kindResult{at.Checker, ok})
	} else {
		s.last[i].ok = ok
	}
	if at.Err != nil {
		s.failed, s.failure = at.Checker, at.Err
	} else {
		s.passed = at.Checker
	}
	if at.Start.After(s.at) {
		s.at = at.Start
	}
}

// RealServerState reports to the scripts and FIFOs, then mails as
// keepalived does: "=> Shutting down <=" at shutdown (the checkers only
// report it with omega), "=> Removing <=" for a server a reload removed,
// and the deciding checker's line for a change of health. The reports
// of rs_init_notifies, made before any check, are not mailed, as no
// checker of keepalived's has run then.
func (a *checkerAlerts) RealServerState(rs *notify.RealServer, vs notify.VirtualServer, up, stopping bool) {
	a.hub.Notifier().RealServerState(rs, vs, up, stopping)
	mailer := a.hub.Mailer()
	if mailer == nil {
		return
	}
	k := rsKey{vs, rs.Addr}
	a.mu.Lock()
	s, removed := a.server(k), false
	if s == nil {
		s, removed = a.removed[k], true
	}
	if s != nil {
		s.alive = up
	}
	var body string
	switch {
	case s == nil || !s.mail:
	case stopping:
		body = "=> Shutting down <="
	case removed:
		body = "=> Removing <="
	case !s.attempted:
	case up:
		body, _ = notify.CheckerBody(s.passed, true)
	default:
		body, _ = checkerBody(s.failed, false, s.failure)
	}
	a.mu.Unlock()
	if body != "" {
		mailer.RealServerState(rs.Addr, vs, up, body)
	}
}

// QuorumState reports to the scripts and FIFOs, then mails as
// keepalived's do_vs_notifies does when the virtual server has
// smtp_alert: "=> Gained quorum 1+0=1 <= 2 <=", "Lost quorum",
// "Starting with quorum up" or "down" for the first judgement after the
// virtual server was configured, and "=> Shutting down <=" at shutdown
// (reported only with omega).
func (a *checkerAlerts) QuorumState(q *notify.Quorum, vs notify.VirtualServer, up, stopping bool) {
	a.hub.Notifier().QuorumState(q, vs, up, stopping)
	mailer := a.hub.Mailer()
	if mailer == nil {
		return
	}
	a.mu.Lock()
	av := a.vss[vs]
	if av == nil || !av.mail {
		a.mu.Unlock()
		return
	}
	init := !av.judged
	wasUp := av.up
	av.judged, av.up = true, up
	var sum int64
	for _, s := range av.servers {
		if s.alive {
			sum += int64(min(max(s.weight, 0), 65535))
		}
	}
	// keepalived's threshold is the one the old state was judged on.
	quorum, hysteresis := av.quorum, av.hysteresis
	threshold := quorum + hysteresis
	if wasUp && !init {
		threshold = quorum - hysteresis
	}
	a.mu.Unlock()
	what := "Lost quorum"
	switch {
	case stopping:
		mailer.VirtualServerState(vs, up, "=> Shutting down <=")
		return
	case up && init:
		what = "Starting with quorum up"
	case up:
		what = "Gained quorum"
	case init:
		what = "Starting with quorum down"
	}
	mailer.VirtualServerState(vs, up, fmt.Sprintf("=> %s %d+%d=%d <= %d <=", what, quorum, hysteresis, threshold, sum))
}

// lastAttempt returns whether the latest attempt of a real server's
// checker of kind checker passed, whether there was one, and when the
// server's latest attempt began.
func (a *checkerAlerts) lastAttempt(vs *config.VirtualServer, rs *config.RealServer, checker string) (ok, ran bool, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.server(rsKey{lvs.NotifyID(vs), netip.AddrPortFrom(rs.Addr, rs.Port)})
	if s == nil || len(s.last) == 0 {
		return false, false, time.Time{}
	}
	if i := slices.IndexFunc(s.last, func(r kindResult) bool { return r.checker == checker }); i >= 0 {
		ok, ran = s.last[i].ok, true
	}
	return ok, ran, s.at
}
