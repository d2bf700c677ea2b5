package systemd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// The guest's network: the director (the unit under test, in the guest's
// own namespace) on veth0, its peer keepalived in namespace peerNS on
// veth1, at the other end of the pair. VRRP instance VI_1 holds vip1, and
// after the reload vip2 too; the director's priority is the higher.
const (
	dirLink    = "veth0"
	dirAddr    = "10.0.0.1"
	peerNS     = "gkpeer"
	peerLink   = "veth1"
	peerAddr   = "10.0.0.2"
	vip1       = "10.0.0.100"
	vip2       = "10.0.0.101"
	confPath   = "/etc/keepalived/keepalived.conf"
	peerConf   = "/opt/gktest/peer.conf"
	debPath    = "/opt/gktest/gokeepalived.deb"
	peerUnit   = "gkpeer.service"
	masterLine = "(VI_1) Entering MASTER STATE"
	runTimeout = 90 * time.Second
)

// A daemon is one of the two units the checks run: keepalived's, from
// Debian's keepalived package, as the reference, and gokeepalived's.
type daemon struct {
	name string
	unit string
	// reference: keepalived sends no status line and its unit has no
	// watchdog; the checks record that rather than expect otherwise.
	reference bool
}

var (
	keepalived   = daemon{name: "keepalived", unit: "keepalived.service", reference: true}
	gokeepalived = daemon{name: "gokeepalived", unit: "gokeepalived.service"}
)

// A guestCheck is one reported line. Checks run in this order, each on
// the state the ones before left.
type guestCheck struct {
	name string
	run  func(g *guest) (string, error)
}

var guestChecks = []guestCheck{
	{"keepalived/start", func(g *guest) (string, error) { return g.start(keepalived) }},
	{"keepalived/status", func(g *guest) (string, error) { return g.status(keepalived) }},
	{"keepalived/reload", func(g *guest) (string, error) { return g.reload(keepalived) }},
	{"package/install-beside-keepalived", (*guest).installBeside},
	{"package/start-refused-beside-keepalived", (*guest).refusedBeside},
	{"keepalived/stop", func(g *guest) (string, error) { return g.stop(keepalived) }},
	{"keepalived/journal", func(g *guest) (string, error) { return g.journal(keepalived) }},
	{"keepalived/watchdog", func(g *guest) (string, error) { return g.watchdog(keepalived) }},
	{"package/switch", (*guest).switchOver},
	{"gokeepalived/start", func(g *guest) (string, error) { return g.start(gokeepalived) }},
	{"gokeepalived/status", func(g *guest) (string, error) { return g.status(gokeepalived) }},
	{"gokeepalived/hardening", (*guest).hardening},
	{"gokeepalived/reload", func(g *guest) (string, error) { return g.reload(gokeepalived) }},
	{"gokeepalived/stop", func(g *guest) (string, error) { return g.stop(gokeepalived) }},
	{"gokeepalived/journal", func(g *guest) (string, error) { return g.journal(gokeepalived) }},
	{"gokeepalived/watchdog", func(g *guest) (string, error) { return g.watchdog(gokeepalived) }},
	{"package/fresh-install", (*guest).freshInstall},
	{"package/purge", (*guest).purge},
}

// guest is the state the checks share.
type guest struct {
	dirMAC string
	// logs is each daemon's journal lines, by message, as the journal
	// check read them: keepalived's are the reference for gokeepalived's.
	logs map[string]map[string]map[logLine]bool
}

// TestGuestChecks runs inside the guest that TestSystemdGuest boots.
func TestGuestChecks(t *testing.T) {
	if !inGuest() {
		t.Skip("runs inside the systemd guest, through TestSystemdGuest")
	}
	g, err := setup()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range guestChecks {
		t.Run(c.name, func(t *testing.T) {
			began := time.Now()
			detail, err := c.run(g)
			took := time.Since(began).Seconds()
			if err != nil {
				fmt.Printf("%s%s FAIL %s (%.1f s)\n", checkMarker, c.name, oneLine(err.Error()), took)
				t.Error(err)
				return
			}
			fmt.Printf("%s%s PASS %s (%.1f s)\n", checkMarker, c.name, oneLine(detail), took)
			t.Log(detail)
		})
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " | ")), " ")
}

// setup makes the guest's network and starts the peer: keepalived in
// namespace peerNS, as a transient unit so that its journal is its own.
func setup() (*guest, error) {
	steps := [][]string{
		{"modprobe", "-a", "ip_vs", "ip_vs_rr"},
		{"ip", "netns", "add", peerNS},
		{"ip", "link", "add", dirLink, "type", "veth", "peer", "name", peerLink, "netns", peerNS},
		{"ip", "addr", "add", dirAddr + "/24", "dev", dirLink},
		{"ip", "link", "set", dirLink, "up"},
		{"ip", "-n", peerNS, "link", "set", "lo", "up"},
		{"ip", "-n", peerNS, "addr", "add", peerAddr + "/24", "dev", peerLink},
		{"ip", "-n", peerNS, "link", "set", peerLink, "up"},
		// The peer learns the director's MAC for a VIP from its
		// gratuitous ARP alone: the check that the director could send
		// one through its packet socket.
		{"ip", "netns", "exec", peerNS, "sysctl", "-qw", "net.ipv4.conf.all.arp_accept=1", "net.ipv4.conf." + peerLink + ".arp_accept=1"},
		{"udevadm", "settle"},
		{"mkdir", "-p", "/run/gkpeer"},
	}
	for _, s := range steps {
		if _, err := run(s[0], s[1:]...); err != nil {
			return nil, fmt.Errorf("setting up the guest: %w", err)
		}
	}
	if err := os.WriteFile(peerConf, []byte(peerConfig), 0o644); err != nil {
		return nil, err
	}
	if err := writeConf(false); err != nil {
		return nil, err
	}
	if _, err := run("systemd-run", "--unit="+peerUnit, "--property=NetworkNamespacePath=/run/netns/"+peerNS,
		"/usr/sbin/keepalived", "--dont-fork", "--vrrp", "-f", peerConf,
		"-p", "/run/gkpeer/keepalived.pid", "-r", "/run/gkpeer/vrrp.pid", "-c", "/run/gkpeer/checkers.pid"); err != nil {
		return nil, fmt.Errorf("starting the peer: %w", err)
	}
	l, err := netlink.LinkByName(dirLink)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dirLink, err)
	}
	return &guest{dirMAC: l.Attrs().HardwareAddr.String(), logs: make(map[string]map[string]map[logLine]bool)}, nil
}

const peerConfig = `global_defs {
	router_id peer
}
vrrp_instance VI_1 {
	state BACKUP
	interface ` + peerLink + `
	virtual_router_id 51
	priority 100
	advert_int 1
	virtual_ipaddress {
		` + vip1 + `/24
	}
}
`

// writeConf writes the director's configuration, the same file for both
// daemons; reloaded adds vip2 and doubles the real server's weight. vip2
// is an excluded address, which adverts do not carry: keepalived drops
// adverts whose address count differs from its own, so a second address
// in virtual_ipaddress would make the peer master whatever the reload.
func writeConf(reloaded bool) error {
	excluded, weight := "", 1
	if reloaded {
		excluded = "\tvirtual_ipaddress_excluded {\n\t\t" + vip2 + "/24\n\t}\n"
		weight = 2
	}
	conf := fmt.Sprintf(`global_defs {
	router_id director
}
vrrp_instance VI_1 {
	state BACKUP
	interface %s
	virtual_router_id 51
	priority 150
	advert_int 1
	virtual_ipaddress {
		%s/24
	}
%s}
virtual_server %s 80 {
	delay_loop 5
	lb_algo rr
	lb_kind DR
	protocol TCP
	real_server %s 80 {
		weight %d
	}
}
`, dirLink, vip1, excluded, vip1, peerAddr, weight)
	if err := os.MkdirAll("/etc/keepalived", 0o755); err != nil {
		return err
	}
	return os.WriteFile(confPath, []byte(conf), 0o644)
}

// start: "systemctl start" brings the director to MASTER with its VIP,
// its gratuitous ARP reaches the peer, and the IPVS table is programmed.
func (g *guest) start(d daemon) (string, error) {
	if _, err := run("ip", "-n", peerNS, "neigh", "flush", "dev", peerLink); err != nil {
		return "", err
	}
	cursor := journalCursor()
	t0 := time.Now()
	if _, err := run("systemctl", "start", d.unit); err != nil {
		return "", fmt.Errorf("%w\n%s", err, unitLog(d.unit, cursor))
	}
	ready := time.Since(t0)
	vipAfter, ok := eventually(20*time.Second, func() bool { return hasAddr("", dirLink, vip1) })
	if !ok {
		return "", fmt.Errorf("no %s on %s 20 s after systemctl start\n%s", vip1, dirLink, unitLog(d.unit, cursor))
	}
	if _, ok := eventually(5*time.Second, func() bool { return logHas(d.unit, cursor, masterLine) }); !ok {
		return "", fmt.Errorf("no %q in the journal of %s", masterLine, d.unit)
	}
	if _, ok := eventually(5*time.Second, func() bool { return !hasAddr(peerNS, peerLink, vip1) }); !ok {
		return "", fmt.Errorf("the peer still holds %s: two masters", vip1)
	}
	garpAfter, ok := eventually(10*time.Second, func() bool { return peerNeighbor(vip1) == g.dirMAC })
	if !ok {
		return "", fmt.Errorf("the peer did not learn %s at %s (%s's MAC) from a gratuitous ARP in 10 s (it has %q)", vip1, g.dirMAC, dirLink, peerNeighbor(vip1))
	}
	weight, err := ipvsWeight()
	if err != nil {
		return "", err
	}
	if weight != 1 {
		return "", fmt.Errorf("IPVS real server %s:80 has weight %d, want 1", peerAddr, weight)
	}
	return fmt.Sprintf("systemctl start returned after %s (ready); MASTER with %s on %s %s after the start; the peer learned %s at %s from the gratuitous ARP (%s); IPVS TCP %s:80 rr -> %s:80 weight 1",
		secs(ready), vip1, dirLink, secs(vipAfter), vip1, g.dirMAC, secs(garpAfter), vip1, peerAddr), nil
}

// status: the status line the daemon sends, as "systemctl status" shows
// it. keepalived sends none.
func (g *guest) status(d daemon) (string, error) {
	const want = "VRRP: VI_1 MASTER; LVS: 1 virtual server, 1/1 real servers up"
	if d.reference {
		p, err := show(d.unit, "StatusText")
		if err != nil {
			return "", err
		}
		out, _ := run("systemctl", "status", "--no-pager", d.unit)
		if p["StatusText"] != "" || strings.Contains(out, "Status:") {
			return "", fmt.Errorf("keepalived sent a status line, %q:\n%s", p["StatusText"], out)
		}
		return "no status line: keepalived sends READY=1, RELOADING=1 and STOPPING=1 but no STATUS=", nil
	}
	var text string
	if _, ok := eventually(5*time.Second, func() bool {
		p, err := show(d.unit, "StatusText")
		text = p["StatusText"]
		return err == nil && text == want
	}); !ok {
		return "", fmt.Errorf("StatusText %q, want %q", text, want)
	}
	out, err := run("systemctl", "status", "--no-pager", d.unit)
	if err != nil {
		return "", err
	}
	line := ""
	for l := range strings.Lines(out) {
		if strings.Contains(l, "Status:") {
			line = strings.TrimSpace(l)
		}
	}
	if line != `Status: "`+want+`"` {
		return "", fmt.Errorf("systemctl status shows %q, want Status: %q:\n%s", line, want, out)
	}
	return "systemctl status shows " + line, nil
}

// reload: "systemctl reload" with vip2 added and a new weight is hitless:
// vip1 stays, no transition on either side, the same process, and the
// change is in the kernel.
func (g *guest) reload(d daemon) (string, error) {
	before, err := show(d.unit, "MainPID")
	if err != nil {
		return "", err
	}
	w, err := watchAddrs(dirLink)
	if err != nil {
		return "", err
	}
	defer w.stop()
	cursor := journalCursor()
	if err := writeConf(true); err != nil {
		return "", err
	}
	defer writeConf(false)
	if _, err := run("systemctl", "reload", d.unit); err != nil {
		return "", err
	}
	vipAfter, ok := eventually(15*time.Second, func() bool { return hasAddr("", dirLink, vip2) })
	if !ok {
		return "", fmt.Errorf("no %s 15 s after the reload\n%s", vip2, unitLog(d.unit, cursor))
	}
	weightAfter, ok := eventually(15*time.Second, func() bool { n, err := ipvsWeight(); return err == nil && n == 2 })
	if !ok {
		return "", fmt.Errorf("the real server's weight is not 2 15 s after the reload\n%s", unitLog(d.unit, cursor))
	}
	// Three adverts' time for a hit to show.
	time.Sleep(3 * time.Second)
	run("journalctl", "--sync")
	var problems []string
	if n := w.deletions(vip1); n > 0 {
		problems = append(problems, fmt.Sprintf("%s was deleted %d times", vip1, n))
	}
	if !hasAddr("", dirLink, vip1) {
		problems = append(problems, vip1+" is gone")
	}
	after, err := show(d.unit, "MainPID")
	if err != nil {
		return "", err
	}
	if after["MainPID"] != before["MainPID"] {
		problems = append(problems, fmt.Sprintf("the main process changed, %s to %s", before["MainPID"], after["MainPID"]))
	}
	transitions := logMatching(d.unit, cursor, "Entering ")
	if len(transitions) > 0 {
		problems = append(problems, fmt.Sprintf("the director logged %q", transitions))
	}
	if peer := logMatching(peerUnit, cursor, masterLine); len(peer) > 0 || hasAddr(peerNS, peerLink, vip1) {
		problems = append(problems, "the peer became master")
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("the reload was not hitless: %s\n%s", strings.Join(problems, "; "), unitLog(d.unit, cursor))
	}
	return fmt.Sprintf("%s added %s and weight 2 %s after systemctl reload; %s never deleted, no state change on the director or the peer, the same main process (%s)",
		vip2, secs(vipAfter), secs(weightAfter), vip1, before["MainPID"]), nil
}

// stop: "systemctl stop" releases the VIPs and the IPVS table before it
// returns, and the peer takes over.
func (g *guest) stop(d daemon) (string, error) {
	cursor := journalCursor()
	t0 := time.Now()
	if _, err := run("systemctl", "stop", d.unit); err != nil {
		return "", err
	}
	took := time.Since(t0)
	var problems []string
	for _, a := range []string{vip1, vip2} {
		if hasAddr("", dirLink, a) {
			problems = append(problems, a+" is still on "+dirLink)
		}
	}
	if out, err := run("ipvsadm", "-Ln"); err != nil || strings.Contains(out, vip1+":80") {
		problems = append(problems, "the IPVS virtual server is still there")
	}
	p, err := show(d.unit, "ActiveState", "Result")
	if err != nil {
		return "", err
	}
	if p["ActiveState"] != "inactive" || p["Result"] != "success" {
		problems = append(problems, fmt.Sprintf("ActiveState=%s Result=%s", p["ActiveState"], p["Result"]))
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("after systemctl stop: %s\n%s", strings.Join(problems, "; "), unitLog(d.unit, cursor))
	}
	takeover, ok := eventually(10*time.Second, func() bool { return hasAddr(peerNS, peerLink, vip1) })
	if !ok {
		return "", fmt.Errorf("the peer did not take %s over within 10 s", vip1)
	}
	return fmt.Sprintf("systemctl stop returned after %s with %s and %s released and the IPVS table empty; the peer held %s %s after the stop began",
		secs(took), vip1, vip2, vip1, secs(takeover)), nil
}

// A logLine is how the journal files one message: the syslog identifier
// and priority.
type logLine struct {
	ident    string
	priority string
}

// keepalivedIdents are the syslog identifiers of keepalived's processes.
var keepalivedIdents = []string{"Keepalived", "Keepalived_vrrp", "Keepalived_healthcheckers"}

// journal: the unit's journal has keepalived's syslog identifiers and
// priorities; gokeepalived's lines that keepalived also wrote carry the
// same identifier and priority as keepalived's.
func (g *guest) journal(d daemon) (string, error) {
	run("journalctl", "--sync")
	entries, err := journalEntries(d.unit, "")
	if err != nil {
		return "", err
	}
	// keepalived's processes each write some lines (the configuration
	// file they open): a message maps to every identifier and priority
	// it came with.
	byMsg := make(map[string]map[logLine]bool)
	count := make(map[string]int)
	for _, e := range entries {
		if !slices.Contains(keepalivedIdents, e.ident) {
			continue
		}
		count[e.ident]++
		if byMsg[e.message] == nil {
			byMsg[e.message] = make(map[logLine]bool)
		}
		byMsg[e.message][logLine{e.ident, e.priority}] = true
	}
	g.logs[d.name] = byMsg
	if m := byMsg[masterLine]; len(m) != 1 || !m[logLine{"Keepalived_vrrp", "6"}] {
		return "", fmt.Errorf("want %q from Keepalived_vrrp at priority 6 (info) only, have %v", masterLine, m)
	}
	var idents []string
	for _, id := range keepalivedIdents {
		if count[id] > 0 {
			idents = append(idents, fmt.Sprintf("%s %d", id, count[id]))
		}
	}
	detail := fmt.Sprintf("%d lines from %s; %q from Keepalived_vrrp at info", len(entries), strings.Join(idents, ", "), masterLine)
	if d.reference {
		return detail, nil
	}
	ref := g.logs[keepalived.name]
	if len(ref) == 0 {
		return "", errors.New("keepalived's journal check did not run: nothing to compare with")
	}
	same, differ := 0, []string{}
	for msg, ls := range byMsg {
		r, ok := ref[msg]
		if !ok {
			continue
		}
		same++
		for l := range ls {
			if !r[l] {
				differ = append(differ, fmt.Sprintf("%q from %s at %s, keepalived's from %v", msg, l.ident, l.priority, r))
			}
		}
	}
	if len(differ) > 0 {
		return "", fmt.Errorf("lines keepalived writes with another identifier or priority: %s", strings.Join(differ, "; "))
	}
	if same < 3 {
		return "", fmt.Errorf("only %d messages in common with keepalived's journal", same)
	}
	return fmt.Sprintf("%s; %d messages also in keepalived's journal, all with keepalived's identifier and priority", detail, same), nil
}

// watchdog: a daemon frozen with SIGSTOP (alive, doing nothing) is killed
// and started again by systemd's watchdog. keepalived's unit has none: it
// stays frozen, for as long as gokeepalived's unit takes to restart.
func (g *guest) watchdog(d daemon) (string, error) {
	if _, err := run("systemctl", "start", d.unit); err != nil {
		return "", err
	}
	if _, ok := eventually(20*time.Second, func() bool { return hasAddr("", dirLink, vip1) && !hasAddr(peerNS, peerLink, vip1) }); !ok {
		return "", fmt.Errorf("%s is not master again after a start", d.name)
	}
	before, err := show(d.unit, "MainPID", "NRestarts", "WatchdogUSec")
	if err != nil {
		return "", err
	}
	bound, err := restartBound()
	if err != nil {
		return "", err
	}
	cursor := journalCursor()
	t0 := time.Now()
	if _, err := run("systemctl", "kill", "--signal=SIGSTOP", d.unit); err != nil {
		return "", err
	}
	if d.reference {
		defer func() {
			run("systemctl", "kill", "--signal=SIGCONT", d.unit)
			run("systemctl", "stop", d.unit)
		}()
		// Zero and infinity both turn the watchdog off.
		if w := before["WatchdogUSec"]; w != "0" && w != "infinity" {
			return "", fmt.Errorf("keepalived.service has WatchdogUSec=%s", w)
		}
		takeover, took := eventually(bound+3*time.Second, func() bool { return hasAddr(peerNS, peerLink, vip1) })
		time.Sleep(time.Until(t0.Add(bound + 3*time.Second)))
		after, err := show(d.unit, "MainPID", "NRestarts", "ActiveState")
		if err != nil {
			return "", err
		}
		if after["MainPID"] != before["MainPID"] || after["NRestarts"] != before["NRestarts"] {
			return "", fmt.Errorf("keepalived was restarted: %v, then %v", before, after)
		}
		peer := "the peer did not take over"
		if took {
			peer = fmt.Sprintf("the peer took %s over %s after the freeze while the frozen director kept it too", vip1, secs(takeover))
		}
		return fmt.Sprintf("no watchdog (WatchdogUSec=%s; keepalived sends no WATCHDOG=1): frozen %s, longer than gokeepalived's unit takes to restart, and not restarted (same pid, %s, NRestarts=%s); %s",
			before["WatchdogUSec"], secs(bound+3*time.Second), after["ActiveState"], after["NRestarts"], peer), nil
	}
	n0, _ := strconv.Atoi(before["NRestarts"])
	var after map[string]string
	restarted, ok := eventually(bound+20*time.Second, func() bool {
		p, err := show(d.unit, "MainPID", "NRestarts", "ActiveState")
		if err != nil {
			return false
		}
		n, _ := strconv.Atoi(p["NRestarts"])
		after = p
		return n == n0+1 && p["ActiveState"] == "active" && p["MainPID"] != "0" && p["MainPID"] != before["MainPID"]
	})
	if !ok {
		return "", fmt.Errorf("not restarted %s after SIGSTOP: %v\n%s", secs(bound+20*time.Second), after, unitLog(d.unit, cursor))
	}
	master, ok := eventually(20*time.Second, func() bool { return hasAddr("", dirLink, vip1) && !hasAddr(peerNS, peerLink, vip1) })
	if !ok {
		return "", fmt.Errorf("restarted but not master again\n%s", unitLog(d.unit, cursor))
	}
	timeout := "no \"Watchdog timeout\" line from systemd"
	dump := "no stack dump"
	if es, err := journalEntries(d.unit, cursor); err == nil {
		for _, e := range es {
			switch {
			case strings.Contains(e.message, "Watchdog timeout") && strings.HasPrefix(timeout, "no "):
				timeout = fmt.Sprintf("systemd: %q %s after the freeze", e.message, secs(e.time.Sub(t0)))
			case strings.HasPrefix(e.message, "SIGABRT: abort"):
				// systemd follows SIGABRT with SIGCONT: the Go runtime
				// of the stopped daemon logs every goroutine and exits.
				dump = "the daemon logged its goroutines' stacks (SIGABRT: abort) as " + e.ident
			}
		}
	}
	return fmt.Sprintf("frozen with SIGSTOP (WatchdogUSec=%s): %s; %s; restarted %s after the freeze (NRestarts=%s, pid %s, was %s), master again %s after the restart",
		before["WatchdogUSec"], timeout, dump, secs(restarted), after["NRestarts"], after["MainPID"], before["MainPID"], secs(master)), nil
}

// restartBound is how long gokeepalived's unit takes at most to restart a
// daemon that stopped pinging: WatchdogSec, then TimeoutAbortSec for one
// that cannot act on SIGABRT, then RestartSec. It is read from the unit
// as installed (systemctl cat), whether or not the unit is loaded.
func restartBound() (time.Duration, error) {
	out, err := run("systemctl", "cat", gokeepalived.unit)
	if err != nil {
		return 0, err
	}
	vals := make(map[string]string)
	for l := range strings.Lines(out) {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			vals[k] = v
		}
	}
	var bound time.Duration
	for _, k := range []string{"WatchdogSec", "TimeoutAbortSec", "RestartSec"} {
		d, err := time.ParseDuration(vals[k])
		if err != nil {
			return 0, fmt.Errorf("gokeepalived.service's %s=%q: %v", k, vals[k], err)
		}
		bound += d
	}
	return bound, nil
}

// installBeside: "dpkg -i" with keepalived running neither enables nor
// starts gokeepalived, says why, and leaves keepalived and its VIP alone.
func (g *guest) installBeside() (string, error) {
	before, err := show(keepalived.unit, "MainPID", "ActiveState")
	if err != nil {
		return "", err
	}
	if before["ActiveState"] != "active" {
		return "", fmt.Errorf("keepalived is %s, want active", before["ActiveState"])
	}
	w, err := watchAddrs(dirLink)
	if err != nil {
		return "", err
	}
	defer w.stop()
	t0 := time.Now()
	out, err := run("dpkg", "-i", debPath)
	if err != nil {
		return "", err
	}
	took := time.Since(t0)
	const said = "gokeepalived.service is neither enabled nor started: the keepalived package is installed"
	if !strings.Contains(out, said) {
		return "", fmt.Errorf("dpkg -i did not say %q:\n%s", said, out)
	}
	if err := keepalivedUntouched(before, w); err != nil {
		return "", err
	}
	enabled, _ := run("systemctl", "is-enabled", gokeepalived.unit)
	active, _ := run("systemctl", "is-active", gokeepalived.unit)
	if strings.TrimSpace(enabled) != "disabled" || strings.TrimSpace(active) != "inactive" {
		return "", fmt.Errorf("gokeepalived.service is %s and %s, want disabled and inactive", strings.TrimSpace(enabled), strings.TrimSpace(active))
	}
	return fmt.Sprintf("dpkg -i took %s and said %q; gokeepalived.service disabled and inactive; keepalived active with the same pid (%s), %s never deleted",
		secs(took), said, before["MainPID"], vip1), nil
}

// refusedBeside: "systemctl start gokeepalived" while keepalived runs
// fails with the reason, is not retried, and leaves keepalived alone.
func (g *guest) refusedBeside() (string, error) {
	before, err := show(keepalived.unit, "MainPID", "ActiveState")
	if err != nil {
		return "", err
	}
	w, err := watchAddrs(dirLink)
	if err != nil {
		return "", err
	}
	defer w.stop()
	cursor := journalCursor()
	if out, err := run("systemctl", "start", gokeepalived.unit); err == nil {
		return "", fmt.Errorf("systemctl start gokeepalived succeeded beside keepalived:\n%s", out)
	}
	// Longer than RestartSec: a retry would show.
	time.Sleep(4 * time.Second)
	p, err := show(gokeepalived.unit, "ActiveState", "Result", "ExecMainStatus", "NRestarts")
	if err != nil {
		return "", err
	}
	if p["ActiveState"] != "failed" || p["ExecMainStatus"] != "75" || p["NRestarts"] != "0" {
		return "", fmt.Errorf("gokeepalived.service: %v, want failed, main status 75, no restart\n%s", p, unitLog(gokeepalived.unit, cursor))
	}
	const why = "gokeepalived: not starting: keepalived.service is active"
	if !logHas(gokeepalived.unit, cursor, why) {
		return "", fmt.Errorf("no %q in the journal\n%s", why, unitLog(gokeepalived.unit, cursor))
	}
	if err := keepalivedUntouched(before, w); err != nil {
		return "", err
	}
	run("systemctl", "reset-failed", gokeepalived.unit)
	return fmt.Sprintf("systemctl start failed: %s, main process status 75, journal: %q; not retried (NRestarts=0 after 4 s); keepalived active with the same pid, %s never deleted",
		p["Result"], why, vip1), nil
}

func keepalivedUntouched(before map[string]string, w *addrWatch) error {
	after, err := show(keepalived.unit, "MainPID", "ActiveState")
	if err != nil {
		return err
	}
	if after["ActiveState"] != "active" || after["MainPID"] != before["MainPID"] {
		return fmt.Errorf("keepalived changed: %v, then %v", before, after)
	}
	if n := w.deletions(vip1); n > 0 || !hasAddr("", dirLink, vip1) {
		return fmt.Errorf("%s was deleted %d times, and is there: %v", vip1, n, hasAddr("", dirLink, vip1))
	}
	return nil
}

// switchOver: the README's way from keepalived to gokeepalived.
func (g *guest) switchOver() (string, error) {
	for _, c := range [][]string{
		{"systemctl", "disable", "--now", keepalived.unit},
		{"systemctl", "enable", gokeepalived.unit},
	} {
		if _, err := run(c[0], c[1:]...); err != nil {
			return "", err
		}
	}
	k, _ := run("systemctl", "is-enabled", keepalived.unit)
	gk, _ := run("systemctl", "is-enabled", gokeepalived.unit)
	if strings.TrimSpace(k) != "disabled" || strings.TrimSpace(gk) != "enabled" {
		return "", fmt.Errorf("keepalived.service %s, gokeepalived.service %s", strings.TrimSpace(k), strings.TrimSpace(gk))
	}
	return "systemctl disable --now keepalived; systemctl enable gokeepalived: keepalived.service disabled, gokeepalived.service enabled", nil
}

// hardening: the sandbox of the unit is in force on the running daemon,
// and VRRP, the VIPs, gratuitous ARP and IPVS worked under it (the start
// check); keepalived's signal files still land in the host's /tmp.
func (g *guest) hardening() (string, error) {
	p, err := show(gokeepalived.unit, "MainPID")
	if err != nil {
		return "", err
	}
	pid := p["MainPID"]
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return "", err
	}
	field := func(name string) string {
		for l := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(l, name+":"); ok {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	// CAP_CHOWN 0, DAC_OVERRIDE 1, DAC_READ_SEARCH 2, FOWNER 3, KILL 5,
	// SETGID 6, SETUID 7, NET_BIND_SERVICE 10, NET_ADMIN 12, NET_RAW 13,
	// SYS_ADMIN 21, SYS_NICE 23.
	var want uint64
	for _, c := range []uint{0, 1, 2, 3, 5, 6, 7, 10, 12, 13, 21, 23} {
		want |= 1 << c
	}
	bnd, err := strconv.ParseUint(field("CapBnd"), 16, 64)
	if err != nil {
		return "", fmt.Errorf("CapBnd %q: %v", field("CapBnd"), err)
	}
	var problems []string
	if bnd != want {
		problems = append(problems, fmt.Sprintf("CapBnd %#x, want %#x", bnd, want))
	}
	if field("NoNewPrivs") != "1" {
		problems = append(problems, "NoNewPrivs "+field("NoNewPrivs"))
	}
	if field("Seccomp") != "2" {
		problems = append(problems, "Seccomp "+field("Seccomp")+", want 2 (a filter: RestrictAddressFamilies)")
	}
	mounts, err := readOnlyMounts(pid)
	if err != nil {
		return "", err
	}
	for _, m := range []string{"/usr", "/etc", "/root"} {
		if !mounts[m] {
			problems = append(problems, m+" is writable for the daemon")
		}
	}
	os.Remove("/tmp/keepalived.data")
	if _, err := run("systemctl", "kill", "--signal=SIGUSR1", gokeepalived.unit); err != nil {
		return "", err
	}
	if _, ok := eventually(5*time.Second, func() bool { _, err := os.Stat("/tmp/keepalived.data"); return err == nil }); !ok {
		problems = append(problems, "SIGUSR1 wrote no /tmp/keepalived.data in the host's /tmp")
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	return fmt.Sprintf("CapBnd %#x (CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER KILL SETGID SETUID NET_BIND_SERVICE NET_ADMIN NET_RAW SYS_ADMIN SYS_NICE), NoNewPrivs 1, Seccomp 2, /usr /etc /root read-only; VRRP, VIPs, gratuitous ARP and IPVS worked under it; SIGUSR1 wrote /tmp/keepalived.data in the shared /tmp", bnd), nil
}

// readOnlyMounts returns the mount points that are read-only in pid's
// mount namespace.
func readOnlyMounts(pid string) (map[string]bool, error) {
	f, err := os.Open("/proc/" + pid + "/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ro := make(map[string]bool)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ...
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 {
			continue
		}
		ro[fs[4]] = slices.Contains(strings.Split(fs[5], ","), "ro")
	}
	return ro, sc.Err()
}

// freshInstall: with keepalived's package gone and a configuration in
// place, installing the package enables and starts the service.
func (g *guest) freshInstall() (string, error) {
	for _, c := range [][]string{
		{"systemctl", "stop", gokeepalived.unit},
		{"dpkg", "--purge", "gokeepalived"},
		{"dpkg", "--purge", "keepalived"},
	} {
		if _, err := run(c[0], c[1:]...); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(confPath); err != nil {
		return "", fmt.Errorf("purging keepalived took the operator's configuration: %w", err)
	}
	t0 := time.Now()
	out, err := run("dpkg", "-i", debPath)
	if err != nil {
		return "", err
	}
	took := time.Since(t0)
	enabled, _ := run("systemctl", "is-enabled", gokeepalived.unit)
	active, _ := run("systemctl", "is-active", gokeepalived.unit)
	if strings.TrimSpace(enabled) != "enabled" || strings.TrimSpace(active) != "active" {
		return "", fmt.Errorf("gokeepalived.service %s and %s, want enabled and active; dpkg said:\n%s", strings.TrimSpace(enabled), strings.TrimSpace(active), out)
	}
	master, ok := eventually(20*time.Second, func() bool { return hasAddr("", dirLink, vip1) })
	if !ok {
		return "", fmt.Errorf("installed and started, but not master 20 s later\n%s", unitLog(gokeepalived.unit, ""))
	}
	return fmt.Sprintf("keepalived purged; dpkg -i took %s, enabled and started gokeepalived.service; MASTER with %s %s after dpkg -i returned", secs(took), vip1, secs(master)), nil
}

// purge: "dpkg --purge" stops the daemon, which releases its VIP, and
// removes the package's files and conffiles, not keepalived's configuration.
func (g *guest) purge() (string, error) {
	if _, err := run("dpkg", "--purge", "gokeepalived"); err != nil {
		return "", err
	}
	var problems []string
	if hasAddr("", dirLink, vip1) {
		problems = append(problems, vip1+" is still on "+dirLink)
	}
	for _, f := range []string{"/usr/sbin/gokeepalived", "/etc/default/gokeepalived", "/lib/systemd/system/gokeepalived.service",
		"/etc/systemd/system/multi-user.target.wants/gokeepalived.service"} {
		if _, err := os.Lstat(f); err == nil {
			problems = append(problems, f+" is still there")
		}
	}
	if _, err := os.Stat(confPath); err != nil {
		problems = append(problems, "the configuration is gone")
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	takeover, ok := eventually(10*time.Second, func() bool { return hasAddr(peerNS, peerLink, vip1) })
	if !ok {
		return "", errors.New("the peer did not take over")
	}
	return fmt.Sprintf("the daemon stopped and released %s, the peer took over %s later; binary, unit, /etc/default/gokeepalived and the enablement link removed; %s kept", vip1, secs(takeover), confPath), nil
}

// Helpers.

// run runs a command and returns its output. One that hangs is killed
// after runTimeout, failing its check rather than the whole run.
func run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// show returns properties of unit, as systemctl show gives them.
func show(unit string, props ...string) (map[string]string, error) {
	out, err := run("systemctl", "show", unit, "-p", strings.Join(props, ","))
	if err != nil {
		return nil, err
	}
	p := make(map[string]string)
	for l := range strings.Lines(out) {
		if k, v, ok := strings.Cut(strings.TrimRight(l, "\n"), "="); ok {
			p[k] = v
		}
	}
	return p, nil
}

// hasAddr reports whether link in namespace ns ("": the guest's own) has
// the IPv4 address addr.
func hasAddr(ns, link, addr string) bool {
	args := []string{"-4", "-o", "addr", "show", "dev", link}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	out, err := run("ip", args...)
	return err == nil && strings.Contains(out, " "+addr+"/")
}

// peerNeighbor returns the MAC the peer has for addr, if any.
func peerNeighbor(addr string) string {
	out, err := run("ip", "-n", peerNS, "neigh", "show", addr, "dev", peerLink)
	if err != nil {
		return ""
	}
	f := strings.Fields(out)
	if i := slices.Index(f, "lladdr"); i >= 0 && i+1 < len(f) {
		return f[i+1]
	}
	return ""
}

var (
	serviceRE = regexp.MustCompile(`(?m)^TCP\s+` + regexp.QuoteMeta(vip1) + `:80\s+rr\b`)
	weightRE  = regexp.MustCompile(`->\s+` + regexp.QuoteMeta(peerAddr) + `:80\s+Route\s+(\d+)`)
)

// ipvsWeight returns the weight of the real server in the virtual
// server, with the scheduler and forwarding method the configuration says.
func ipvsWeight() (int, error) {
	out, err := run("ipvsadm", "-Ln", "-t", vip1+":80")
	if err != nil {
		return 0, err
	}
	if !serviceRE.MatchString(out) {
		return 0, fmt.Errorf("no TCP %s:80 rr virtual server:\n%s", vip1, out)
	}
	m := weightRE.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no real server %s:80 (Route):\n%s", peerAddr, out)
	}
	return strconv.Atoi(m[1])
}

// eventually polls cond until it holds or timeout passes, and says how
// long it took.
func eventually(timeout time.Duration, cond func() bool) (time.Duration, bool) {
	t0 := time.Now()
	for {
		if cond() {
			return time.Since(t0), true
		}
		if time.Since(t0) > timeout {
			return time.Since(t0), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// An addrWatch counts the addresses deleted from a link, from the
// kernel's own notifications: a VIP gone for an instant shows.
type addrWatch struct {
	done    chan struct{}
	mu      sync.Mutex
	deleted map[string]int
}

func watchAddrs(link string) (*addrWatch, error) {
	l, err := netlink.LinkByName(link)
	if err != nil {
		return nil, fmt.Errorf("watching the addresses of %s: %w", link, err)
	}
	w := &addrWatch{done: make(chan struct{}), deleted: make(map[string]int)}
	ch := make(chan netlink.AddrUpdate, 256)
	if err := netlink.AddrSubscribe(ch, w.done); err != nil {
		return nil, fmt.Errorf("watching the addresses of %s: %w", link, err)
	}
	go func() {
		for u := range ch {
			if !u.NewAddr && u.LinkIndex == l.Attrs().Index {
				w.mu.Lock()
				w.deleted[u.LinkAddress.IP.String()]++
				w.mu.Unlock()
			}
		}
	}()
	return w, nil
}

func (w *addrWatch) deletions(addr string) int {
	// Let notifications in flight arrive.
	time.Sleep(200 * time.Millisecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.deleted[addr]
}

func (w *addrWatch) stop() { close(w.done) }

// A journalEntry is one line of the journal.
type journalEntry struct {
	message  string
	ident    string
	priority string
	time     time.Time
}

// journalCursor returns the cursor of the journal's last entry: what
// comes after it is new.
func journalCursor() string {
	out, err := run("journalctl", "-n", "1", "-o", "json", "--no-pager", "-q")
	if err != nil {
		return ""
	}
	var e map[string]any
	if json.Unmarshal([]byte(out), &e) != nil {
		return ""
	}
	s, _ := e["__CURSOR"].(string)
	return s
}

// journalEntries returns unit's journal after cursor ("": all of it).
func journalEntries(unit, cursor string) ([]journalEntry, error) {
	args := []string{"-u", unit, "-o", "json", "--no-pager", "-q"}
	if cursor != "" {
		args = append(args, "--after-cursor="+cursor)
	}
	out, err := run("journalctl", args...)
	if err != nil {
		return nil, err
	}
	var es []journalEntry
	for l := range strings.Lines(out) {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil {
			continue
		}
		e := journalEntry{message: text(m["MESSAGE"]), ident: text(m["SYSLOG_IDENTIFIER"]), priority: text(m["PRIORITY"])}
		if us, err := strconv.ParseInt(text(m["__REALTIME_TIMESTAMP"]), 10, 64); err == nil {
			e.time = time.UnixMicro(us)
		}
		es = append(es, e)
	}
	return es, nil
}

// text is a journal field: a string, or an array of bytes when it is not
// valid UTF-8.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		b := make([]byte, 0, len(v))
		for _, x := range v {
			if f, ok := x.(float64); ok {
				b = append(b, byte(f))
			}
		}
		return string(b)
	}
	return ""
}

func logMatching(unit, cursor, substr string) []string {
	es, err := journalEntries(unit, cursor)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range es {
		if strings.Contains(e.message, substr) {
			out = append(out, e.message)
		}
	}
	return out
}

func logHas(unit, cursor, substr string) bool { return len(logMatching(unit, cursor, substr)) > 0 }

// unitLog is the unit's journal after cursor, for failure messages.
func unitLog(unit, cursor string) string {
	es, _ := journalEntries(unit, cursor)
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s %s: %s\n", e.time.Format("15:04:05.000"), e.ident, e.message)
	}
	return b.String()
}
