package nettest

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// SMTPSink is the smallest SMTP server that accepts mail: it records the
// message of each session.
type SMTPSink struct {
	mu   sync.Mutex
	msgs []string
}

// ListenSMTPSink starts an SMTPSink on a loopback port of its own, closed
// when the test ends.
func ListenSMTPSink(t testing.TB) (*SMTPSink, net.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	sink := &SMTPSink{}
	go sink.Serve(ln)
	return sink, ln
}

// Serve accepts sessions on ln until it is closed.
func (s *SMTPSink) Serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *SMTPSink) session(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprint(c, "220 sink ESMTP\r\n")
	var data strings.Builder
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if inData {
			if line == ".\r\n" {
				inData = false
				s.mu.Lock()
				s.msgs = append(s.msgs, data.String())
				s.mu.Unlock()
				fmt.Fprint(c, "250 queued\r\n")
				continue
			}
			data.WriteString(line)
			continue
		}
		switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
		case "DATA":
			inData = true
			fmt.Fprint(c, "354 go ahead\r\n")
		case "QUIT":
			fmt.Fprint(c, "221 bye\r\n")
			return
		default:
			fmt.Fprint(c, "250 ok\r\n")
		}
	}
}

// Messages returns the messages received so far, headers and body.
func (s *SMTPSink) Messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// MailSummary is a mail's subject and body, the parts keepalived fills
// in: "subject | body".
func MailSummary(msg string) string {
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	subject := ""
	for _, l := range strings.Split(head, "\r\n") {
		if s, ok := strings.CutPrefix(l, "Subject: "); ok {
			subject = s
		}
	}
	return subject + " | " + strings.TrimSpace(body)
}
