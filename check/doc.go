// Package check runs keepalived's health checkers against real servers and
// turns their verdicts into real server state changes.
//
// Each checker type of keepalived.conf(5) has a type here: HTTPGet (HTTP_GET
// and SSL_GET), TCPCheck, SMTPCheck (RFC 5321 greeting, HELO and QUIT),
// DNSCheck (an RFC 1035 query over UDP), UDPCheck, PingCheck (an RFC 792 /
// RFC 4443 echo), MiscCheck and FileCheck. A checker performs one attempt
// per call to Check and knows nothing about timing; the Scheduler owns the
// timing keywords (delay_loop, connect_timeout, retry, delay_before_retry,
// warmup, alpha) and applies them with the same retry semantics as keepalived
// 2.2, then reports each real server's transitions as Events.
//
// Genhash and WriteGenhash reproduce keepalived's genhash utility, which
// computes the digest an HTTP_GET url block expects.
package check
