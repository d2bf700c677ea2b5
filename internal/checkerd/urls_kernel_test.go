package checkerd

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// urlsPort is where the url order test's web server listens.
const urlsPort = 18191

// urlsConf checks two urls of a real server that is alpha, so that it
// enters the table once both urls have passed.
const urlsConf = `virtual_server 192.0.2.21 80 {
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 %d {
        weight 1
        HTTP_GET {
            alpha
            warmup 0
            retry 1
            delay_before_retry 1
            connect_timeout 1
            %s
            url {
                path /a
            }
            url {
                path /b
            }
        }
    }
}
`

// urlLog is a web server that fails the first fails requests for /b
// and records each request's path and time.
type urlLog struct {
	mu    sync.Mutex
	fails int
	b     int
	start time.Time
	seen  []string
}

func (l *urlLog) handle(c net.Conn) {
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return
	}
	l.mu.Lock()
	status := 200
	if f[1] == "/b" {
		l.b++
		if l.b <= l.fails {
			status = 500
		}
	}
	if l.start.IsZero() {
		l.start = time.Now()
	}
	// Whole seconds: both daemons' timers have that grain here.
	l.seen = append(l.seen, fmt.Sprintf("%s@%.0fs", f[1], time.Since(l.start).Seconds()))
	l.mu.Unlock()
	fmt.Fprintf(c, "HTTP/1.0 %d X\r\n\r\n", status)
}

func (l *urlLog) reset(fails int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails, l.b, l.start, l.seen = fails, 0, time.Time{}, nil
}

func (l *urlLog) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

// TestGuestURLOrderBesideKeepalived runs keepalived's checker and then
// gokeepalived's on an HTTP_GET of two urls whose second fails its first
// three requests, without and with fast_recovery, and requires the same
// requests, in the same order, the same seconds after the first, and the
// real server in the IPVS table at the end.
func TestGuestURLOrderBesideKeepalived(t *testing.T) {
	var log urlLog
	guestServer(t, urlsPort, log.handle)
	for _, tc := range []struct{ name, extra string }{
		{"default", ""},
		{"fast_recovery", "fast_recovery"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := fmt.Sprintf(urlsConf, urlsPort, tc.extra)
			const window = 14 * time.Second
			log.reset(3)
			theirsUp, _ := runKeepalived(t, conf, window, urlsPort)
			theirs := log.requests()
			log.reset(3)
			oursUp, _ := runGokeepalived(t, conf, window, urlsPort)
			ours := log.requests()
			t.Logf("keepalived's requests:   %v", theirs)
			t.Logf("gokeepalived's requests: %v", ours)
			n := min(len(theirs), len(ours))
			if n < 6 || fmt.Sprint(ours[:n]) != fmt.Sprint(theirs[:n]) {
				t.Errorf("requests differ:\n ours %v\ntheirs %v", ours, theirs)
			}
			if !theirsUp || oursUp != theirsUp {
				t.Errorf("in the table at the end: ours %v, keepalived's %v", oursUp, theirsUp)
			}
		})
	}
}

// logAllConf is three real servers under log_all_failures: an HTTP_GET
// of the url log's /b, a TCP_CHECK of a port nothing listens on, and an
// alpha HTTP_GET of another such port.
const logAllConf = `virtual_server 192.0.2.22 80 {
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 %[1]d {
        HTTP_GET {
            warmup 0
            retry 1
            delay_before_retry 1
            connect_timeout 1
            log_all_failures
            url {
                path /b
            }
        }
    }
    real_server 127.0.0.1 %[3]d {
        HTTP_GET {
            alpha
            warmup 0
            retry 1
            delay_before_retry 1
            connect_timeout 1
            log_all_failures
            url {
                path /
            }
        }
    }
    real_server 127.0.0.1 %[2]d {
        TCP_CHECK {
            warmup 0
            retry 1
            delay_before_retry 1
            connect_timeout 1
            log_all_failures
        }
    }
}
`

// checkerLines returns the lines of out about the real server on
// 127.0.0.1:port, without keepalived's prefix, leaving out those about
// the table (they name the virtual server).
func checkerLines(out string, port int) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		// keepalived's console lines begin with a date, "Fri Dec  4
		// 23:27:25 2026: ", or its process, "Keepalived_healthcheckers[178]: ".
		if f := strings.Fields(l); len(f) > 5 {
			if _, err := time.Parse(time.ANSIC, strings.TrimSuffix(strings.Join(f[:5], " "), ":")); err == nil {
				_, l, _ = strings.Cut(l, ": ")
			}
		}
		if _, rest, ok := strings.Cut(l, "]: "); ok && strings.HasPrefix(l, "Keepalived") {
			l = rest
		}
		if strings.Contains(l, fmt.Sprintf("[127.0.0.1]:tcp:%d", port)) && !strings.Contains(l, "VS [") {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestGuestLogAllFailuresBesideKeepalived runs keepalived's checker and
// then gokeepalived's with log_all_failures on an HTTP_GET whose url
// fails its first three requests, a TCP_CHECK of a closed port and an
// alpha HTTP_GET of another, and requires the same checker lines, in the
// same order.
func TestGuestLogAllFailuresBesideKeepalived(t *testing.T) {
	const web, closed, alphaClosed = 18192, 18193, 18195
	var log urlLog
	guestServer(t, web, log.handle)
	conf := fmt.Sprintf(logAllConf, web, closed, alphaClosed)
	// Up again 8 s after the first attempt, and keepalived's start
	// takes a second or so.
	const window = 12 * time.Second
	log.reset(3)
	_, theirs := runKeepalived(t, conf, window, web)
	log.reset(3)
	_, ours := runGokeepalived(t, conf, window, web)
	// The two servers' checkers run side by side: each server's lines
	// are compared on their own.
	for _, port := range []int{web, closed, alphaClosed} {
		tl, ol := checkerLines(theirs, port), checkerLines(ours, port)
		t.Logf("keepalived's lines:\n%s", strings.Join(tl, "\n"))
		if (len(tl) < 2 && port != alphaClosed) || strings.Join(ol, "\n") != strings.Join(tl, "\n") {
			t.Errorf("gokeepalived's lines:\n%s\nkeepalived's:\n%s", strings.Join(ol, "\n"), strings.Join(tl, "\n"))
		}
	}
}
