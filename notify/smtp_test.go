package notify

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// A sink is an SMTP server just good enough to take mail. It records
// every line it reads, and replies from a script: reply[cmd] overrides the
// code for commands starting with cmd, and a code of 0 means never answer.
type sink struct {
	ln    net.Listener
	reply map[string]string

	sessions chan []string // each session's lines, when it ends
}

func newSink(t *testing.T, ln net.Listener, reply map[string]string) *sink {
	s := &sink{ln: ln, reply: reply, sessions: make(chan []string, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *sink) code(cmd, def string) string {
	for k, v := range s.reply {
		if strings.HasPrefix(cmd, k) {
			return v
		}
	}
	return def
}

func (s *sink) serve(c net.Conn) {
	var lines []string
	defer func() { s.sessions <- lines }()
	defer c.Close()
	say := func(code string) bool {
		if code == "0" {
			time.Sleep(time.Minute) // the client must give up first
			return false
		}
		_, err := c.Write([]byte(code + " ok\r\n"))
		return err == nil
	}
	// A multi-line greeting, which keepalived reads to its last line.
	if g := s.code("greeting", "220"); g == "220" {
		c.Write([]byte("220-sink\r\n"))
	}
	if !say(s.code("greeting", "220")) {
		return
	}
	r := bufio.NewReader(c)
	data := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		lines = append(lines, line)
		switch {
		case data && line == ".\r\n":
			data = false
			if !say(s.code("dot", "250")) {
				return
			}
		case data:
		case line == "DATA\r\n":
			code := s.code("DATA", "354")
			data = code == "354"
			if !say(code) {
				return
			}
		case line == "QUIT\r\n":
			say("221")
			return
		default:
			if !say(s.code(line, "250")) {
				return
			}
		}
	}
}

func (s *sink) wait(t *testing.T) []string {
	t.Helper()
	select {
	case lines := <-s.sessions:
		return lines
	case <-time.After(20 * time.Second):
		t.Fatal("no SMTP session ended")
	}
	return nil
}

func listenLoopback(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func testMailer(server string) (*Mailer, *test.Hook) {
	log, hook := test.NewNullLogger()
	return &Mailer{
		Server:         server,
		HeloName:       "lb1",
		From:           "k@example.com",
		To:             []string{"a@example.com", "b@example.com"},
		ConnectTimeout: 500 * time.Millisecond,
		RouterID:       "LVS_A",
		Log:            logrus.NewEntry(log),
		Now:            func() time.Time { return time.Date(2026, 11, 23, 20, 0, 0, 0, time.FixedZone("", 3600)) },
	}, hook
}

func logMessages(h *test.Hook) []string {
	var out []string
	for _, e := range h.AllEntries() {
		out = append(out, e.Message)
	}
	return out
}

func TestMailerDialogue(t *testing.T) {
	s := newSink(t, listenLoopback(t), nil)
	m, hook := testMailer(s.ln.Addr().String())
	m.VRRPState("VI_1", Master)
	got := strings.Join(s.wait(t), "")
	want := "HELO lb1\r\n" +
		"MAIL FROM:<k@example.com>\r\n" +
		"RCPT TO:<a@example.com>\r\n" +
		"RCPT TO:<b@example.com>\r\n" +
		"DATA\r\n" +
		"Date: Mon, 23 Nov 2026 20:00:00 +0100\r\n" +
		"From: k@example.com\r\n" +
		"Subject: [LVS_A] VRRP Instance VI_1 - Entering MASTER state\r\n" +
		"X-Mailer: Keepalived\r\n" +
		"To: a@example.com, b@example.com\r\n" +
		"\r\n" +
		"=> VRRP Instance is now owning VRRP VIPs <=\r\n" +
		"\r\n" +
		".\r\n" +
		"QUIT\r\n"
	if got != want {
		t.Errorf("dialogue:\n%q\nwant\n%q", got, want)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	host := "[127.0.0.1]:" + strings.Split(s.ln.Addr().String(), ":")[1]
	if want := []string{"Remote SMTP server " + host + " connected.", "SMTP alert successfully sent."}; !slices.Equal(logMessages(hook), want) {
		t.Errorf("logged %q, want %q", logMessages(hook), want)
	}
}

func TestMailerSubjects(t *testing.T) {
	tests := []struct {
		send          func(m *Mailer)
		subject, body string
	}{
		{func(m *Mailer) { m.VRRPState("VI_1", Backup) }, "[LVS_A] VRRP Instance VI_1 - Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="},
		{func(m *Mailer) { m.VRRPState("VI_1", Fault) }, "[LVS_A] VRRP Instance VI_1 - Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="},
		{func(m *Mailer) { m.VRRPState("VI_1", Stop) }, "[LVS_A] VRRP Instance VI_1 - Stopping", "=> VRRP Instance stopping <="},
		{func(m *Mailer) { m.GroupState("G1", Master) }, "[LVS_A] VRRP Group G1 - Entering MASTER state", "=> All VRRP group instances are now in MASTER state <="},
		{func(m *Mailer) { m.GroupState("G1", Fault) }, "[LVS_A] VRRP Group G1 - Entering FAULT state", "=> All VRRP group instances are now in FAULT state <="},
		// keepalived's checker alerts need IPVS, which this kernel lacks, so
		// their wording comes from check_tcp.c and smtp.c rather than a run.
		{func(m *Mailer) {
			m.RealServerState(netip.MustParseAddrPort("10.0.0.2:80"),
				VirtualServer{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Protocol: TCP}, false, "=> TCP CHECK failed on service <=")
		}, "[LVS_A] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN", "=> TCP CHECK failed on service <="},
		{func(m *Mailer) {
			m.RealServerState(netip.MustParseAddrPort("10.0.0.2:80"),
				VirtualServer{FWMark: 5, Protocol: TCP}, true, "=> TCP CHECK succeed on service <=")
		}, "[LVS_A] Realserver [10.0.0.2]:tcp:80 of virtual server FWM 5 - UP", "=> TCP CHECK succeed on service <="},
		{func(m *Mailer) { m.Alert("Healthcheck failed", "=> x <=") }, "[LVS_A] Healthcheck failed", "=> x <="},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			s := newSink(t, listenLoopback(t), nil)
			m, _ := testMailer(s.ln.Addr().String())
			tt.send(m)
			got := strings.Join(s.wait(t), "")
			if !strings.Contains(got, "Subject: "+tt.subject+"\r\n") || !strings.Contains(got, "\r\n\r\n"+tt.body+"\r\n\r\n.\r\n") {
				t.Errorf("message %q lacks subject %q or body %q", got, tt.subject, tt.body)
			}
			m.Close(context.Background())
		})
	}
}

func TestMailerFailures(t *testing.T) {
	refused := listenLoopback(t)
	refusedAddr := refused.Addr().String()
	refused.Close()

	tests := []struct {
		name  string
		reply map[string]string // nil: no server at all
		want  []string          // log lines, %s being the server
	}{
		{"refused", nil, []string{"SMTP connection ERROR to %s."}},
		{"greeting 554", map[string]string{"greeting": "554"}, []string{
			"Remote SMTP server %s connected.",
			"Error connecting SMTP server %s. SMTP status code = 554",
			"Can not read data from remote SMTP server %s."}},
		{"rcpt 550", map[string]string{"RCPT TO:<b@": "550"}, []string{
			"Remote SMTP server %s connected.",
			"Error processing RCPT cmd on SMTP server %s. SMTP status code = 550",
			"Can not read data from remote SMTP server %s."}},
		{"dot 552", map[string]string{"dot": "552"}, []string{
			"Remote SMTP server %s connected.",
			"Error processing DOT cmd on SMTP server %s. SMTP status code = 552",
			"Can not read data from remote SMTP server %s."}},
		{"hangs", map[string]string{"MAIL": "0"}, []string{
			"Remote SMTP server %s connected.",
			"Timeout reading data to remote SMTP server %s."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := refusedAddr
			if tt.reply != nil {
				addr = newSink(t, listenLoopback(t), tt.reply).ln.Addr().String()
			}
			m, hook := testMailer(addr)
			start := time.Now()
			m.VRRPState("VI_1", Master)
			if d := time.Since(start); d > 50*time.Millisecond {
				t.Errorf("VRRPState blocked the caller for %v", d)
			}
			if err := m.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			host := "[127.0.0.1]:" + strings.Split(addr, ":")[1]
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "%s", host))
			}
			if got := logMessages(hook); !slices.Equal(got, want) {
				t.Errorf("logged %q, want %q", got, want)
			}
		})
	}
}

func TestMailerCloseAbandons(t *testing.T) {
	s := newSink(t, listenLoopback(t), map[string]string{"greeting": "0"})
	m, _ := testMailer(s.ln.Addr().String())
	m.ConnectTimeout = time.Minute
	m.VRRPState("VI_1", Master)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := m.Close(ctx); err == nil {
		t.Error("Close of a hung alert returned nil")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	m.VRRPState("VI_1", Backup) // after Close: dropped, and must not panic
}

// nsDialer dials from inside a lab host's namespace.
type nsDialer struct{ h *nettest.Host }

func (d nsDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := d.h.Do(func() (err error) {
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// TestKeepalivedSMTP records the alert real keepalived mails when an
// instance becomes MASTER and the Mailer's alert for the same transition,
// against the same sink, and compares them.
func TestKeepalivedSMTP(t *testing.T) {
	lab := nettest.NewLab(t)
	a := lab.AddHost("a", "10.79.0.1/24")
	b := lab.AddHost("b", "10.79.0.2/24")
	var ln net.Listener
	if err := b.Do(func() (err error) { ln, err = net.Listen("tcp", "10.79.0.2:2525"); return err }); err != nil {
		t.Fatal(err)
	}
	s := newSink(t, ln, nil)

	ka := a.StartKeepalived(t, `global_defs {
	router_id LVS_A
	notification_email {
		a@example.com
		b@example.com
	}
	notification_email_from k@example.com
	smtp_server 10.79.0.2 2525
	smtp_helo_name lb1
	smtp_connect_timeout 5
}
vrrp_instance VI_1 {
	state MASTER
	interface eth0
	virtual_router_id 79
	priority 150
	advert_int 1
	smtp_alert
	virtual_ipaddress {
		10.79.0.100/24
	}
}
`, "-P")
	// keepalived starts in BACKUP, whatever its configured state, and
	// mails that before it mails MASTER.
	backup, master := s.wait(t), s.wait(t)
	if !ka.WaitOutput("SMTP alert successfully sent.", 10*time.Second) {
		t.Errorf("keepalived did not log success:\n%s", ka.Output())
	}
	ka.Stop(t, 10*time.Second)

	// keepalived may connect again to mail STOP as it exits; a sink of
	// our own keeps that session out of the comparison.
	if err := b.Do(func() (err error) { ln, err = net.Listen("tcp", "10.79.0.2:2526"); return err }); err != nil {
		t.Fatal(err)
	}
	s = newSink(t, ln, nil)
	m, hook := testMailer("10.79.0.2:2526")
	m.Now = nil
	m.Dialer = nsDialer{a}
	m.VRRPState("VI_1", Backup)
	ourBackup := s.wait(t)
	m.VRRPState("VI_1", Master)
	ourMaster := s.wait(t)
	m.Close(context.Background())

	// The Date header is the time of sending, in the local zone; only
	// its format is compared. Nothing else in keepalived's message varies.
	date := regexp.MustCompile(`^Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\r\n$`)
	mask := func(lines []string) []string {
		out := slices.Clone(lines)
		for i, l := range out {
			if date.MatchString(l) {
				out[i] = "Date: *\r\n"
			}
		}
		return out
	}
	for _, c := range []struct{ ours, theirs []string }{{ourBackup, backup}, {ourMaster, master}} {
		if got, want := mask(c.ours), mask(c.theirs); !slices.Equal(got, want) {
			t.Errorf("our dialogue\n%q\nkeepalived's\n%q", got, want)
		}
		if !slices.Contains(mask(c.theirs), "Date: *\r\n") {
			t.Errorf("keepalived's message has no Date header of the expected format: %q", c.theirs)
		}
	}
	if !slices.Contains(master, "Subject: [LVS_A] VRRP Instance VI_1 - Entering MASTER state\r\n") {
		t.Errorf("keepalived's second alert is not for MASTER: %q", master)
	}
	connected, sent := "Remote SMTP server [10.79.0.2]:2526 connected.", "SMTP alert successfully sent."
	if want := []string{connected, sent, connected, sent}; !slices.Equal(logMessages(hook), want) {
		t.Errorf("logged %q, want %q", logMessages(hook), want)
	}
	for _, w := range []string{"Remote SMTP server [10.79.0.2]:2525 connected."} {
		if !strings.Contains(ka.Output(), w) {
			t.Errorf("keepalived did not log %q", w)
		}
	}
}
