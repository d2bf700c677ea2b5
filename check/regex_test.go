package check

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gokeepalived/gokeepalived/check/pcre"
)

func mustRegex(t *testing.T, pattern string, opts pcre.Option) *pcre.Regexp {
	t.Helper()
	re, err := pcre.Compile(pattern, opts, 0)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

// serveLoopback accepts connections on a loopback port until the test
// ends, and hands each to handle on a goroutine of its own, which closes
// it after.
func serveLoopback(t *testing.T, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// startFixedHTTP serves every connection the same response, in the writes
// given, a pause apart so that each arrives in a read of its own.
func startFixedHTTP(t *testing.T, writes ...string) netip.AddrPort {
	t.Helper()
	return serveLoopback(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		for i, w := range writes {
			if i > 0 {
				time.Sleep(50 * time.Millisecond)
			}
			if _, err := c.Write([]byte(w)); err != nil {
				return
			}
		}
	})
}

const regexHeader = "HTTP/1.0 200 OK\r\nServer: fixture\r\n\r\n"

// TestHTTPGetRegexFeatures checks HTTP_GET's verdict for each PCRE feature
// of a url regex, against a server the test starts, on both the checker's
// paths (a goroutine's and the Scheduler's poller).
func TestHTTPGetRegexFeatures(t *testing.T) {
	body := "<html>\n<title>Status</title>\n<p>state: healthy</p>\n<b>ok</b>\n</html>\n"
	for _, tc := range []struct {
		name     string
		pattern  string
		opts     pcre.Option
		noMatch  bool
		min, max int
		pass     bool
	}{
		{name: "lookahead", pattern: `state: (?=healthy)`, pass: true},
		{name: "lookahead fails", pattern: `state: (?=sick)`},
		{name: "negative lookahead", pattern: `state: (?!sick)`, pass: true},
		{name: "lookbehind", pattern: `(?<=state: )healthy`, pass: true},
		{name: "lookbehind fails", pattern: `(?<=status: )healthy`},
		{name: "backreference", pattern: `<(\w+)>ok</\1>`, pass: true},
		{name: "backreference fails", pattern: `<(\w+)>ok</\1x>`},
		{name: "case sensitive fails", pattern: `STATE: HEALTHY`},
		{name: "caseless", pattern: `STATE: HEALTHY`, opts: pcre.Caseless, pass: true},
		{name: "line anchors fail without multiline", pattern: `^<b>ok</b>$`},
		{name: "multiline", pattern: `^<b>ok</b>$`, opts: pcre.Multiline, pass: true},
		{name: "dot stops at newline", pattern: `Status.*healthy`},
		{name: "dotall", pattern: `Status.*healthy`, opts: pcre.Dotall, pass: true},
		{name: "headers are in the subject", pattern: `Server: fixture`, pass: true},
		{name: "min offset past the match", pattern: `Server`, min: 20},
		{name: "min offset before the match", pattern: `healthy`, min: 20, pass: true},
		{name: "max offset past the match", pattern: `healthy`, max: 200, pass: true},
		{name: "max offset before the match", pattern: `healthy`, max: 40},
		{name: "regex_no_match passes on no match", pattern: `error`, noMatch: true, pass: true},
		{name: "regex_no_match fails on a match", pattern: `healthy`, noMatch: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := startFixedHTTP(t, regexHeader+body)
			u := URL{Path: "/", Regex: mustRegex(t, tc.pattern, tc.opts), RegexNoMatch: tc.noMatch, RegexMinOffset: tc.min, RegexMaxOffset: tc.max}
			c := &HTTPGet{Dialer: Dialer{Addr: addr}, URLs: []URL{u}}
			want := "regex match failed"
			if tc.pass {
				want = ""
			}
			checkVerdict(t, c, time.Second, want)
			checkVerdict(t, onPoller{c}, time.Second, want)
		})
	}
}

// TestHTTPGetRegexSubject checks that, as in keepalived, the headers are
// matched only when the body's first bytes come with them.
func TestHTTPGetRegexSubject(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		pass   bool
	}{
		{"body with the headers", []string{regexHeader + "body"}, true},
		{"body after the headers", []string{regexHeader, "body"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := startFixedHTTP(t, tc.writes...)
			u := URL{Path: "/", Regex: mustRegex(t, `^HTTP/1\.0 200`, 0)}
			c := &HTTPGet{Dialer: Dialer{Addr: addr}, URLs: []URL{u}}
			for _, ck := range []Checker{c, onPoller{c}} {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				err := ck.Check(ctx)
				cancel()
				if (err == nil) != tc.pass {
					t.Fatalf("%T: Check = %v, want pass %v", ck, err, tc.pass)
				}
				if err != nil && !strings.Contains(err.Error(), "regex match failed") {
					t.Fatalf("%T: Check = %v, want a regex failure", ck, err)
				}
			}
		})
	}
}
