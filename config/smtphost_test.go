package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gokeepalived/gokeepalived/internal/nettest"
)

// TestSMTPCheckHostBlocksExpand checks keepalived's reading of SMTP_CHECK
// host blocks on its own sample: each host becomes an SMTP_CHECK with the
// block's settings and the host's connection, and the block's own
// connection stays checked only when the block sets a connection keyword
// (connect_timeout in the sample's second and third real servers).
func TestSMTPCheckHostBlocksExpand(t *testing.T) {
	const sample = "/usr/share/doc/keepalived/samples/keepalived.conf.SMTP_CHECK"
	cfg, ds, err := Load(sample, Options{})
	if err != nil {
		nettest.SkipUnlessCI(t, err.Error())
	}
	// The hosts without connect_timeout are warned about: keepalived
	// gives them a timeout of 0.
	warned := 0
	for _, d := range ds {
		if d.Severity != Warning || !strings.Contains(d.Msg, "SMTP_CHECK host without connect_timeout") {
			t.Errorf("diagnostic %v", d)
		}
		warned++
	}
	if warned != 6 {
		t.Errorf("%d hosts without connect_timeout warned about, want the sample's 6", warned)
	}
	var got []string
	for _, rs := range cfg.VirtualServers[0].RealServers {
		var cs []string
		for _, c := range rs.Checkers {
			cs = append(cs, fmt.Sprintf("%s %v:%d bind %v helo %s retry %d timeout %v", c.Type, c.ConnectIP, c.ConnectPort, c.BindTo, c.SMTP.HeloName, c.Timing.Retry, c.Timing.ConnectTimeout))
		}
		got = append(got, fmt.Sprint(cs))
	}
	want := []string{
		"[SMTP_CHECK 172.16.1.10:25 bind invalid IP helo foo.bar.com retry 2 timeout 30s]",
		"[SMTP_CHECK 172.16.1.11:25 bind invalid IP helo foo.bar.com retry 2 timeout 10s SMTP_CHECK 172.16.1.11:25 bind invalid IP helo foo.bar.com retry 2 timeout 10s SMTP_CHECK 192.168.155.10:25 bind invalid IP helo foo.bar.com retry 2 timeout 10s SMTP_CHECK 64.233.167.99:25 bind invalid IP helo foo.bar.com retry 2 timeout 10s]",
		"[SMTP_CHECK 172.16.1.12:25 bind invalid IP helo foo.bar.com retry 2 timeout 10s SMTP_CHECK 172.16.1.12:25 bind 172.16.1.2 helo foo.bar.com retry 2 timeout 10s SMTP_CHECK 192.168.155.11:25 bind 192.168.155.2 helo foo.bar.com retry 2 timeout 10s SMTP_CHECK 64.233.167.100:587 bind invalid IP helo foo.bar.com retry 2 timeout 10s]",
	}
	for i := range max(len(got), len(want)) {
		if i >= len(got) || i >= len(want) || got[i] != want[i] {
			t.Errorf("real server %d:\n got %v\nwant %v", i, got, want)
			break
		}
	}
}
