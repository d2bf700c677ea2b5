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
	noCheckerEmails bool                   // no_checker_emails
	servers         map[rsKey]*alertServer // the real servers of the configuration
	removed         map[rsKey]*alertServer // those the last reload removed
	byCheck         map[string]*alertServer
	vss             map[notify.VirtualServer]*alertVS
	gen             uint64 // counts the configurations applied
}

// alertVS is what a virtual server's quorum mail says: keepalived writes
// the threshold and the live weight the quorum was judged on. The live
// weight is summed here from the real servers' reports, with their
// configured weights.
type alertVS struct {
	mail       bool // smtp_alert
	quorum     int64
	hysteresis int64
	judged     bool // a quorum report came since the virtual server was configured
	up         bool // the last quorum reported
}

// rsKey names a real server as the reports do.
type rsKey struct {
	vs notify.VirtualServer
	rs netip.AddrPort
}

// alertServer is a real server's smtp_alert and its latest attempts.
type alertServer struct {
	key       rsKey
	mail      bool   // smtp_alert, resolved from real_server, virtual_server and global_defs
	weight    int    // configured weight, for the quorum mails
	alive     bool   // as last reported
	attempted bool   // an attempt has ended since the server was configured
	gen       uint64 // the last configuration that has the server
	failed    string
	passed    string
	failedAt  time.Time
	failure   error // of the last failed attempt
	passedAt  time.Time
	// last is each checker kind's latest attempt, for the data file: a
	// real server has one or two checkers, and a slice spares every
	// attempt a map's hashing.
	last []kindResult
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
	old, oldVS := a.servers, a.vss
	a.noCheckerEmails = cfg.Global.NoCheckerEmails
	// Sized up front: a reload of ten thousand real servers otherwise
	// grows each map a dozen times.
	total := 0
	for i := range cfg.VirtualServers {
		total += len(cfg.VirtualServers[i].RealServers)
	}
	a.servers = make(map[rsKey]*alertServer, total)
	a.byCheck = make(map[string]*alertServer, total)
	a.vss = make(map[notify.VirtualServer]*alertVS, len(cfg.VirtualServers))
	a.gen++
	names := lvs.CheckNames(cfg) // in the order of the loops below
	n := 0
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		id := lvs.NotifyID(vs)
		av := oldVS[id]
		if av == nil {
			av = &alertVS{}
		}
		av.mail, av.quorum, av.hysteresis = vs.SMTPAlert, int64(vs.Quorum), int64(vs.Hysteresis)
		a.vss[id] = av
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			k := rsKey{id, netip.AddrPortFrom(rs.Addr, rs.Port)}
			s := old[k]
			if s == nil {
				// A real server starts alive unless a checker is
				// in alpha mode, as the checkers start it.
				s = &alertServer{alive: !slices.ContainsFunc(rs.Checkers, func(c config.Checker) bool { return c.Timing.Alpha })}
			}
			s.key, s.mail, s.weight, s.gen = k, rs.SMTPAlert, rs.Weight, a.gen
			a.servers[k] = s
			a.byCheck[names[n]] = s
			n++
		}
	}
	a.removed = make(map[rsKey]*alertServer)
	for k, s := range old {
		if s.gen != a.gen { // not in cfg: a lookup less per real server
			a.removed[k] = s
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
	key := s.key
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
		s.failed, s.failedAt, s.failure = at.Checker, at.Start, at.Err
	} else {
		s.passed, s.passedAt = at.Checker, at.Start
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
	s, removed := a.servers[k], false
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
	for k, s := range a.servers {
		if k.vs == vs && s.alive {
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
	s := a.servers[rsKey{lvs.NotifyID(vs), netip.AddrPortFrom(rs.Addr, rs.Port)}]
	if s == nil || len(s.last) == 0 {
		return false, false, time.Time{}
	}
	if i := slices.IndexFunc(s.last, func(r kindResult) bool { return r.checker == checker }); i >= 0 {
		ok, ran = s.last[i].ok, true
	}
	at = s.passedAt
	if s.failedAt.After(at) {
		at = s.failedAt
	}
	return ok, ran, at
}
