package logging

import (
	"log/syslog"
	"strconv"
	"strings"
)

const facilityMask = 0xf8

// A FacilityError reports a -S value that keepalived does not accept.
// keepalived prints it on stderr and carries on with LOG_DAEMON.
type FacilityError struct {
	Value string
}

// Error returns keepalived's own message, capitalised as keepalived prints
// it, so that the daemon can print it unchanged.
func (e *FacilityError) Error() string {
	return "Invalid log facility '" + e.Value + "'"
}

// ParseFacility parses the argument of keepalived's -S/--log-facility: a
// number 0-7 or local0-local7 selects LOG_LOCAL0-LOG_LOCAL7, and "user"
// and "daemon" name those facilities. Anything else is a *FacilityError.
func ParseFacility(s string) (syslog.Priority, error) {
	switch s {
	case "user":
		return syslog.LOG_USER, nil
	case "daemon":
		return syslog.LOG_DAEMON, nil
	}
	digits := s
	if rest, ok := strings.CutPrefix(s, "local"); ok && len(rest) == 1 {
		digits = rest
	} else {
		// keepalived reads the number with strtoul, which skips
		// leading white space and takes a sign and leading zeros.
		digits = strings.TrimLeft(digits, " \t\n\v\f\r")
		digits = strings.TrimPrefix(digits, "+")
	}
	n, err := strconv.ParseUint(digits, 10, 8)
	if err != nil || n > 7 {
		return 0, &FacilityError{Value: s}
	}
	return syslog.LOG_LOCAL0 + syslog.Priority(n)<<3, nil
}
