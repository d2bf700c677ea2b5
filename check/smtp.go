package check

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/textproto"
)

// DefaultHeloName is SMTP_CHECK's helo_name default.
const DefaultHeloName = "smtpchecker.keepalived.org"

// maxSMTPReply bounds what one SMTP_CHECK reads, against servers that never
// stop talking.
const maxSMTPReply = 64 << 10

// SMTPCheck is keepalived's SMTP_CHECK: the server must greet with 220,
// answer HELO with 250 and QUIT with 221 (RFC 5321).
type SMTPCheck struct {
	Dialer Dialer
	// HeloName is sent with HELO; empty means DefaultHeloName.
	HeloName string
}

// Check holds the SMTP conversation.
func (c *SMTPCheck) Check(ctx context.Context) error {
	conn, err := c.Dialer.DialContext(ctx, "tcp")
	if err != nil {
		return err
	}
	defer closeReset(conn)
	stop := bindDeadline(ctx, conn)
	defer stop()

	helo := c.HeloName
	if helo == "" {
		helo = DefaultHeloName
	}
	r := textproto.NewReader(bufio.NewReader(io.LimitReader(conn, maxSMTPReply)))
	w := textproto.NewWriter(bufio.NewWriter(conn))
	steps := []struct {
		send string
		code int
	}{
		{"", 220},
		{"HELO " + helo, 250},
		{"QUIT", 221},
	}
	for _, st := range steps {
		if st.send != "" {
			if err := w.PrintfLine("%s", st.send); err != nil {
				return fmt.Errorf("sending %q to SMTP server %s: %w", st.send, c.Dialer.Addr, ctxErr(ctx, err))
			}
		}
		if _, _, err := r.ReadResponse(st.code); err != nil {
			what := "banner"
			if st.send != "" {
				what = "reply to " + st.send
			}
			return fmt.Errorf("SMTP server %s %s: %w", c.Dialer.Addr, what, ctxErr(ctx, err))
		}
	}
	return nil
}
