package checkerd

import (
	"fmt"
	"io"
	"strings"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/dump"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
)

// Dump writes the LVS Topology and Health checkers parts of keepalived's
// checker data file (check_data.c's dump_vs and dump_rs, check_api.c's
// dump_checker), from the configuration and the live state.
func (l *Loop) Dump(w io.Writer) {
	l.mu.Lock()
	cfg := l.cfg
	l.mu.Unlock()
	status := l.lvs.Status()
	fmt.Fprintf(w, "------< LVS Topology >------\n")
	fmt.Fprintf(w, " System is compiled with LVS v1.2.1\n")
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		var st lvs.VirtualServerStatus
		if i < len(status) {
			st = status[i]
		}
		dumpVS(w, vs, st)
	}
	fmt.Fprintf(w, "------< Health checkers >------\n")
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			alive := false
			if i < len(status) && j < len(status[i].RealServers) {
				alive = status[i].RealServers[j].Alive
			}
			for k := range rs.Checkers {
				l.dumpChecker(w, vs, rs, &rs.Checkers[k], alive)
			}
		}
	}
}

func dumpVS(w io.Writer, vs *config.VirtualServer, st lvs.VirtualServerStatus) {
	p := func(format string, a ...any) { fmt.Fprintf(w, "   "+format+"\n", a...) }
	fmt.Fprintf(w, " ------< Virtual server >------\n")
	family := "inet"
	switch {
	case vs.FWMark != 0:
		fmt.Fprintf(w, " VS FWMARK = %d\n", vs.FWMark)
		if vs.IPFamily == config.FamilyInet6 {
			family = "inet6"
		}
	case vs.Group != "":
		fmt.Fprintf(w, " VS GROUP = %s\n", vs.Group)
	default:
		fmt.Fprintf(w, " VS VIP = %s, VPORT = %d\n", vs.Addr, vs.Port)
		if vs.Addr.Is6() {
			family = "inet6"
		}
	}
	p("Address family = %s", family)
	p("connection timeout = %f", vs.Timing.ConnectTimeout.Seconds())
	p("delay_loop = %f", vs.Timing.DelayLoop.Seconds())
	p("lvs_sched = %s", vs.Scheduler)
	flags := map[config.SchedFlag]bool{}
	for _, f := range vs.SchedFlags {
		flags[f] = true
	}
	p("Hashed = %s", dump.Enabled(flags[config.SHFallback] || flags[config.SchedFlag1]))
	p("flag-1 = %s", dump.Enabled(flags[config.SchedFlag1] || flags[config.SHFallback] || flags[config.MHFallback]))
	p("flag-2 = %s", dump.Enabled(flags[config.SchedFlag2] || flags[config.SHPort] || flags[config.MHPort]))
	p("flag-3 = %s", dump.Enabled(flags[config.SchedFlag3]))
	p("One packet scheduling = %s", dump.Enabled(vs.OPS))
	if vs.PersistenceTimeout != 0 {
		p("persistence timeout = %d", vs.PersistenceTimeout)
	}
	if vs.PersistenceGranularity != "" {
		p("persistence granularity = %s", vs.PersistenceGranularity)
	}
	proto := vs.Protocol.String()
	if vs.FWMark != 0 || vs.Protocol == config.ProtocolNone {
		proto = "none"
	}
	p("protocol = %s", proto)
	p("alpha is %s", dump.OnOff(vs.Timing.Alpha))
	p("omega is %s", dump.OnOff(vs.Omega))
	p("Inhibit on failure is %s", dump.OnOff(vs.InhibitOnFailure))
	p("quorum = %d, hysteresis = %d", vs.Quorum, vs.Hysteresis)
	if vs.QuorumUp != nil {
		p("Quorum up notify script = %s, uid:gid 0:0", dump.Command(vs.QuorumUp.Cmd))
	}
	if vs.QuorumDown != nil {
		p("Quorum down notify script = %s, uid:gid 0:0", dump.Command(vs.QuorumDown.Cmd))
	}
	p("Using smtp notification = %s", dump.YesNo(vs.SMTPAlert))
	p("default forwarding method = %s", vs.Forwarding.Method)
	if ss := vs.SorryServer; ss != nil {
		p("sorry server = %s", (&config.RealServer{Addr: ss.Addr, Port: ss.Port}).Name(vs))
		p("  forwarding method = %s", ss.Forwarding.Method)
		p("  Inhibit on failure is %s", dump.OnOff(ss.Inhibit))
	}
	p("alive = 1")
	p("quorum_state_up = %d", dump.Int(st.QuorumUp))
	p("reloaded = 0")
	for j := range vs.RealServers {
		rs := &vs.RealServers[j]
		var rst lvs.RealServerStatus
		if j < len(st.RealServers) {
			rst = st.RealServers[j]
		}
		p("------< Real server >------")
		p("RIP = %s, RPORT = %d, WEIGHT = %d EFF WEIGHT = %d", rs.Addr, rs.Port, rs.Weight, rst.Weight)
		p("forwarding method = %s", rs.Forwarding.Method)
		p("Alpha is %s", dump.OnOff(rs.Timing.Alpha))
		p("connection timeout = %f", rs.Timing.ConnectTimeout.Seconds())
		p("connection limit range = %d -> %d", rs.LThreshold, rs.UThreshold)
		p("Delay loop = %f", rs.Timing.DelayLoop.Seconds())
		p("Inhibit on failure is %s", dump.OnOff(rs.InhibitOnFailure))
		if rs.NotifyUp != nil {
			p("  RS up notify script = %s, uid:gid 0:0", dump.Command(rs.NotifyUp.Cmd))
		}
		if rs.NotifyDown != nil {
			p("  RS down notify script = %s, uid:gid 0:0", dump.Command(rs.NotifyDown.Cmd))
		}
		p("Using smtp notification = %s", dump.YesNo(rs.SMTPAlert))
		p("initial weight = %d", rs.Weight)
		p("effective weight = %d", rst.Weight)
		p("previous effective_weight = 0")
		p("alive = %d", dump.Int(rst.Alive))
		failed := 0
		if !rst.Alive {
			failed = max(1, len(rs.Checkers))
		}
		p("num failed checkers = %d", failed)
		p("RS set = %d", dump.Int(rst.InPool))
		p("reloaded = 0")
	}
}

func (l *Loop) dumpChecker(w io.Writer, vs *config.VirtualServer, rs *config.RealServer, ck *config.Checker, rsAlive bool) {
	p := func(format string, a ...any) { fmt.Fprintf(w, "   "+format+"\n", a...) }
	fmt.Fprintf(w, " %s -> %s\n", vs.Name(), rs.Name(vs))
	ok, ran, last := l.alerts.lastAttempt(vs, rs, ck.Type)
	// A checker is up while its real server is; of a failed real
	// server's checkers, those whose latest attempt passed.
	up := rsAlive || (ran && ok) || (!ran && !ck.Timing.Alpha)
	p("Enabled = yes")
	p("Up = %s", dump.YesNo(up))
	p("Has run = %s", dump.YesNo(ran))
	p("Current weight = 0")
	if ck.Type != config.FileCheck {
		p("Alpha = %s", dump.YesNo(ck.Timing.Alpha))
		p("Delay loop = %d us", ck.Timing.DelayLoop.Microseconds())
		p("Warmup = %d us", ck.Timing.Warmup.Microseconds())
		p("Retries = %d", ck.Timing.Retry)
		if ck.Timing.Retry > 0 {
			p("Delay before retry = %d us", ck.Timing.DelayBeforeRetry.Microseconds())
			p("Retries iterations = 0")
		}
		p("Default delay before retry = %d us", check.DefaultTiming(ck.Type, ck.Timing.DelayLoop).DelayBeforeRetry.Microseconds())
	}
	p("Log all failures = %s", dump.YesNo(ck.LogAllFailures))
	if ck.Type != config.MiscCheck && ck.Type != config.FileCheck {
		addr, port := rs.Addr, rs.Port
		if ck.ConnectIP.IsValid() {
			addr = ck.ConnectIP
		}
		if ck.ConnectPort != 0 {
			port = ck.ConnectPort
		}
		p("Connection")
		p("  Dest = [%s]:%d", addr, port)
		if ck.BindTo.IsValid() {
			p("  Bind to = [%s]:%d", ck.BindTo, ck.BindPort)
		}
		if ck.BindIf != "" {
			p("  Bind i/f = %s", ck.BindIf)
		}
		if ck.FWMark != 0 {
			p("  Mark = %d", ck.FWMark)
		}
		p("  Timeout = %f", ck.Timing.ConnectTimeout.Seconds())
	}
	switch {
	case ck.HTTP != nil:
		p("Keepalive method = %s, http protocol %s", ck.Type, ck.HTTP.Protocol)
		p("Enable SNI %s", dump.SetUnset(ck.HTTP.EnableSNI))
		p("Fast recovery %s", dump.SetUnset(ck.HTTP.FastRecovery))
		for _, u := range ck.HTTP.URLs {
			p("Checked url = %s", u.Path)
			if u.Digest != "" {
				p("  digest = %s", u.Digest)
			}
			if len(u.StatusCodes) > 0 {
				p("  HTTP Status Code(s)")
				for _, r := range u.StatusCodes {
					if r.Lo == r.Hi {
						p("    %d", r.Lo)
					} else {
						p("    %d-%d", r.Lo, r.Hi)
					}
				}
			}
		}
		if !up && len(ck.HTTP.URLs) > 0 {
			p("Failed URL = %s", ck.HTTP.URLs[0].Path)
		}
	case ck.Misc != nil:
		p("Keepalive method = MISC_CHECK")
		p("script = %s", dump.Command(ck.Misc.Path))
		p("timeout = %d", int(ck.Misc.Timeout.Seconds()))
		p("dynamic = %s", strings.ToUpper(dump.YesNo(ck.Misc.Dynamic)))
		p("uid:gid = 0:0")
		status := 0
		if ran && !ok {
			status = 1 // the exit status itself is not kept
		}
		p("Last ran = %s", dump.CTimeMicro(last))
		p("Last status = %d", status)
	default:
		p("Keepalive method = %s", ck.Type)
	}
}
