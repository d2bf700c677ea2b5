// Package check runs keepalived's health checkers against real servers and
// turns their verdicts into real server state changes.
//
// Each checker type of keepalived.conf(5) has a type here: HTTPGet (HTTP_GET
// and SSL_GET), TCPCheck, SMTPCheck (RFC 5321 greeting, HELO and QUIT),
// DNSCheck (an RFC 1035 query over UDP), UDPCheck, PingCheck (an RFC 792 /
// RFC 4443 echo), MiscCheck, FileCheck and BFDCheck (a BFD session's state
// as the daemon's BFD loop tells it). A checker performs one attempt
// per call to Check and knows nothing about timing; the Scheduler owns the
// timing keywords (delay_loop, connect_timeout, retry, delay_before_retry,
// warmup, alpha) and applies them with the same retry semantics as keepalived
// 2.2, then reports each real server's transitions as Events.
//
// The Scheduler runs TCP_CHECK and HTTP_GET as keepalived's checker does:
// non-blocking sockets begun on the Scheduler's goroutine, whose waits
// (a handshake, a response) one goroutine drives from one epoll set, so
// a check costs its system calls and no goroutine, timer or file of its
// own. SSL_GET and the other checkers run on a bounded pool of workers.
//
// Genhash and WriteGenhash reproduce keepalived's genhash utility, which
// computes the digest an HTTP_GET url block expects.
package check
