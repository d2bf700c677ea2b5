package checkerd

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/check"
	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
	"github.com/gokeepalived/gokeepalived/internal/nettest"
	"github.com/gokeepalived/gokeepalived/notify"
)

// loadConf parses text; keepalived's own complaints about it are part
// of what the tests check the effect of.
func loadConf(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, _ := config.Parse("keepalived.conf", []byte(text), config.Options{})
	return cfg
}

const alertsConf = `global_defs {
    router_id lb
}
virtual_server 192.0.2.1 80 {
    protocol TCP
    omega
    real_server 10.0.0.1 80 {
        TCP_CHECK {
        }
    }
    real_server 10.0.0.2 80 {
        HTTP_GET {
            url {
                path /
            }
        }
        TCP_CHECK {
        }
    }
    real_server 10.0.0.3 80 {
        smtp_alert off
        TCP_CHECK {
        }
    }
}
`

// TestCheckerAlerts drives checkerAlerts as the checkers do and requires
// keepalived's mails: none for the start-up report of a real server no
// check has seen, the deciding checker's line for a change of health,
// "=> Removing <=" for a real server a reload removed, "=> Shutting down
// <=" at shutdown, nothing for a real server with smtp_alert off, and a
// mail of its own for a checker's change that leaves its server's health
// as it was.
func TestCheckerAlerts(t *testing.T) {
	sink, mailer := newMailSink(t)
	cfg := loadConf(t, alertsConf)
	a := newCheckerAlerts(outputs{mailer}, cfg)
	vs := lvs.NotifyID(&cfg.VirtualServers[0])
	rs := func(i int) *notify.RealServer {
		return &notify.RealServer{Addr: netip.MustParseAddrPort("10.0.0." + string(rune('0'+i)) + ":80")}
	}
	fail := errors.New("connection refused")
	attempt := func(i int, checker string, err error) {
		a.observe(check.Attempt{Server: "[10.0.0." + string(rune('0'+i)) + "]:tcp:80", Checker: checker, Start: time.Now(), Err: err})
	}
	var want []string
	expect := func(i int, state, body string) {
		want = append(want, "[lb] Realserver [10.0.0."+string(rune('0'+i))+"]:tcp:80 of virtual server [192.0.2.1]:tcp:80 - "+state+" | "+body)
	}

	a.RealServerState(rs(1), vs, true, false) // rs_init_notifies: no check yet
	attempt(1, "TCP_CHECK", nil)
	attempt(1, "TCP_CHECK", fail)
	a.RealServerState(rs(1), vs, false, false)
	expect(1, "DOWN", "=> TCP CHECK failed on service <=")
	attempt(1, "TCP_CHECK", nil)
	a.RealServerState(rs(1), vs, true, false)
	expect(1, "UP", "=> TCP CHECK succeed on service <=")

	attempt(2, "TCP_CHECK", nil)
	attempt(2, "HTTP_GET", fail)
	a.RealServerState(rs(2), vs, false, false)
	expect(2, "DOWN", "=> CHECK failed on service : HTTP request failed <=")
	// With HTTP_GET down, TCP_CHECK goes down and up again: the server
	// stays down, and each change of the checker is mailed on its own,
	// with the server's state in the subject.
	a.observe(check.Attempt{Server: "[10.0.0.2]:tcp:80", Checker: "TCP_CHECK", Start: time.Now(), Err: fail, Changed: true})
	expect(2, "DOWN", "=> TCP CHECK failed on service <=")
	a.observe(check.Attempt{Server: "[10.0.0.2]:tcp:80", Checker: "TCP_CHECK", Start: time.Now(), Changed: true, Up: true})
	expect(2, "DOWN", "=> TCP CHECK succeed on service <=")

	attempt(3, "TCP_CHECK", fail)
	a.RealServerState(rs(3), vs, false, false)

	// A reload removes 10.0.0.1, then the daemon stops.
	a.apply(loadConf(t, strings.Replace(alertsConf, "real_server 10.0.0.1 80 {\n        TCP_CHECK {\n        }\n    }\n", "", 1)))
	a.RealServerState(rs(1), vs, false, false)
	expect(1, "DOWN", "=> Removing <=")
	attempt(2, "HTTP_GET", nil)
	a.RealServerState(rs(2), vs, true, false)
	expect(2, "UP", "=> CHECK succeed on service <=")
	a.RealServerState(rs(2), vs, false, true)
	expect(2, "DOWN", "=> Shutting down <=")

	expectMails(t, sink, want)
}

// outputs is a fixed notifier and mailer.
type outputs struct{ mailer *notify.Mailer }

func (o outputs) Notifier() *notify.Notifier { return &notify.Notifier{} }
func (o outputs) Mailer() *notify.Mailer     { return o.mailer }

// expectMails waits for the mails want, in any order, and for no more.
func expectMails(t *testing.T, sink *nettest.SMTPSink, want []string) {
	t.Helper()
	// Mails go out in the background, each on its own connection.
	for deadline := time.Now().Add(5 * time.Second); len(sink.Messages()) < len(want) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	var got []string
	for _, m := range sink.Messages() {
		got = append(got, nettest.MailSummary(m))
	}
	// Delivery order is not the order of the alerts.
	if strings.Join(sorted(got), "\n") != strings.Join(sorted(want), "\n") {
		t.Errorf("mails:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestCheckerAlertsNoCheckerEmails requires no mail for a checker's change
// that leaves its server's health as it was when global_defs has
// no_checker_emails, and the server's own changes mailed as before.
func TestCheckerAlertsNoCheckerEmails(t *testing.T) {
	sink, mailer := newMailSink(t)
	cfg := loadConf(t, strings.Replace(alertsConf, "router_id lb", "router_id lb\n    no_checker_emails", 1))
	if !cfg.Global.NoCheckerEmails {
		t.Fatal("no_checker_emails not parsed")
	}
	a := newCheckerAlerts(outputs{mailer}, cfg)
	vs := lvs.NotifyID(&cfg.VirtualServers[0])
	rs2 := &notify.RealServer{Addr: netip.MustParseAddrPort("10.0.0.2:80")}
	fail := errors.New("connection refused")
	a.observe(check.Attempt{Server: "[10.0.0.2]:tcp:80", Checker: "HTTP_GET", Start: time.Now(), Err: fail, Changed: true, ServerChanged: true})
	a.RealServerState(rs2, vs, false, false)
	a.observe(check.Attempt{Server: "[10.0.0.2]:tcp:80", Checker: "TCP_CHECK", Start: time.Now(), Err: fail, Changed: true})
	a.observe(check.Attempt{Server: "[10.0.0.2]:tcp:80", Checker: "TCP_CHECK", Start: time.Now(), Changed: true, Up: true})
	expectMails(t, sink, []string{"[lb] Realserver [10.0.0.2]:tcp:80 of virtual server [192.0.2.1]:tcp:80 - DOWN | => CHECK failed on service : HTTP request failed <="})
}

// newMailSink returns an SMTP server for the test and a mailer of
// router_id lb that sends to it.
func newMailSink(t *testing.T) (*nettest.SMTPSink, *notify.Mailer) {
	t.Helper()
	sink, ln := nettest.ListenSMTPSink(t)
	return sink, &notify.Mailer{Server: ln.Addr().String(), From: "lb@example.com", To: []string{"ops@example.com"}, RouterID: "lb"}
}

func sorted(s []string) []string {
	return slices.Sorted(slices.Values(s))
}

// TestCheckerAlertsLastAttempt requires each checker kind's latest
// verdict, as the data file reports it, and the start of the server's
// latest attempt, whichever checker made it.
func TestCheckerAlertsLastAttempt(t *testing.T) {
	cfg := loadConf(t, alertsConf)
	a := newCheckerAlerts(outputs{}, cfg)
	vs := &cfg.VirtualServers[0]
	rs := &vs.RealServers[1] // 10.0.0.2: HTTP_GET and TCP_CHECK
	if ok, ran, at := a.lastAttempt(vs, rs, "TCP_CHECK"); ok || ran || !at.IsZero() {
		t.Fatalf("before any attempt: ok %v, ran %v, at %v; want nothing", ok, ran, at)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	observe := func(checker string, at time.Time, err error) {
		a.observe(check.Attempt{Server: "[10.0.0.2]:tcp:80", Checker: checker, Start: at, Err: err})
	}
	observe("TCP_CHECK", t0, nil)
	observe("HTTP_GET", t0.Add(time.Second), errors.New("status 500"))
	observe("TCP_CHECK", t0.Add(2*time.Second), errors.New("connection refused"))
	observe("HTTP_GET", t0.Add(3*time.Second), nil)
	for _, c := range []struct {
		checker string
		ok, ran bool
	}{
		{"TCP_CHECK", false, true},
		{"HTTP_GET", true, true},
		{"SMTP_CHECK", false, false},
	} {
		ok, ran, at := a.lastAttempt(vs, rs, c.checker)
		if ok != c.ok || ran != c.ran || !at.Equal(t0.Add(3*time.Second)) {
			t.Errorf("%s: ok %v, ran %v, at %v; want %v, %v, %v", c.checker, ok, ran, at, c.ok, c.ran, t0.Add(3*time.Second))
		}
	}
	// A reload keeps the real server and what its checkers last said.
	a.apply(loadConf(t, alertsConf))
	if ok, ran, _ := a.lastAttempt(&cfg.VirtualServers[0], rs, "HTTP_GET"); !ok || !ran {
		t.Errorf("after a reload: HTTP_GET ok %v, ran %v; want true, true", ok, ran)
	}
}

// TestCheckerAlertsSMTPAlertChecker checks global_defs' smtp_alert_checker:
// off, it silences the real servers' mails that smtp_alert and the
// default would send; on, it mails them over smtp_alert off. A real
// server's own smtp_alert still decides for it.
func TestCheckerAlertsSMTPAlertChecker(t *testing.T) {
	for _, tt := range []struct {
		global string
		mailed []int // the real servers whose DOWN is mailed
	}{
		{"smtp_alert_checker off", nil},
		{"smtp_alert off\n    smtp_alert_checker", []int{1, 2}},
		{"", []int{1, 2}},
	} {
		t.Run(tt.global, func(t *testing.T) {
			sink, mailer := newMailSink(t)
			cfg := loadConf(t, strings.Replace(alertsConf, "router_id lb", "router_id lb\n    "+tt.global, 1))
			a := newCheckerAlerts(outputs{mailer}, cfg)
			vs := lvs.NotifyID(&cfg.VirtualServers[0])
			var want []string
			for i := 1; i <= 3; i++ {
				addr := "10.0.0." + string(rune('0'+i))
				a.observe(check.Attempt{Server: "[" + addr + "]:tcp:80", Checker: "TCP_CHECK", Start: time.Now()})
				a.observe(check.Attempt{Server: "[" + addr + "]:tcp:80", Checker: "TCP_CHECK", Start: time.Now(), Err: errors.New("connection refused")})
				a.RealServerState(&notify.RealServer{Addr: netip.MustParseAddrPort(addr + ":80")}, vs, false, false)
				if slices.Contains(tt.mailed, i) {
					want = append(want, "[lb] Realserver ["+addr+"]:tcp:80 of virtual server [192.0.2.1]:tcp:80 - DOWN | => TCP CHECK failed on service <=")
				}
			}
			expectMails(t, sink, want)
		})
	}
}
