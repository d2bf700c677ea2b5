// Package check runs keepalived's health checkers (HTTP_GET, SSL_GET,
// TCP_CHECK, SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK, MISC_CHECK and
// FILE_CHECK) against real servers and reports their verdicts.
package check
