package check

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// realFailure runs c once and returns its error, which must not be nil.
func realFailure(t *testing.T, c Checker) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := c.Check(ctx)
	if err == nil {
		t.Fatalf("%T passed", c)
	}
	return err
}

// TestLogAllFailuresWording checks log_all_failures and
// checker_log_all_failures: every failed attempt is logged in
// keepalived's words (check_http.c's timeout_epilog, check_tcp.c,
// check_smtp.c's smtp_final) while the checker is up or has not run, and
// without it only the verdicts are. The failures are those the checkers
// return against servers the test starts.
func TestLogAllFailuresWording(t *testing.T) {
	const s = time.Second
	status := startFixedHTTP(t, "HTTP/1.0 500 Oops\r\n\r\n")
	smtp, _ := smtpServer(t, "421 busy\r\n", false)
	refused := closedPort(t)
	udp := udpServer(t, []byte("NOPE"), false)
	tests := []struct {
		kind     string
		server   string
		err      error
		perTry   string // the line of each failed attempt
		verdicts []string
	}{
		{
			kind:   "HTTP_GET",
			server: "[127.0.0.1]:tcp:80",
			err:    realFailure(t, &HTTPGet{Dialer: Dialer{Addr: status}, URLs: []URL{{Path: "/"}}}),
			perTry: "HTTP status code error to server [127.0.0.1]:tcp:80.",
			verdicts: []string{
				"Remote Web server [127.0.0.1]:tcp:80 succeed on service.",
				"HTTP_CHECK on service [127.0.0.1]:tcp:80 failed after 2 retries.",
				"Remote Web server [127.0.0.1]:tcp:80 succeed on service.",
			},
		},
		{
			kind:   "HTTP_GET",
			server: "[127.0.0.1]:tcp:81",
			err:    realFailure(t, &HTTPGet{Dialer: Dialer{Addr: refused}, URLs: []URL{{Path: "/"}}}),
			perTry: "Connection failed server [127.0.0.1]:tcp:81.",
		},
		{
			kind:   "TCP_CHECK",
			server: "[127.0.0.1]:tcp:82",
			err:    realFailure(t, &TCPCheck{Dialer: Dialer{Addr: refused}}),
			perTry: "TCP connection to [127.0.0.1]:tcp:82 failed.",
		},
		{
			kind:   "UDP_CHECK",
			server: "[127.0.0.1]:udp:53",
			err:    realFailure(t, &UDPCheck{Dialer: Dialer{Addr: udp}, Payload: []byte("ping"), RequireReply: true, Reply: []byte("PONG"), MaxReplyLength: 64}),
			perTry: "UDP check to [127.0.0.1]:udp:53 reply data mismatch.",
		},
		{
			kind:   "SMTP_CHECK",
			server: "[127.0.0.1]:tcp:25",
			err:    realFailure(t, &SMTPCheck{Dialer: Dialer{Addr: smtp}}),
			perTry: fmt.Sprintf("SMTP_CHECK Bad greeting banner from server [%s]:%d", smtp.Addr(), smtp.Port()),
		},
	}
	for _, tt := range tests {
		for _, all := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s %v all=%v", tt.kind, tt.perTry, all), func(t *testing.T) {
				logger, hook := test.NewNullLogger()
				logger.SetLevel(logrus.InfoLevel)
				clk := newFakeClock()
				sch := NewScheduler(Options{Clock: clk, Jitter: -1, Spread: -1, Slack: -1, Logger: logger})
				// Up, three failures to down, one while down, up.
				c := &scriptedChecker{clock: clk, results: []error{nil, tt.err, tt.err, tt.err, tt.err, nil}}
				timing := Timing{DelayLoop: 10 * s, Retry: 2, DelayBeforeRetry: s}
				if err := sch.Add(Server{Name: tt.server, Checks: []Check{{Name: tt.kind, Checker: c, Timing: timing, LogAllFailures: all}}}); err != nil {
					t.Fatal(err)
				}
				drive(t, sch, clk, 45*s)
				perTry := 0
				var verdicts []string
				for _, e := range hook.AllEntries() {
					if e.Message == tt.perTry {
						perTry++
						if len(verdicts) != 1 {
							t.Errorf("%q logged after %q: keepalived logs failures only while the checker is up", e.Message, verdicts)
						}
						continue
					}
					verdicts = append(verdicts, e.Message)
				}
				want := 0
				if all {
					want = 3 // the three while up; none while down
				}
				if perTry != want {
					t.Errorf("%q logged %d times, want %d; all lines: %q", tt.perTry, perTry, want, verdicts)
				}
				if tt.verdicts != nil && fmt.Sprintf("%q", verdicts) != fmt.Sprintf("%q", tt.verdicts) {
					t.Errorf("verdicts %q, want %q", verdicts, tt.verdicts)
				}
			})
		}
	}
}
