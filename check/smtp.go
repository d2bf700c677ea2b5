package check

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/textproto"
	"strconv"
)

// DefaultHeloName is SMTP_CHECK's helo_name default.
const DefaultHeloName = "smtpchecker.keepalived.org"

// maxSMTPReply bounds what one SMTP_CHECK reads, against servers that never
// stop talking.
const maxSMTPReply = 64 << 10

// SMTPCheck is keepalived's SMTP_CHECK: the server must greet with 220
// and answer HELO with 250 (RFC 5321); QUIT must draw a reply, whatever
// its code, as keepalived's checker reads one and does not look at it.
type SMTPCheck struct {
	Dialer Dialer
	// HeloName is sent with HELO; empty means DefaultHeloName.
	HeloName string
}

// An SMTPError is an SMTP_CHECK failure. Reason is keepalived's account
// of it, which its DOWN mail carries: "Bad greeting banner from server
// [192.0.2.1]:25".
type SMTPError struct {
	Reason string
	Err    error // the cause, if any
}

func (e *SMTPError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *SMTPError) Unwrap() error { return e.Err }

// Check holds the SMTP conversation.
func (c *SMTPCheck) Check(ctx context.Context) error {
	server := "[" + c.Dialer.Addr.Addr().String() + "]:" + strconv.Itoa(int(c.Dialer.Addr.Port()))
	fail := func(reason string, err error) error {
		return &SMTPError{Reason: reason + " server " + server, Err: err}
	}
	deadline, _ := ctx.Deadline()
	conn, stop, err := c.Dialer.dialTCP(ctx, deadline)
	if err != nil {
		var ce *connectError
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return fail("Connection timeout to", err)
		case errors.As(err, &ce) && ce.immediate:
			return fail("Could not connect to", err)
		}
		return fail("Error connecting to", err)
	}
	// The connection resets when it closes (SO_LINGER 0).
	defer conn.Close()
	defer stop()

	helo := c.HeloName
	if helo == "" {
		helo = DefaultHeloName
	}
	r := textproto.NewReader(bufio.NewReader(io.LimitReader(conn, maxSMTPReply)))
	w := textproto.NewWriter(bufio.NewWriter(conn))
	steps := []struct {
		send string
		code int    // 0: any reply
		bad  string // keepalived's reason for another code
	}{
		{"", 220, "Bad greeting banner from"},
		{"HELO " + helo, 250, "Bad HELO response from"},
		{"QUIT", 0, ""},
	}
	for _, st := range steps {
		if st.send != "" {
			if err := w.PrintfLine("%s", st.send); err != nil {
				err = ctxErr(ctx, err)
				if errors.Is(err, context.DeadlineExceeded) {
					return fail("Write timeout to", err)
				}
				return fail("Write failure to", err)
			}
		}
		_, _, err := r.ReadResponse(st.code)
		var code *textproto.Error
		var malformed textproto.ProtocolError
		switch {
		case err == nil:
		case errors.As(err, &code) || errors.As(err, &malformed):
			// A line came, with the wrong code or none: only
			// QUIT takes any line.
			if st.code != 0 {
				return fail(st.bad, err)
			}
		default:
			err = ctxErr(ctx, err)
			if errors.Is(err, context.DeadlineExceeded) {
				return fail("Read timeout from", err)
			}
			return fail("Read failure from", err)
		}
	}
	return nil
}
