package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// smtpSink is the smallest SMTP server that accepts mail: it records the
// message of each session.
type smtpSink struct {
	mu   sync.Mutex
	msgs []string
}

func (s *smtpSink) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *smtpSink) session(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprint(c, "220 sink ESMTP\r\n")
	var data strings.Builder
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if inData {
			if line == ".\r\n" {
				inData = false
				s.mu.Lock()
				s.msgs = append(s.msgs, data.String())
				s.mu.Unlock()
				fmt.Fprint(c, "250 queued\r\n")
				continue
			}
			data.WriteString(line)
			continue
		}
		switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
		case "DATA":
			inData = true
			fmt.Fprint(c, "354 go ahead\r\n")
		case "QUIT":
			fmt.Fprint(c, "221 bye\r\n")
			return
		default:
			fmt.Fprint(c, "250 ok\r\n")
		}
	}
}

func (s *smtpSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// TestDaemonSMTPAlert checks smtp_alert: the daemon mails its instance's
// transitions, as keepalived does, to the SMTP server of global_defs.
func TestDaemonSMTPAlert(t *testing.T) {
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	mx := lab.AddHost("mx", "10.77.0.25/24")
	sink := &smtpSink{}
	var ln net.Listener
	if err := mx.Do(func() (err error) { ln, err = net.Listen("tcp", "10.77.0.25:25"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go sink.serve(ln)

	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`global_defs {
    router_id lb-mail
    notification_email {
        ops@example.com
    }
    notification_email_from lb@example.com
    smtp_server 10.77.0.25
    smtp_connect_timeout 5
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 77
    priority 150
    advert_int 1
    smtp_alert
    virtual_ipaddress {
        %s/24
    }
}
`, daemonVIP)), 0o644)
	m.Start(t, gokeepalivedBinary(t), "-n", "-l", "-G", "-P", "-f", conf, "-p", filepath.Join(dir, "k.pid"),
		"-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"), "--control-socket", filepath.Join(dir, "ctl.sock"))
	waitFor(t, "MASTER mail", 15*time.Second, func() bool {
		for _, msg := range sink.messages() {
			if strings.Contains(msg, "Subject: [lb-mail] VRRP Instance VI_1 - Entering MASTER state") &&
				strings.Contains(msg, "=> VRRP Instance is now owning VRRP VIPs <=") &&
				strings.Contains(msg, "To: ops@example.com") && strings.Contains(msg, "From: lb@example.com") {
				return true
			}
		}
		return false
	})
}
