package checkerd

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/test/vm"
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
	if !vm.InGuest() {
		t.Skip("runs inside the kernel guest, through TestKernel")
	}
	loopbackUpGuest(t)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", urlsPort))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var log urlLog
	go serve(ln, log.handle)
	for _, tc := range []struct{ name, extra string }{
		{"default", ""},
		{"fast_recovery", "fast_recovery"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := fmt.Sprintf(urlsConf, urlsPort, tc.extra)
			const window = 14 * time.Second
			log.reset(3)
			theirsUp := runKeepalived(t, conf, window, urlsPort)
			theirs := log.requests()
			log.reset(3)
			oursUp := runGokeepalived(t, conf, window, urlsPort)
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
