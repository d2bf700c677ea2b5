package notify

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		in   string
		code int
		err  error
	}{
		{"250 ok\r\n", 250, nil},
		{"250-a\r\n250-b\r\n250 c\r\n", 250, nil},
		{"354\r\n", 354, nil},
		{"ab\r\n", -1, nil},
		{"", -1, io.EOF},
		{"250-a\r\n", -1, io.EOF},
		{"250 partial", -1, io.ErrUnexpectedEOF},
		{"250 " + strings.Repeat("x", maxReplyLine) + "\r\n", -1, errReplyLineTooLong},
		{"250 " + strings.Repeat("x", maxReplyLine-6) + "\r\n", 250, nil},
		{strings.Repeat("250-x\r\n", maxReplyLines-1) + "250 x\r\n", 250, nil},
		{strings.Repeat("250-x\r\n", maxReplyLines) + "250 x\r\n", -1, errReplyTooLong},
	}
	for _, tt := range tests {
		code, err := readReply(bufio.NewReaderSize(strings.NewReader(tt.in), maxReplyLine))
		if code != tt.code || !errors.Is(err, tt.err) {
			t.Errorf("readReply(%.40q...) = %d, %v; want %d, %v", tt.in, code, err, tt.code, tt.err)
		}
	}
}

// hostileServer greets with what send writes, then holds the connection.
func hostileServer(t *testing.T, send func(net.Conn)) string {
	t.Helper()
	ln := listenLoopback(t)
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		send(c)
		io.Copy(io.Discard, c)
	}()
	return ln.Addr().String()
}

// TestMailerHostileServer: a reply line without end, endless
// continuation lines, or continuation lines trickled in within the
// timeout each end the dialogue within one timeout, in keepalived's
// words.
func TestMailerHostileServer(t *testing.T) {
	overflow := "Received buffer from remote SMTP server %s overflow our get read buffer length."
	tests := []struct {
		name string
		send func(net.Conn)
		want string
	}{
		{"long line", func(c net.Conn) {
			c.Write([]byte("220 "))
			for range 100 {
				if _, err := c.Write(bytes.Repeat([]byte("x"), 1000)); err != nil {
					return
				}
			}
		}, overflow},
		{"endless continuation", func(c net.Conn) {
			for range 10000 {
				if _, err := c.Write([]byte("220-more\r\n")); err != nil {
					return
				}
			}
		}, overflow},
		{"trickle", func(c net.Conn) {
			for range 100 {
				if _, err := c.Write([]byte("220-more\r\n")); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}, "Timeout reading data to remote SMTP server %s."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := hostileServer(t, tt.send)
			m, hook := testMailer(addr)
			start := time.Now()
			m.VRRPState("VI_1", Master)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := m.Close(ctx); err != nil {
				t.Fatal(err)
			}
			// The timeout is 500ms: one for the greeting, whatever
			// the server trickles.
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("the dialogue took %v", d)
			}
			host := "[127.0.0.1]:" + strings.Split(addr, ":")[1]
			if want := strings.ReplaceAll(tt.want, "%s", host); !slices.Contains(logMessages(hook), want) {
				t.Errorf("logged %q, want %q", logMessages(hook), want)
			}
		})
	}
}

// FuzzSMTPReply feeds readReply arbitrary server output: it must never
// panic, never read past its bounds, and return a code only as a
// three-digit number or -1.
func FuzzSMTPReply(f *testing.F) {
	for _, s := range []string{"220 ready\r\n", "250-a\r\n250 b\r\n", "354 go\r\n", "\r\n", "25", "250-"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(data), maxReplyLine)
		code, err := readReply(r)
		if code < -1 || code > 999 {
			t.Fatalf("code %d", code)
		}
		if err != nil && code != -1 {
			t.Fatalf("code %d with error %v", code, err)
		}
		// What is left, buffered or not, was not taken by the reply.
		left, _ := io.Copy(io.Discard, r)
		if taken := len(data) - int(left); taken > maxReplyLine*maxReplyLines {
			t.Fatalf("took %d bytes", taken)
		}
	})
}
