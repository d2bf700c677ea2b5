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

// TestDaemonSMTPAlert checks smtp_alert: the daemon mails its instance's
// transitions, as keepalived does, to the SMTP server of global_defs.
func TestDaemonSMTPAlert(t *testing.T) {
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
