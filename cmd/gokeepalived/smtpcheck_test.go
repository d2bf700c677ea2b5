package main

import (
	"bufio"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// smtpRealServer is an SMTP server whose answers a test changes: "ok"
// holds a whole conversation, "banner" greets with 554, "helo" refuses
// HELO, "hangup" closes instead of answering HELO, "quit" answers QUIT
// with 500, "refused" stops listening.
type smtpRealServer struct {
	toggleServer
	mode atomic.Value // string
	// quits counts the conversations that reached QUIT, by mode.
	quits sync.Map // string -> *atomic.Int64
}

func (s *smtpRealServer) quitted(mode string) int64 {
	n, _ := s.quits.LoadOrStore(mode, new(atomic.Int64))
	return n.(*atomic.Int64).Load()
}

func newSMTPRealServer(addr string) *smtpRealServer {
	s := &smtpRealServer{}
	s.toggleServer = toggleServer{addr: addr, handle: s.session}
	return s
}

func (s *smtpRealServer) set(t *testing.T, mode string) {
	t.Helper()
	s.mode.Store(mode)
	if mode == "refused" {
		s.down()
	} else {
		s.up(t)
	}
}

func (s *smtpRealServer) session(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	mode := s.mode.Load().(string)
	r := bufio.NewReader(c)
	if mode == "banner" {
		fmt.Fprint(c, "554 no service\r\n")
		return
	}
	fmt.Fprint(c, "220 rs.example.com ESMTP\r\n")
	if _, err := r.ReadString('\n'); err != nil {
		return
	}
	switch mode {
	case "hangup":
		return
	case "helo":
		fmt.Fprint(c, "550 go away\r\n")
		return
	}
	fmt.Fprint(c, "250 rs.example.com\r\n")
	if _, err := r.ReadString('\n'); err != nil {
		return
	}
	n, _ := s.quits.LoadOrStore(mode, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	if mode == "quit" {
		fmt.Fprint(c, "500 what\r\n")
		return
	}
	fmt.Fprint(c, "221 bye\r\n")
}

const smtpCheckConf = `global_defs {
    router_id lb-smtp
    notification_email {
        ops@example.com
    }
    notification_email_from lb@example.com
    smtp_server 127.0.0.1 %[1]d
    smtp_connect_timeout 5
}
virtual_server 192.0.2.11 25 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 %[2]d {
        weight 1
        smtp_alert
        SMTP_CHECK {
            connect_timeout 2
            retry 0
            helo_name lb.example.com
        }
    }
}
`

// TestGuestSMTPCheckMail takes an SMTP real server down in each of the
// ways SMTP_CHECK tells apart, under keepalived and then under
// gokeepalived, and requires the same DOWN and UP mails, whose bodies
// carry the reason for each failure. A server that answers QUIT with
// 500 stays up under both.
func TestGuestSMTPCheckMail(t *testing.T) {
	requireGuest(t)
	loopbackUp(t)
	const port = 18025
	failures := []string{"banner", "helo", "hangup", "refused"}
	mails := map[bool][]string{}
	for _, ours := range []bool{false, true} {
		name := map[bool]string{false: "keepalived", true: "gokeepalived"}[ours]
		sink, ln := nettest.ListenSMTPSink(t)
		rs := newSMTPRealServer(fmt.Sprintf("127.0.0.1:%d", port))
		rs.set(t, "ok")
		d := startGuest(t, ours, fmt.Sprintf(smtpCheckConf, ln.Addr().(*net.TCPAddr).Port, port), "-C")
		rsMails := func() []string {
			var got []string
			for _, m := range sink.Messages() {
				if strings.Contains(m, "Realserver") {
					got = append(got, nettest.MailSummary(m))
				}
			}
			return got
		}
		count := func(state string) int {
			n := 0
			for _, m := range rsMails() {
				if strings.Contains(m, "- "+state+" |") {
					n++
				}
			}
			return n
		}
		waitFor(t, name+": a whole conversation", 10*time.Second, func() bool { return rs.quitted("ok") > 0 })
		rs.set(t, "quit")
		// Two checks of a QUIT answered with 500, each a verdict
		// (retry 0), and the mail a DOWN would have sent.
		waitFor(t, name+": two checks answered QUIT with 500", 10*time.Second, func() bool { return rs.quitted("quit") >= 2 })
		time.Sleep(time.Second)
		if n := count("DOWN"); n != 0 {
			t.Errorf("%s: %d DOWN mails before any failure or with a QUIT answered by 500:\n%s", name, n, strings.Join(rsMails(), "\n"))
		}
		for i, mode := range failures {
			rs.set(t, mode)
			waitFor(t, fmt.Sprintf("%s: DOWN mail for %s", name, mode), 15*time.Second, func() bool { return count("DOWN") > i })
			rs.set(t, "ok")
			waitFor(t, fmt.Sprintf("%s: UP mail after %s", name, mode), 15*time.Second, func() bool { return count("UP") > i })
		}
		d.stop(t)
		rs.down()
		ln.Close()
		got := rsMails()
		t.Logf("%s mailed:\n%s", name, strings.Join(got, "\n"))
		for i, m := range got {
			// A refusal by the local host fails connect(2) at
			// once ("Could not connect") when the kernel handles
			// the reset within the call, and later ("Error
			// connecting") when it leaves it to ksoftirqd: both
			// daemons word it by what connect(2) did.
			got[i] = strings.Replace(m, "Error connecting to server", "Could not connect to server", 1)
		}
		slices.Sort(got)
		mails[ours] = got
	}
	if len(mails[false]) != 2*len(failures) {
		t.Errorf("keepalived sent %d real server mails, want %d", len(mails[false]), 2*len(failures))
	}
	if strings.Join(mails[true], "\n") != strings.Join(mails[false], "\n") {
		t.Errorf("gokeepalived mailed:\n%s\nkeepalived mailed:\n%s", strings.Join(mails[true], "\n"), strings.Join(mails[false], "\n"))
	}
}
