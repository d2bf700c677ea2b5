package checkerd

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestGuestSMTPHostsBesideKeepalived runs keepalived's checker and then
// gokeepalived's on SMTP_CHECK blocks with host blocks, against SMTP
// servers the test starts, and requires the same verdict (the real
// server, alpha, in the IPVS table or not) and the same hosts greeted.
func TestGuestSMTPHostsBesideKeepalived(t *testing.T) {
	loopbackUpGuest(t)
	good1, good2 := startSMTPHost(t, "220 ready\r\n"), startSMTPHost(t, "220 ready\r\n")
	bad := startSMTPHost(t, "554 go away\r\n")
	const rsPort = 18194
	for _, tc := range []struct {
		name    string
		timeout string // each host's connect_timeout line
		hosts   []*smtpHostServer
	}{
		{"two good hosts", "connect_timeout 1", []*smtpHostServer{good1, good2}},
		{"a bad host", "connect_timeout 1", []*smtpHostServer{good1, bad}},
		{"hosts without connect_timeout", "", []*smtpHostServer{good1, good2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hosts strings.Builder
			for _, h := range tc.hosts {
				fmt.Fprintf(&hosts, "            host {\n                connect_ip %s\n                connect_port %d\n                %s\n            }\n", h.addr.Addr(), h.addr.Port(), tc.timeout)
			}
			conf := fmt.Sprintf(`virtual_server 192.0.2.23 25 {
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 %d {
        SMTP_CHECK {
            alpha
            warmup 0
            retry 0
%s        }
    }
}
`, rsPort, hosts.String())
			greeted := func(run func() bool) (bool, []bool) {
				before := make([]int, len(tc.hosts))
				for i, h := range tc.hosts {
					before[i] = h.helo()
				}
				up := run()
				var g []bool
				for i, h := range tc.hosts {
					g = append(g, h.helo() > before[i])
				}
				return up, g
			}
			theirsUp, theirs := greeted(func() bool { up, _ := runKeepalived(t, conf, 4*time.Second, rsPort); return up })
			oursUp, ours := greeted(func() bool { up, _ := runGokeepalived(t, conf, 4*time.Second, rsPort); return up })
			t.Logf("keepalived: in the table %v, hosts greeted %v", theirsUp, theirs)
			if tc.timeout == "" {
				// keepalived's zero timeout makes its verdict a
				// matter of chance; gokeepalived's, with the
				// checker's timeout, is up, as keepalived's is when
				// the replies win.
				theirsUp = true
			}
			if oursUp != theirsUp || fmt.Sprint(ours) != fmt.Sprint(theirs) {
				t.Errorf("gokeepalived: in the table %v, hosts greeted %v; keepalived %v, %v", oursUp, ours, theirsUp, theirs)
			}
		})
	}
}
