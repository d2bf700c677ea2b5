package check

import (
	"context"
	"errors"
	"strings"
)

// failureLine words a failed attempt as keepalived's checkers log every
// failure under log_all_failures (or global checker_log_all_failures),
// beside the lines of the verdicts. wasUp and hasRun are the checker's
// state before the attempt. ok is false when keepalived logs nothing for
// this attempt: TCP_CHECK and UDP_CHECK log only while the checker is up, HTTP_GET,
// SSL_GET and SMTP_CHECK also before the first verdict.
func failureLine(kind, server string, err error, wasUp, hasRun bool) (line string, ok bool) {
	switch kind {
	case "HTTP_GET", "SSL_GET":
		if !wasUp && hasRun {
			return "", false
		}
		// check_http.c's timeout_epilog: "<what> server <server>."
		return httpFailure(err) + " server " + server + ".", true
	case "TCP_CHECK":
		if !wasUp {
			return "", false
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return "TCP connection to " + server + " timeout.", true
		}
		return "TCP connection to " + server + " failed.", true
	case "UDP_CHECK":
		if !wasUp {
			return "", false
		}
		// check_udp.c tells a reply that came but does not pass
		// check_udp_reply from one that did not come.
		if strings.HasPrefix(err.Error(), "UDP reply from") {
			return "UDP check to " + server + " reply data mismatch.", true
		}
		return "UDP connection to " + server + " failed.", true
	case "SMTP_CHECK":
		var se *SMTPError
		if (!wasUp && hasRun) || !errors.As(err, &se) {
			return "", false
		}
		return "SMTP_CHECK " + se.Reason, true
	}
	return "", false
}

// LogsAllFailures reports whether failureLine words the failures of a
// checker kind; for the others log_all_failures has no effect here.
func LogsAllFailures(kind string) bool {
	switch kind {
	case "HTTP_GET", "SSL_GET", "TCP_CHECK", "UDP_CHECK", "SMTP_CHECK":
		return true
	}
	return false
}

// httpFailure is keepalived's account of an HTTP_GET or SSL_GET failure,
// the debug_msg check_http.c gives timeout_epilog, told from the errors
// HTTPGet returns, on either of its paths.
func httpFailure(err error) string {
	msg := err.Error()
	timeout := errors.Is(err, context.DeadlineExceeded)
	var ce *connectError
	switch {
	case strings.HasPrefix(msg, "HTTP status code error"):
		return "HTTP status code error to"
	case strings.HasPrefix(msg, "MD5 digest error"):
		return "MD5 digest error to"
	case strings.HasPrefix(msg, "regex match failed"):
		return "Regex match failed"
	case strings.HasPrefix(msg, "connecting to") && timeout:
		return "Timeout connecting"
	case errors.As(err, &ce) && ce.immediate:
		return "Error connecting"
	case strings.HasPrefix(msg, "connecting to"):
		return "Connection failed"
	case strings.HasPrefix(msg, "SSL handshake"):
		return "SSL handshake/communication error connecting to"
	case strings.HasPrefix(msg, "cannot send get request"):
		return "Cannot send get request to"
	case timeout:
		return "Timeout HTTP read"
	case strings.HasSuffix(msg, "no data received"):
		// keepalived's words end in a space before its own.
		return "Read, no data received from "
	}
	return "Read error with"
}
