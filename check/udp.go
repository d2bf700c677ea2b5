package check

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// DefaultUDPMaxReply is UDP_CHECK's max_reply_length default.
const DefaultUDPMaxReply = 255

// UDPCheck is keepalived's UDP_CHECK: one datagram is sent, and the server
// is up unless an ICMP error comes back within the timeout, or, with
// RequireReply, when a fitting reply comes back.
type UDPCheck struct {
	Dialer Dialer
	// Payload is sent as is; empty means 16 random bytes.
	Payload []byte
	// RequireReply demands a reply of MinReplyLength to MaxReplyLength
	// bytes that matches Reply where ReplyMask has bits set.
	RequireReply   bool
	Reply          []byte
	ReplyMask      []byte
	MinReplyLength int
	// MaxReplyLength of zero means DefaultUDPMaxReply.
	MaxReplyLength int
}

// ParseHexString parses keepalived's free-form HEX_STR: whitespace separated
// groups of hex digits, each read two digits at a time, a group's odd last
// digit making a byte of its own ("Ab12f 3" is AB 12 0F 03). An X digit,
// allowed when wildcards is set, matches anything: its mask nibble is 0.
func ParseHexString(s string, wildcards bool) (data, mask []byte, err error) {
	for _, group := range strings.Fields(s) {
		for i := 0; i < len(group); i += 2 {
			pair := group[i:min(i+2, len(group))]
			if len(pair) == 1 {
				pair = "0" + pair
			}
			var b, m byte
			for _, c := range []byte(pair) {
				v, mv, ok := hexDigit(c, wildcards)
				if !ok {
					return nil, nil, fmt.Errorf("invalid hex digit %q in %q", c, s)
				}
				b, m = b<<4|v, m<<4|mv
			}
			data = append(data, b)
			mask = append(mask, m)
		}
	}
	return data, mask, nil
}

func hexDigit(c byte, wildcards bool) (v, mask byte, ok bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', 0xf, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, 0xf, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, 0xf, true
	case wildcards && (c == 'x' || c == 'X'):
		return 0, 0, true
	}
	return 0, 0, false
}

// Check sends the payload and waits for a reply or an error until ctx is
// done.
func (c *UDPCheck) Check(ctx context.Context) error {
	payload := c.Payload
	if len(payload) == 0 {
		payload = make([]byte, 16)
		rand.Read(payload)
	}
	conn, err := c.Dialer.DialContext(ctx, "udp")
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := bindDeadline(ctx, conn)
	defer stop()
	if _, err := conn.Write(payload); err != nil {
		return fmt.Errorf("sending UDP check to %s: %w", c.Dialer.Addr, ctxErr(ctx, err))
	}
	maxLen := c.MaxReplyLength
	if maxLen <= 0 {
		maxLen = DefaultUDPMaxReply
	}
	buf := make([]byte, maxLen+1)
	n, err := conn.Read(buf)
	switch {
	case err == nil:
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Errorf("UDP check to %s: %w", c.Dialer.Addr, err)
	case !c.RequireReply && errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != context.Canceled:
		// Silence until the deadline is what a UDP service that does
		// not answer this payload looks like.
		return nil
	default:
		return fmt.Errorf("reading UDP reply from %s: %w", c.Dialer.Addr, ctxErr(ctx, err))
	}
	if !c.RequireReply {
		return nil
	}
	reply := buf[:n]
	if n < c.MinReplyLength || n > maxLen {
		return fmt.Errorf("UDP reply from %s is %d bytes, want %d to %d", c.Dialer.Addr, n, c.MinReplyLength, maxLen)
	}
	for i := 0; i < len(reply) && i < len(c.Reply); i++ {
		m := byte(0xff)
		if i < len(c.ReplyMask) {
			m = c.ReplyMask[i]
		}
		if reply[i]&m != c.Reply[i]&m {
			return fmt.Errorf("UDP reply from %s differs from require_reply at byte %d", c.Dialer.Addr, i)
		}
	}
	return nil
}
