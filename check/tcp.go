package check

import (
	"context"
	"net"
)

// TCPCheck is keepalived's TCP_CHECK: the server is up when a TCP connection
// to it completes.
type TCPCheck struct {
	Dialer Dialer
}

// Check connects and closes at once. The close resets the connection
// (SO_LINGER 0) instead of sending a FIN: a checker connecting every second
// to a handful of real servers would otherwise leave one TIME_WAIT socket per
// attempt on the director for 60 seconds, and tens of thousands of checks
// would exhaust the ephemeral ports towards those servers.
func (c *TCPCheck) Check(ctx context.Context) error {
	conn, err := c.Dialer.DialContext(ctx, "tcp")
	if err != nil {
		return err
	}
	return closeReset(conn)
}

func closeReset(conn net.Conn) error {
	if tc, ok := conn.(*net.TCPConn); ok {
		// Only fails on a closed socket, which Close reports anyway.
		_ = tc.SetLinger(0)
	}
	return conn.Close()
}
