package check

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

const helloMD5 = "5d41402abc4b2a76b9719d911017c592"

func TestHTTPGetRequestAsKeepalivedSendsIt(t *testing.T) {
	srv := startRawHTTP(t, "tcp", "127.0.0.1:0", nil)
	addr := srv.addr().String()
	tests := []struct {
		name  string
		check HTTPGet
		want  string
	}{
		{
			name:  "1.0 without virtualhost",
			check: HTTPGet{URLs: []URL{{Path: "/index.html"}}},
			want:  "GET /index.html HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: " + addr + "\r\n\r\n",
		},
		{
			name:  "1.0C",
			check: HTTPGet{Protocol: HTTP10C, VirtualHost: "www.example.com", URLs: []URL{{Path: "/"}}},
			want:  "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.com\r\n\r\n",
		},
		{
			name:  "1.1 with the url's virtualhost first",
			check: HTTPGet{Protocol: HTTP11, VirtualHost: "checker.example", URLs: []URL{{Path: "/a?b=c", VirtualHost: "url.example"}}},
			want:  "GET /a?b=c HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: url.example\r\n\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check.Dialer.Addr = srv.addr()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := tt.check.Check(ctx); err != nil {
				t.Fatal(err)
			}
			if got := string(srv.request()); got != tt.want {
				t.Errorf("request\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestHTTPGetIPv6HostIsBracketed(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	ln.Close()
	srv := startRawHTTP(t, "tcp", "[::1]:0", nil)
	c := HTTPGet{Dialer: Dialer{Addr: srv.addr()}, URLs: []URL{{Path: "/"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if want := "Host: [::1]:"; !strings.Contains(string(srv.request()), want) {
		t.Errorf("request %q lacks %q", srv.request(), want)
	}
}

// TestHTTPGetVerdicts runs one attempt against each server behaviour and
// checks the verdict and that it came within the attempt's deadline.
func TestHTTPGetVerdicts(t *testing.T) {
	const timeout = 500 * time.Millisecond
	tests := []struct {
		name    string
		mode    string
		urls    []URL
		maxBody int64
		wantErr string
	}{
		{name: "status only", mode: modeOK, urls: []URL{{Path: "/"}}},
		{name: "digest", mode: modeOK, urls: []URL{{Path: "/", Digest: helloMD5}}},
		{name: "digest upper case", mode: modeOK, urls: []URL{{Path: "/", Digest: strings.ToUpper(helloMD5)}}},
		{name: "status list", mode: modeStatus, urls: []URL{{Path: "/", StatusCodes: []StatusRange{{200, 200}, {500, 503}}}}},
		{name: "regex", mode: modeOK, urls: []URL{{Path: "/", Regex: mustRegex(t, "hel+o$", 0)}}},
		{name: "regex_no_match", mode: modeOK, urls: []URL{{Path: "/", Regex: mustRegex(t, "error", 0), RegexNoMatch: true}}},
		{name: "wrong status", mode: modeStatus, urls: []URL{{Path: "/"}}, wantErr: "HTTP status code error"},
		{name: "digest mismatch", mode: modeBody, urls: []URL{{Path: "/", Digest: helloMD5}}, wantErr: "MD5 digest error"},
		{name: "regex fails", mode: modeBody, urls: []URL{{Path: "/", Regex: mustRegex(t, "hello", 0)}}, wantErr: "regex match failed"},
		{name: "regex_no_match fails", mode: modeOK, urls: []URL{{Path: "/", Regex: mustRegex(t, "hello", 0), RegexNoMatch: true}}, wantErr: "regex match failed"},
		{name: "every url must pass", mode: modeOK, urls: []URL{{Path: "/a", Digest: helloMD5}, {Path: "/b", Digest: "00000000000000000000000000000000"}}, wantErr: "url(/b)"},
		{name: "never answers", mode: modeHang, urls: []URL{{Path: "/"}}, wantErr: "deadline exceeded"},
		{name: "answers slowly", mode: modeSlow, urls: []URL{{Path: "/"}}, wantErr: "deadline exceeded"},
		{name: "reset mid-body", mode: modeReset, urls: []URL{{Path: "/", Digest: helloMD5}}, wantErr: "connection reset"},
		{name: "infinite body hits the cap", mode: modeInfinite, urls: []URL{{Path: "/", Digest: helloMD5}}, maxBody: 64 << 10, wantErr: "body longer than 65536 bytes"},
		{name: "infinite body hits the deadline", mode: modeInfinite, urls: []URL{{Path: "/", Digest: helloMD5}}, maxBody: 1 << 40, wantErr: "deadline exceeded"},
		{name: "infinite body without digest reads headers only", mode: modeInfinite, urls: []URL{{Path: "/"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startRawHTTP(t, "tcp", "127.0.0.1:0", nil)
			srv.setMode(tt.mode)
			c := HTTPGet{Dialer: Dialer{Addr: srv.addr()}, URLs: tt.urls, MaxBody: tt.maxBody}
			checkVerdict(t, &c, timeout, tt.wantErr)
			// The Scheduler runs HTTP_GET on its poller instead: the
			// same verdict, in the same words.
			checkVerdict(t, onPoller{&c}, timeout, tt.wantErr)
		})
	}
}

// onPoller runs an inline checker's attempts on a poller of their own, as
// the Scheduler does.
type onPoller struct{ c inlineChecker }

func (o onPoller) Check(ctx context.Context) error {
	p, err := newPoller()
	if err != nil {
		return err
	}
	go p.run()
	defer p.stop()
	// The Scheduler wakes the poller when it removes a server.
	defer context.AfterFunc(ctx, p.wake)()
	deadline, _ := ctx.Deadline()
	done := make(chan error, 1)
	o.c.start(p, ctx, deadline, func(err error) { done <- err })
	return <-done
}

// checkVerdict runs c under timeout and wants an error containing wantErr
// ("" for success) within the timeout plus scheduling slack.
func checkVerdict(t *testing.T, c Checker, timeout time.Duration, wantErr string) {
	t.Helper()
	const slack = 250 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	err := c.Check(ctx)
	elapsed := time.Since(start)
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("check failed: %v", err)
	case wantErr != "" && err == nil:
		t.Errorf("check passed, want error containing %q", wantErr)
	case wantErr != "" && !strings.Contains(err.Error(), wantErr):
		t.Errorf("error %q, want it to contain %q", err, wantErr)
	}
	if elapsed > timeout+slack {
		t.Errorf("verdict after %v, want within %v", elapsed, timeout+slack)
	}
}

func TestSSLGet(t *testing.T) {
	cert, pool := selfSigned(t, "rs.example")
	_, otherPool := selfSigned(t, "other.example")
	var mu sync.Mutex
	var sni []string
	conf := &tls.Config{
		Certificates: []tls.Certificate{cert},
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			mu.Lock()
			sni = append(sni, hello.ServerName)
			mu.Unlock()
			return nil, nil
		},
	}
	lastSNI := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(sni) == 0 {
			return "<no handshake>"
		}
		return sni[len(sni)-1]
	}
	srv := startRawHTTP(t, "tcp", "127.0.0.1:0", conf)
	const timeout = 500 * time.Millisecond

	t.Run("no verification without CA", func(t *testing.T) {
		c := HTTPGet{Dialer: Dialer{Addr: srv.addr()}, TLS: true, URLs: []URL{{Path: "/", Digest: helloMD5}}}
		checkVerdict(t, &c, timeout, "")
		if got := lastSNI(); got != "" {
			t.Errorf("SNI %q sent without enable_sni", got)
		}
	})
	t.Run("enable_sni sends the virtualhost", func(t *testing.T) {
		c := HTTPGet{Dialer: Dialer{Addr: srv.addr()}, TLS: true, EnableSNI: true, VirtualHost: "rs.example", URLs: []URL{{Path: "/"}}}
		checkVerdict(t, &c, timeout, "")
		if got := lastSNI(); got != "rs.example" {
			t.Errorf("SNI %q, want rs.example", got)
		}
	})
	t.Run("CA that signed the certificate", func(t *testing.T) {
		c := HTTPGet{Dialer: Dialer{Addr: srv.addr()}, TLS: true, CA: pool, URLs: []URL{{Path: "/"}}}
		checkVerdict(t, &c, timeout, "")
	})
	t.Run("CA that did not", func(t *testing.T) {
		c := HTTPGet{Dialer: Dialer{Addr: srv.addr()}, TLS: true, CA: otherPool, URLs: []URL{{Path: "/"}}}
		checkVerdict(t, &c, timeout, "SSL handshake")
	})
	t.Run("handshake stalls", func(t *testing.T) {
		stall := startRawHTTP(t, "tcp", "127.0.0.1:0", conf)
		stall.setMode(modeHang)
		c := HTTPGet{Dialer: Dialer{Addr: stall.addr()}, TLS: true, URLs: []URL{{Path: "/"}}}
		checkVerdict(t, &c, timeout, "SSL handshake")
	})
}

// TestHTTPGetDownWithinRetryBound runs HTTP_GET in the Scheduler against a
// server that turns hostile and wants the down event within
// delay_loop + (retry+1) x connect_timeout + retry x delay_before_retry.
func TestHTTPGetDownWithinRetryBound(t *testing.T) {
	timing := Timing{
		DelayLoop:        200 * time.Millisecond,
		Timeout:          300 * time.Millisecond,
		Retry:            2,
		DelayBeforeRetry: 100 * time.Millisecond,
	}
	const jitter = 0.05
	bound := time.Duration(float64(timing.DelayLoop)*(1+jitter)) +
		time.Duration(timing.Retry+1)*timing.Timeout +
		time.Duration(timing.Retry)*timing.DelayBeforeRetry +
		300*time.Millisecond // scheduling slack
	for _, mode := range []string{modeHang, modeSlow, modeStatus, modeBody, modeReset, modeInfinite} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			srv := startRawHTTP(t, "tcp", "127.0.0.1:0", nil)
			c := &HTTPGet{Dialer: Dialer{Addr: srv.addr()}, URLs: []URL{{Path: "/", Digest: helloMD5}}}
			sch := NewScheduler(Options{Jitter: jitter})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- sch.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
			if err := sch.Add(Server{Name: "rs", Checks: []Check{{Name: "HTTP_GET", Checker: c, Timing: timing}}}); err != nil {
				t.Fatal(err)
			}
			next := func() Event {
				select {
				case ev := <-sch.Events():
					return ev
				case <-time.After(10 * time.Second):
					t.Fatal("no event")
					return Event{}
				}
			}
			if ev := next(); !ev.Up {
				t.Fatalf("initial event %+v", ev)
			}
			// A few healthy rounds first, so that the retry count, not
			// the start-up rule, decides.
			time.Sleep(3 * timing.DelayLoop)
			srv.setMode(mode)
			turned := time.Now()
			ev := next()
			took := time.Since(turned)
			if ev.Up {
				t.Fatalf("event %+v, want down", ev)
			}
			if took > bound {
				t.Errorf("down after %v, want within %v (%s)", took, bound, ev.Reason)
			}
			// Not before the retries either: retry x delay_before_retry
			// separates the first failure from the verdict.
			if took < time.Duration(timing.Retry)*timing.DelayBeforeRetry {
				t.Errorf("down after %v, before the retries could run (%s)", took, ev.Reason)
			}
			srv.setMode(modeOK)
			if ev := next(); !ev.Up {
				t.Errorf("event %+v, want up again", ev)
			}
		})
	}
}
