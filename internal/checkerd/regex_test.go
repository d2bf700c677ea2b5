package checkerd

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/config"
	"github.com/gokeepalived/gokeepalived/internal/lvs"
)

// TestRegexEngineRefusesKeepsChecker checks that a url regex PCRE2 takes
// and regexp2 does not (a branch reset group) leaves its checker in, as
// keepalived keeps it: the configuration is warned about, the url never
// matches, so the check fails, and passes under regex_no_match.
func TestRegexEngineRefusesKeepsChecker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go serve(ln, func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		fmt.Fprint(c, "HTTP/1.0 200 OK\r\n\r\nab")
	})
	port := ln.Addr().(*net.TCPAddr).Port
	for _, noMatch := range []bool{false, true} {
		extra := ""
		if noMatch {
			extra = "regex_no_match"
		}
		text := fmt.Sprintf(`virtual_server 192.0.2.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 %d {
        HTTP_GET {
            url {
                path /
                regex "(?|a|b)b"
                %s
            }
        }
    }
}
`, port, extra)
		cfg, ds := config.Parse("k.conf", []byte(text), config.Options{})
		if ds.HasErrors() || !strings.Contains(fmt.Sprint(ds), "Invalid regex: '(?|a|b)b'") {
			t.Fatalf("diagnostics %v, want the refused regex warned about", ds)
		}
		vs := &cfg.VirtualServers[0]
		srv, err := lvs.CheckServer("rs", vs, &vs.RealServers[0], lvs.CheckEnv{})
		if err != nil || len(srv.Checks) != 1 {
			t.Fatalf("CheckServer: %d checks, %v; want the checker kept", len(srv.Checks), err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = srv.Checks[0].Checker.Check(ctx)
		cancel()
		if noMatch && err != nil {
			t.Errorf("regex_no_match: %v, want a pass", err)
		}
		if !noMatch && (err == nil || !strings.Contains(err.Error(), "regex match failed")) {
			t.Errorf("check: %v, want a regex failure", err)
		}
	}
}
