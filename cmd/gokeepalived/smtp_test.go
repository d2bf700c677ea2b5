package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// mailLab is a lab with the director m and, beside it, an SMTP sink
// listening on 10.77.0.25:25.
func mailLab(t *testing.T) (*nettest.Host, *nettest.SMTPSink) {
	t.Helper()
	lab := nettest.NewLab(t)
	m := lab.AddHost("m", "10.77.0.1/24")
	mx := lab.AddHost("mx", "10.77.0.25/24")
	sink := &nettest.SMTPSink{}
	var ln net.Listener
	if err := mx.Do(func() (err error) { ln, err = net.Listen("tcp", "10.77.0.25:25"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go sink.Serve(ln)
	return m, sink
}

// TestDaemonSMTPAlert checks smtp_alert: the daemon mails its instance's
// transitions, as keepalived does, to the SMTP server of global_defs.
func TestDaemonSMTPAlert(t *testing.T) {
	m, sink := mailLab(t)

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
		for _, msg := range sink.Messages() {
			if strings.Contains(msg, "Subject: [lb-mail] VRRP Instance VI_1 - Entering MASTER state") &&
				strings.Contains(msg, "=> VRRP Instance is now owning VRRP VIPs <=") &&
				strings.Contains(msg, "To: ops@example.com") && strings.Contains(msg, "From: lb@example.com") {
				return true
			}
		}
		return false
	})
}

// smtpAlertVRRPConf has no smtp_alert in its instance: global_defs'
// smtp_alert and smtp_alert_vrrp decide.
func smtpAlertVRRPConf(global string) string {
	return fmt.Sprintf(`global_defs {
    router_id lb-mail
    notification_email {
        ops@example.com
    }
    notification_email_from lb@example.com
    smtp_server 10.77.0.25
    smtp_connect_timeout 5
    %s
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 78
    priority 150
    advert_int 1
    virtual_ipaddress {
        %s/24
    }
}
`, global, daemonVIP)
}

// TestDaemonSMTPAlertVRRPBesideKeepalived checks smtp_alert_vrrp, under
// keepalived and then gokeepalived: on its own it mails the instances'
// transitions; set off, it silences smtp_alert for them.
func TestDaemonSMTPAlertVRRPBesideKeepalived(t *testing.T) {
	m, sink := mailLab(t)
	bin := gokeepalivedBinary(t)
	const subject = "Subject: [lb-mail] VRRP Instance VI_1 - Entering MASTER state"
	mailed := func(from int) bool {
		for _, msg := range sink.Messages()[from:] {
			if strings.Contains(msg, subject) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		global string
		want   bool
	}{
		{"smtp_alert_vrrp", true},
		{"smtp_alert\n    smtp_alert_vrrp false", false},
	} {
		for _, ours := range []bool{false, true} {
			who := map[bool]string{false: "keepalived", true: "gokeepalived"}[ours]
			from := len(sink.Messages())
			dir := t.TempDir()
			d := startEither(t, m, bin, ours, dir, smtpAlertVRRPConf(c.global))
			waitFor(t, who+" master", 10*time.Second, func() bool { return m.HasAddr(daemonVIP) })
			if c.want {
				waitFor(t, who+"'s MASTER mail", 10*time.Second, func() bool { return mailed(from) })
			} else {
				// Time for a mail that should not come.
				time.Sleep(2 * time.Second)
				if mailed(from) {
					t.Errorf("%s with %q mailed the transition", who, c.global)
				}
			}
			d.Stop(t, 10*time.Second)
		}
	}
}
